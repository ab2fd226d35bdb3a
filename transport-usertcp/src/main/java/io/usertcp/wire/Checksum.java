package io.usertcp.wire;

import io.netty.buffer.ByteBuf;

/**
 * The Internet checksum (RFC 1071): the 16-bit one's complement of the one's complement sum.
 *
 * <p>Partial sums are kept in a long of 32-bit words and folded at the end; since 2^16 ≡ 1 (mod 2^16 − 1)
 * the folded sum equals the sum of 16-bit words.
 */
public final class Checksum {
    private Checksum() {
    }

    /**
     * Adds {@code len} bytes of {@code buf} from {@code index} to {@code sum}. An odd trailing byte is padded
     * with zero, so only the last range of a chained sum may have odd length.
     */
    public static long add(ByteBuf buf, int index, int len, long sum) {
        int i = index;
        int end = index + len;
        while (end - i >= 8) {
            long v = buf.getLong(i);
            sum += (v >>> 32) + (v & 0xffff_ffffL);
            i += 8;
        }
        if (end - i >= 4) {
            sum += buf.getUnsignedInt(i);
            i += 4;
        }
        if (end - i >= 2) {
            sum += buf.getUnsignedShort(i);
            i += 2;
        }
        if (i < end) {
            sum += buf.getUnsignedByte(i) << 8;
        }
        return sum;
    }

    /** Folds a partial sum to 16 bits (without complementing). */
    public static int fold(long sum) {
        sum = (sum & 0xffff_ffffL) + (sum >>> 32);
        sum = (sum & 0xffff) + (sum >>> 16);
        sum = (sum & 0xffff) + (sum >>> 16);
        sum = (sum & 0xffff) + (sum >>> 16);
        return (int) sum;
    }

    /** The checksum to store: the complement of the folded sum. */
    public static int finish(long sum) {
        return ~fold(sum) & 0xffff;
    }

    /** The checksum of one range. */
    public static int compute(ByteBuf buf, int index, int len) {
        return finish(add(buf, index, len, 0));
    }

    /**
     * The IPv4 pseudo-header sum (RFC 9293 §3.1, RFC 768): source, destination, zero/protocol and the
     * upper-layer length.
     */
    public static long ipv4Pseudo(int src, int dst, int protocol, int length) {
        return (src & 0xffff_ffffL) + (dst & 0xffff_ffffL) + protocol + length;
    }

    /** The IPv6 pseudo-header sum (RFC 8200 §8.1); addresses as two longs each. */
    public static long ipv6Pseudo(long srcHi, long srcLo, long dstHi, long dstLo, int nextHeader, int length) {
        return (srcHi >>> 32) + (srcHi & 0xffff_ffffL) + (srcLo >>> 32) + (srcLo & 0xffff_ffffL)
                + (dstHi >>> 32) + (dstHi & 0xffff_ffffL) + (dstLo >>> 32) + (dstLo & 0xffff_ffffL)
                + nextHeader + (length & 0xffff_ffffL);
    }

    /**
     * Completes a transport checksum whose field (at {@code offset + csumOffset}) holds the pseudo-header sum:
     * summing the {@code len} bytes of the transport header and data finishes it. A result of 0 is stored as
     * 0xffff, its equal in one's complement: for UDP 0 means "no checksum" (RFC 768).
     */
    public static void completePartial(ByteBuf buf, int offset, int len, int csumOffset) {
        int c = finish(add(buf, offset, len, 0));
        buf.setShort(offset + csumOffset, c == 0 ? 0xffff : c);
    }
}
