package io.usertcp.wire;

import io.netty.buffer.ByteBuf;

/** The IPv4 header (RFC 791): offsets, accessors, and writers that fill the header checksum. */
public final class Ipv4 {
    /** Length of a header without options. */
    public static final int MIN_HEADER_LENGTH = 20;
    /** Protocol number of ICMP. */
    public static final int PROTO_ICMP = 1;
    /** Protocol number of TCP. */
    public static final int PROTO_TCP = 6;
    /** Protocol number of UDP. */
    public static final int PROTO_UDP = 17;
    /** The "more fragments" flag within the flags/offset field. */
    public static final int FLAG_MF = 0x2000;
    /** The "don't fragment" flag. */
    public static final int FLAG_DF = 0x4000;
    /** The fragment offset (in 8-byte units) within the flags/offset field. */
    public static final int FRAGMENT_OFFSET_MASK = 0x1fff;
    /** Longest header (IHL 15). */
    public static final int MAX_HEADER_LENGTH = 60;

    private Ipv4() {
    }

    /** The version nibble. */
    public static int version(ByteBuf b, int o) {
        return b.getUnsignedByte(o) >>> 4;
    }

    /** Header length in bytes (IHL × 4). */
    public static int headerLength(ByteBuf b, int o) {
        return (b.getUnsignedByte(o) & 0x0f) << 2;
    }

    /** Total length field. */
    public static int totalLength(ByteBuf b, int o) {
        return b.getUnsignedShort(o + 2);
    }

    /** Identification. */
    public static int id(ByteBuf b, int o) {
        return b.getUnsignedShort(o + 4);
    }

    /** Flags and fragment offset field. */
    public static int flagsFragment(ByteBuf b, int o) {
        return b.getUnsignedShort(o + 6);
    }

    /** Time to live. */
    public static int ttl(ByteBuf b, int o) {
        return b.getUnsignedByte(o + 8);
    }

    /** Protocol. */
    public static int protocol(ByteBuf b, int o) {
        return b.getUnsignedByte(o + 9);
    }

    /** Source address. */
    public static int src(ByteBuf b, int o) {
        return b.getInt(o + 12);
    }

    /** Destination address. */
    public static int dst(ByteBuf b, int o) {
        return b.getInt(o + 16);
    }

    /**
     * Writes a 20-byte header with DF set and its checksum.
     *
     * @param totalLength header plus payload
     */
    public static void write(ByteBuf b, int o, int totalLength, int id, int ttl, int protocol, int src, int dst,
                             boolean dontFragment) {
        b.setByte(o, 0x45);
        b.setByte(o + 1, 0);
        b.setShort(o + 2, totalLength);
        b.setShort(o + 4, id);
        b.setShort(o + 6, dontFragment ? FLAG_DF : 0);
        b.setByte(o + 8, ttl);
        b.setByte(o + 9, protocol);
        b.setShort(o + 10, 0);
        b.setInt(o + 12, src);
        b.setInt(o + 16, dst);
        b.setShort(o + 10, Checksum.compute(b, o, MIN_HEADER_LENGTH));
    }

    /** The fragment offset in bytes (the 13-bit field counts 8-byte units; RFC 791 §3.1). */
    public static int fragmentOffset(ByteBuf b, int o) {
        return (b.getUnsignedShort(o + 6) & FRAGMENT_OFFSET_MASK) << 3;
    }

    /**
     * Writes a 20-byte header with every field given, and its checksum: for datagrams that are not simply
     * "DF set, TOS 0" (UDP and its fragments).
     *
     * @param flagsFragment the flags and fragment offset field: {@link #FLAG_DF}, {@link #FLAG_MF} and the
     *                      offset in 8-byte units
     */
    public static void writeHeader(ByteBuf b, int o, int tos, int totalLength, int id, int flagsFragment, int ttl,
                                   int protocol, int src, int dst) {
        b.setByte(o, 0x45);
        b.setByte(o + 1, tos);
        b.setShort(o + 2, totalLength);
        b.setShort(o + 4, id);
        b.setShort(o + 6, flagsFragment);
        b.setByte(o + 8, ttl);
        b.setByte(o + 9, protocol);
        b.setShort(o + 10, 0);
        b.setInt(o + 12, src);
        b.setInt(o + 16, dst);
        b.setShort(o + 10, Checksum.compute(b, o, MIN_HEADER_LENGTH));
    }

    /** Type of service (the DS field and ECN, RFC 2474 and RFC 3168). */
    public static int tos(ByteBuf b, int o) {
        return b.getUnsignedByte(o + 1);
    }

    /** The header checksum field. */
    public static int checksum(ByteBuf b, int o) {
        return b.getUnsignedShort(o + 10);
    }

    /** Whether the header checksum over {@code headerLength} bytes verifies (RFC 1071: the sum folds to all ones). */
    public static boolean checksumOk(ByteBuf b, int o, int headerLength) {
        return Checksum.fold(Checksum.add(b, o, headerLength, 0)) == 0xffff;
    }

    /** Whether the "more fragments" flag is set. */
    public static boolean moreFragments(ByteBuf b, int o) {
        return (b.getUnsignedShort(o + 6) & FLAG_MF) != 0;
    }

    /** Whether the "don't fragment" flag is set. */
    public static boolean dontFragment(ByteBuf b, int o) {
        return (b.getUnsignedShort(o + 6) & FLAG_DF) != 0;
    }

    /**
     * The flags/offset field for a fragment at {@code offsetBytes} (a multiple of 8) of the original payload.
     */
    public static int flagsFragment(boolean dontFragment, boolean moreFragments, int offsetBytes) {
        return (dontFragment ? FLAG_DF : 0) | (moreFragments ? FLAG_MF : 0)
                | ((offsetBytes >>> 3) & FRAGMENT_OFFSET_MASK);
    }

    /**
     * Writes a header of {@code headerLength} bytes (20 to 60, a multiple of 4; IHL = headerLength / 4) and its
     * checksum over all of it. The options, {@code headerLength - 20} bytes from {@code o + 20}, must already be
     * in place (a reassembled or quoted header keeps its own).
     */
    public static void writeHeader(ByteBuf b, int o, int headerLength, int tos, int totalLength, int id,
                                   int flagsFragment, int ttl, int protocol, int src, int dst) {
        b.setByte(o, 0x40 | (headerLength >>> 2));
        b.setByte(o + 1, tos);
        b.setShort(o + 2, totalLength);
        b.setShort(o + 4, id);
        b.setShort(o + 6, flagsFragment);
        b.setByte(o + 8, ttl);
        b.setByte(o + 9, protocol);
        b.setInt(o + 12, src);
        b.setInt(o + 16, dst);
        fillChecksum(b, o);
    }

    /**
     * Recomputes the header checksum over the header length its IHL gives, after a field changed (a reassembled
     * datagram's total length and flags/offset).
     */
    public static void fillChecksum(ByteBuf b, int o) {
        int hl = headerLength(b, o);
        b.setShort(o + 10, 0);
        b.setShort(o + 10, Checksum.compute(b, o, hl));
    }

    /** Dotted-quad text of an address held in an int. */
    public static String toString(int addr) {
        return (addr >>> 24) + "." + ((addr >>> 16) & 0xff) + "." + ((addr >>> 8) & 0xff) + "." + (addr & 0xff);
    }
}
