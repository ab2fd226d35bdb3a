package io.usertcp.tcp;

import org.junit.jupiter.api.Test;

import static io.usertcp.tcp.SegmentRecords.SACKED;
import static org.assertj.core.api.Assertions.assertThat;

/** Marking SACKed entries from the scoreboard alone: whole segments, per-ACK budgets, the entry bound. */
class SackMarkerTest {
    private static final long MS = 1_000_000L;
    private static final int MSS = 1000;

    private final SegmentRecords r = new SegmentRecords();
    private final RackLossDetector d = new RackLossDetector(r);
    private final SackScoreboard sb = new SackScoreboard();
    private int max;

    private SackMarker marker(int maxEntries) {
        return new SackMarker(r, d, maxEntries);
    }

    /** One entry of {@code segments} wire segments (one TSO burst). */
    private void burst(int segments) {
        r.append(max, max + segments * MSS, MSS, 0);
        max += segments * MSS;
    }

    @Test
    void aBlockSplitsAnEntryAtSegmentBoundariesOnly() {
        burst(10);
        SackMarker m = marker(1024);
        sb.add(2500, 5500, 0, max); // edges inside segments 2 and 5: those stay unSACKed
        m.apply(sb, 50 * MS);
        assertThat(r.size()).isEqualTo(3);
        assertThat(r.start(1)).isEqualTo(3000);
        assertThat(r.end(1)).isEqualTo(5000);
        assertThat(r.is(1, SACKED)).isTrue();
        assertThat(r.is(0, SACKED)).isFalse();
        assertThat(r.segsSacked()).isEqualTo(2);
        assertThat(d.rackRtt()).isEqualTo(50 * MS);
        assertThat(m.takeRoundedOff()).as("the block covers part of segment 5 only").isEqualTo(1);
        sb.add(9200, 9800, 0, max); // inside one segment: nothing to SACK
        m.apply(sb, 51 * MS);
        assertThat(r.size()).isEqualTo(3);
        assertThat(r.segsSacked()).isEqualTo(2);
        // Each pass counts every entry a block covers less than a segment of: segments 2 and 5 and 9.
        assertThat(m.takeRoundedOff()).isEqualTo(3);
    }

    @Test
    void anUnchangedScoreboardCostsNoWork() {
        burst(10);
        SackMarker m = marker(1024);
        sb.add(1000, 2000, 0, max);
        m.apply(sb, MS);
        long work = r.work();
        m.apply(sb, 2 * MS);
        assertThat(r.work()).isEqualTo(work);
        m.forget(); // after an RTO the scoreboard is examined again whatever its version
        m.apply(sb, 3 * MS);
        assertThat(r.work()).isGreaterThan(work);
    }

    @Test
    void oneAckSplitsAtMostEightTimesAndTheRestWaits() {
        burst(100);
        SackMarker m = marker(1024);
        for (int k = 0; k < 10; k++) {
            sb.add((10 * k + 1) * MSS, (10 * k + 2) * MSS, 0, max); // one segment in each ten
        }
        m.apply(sb, MS);
        assertThat(r.segsSacked()).as("four blocks of two splits each").isEqualTo(4);
        assertThat(m.takeWorkDeferred()).isEqualTo(1);
        m.apply(sb, 2 * MS); // the same scoreboard: the deferred rest goes on
        m.apply(sb, 3 * MS);
        assertThat(r.segsSacked()).isEqualTo(10);
        m.apply(sb, 4 * MS);
        assertThat(m.takeWorkDeferred()).as("the second ACK was cut short, the third was not").isEqualTo(1);
    }

    @Test
    void oneAckExaminesAtMostItsBudgetOfEntries() {
        for (int k = 0; k < 600; k++) {
            r.append(max, max + MSS, MSS, k); // 600 entries: each its own time
            max += MSS;
        }
        SackMarker m = marker(1024);
        sb.add(0 + MSS, 600 * MSS, 0, max);
        long work = r.work();
        m.apply(sb, MS * 1000);
        assertThat(r.segsSacked()).isEqualTo(SackMarker.SACK_WORK_PER_ACK);
        assertThat(r.work() - work).as("the SACKed entries were merged").isGreaterThan(2L * SackMarker.SACK_WORK_PER_ACK);
        assertThat(m.takeWorkDeferred()).isEqualTo(1);
        m.apply(sb, MS * 1000);
        m.apply(sb, MS * 1000);
        assertThat(r.segsSacked()).isEqualTo(599);
        assertThat(r.size()).as("the SACKed entries merged").isEqualTo(2);
    }

    @Test
    void atTheBoundAPartlySackedEntryStaysUnsacked() {
        for (int k = 0; k < 16; k++) {
            r.append(max, max + 4 * MSS, MSS, k);
            max += 4 * MSS;
        }
        SackMarker m = marker(16);
        sb.add(MSS, 2 * MSS, 0, max);
        sb.add(4 * MSS, 8 * MSS, 0, max); // a whole entry: needs no split
        m.apply(sb, MS);
        assertThat(r.is(0, SACKED)).isFalse();
        assertThat(r.size()).isEqualTo(16);
        assertThat(r.is(1, SACKED)).isTrue();
        assertThat(r.takeSplitsRefused()).isEqualTo(1);
    }
}
