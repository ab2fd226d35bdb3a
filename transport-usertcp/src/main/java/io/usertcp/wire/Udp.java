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

    public static int srcPort(ByteBuf b, int o) {
        return b.getUnsignedShort(o);
    }

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
}
