package io.usertcp.wire;

import io.netty.buffer.ByteBuf;

/**
 * A bounded walk of the IPv6 extension header chain (RFC 8200 §4) from the fixed header to the upper-layer
 * header, a Fragment header, No Next Header, or an error.
 *
 * <p>Every length read from the packet is checked against the end of the datagram before it is used, at most
 * {@link #MAX_HEADERS} extension headers are walked, and nothing past {@code ipOffset + 40 + payloadLength} (nor
 * the buffer's writer index) is read: a malformed chain yields {@link #DISCARD}, never an exception.
 *
 * <p>The result lives in a {@link Walk} the caller keeps and reuses, so the walk allocates nothing.
 */
public final class Ipv6Extensions {
    /** Most extension headers walked; a datagram with more is discarded (RFC 8504 §5.3 allows such a limit). */
    public static final int MAX_HEADERS = 8;

    /** {@link Walk#error}: none. */
    public static final int OK = 0;
    /** {@link Walk#error}: discard silently (truncated or over-long chain, or an option whose action is 01). */
    public static final int DISCARD = -1;
    /** {@link Walk#error}: Parameter Problem code 0 (erroneous header field), stored as code + 1. */
    public static final int ERRONEOUS_HEADER = Icmpv6.ERRONEOUS_HEADER + 1;
    /** {@link Walk#error}: Parameter Problem code 1 (unrecognized Next Header), stored as code + 1. */
    public static final int UNRECOGNIZED_NEXT_HEADER = Icmpv6.UNRECOGNIZED_NEXT_HEADER + 1;
    /** {@link Walk#error}: Parameter Problem code 2 (unrecognized option), stored as code + 1. */
    public static final int UNRECOGNIZED_OPTION = Icmpv6.UNRECOGNIZED_OPTION + 1;

    /** Option type Pad1 (RFC 8200 §4.2): a single byte. */
    public static final int PAD1 = 0;
    /** Option type PadN (RFC 8200 §4.2). */
    public static final int PADN = 1;

    private Ipv6Extensions() {
    }

    /** The outcome of a walk; one instance is reused for every datagram. */
    public static final class Walk {
        /**
         * The protocol of the header at {@link #upperOffset}: an upper layer (6, 17, 58, or any value the
         * caller does not know, which then draws Parameter Problem code 1 at {@link #pointer}),
         * {@link Ipv6#NO_NEXT_HEADER}, or {@link Ipv6#FRAGMENT} when the walk stopped at a Fragment header;
         * -1 on error.
         */
        public int upperProtocol;
        /** Buffer index of the header named by {@link #upperProtocol}. */
        public int upperOffset;
        /** Bytes from {@link #upperOffset} to the end of the datagram. */
        public int upperLength;
        /** Buffer index of the Fragment header, or -1 if there is none before the upper layer. */
        public int fragmentOffset;
        /** Buffer index of the Next Header field that named {@link #upperProtocol}. */
        public int nextHeaderField;
        /** Extension headers walked. */
        public int headers;
        /** {@link #OK}, {@link #DISCARD}, or a Parameter Problem code + 1. */
        public int error;
        /**
         * On a Parameter Problem: the pointer to send, the offset of the erroneous field from the start of the
         * IPv6 header. Without error: the offset of {@link #nextHeaderField}, the pointer of a code 1 error.
         */
        public int pointer;
        /**
         * Whether the Parameter Problem may be sent although the destination is multicast: true only for an
         * unrecognized option whose action bits are 10 (RFC 8200 §4.2, RFC 4443 §2.4 (e.3)). For action 11 and
         * every other error it is false: no ICMP error answers a multicast destination.
         */
        public boolean icmpToMulticast;

        /** Whether a Parameter Problem should be sent for this outcome, given whether the destination was multicast. */
        public boolean icmpAllowed(boolean dstMulticast) {
            return error > 0 && (icmpToMulticast || !dstMulticast);
        }

        /** The ICMPv6 Parameter Problem code to send; meaningful when {@link #error} is positive. */
        public int icmpCode() {
            return error - 1;
        }

        void reset() {
            upperProtocol = -1;
            upperOffset = -1;
            upperLength = 0;
            fragmentOffset = -1;
            nextHeaderField = -1;
            headers = 0;
            error = OK;
            pointer = 0;
            icmpToMulticast = false;
        }
    }

    /**
     * Walks the chain of the datagram whose fixed header is at {@code ipOffset} and whose payload length (from
     * the header, already checked by the caller) is {@code payloadLength}.
     *
     * @return whether the walk succeeded ({@code w.error == OK})
     */
    public static boolean walk(ByteBuf b, int ipOffset, int payloadLength, Walk w) {
        return walkFrom(b, ipOffset, payloadLength, ipOffset + Ipv6.NEXT_HEADER, ipOffset + Ipv6.HEADER_LENGTH, w);
    }

    /**
     * Continues a walk from the header at {@code offset}, named by the Next Header field at
     * {@code nextHeaderField}: after reassembly, with the Fragment header's own Next Header field and the byte
     * after it. The header bound counts from here.
     */
    public static boolean walkFrom(ByteBuf b, int ipOffset, int payloadLength, int nextHeaderField, int offset,
                                   Walk w) {
        w.reset();
        if (ipOffset < 0 || payloadLength < 0 || ipOffset > b.writerIndex() - Ipv6.HEADER_LENGTH
                || payloadLength > b.writerIndex() - ipOffset - Ipv6.HEADER_LENGTH) {
            return fail(w, DISCARD, 0);
        }
        int end = ipOffset + Ipv6.HEADER_LENGTH + payloadLength;
        if (nextHeaderField < ipOffset || nextHeaderField >= end || offset < ipOffset + Ipv6.HEADER_LENGTH
                || offset > end) {
            return fail(w, DISCARD, 0);
        }
        int field = nextHeaderField;
        int off = offset;
        while (true) {
            int nh = b.getUnsignedByte(field);
            switch (nh) {
                case Ipv6.HOP_BY_HOP:
                case Ipv6.DESTINATION_OPTIONS: {
                    if (nh == Ipv6.HOP_BY_HOP && field != ipOffset + Ipv6.NEXT_HEADER) {
                        // RFC 8200 §4.3: only directly after the fixed header; RFC 2460 §4: code 1 at the field.
                        return fail(w, UNRECOGNIZED_NEXT_HEADER, field - ipOffset);
                    }
                    if (w.headers >= MAX_HEADERS || end - off < 2) {
                        return fail(w, DISCARD, 0);
                    }
                    int len = (b.getUnsignedByte(off + 1) + 1) << 3;
                    if (len > end - off) {
                        return fail(w, DISCARD, 0);
                    }
                    if (!options(b, ipOffset, off + 2, off + len, w)) {
                        return false;
                    }
                    field = off;
                    off += len;
                    w.headers++;
                    break;
                }
                case Ipv6.ROUTING: {
                    if (w.headers >= MAX_HEADERS || end - off < 2) {
                        return fail(w, DISCARD, 0);
                    }
                    int len = (b.getUnsignedByte(off + 1) + 1) << 3; // at least 8: type and segments left fit
                    if (len > end - off) {
                        return fail(w, DISCARD, 0);
                    }
                    if (b.getUnsignedByte(off + 3) != 0) {
                        // RFC 8200 §4.4: no routing type is processed here (type 0 is deprecated by RFC 5095), so
                        // segments left != 0 is an error pointing at the routing type; with 0 the header is ignored.
                        return fail(w, ERRONEOUS_HEADER, off + 2 - ipOffset);
                    }
                    field = off;
                    off += len;
                    w.headers++;
                    break;
                }
                case Ipv6.FRAGMENT: {
                    if (w.headers >= MAX_HEADERS || end - off < 8) {
                        return fail(w, DISCARD, 0);
                    }
                    w.headers++;
                    w.fragmentOffset = off;
                    return done(w, ipOffset, nh, off, end, field);
                }
                default:
                    // The upper layer, No Next Header (RFC 8200 §4.7: nothing follows; the caller ignores the
                    // rest), or a protocol the caller may not know.
                    return done(w, ipOffset, nh, off, end, field);
            }
        }
    }

    /** Walks the TLV-encoded options in {@code [p, end)} of a Hop-by-Hop or Destination Options header. */
    private static boolean options(ByteBuf b, int ipOffset, int p, int end, Walk w) {
        while (p < end) {
            int type = b.getUnsignedByte(p);
            if (type == PAD1) {
                p++;
                continue;
            }
            if (end - p < 2) {
                return fail(w, DISCARD, 0);
            }
            int dataLen = b.getUnsignedByte(p + 1);
            if (dataLen > end - p - 2) {
                return fail(w, DISCARD, 0);
            }
            if (type != PADN) {
                // RFC 8200 §4.2: the highest-order two bits of an unrecognized option say what to do.
                switch (type >>> 6) {
                    case 0:
                        break; // skip over this option
                    case 1:
                        return fail(w, DISCARD, 0);
                    case 2:
                        w.icmpToMulticast = true;
                        return fail(w, UNRECOGNIZED_OPTION, p - ipOffset);
                    default:
                        w.icmpToMulticast = false;
                        return fail(w, UNRECOGNIZED_OPTION, p - ipOffset);
                }
            }
            p += 2 + dataLen;
        }
        return true;
    }

    private static boolean done(Walk w, int ipOffset, int protocol, int off, int end, int field) {
        w.upperProtocol = protocol;
        w.upperOffset = off;
        w.upperLength = end - off;
        w.nextHeaderField = field;
        w.pointer = field - ipOffset;
        return true;
    }

    private static boolean fail(Walk w, int error, int pointer) {
        w.error = error;
        w.pointer = pointer;
        w.upperProtocol = -1;
        w.upperOffset = -1;
        w.upperLength = 0;
        if (error != UNRECOGNIZED_OPTION) {
            w.icmpToMulticast = false;
        }
        return false;
    }
}
