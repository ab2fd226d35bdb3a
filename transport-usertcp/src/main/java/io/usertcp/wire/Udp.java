package io.usertcp.wire;

import io.netty.buffer.ByteBuf;

/**
 * The UDP header (RFC 768): source port, destination port, length (header and data) and checksum, eight
 * bytes in all. Offsets are relative to the first byte of the UDP header.
 */
public final class Udp {
    /** Header length. */
    public static final int HEADER_LENGTH = 8;
    /** Offset of the checksum field, for partial checksums. */
    public static final int CHECKSUM_OFFSET = 6;
    /** Most data one UDP datagram over IPv4 can carry: 65535 − 20 (IPv4 header) − 8 (UDP header). */
    public static final int MAX_IPV4_PAYLOAD = 65535 - Ipv4.MIN_HEADER_LENGTH - HEADER_LENGTH;

    private Udp() {
    }

    /** The source port. */
    public static int srcPort(ByteBuf b, int o) {
        return b.getUnsignedShort(o);
    }

    /** The destination port. */
    public static int dstPort(ByteBuf b, int o) {
        return b.getUnsignedShort(o + 2);
    }

    /** The length field: header plus data. */
    public static int length(ByteBuf b, int o) {
        return b.getUnsignedShort(o + 4);
    }

    /** The checksum field; 0 over IPv4 means the sender computed none (RFC 768). */
    public static int checksum(ByteBuf b, int o) {
        return b.getUnsignedShort(o + CHECKSUM_OFFSET);
    }

    /** Writes the header with {@code checksum} in its field (a complete one, or a partial pseudo-header sum). */
    public static void writeHeader(ByteBuf b, int o, int srcPort, int dstPort, int length, int checksum) {
        b.setShort(o, srcPort);
        b.setShort(o + 2, dstPort);
        b.setShort(o + 4, length);
        b.setShort(o + CHECKSUM_OFFSET, checksum);
    }

    /**
     * Writes the header and its complete checksum over the header and the {@code length - 8} data bytes already
     * in place after it, starting from {@code pseudo}, the pseudo-header sum ({@link Checksum#ipv4Pseudo} or
     * {@link Checksum#ipv6Pseudo}). A computed 0 goes out as 0xffff (RFC 768; RFC 8200 §8.1).
     */
    public static void writeHeaderWithChecksum(ByteBuf b, int o, int srcPort, int dstPort, int length, long pseudo) {
        writeHeader(b, o, srcPort, dstPort, length, Checksum.fold(pseudo));
        Checksum.completePartial(b, o, length, CHECKSUM_OFFSET);
    }

    /** Whether the checksum over the {@code length} bytes of the datagram and {@code pseudo} verifies. */
    public static boolean checksumOk(ByteBuf b, int o, int length, long pseudo) {
        return Checksum.fold(Checksum.add(b, o, length, pseudo)) == 0xffff;
    }
}
