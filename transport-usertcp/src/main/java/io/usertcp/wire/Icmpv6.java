package io.usertcp.wire;

import io.netty.buffer.ByteBuf;

/**
 * ICMPv6 (RFC 4443) message types and codes, and the Neighbor Discovery (RFC 4861) fields and options the stack
 * reads. Offsets are relative to the start of the ICMPv6 header.
 */
public final class Icmpv6 {
    /** Header length (type, code, checksum, 4 bytes of message body). */
    public static final int HEADER_LENGTH = 8;

    /** Destination unreachable (RFC 4443 §3.1). */
    public static final int DEST_UNREACHABLE = 1;
    /** Destination unreachable code: no route to destination. */
    public static final int NO_ROUTE = 0;
    /** Destination unreachable code: communication administratively prohibited. */
    public static final int ADMIN = 1;
    /** Destination unreachable code: beyond the scope of the source address. */
    public static final int BEYOND_SCOPE = 2;
    /** Destination unreachable code: address unreachable (also: address resolution failed, RFC 4861 §7.3.3). */
    public static final int ADDRESS_UNREACHABLE = 3;
    /** Destination unreachable code: port unreachable. */
    public static final int PORT_UNREACHABLE = 4;

    /** Packet too big (RFC 4443 §3.2); the MTU is at offset 4. */
    public static final int PACKET_TOO_BIG = 2;

    /** Time exceeded (RFC 4443 §3.3). */
    public static final int TIME_EXCEEDED = 3;
    /** Time exceeded code: hop limit exceeded in transit. */
    public static final int HOP_LIMIT_EXCEEDED = 0;
    /** Time exceeded code: fragment reassembly time exceeded. */
    public static final int REASSEMBLY = 1;

    /** Parameter problem (RFC 4443 §3.4); the pointer is at offset 4. */
    public static final int PARAMETER_PROBLEM = 4;
    /** Parameter problem code: erroneous header field encountered. */
    public static final int ERRONEOUS_HEADER = 0;
    /** Parameter problem code: unrecognized Next Header type encountered. */
    public static final int UNRECOGNIZED_NEXT_HEADER = 1;
    /** Parameter problem code: unrecognized IPv6 option encountered. */
    public static final int UNRECOGNIZED_OPTION = 2;

    /** Echo request (RFC 4443 §4.1). */
    public static final int ECHO_REQUEST = 128;
    /** Echo reply (RFC 4443 §4.2). */
    public static final int ECHO_REPLY = 129;
    /** Router solicitation (RFC 4861 §4.1). */
    public static final int ROUTER_SOLICIT = 133;
    /** Router advertisement (RFC 4861 §4.2). */
    public static final int ROUTER_ADVERT = 134;
    /** Neighbor solicitation (RFC 4861 §4.3). */
    public static final int NEIGHBOR_SOLICIT = 135;
    /** Neighbor advertisement (RFC 4861 §4.4). */
    public static final int NEIGHBOR_ADVERT = 136;
    /** Redirect (RFC 4861 §4.5). */
    public static final int REDIRECT = 137;

    /** Length of a neighbor solicitation or advertisement before its options (header and target address). */
    public static final int NS_NA_LENGTH = 24;
    /** Length of a router solicitation before its options. */
    public static final int RS_LENGTH = 8;
    /** Length of a router advertisement before its options. */
    public static final int RA_LENGTH = 16;
    /** Length of a redirect before its options (header, target and destination addresses). */
    public static final int REDIRECT_LENGTH = 40;

    /** NDP option: source link-layer address (RFC 4861 §4.6.1). */
    public static final int SOURCE_LL_ADDR = 1;
    /** NDP option: target link-layer address (RFC 4861 §4.6.1). */
    public static final int TARGET_LL_ADDR = 2;
    /** NDP option: prefix information (RFC 4861 §4.6.2). */
    public static final int PREFIX_INFO = 3;
    /** NDP option: redirected header (RFC 4861 §4.6.3). */
    public static final int REDIRECTED_HEADER = 4;
    /** NDP option: MTU (RFC 4861 §4.6.4). */
    public static final int MTU = 5;

    /** Neighbor advertisement flag R: the sender is a router (RFC 4861 §4.4). */
    public static final int ROUTER = 0x8000_0000;
    /** Neighbor advertisement flag S: sent in response to a solicitation. */
    public static final int SOLICITED = 0x4000_0000;
    /** Neighbor advertisement flag O: override an existing cache entry. */
    public static final int OVERRIDE = 0x2000_0000;

    /** Returned by {@link #linkLayerOption} when no option of the type is present. */
    public static final long OPTION_ABSENT = -1;
    /** Returned by {@link #linkLayerOption} when the options are malformed: the message must be discarded. */
    public static final long OPTION_MALFORMED = -2;

    private Icmpv6() {
    }

    /** Whether {@code type} is an error message (RFC 4443 §2.1: types 0..127), which never draws an error. */
    public static boolean isError(int type) {
        return type < 128;
    }

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
        return b.getUnsignedShort(o + 2);
    }

    /**
     * The 32 bits after the checksum: the pointer of a parameter problem, the MTU of a packet too big, the flags
     * of a neighbor advertisement, identifier and sequence of an echo.
     */
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

    /** Writes type, code and a zero checksum, and the 32-bit word after it. */
    public static void writeHeader(ByteBuf b, int o, int type, int code, int word) {
        b.setByte(o, type);
        b.setByte(o + 1, code);
        b.setShort(o + 2, 0);
        b.setInt(o + 4, word);
    }

    /** Offset of the checksum field. */
    public static final int CHECKSUM_OFFSET = 2;

    /** The MTU of a packet too big (RFC 4443 §3.2), unsigned 32 bits. */
    public static long mtu(ByteBuf b, int o) {
        return b.getUnsignedInt(o + 4);
    }

    /** The pointer of a parameter problem (RFC 4443 §3.4): the offset of the error in the invoking packet. */
    public static long pointer(ByteBuf b, int o) {
        return b.getUnsignedInt(o + 4);
    }

    /**
     * Whether the checksum over the {@code len} bytes of the message and the IPv6 pseudo-header (RFC 4443 §2.3)
     * verifies.
     */
    public static boolean checksumOk(ByteBuf b, int o, int len, long srcHi, long srcLo, long dstHi, long dstLo) {
        return Checksum.fold(Checksum.add(b, o, len,
                Checksum.ipv6Pseudo(srcHi, srcLo, dstHi, dstLo, Ipv6.ICMPV6, len))) == 0xffff;
    }

    /** The word of an echo: identifier and sequence number. */
    public static int echoWord(int id, int sequence) {
        return (id & 0xffff) << 16 | (sequence & 0xffff);
    }

    /**
     * Computes the checksum over the {@code len} bytes of the message at {@code o} and the IPv6 pseudo-header of
     * the given source and destination (RFC 4443 §2.3), and stores it.
     */
    public static void fillChecksum(ByteBuf b, int o, int len, long srcHi, long srcLo, long dstHi, long dstLo) {
        b.setShort(o + CHECKSUM_OFFSET, 0);
        b.setShort(o + CHECKSUM_OFFSET, Checksum.finish(Checksum.add(b, o, len,
                Checksum.ipv6Pseudo(srcHi, srcLo, dstHi, dstLo, Ipv6.ICMPV6, len))));
    }

    /**
     * Writes at {@code o} the echo reply to the echo request of {@code len} bytes at {@code ro} of {@code request}
     * (RFC 4443 §4.2: same identifier, sequence and data), with its checksum for the reply's source and
     * destination.
     */
    public static void writeEchoReply(ByteBuf b, int o, ByteBuf request, int ro, int len, long srcHi, long srcLo,
                                      long dstHi, long dstLo) {
        b.setBytes(o, request, ro, len);
        b.setByte(o, ECHO_REPLY);
        fillChecksum(b, o, len, srcHi, srcLo, dstHi, dstLo);
    }

    /**
     * Writes at {@code o} an error message: {@code type}, {@code code}, {@code word} (unused 0, the MTU of a
     * packet too big, the pointer of a parameter problem), then {@code quoted} bytes of the invoking packet at
     * {@code qo} of {@code packet} (RFC 4443 §2.4 (c): as much as fits in the minimum MTU), with the checksum
     * for the error's source and destination.
     *
     * @return the message length, {@code 8 + quoted}
     */
    public static int writeError(ByteBuf b, int o, int type, int code, int word, ByteBuf packet, int qo, int quoted,
                                 long srcHi, long srcLo, long dstHi, long dstLo) {
        writeHeader(b, o, type, code, word);
        b.setBytes(o + HEADER_LENGTH, packet, qo, quoted);
        int len = HEADER_LENGTH + quoted;
        fillChecksum(b, o, len, srcHi, srcLo, dstHi, dstLo);
        return len;
    }

    /** First 8 bytes of the target address of a neighbor solicitation, advertisement or redirect. */
    public static long targetHi(ByteBuf b, int o) {
        return b.getLong(o + 8);
    }

    /** Last 8 bytes of the target address of a neighbor solicitation, advertisement or redirect. */
    public static long targetLo(ByteBuf b, int o) {
        return b.getLong(o + 16);
    }

    /** Writes a source or target link-layer address option (8 bytes) at {@code index}; returns its length. */
    public static int writeLinkLayerOption(ByteBuf b, int index, int type, long mac) {
        b.setByte(index, type);
        b.setByte(index + 1, 1);
        MacAddress.write(b, index + 2, mac);
        return 8;
    }

    /**
     * The MAC in the first source or target link-layer address option ({@code type}) among the options at
     * {@code [optionsOffset, optionsOffset + optionsLength)}, {@link #OPTION_ABSENT} if there is none, or
     * {@link #OPTION_MALFORMED} if any option is malformed: of length 0 (RFC 4861 §4.6: "Nodes MUST silently
     * discard an ND packet that contains an option with length zero"), running past the end, or the wanted
     * link-layer option not of the Ethernet length of one unit (RFC 2464 §6). Every option is checked, also after
     * the one found. Unknown options are skipped (RFC 4861 §4.6). Never reads outside the range or past the
     * buffer's writer index.
     */
    public static long linkLayerOption(ByteBuf b, int optionsOffset, int optionsLength, int type) {
        if (optionsOffset < 0 || optionsLength < 0 || optionsLength > b.writerIndex() - optionsOffset) {
            return OPTION_MALFORMED;
        }
        int end = optionsOffset + optionsLength;
        long found = OPTION_ABSENT;
        int p = optionsOffset;
        while (p < end) {
            if (end - p < 2) {
                return OPTION_MALFORMED;
            }
            int units = b.getUnsignedByte(p + 1);
            if (units == 0 || units * 8 > end - p) {
                return OPTION_MALFORMED;
            }
            if (b.getUnsignedByte(p) == type && found == OPTION_ABSENT) {
                if (units != 1) {
                    return OPTION_MALFORMED;
                }
                found = MacAddress.read(b, p + 2);
            }
            p += units * 8;
        }
        return found;
    }
}
