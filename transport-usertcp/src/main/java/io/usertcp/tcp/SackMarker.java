package io.usertcp.tcp;

import static io.usertcp.tcp.SegmentRecords.LOST;
import static io.usertcp.tcp.SegmentRecords.SACKED;

/**
 * Applies the {@link SackScoreboard}'s ranges to the {@link SegmentRecords}: marks SACKed what they cover, in
 * whole wire segments, and hands each newly SACKed entry to RACK (RFC 8985 §6.2 steps 2 and 3). The peer
 * chooses the blocks, so the work is bounded (the "SACK panic" class, CVE-2019-11477 and CVE-2019-11478): a
 * block edge inside a wire segment is rounded off, one ACK examines at most {@link #SACK_WORK_PER_ACK} entries
 * and splits at most {@link #SPLITS_PER_ACK}, the rest waits for the next ACK, and a split is refused at the
 * store's bound. A scoreboard that has not changed since it was last applied in full costs nothing.
 */
final class SackMarker {
    /** Most entries one ACK's SACK blocks may examine; the rest is examined on the next ACK. */
    static final int SACK_WORK_PER_ACK = 256;
    /** Most entries one ACK's SACK blocks may split. */
    static final int SPLITS_PER_ACK = 8;

    private final SegmentRecords records;
    private final RackLossDetector detector;
    private final int maxEntries;

    private int sackVersion = -1;   // the scoreboard version last applied
    private boolean sackDeferred;   // the last ACK's budget ran out: examine the scoreboard again
    private long sackWorkDeferred;  // handed out by takeWorkDeferred
    private long sackRoundedOff;    // handed out by takeRoundedOff

    SackMarker(SegmentRecords records, RackLossDetector detector, int maxEntries) {
        this.records = records;
        this.detector = detector;
        this.maxEntries = maxEntries;
    }

    /** The scoreboard was forgotten (RFC 2018 §8): the next {@link #apply} examines it whatever its version. */
    void forget() {
        sackVersion = -1;
    }

    /** The scoreboard version last applied (-1: none, or forgotten). */
    int version() {
        return sackVersion;
    }

    /** Whether the last ACK's budget ran out before the scoreboard was applied in full. */
    boolean deferred() {
        return sackDeferred;
    }

    /** A new flight after the state was pooled ({@link RackState}): where the scoreboard was left. */
    void resume(int version, boolean deferred) {
        sackVersion = version;
        sackDeferred = deferred;
        sackWorkDeferred = 0;
        sackRoundedOff = 0;
    }

    /** ACKs whose SACK work was cut short by a budget, since the last call. */
    long takeWorkDeferred() {
        long r = sackWorkDeferred;
        sackWorkDeferred = 0;
        return r;
    }

    /** Entries a SACK block covered less than a wire segment of, since the last call. */
    long takeRoundedOff() {
        long r = sackRoundedOff;
        sackRoundedOff = 0;
        return r;
    }

    /**
     * Marks SACKed what the scoreboard's ranges cover, in whole wire segments, within this ACK's budget. Does
     * nothing when the scoreboard has not changed since it was last applied in full.
     */
    void apply(SackScoreboard sb, long now) {
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
            int i = records.find(s);
            for (; i < records.size() && records.start(i) - e < 0; i++) {
                if (records.is(i, SACKED)) {
                    records.addWork(1);
                    continue;
                }
                if (--budget < 0) {
                    sackDeferred = true;
                    sackWorkDeferred++;
                    break ranges;
                }
                records.addWork(1);
                int a = records.start(i);
                int b = records.end(i);
                int g = records.segment(i);
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
                    if (!records.room(maxEntries - need + 1)) {
                        continue; // at the bound: this entry stays unSACKed
                    }
                    splits -= need;
                    if (from != a) {
                        records.split(i, from);
                        i++;
                    }
                    if (to != b) {
                        records.split(i, to);
                    }
                }
                detector.onDelivered(i, records.end(i), now);
                records.setFlags(i, (records.flags(i) | SACKED) & ~LOST);
                detector.markDirty();
                if (lo < 0) {
                    lo = i;
                }
                hi = i;
            }
        }
        if (lo >= 0 && records.coalesce(lo - 1, hi + 1, false)) {
            detector.markDirty();
        }
    }

    private static int roundUp(int len, int segment) {
        int r = len % segment;
        return r == 0 ? len : len + segment - r;
    }
}
