package io.usertcp.time;

/**
 * The stack's source of time. Production uses {@link #SYSTEM}; tests drive a virtual clock so that whole
 * transfers, timeouts included, run in simulated time and replay exactly.
 */
@FunctionalInterface
public interface Clock {
    /** The monotonic system clock. */
    Clock SYSTEM = System::nanoTime;

    /** Monotonic time in nanoseconds; only differences are meaningful. */
    long nanoTime();
}
