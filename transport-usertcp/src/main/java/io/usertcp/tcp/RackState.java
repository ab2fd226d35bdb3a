package io.usertcp.tcp;

/**
 * RACK loss detection (RFC 8985 §6) for one SACK connection: the sent-but-unacknowledged segments in sequence
 * order with their last transmit time and whether they were retransmitted, SACKed or marked lost (§5.2, "per
 * segment state"), and the RACK variables (§6.1).
 *
 * <p>A segment is what one transmission covered: a TSO super-segment is one entry. Entries are split where a
 * retransmission or a SACK block starts or ends inside one, so an entry is always wholly SACKed or not. The
 * entries never cover more than the data in flight; the arrays grow when needed and are reused, so steady
 * state allocates nothing. Sequence numbers compare by the sign of their difference (RFC 1982).
 */
final class RackState {
    static final int RETRANSMITTED = 1;
    static final int SACKED = 2;
    static final int LOST = 4;
    /** RFC 8985 §6.2 step 4: DupThresh, in segments. */
    private static final int DUP_THRESH = 3;
    /** RFC 8985 §6.2 step 4: how many recoveries an enlarged reo_wnd persists. */
    private static final int REO_WND_PERSIST = 16;

    private int[] start = new int[64];
    private int[] end = new int[64];
    private long[] xmitTs = new long[64];
    private byte[] flags = new byte[64];
    private int n;

    // RFC 8985 §6.1.
    private long rackXmitTs;        // RACK.xmit_ts: latest transmit time of a delivered segment
    private int rackEndSeq;         // RACK.end_seq: its end
    private boolean rackValid;      // something was delivered since the connection began
    private long rackRtt;           // RACK.rtt: the RTT of that segment
    private long minRtt = -1;       // RACK.min_RTT: the smallest RTT sample (-1: none yet)
    private long reoWnd;            // RACK.reo_wnd
    private int reoWndMult = 1;     // RACK.reo_wnd_mult
    private int reoWndPersist;      // RACK.reo_wnd_persist
    private boolean reorderingSeen; // RACK.reordering_seen
    private int fack;               // RACK.fack: highest end sequence delivered
    private boolean fackValid;
    private int dsackRound;         // RACK.dsack_round (valid when dsackRoundSet)
    private boolean dsackRoundSet;
    private int segsSacked;         // RACK.segs_sacked
    private int lostSegments;       // entries marked lost and not yet retransmitted

    /** Entries held. */
    int size() {
        return n;
    }

    int start(int i) {
        return start[i];
    }

    int end(int i) {
        return end[i];
    }

    long xmitTs(int i) {
        return xmitTs[i];
    }

    boolean is(int i, int flag) {
        return (flags[i] & flag) != 0;
    }

    long rackRtt() {
        return rackRtt;
    }

    long reoWnd() {
        return reoWnd;
    }

    boolean reorderingSeen() {
        return reorderingSeen;
    }

    /** True while some segment is marked lost and not yet retransmitted. */
    boolean hasLost() {
        return lostSegments > 0;
    }

    /** Forgets all segments (the connection is done with them). */
    void clear() {
        n = 0;
        segsSacked = 0;
        lostSegments = 0;
    }

    // ------------------------------------------------------------------ transmissions

    /**
     * Records that [{@code s}, {@code e}) was sent at {@code now} (RFC 8985 §6.1, "Segment.xmit_ts"). What lies
     * below the highest end recorded is a retransmission: its entries are split to the range, get the new
     * transmit time, are flagged retransmitted and are no longer lost. What lies above is new data.
     */
    void onTransmit(int s, int e, long now) {
        if (e - s <= 0) {
            return;
        }
        int tail = n == 0 ? s : end[n - 1];
        if (n > 0 && s - tail < 0) {
            int i = splitAt(s);
            int stop = e - tail < 0 ? e : tail;
            splitAt(stop);
            for (; i < n && start[i] - stop < 0; i++) {
                if ((flags[i] & LOST) != 0) {
                    lostSegments--;
                }
                flags[i] = (byte) ((flags[i] | RETRANSMITTED) & ~LOST);
                xmitTs[i] = now;
            }
            s = stop;
        }
        if (e - s > 0) {
            append(s, e, now);
        }
    }

    private void append(int s, int e, long now) {
        ensureRoom();
        start[n] = s;
        end[n] = e;
        xmitTs[n] = now;
        flags[n] = 0;
        n++;
    }

    /**
     * Makes {@code seq} an entry boundary if it falls inside one; returns the index of the first entry that
     * starts at or after {@code seq} (n if none).
     */
    private int splitAt(int seq) {
        int i = 0;
        while (i < n && end[i] - seq <= 0) {
            i++;
        }
        if (i == n || start[i] - seq >= 0) {
            return i;
        }
        ensureRoom();
        System.arraycopy(start, i + 1, start, i + 2, n - i - 1);
        System.arraycopy(end, i + 1, end, i + 2, n - i - 1);
        System.arraycopy(xmitTs, i + 1, xmitTs, i + 2, n - i - 1);
        System.arraycopy(flags, i + 1, flags, i + 2, n - i - 1);
        n++;
        start[i + 1] = seq;
        end[i + 1] = end[i];
        xmitTs[i + 1] = xmitTs[i];
        flags[i + 1] = flags[i];
        end[i] = seq;
        if ((flags[i] & LOST) != 0) {
            lostSegments++;
        }
        if ((flags[i] & SACKED) != 0) {
            segsSacked++;
        }
        return i + 1;
    }

    private void ensureRoom() {
        if (n < start.length) {
            return;
        }
        int cap = start.length * 2;
        start = java.util.Arrays.copyOf(start, cap);
        end = java.util.Arrays.copyOf(end, cap);
        xmitTs = java.util.Arrays.copyOf(xmitTs, cap);
        flags = java.util.Arrays.copyOf(flags, cap);
    }

    // ------------------------------------------------------------------ acknowledgments

    /** An RTT sample from the connection's estimator: RACK.min_RTT is the smallest (RFC 8985 §6.1). */
    void onRttSample(long rtt) {
        if (rtt > 0 && (minRtt < 0 || rtt < minRtt)) {
            minRtt = rtt;
        }
    }

    /**
     * Processes an ACK (RFC 8985 §6.2 steps 1-3): every segment it newly delivers, cumulatively (below
     * {@code una}) or selectively (inside a range of {@code sb}), updates RACK's view of the most recently sent
     * delivered segment and reveals reordering.
     */
    void onAck(int una, SackScoreboard sb, long now) {
        int delivered = 0;
        while (delivered < n && end[delivered] - una <= 0) {
            if ((flags[delivered] & SACKED) == 0) {
                onDelivered(delivered, now);
            }
            delivered++;
        }
        removeFirst(delivered);
        if (n > 0 && start[0] - una < 0) {
            start[0] = una; // partly acknowledged: the rest is still outstanding
        }
        markSacked(sb, now);
    }

    private void markSacked(SackScoreboard sb, long now) {
        for (int k = 0; k < sb.ranges(); k++) {
            int s = sb.rangeStart(k);
            int e = sb.rangeEnd(k);
            int i = splitAt(s);
            splitAt(e);
            for (; i < n && start[i] - e < 0; i++) {
                if ((flags[i] & SACKED) == 0) {
                    onDelivered(i, now);
                    if ((flags[i] & LOST) != 0) {
                        lostSegments--;
                    }
                    flags[i] = (byte) ((flags[i] | SACKED) & ~LOST);
                    segsSacked++;
                }
            }
        }
    }

    private void removeFirst(int k) {
        if (k == 0) {
            return;
        }
        for (int i = 0; i < k; i++) {
            if ((flags[i] & LOST) != 0) {
                lostSegments--;
            }
            if ((flags[i] & SACKED) != 0) {
                segsSacked--;
            }
        }
        System.arraycopy(start, k, start, 0, n - k);
        System.arraycopy(end, k, end, 0, n - k);
        System.arraycopy(xmitTs, k, xmitTs, 0, n - k);
        System.arraycopy(flags, k, flags, 0, n - k);
        n -= k;
    }

    /** RFC 8985 §6.2 steps 2 and 3 for entry {@code i}, newly delivered. */
    private void onDelivered(int i, long now) {
        long rtt = now - xmitTs[i];
        boolean retransmitted = (flags[i] & RETRANSMITTED) != 0;
        // Step 3: a segment delivered below one delivered before, and never retransmitted, was reordered.
        if (!fackValid || end[i] - fack > 0) {
            fack = end[i];
            fackValid = true;
        } else if (end[i] - fack < 0 && !retransmitted) {
            reorderingSeen = true;
        }
        // Step 2: for a retransmitted segment the ACK may answer the original: ignore it if the RTT would be
        // shorter than the minimum. (The step's TSecr test is left out, as Linux does: a receiver echoes the
        // TSval of the last in-order segment, RFC 7323 §4.3, so a SACK for a retransmission beyond a hole
        // always echoes an older one.)
        if (retransmitted && minRtt >= 0 && rtt < minRtt) {
            return;
        }
        if (!rackValid || sentAfter(xmitTs[i], end[i], rackXmitTs, rackEndSeq)) {
            rackRtt = rtt; // RACK.rtt is the RTT of the segment RACK.xmit_ts belongs to
            rackXmitTs = xmitTs[i];
            rackEndSeq = end[i];
            rackValid = true;
        }
        if (!retransmitted) {
            onRttSample(rtt);
        }
    }

    /** RFC 8985 §6.2, RACK_sent_after: was (t1, seq1) sent after (t2, seq2)? */
    static boolean sentAfter(long t1, int seq1, long t2, int seq2) {
        return t1 - t2 > 0 || (t1 == t2 && seq1 - seq2 > 0);
    }

    // ------------------------------------------------------------------ reordering window and loss

    /**
     * RFC 8985 §6.2 step 4: the reordering window. Zero (detect at once, like DupThresh) while no reordering
     * was seen and either recovery is under way or DupThresh segments were SACKed; else a quarter of the
     * minimum RTT, times a multiplier that D-SACKs raise, and never more than SRTT.
     *
     * @param dsack     the ACK carried a D-SACK (RFC 2883)
     * @param sndUna    SND.UNA after the ACK
     * @param sndNxt    SND.NXT (the highest sent)
     * @param recovering in fast recovery or after an RTO
     * @param srtt      the smoothed RTT, or -1
     */
    void updateReoWnd(boolean dsack, int sndUna, int sndNxt, boolean recovering, long srtt) {
        if (dsackRoundSet && sndUna - dsackRound >= 0) {
            dsackRoundSet = false;
        }
        if (!dsackRoundSet && dsack) {
            dsackRoundSet = true;
            dsackRound = sndNxt;
            reoWndMult++;
            reoWndPersist = REO_WND_PERSIST;
        }
        if (!reorderingSeen && (recovering || segsSacked >= DUP_THRESH)) {
            reoWnd = 0;
            return;
        }
        long wnd = minRtt < 0 ? 0 : reoWndMult * (minRtt / 4);
        reoWnd = srtt >= 0 ? Math.min(wnd, srtt) : wnd;
    }

    /** RFC 8985 §6.2 step 4: leaving fast or RTO recovery lets an enlarged reo_wnd decay. */
    void onRecoveryExit() {
        if (--reoWndPersist <= 0) {
            reoWndMult = 1;
            reoWndPersist = 0;
        }
    }

    /**
     * RFC 8985 §6.2 step 5 (RACK_detect_loss): marks lost every outstanding segment sent before RACK.xmit_ts
     * (or with it and a lower end) more than RACK.rtt + RACK.reo_wnd ago. Returns 0 if none waits, else how
     * long until the next such segment would count as lost: the reordering timer (§6.3).
     */
    long detectLoss(long now) {
        if (!rackValid) {
            return 0;
        }
        long timeout = 0;
        for (int i = 0; i < n; i++) {
            if ((flags[i] & (SACKED | LOST)) != 0 || !sentAfter(rackXmitTs, rackEndSeq, xmitTs[i], end[i])) {
                continue;
            }
            long remaining = xmitTs[i] + rackRtt + reoWnd - now;
            if (remaining <= 0) {
                flags[i] |= LOST;
                lostSegments++;
            } else if (remaining > timeout) {
                timeout = remaining;
            }
        }
        return timeout;
    }

    /** Index of the first entry marked lost and not SACKed (sequence order), or -1. */
    int firstLost() {
        if (lostSegments == 0) {
            return -1;
        }
        for (int i = 0; i < n; i++) {
            if ((flags[i] & LOST) != 0) {
                return i;
            }
        }
        return -1;
    }

    /**
     * RFC 6675 §4 "pipe" with RACK's notion of loss (RFC 8985 §6): the bytes of segments neither SACKed nor
     * marked lost. A retransmitted segment is in flight until it is SACKed or marked lost again, an original
     * marked lost is not.
     */
    int pipe() {
        int pipe = 0;
        for (int i = 0; i < n; i++) {
            if ((flags[i] & (SACKED | LOST)) == 0) {
                pipe += end[i] - start[i];
            }
        }
        return pipe;
    }

    /** After a retransmission timeout the scoreboard is forgotten (RFC 2018 §8): so are the SACKed marks. */
    void onRetransmitTimeout() {
        for (int i = 0; i < n; i++) {
            flags[i] &= ~SACKED;
        }
        segsSacked = 0;
    }
}
