package io.usertcp.tcp;

/**
 * How the congestion window grows in congestion avoidance and how far it falls on loss: the part that
 * differs between NewReno (RFC 5681) and CUBIC (RFC 9438). Slow start, recovery and the retransmission
 * timeout's reset to one segment stay in {@link TcpConnection}. One instance per connection.
 */
public interface CongestionControl {

    /** A new window's worth of state: called once when the connection is established. */
    default void init(int mss) {
    }

    /**
     * {@code acked} bytes were newly acknowledged in congestion avoidance ({@code cwnd >= ssthresh}); returns
     * the new cwnd.
     *
     * @param srttNanos the smoothed RTT, or -1 if unknown
     */
    int onAckInAvoidance(int cwnd, int acked, int mss, long now, long srttNanos);

    /** Loss was detected (fast retransmit, SACK or probe): returns the new ssthresh. */
    int onLoss(int cwnd, int flightSize, int mss, long now);

    /** Names of the algorithms, for {@link #of(String)}. */
    String[] NAMES = {"newreno", "cubic"};

    /** A fresh instance of the named algorithm ({@code newreno} or {@code cubic}). */
    static CongestionControl of(String name) {
        switch (name) {
            case "newreno":
            case "reno":
                return new NewReno();
            case "cubic":
                return new Cubic();
            default:
                throw new IllegalArgumentException("unknown congestion control '" + name
                        + "': use one of newreno, cubic");
        }
    }

    /** RFC 5681 §3.1: about one MSS per RTT in avoidance; ssthresh = FlightSize / 2 on loss. */
    final class NewReno implements CongestionControl {
        private int bytesAcked;

        @Override
        public int onAckInAvoidance(int cwnd, int acked, int mss, long now, long srttNanos) {
            bytesAcked += acked;
            if (bytesAcked >= cwnd) {
                bytesAcked -= cwnd;
                return cwnd + mss;
            }
            return cwnd;
        }

        @Override
        public int onLoss(int cwnd, int flightSize, int mss, long now) {
            bytesAcked = 0;
            return Math.max(flightSize / 2, 2 * mss);
        }
    }

    /**
     * CUBIC (RFC 9438): the window follows W(t) = C (t - K)^3 + W_max after a loss (§4.2), never below the
     * Reno-friendly estimate (§4.3), with multiplicative decrease β = 0.7 (§4.6) and fast convergence (§4.7).
     */
    final class Cubic implements CongestionControl {
        private static final double C = 0.4;
        private static final double BETA = 0.7;
        private static final double ALPHA = 3 * (1 - BETA) / (1 + BETA);
        private double wMax;       // segments
        private double wLastMax;   // segments
        private double k;          // seconds
        private double origin;     // segments
        private double wEst;       // segments
        private long epochStart;   // 0: no epoch
        private double fraction;   // sub-segment growth carried between ACKs

        @Override
        public int onAckInAvoidance(int cwnd, int acked, int mss, long now, long srttNanos) {
            double w = (double) cwnd / mss;
            if (epochStart == 0) {
                epochStart = now == 0 ? 1 : now;
                if (w < wMax) {
                    k = Math.cbrt((wMax - w) / C);
                    origin = wMax;
                } else {
                    k = 0;
                    origin = w;
                }
                wEst = w;
            }
            double rtt = srttNanos > 0 ? srttNanos / 1e9 : 0;
            double t = (now - epochStart) / 1e9 + rtt;
            double target = origin + C * (t - k) * (t - k) * (t - k);
            target = Math.max(w, Math.min(target, 1.5 * w));
            wEst += ALPHA * ((double) acked / mss) / w; // §4.3 Reno-friendly region
            if (wEst > target) {
                target = wEst;
            }
            // Grow by (target - w) / w segments per segment acknowledged.
            fraction += (target - w) / w * ((double) acked / mss) * mss;
            int inc = (int) fraction;
            fraction -= inc;
            return cwnd + inc;
        }

        @Override
        public int onLoss(int cwnd, int flightSize, int mss, long now) {
            double w = (double) cwnd / mss;
            // §4.7 fast convergence: release bandwidth when the window shrank since the last loss.
            wMax = w < wLastMax ? w * (1 + BETA) / 2 : w;
            wLastMax = w;
            epochStart = 0;
            fraction = 0;
            return Math.max((int) (cwnd * BETA), 2 * mss);
        }
    }
}
