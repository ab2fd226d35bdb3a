package io.usertcp.wire;

import io.netty.buffer.ByteBuf;

/**
 * The views of the IPv6 extension headers {@link Ipv6Extensions} walks, other than the Fragment header
 * ({@link Ipv6Fragment}): Hop-by-Hop and Destination Options (RFC 8200 §4.3, §4.6) with their TLV options
 * (§4.2), and the Routing header (§4.4). Offsets are relative to the header's first byte. The accessors read
 * without checks: {@link Ipv6Extensions#walk} is what bounds a received chain.
 */
public final class Ipv6ExtensionHeader {
    /** Shortest extension header (the length field counts 8-byte units beyond the first). */
    public static final int MIN_LENGTH = 8;
    /** Longest Hop-by-Hop, Destination Options or Routing header: (255 + 1) × 8 bytes. */
    public static final int MAX_LENGTH = 2048;

    private Ipv6ExtensionHeader() {
    }

    /** The type of the header after this one. */
    public static int nextHeader(ByteBuf b, int o) {
        return b.getUnsignedByte(o);
    }

    /** The length of the header in bytes: (Hdr Ext Len + 1) × 8. */
    public static int length(ByteBuf b, int o) {
        return (b.getUnsignedByte(o + 1) + 1) << 3;
    }

    /** The routing type of a Routing header. */
    public static int routingType(ByteBuf b, int o) {
        return b.getUnsignedByte(o + 2);
    }

    /** The segments left of a Routing header. */
    public static int segmentsLeft(ByteBuf b, int o) {
        return b.getUnsignedByte(o + 3);
    }

    /** The type of the option at {@code p}. */
    public static int optionType(ByteBuf b, int p) {
        return b.getUnsignedByte(p);
    }

    /** The data length of the option at {@code p} (not for {@link Ipv6Extensions#PAD1}, which has none). */
    public static int optionDataLength(ByteBuf b, int p) {
        return b.getUnsignedByte(p + 1);
    }

    /**
     * Writes the two fixed bytes of a Hop-by-Hop or Destination Options header of {@code length} bytes (a multiple
     * of 8, at most {@link #MAX_LENGTH}) and fills its options area with padding; options the caller writes
     * afterwards (with {@link #writeOption}) go from {@code o + 2}, followed by {@link #writePadding} to the end.
     */
    public static void writeOptionsHeader(ByteBuf b, int o, int nextHeader, int length) {
        b.setByte(o, nextHeader);
        b.setByte(o + 1, (length >>> 3) - 1);
        writePadding(b, o + 2, length - 2);
    }

    /**
     * Writes an option of {@code dataLength} data bytes taken from {@code data} at {@code di}.
     *
     * @return the index after the option
     */
    public static int writeOption(ByteBuf b, int p, int type, ByteBuf data, int di, int dataLength) {
        b.setByte(p, type);
        b.setByte(p + 1, dataLength);
        b.setBytes(p + 2, data, di, dataLength);
        return p + 2 + dataLength;
    }

    /**
     * Writes {@code n} bytes of padding at {@code p} (RFC 8200 §4.2): Pad1 for a single byte, else PadN options
     * with zero data, as few as fit (one carries at most 255 data bytes). Linux drops runs of padding longer than
     * 7 bytes, so a sender keeps {@code n} small.
     */
    public static void writePadding(ByteBuf b, int p, int n) {
        while (n > 0) {
            if (n == 1) {
                b.setByte(p, Ipv6Extensions.PAD1);
                return;
            }
            int chunk = Math.min(n, 257);
            if (n - chunk == 1) {
                chunk--; // leave two bytes, a PadN, rather than one
            }
            b.setByte(p, Ipv6Extensions.PADN);
            b.setByte(p + 1, chunk - 2);
            b.setZero(p + 2, chunk - 2);
            p += chunk;
            n -= chunk;
        }
    }

    /**
     * Writes a Routing header of {@code length} bytes (a multiple of 8): its four fixed bytes, and zero in the
     * type-specific data.
     */
    public static void writeRouting(ByteBuf b, int o, int nextHeader, int length, int routingType,
                                    int segmentsLeft) {
        b.setByte(o, nextHeader);
        b.setByte(o + 1, (length >>> 3) - 1);
        b.setByte(o + 2, routingType);
        b.setByte(o + 3, segmentsLeft);
        b.setZero(o + 4, length - 4);
    }
}
