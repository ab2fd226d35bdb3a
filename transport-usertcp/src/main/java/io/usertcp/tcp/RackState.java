package io.usertcp.tcp;

import io.usertcp.stats.StackStats;

/**
 * RACK loss detection (RFC 8985 §6) for one SACK connection, the facade {@link TcpConnection} uses: the
 * sent-but-unacknowledged data in sequence order, as entries with their last transmit time and whether they
 * were retransmitted, SACKed or marked lost (§5.2, "per segment state", kept by {@link SegmentRecords}), the
 * RACK variables and the loss scan (§6.1, §6.2, {@link RackLossDetector}, {@link ReorderingWindow}), and the
 * marking of SACKed entries ({@link SackMarker}). This class records transmissions, removes what is
 * cumulatively acknowledged, and keeps the entries within their bound.
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
 *   <li>an ACK marks at most {@link SackMarker#SACK_WORK_PER_ACK} entries (256) and makes at most
 *       {@link SackMarker#SPLITS_PER_ACK} splits (8); the rest waits for the next ACK
 *       ({@code StackStats.tcpSackWorkDeferred}).</li>
 * </ul>
 * The arrays grow when needed and are reused, so steady state allocates nothing; once grown, they shrink when
 * the flight empties or falls far below them. Sequence numbers compare by the sign of their difference
 * (RFC 1982).
 */
final class RackState {
    static final int RETRANSMITTED = SegmentRecords.RETRANSMITTED;
    static final int SACKED = SegmentRecords.SACKED;
    static final int LOST = SegmentRecords.LOST;
    /** Default bound on the entries SACK blocks may split the data in flight into. */
    static final int DEFAULT_MAX_ENTRIES = 1024;
    /** Most entries one ACK's SACK blocks may examine; the rest is examined on the next ACK. */
    static final int SACK_WORK_PER_ACK = SackMarker.SACK_WORK_PER_ACK;
    /** Most entries one ACK's SACK blocks may split. */
    static final int SPLITS_PER_ACK = SackMarker.SPLITS_PER_ACK;

    private final int maxEntries;
    private final SegmentRecords records = new SegmentRecords();
    private final RackLossDetector detector = new RackLossDetector(records);
    private final SackMarker marker;

    private boolean coarsened; // entries were merged coarsely at the bound and have not fallen far below it

    RackState() {
        this(DEFAULT_MAX_ENTRIES);
    }

    /** @param maxEntries the bound on entries SACK blocks may split the data in flight into (at least 16) */
    RackState(int maxEntries) {
        if (maxEntries < 16) {
            throw new IllegalArgumentException("maxEntries " + maxEntries + " < 16: use at least 16");
        }
        this.maxEntries = maxEntries;
        this.marker = new SackMarker(records, detector, maxEntries);
    }

    /** Entries held. */
    int size() {
        return records.size();
    }

    int start(int i) {
        return records.start(i);
    }

    int end(int i) {
        return records.end(i);
    }

    long xmitTs(int i) {
        return records.xmitTs(i);
    }

    boolean is(int i, int flag) {
        return records.is(i, flag);
    }

    /** Index of the entry holding {@code seq}, or -1. */
    int indexOf(int seq) {
        return records.indexOf(seq);
    }

    /** Slots the entry arrays hold now (they grow with the flight and shrink after it). */
    int capacity() {
        return records.capacity();
    }

    long rackRtt() {
        return detector.rackRtt();
    }

    long reoWnd() {
        return detector.reoWnd();
    }

    boolean reorderingSeen() {
        return detector.reorderingSeen();
    }

    /** Entries examined, split, merged or moved so far: a measure of work that does not depend on timing. */
    long work() {
        return records.work();
    }

    /** True while some segment is marked lost and not yet retransmitted. */
    boolean hasLost() {
        return records.lostBytes() > 0;
    }

    /** Forgets all segments (the connection is done with them). */
    void clear() {
        records.clear();
        records.takeRefused();
        detector.onClear();
        coarsened = false;
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
        int n = records.size();
        if (n > 0) {
            if (s - records.start(0) < 0) {
                s = records.start(0); // below SND.UNA: nothing to record
                if (e - s <= 0) {
                    return;
                }
            }
            int tail = records.end(n - 1);
            if (s - tail < 0) {
                int stop = e - tail < 0 ? e : tail;
                retransmitted(s, stop, segment, now);
                s = stop;
            }
        }
        if (e - s > 0) {
            records.append(s, e, segment, now);
        }
    }

    /** [s, stop) was sent again at {@code now}: it lies within the entries. */
    private void retransmitted(int s, int stop, int segment, long now) {
        coarsenAtBound();
        int i = records.find(s);
        if (i == records.size()) {
            return;
        }
        int first = i;
        if (records.start(i) - s < 0 && records.room(2 * maxEntries)) {
            records.split(i, s);
            i++;
            first = i;
        }
        for (; i < records.size() && records.start(i) - stop < 0; i++) {
            records.addWork(1);
            if (records.end(i) - stop > 0 && records.room(2 * maxEntries)) {
                records.split(i, stop);
            }
            boolean exact = records.start(i) - s >= 0 && records.end(i) - stop <= 0;
            int f = records.flags(i);
            if ((f & (SACKED | LOST)) == 0) {
                detector.markDirty(); // it was in flight: it may have been waiting to count as lost
            }
            records.setFlags(i, (f | RETRANSMITTED) & ~LOST);
            if (exact) {
                records.regrid(i, segment); // sent anew in segments of this size
            }
            records.xmitTs(i, now);
            detector.onRetransmitted(records.end(i));
        }
        if (records.coalesce(first - 1, i, false)) {
            detector.markDirty();
        }
    }

    // ------------------------------------------------------------------ acknowledgments

    /** An RTT sample from the connection's estimator: RACK.min_RTT is the smallest (RFC 8985 §6.1). */
    void onRttSample(long rtt) {
        detector.onRttSample(rtt);
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
        while (delivered < records.size() && records.end(delivered) - una <= 0) {
            records.addWork(1);
            if (!records.is(delivered, SACKED)) {
                detector.onDelivered(delivered, records.end(delivered), now);
            }
            delivered++;
        }
        if (delivered > 0) {
            records.removeFirst(delivered);
            detector.markDirty();
        }
        if (records.size() > 0 && records.start(0) - una < 0) {
            if (!records.is(0, SACKED)) {
                detector.onDelivered(0, una, now); // the acknowledged part of the entry was delivered
            }
            records.trimFront(una);
        }
        detector.onUna(una);
        if (records.size() < maxEntries * 3 / 4) {
            coarsened = false;
        }
        coarsenAtBound();
        marker.apply(sb, now);
        long splitsRefused = records.takeSplitsRefused();
        long workDeferred = marker.takeWorkDeferred();
        long roundedOff = marker.takeRoundedOff();
        if (stats != null) {
            stats.tcpRackSplitsRefused += splitsRefused;
            stats.tcpSackWorkDeferred += workDeferred;
            stats.tcpSackRoundedOff += roundedOff;
        }
    }

    // ------------------------------------------------------------------ reordering window and loss

    /**
     * RFC 8985 §6.2 step 4: the reordering window (see {@link ReorderingWindow}).
     *
     * @param dsack     the ACK carried a D-SACK (RFC 2883)
     * @param sndUna    SND.UNA after the ACK
     * @param sndNxt    SND.NXT (the highest sent)
     * @param recovering in fast recovery or after an RTO
     * @param srtt      the smoothed RTT, or -1
     */
    void updateReoWnd(boolean dsack, int sndUna, int sndNxt, boolean recovering, long srtt) {
        detector.updateReoWnd(dsack, sndUna, sndNxt, recovering, srtt);
    }

    /** RFC 8985 §6.2 step 4: leaving fast or RTO recovery lets an enlarged reo_wnd decay. */
    void onRecoveryExit() {
        detector.onRecoveryExit();
    }

    /** RFC 8985 §6.2 step 5 and §6.3: see {@link RackLossDetector#detectLoss(long)}. */
    long detectLoss(long now) {
        return detector.detectLoss(now);
    }

    /** Index of the first entry marked lost and not SACKed (sequence order), or -1. */
    int firstLost() {
        return records.firstLost();
    }

    /**
     * Where a retransmission that starts at lost entry {@code i} ends: at most {@code limit} (the start plus
     * one SMSS); when the entry is shorter, the unSACKed entries that follow it and fit whole go along, so
     * slivers of state are resent in full segments (as Linux's {@code tcp_retrans_try_collapse}).
     */
    int retransmitEnd(int i, int limit) {
        int e = records.end(i);
        if (e - limit >= 0) {
            return limit;
        }
        for (int k = i + 1; k < records.size(); k++) {
            records.addWork(1);
            if (records.is(k, SACKED) || records.end(k) - limit > 0) {
                break;
            }
            e = records.end(k);
        }
        return e;
    }

    /**
     * RFC 6675 §4 "pipe" with RACK's notion of loss (RFC 8985 §6): the bytes of segments neither SACKed nor
     * marked lost. A retransmitted segment is in flight until it is SACKed or marked lost again, an original
     * marked lost is not.
     */
    int pipe() {
        return records.pipeBytes();
    }

    /** After a retransmission timeout the scoreboard is forgotten (RFC 2018 §8): so are the SACKed marks. */
    void onRetransmitTimeout() {
        int n = records.size();
        for (int i = 0; i < n; i++) {
            records.addWork(1);
            int f = records.flags(i);
            if ((f & SACKED) != 0) {
                records.setFlags(i, f & ~SACKED);
            }
        }
        records.coalesce(0, n - 1, false);
        marker.forget();
        detector.markDirty();
    }

    /**
     * After a split was refused, once until the entries fall well below the bound: merges adjacent entries of
     * the same kind (SACKed, lost, in flight) whatever their times and grids. (Run before a walk over the
     * entries, never inside one.)
     */
    private void coarsenAtBound() {
        if (records.takeRefused() && !coarsened) {
            coarsened = true;
            if (records.coalesce(0, records.size() - 1, true)) {
                detector.markDirty();
            }
        }
    }
}
