package io.usertcp.tcp;

/**
 * The retransmission timer's numbers (RFC 6298): the smoothed RTT and its variation, the RTO with its
 * exponential backoff, and the timing of one segment per round trip for the samples that Karn's rule allows.
 * Times are in nanoseconds; the clock granularity G is taken as 1 ms.
 */
final class RttEstimator {
    /** The RTO before any sample (RFC 6298 §2.1). */
    static final long INITIAL_RTO_NANOS = 1_000_000_000L;
    /** RFC 6298 (2.5) allows a maximum of at least 60 s; Linux uses 120 s. */
    static final long MAX_RTO_NANOS = 120_000_000_000L;
    /** Clock granularity G (RFC 6298 §2): 1 ms. */
    private static final long GRANULARITY_NANOS = 1_000_000L;

    private final long minRto;
    private long srtt = -1;
    private long rttvar;
    private long rto = INITIAL_RTO_NANOS; // RFC 6298 RTO before backoff
    private short backoff;                // timeouts since the last forward progress
    private int samples;                  // counted modulo 2^32: compared for a change only (issue #12: 64 bytes)

    // One segment timed per round trip (RFC 6298 §3).
    private boolean timing;
    private int timedSeq;
    long timingStart;                      // when the timed segment (or the SYN-ACK of a passive open) left

    /** @param minRto the floor of the RTO (RFC 6298 (2.4) says 1 s; the stack's configuration decides) */
    RttEstimator(long minRto) {
        this.minRto = minRto;
    }

    /** Takes one RTT measurement {@code r} (RFC 6298 §2.2 for the first, §2.3 after). */
    void sample(long r) {
        samples++;
        if (r <= 0) {
            r = 1;
        }
        if (srtt < 0) {
            srtt = r;          // RFC 6298 §2.2
            rttvar = r / 2;
        } else {               // §2.3
            rttvar = (3 * rttvar + Math.abs(srtt - r)) / 4;
            srtt = (7 * srtt + r) / 8;
        }
        rto = Math.max(minRto, Math.min(srtt + Math.max(GRANULARITY_NANOS, 4 * rttvar), MAX_RTO_NANOS));
    }

    /** SRTT, or -1 before the first sample. */
    long srtt() {
        return srtt;
    }

    /** RTTVAR. */
    long rttvar() {
        return rttvar;
    }

    /** The RTO without backoff. */
    long rto() {
        return rto;
    }

    /** How many samples were taken so far (modulo 2^32: compare two readings for a change, nothing else). */
    long samples() {
        return samples;
    }

    /** The retransmission timeout with exponential backoff applied (RFC 6298 (5.5)), at most the maximum. */
    long currentRto() {
        return Math.min(rto << Math.min(backoff, 16), MAX_RTO_NANOS);
    }

    /** RFC 6298 (5.5): a timeout doubles the RTO. */
    void backOff() {
        if (backoff < Short.MAX_VALUE) {
            backoff++;
        }
    }

    /** Forward progress ends the backoff. */
    void resetBackoff() {
        backoff = 0;
    }

    /** Whether a segment is being timed. */
    boolean isTiming() {
        return timing;
    }

    /** Starts timing the segment that begins at {@code seq}, sent at {@code now}. */
    void startTiming(int seq, long now) {
        timing = true;
        timedSeq = seq;
        timingStart = now;
    }

    /** Karn's rule (RFC 6298 §3): after a retransmission no sample is taken from the segment being timed. */
    void stopTiming() {
        timing = false;
    }

    /**
     * Whether an ACK of {@code ack} covers the timed segment (RFC 6298 §3); if so the timing ends and
     * {@code now - timingStart} is a sample for the caller to take.
     */
    boolean ackCoversTimed(int ack) {
        if (timing && ack - timedSeq > 0) {
            timing = false;
            return true;
        }
        return false;
    }
}
