package io.usertcp.sim;

import io.usertcp.time.Clock;

/** A clock that moves only when told to. */
public final class VirtualClock implements Clock {
    private long now = 1_000_000_000L;

    @Override
    public long nanoTime() {
        return now;
    }

    /** Moves to {@code t} if that is later. */
    public void advanceTo(long t) {
        if (t - now > 0) {
            now = t;
        }
    }

    /** Moves forward by {@code nanos}. */
    public void advance(long nanos) {
        now += nanos;
    }
}
