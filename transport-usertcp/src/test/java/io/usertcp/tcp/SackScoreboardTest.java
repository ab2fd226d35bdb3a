package io.usertcp.tcp;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/** RFC 2018 / RFC 6675 scoreboard bookkeeping, including sequence wrap-around. */
class SackScoreboardTest {
    private final SackScoreboard sb = new SackScoreboard();

    @Test
    void mergesOverlappingAndAdjacentBlocks() {
        int una = 1000;
        assertThat(sb.add(2000, 3000, una, 10_000)).isTrue();
        assertThat(sb.add(5000, 6000, una, 10_000)).isTrue();
        assertThat(sb.add(3000, 5000, una, 10_000)).isTrue(); // joins both
        assertThat(sb.sackedBytes()).isEqualTo(4000);
        assertThat(sb.highest()).isEqualTo(6000);
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
    void pipeCountsLostHolesOnlyWhenRetransmitted() {
        int una = 0;
        int mss = 1000;
        sb.add(1000, 4000, una, 10_000); // 3000 SACKed above the hole 0..1000 => lost
        // Hole 0..1000 lost and not retransmitted: not in flight. 4000..10000 in flight.
        assertThat(sb.pipe(0, 10_000, 0, 2 * mss)).isEqualTo(6000);
        // After retransmitting 0..1000 it is in flight again.
        assertThat(sb.pipe(0, 10_000, 1000, 2 * mss)).isEqualTo(7000);
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
}
