package io.usertcp.stack;

import io.usertcp.time.Timer;
import io.usertcp.time.TimerQueue;

import io.usertcp.time.Clock;
import io.usertcp.stats.StackStats;

import io.netty.util.internal.logging.InternalLogger;
import io.netty.util.internal.logging.InternalLoggerFactory;

/**
 * The barrier between the stack's loop and a bug that an input, a timer, an event dispatch or a flush ran into:
 * the exception is counted in {@link StackStats} and logged with its cause at most once a second (the wire can
 * trigger it as often as it likes), and the loop goes on. What the exception interrupted is dropped by the
 * caller: the frame, or the one connection it was working on.
 *
 * <p>Only {@link RuntimeException}s stop here. An {@link Error} (out of memory, a stack overflow) leaves the
 * stack in no state worth continuing from: it is not caught and ends the event loop, loudly.
 */
public final class LoopFaults implements TimerQueue.FaultHandler {
    private static final InternalLogger logger = InternalLoggerFactory.getInstance(LoopFaults.class);
    private static final long LOG_INTERVAL_NANOS = 1_000_000_000L;

    /** What the loop was doing when the exception escaped. */
    public enum Site {
        /** Processing one received frame: the frame is dropped. */
        INPUT,
        /** Running one expired timer: its owner (a connection) is aborted when it can be named. */
        TIMER,
        /** Telling one socket's handler about events. */
        DISPATCH,
        /** Sending one connection's deferred ACK: the connection is aborted. */
        FLUSH
    }

    private final StackStats stats;
    private final Clock clock;
    private long lastLog;
    private boolean logged;
    private long suppressed;

    LoopFaults(StackStats stats, Clock clock) {
        this.stats = stats;
        this.clock = clock;
    }

    /** A timer that threw: counted and logged as {@link Site#TIMER}. */
    @Override
    public void timerFailed(Timer t, RuntimeException e) {
        caught(Site.TIMER, t, e);
    }

    /** Counts {@code e}, caught at {@code site} about {@code subject} (may be null), and logs it unless it did so within a second. */
    public void caught(Site site, Object subject, RuntimeException e) {
        switch (site) {
            case INPUT:
                stats.inputExceptions++;
                break;
            case TIMER:
                stats.timerExceptions++;
                break;
            case DISPATCH:
                stats.dispatchExceptions++;
                break;
            default:
                stats.flushExceptions++;
                break;
        }
        long now = clock.nanoTime();
        if (logged && now - lastLog < LOG_INTERVAL_NANOS) {
            suppressed++;
            return;
        }
        logged = true;
        lastLog = now;
        long before = suppressed;
        suppressed = 0;
        logger.warn("usertcp: a bug let an exception escape ({} {}); dropped it and went on{}", site, subject,
                before == 0 ? "" : " (" + before + " more since the last report, not logged)", e);
    }
}
