package io.usertcp.tcp;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The window curves of RFC 5681 (NewReno) and RFC 9438 (CUBIC). */
class CongestionControlTest {
    private static final int MSS = 1000;
    private static final long SEC = 1_000_000_000L;

    /** Feeds one window of ACKs per RTT for {@code seconds}; returns cwnd in segments at each second. */
    private static double[] grow(CongestionControl cc, int cwnd, long rtt, int seconds) {
        double[] at = new double[seconds + 1];
        long now = 1;
        int second = 0;
        at[0] = cwnd / (double) MSS;
        while (second < seconds) {
            int segments = cwnd / MSS;
            for (int i = 0; i < segments; i++) {
                cwnd = cc.onAckInAvoidance(cwnd, MSS, MSS, now, rtt);
            }
            now += rtt;
            if (now / SEC > second) {
                second++;
                at[second] = cwnd / (double) MSS;
            }
        }
        return at;
    }

    @Test
    void newRenoAddsAboutOneSegmentPerRoundTrip() {
        CongestionControl cc = new CongestionControl.NewReno();
        double[] w = grow(cc, 50 * MSS, SEC / 10, 2); // 10 RTTs a second
        assertThat(w[1] - w[0]).isBetween(9.0, 11.0);
        assertThat(cc.onLoss(100 * MSS, 80 * MSS, MSS, 0)).isEqualTo(40 * MSS); // FlightSize / 2
    }

    @Test
    void cubicReducesByBetaThenClimbsBackToWmaxAroundK() {
        CongestionControl cc = new CongestionControl.Cubic();
        int ssthresh = cc.onLoss(100 * MSS, 100 * MSS, MSS, 0);
        assertThat(ssthresh).isEqualTo(70 * MSS); // β = 0.7 (RFC 9438 §4.6)
        // K = cbrt(W_max (1 - β) / C) = cbrt(30 / 0.4) ≈ 4.2 s (§4.2): concave up to W_max, then convex.
        // With a 100 ms RTT the cubic curve, not the Reno-friendly estimate (§4.3), sets the pace.
        double[] w = grow(cc, ssthresh, SEC / 10, 8);
        assertThat(w[2]).isBetween(85.0, 99.0);
        assertThat(w[4]).isBetween(97.0, 102.0);   // the plateau near W_max
        assertThat(w[8]).isGreaterThan(w[5] + 5);  // probing beyond it
        assertThat(w[4] - w[3]).isLessThan(w[2] - w[1]); // flattening towards the plateau
    }

    @Test
    void unknownAlgorithmNamesTheChoices() {
        assertThatThrownBy(() -> CongestionControl.of("vegas")).hasMessageContaining("newreno, cubic");
    }
}
