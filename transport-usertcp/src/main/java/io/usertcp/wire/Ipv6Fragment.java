package io.usertcp.wire;

import io.netty.buffer.ByteBuf;

/**
 * The IPv6 Fragment header (RFC 8200 §4.5): next header, a reserved byte, the fragment offset in 8-byte units
 * with two reserved bits and the M flag, and the identification; 8 bytes in all. Offsets are relative to its
 * first byte.
 */
public final class Ipv6Fragment {
    /** Header length. */
    public static final int LENGTH = 8;
    /** The M ("more fragments") flag within the offset field. */
    public static final int MORE_FRAGMENTS = 1;
    /** The fragment offset (shifted left by 3: the byte offset) within the offset field. */
    public static final int OFFSET_MASK = 0xfff8;

    private Ipv6Fragment() {
    }

    /** The header type of the fragmentable part. */
    public static int nextHeader(ByteBuf b, int o) {
        return b.getUnsignedByte(o);
    }

    /** The 16-bit field of offset, reserved bits and M flag. */
    public static int offsetFlags(ByteBuf b, int o) {
        return b.getUnsignedShort(o + 2);
    }

    /** The fragment offset in bytes (the 13-bit field counts 8-byte units, so the byte offset is {@code field & ~7}). */
    public static int fragmentOffset(ByteBuf b, int o) {
        return b.getUnsignedShort(o + 2) & OFFSET_MASK;
    }

    /** Whether the M flag is set: more fragments follow. */
    public static boolean moreFragments(ByteBuf b, int o) {
        return (b.getUnsignedShort(o + 2) & MORE_FRAGMENTS) != 0;
    }

    /** Whether this is the first fragment (offset 0), the one that shows the upper-layer header. */
    public static boolean isFirst(ByteBuf b, int o) {
        return fragmentOffset(b, o) == 0;
    }

    /** The identification. */
    public static int identification(ByteBuf b, int o) {
        return b.getInt(o + 4);
    }

    /**
     * Writes the header: the reserved byte and bits zero, {@code offsetBytes} (a multiple of 8) and the M flag.
     */
    public static void write(ByteBuf b, int o, int nextHeader, int offsetBytes, boolean moreFragments,
                             int identification) {
        b.setByte(o, nextHeader);
        b.setByte(o + 1, 0);
        b.setShort(o + 2, (offsetBytes & OFFSET_MASK) | (moreFragments ? MORE_FRAGMENTS : 0));
        b.setInt(o + 4, identification);
    }
}
