package io.usertcp.tcp;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The numbers of RFC 6298 §2 and §5, worked by hand. */
class RttEstimatorTest {
    private static final long MS = 1_000_000L;

    @Test
    void beforeAnySampleTheRtoIsOneSecond() {
        RttEstimator e = new RttEstimator(200 * MS);
        assertEquals(-1, e.srtt());
        assertEquals(1000 * MS, e.rto());
        assertEquals(1000 * MS, e.currentRto());
    }

    @Test
    void firstSampleSetsSrttAndHalfOfItAsRttvar() {
        RttEstimator e = new RttEstimator(200 * MS);
        e.sample(100 * MS);
        // (2.2): SRTT = R, RTTVAR = R/2, RTO = SRTT + max(G, 4 RTTVAR) = 100 + 200 ms.
        assertEquals(100 * MS, e.srtt());
        assertEquals(50 * MS, e.rttvar());
        assertEquals(300 * MS, e.rto());
        assertEquals(1, e.samples());
    }

    @Test
    void laterSamplesAreSmoothedWithAlphaAndBeta() {
        RttEstimator e = new RttEstimator(0);
        e.sample(100 * MS);
        e.sample(200 * MS);
        // (2.3): RTTVAR = 3/4 * 50 + 1/4 * |100 - 200| = 62.5 ms; SRTT = 7/8 * 100 + 1/8 * 200 = 112.5 ms.
        assertEquals(62_500_000L, e.rttvar());
        assertEquals(112_500_000L, e.srtt());
        assertEquals(112_500_000L + 4 * 62_500_000L, e.rto());
    }

    @Test
    void rtoHasTheConfiguredFloorAndTheGranularity() {
        RttEstimator floor = new RttEstimator(200 * MS);
        floor.sample(10 * MS); // 10 + 4 * 5 = 30 ms, below the floor
        assertEquals(200 * MS, floor.rto());
        RttEstimator granular = new RttEstimator(0);
        granular.sample(0); // a zero sample counts as 1 ns; 4 RTTVAR is below G = 1 ms
        assertEquals(1, granular.srtt());
        assertEquals(1 + MS, granular.rto());
    }

    @Test
    void backoffDoublesUpToTheMaximumAndProgressEndsIt() {
        RttEstimator e = new RttEstimator(200 * MS);
        e.sample(100 * MS);
        e.backOff();
        assertEquals(600 * MS, e.currentRto());
        e.backOff();
        assertEquals(1200 * MS, e.currentRto());
        for (int i = 0; i < 40; i++) {
            e.backOff();
        }
        assertEquals(RttEstimator.MAX_RTO_NANOS, e.currentRto());
        e.resetBackoff();
        assertEquals(300 * MS, e.currentRto());
        assertEquals(300 * MS, e.rto());
    }

    @Test
    void onlyAnAckBeyondTheTimedSegmentEndsTheTiming() {
        RttEstimator e = new RttEstimator(200 * MS);
        e.startTiming(1000, 5 * MS);
        assertTrue(e.isTiming());
        assertFalse(e.ackCoversTimed(1000));
        assertTrue(e.ackCoversTimed(1001));
        assertFalse(e.isTiming());
        assertEquals(5 * MS, e.timingStart);
        e.startTiming(Integer.MAX_VALUE, 0); // serial arithmetic across the wrap
        assertTrue(e.ackCoversTimed(Integer.MIN_VALUE));
        e.startTiming(7, 0);
        e.stopTiming(); // Karn: a retransmission cancels it
        assertFalse(e.ackCoversTimed(100));
    }
}
