package io.usertcp.wire;

import io.netty.buffer.ByteBuf;

/**
 * The TCP header (RFC 9293 §3.1): offsets, flag bits, accessors and {@link #writeHeader}; the options are
 * parsed and written by {@link TcpOptions}. All offsets are relative to the first byte of the TCP header.
 */
public final class Tcp {
    /** Header length without options. */
    public static final int MIN_HEADER_LENGTH = 20;
    /** Longest header (data offset 15 words). */
    public static final int MAX_HEADER_LENGTH = 60;

    public static final int FIN = 0x01;
    public static final int SYN = 0x02;
    public static final int RST = 0x04;
    public static final int PSH = 0x08;
    public static final int ACK = 0x10;
    public static final int URG = 0x20;
    public static final int ECE = 0x40;
    public static final int CWR = 0x80;

    /** Option kinds (RFC 9293 §3.2, RFC 7323, RFC 2018). */
    public static final int OPT_EOL = 0;
    public static final int OPT_NOP = 1;
    public static final int OPT_MSS = 2;
    public static final int OPT_WSCALE = 3;
    public static final int OPT_SACK_PERMITTED = 4;
    public static final int OPT_SACK = 5;
    public static final int OPT_TIMESTAMP = 8;

    private Tcp() {
    }

    public static int srcPort(ByteBuf b, int o) {
        return b.getUnsignedShort(o);
    }

    public static int dstPort(ByteBuf b, int o) {
        return b.getUnsignedShort(o + 2);
    }

    public static int seq(ByteBuf b, int o) {
        return b.getInt(o + 4);
    }

    public static int ack(ByteBuf b, int o) {
        return b.getInt(o + 8);
    }

    /** Header length in bytes (data offset × 4). */
    public static int headerLength(ByteBuf b, int o) {
        return (b.getUnsignedByte(o + 12) >>> 4) << 2;
    }

    public static int flags(ByteBuf b, int o) {
        return b.getUnsignedByte(o + 13);
    }

    public static int window(ByteBuf b, int o) {
        return b.getUnsignedShort(o + 14);
    }

    public static int checksum(ByteBuf b, int o) {
        return b.getUnsignedShort(o + 16);
    }

    /** Offset of the checksum field within the header. */
    public static final int CHECKSUM_OFFSET = 16;

    public static int urgentPointer(ByteBuf b, int o) {
        return b.getUnsignedShort(o + 18);
    }

    /** Sets the checksum field (for a partial checksum: the folded pseudo-header sum). */
    public static void setChecksum(ByteBuf b, int o, int checksum) {
        b.setShort(o + CHECKSUM_OFFSET, checksum);
    }

    /**
     * Writes the fixed header; the checksum field and urgent pointer are left zero. Options go after it
     * ({@link TcpOptions}'s {@code write*} methods); {@code headerLength} counts them.
     */
    public static void writeHeader(ByteBuf b, int o, int srcPort, int dstPort, int seq, int ack, int headerLength,
                                   int flags, int window) {
        b.setShort(o, srcPort);
        b.setShort(o + 2, dstPort);
        b.setInt(o + 4, seq);
        b.setInt(o + 8, ack);
        b.setByte(o + 12, (headerLength >>> 2) << 4);
        b.setByte(o + 13, flags);
        b.setShort(o + 14, window);
        b.setInt(o + 16, 0); // checksum and urgent pointer
    }

    /** Text of a flag set in the tcpdump style: {@code S.} for SYN-ACK. */
    public static String flagsToString(int flags) {
        StringBuilder sb = new StringBuilder();
        if ((flags & SYN) != 0) {
            sb.append('S');
        }
        if ((flags & FIN) != 0) {
            sb.append('F');
        }
        if ((flags & RST) != 0) {
            sb.append('R');
        }
        if ((flags & PSH) != 0) {
            sb.append('P');
        }
        if ((flags & ACK) != 0) {
            sb.append('.');
        }
        return sb.toString();
    }
}
