package io.usertcp.tcp;

import io.usertcp.stats.StackStats;

/**
 * RACK loss detection (RFC 8985 §6) for one SACK connection: the sent-but-unacknowledged data in sequence
 * order, as entries with their last transmit time and whether they were retransmitted, SACKed or marked lost
 * (§5.2, "per segment state"), and the RACK variables (§6.1).
 *
 * <p>An entry is what one transmission covered (a TSO super-segment is one entry) and remembers the size of
 * the wire segments it was cut into. Entries are split where a retransmission starts or ends inside one, and
 * where a SACK block does, so an entry is always wholly SACKed or not. The peer chooses the SACK blocks, so
 * this state is bounded against a peer that SACKs every other byte (the "SACK panic" class, CVE-2019-11477
 * and CVE-2019-11478):
 * <ul>
 *   <li>a SACK block splits an entry only at a wire segment boundary: a block edge inside a segment is rounded
 *       off, leaving that segment unSACKed (as Linux's {@code tcp_match_skb_to_sack} does). A receiver SACKs
 *       whole segments, so this costs an honest peer nothing, and no entry, hole or retransmission smaller than
 *       a segment comes out of a peer's SACK blocks;</li>
 *   <li>adjacent entries in the same state are merged: SACKed ones always, ones in flight when they were sent
 *       at the same time on one segment grid;</li>
 *   <li>a SACK block may split an entry only while there are fewer than {@link #DEFAULT_MAX_ENTRIES} entries
 *       (1024), a retransmission while there are fewer than twice that; a split refused there is counted
 *       ({@code StackStats.tcpRackSplitsRefused}) and treated coarsely: a partly SACKed entry stays unSACKed,
 *       a partly retransmitted one counts as retransmitted whole, and adjacent entries of the same kind are
 *       merged whatever their times and grids (the later transmit time is kept, which can only delay a loss
 *       verdict). New data always gets an entry: it is bounded by the send buffer, not by the peer;</li>
 *   <li>lookups are binary searches, removal of acknowledged entries costs no copy, pipe and the lost bytes
 *       are kept as running sums, and an ACK that changes neither the scoreboard nor RACK's variables costs no
 *       scan;</li>
 *   <li>an ACK marks at most {@link #SACK_WORK_PER_ACK} entries (256) and makes at most
 *       {@link #SPLITS_PER_ACK} splits (8); the rest waits for the next ACK
 *       ({@code StackStats.tcpSackWorkDeferred}).</li>
 * </ul>
 * The arrays grow when needed and are reused, so steady state allocates nothing. Sequence numbers compare by
 * the sign of their difference (RFC 1982).
 */
final class RackState {
    static final int RETRANSMITTED = 1;
    static final int SACKED = 2;
    static final int LOST = 4;
    /** Default bound on the entries SACK blocks may split the data in flight into. */
    static final int DEFAULT_MAX_ENTRIES = 1024;
    /** Most entries one ACK's SACK blocks may examine; the rest is examined on the next ACK. */
    static final int SACK_WORK_PER_ACK = 256;
    /** Most entries one ACK's SACK blocks may split. */
    static final int SPLITS_PER_ACK = 8;
    /** RFC 8985 §6.2 step 4: DupThresh, in segments. */
    private static final int DUP_THRESH = 3;
    /** RFC 8985 §6.2 step 4: how many recoveries an enlarged reo_wnd persists. */
    private static final int REO_WND_PERSIST = 16;

    private final int maxEntries;

    // Entries off .. off + n - 1 of these arrays, in sequence order, contiguous and disjoint.
    private int[] start = new int[64];
    private int[] end = new int[64];
    private int[] seg = new int[64];    // the wire segment size the entry was sent in: its SACK grid
    private int[] pcount = new int[64]; // wire segments the entry stands for (RACK.segs_sacked counts these)
    private long[] xmitTs = new long[64];
    private byte[] flags = new byte[64];
    private int off;
    private int n;

    // Running sums over the entries.
    private int pipeBytes;   // neither SACKed nor lost (RFC 6675 pipe with RACK's losses)
    private int lostBytes;   // lost and not yet retransmitted
    private int segsSacked;  // RACK.segs_sacked
    private int lostFloor;   // no entry ending at or below this is lost (valid while lostBytes > 0)

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

    // What spares work: the scoreboard version last applied, and the outcome of the last loss scan.
    private int sackVersion = -1;
    private boolean sackDeferred;   // the last ACK's budget ran out: examine the scoreboard again
    private boolean lossDirty = true;
    private int retxEnd;            // the highest end of a retransmitted entry (valid while above SND.UNA)
    private boolean retxValid;
    private boolean lossPending;    // the last scan left segments that will count as lost later
    private long lossNextExpiry;    // the earliest of those
    private long lossMaxExpiry;     // the latest of those (the reordering timer, §6.3)
    private boolean wantCoarsen;    // a split was refused at the bound
    private boolean coarsened;      // entries were merged coarsely at the bound and have not fallen far below it

    // Counters, handed to StackStats on the next ACK, and the work done (tests bound it per ACK).
    private long splitsRefused;
    private long sackWorkDeferred;
    private long sackRoundedOff;
    private long work;

    RackState() {
        this(DEFAULT_MAX_ENTRIES);
    }

    /** @param maxEntries the bound on entries SACK blocks may split the data in flight into (at least 16) */
    RackState(int maxEntries) {
        if (maxEntries < 16) {
            throw new IllegalArgumentException("maxEntries " + maxEntries + " < 16: use at least 16");
        }
        this.maxEntries = maxEntries;
    }

    /** Entries held. */
    int size() {
        return n;
    }

    int start(int i) {
        return start[off + i];
    }

    int end(int i) {
        return end[off + i];
    }

    long xmitTs(int i) {
        return xmitTs[off + i];
    }

    boolean is(int i, int flag) {
        return (flags[off + i] & flag) != 0;
    }

    /** Index of the entry holding {@code seq}, or -1. */
    int indexOf(int seq) {
        int i = find(seq);
        return i < n && start(i) - seq <= 0 ? i : -1;
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

    /** Entries examined, split, merged or moved so far: a measure of work that does not depend on timing. */
    long work() {
        return work;
    }

    /** True while some segment is marked lost and not yet retransmitted. */
    boolean hasLost() {
        return lostBytes > 0;
    }

    /** Forgets all segments (the connection is done with them). */
    void clear() {
        n = 0;
        off = 0;
        pipeBytes = 0;
        lostBytes = 0;
        segsSacked = 0;
        lossDirty = true;
        retxValid = false;
        coarsened = false;
        wantCoarsen = false;
    }

    // ------------------------------------------------------------------ transmissions

    /** {@link #onTransmit(int, int, int, long)} for data sent as one segment. */
    void onTransmit(int s, int e, long now) {
        onTransmit(s, e, e - s, now);
    }

    /**
     * Records that [{@code s}, {@code e}) was sent at {@code now} in wire segments of {@code segment} bytes
     * (RFC 8985 §6.1, "Segment.xmit_ts"). What lies below the highest end recorded is a retransmission: its
     * entries are split to the range, get the new transmit time, are flagged retransmitted and are no longer
     * lost. What lies above is new data.
     */
    void onTransmit(int s, int e, int segment, long now) {
        if (e - s <= 0) {
            return;
        }
        if (segment <= 0) {
            segment = e - s;
        }
        if (n > 0) {
            if (s - start(0) < 0) {
                s = start(0); // below SND.UNA: nothing to record
                if (e - s <= 0) {
                    return;
                }
            }
            int tail = end(n - 1);
            if (s - tail < 0) {
                int stop = e - tail < 0 ? e : tail;
                retransmitted(s, stop, segment, now);
                s = stop;
            }
        }
        if (e - s > 0) {
            append(s, e, segment, now);
        }
    }

    private void append(int s, int e, int segment, long now) {
        if (n > 0) {
            int t = off + n - 1;
            boolean inFlight = (flags[t] & (SACKED | LOST)) == 0;
            if (end[t] == s && inFlight && flags[t] == 0 && xmitTs[t] == now && seg[t] == segment
                    && (end[t] - start[t]) % segment == 0) {
                grow(t, e, segment); // one burst: same time, same segment grid
                return;
            }
        }
        if (off + n == start.length) {
            makeRoom();
        }
        int j = off + n;
        start[j] = s;
        end[j] = e;
        seg[j] = segment;
        pcount[j] = segments(e - s, segment);
        xmitTs[j] = now;
        flags[j] = 0;
        n++;
        account(j, 1);
    }

    /** Extends in-flight entry {@code j} to {@code e}. */
    private void grow(int j, int e, int segment) {
        account(j, -1);
        pcount[j] += segments(e - end[j], segment);
        end[j] = e;
        account(j, 1);
    }

    /** [s, stop) was sent again at {@code now}: it lies within the entries. */
    private void retransmitted(int s, int stop, int segment, long now) {
        coarsenAtBound();
        int i = find(s);
        if (i == n) {
            return;
        }
        int first = i;
        if (start(i) - s < 0 && room(2 * maxEntries)) {
            split(i, s);
            i++;
            first = i;
        }
        for (; i < n && start(i) - stop < 0; i++) {
            work++;
            int j = off + i;
            if (end[j] - stop > 0 && room(2 * maxEntries)) {
                split(i, stop);
            }
            j = off + i;
            boolean exact = start[j] - s >= 0 && end[j] - stop <= 0;
            if ((flags[j] & (SACKED | LOST)) == 0) {
                lossDirty = true; // it was in flight: it may have been waiting to count as lost
            }
            setFlags(i, (flags[j] | RETRANSMITTED) & ~LOST);
            if (exact) {
                account(j, -1);
                seg[j] = segment; // sent anew in segments of this size
                pcount[j] = segments(end[j] - start[j], segment);
                account(j, 1);
            }
            xmitTs[j] = now;
            if (!retxValid || end[j] - retxEnd > 0) {
                retxEnd = end[j];
                retxValid = true;
            }
        }
        coalesce(first - 1, i, false);
    }

    // ------------------------------------------------------------------ acknowledgments

    /** An RTT sample from the connection's estimator: RACK.min_RTT is the smallest (RFC 8985 §6.1). */
    void onRttSample(long rtt) {
        if (rtt > 0 && (minRtt < 0 || rtt < minRtt)) {
            minRtt = rtt;
        }
    }

    /** {@link #onAck(int, SackScoreboard, long, StackStats)} without counters (tests). */
    void onAck(int una, SackScoreboard sb, long now) {
        onAck(una, sb, now, null);
    }

    /**
     * Processes an ACK (RFC 8985 §6.2 steps 1-3): every segment it newly delivers, cumulatively (below
     * {@code una}) or selectively (inside a range of {@code sb}), updates RACK's view of the most recently sent
     * delivered segment and reveals reordering. The bounds hit on the way are counted in {@code stats}.
     */
    void onAck(int una, SackScoreboard sb, long now, StackStats stats) {
        int delivered = 0;
        while (delivered < n && end(delivered) - una <= 0) {
            work++;
            int j = off + delivered;
            if ((flags[j] & SACKED) == 0) {
                onDelivered(j, end[j], now);
            }
            account(j, -1);
            delivered++;
        }
        if (delivered > 0) {
            off += delivered; // no copy: the arrays are compacted when the end is reached
            n -= delivered;
            if (n == 0) {
                off = 0;
            }
            lossDirty = true;
        }
        if (n > 0 && start(0) - una < 0) {
            int j = off;
            if ((flags[j] & SACKED) == 0) {
                onDelivered(j, una, now); // the acknowledged part of the entry was delivered
            }
            account(j, -1);
            start[j] = una; // partly acknowledged: the rest is still outstanding
            pcount[j] = Math.min(pcount[j], segments(end[j] - una, seg[j]));
            account(j, 1);
        }
        if (retxValid && retxEnd - una <= 0) {
            retxValid = false;
        }
        if (n < maxEntries * 3 / 4) {
            coarsened = false;
        }
        coarsenAtBound();
        markSacked(sb, now);
        if (stats != null) {
            stats.tcpRackSplitsRefused += splitsRefused;
            stats.tcpSackWorkDeferred += sackWorkDeferred;
            stats.tcpSackRoundedOff += sackRoundedOff;
        }
        splitsRefused = 0;
        sackWorkDeferred = 0;
        sackRoundedOff = 0;
    }

    /**
     * Marks SACKed what the scoreboard's ranges cover, in whole wire segments, within this ACK's budget. Does
     * nothing when the scoreboard has not changed since it was last applied in full.
     */
    private void markSacked(SackScoreboard sb, long now) {
        if (sb.version() == sackVersion && !sackDeferred) {
            return;
        }
        sackVersion = sb.version();
        sackDeferred = false;
        int budget = SACK_WORK_PER_ACK;
        int splits = SPLITS_PER_ACK;
        int lo = -1;
        int hi = -1;
        ranges:
        for (int k = 0; k < sb.ranges(); k++) {
            int s = sb.rangeStart(k);
            int e = sb.rangeEnd(k);
            int i = find(s);
            for (; i < n && start(i) - e < 0; i++) {
                int j = off + i;
                if ((flags[j] & SACKED) != 0) {
                    work++;
                    continue;
                }
                if (--budget < 0) {
                    sackDeferred = true;
                    sackWorkDeferred++;
                    break ranges;
                }
                work++;
                int a = start[j];
                int b = end[j];
                int g = seg[j];
                // RFC 2018 blocks cover whole segments: round a block edge inside one off (Linux does too).
                int from = a - s < 0 ? a + roundUp(s - a, g) : a;
                int to = b - e > 0 ? a + (e - a) - (e - a) % g : b;
                if (to - from <= 0) {
                    sackRoundedOff++;
                    continue;
                }
                int need = (from != a ? 1 : 0) + (to != b ? 1 : 0);
                if (need > 0) {
                    if (splits < need) {
                        sackDeferred = true;
                        sackWorkDeferred++;
                        break ranges;
                    }
                    if (!room(maxEntries - need + 1)) {
                        continue; // at the bound: this entry stays unSACKed
                    }
                    splits -= need;
                    if (from != a) {
                        split(i, from);
                        i++;
                    }
                    if (to != b) {
                        split(i, to);
                    }
                    j = off + i;
                }
                onDelivered(j, end[j], now);
                setFlags(i, (flags[j] | SACKED) & ~LOST);
                lossDirty = true;
                if (lo < 0) {
                    lo = i;
                }
                hi = i;
            }
        }
        if (lo >= 0) {
            coalesce(lo - 1, hi + 1, false);
        }
    }

    /** RFC 8985 §6.2 steps 2 and 3 for the entry in slot {@code j}, newly delivered up to {@code endSeq}. */
    private void onDelivered(int j, int endSeq, long now) {
        long rtt = now - xmitTs[j];
        boolean retransmitted = (flags[j] & RETRANSMITTED) != 0;
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
        if (!rackValid || sentAfter(xmitTs[j], endSeq, rackXmitTs, rackEndSeq)) {
            rackRtt = rtt; // RACK.rtt is the RTT of the segment RACK.xmit_ts belongs to
            rackXmitTs = xmitTs[j];
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
        long before = reoWnd;
        if (!reorderingSeen && (recovering || segsSacked >= DUP_THRESH)) {
            reoWnd = 0;
        } else {
            long wnd = minRtt < 0 ? 0 : reoWndMult * (minRtt / 4);
            reoWnd = srtt >= 0 ? Math.min(wnd, srtt) : wnd;
        }
        if (reoWnd != before) {
            lossDirty = true;
        }
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
        long timeout = 0;
        long next = 0;
        boolean pending = false;
        int lo = -1;
        int hi = -1;
        for (int i = 0; i < n; i++) {
            work++;
            int j = off + i;
            if ((flags[j] & (SACKED | LOST)) != 0) {
                continue;
            }
            if (!sentAfter(rackXmitTs, rackEndSeq, xmitTs[j], end[j])) {
                // Original transmissions were sent in sequence order: past this one, only a retransmission
                // can have been sent before RACK.xmit_ts.
                if ((flags[j] & RETRANSMITTED) == 0 && (!retxValid || retxEnd - start[j] <= 0)) {
                    break;
                }
                continue;
            }
            long remaining = xmitTs[j] + rackRtt + reoWnd - now;
            if (remaining <= 0) {
                setFlags(i, flags[j] | LOST);
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
            coalesce(lo - 1, hi + 1, false);
        }
        lossDirty = false;
        lossPending = pending;
        lossNextExpiry = now + next;
        lossMaxExpiry = now + timeout;
        return timeout;
    }

    /** Index of the first entry marked lost and not SACKed (sequence order), or -1. */
    int firstLost() {
        if (lostBytes == 0) {
            return -1;
        }
        for (int i = find(lostFloor); i < n; i++) {
            work++;
            if ((flags[off + i] & LOST) != 0) {
                lostFloor = start(i);
                return i;
            }
        }
        return -1;
    }

    /**
     * Where a retransmission that starts at lost entry {@code i} ends: at most {@code limit} (the start plus
     * one SMSS); when the entry is shorter, the unSACKed entries that follow it and fit whole go along, so
     * slivers of state are resent in full segments (as Linux's {@code tcp_retrans_try_collapse}).
     */
    int retransmitEnd(int i, int limit) {
        int e = end(i);
        if (e - limit >= 0) {
            return limit;
        }
        for (int k = i + 1; k < n; k++) {
            work++;
            int j = off + k;
            if ((flags[j] & SACKED) != 0 || end[j] - limit > 0) {
                break;
            }
            e = end[j];
        }
        return e;
    }

    /**
     * RFC 6675 §4 "pipe" with RACK's notion of loss (RFC 8985 §6): the bytes of segments neither SACKed nor
     * marked lost. A retransmitted segment is in flight until it is SACKed or marked lost again, an original
     * marked lost is not.
     */
    int pipe() {
        return pipeBytes;
    }

    /** After a retransmission timeout the scoreboard is forgotten (RFC 2018 §8): so are the SACKed marks. */
    void onRetransmitTimeout() {
        for (int i = 0; i < n; i++) {
            work++;
            int f = flags[off + i];
            if ((f & SACKED) != 0) {
                setFlags(i, f & ~SACKED);
            }
        }
        coalesce(0, n - 1, false);
        sackVersion = -1;
        lossDirty = true;
    }

    // ------------------------------------------------------------------ entries

    /** Index of the first entry that ends after {@code seq} (n if none): a binary search. */
    private int find(int seq) {
        int lo = 0;
        int hi = n;
        while (lo < hi) {
            work++;
            int mid = (lo + hi) >>> 1;
            if (end[off + mid] - seq > 0) {
                hi = mid;
            } else {
                lo = mid + 1;
            }
        }
        return lo;
    }

    /** Whether a split fits under {@code limit} entries; counts the refusal, and asks for coarsening, if not. */
    private boolean room(int limit) {
        if (n < limit) {
            return true;
        }
        splitsRefused++;
        wantCoarsen = true;
        return false;
    }

    /**
     * After a split was refused, once until the entries fall well below the bound: merges adjacent entries of
     * the same kind (SACKed, lost, in flight) whatever their times and grids. (Run before a walk over the
     * entries, never inside one.)
     */
    private void coarsenAtBound() {
        if (wantCoarsen && !coarsened) {
            coarsened = true;
            coalesce(0, n - 1, true);
        }
        wantCoarsen = false;
    }

    /** Splits entry {@code i} at {@code seq} (strictly inside it): entry i ends there, entry i + 1 starts there. */
    private void split(int i, int seq) {
        openSlot(i + 1);
        int a = off + i;
        int b = a + 1;
        account(a, -1);
        start[b] = seq;
        end[b] = end[a];
        seg[b] = seg[a];
        xmitTs[b] = xmitTs[a];
        flags[b] = flags[a];
        end[a] = seq;
        int total = pcount[a];
        pcount[a] = Math.min(Math.max(total - 1, 1), segments(seq - start[a], seg[a]));
        pcount[b] = Math.max(total - pcount[a], 1);
        account(a, 1);
        account(b, 1);
    }

    /**
     * Makes room for an entry at index {@code i}: the entries before it move down one slot, or those from it
     * move up one, whichever are fewer and have room.
     */
    private void openSlot(int i) {
        if (off > 0 && (i <= n - i || off + n == start.length)) {
            move(off, off - 1, i);
            off--;
        } else {
            if (off + n == start.length) {
                makeRoom();
            }
            move(off + i, off + i + 1, n - i);
        }
        n++;
    }

    /**
     * Called when the last slot is taken: moves the entries (into arrays twice the size if they are more than
     * half full), leaving a quarter of the free slots before them, for splits near SND.UNA, and the rest after
     * them, for new data.
     */
    private void makeRoom() {
        int cap = n < start.length / 2 ? start.length : start.length * 2;
        int to = (cap - n) / 4;
        if (cap == start.length) {
            move(off, to, n);
            off = to;
            return;
        }
        start = grown(start, cap, to);
        end = grown(end, cap, to);
        seg = grown(seg, cap, to);
        pcount = grown(pcount, cap, to);
        long[] t = new long[cap];
        System.arraycopy(xmitTs, off, t, to, n);
        xmitTs = t;
        byte[] f = new byte[cap];
        System.arraycopy(flags, off, f, to, n);
        flags = f;
        work += n;
        off = to;
    }

    private int[] grown(int[] a, int cap, int to) {
        int[] b = new int[cap];
        System.arraycopy(a, off, b, to, n);
        return b;
    }

    private void move(int from, int to, int count) {
        if (count <= 0) {
            return;
        }
        work += count;
        System.arraycopy(start, from, start, to, count);
        System.arraycopy(end, from, end, to, count);
        System.arraycopy(seg, from, seg, to, count);
        System.arraycopy(pcount, from, pcount, to, count);
        System.arraycopy(xmitTs, from, xmitTs, to, count);
        System.arraycopy(flags, from, flags, to, count);
    }

    /**
     * Merges what can be merged among entries {@code from} .. {@code to} (clamped), then closes the gap with
     * one move. Strict merging keeps every decision RACK could take; coarse merging (at the bound) joins
     * entries of the same kind and keeps the later transmit time.
     */
    private void coalesce(int from, int to, boolean coarse) {
        if (from < 0) {
            from = 0;
        }
        if (to > n - 1) {
            to = n - 1;
        }
        if (to <= from) {
            return;
        }
        int w = off + from;
        for (int r = off + from + 1; r <= off + to; r++) {
            work++;
            if (mergeable(w, r, coarse)) {
                account(w, -1);
                account(r, -1);
                end[w] = end[r];
                pcount[w] += pcount[r];
                if (xmitTs[r] - xmitTs[w] > 0) {
                    xmitTs[w] = xmitTs[r];
                    lossDirty = true;
                }
                flags[w] |= flags[r] & RETRANSMITTED;
                account(w, 1);
            } else {
                w++;
                if (w != r) {
                    start[w] = start[r];
                    end[w] = end[r];
                    seg[w] = seg[r];
                    pcount[w] = pcount[r];
                    xmitTs[w] = xmitTs[r];
                    flags[w] = flags[r];
                }
            }
        }
        int removed = off + to - w;
        if (removed > 0) {
            move(off + to + 1, w + 1, n - to - 1);
            n -= removed;
        }
    }

    private boolean mergeable(int a, int b, boolean coarse) {
        if (end[a] != start[b]) {
            return false;
        }
        int fa = flags[a];
        int fb = flags[b];
        if ((fa & SACKED) != 0 || (fb & SACKED) != 0) {
            return (fa & fb & SACKED) != 0; // delivered: their times and grids no longer matter
        }
        if (coarse) {
            return (fa & LOST) == (fb & LOST);
        }
        // Lost entries stay as they were sent: they go out again one segment at a time, and splitting a merged
        // run for each would cost more than it saves.
        return fa == fb && (fa & LOST) == 0 && xmitTs[a] == xmitTs[b] && seg[a] == seg[b]
                && (end[a] - start[a]) % seg[a] == 0;
    }

    private void setFlags(int i, int f) {
        int j = off + i;
        account(j, -1);
        flags[j] = (byte) f;
        account(j, 1);
        if ((f & LOST) != 0 && (lostBytes == end[j] - start[j] || start[j] - lostFloor < 0)) {
            lostFloor = start[j];
        }
    }

    /** Adds ({@code sign} 1) or removes (-1) what the entry in slot {@code j} contributes to the running sums. */
    private void account(int j, int sign) {
        int f = flags[j];
        int len = end[j] - start[j];
        if ((f & (SACKED | LOST)) == 0) {
            pipeBytes += sign * len;
        }
        if ((f & LOST) != 0) {
            lostBytes += sign * len;
        }
        if ((f & SACKED) != 0) {
            segsSacked += sign * pcount[j];
        }
    }

    private static int segments(int len, int segment) {
        return Math.max(1, (len + segment - 1) / segment);
    }

    private static int roundUp(int len, int segment) {
        int r = len % segment;
        return r == 0 ? len : len + segment - r;
    }
}
