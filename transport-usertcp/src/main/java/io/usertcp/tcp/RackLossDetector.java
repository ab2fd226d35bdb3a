package io.usertcp.tcp;

import static io.usertcp.tcp.SegmentRecords.LOST;
import static io.usertcp.tcp.SegmentRecords.RETRANSMITTED;
import static io.usertcp.tcp.SegmentRecords.SACKED;

/**
 * RACK's loss detection (RFC 8985 §6.2) over the {@link SegmentRecords} of one connection: the RACK variables
 * of §6.1 (RACK.xmit_ts, RACK.end_seq, RACK.rtt, RACK.min_RTT, RACK.fack, RACK.reordering_seen), their update
 * for each delivered segment (§6.2 steps 2 and 3), the reordering window (step 4, {@link ReorderingWindow})
 * and the scan that marks segments lost (step 5) with the reordering timer it yields (§6.3).
 *
 * <p>A scan is skipped when nothing it depends on changed since the last one and no segment has come due:
 * whoever changes the records in a way that could change a verdict calls {@link #markDirty()}.
 */
final class RackLossDetector {
    private final SegmentRecords records;
    private final ReorderingWindow window = new ReorderingWindow();

    // RFC 8985 §6.1.
    private long rackXmitTs;        // RACK.xmit_ts: latest transmit time of a delivered segment
    private int rackEndSeq;         // RACK.end_seq: its end
    private boolean rackValid;      // something was delivered since the connection began
    private long rackRtt;           // RACK.rtt: the RTT of that segment
    private long minRtt = -1;       // RACK.min_RTT: the smallest RTT sample (-1: none yet)
    private boolean reorderingSeen; // RACK.reordering_seen
    private int fack;               // RACK.fack: highest end sequence delivered
    private boolean fackValid;

    // The outcome of the last loss scan, and what tells whether it still stands.
    private boolean lossDirty = true;
    private int retxEnd;            // the highest end of a retransmitted entry (valid while above SND.UNA)
    private boolean retxValid;
    private boolean lossPending;    // the last scan left segments that will count as lost later
    private long lossNextExpiry;    // the earliest of those
    private long lossMaxExpiry;     // the latest of those (the reordering timer, §6.3)

    RackLossDetector(SegmentRecords records) {
        this.records = records;
    }

    long rackRtt() {
        return rackRtt;
    }

    /** RACK.min_RTT, or -1 before the first sample. */
    long minRtt() {
        return minRtt;
    }

    /** The reordering window's RACK.reo_wnd_mult. */
    int reoWndMult() {
        return window.multiplier();
    }

    /** The reordering window's RACK.reo_wnd_persist. */
    int reoWndPersist() {
        return window.persist();
    }

    /**
     * Starts a new flight of a connection whose flight state was given back to its stack's pool when the last
     * one was acknowledged ({@link RackState}): what outlives a flight is given back, everything else starts as
     * for a new connection. Nothing it forgets can change a verdict: every segment of the new flight is sent
     * after the delivered one RACK.xmit_ts belongs to, and above RACK.fack, the retransmitted end and the D-SACK
     * round, all at or below SND.UNA now.
     */
    void resume(long minRtt, boolean reorderingSeen, int reoWndMult, int reoWndPersist) {
        rackXmitTs = 0;
        rackEndSeq = 0;
        rackValid = false;
        rackRtt = 0;
        this.minRtt = minRtt;
        this.reorderingSeen = reorderingSeen;
        fack = 0;
        fackValid = false;
        lossDirty = true;
        retxEnd = 0;
        retxValid = false;
        lossPending = false;
        lossNextExpiry = 0;
        lossMaxExpiry = 0;
        window.resume(reoWndMult, reoWndPersist);
    }

    long reoWnd() {
        return window.reoWnd();
    }

    boolean reorderingSeen() {
        return reorderingSeen;
    }

    /** Something a loss verdict depends on changed: the next {@link #detectLoss(long)} scans. */
    void markDirty() {
        lossDirty = true;
    }

    /** The entries were forgotten: no retransmission is outstanding, and the next detection scans. */
    void onClear() {
        lossDirty = true;
        retxValid = false;
    }

    /** A retransmitted entry ends at {@code end}. */
    void onRetransmitted(int end) {
        if (!retxValid || end - retxEnd > 0) {
            retxEnd = end;
            retxValid = true;
        }
    }

    /** SND.UNA is {@code una}: a retransmission it covers no longer bounds the scan. */
    void onUna(int una) {
        if (retxValid && retxEnd - una <= 0) {
            retxValid = false;
        }
    }

    /** An RTT sample from the connection's estimator: RACK.min_RTT is the smallest (RFC 8985 §6.1). */
    void onRttSample(long rtt) {
        if (rtt > 0 && (minRtt < 0 || rtt < minRtt)) {
            minRtt = rtt;
        }
    }

    /** RFC 8985 §6.2 steps 2 and 3 for entry {@code i}, newly delivered up to {@code endSeq}. */
    void onDelivered(int i, int endSeq, long now) {
        long xmitTs = records.xmitTs(i);
        long rtt = now - xmitTs;
        boolean retransmitted = records.is(i, RETRANSMITTED);
        // Step 3: a segment delivered below one delivered before, and never retransmitted, was reordered.
        if (!fackValid || endSeq - fack > 0) {
            fack = endSeq;
            fackValid = true;
        } else if (endSeq - fack < 0 && !retransmitted) {
            reorderingSeen = true;
        }
        // Step 2: for a retransmitted segment the ACK may answer the original: ignore it if the RTT would be
        // shorter than the minimum. (The step's TSecr test is left out, as Linux does: a receiver echoes the
        // TSval of the last in-order segment, RFC 7323 §4.3, so a SACK for a retransmission beyond a hole
        // always echoes an older one.)
        if (retransmitted && minRtt >= 0 && rtt < minRtt) {
            return;
        }
        if (!rackValid || sentAfter(xmitTs, endSeq, rackXmitTs, rackEndSeq)) {
            rackRtt = rtt; // RACK.rtt is the RTT of the segment RACK.xmit_ts belongs to
            rackXmitTs = xmitTs;
            rackEndSeq = endSeq;
            rackValid = true;
            lossDirty = true;
        }
        if (!retransmitted) {
            onRttSample(rtt);
        }
    }

    /** RFC 8985 §6.2, RACK_sent_after: was (t1, seq1) sent after (t2, seq2)? */
    static boolean sentAfter(long t1, int seq1, long t2, int seq2) {
        return t1 - t2 > 0 || (t1 == t2 && seq1 - seq2 > 0);
    }

    /** RFC 8985 §6.2 step 4, see {@link ReorderingWindow#update}. */
    void updateReoWnd(boolean dsack, int sndUna, int sndNxt, boolean recovering, long srtt) {
        if (window.update(dsack, sndUna, sndNxt, recovering, srtt, reorderingSeen, records.segsSacked(), minRtt)) {
            lossDirty = true;
        }
    }

    /** RFC 8985 §6.2 step 4: leaving fast or RTO recovery lets an enlarged reo_wnd decay. */
    void onRecoveryExit() {
        window.onRecoveryExit();
    }

    /**
     * RFC 8985 §6.2 step 5 (RACK_detect_loss): marks lost every outstanding segment sent before RACK.xmit_ts
     * (or with it and a lower end) more than RACK.rtt + RACK.reo_wnd ago. Returns 0 if none waits, else how
     * long until the next such segment would count as lost: the reordering timer (§6.3). When nothing it
     * depends on changed since the last scan and no segment has come due, the last answer stands.
     */
    long detectLoss(long now) {
        if (!rackValid) {
            return 0;
        }
        if (!lossDirty && (!lossPending || now - lossNextExpiry < 0)) {
            return lossPending ? lossMaxExpiry - now : 0;
        }
        long reoWnd = window.reoWnd();
        long timeout = 0;
        long next = 0;
        boolean pending = false;
        int lo = -1;
        int hi = -1;
        int n = records.size();
        for (int i = 0; i < n; i++) {
            records.addWork(1);
            int f = records.flags(i);
            if ((f & (SACKED | LOST)) != 0) {
                continue;
            }
            long xmitTs = records.xmitTs(i);
            if (!sentAfter(rackXmitTs, rackEndSeq, xmitTs, records.end(i))) {
                // Original transmissions were sent in sequence order: past this one, only a retransmission
                // can have been sent before RACK.xmit_ts.
                if ((f & RETRANSMITTED) == 0 && (!retxValid || retxEnd - records.start(i) <= 0)) {
                    break;
                }
                continue;
            }
            long remaining = xmitTs + rackRtt + reoWnd - now;
            if (remaining <= 0) {
                records.setFlags(i, f | LOST);
                if (lo < 0) {
                    lo = i;
                }
                hi = i;
            } else {
                if (remaining > timeout) {
                    timeout = remaining;
                }
                if (!pending || remaining < next) {
                    next = remaining;
                }
                pending = true;
            }
        }
        if (lo >= 0) {
            records.coalesce(lo - 1, hi + 1, false);
        }
        lossDirty = false;
        lossPending = pending;
        lossNextExpiry = now + next;
        lossMaxExpiry = now + timeout;
        return timeout;
    }
}
