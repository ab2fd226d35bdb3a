package io.usertcp.wire;

import io.netty.buffer.ByteBuf;

/** ARP for IPv4 over Ethernet (RFC 826): offsets and accessors relative to the ARP header. */
public final class Arp {
    /** Length of an Ethernet/IPv4 ARP packet. */
    public static final int LENGTH = 28;
    /** Opcode of a request. */
    public static final int OP_REQUEST = 1;
    /** Opcode of a reply. */
    public static final int OP_REPLY = 2;

    private Arp() {
    }

    /** True if the fixed fields say Ethernet hardware and IPv4 protocol addresses. */
    public static boolean isEthernetIpv4(ByteBuf b, int o) {
        return b.getUnsignedShort(o) == 1 && b.getUnsignedShort(o + 2) == Ethernet.TYPE_IPV4
                && b.getUnsignedByte(o + 4) == 6 && b.getUnsignedByte(o + 5) == 4;
    }

    /** The opcode. */
    public static int op(ByteBuf b, int o) {
        return b.getUnsignedShort(o + 6);
    }

    /** Sender hardware address. */
    public static long sha(ByteBuf b, int o) {
        return MacAddress.read(b, o + 8);
    }

    /** Sender protocol address. */
    public static int spa(ByteBuf b, int o) {
        return b.getInt(o + 14);
    }

    /** Target hardware address. */
    public static long tha(ByteBuf b, int o) {
        return MacAddress.read(b, o + 18);
    }

    /** Target protocol address. */
    public static int tpa(ByteBuf b, int o) {
        return b.getInt(o + 24);
    }

    /** Writes a whole Ethernet/IPv4 ARP packet at {@code o}. */
    public static void write(ByteBuf b, int o, int op, long sha, int spa, long tha, int tpa) {
        b.setShort(o, 1);
        b.setShort(o + 2, Ethernet.TYPE_IPV4);
        b.setByte(o + 4, 6);
        b.setByte(o + 5, 4);
        b.setShort(o + 6, op);
        MacAddress.write(b, o + 8, sha);
        b.setInt(o + 14, spa);
        MacAddress.write(b, o + 18, tha);
        b.setInt(o + 24, tpa);
    }
}
