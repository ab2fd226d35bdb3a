package io.usertcp.time;

import java.util.Arrays;

/**
 * An indexed binary min-heap of {@link Timer}s: schedule, reschedule and cancel in O(log n) without
 * allocation (the heap array grows, never per operation). The stack's loop asks {@link #nextDeadline()}
 * for its poll timeout and calls {@link #runExpired(long)} after every poll.
 */
public final class TimerQueue {
    /** Returned by {@link #nextDeadline()} when nothing is scheduled. */
    public static final long NONE = Long.MAX_VALUE;

    private Timer[] heap = new Timer[64];
    private int size;
    private FaultHandler faults; // null: an exception from a timer propagates

    /** Told about a timer that threw, so that the loop can count it and go on (see {@link #faults}). */
    @FunctionalInterface
    public interface FaultHandler {
        /** {@code t} threw {@code e} while expiring (or while being told it failed). */
        void timerFailed(Timer t, RuntimeException e);
    }

    /** From now on, a timer that throws is reported to {@code faults} and the other due timers still run. */
    public void faults(FaultHandler faults) {
        this.faults = faults;
    }

    /** Schedules {@code t} at {@code deadline}, moving it if it is already scheduled. */
    public void schedule(Timer t, long deadline) {
        if (t.heapIndex >= 0) {
            long old = t.deadline;
            t.deadline = deadline;
            if (deadline - old < 0) {
                siftUp(t.heapIndex);
            } else {
                siftDown(t.heapIndex);
            }
            return;
        }
        if (size == heap.length) {
            heap = Arrays.copyOf(heap, size * 2);
        }
        t.deadline = deadline;
        t.heapIndex = size;
        heap[size++] = t;
        siftUp(t.heapIndex);
    }

    /** Schedules {@code t} at {@code deadline} unless it is already due earlier. */
    public void scheduleNoLater(Timer t, long deadline) {
        if (t.heapIndex < 0 || deadline - t.deadline < 0) {
            schedule(t, deadline);
        }
    }

    /** Removes {@code t} if scheduled. */
    public void cancel(Timer t) {
        int i = t.heapIndex;
        if (i < 0) {
            return;
        }
        t.heapIndex = -1;
        Timer last = heap[--size];
        heap[size] = null;
        if (i != size) {
            heap[i] = last;
            last.heapIndex = i;
            siftDown(i);
            siftUp(last.heapIndex);
        }
    }

    /** The earliest deadline, or {@link #NONE}. */
    public long nextDeadline() {
        return size == 0 ? NONE : heap[0].deadline;
    }

    /** How many timers are scheduled. */
    public int size() {
        return size;
    }

    /** Fires every timer due at {@code now}; returns how many fired. A timer may reschedule itself. */
    public int runExpired(long now) {
        int fired = 0;
        while (size > 0 && heap[0].deadline - now <= 0) {
            Timer t = heap[0];
            cancel(t);
            fired++;
            if (faults == null) {
                t.expired(now);
                continue;
            }
            try {
                t.expired(now);
            } catch (RuntimeException e) {
                faults.timerFailed(t, e);
                try {
                    t.failed(e);
                } catch (RuntimeException again) {
                    faults.timerFailed(t, again);
                }
            }
        }
        return fired;
    }

    private void siftUp(int i) {
        Timer t = heap[i];
        while (i > 0) {
            int p = (i - 1) >>> 1;
            Timer pt = heap[p];
            if (t.deadline - pt.deadline >= 0) {
                break;
            }
            heap[i] = pt;
            pt.heapIndex = i;
            i = p;
        }
        heap[i] = t;
        t.heapIndex = i;
    }

    private void siftDown(int i) {
        Timer t = heap[i];
        int half = size >>> 1;
        while (i < half) {
            int c = 2 * i + 1;
            int r = c + 1;
            if (r < size && heap[r].deadline - heap[c].deadline < 0) {
                c = r;
            }
            if (heap[c].deadline - t.deadline >= 0) {
                break;
            }
            heap[i] = heap[c];
            heap[i].heapIndex = i;
            i = c;
        }
        heap[i] = t;
        t.heapIndex = i;
    }
}
