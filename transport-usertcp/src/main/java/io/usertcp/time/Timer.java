package io.usertcp.time;

/**
 * A timer owned by one object of the stack (a connection, the ARP table). It is scheduled in a
 * {@link TimerQueue}; rescheduling moves it, so an owner keeps one instance for its whole life and no
 * allocation happens per schedule.
 */
public abstract class Timer {
    long deadline;
    int heapIndex = -1;

    /** Called on the stack's thread when the deadline passes. */
    protected abstract void expired(long now);

    /**
     * Called when {@link #expired} threw (a bug): the owner gives up what the timer served, e.g. a connection
     * aborts. The exception itself is counted and logged by the queue's fault handler.
     */
    protected void failed(RuntimeException e) {
    }

    /** True while scheduled. */
    public final boolean isScheduled() {
        return heapIndex >= 0;
    }

    /** The deadline, meaningful while scheduled. */
    public final long deadline() {
        return deadline;
    }
}
