package io.usertcp.tcp;

import io.usertcp.stats.StackStats;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/** RFC 2018 scoreboard bookkeeping, including sequence wrap-around (pipe is RackState's: RackStateTest). */
class SackScoreboardTest {
    private final SackScoreboard sb = new SackScoreboard();

    @Test
    void mergesOverlappingAndAdjacentBlocks() {
        int una = 1000;
        assertThat(sb.add(2000, 3000, una, 10_000)).isTrue();
        assertThat(sb.add(5000, 6000, una, 10_000)).isTrue();
        assertThat(sb.add(3000, 5000, una, 10_000)).isTrue(); // joins both
        assertThat(sb.sackedBytes()).isEqualTo(4000);
        assertThat(sb.rangeEnd(sb.ranges() - 1)).isEqualTo(6000);
        assertThat(sb.add(2500, 2600, una, 10_000)).isFalse(); // nothing new
        assertThat(sb.skipSacked(2100)).isEqualTo(6000);
        assertThat(sb.skipSacked(1500)).isEqualTo(1500);
        assertThat(sb.holeEnd(1000, 10_000)).isEqualTo(2000);
    }

    @Test
    void ignoresBlocksOutsideTheWindow() {
        assertThat(sb.add(500, 900, 1000, 10_000)).isFalse();  // below SND.UNA
        assertThat(sb.add(9000, 11_000, 1000, 10_000)).isFalse(); // beyond SND.MAX
        assertThat(sb.add(3000, 3000, 1000, 10_000)).isFalse(); // empty
        assertThat(sb.isEmpty()).isTrue();
    }

    @Test
    void advanceDropsAndTrimsAcknowledgedRanges() {
        sb.add(2000, 3000, 1000, 10_000);
        sb.add(4000, 5000, 1000, 10_000);
        sb.advance(2500);
        assertThat(sb.sackedBytes()).isEqualTo(1500);
        sb.advance(3500);
        assertThat(sb.sackedBytes()).isEqualTo(1000);
        sb.advance(5000);
        assertThat(sb.isEmpty()).isTrue();
    }

    @Test
    void worksAcrossSequenceWrap() {
        int una = -2000; // 0xFFFFF830
        assertThat(sb.add(-1000, 500, una, 5000)).isTrue();
        assertThat(sb.sackedBytes()).isEqualTo(1500);
        assertThat(sb.skipSacked(-500)).isEqualTo(500);
        sb.advance(0);
        assertThat(sb.sackedBytes()).isEqualTo(500);
    }

    @Test
    void aFullScoreboardIgnoresAndCountsNewRangesAndLookupsFindTheRightOne() {
        StackStats stats = new StackStats();
        int una = 0;
        for (int k = 0; k < 40; k++) {
            sb.add(1000 + 100 * k, 1050 + 100 * k, una, 100_000, stats); // every other 50 bytes
        }
        assertThat(sb.ranges()).isEqualTo(SackScoreboard.MAX_RANGES);
        assertThat(stats.tcpSackBlocksIgnored).isEqualTo(40 - SackScoreboard.MAX_RANGES);
        for (int k = 0; k < SackScoreboard.MAX_RANGES; k++) {
            int s = 1000 + 100 * k;
            assertThat(sb.skipSacked(s)).isEqualTo(s + 50);
            assertThat(sb.skipSacked(s + 49)).isEqualTo(s + 50);
            assertThat(sb.skipSacked(s + 50)).isEqualTo(s + 50);
            assertThat(sb.skipSacked(s - 1)).isEqualTo(s - 1);
            assertThat(sb.holeEnd(s + 50, 100_000)).isEqualTo(k + 1 < SackScoreboard.MAX_RANGES ? s + 100 : 100_000);
            assertThat(sb.holeEnd(s + 10, 100_000)).isEqualTo(k + 1 < SackScoreboard.MAX_RANGES ? s + 100 : 100_000);
            assertThat(sb.holeEnd(s - 30, s - 10)).isEqualTo(s - 10);
        }
        // Growing an existing range still works when full, and changes the version; a repeat does not.
        int v = sb.version();
        assertThat(sb.add(1000, 1060, una, 100_000, stats)).isTrue();
        assertThat(sb.version()).isNotEqualTo(v);
        v = sb.version();
        assertThat(sb.add(1000, 1060, una, 100_000, stats)).isFalse();
        assertThat(sb.version()).isEqualTo(v);
    }
}
