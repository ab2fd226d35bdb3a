package io.usertcp.wire;

import io.netty.buffer.ByteBuf;

/**
 * ICMPv4 (RFC 792) message types and codes used by the stack, and the message view: accessors and writers
 * relative to the first byte of the ICMP header. Every writer fills the checksum (over the whole message; ICMPv4
 * has no pseudo-header).
 */
public final class Icmpv4 {
    /** Echo reply. */
    public static final int ECHO_REPLY = 0;
    /** Destination unreachable. */
    public static final int DEST_UNREACHABLE = 3;
    /** Echo request. */
    public static final int ECHO_REQUEST = 8;
    /** Time exceeded. */
    public static final int TIME_EXCEEDED = 11;
    /** Parameter problem (RFC 792). */
    public static final int PARAMETER_PROBLEM = 12;
    /** Source quench (RFC 792; deprecated by RFC 6633, ignored on receipt). */
    public static final int SOURCE_QUENCH = 4;
    /** Code of "port unreachable" within destination unreachable. */
    public static final int CODE_PORT_UNREACHABLE = 3;
    /** Code of "fragmentation needed and DF set". */
    public static final int CODE_FRAG_NEEDED = 4;
    /** Code of "time to live exceeded in transit" within time exceeded (RFC 792). */
    public static final int CODE_TTL_EXCEEDED = 0;
    /** Code of "fragment reassembly time exceeded" within time exceeded (RFC 792). */
    public static final int CODE_REASSEMBLY_TIME_EXCEEDED = 1;
    /** Header length (type, code, checksum, rest-of-header). */
    public static final int HEADER_LENGTH = 8;
    /** Offset of the checksum field. */
    public static final int CHECKSUM_OFFSET = 2;

    private Icmpv4() {
    }

    /**
     * Whether {@code type} is an ICMP error message (RFC 1122 §3.2.2: destination unreachable, source quench,
     * redirect, time exceeded, parameter problem), to which no ICMP error may ever be sent.
     */
    public static boolean isError(int type) {
        return type == DEST_UNREACHABLE || type == 4 || type == 5 || type == TIME_EXCEEDED || type == 12;
    }

    // ------------------------------------------------------------------ parse

    /** The type. */
    public static int type(ByteBuf b, int o) {
        return b.getUnsignedByte(o);
    }

    /** The code. */
    public static int code(ByteBuf b, int o) {
        return b.getUnsignedByte(o + 1);
    }

    /** The checksum field. */
    public static int checksum(ByteBuf b, int o) {
        return b.getUnsignedShort(o + CHECKSUM_OFFSET);
    }

    /** Whether the checksum over the {@code len} bytes of the message verifies. */
    public static boolean checksumOk(ByteBuf b, int o, int len) {
        return Checksum.fold(Checksum.add(b, o, len, 0)) == 0xffff;
    }

    /** The 32 bits after the checksum (identifier and sequence of an echo, the unused word of an error). */
    public static int word(ByteBuf b, int o) {
        return b.getInt(o + 4);
    }

    /** Echo identifier. */
    public static int echoId(ByteBuf b, int o) {
        return b.getUnsignedShort(o + 4);
    }

    /** Echo sequence number. */
    public static int echoSequence(ByteBuf b, int o) {
        return b.getUnsignedShort(o + 6);
    }

    /** The next-hop MTU of a "fragmentation needed" message (RFC 1191 §4: the low 16 bits of the word). */
    public static int nextHopMtu(ByteBuf b, int o) {
        return b.getUnsignedShort(o + 6);
    }

    /** The pointer of a parameter problem (RFC 792): the offset of the bad octet in the quoted header. */
    public static int pointer(ByteBuf b, int o) {
        return b.getUnsignedByte(o + 4);
    }

    /** Offset of the quoted datagram of an error message, the data of an echo. */
    public static int dataOffset(int o) {
        return o + HEADER_LENGTH;
    }

    // ------------------------------------------------------------------ emit

    /** The word of a "fragmentation needed" message: 16 unused bits, then the next-hop MTU (RFC 1191 §4). */
    public static int fragNeededWord(int nextHopMtu) {
        return nextHopMtu & 0xffff;
    }

    /** The word of a parameter problem: the pointer in the first byte (RFC 792). */
    public static int pointerWord(int pointer) {
        return (pointer & 0xff) << 24;
    }

    /** The word of an echo: identifier and sequence number. */
    public static int echoWord(int id, int sequence) {
        return (id & 0xffff) << 16 | (sequence & 0xffff);
    }

    /** Writes type, code, a zero checksum and the word after it; the checksum is left to {@link #fillChecksum}. */
    public static void writeHeader(ByteBuf b, int o, int type, int code, int word) {
        b.setByte(o, type);
        b.setByte(o + 1, code);
        b.setShort(o + CHECKSUM_OFFSET, 0);
        b.setInt(o + 4, word);
    }

    /** Computes the checksum over the {@code len} bytes of the message at {@code o} and stores it. */
    public static void fillChecksum(ByteBuf b, int o, int len) {
        b.setShort(o + CHECKSUM_OFFSET, 0);
        b.setShort(o + CHECKSUM_OFFSET, Checksum.compute(b, o, len));
    }

    /**
     * Writes at {@code o} the echo reply to the echo request of {@code len} bytes at {@code ro} of {@code request}:
     * the same identifier, sequence and data (RFC 1122 §3.2.2.6), with its checksum.
     */
    public static void writeEchoReply(ByteBuf b, int o, ByteBuf request, int ro, int len) {
        b.setBytes(o, request, ro, len);
        b.setByte(o, ECHO_REPLY); // the code is echoed as it came, as Linux does
        fillChecksum(b, o, len);
    }

    /**
     * Writes at {@code o} an error message ({@code type}, {@code code}, {@code word}: 0, or
     * {@link #fragNeededWord}, {@link #pointerWord}) quoting {@code quoted} bytes of the offending datagram at
     * {@code qo} of {@code datagram} (its header and at least 8 bytes of data, RFC 792, RFC 1122 §3.2.2), with
     * its checksum.
     *
     * @return the message length, {@code 8 + quoted}
     */
    public static int writeError(ByteBuf b, int o, int type, int code, int word, ByteBuf datagram, int qo,
                                 int quoted) {
        writeHeader(b, o, type, code, word);
        b.setBytes(o + HEADER_LENGTH, datagram, qo, quoted);
        int len = HEADER_LENGTH + quoted;
        fillChecksum(b, o, len);
        return len;
    }
}
