package io.usertcp.wire;

import io.netty.buffer.ByteBuf;

/** Ethernet II framing: offsets and accessors over a frame whose first byte is at reader index 0. */
public final class Ethernet {
    /** Destination MAC offset. */
    public static final int DST = 0;
    /** Source MAC offset. */
    public static final int SRC = 6;
    /** EtherType offset. */
    public static final int TYPE = 12;
    /** Header length. */
    public static final int HEADER_LENGTH = 14;

    /** EtherType of IPv4. */
    public static final int TYPE_IPV4 = 0x0800;
    /** EtherType of ARP. */
    public static final int TYPE_ARP = 0x0806;
    /** EtherType of IPv6. */
    public static final int TYPE_IPV6 = 0x86dd;

    private Ethernet() {
    }

    /** The destination MAC. */
    public static long dst(ByteBuf f, int base) {
        return MacAddress.read(f, base + DST);
    }

    /** The source MAC. */
    public static long src(ByteBuf f, int base) {
        return MacAddress.read(f, base + SRC);
    }

    /** The EtherType. */
    public static int type(ByteBuf f, int base) {
        return f.getUnsignedShort(base + TYPE);
    }

    /** Writes the header at {@code base}. */
    public static void write(ByteBuf f, int base, long dst, long src, int type) {
        MacAddress.write(f, base + DST, dst);
        MacAddress.write(f, base + SRC, src);
        f.setShort(base + TYPE, type);
    }
}
