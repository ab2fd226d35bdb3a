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
 *
 * <p>A connection's RACK state lives in two parts (issue #12: at most 2 KiB of heap per idle connection): what
 * outlives a flight stays here (RACK.min_RTT, RACK.reordering_seen, the reordering window's multiplier and its
 * persistence, the scoreboard version applied, whether entries were coarsened), and what only a flight needs (the
 * records, the loss detector's RACK.xmit_ts, RACK.fack and scan state, the marker) is a {@link RackFlight} taken
 * from the stack's {@link RackFlightPool} on the first transmission and given back when an ACK leaves no entry (or
 * at {@link #clear()}). While there is no flight every query answers as an empty one would, and an ACK only
 * notes the scoreboard version, as the marker would. Without a pool (tests) the flight is made once and kept.
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
    private final RackFlightPool pool; // null: the flight is this connection's for good
    private RackFlight flight;         // null while nothing is recorded (with a pool)

    private boolean coarsened; // entries were merged coarsely at the bound and have not fallen far below it

    // What outlives a flight, kept here while there is none (the flight's own copies are current while it lasts).
    private long minRtt = -1;          // RACK.min_RTT
    private boolean reorderingSeen;    // RACK.reordering_seen
    private int reoWndMult = 1;        // RACK.reo_wnd_mult
    private int reoWndPersist;         // RACK.reo_wnd_persist
    private int sackVersion = -1;      // the scoreboard version last applied
    private boolean sackDeferred;      // the last ACK's budget ran out
    private long work;                 // SegmentRecords.work of the flights so far

    RackState() {
        this(DEFAULT_MAX_ENTRIES);
    }

    /** @param maxEntries the bound on entries SACK blocks may split the data in flight into (at least 16) */
    RackState(int maxEntries) {
        if (maxEntries < 16) {
            throw new IllegalArgumentException("maxEntries " + maxEntries + " < 16: use at least 16");
        }
        this.maxEntries = maxEntries;
        this.pool = null;
        this.flight = new RackFlight(maxEntries);
    }

    /** A connection's RACK state, whose flight state comes from {@code pool} and goes back to it (see above). */
    RackState(RackFlightPool pool) {
        this.maxEntries = pool.maxEntries();
        this.pool = pool;
    }

    /** The flight, taken from the pool (and resumed with what outlived the last one) if there is none. */
    private RackFlight flight() {
        RackFlight f = flight;
        if (f == null) {
            f = flight = pool.take();
            f.records.work = work;
            f.detector.resume(minRtt, reorderingSeen, reoWndMult, reoWndPersist);
            f.marker.resume(sackVersion, sackDeferred);
        }
        return f;
    }

    /** With a pool: once no entry is left, keeps what outlives the flight and gives the flight back. */
    private void releaseIfEmpty() {
        RackFlight f = flight;
        if (pool == null || f == null || f.records.size() > 0) {
            return;
        }
        work = f.records.work;
        minRtt = f.detector.minRtt();
        reorderingSeen = f.detector.reorderingSeen();
        reoWndMult = f.detector.reoWndMult();
        reoWndPersist = f.detector.reoWndPersist();
        sackVersion = f.marker.version();
        sackDeferred = f.marker.deferred();
        f.records.clear();
        f.records.takeRefused();
        f.records.takeSplitsRefused();
        flight = null;
        pool.give(f);
    }

    /** Whether a flight is held now (with a pool: while something is recorded). */
    boolean holdsFlight() {
        return flight != null;
    }

    /** Entries held. */
    int size() {
        RackFlight f = flight;
        return f == null ? 0 : f.records.size();
    }

    int start(int i) {
        return flight.records.start(i);
    }

    int end(int i) {
        return flight.records.end(i);
    }

    long xmitTs(int i) {
        return flight.records.xmitTs(i);
    }

    boolean is(int i, int flag) {
        return flight.records.is(i, flag);
    }

    /** Index of the entry holding {@code seq}, or -1. */
    int indexOf(int seq) {
        RackFlight f = flight;
        return f == null ? -1 : f.records.indexOf(seq);
    }

    /** Slots the entry arrays hold now (they grow with the flight and shrink after it). */
    int capacity() {
        RackFlight f = flight;
        return f == null ? 0 : f.records.capacity();
    }

    /** RACK.rtt of the current flight (0 without one). */
    long rackRtt() {
        RackFlight f = flight;
        return f == null ? 0 : f.detector.rackRtt();
    }

    /** RACK.reo_wnd as last worked out in the current flight (0 without one). */
    long reoWnd() {
        RackFlight f = flight;
        return f == null ? 0 : f.detector.reoWnd();
    }

    boolean reorderingSeen() {
        RackFlight f = flight;
        return f == null ? reorderingSeen : f.detector.reorderingSeen();
    }

    /** Entries examined, split, merged or moved so far: a measure of work that does not depend on timing. */
    long work() {
        RackFlight f = flight;
        return f == null ? work : f.records.work();
    }

    /** True while some segment is marked lost and not yet retransmitted. */
    boolean hasLost() {
        RackFlight f = flight;
        return f != null && f.records.lostBytes() > 0;
    }

    /** Forgets all segments (the connection is done with them). */
    void clear() {
        RackFlight f = flight;
        coarsened = false;
        if (f == null) {
            return;
        }
        f.records.clear();
        f.records.takeRefused();
        f.detector.onClear();
        releaseIfEmpty();
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
        SegmentRecords records = flight().records;
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
        SegmentRecords records = flight.records;
        RackLossDetector detector = flight.detector;
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
        RackFlight f = flight;
        if (f != null) {
            f.detector.onRttSample(rtt);
        } else if (rtt > 0 && (minRtt < 0 || rtt < minRtt)) {
            minRtt = rtt; // as RackLossDetector.onRttSample
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
        if (flight == null) {
            // No entries: nothing is delivered, nothing can be split, and the marker would only note the version.
            coarsened = false;
            if (sb.version() != sackVersion || sackDeferred) {
                sackVersion = sb.version();
                sackDeferred = false;
            }
            return;
        }
        SegmentRecords records = flight.records;
        RackLossDetector detector = flight.detector;
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
        SackMarker marker = flight.marker;
        marker.apply(sb, now);
        long splitsRefused = records.takeSplitsRefused();
        long workDeferred = marker.takeWorkDeferred();
        long roundedOff = marker.takeRoundedOff();
        if (stats != null) {
            stats.tcpRackSplitsRefused += splitsRefused;
            stats.tcpSackWorkDeferred += workDeferred;
            stats.tcpSackRoundedOff += roundedOff;
        }
        releaseIfEmpty();
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
        flight().detector.updateReoWnd(dsack, sndUna, sndNxt, recovering, srtt);
    }

    /** RFC 8985 §6.2 step 4: leaving fast or RTO recovery lets an enlarged reo_wnd decay. */
    void onRecoveryExit() {
        RackFlight f = flight;
        if (f != null) {
            f.detector.onRecoveryExit();
        } else if (--reoWndPersist <= 0) { // as ReorderingWindow.onRecoveryExit
            reoWndMult = 1;
            reoWndPersist = 0;
        }
    }

    /** RFC 8985 §6.2 step 5 and §6.3: see {@link RackLossDetector#detectLoss(long)}. */
    long detectLoss(long now) {
        RackFlight f = flight;
        return f == null ? 0 : f.detector.detectLoss(now); // no flight: nothing was delivered (RACK.xmit_ts unset)
    }

    /** Index of the first entry marked lost and not SACKed (sequence order), or -1. */
    int firstLost() {
        RackFlight f = flight;
        return f == null ? -1 : f.records.firstLost();
    }

    /**
     * Where a retransmission that starts at lost entry {@code i} ends: at most {@code limit} (the start plus
     * one SMSS); when the entry is shorter, the unSACKed entries that follow it and fit whole go along, so
     * slivers of state are resent in full segments (as Linux's {@code tcp_retrans_try_collapse}).
     */
    int retransmitEnd(int i, int limit) {
        SegmentRecords records = flight.records;
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
        RackFlight f = flight;
        return f == null ? 0 : f.records.pipeBytes();
    }

    /** After a retransmission timeout the scoreboard is forgotten (RFC 2018 §8): so are the SACKed marks. */
    void onRetransmitTimeout() {
        if (flight == null) {
            sackVersion = -1; // as SackMarker.forget
            return;
        }
        SegmentRecords records = flight.records;
        int n = records.size();
        for (int i = 0; i < n; i++) {
            records.addWork(1);
            int f = records.flags(i);
            if ((f & SACKED) != 0) {
                records.setFlags(i, f & ~SACKED);
            }
        }
        records.coalesce(0, n - 1, false);
        flight.marker.forget();
        flight.detector.markDirty();
    }

    /**
     * After a split was refused, once until the entries fall well below the bound: merges adjacent entries of
     * the same kind (SACKed, lost, in flight) whatever their times and grids. (Run before a walk over the
     * entries, never inside one.)
     */
    private void coarsenAtBound() {
        SegmentRecords records = flight.records;
        if (records.takeRefused() && !coarsened) {
            coarsened = true;
            if (records.coalesce(0, records.size() - 1, true)) {
                flight.detector.markDirty();
            }
        }
    }
}
