package io.usertcp.tcp;

import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * RACK state whose flight part comes from a stack's {@link RackFlightPool} (issue #12): an idle connection holds no
 * flight, flights are reused, the pool is bounded, and a connection decides exactly as one that keeps its flight
 * for good.
 */
class RackFlightPoolTest {
    private static final long MS = 1_000_000L;
    private static final int MSS = 1000;

    @Test
    void theFlightGoesBackWhenEverythingIsAcknowledgedAndIsReused() {
        RackFlightPool pool = new RackFlightPool(RackState.DEFAULT_MAX_ENTRIES);
        RackState rack = new RackState(pool);
        SackScoreboard sb = new SackScoreboard();
        assertThat(rack.holdsFlight()).as("a new connection").isFalse();
        assertThat(rack.capacity()).isZero();
        rack.onTransmit(0, 3 * MSS, MSS, 0);
        assertThat(rack.holdsFlight()).isTrue();
        rack.onAck(2 * MSS, sb, 10 * MS);
        assertThat(rack.holdsFlight()).as("one segment still in flight").isTrue();
        rack.onAck(3 * MSS, sb, 11 * MS);
        assertThat(rack.holdsFlight()).as("all acknowledged").isFalse();
        assertThat(pool.size()).isEqualTo(1);
        rack.onTransmit(3 * MSS, 4 * MSS, 20 * MS);
        assertThat(pool.size()).as("the spare flight was taken").isZero();
        assertThat(rack.size()).isEqualTo(1);
        rack.clear();
        assertThat(rack.holdsFlight()).isFalse();
        assertThat(pool.size()).isEqualTo(1);
    }

    @Test
    void whatOutlivesAFlightIsKept() {
        RackState rack = new RackState(new RackFlightPool(RackState.DEFAULT_MAX_ENTRIES));
        SackScoreboard sb = new SackScoreboard();
        rack.onTransmit(0, 4 * MSS, MSS, 0);
        // The second segment is SACKed before the first is acknowledged, then the first arrives: a segment sent
        // earlier was delivered after one sent later, never retransmitted: reordering.
        sb.add(MSS, 2 * MSS, 0, 4 * MSS);
        rack.onAck(0, sb, 10 * MS);
        sb.advance(4 * MSS);
        rack.onAck(4 * MSS, sb, 11 * MS);
        assertThat(rack.holdsFlight()).isFalse();
        assertThat(rack.reorderingSeen()).isTrue();
        rack.onRttSample(3 * MS);
        rack.onTransmit(4 * MSS, 5 * MSS, MSS, 20 * MS);
        assertThat(rack.reorderingSeen()).as("after the flight was pooled and taken again").isTrue();
    }

    @Test
    void thePoolIsBounded() {
        RackFlightPool pool = new RackFlightPool(RackState.DEFAULT_MAX_ENTRIES);
        for (int i = 0; i < RackFlightPool.MAX_FLIGHTS + 10; i++) {
            pool.give(new RackFlight(RackState.DEFAULT_MAX_ENTRIES));
        }
        assertThat(pool.size()).isEqualTo(RackFlightPool.MAX_FLIGHTS);
        RackFlightPool bySlots = new RackFlightPool(RackState.DEFAULT_MAX_ENTRIES);
        int flights = 0;
        for (int i = 0; i < RackFlightPool.MAX_SLOTS / SegmentSlots.SHRINK_ABOVE + 5; i++) {
            RackFlight f = new RackFlight(RackState.DEFAULT_MAX_ENTRIES);
            for (int k = 0; k < 200; k++) {
                f.records.append(k * MSS, (k + 1) * MSS, MSS, k); // distinct times: one entry each
            }
            f.records.removeFirst(200); // all acknowledged: the arrays of a burst stay (256 slots)
            assertThat(f.records.capacity()).isEqualTo(SegmentSlots.SHRINK_ABOVE);
            bySlots.give(f);
            flights++;
        }
        assertThat(bySlots.size()).as("at most MAX_SLOTS slots are kept")
                .isEqualTo(RackFlightPool.MAX_SLOTS / SegmentSlots.SHRINK_ABOVE).isLessThan(flights);
    }

    /**
     * Random flights (new data, retransmissions, cumulative ACKs, SACK blocks, D-SACKs, RTOs, recovery exits, RTT
     * samples), many of which end with everything acknowledged, applied to a pooled RACK state and to one that
     * keeps its flight: every answer must be the same.
     */
    @Test
    void aPooledConnectionDecidesAsOneThatKeepsItsFlight() {
        long[] seen = new long[3]; // steps with a loss marked, flights given back, reordering seen
        for (long seed = 1; seed <= 300; seed++) {
            runPair(seed, seen);
        }
        System.out.println("RACK pairs: steps with a loss marked " + seen[0] + ", flights given back " + seen[1]
                + ", steps with reordering seen " + seen[2]);
        assertThat(java.util.Arrays.stream(seen).min().getAsLong())
                .as("losses, flights given back, reordering: the runs exercise them").isGreaterThan(100);
    }

    private static void runPair(long seed, long[] seen) {
        SplittableRandom rnd = new SplittableRandom(seed);
        RackFlightPool pool = new RackFlightPool(RackState.DEFAULT_MAX_ENTRIES);
        RackState kept = new RackState();
        RackState pooled = new RackState(pool);
        SackScoreboard sb = new SackScoreboard();
        int una = rnd.nextInt();
        int max = una;
        long now = 1;
        for (int step = 0; step < 400; step++) {
            boolean held = pooled.holdsFlight();
            now += rnd.nextInt(1, 20) * MS;
            int op = rnd.nextInt(10);
            if (op < 4 && max - una < 40 * MSS) {
                int segs = rnd.nextInt(1, 5);
                kept.onTransmit(max, max + segs * MSS, MSS, now);
                pooled.onTransmit(max, max + segs * MSS, MSS, now);
                max += segs * MSS;
            } else if (op == 4 && max != una) {
                int lost = kept.firstLost();
                assertThat(pooled.firstLost()).isEqualTo(lost);
                int s = lost >= 0 ? kept.start(lost) : una;
                int e = Math.min(max, s + MSS);
                kept.onTransmit(s, e, MSS, now);
                pooled.onTransmit(s, e, MSS, now);
            } else if (op <= 7 && max != una) {
                int ack = una + MSS * rnd.nextInt(0, (max - una) / MSS + 1);
                if (rnd.nextInt(3) == 0) {
                    ack = max; // the flight ends: the pooled state goes back to its pool
                }
                una = ack;
                sb.advance(una);
                if (max - una > MSS && rnd.nextBoolean()) {
                    int from = una + MSS * rnd.nextInt(1, (max - una) / MSS);
                    sb.add(from, Math.min(max, from + MSS * rnd.nextInt(1, 4)), una, max);
                }
                kept.onAck(una, sb, now);
                pooled.onAck(una, sb, now);
                if (max != una) {
                    boolean dsack = rnd.nextInt(8) == 0;
                    boolean recovering = rnd.nextInt(4) == 0;
                    long srtt = rnd.nextInt(5, 200) * MS;
                    kept.updateReoWnd(dsack, una, max, recovering, srtt);
                    pooled.updateReoWnd(dsack, una, max, recovering, srtt);
                    assertThat(pooled.detectLoss(now)).as("seed %d step %d", seed, step)
                            .isEqualTo(kept.detectLoss(now));
                }
            } else if (op == 8) {
                long rtt = rnd.nextInt(1, 100) * MS;
                kept.onRttSample(rtt);
                pooled.onRttSample(rtt);
                if (rnd.nextInt(4) == 0) {
                    kept.onRecoveryExit();
                    pooled.onRecoveryExit();
                }
            } else if (op == 9 && rnd.nextInt(5) == 0) {
                sb.clear();
                kept.onRetransmitTimeout();
                pooled.onRetransmitTimeout();
            }
            assertSame(seed, step, kept, pooled);
            seen[0] += kept.hasLost() ? 1 : 0;
            seen[1] += held && !pooled.holdsFlight() ? 1 : 0;
            seen[2] += kept.reorderingSeen() ? 1 : 0;
        }
    }

    private static void assertSame(long seed, int step, RackState kept, RackState pooled) {
        String at = "seed " + seed + " step " + step;
        assertThat(pooled.size()).as(at).isEqualTo(kept.size());
        for (int i = 0; i < kept.size(); i++) {
            assertThat(pooled.start(i)).as(at).isEqualTo(kept.start(i));
            assertThat(pooled.end(i)).as(at).isEqualTo(kept.end(i));
            assertThat(pooled.xmitTs(i)).as(at).isEqualTo(kept.xmitTs(i));
            for (int flag : new int[] {RackState.RETRANSMITTED, RackState.SACKED, RackState.LOST}) {
                assertThat(pooled.is(i, flag)).as(at).isEqualTo(kept.is(i, flag));
            }
        }
        assertThat(pooled.pipe()).as(at).isEqualTo(kept.pipe());
        assertThat(pooled.hasLost()).as(at).isEqualTo(kept.hasLost());
        assertThat(pooled.firstLost()).as(at).isEqualTo(kept.firstLost());
        assertThat(pooled.reorderingSeen()).as(at).isEqualTo(kept.reorderingSeen());
        if (kept.size() == 0) {
            assertThat(pooled.holdsFlight()).as(at + ": an empty flight is given back").isFalse();
        }
    }
}
