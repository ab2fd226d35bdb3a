package io.usertcp.wire;

import io.netty.buffer.ByteBuf;

/**
 * TCP options (RFC 9293 §3.2, RFC 7323, RFC 2018): parse and emit.
 *
 * <p>Parsing: the options of one received segment, parsed in place. A reusable, mutable holder: {@link #parse}
 * resets every field, so one instance serves every segment of a stack without allocation. Malformed options (a
 * length below 2 or running past the header) end the parse and mark the set {@link #malformed()}; RFC 9293 §3.1
 * (MUST-64) requires that any option be skippable by its length and that a bad length not crash the receiver.
 *
 * <p>Emitting: the static {@code write*} methods write one option at an offset of a buffer and return the offset
 * after it, without allocating. Each is padded with NOPs in front to a multiple of 4 bytes, in the layout of
 * RFC 7323 Appendix A and RFC 2018 §3 (as Linux and the BSDs send them), so options can follow one another and
 * the header length stays a whole number of words.
 */
public final class TcpOptions {
    /** Bytes of the MSS option (kind, length, 16-bit value). */
    public static final int MSS_LENGTH = 4;
    /** Bytes of NOP + window scale (3 bytes). */
    public static final int WINDOW_SCALE_LENGTH = 4;
    /** Bytes of NOP, NOP + SACK-permitted (2 bytes). */
    public static final int SACK_PERMITTED_LENGTH = 4;
    /** Bytes of NOP, NOP + timestamps (10 bytes). */
    public static final int TIMESTAMP_LENGTH = 12;
    /** The most option bytes a header holds (data offset 15 words less the fixed 20 bytes). */
    public static final int MAX_LENGTH = Tcp.MAX_HEADER_LENGTH - Tcp.MIN_HEADER_LENGTH;

    private int mss;
    private int windowScale;
    private boolean sackPermitted;
    private boolean hasTimestamp;
    private int tsVal;
    private int tsEcr;
    private boolean malformed;
    private final int[] sackBlocks = new int[8];
    private int sackCount;

    /** Parses the options between offset 20 and {@code headerLength} of the TCP header at {@code o}. */
    public TcpOptions parse(ByteBuf b, int o, int headerLength) {
        mss = -1;
        windowScale = -1;
        sackPermitted = false;
        hasTimestamp = false;
        malformed = false;
        sackCount = 0;
        int i = o + Tcp.MIN_HEADER_LENGTH;
        int end = o + headerLength;
        while (i < end) {
            int kind = b.getUnsignedByte(i);
            if (kind == Tcp.OPT_EOL) {
                break;
            }
            if (kind == Tcp.OPT_NOP) {
                i++;
                continue;
            }
            if (i + 1 >= end) {
                malformed = true;
                break;
            }
            int len = b.getUnsignedByte(i + 1);
            if (len < 2 || i + len > end) {
                malformed = true;
                break;
            }
            switch (kind) {
                case Tcp.OPT_MSS:
                    if (len == 4) {
                        mss = b.getUnsignedShort(i + 2);
                    }
                    break;
                case Tcp.OPT_WSCALE:
                    if (len == 3) {
                        windowScale = b.getUnsignedByte(i + 2);
                    }
                    break;
                case Tcp.OPT_SACK_PERMITTED:
                    if (len == 2) {
                        sackPermitted = true;
                    }
                    break;
                case Tcp.OPT_SACK:
                    // RFC 2018 §3: 2 + 8n bytes, n <= 4 in 40 bytes of options.
                    if (len >= 10 && (len - 2) % 8 == 0) {
                        for (int k = i + 2; k + 8 <= i + len && sackCount < 4; k += 8) {
                            sackBlocks[2 * sackCount] = b.getInt(k);
                            sackBlocks[2 * sackCount + 1] = b.getInt(k + 4);
                            sackCount++;
                        }
                    }
                    break;
                case Tcp.OPT_TIMESTAMP:
                    if (len == 10) {
                        hasTimestamp = true;
                        tsVal = b.getInt(i + 2);
                        tsEcr = b.getInt(i + 6);
                    }
                    break;
                default:
                    break; // unknown options are skipped by length
            }
            i += len;
        }
        return this;
    }

    /** The MSS option, or -1 if absent. */
    public int mss() {
        return mss;
    }

    /** The window scale shift, or -1 if absent. */
    public int windowScale() {
        return windowScale;
    }

    public boolean sackPermitted() {
        return sackPermitted;
    }

    /** Number of SACK blocks (0..4). */
    public int sackCount() {
        return sackCount;
    }

    /** Left edge of SACK block {@code k}. */
    public int sackLeft(int k) {
        return sackBlocks[2 * k];
    }

    /** Right edge (first sequence number after the block) of SACK block {@code k}. */
    public int sackRight(int k) {
        return sackBlocks[2 * k + 1];
    }

    public boolean hasTimestamp() {
        return hasTimestamp;
    }

    public int tsVal() {
        return tsVal;
    }

    public int tsEcr() {
        return tsEcr;
    }

    public boolean malformed() {
        return malformed;
    }

    // ------------------------------------------------------------------ emit

    /** Bytes of NOP, NOP + a SACK option with {@code blocks} blocks (RFC 2018 §3: 2 + 8n), 0 for none. */
    public static int sackLength(int blocks) {
        return blocks > 0 ? 4 + 8 * blocks : 0;
    }

    /** Bytes of the options of a SYN or SYN-ACK that {@link #writeSynOptions} writes. */
    public static int synOptionsLength(boolean windowScale, boolean sackPermitted, boolean timestamps) {
        return MSS_LENGTH + (windowScale ? WINDOW_SCALE_LENGTH : 0) + (sackPermitted ? SACK_PERMITTED_LENGTH : 0)
                + (timestamps ? TIMESTAMP_LENGTH : 0);
    }

    /** Writes {@code n} NOPs at {@code p}; returns {@code p + n}. */
    public static int writeNops(ByteBuf b, int p, int n) {
        for (int i = 0; i < n; i++) {
            b.setByte(p + i, Tcp.OPT_NOP);
        }
        return p + n;
    }

    /** Writes MSS (RFC 9293 §3.2) at {@code p}; returns the offset after it. */
    public static int writeMss(ByteBuf b, int p, int mss) {
        b.setByte(p, Tcp.OPT_MSS);
        b.setByte(p + 1, 4);
        b.setShort(p + 2, mss);
        return p + MSS_LENGTH;
    }

    /** Writes NOP, window scale {@code shift} (RFC 7323 §2) at {@code p}; returns the offset after it. */
    public static int writeWindowScale(ByteBuf b, int p, int shift) {
        b.setByte(p, Tcp.OPT_NOP);
        b.setByte(p + 1, Tcp.OPT_WSCALE);
        b.setByte(p + 2, 3);
        b.setByte(p + 3, shift);
        return p + WINDOW_SCALE_LENGTH;
    }

    /** Writes NOP, NOP, SACK-permitted (RFC 2018 §2) at {@code p}; returns the offset after it. */
    public static int writeSackPermitted(ByteBuf b, int p) {
        writeNops(b, p, 2);
        b.setByte(p + 2, Tcp.OPT_SACK_PERMITTED);
        b.setByte(p + 3, 2);
        return p + SACK_PERMITTED_LENGTH;
    }

    /** Writes NOP, NOP, timestamps TSval and TSecr (RFC 7323 §3) at {@code p}; returns the offset after it. */
    public static int writeTimestamps(ByteBuf b, int p, int tsVal, int tsEcr) {
        writeNops(b, p, 2);
        b.setByte(p + 2, Tcp.OPT_TIMESTAMP);
        b.setByte(p + 3, 10);
        b.setInt(p + 4, tsVal);
        b.setInt(p + 8, tsEcr);
        return p + TIMESTAMP_LENGTH;
    }

    /**
     * Writes NOP, NOP, SACK (RFC 2018 §3) with the first {@code count} blocks of {@code edges} (left, right,
     * left, right, ...) at {@code p}; returns the offset after it. Nothing is written for {@code count} 0.
     */
    public static int writeSack(ByteBuf b, int p, int[] edges, int count) {
        if (count == 0) {
            return p;
        }
        writeNops(b, p, 2);
        b.setByte(p + 2, Tcp.OPT_SACK);
        b.setByte(p + 3, 2 + 8 * count);
        for (int k = 0; k < count; k++) {
            b.setInt(p + 4 + 8 * k, edges[2 * k]);
            b.setInt(p + 8 + 8 * k, edges[2 * k + 1]);
        }
        return p + sackLength(count);
    }

    /**
     * Writes the options of a SYN or SYN-ACK at {@code p}: MSS, then window scale {@code windowScale} (none if
     * negative), SACK-permitted and timestamps, each only if asked for (in a SYN-ACK only if the SYN carried
     * it: RFC 7323 §1.3, RFC 2018 §2). Returns the offset after them ({@link #synOptionsLength} bytes).
     */
    public static int writeSynOptions(ByteBuf b, int p, int mss, int windowScale, boolean sackPermitted,
                                      boolean timestamps, int tsVal, int tsEcr) {
        p = writeMss(b, p, mss);
        if (windowScale >= 0) {
            p = writeWindowScale(b, p, windowScale);
        }
        if (sackPermitted) {
            p = writeSackPermitted(b, p);
        }
        if (timestamps) {
            p = writeTimestamps(b, p, tsVal, tsEcr);
        }
        return p;
    }
}
