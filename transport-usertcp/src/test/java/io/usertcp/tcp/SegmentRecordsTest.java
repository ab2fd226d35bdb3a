package io.usertcp.tcp;

import org.junit.jupiter.api.Test;

import static io.usertcp.tcp.SegmentRecords.LOST;
import static io.usertcp.tcp.SegmentRecords.RETRANSMITTED;
import static io.usertcp.tcp.SegmentRecords.SACKED;
import static org.assertj.core.api.Assertions.assertThat;

/** The per-segment store of RACK alone: append, split, merge, flags and sums, binary search, bounds, capacity. */
class SegmentRecordsTest {
    private static final int MSS = 1000;

    private final SegmentRecords r = new SegmentRecords();

    /** Appends {@code count} entries of one segment each, each at its own time, from {@code seq}. */
    private int appendSegments(int seq, int count) {
        for (int k = 0; k < count; k++) {
            r.append(seq, seq + MSS, MSS, k + 1);
            seq += MSS;
        }
        return seq;
    }

    @Test
    void oneBurstIsOneEntryAndAnotherTimeOrGridIsNot() {
        r.append(0, 2000, MSS, 5);
        r.append(2000, 4000, MSS, 5); // same time, same grid: extends the entry
        assertThat(r.size()).isEqualTo(1);
        assertThat(r.end(0)).isEqualTo(4000);
        assertThat(r.segments(0)).isEqualTo(4);
        r.append(4000, 5000, MSS, 6); // later
        r.append(5000, 5500, 500, 6); // other grid
        assertThat(r.size()).isEqualTo(3);
        assertThat(r.pipeBytes()).isEqualTo(5500);
    }

    @Test
    void splitKeepsTheSumsAndSharesTheSegments() {
        r.append(0, 4000, MSS, 7);
        r.setFlags(0, SACKED);
        assertThat(r.segsSacked()).isEqualTo(4);
        r.split(0, 1000);
        assertThat(r.size()).isEqualTo(2);
        assertThat(r.end(0)).isEqualTo(1000);
        assertThat(r.start(1)).isEqualTo(1000);
        assertThat(r.end(1)).isEqualTo(4000);
        assertThat(r.segments(0)).isEqualTo(1);
        assertThat(r.segments(1)).isEqualTo(3);
        assertThat(r.xmitTs(1)).isEqualTo(7);
        assertThat(r.is(1, SACKED)).isTrue();
        assertThat(r.segsSacked()).isEqualTo(4);
        assertThat(r.pipeBytes()).isZero();
    }

    @Test
    void flagsMoveBytesBetweenPipeLostAndSacked() {
        appendSegments(0, 3);
        assertThat(r.pipeBytes()).isEqualTo(3000);
        r.setFlags(1, LOST);
        assertThat(r.pipeBytes()).isEqualTo(2000);
        assertThat(r.lostBytes()).isEqualTo(1000);
        assertThat(r.firstLost()).isEqualTo(1);
        r.setFlags(2, SACKED);
        assertThat(r.pipeBytes()).isEqualTo(1000);
        assertThat(r.segsSacked()).isEqualTo(1);
        r.setFlags(1, RETRANSMITTED); // resent: in flight again, no longer lost
        assertThat(r.lostBytes()).isZero();
        assertThat(r.firstLost()).isEqualTo(-1);
        assertThat(r.pipeBytes()).isEqualTo(2000);
    }

    @Test
    void strictMergeJoinsSackedNeighboursButNotLostOnesOrOtherTimes() {
        appendSegments(0, 5); // five entries, each at its own time
        r.setFlags(0, SACKED);
        r.setFlags(1, SACKED);
        r.setFlags(3, LOST);
        r.setFlags(4, LOST);
        assertThat(r.coalesce(0, 4, false)).as("the merged pair took the later time").isTrue();
        assertThat(r.size()).isEqualTo(4); // the SACKed pair merged; in flight and lost entries stayed
        assertThat(r.end(0)).isEqualTo(2000);
        assertThat(r.xmitTs(0)).isEqualTo(2);
        assertThat(r.segments(0)).isEqualTo(2);
        assertThat(r.segsSacked()).isEqualTo(2);
        assertThat(r.is(1, LOST)).isFalse();
        assertThat(r.is(2, LOST)).isTrue();
        assertThat(r.start(2)).isEqualTo(3000);
        assertThat(r.start(3)).isEqualTo(4000);
        assertThat(r.lostBytes()).isEqualTo(2000);
    }

    @Test
    void coarseMergeJoinsEntriesOfOneKindKeepingTheLaterTime() {
        int end = appendSegments(0, 4);
        assertThat(r.coalesce(0, 3, true)).as("a later transmit time was taken over").isTrue();
        assertThat(r.size()).isEqualTo(1);
        assertThat(r.end(0)).isEqualTo(end);
        assertThat(r.xmitTs(0)).isEqualTo(4);
        assertThat(r.pipeBytes()).isEqualTo(4000);
    }

    @Test
    void findIsABinarySearchInSequenceSpaceThatWraps() {
        int base = -5 * MSS; // the entries cross 2^32
        appendSegments(base, 10);
        for (int k = 0; k < 10; k++) {
            int s = base + k * MSS;
            assertThat(r.indexOf(s)).isEqualTo(k);
            assertThat(r.indexOf(s + MSS - 1)).isEqualTo(k);
        }
        assertThat(r.indexOf(base - 1)).isEqualTo(-1);
        assertThat(r.indexOf(base + 10 * MSS)).isEqualTo(-1);
        assertThat(r.find(base + 10 * MSS)).isEqualTo(10);
        appendSegments(base + 10 * MSS, 1000);
        long before = r.work();
        assertThat(r.indexOf(base + 700 * MSS + 5)).isEqualTo(700);
        assertThat(r.work() - before).as("steps of a binary search over 1010 entries").isLessThanOrEqualTo(11);
    }

    @Test
    void roomRefusesAtTheLimitAndCountsIt() {
        appendSegments(0, 16);
        assertThat(r.room(17)).isTrue();
        assertThat(r.room(16)).isFalse();
        assertThat(r.room(10)).isFalse();
        assertThat(r.takeRefused()).isTrue();
        assertThat(r.takeRefused()).isFalse();
        assertThat(r.takeSplitsRefused()).isEqualTo(2);
        assertThat(r.takeSplitsRefused()).isZero();
    }

    @Test
    void removalAndTrimKeepTheRestAndTheSums() {
        appendSegments(0, 4);
        r.setFlags(3, SACKED);
        r.removeFirst(2);
        assertThat(r.size()).isEqualTo(2);
        assertThat(r.start(0)).isEqualTo(2000);
        r.trimFront(2400);
        assertThat(r.start(0)).isEqualTo(2400);
        assertThat(r.pipeBytes()).isEqualTo(600);
        assertThat(r.segsSacked()).isEqualTo(1);
        r.removeFirst(2);
        assertThat(r.size()).isZero();
        assertThat(r.pipeBytes()).isZero();
        assertThat(r.segsSacked()).isZero();
    }

    @Test
    void arraysGrowThenShrinkBackWhenTheFlightEmpties() {
        int end = appendSegments(0, 800);
        assertThat(r.capacity()).isEqualTo(1024);
        // Splits near the front take the free slots before the entries, then more arrays.
        for (int k = 0; k < 300; k++) {
            r.split(2 * k, k * MSS + 500); // the first k segments are two entries each by now
        }
        assertThat(r.size()).isEqualTo(1100);
        assertThat(r.capacity()).isEqualTo(2048);
        assertThat(r.start(1)).isEqualTo(500);
        assertThat(r.end(599)).isEqualTo(300 * MSS);
        assertThat(r.start(600)).isEqualTo(300 * MSS);
        r.removeFirst(1100);
        assertThat(r.capacity()).isEqualTo(SegmentSlots.INITIAL_CAPACITY);
        appendSegments(end, 3);
        assertThat(r.size()).isEqualTo(3);
        assertThat(r.start(0)).isEqualTo(end);
        assertThat(r.pipeBytes()).isEqualTo(3 * MSS);
    }

    @Test
    void arraysShrinkToAQuarterWhenTheFlightFallsFarBelowThem() {
        appendSegments(0, 800);
        assertThat(r.capacity()).isEqualTo(1024);
        r.removeFirst(700);
        assertThat(r.capacity()).as("100 entries are more than a sixteenth").isEqualTo(1024);
        r.removeFirst(40);
        assertThat(r.capacity()).isEqualTo(256);
        assertThat(r.size()).isEqualTo(60);
        for (int k = 0; k < 60; k++) {
            assertThat(r.start(k)).isEqualTo((740 + k) * MSS);
            assertThat(r.xmitTs(k)).isEqualTo(741 + k);
        }
        assertThat(r.pipeBytes()).isEqualTo(60 * MSS);
        r.removeFirst(60);
        assertThat(r.capacity()).as("256 is not above the shrink threshold").isEqualTo(256);
    }

    @Test
    void arraysThatNeverGrewAreNeverReplacedAndSteadyStateAllocatesNothing() {
        int seq = appendSegments(0, 20); // the first flight of 20 grows the arrays from the initial few slots, once
        r.removeFirst(20);
        int[] initial = r.start;
        assertThat(r.capacity()).isEqualTo(32);
        for (int round = 0; round < 1000; round++) {
            seq = appendSegments(seq, 20);
            r.removeFirst(20);
        }
        assertThat(r.start).isSameAs(initial);
        // Grown once to 512 by a burst, then a steady flight of 40 entries keeps the arrays it has.
        seq = appendSegments(seq, 300);
        int[] grown = r.start;
        assertThat(r.capacity()).isEqualTo(512);
        r.removeFirst(260);
        for (int round = 0; round < 1000; round++) {
            seq = appendSegments(seq, 20);
            r.removeFirst(20);
        }
        assertThat(r.start).isSameAs(grown);
        r.clear();
        assertThat(r.capacity()).isEqualTo(SegmentSlots.INITIAL_CAPACITY);
    }
}
