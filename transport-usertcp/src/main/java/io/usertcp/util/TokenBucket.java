package io.usertcp.util;

/**
 * A token bucket in the stack's clock, for rate-limiting ICMP errors (RFC 1812 §4.3.2.8, RFC 1122 §3.2.2
 * "SHOULD limit the rate"). It holds up to {@code burst} tokens and gains {@code perSecond} tokens a second;
 * time is kept in nanoseconds of credit, so nothing is allocated and no floating point is used.
 */
public final class TokenBucket {
    private final long costNanos;
    private final long capacityNanos;
    private long credit;
    private long last;
    private boolean started;

    /**
     * @param perSecond tokens gained per second (at least 1)
     * @param burst     most tokens held at once (at least 1); the bucket starts full
     */
    public TokenBucket(int perSecond, int burst) {
        if (perSecond < 1 || burst < 1) {
            throw new IllegalArgumentException("rate and burst must be positive: " + perSecond + "/s, " + burst);
        }
        this.costNanos = 1_000_000_000L / perSecond;
        this.capacityNanos = costNanos * burst;
    }

    /** Takes one token if there is one at time {@code now} (nanoseconds); returns whether it did. */
    public boolean tryTake(long now) {
        if (!started) {
            started = true;
            credit = capacityNanos;
        } else {
            long elapsed = now - last;
            if (elapsed > 0) {
                credit = elapsed >= capacityNanos ? capacityNanos : Math.min(capacityNanos, credit + elapsed);
            }
        }
        last = now;
        if (credit >= costNanos) {
            credit -= costNanos;
            return true;
        }
        return false;
    }
}
