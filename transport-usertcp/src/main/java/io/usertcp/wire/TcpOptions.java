package io.usertcp.wire;

import io.netty.buffer.ByteBuf;

/**
 * The options of one received segment, parsed in place. A reusable, mutable holder: {@link #parse} resets
 * every field, so one instance serves every segment of a stack without allocation.
 *
 * <p>Malformed options (a length below 2 or running past the header) end the parse and mark the set
 * {@link #malformed()}; RFC 9293 §3.1 (MUST-64) requires that any option be skippable by its length and
 * that a bad length not crash the receiver.
 */
public final class TcpOptions {
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
}
