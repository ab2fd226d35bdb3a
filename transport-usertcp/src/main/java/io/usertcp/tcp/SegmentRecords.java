package io.usertcp.tcp;

/**
 * The per-segment state of RACK (RFC 8985 §5.2): the sent-but-unacknowledged data in sequence order, as
 * entries with their last transmit time ("Segment.xmit_ts"), the wire segment size they were sent in (their
 * SACK grid), how many wire segments they stand for, and whether they were retransmitted, SACKed or marked
 * lost. Entries are contiguous and disjoint.
 *
 * <p>The store keeps running sums (pipe, lost bytes, RACK.segs_sacked) so that none of them needs a scan,
 * finds an entry by sequence number with a binary search, splits and merges entries, and bounds how many
 * entries splits may make ({@link #room(int)} counts a refusal). Removal of acknowledged entries costs no copy.
 *
 * <p>Where the entries sit, and the growth and shrinking of their arrays, is {@link SegmentSlots}'s job.
 * Sequence numbers compare by the sign of their difference (RFC 1982). Indices {@code i} in the API count from
 * the first entry (SND.UNA).
 */
final class SegmentRecords extends SegmentSlots {
    static final int RETRANSMITTED = 1;
    static final int SACKED = 2;
    static final int LOST = 4;

    // Running sums over the entries.
    private int pipeBytes;   // neither SACKed nor lost (RFC 6675 pipe with RACK's losses)
    private int lostBytes;   // lost and not yet retransmitted
    private int segsSacked;  // RACK.segs_sacked
    private int lostFloor;   // no entry ending at or below this is lost (valid while lostBytes > 0)

    private long splitsRefused; // handed out by takeSplitsRefused
    private boolean refused;    // a split was refused since the last takeRefused

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

    /** The wire segment size entry {@code i} was last sent in. */
    int segment(int i) {
        return seg[off + i];
    }

    /** The wire segments entry {@code i} stands for. */
    int segments(int i) {
        return pcount[off + i];
    }

    long xmitTs(int i) {
        return xmitTs[off + i];
    }

    void xmitTs(int i, long t) {
        xmitTs[off + i] = t;
    }

    int flags(int i) {
        return flags[off + i];
    }

    boolean is(int i, int flag) {
        return (flags[off + i] & flag) != 0;
    }

    /** RFC 6675 §4 pipe with RACK's losses: bytes neither SACKed nor marked lost. */
    int pipeBytes() {
        return pipeBytes;
    }

    /** Bytes marked lost and not yet retransmitted. */
    int lostBytes() {
        return lostBytes;
    }

    /** RACK.segs_sacked: the wire segments of SACKed entries. */
    int segsSacked() {
        return segsSacked;
    }

    /** Splits refused at the bound since the last call. */
    long takeSplitsRefused() {
        long r = splitsRefused;
        splitsRefused = 0;
        return r;
    }

    /** Whether a split was refused since the last call. */
    boolean takeRefused() {
        boolean r = refused;
        refused = false;
        return r;
    }

    /** Forgets all entries; arrays that grew beyond {@link #SHRINK_ABOVE} go back to the initial capacity. */
    void clear() {
        n = 0;
        off = 0;
        pipeBytes = 0;
        lostBytes = 0;
        segsSacked = 0;
        shrinkIfOversized();
    }

    /** Index of the first entry that ends after {@code seq} ({@link #size()} if none): a binary search. */
    int find(int seq) {
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

    /** Index of the entry holding {@code seq}, or -1. */
    int indexOf(int seq) {
        int i = find(seq);
        return i < n && start(i) - seq <= 0 ? i : -1;
    }

    /** Index of the first entry marked lost (sequence order), or -1. */
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

    /** Whether a split fits under {@code limit} entries; counts the refusal if not. */
    boolean room(int limit) {
        if (n < limit) {
            return true;
        }
        splitsRefused++;
        refused = true;
        return false;
    }

    // ------------------------------------------------------------------ adding and removing

    /**
     * Appends [{@code s}, {@code e}), new data sent at {@code now} in segments of {@code segment} bytes, after
     * the last entry. It extends the last entry instead when that one is in flight, was sent at the same time
     * on the same segment grid and ends on it (one burst).
     */
    void append(int s, int e, int segment, long now) {
        if (n > 0) {
            int t = off + n - 1;
            boolean inFlight = (flags[t] & (SACKED | LOST)) == 0;
            if (end[t] == s && inFlight && flags[t] == 0 && xmitTs[t] == now && seg[t] == segment
                    && (end[t] - start[t]) % segment == 0) {
                account(t, -1);
                pcount[t] += segments(e - end[t], segment);
                end[t] = e;
                account(t, 1);
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

    /** Entry {@code i} goes out again in segments of {@code segment} bytes: its grid and segment count follow. */
    void regrid(int i, int segment) {
        int j = off + i;
        account(j, -1);
        seg[j] = segment;
        pcount[j] = segments(end[j] - start[j], segment);
        account(j, 1);
    }

    /**
     * Removes the first {@code count} entries (acknowledged), without a copy. Once the flight is empty, or far
     * smaller than arrays that grew, the arrays shrink.
     */
    void removeFirst(int count) {
        for (int i = 0; i < count; i++) {
            account(off + i, -1);
        }
        off += count; // no copy: the arrays are compacted when the end is reached
        n -= count;
        if (n == 0) {
            off = 0;
        }
        shrinkIfOversized();
    }

    /** The first entry is acknowledged below {@code una} (inside it): it starts there now. */
    void trimFront(int una) {
        int j = off;
        account(j, -1);
        start[j] = una; // partly acknowledged: the rest is still outstanding
        pcount[j] = Math.min(pcount[j], segments(end[j] - una, seg[j]));
        account(j, 1);
    }

    /** Sets the flags of entry {@code i}, keeping the running sums. */
    void setFlags(int i, int f) {
        int j = off + i;
        account(j, -1);
        flags[j] = (byte) f;
        account(j, 1);
        if ((f & LOST) != 0 && (lostBytes == end[j] - start[j] || start[j] - lostFloor < 0)) {
            lostFloor = start[j];
        }
    }

    // ------------------------------------------------------------------ split and merge

    /** Splits entry {@code i} at {@code seq} (strictly inside it): entry i ends there, entry i + 1 starts there. */
    void split(int i, int seq) {
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
     * Merges what can be merged among entries {@code from} .. {@code to} (clamped), then closes the gap with
     * one move. Strict merging keeps every decision RACK could take; coarse merging (at the bound) joins
     * entries of the same kind (SACKed, lost, in flight) and keeps the later transmit time.
     *
     * @return whether a merge raised an entry's transmit time (a loss verdict may have moved)
     */
    boolean coalesce(int from, int to, boolean coarse) {
        if (from < 0) {
            from = 0;
        }
        if (to > n - 1) {
            to = n - 1;
        }
        if (to <= from) {
            return false;
        }
        boolean raised = false;
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
                    raised = true;
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
        return raised;
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

    static int segments(int len, int segment) {
        return Math.max(1, (len + segment - 1) / segment);
    }
}
