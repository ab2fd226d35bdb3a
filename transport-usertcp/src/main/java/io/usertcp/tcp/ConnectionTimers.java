package io.usertcp.tcp;

import io.usertcp.time.Timer;
import io.usertcp.time.TimerQueue;
import io.usertcp.wire.Tcp;

import java.io.IOException;

/**
 * The six timers of one connection on the stack's {@link TimerQueue}: retransmission (RFC 6298), persist (zero-window
 * probes, RFC 9293 §3.8.6.1), tail loss probe and RACK reordering (RFC 8985 §7, §6.3), keepalive (RFC 9293 §3.8.4,
 * RFC 1122 §4.2.3.6) and close (TIME-WAIT, FIN-WAIT-2). Each expiry goes to the part of the connection whose job it
 * is; the keepalive probes are sent from here. A timer whose expiry throws (a bug) resets the connection.
 *
 * <p>One {@link Timer} serves all six (issue #12: 88 bytes a connection instead of seven objects' 240): each kind's
 * deadline is a field, {@link #armed} says which run, and the queue holds this object at the earliest of them. An
 * expiry fires that earliest kind alone and puts the object back at the next one, so the queue still fires every
 * kind of every connection in the order of the deadlines (kinds of one connection due at the same time: in the
 * order of their numbers below).
 */
final class ConnectionTimers extends Timer {
    private static final long FIN_WAIT_2_TIMEOUT_NANOS = 60_000_000_000L;
    /** The longest interval between zero-window probes. */
    private static final long MAX_PERSIST_NANOS = 60_000_000_000L;

    /** RFC 6298: the retransmission timer (also the SYN's). */
    static final int RTX = 0;
    /** RFC 9293 §3.8.6.1: zero-window probing. */
    static final int PERSIST = 1;
    /** RFC 8985 §7: the tail loss probe. */
    static final int PROBE = 2;
    /** RFC 8985 §6.3: the reordering timer, for a segment that RACK will count as lost at a known time. */
    static final int REORDER = 3;
    /** RFC 9293 §3.8.4: keepalive probes of an idle connection. */
    static final int KEEPALIVE = 4;
    /** The end of TIME-WAIT, or of FIN-WAIT-2 for a connection the application closed. */
    static final int CLOSE = 5;
    private static final int KINDS = 6;

    private final TcpConnection c;
    private final TimerQueue queue;
    /** Bit {@code 1 << kind} for each kind that runs. */
    private int armed;
    private long rtxAt;
    private long persistAt;
    private long probeAt;
    private long reorderAt;
    private long keepAliveAt;
    private long closeAt;

    ConnectionTimers(TcpConnection c) {
        this.c = c;
        this.queue = c.tcp.env.timers();
    }

    /** (Re)schedules timer {@code kind} to expire at {@code deadline}. */
    void schedule(int kind, long deadline) {
        switch (kind) {
            case RTX -> rtxAt = deadline;
            case PERSIST -> persistAt = deadline;
            case PROBE -> probeAt = deadline;
            case REORDER -> reorderAt = deadline;
            case KEEPALIVE -> keepAliveAt = deadline;
            default -> closeAt = deadline;
        }
        armed |= 1 << kind;
        requeue();
    }

    /** Stops timer {@code kind} if it runs. */
    void cancel(int kind) {
        int bit = 1 << kind;
        if ((armed & bit) != 0) {
            armed &= ~bit;
            requeue();
        }
    }

    /** Whether timer {@code kind} runs. */
    boolean isArmed(int kind) {
        return (armed & 1 << kind) != 0;
    }

    /** The deadline of timer {@code kind}, meaningful while it runs. */
    long deadlineOf(int kind) {
        return switch (kind) {
            case RTX -> rtxAt;
            case PERSIST -> persistAt;
            case PROBE -> probeAt;
            case REORDER -> reorderAt;
            case KEEPALIVE -> keepAliveAt;
            default -> closeAt;
        };
    }

    /** The kind that runs with the earliest deadline (the lowest number among equal ones), or -1 if none runs. */
    int earliest() {
        int a = armed;
        int best = -1;
        long bestAt = 0;
        for (int k = 0; a != 0 && k < KINDS; k++, a >>>= 1) {
            if ((a & 1) != 0) {
                long at = deadlineOf(k);
                if (best < 0 || at - bestAt < 0) {
                    best = k;
                    bestAt = at;
                }
            }
        }
        return best;
    }

    /** Puts this object in the queue at the earliest deadline that runs, or out of it if none does. */
    private void requeue() {
        int k = earliest();
        if (k < 0) {
            queue.cancel(this);
            return;
        }
        long at = deadlineOf(k);
        if (!isScheduled() || deadline() != at) {
            queue.schedule(this, at);
        }
    }

    /** The earliest kind is due: it alone fires; {@code now} is also the connection's time ({@link Tcb#now}). */
    @Override
    protected void expired(long now) {
        int k = earliest();
        if (k < 0 || deadlineOf(k) - now > 0) {
            requeue();
            return;
        }
        armed &= ~(1 << k);
        c.tcb.now = now;
        try {
            fire(k, now);
        } finally {
            requeue(); // the other kinds go on, as they would if the expiry threw
        }
    }

    private void fire(int kind, long now) {
        switch (kind) {
            case RTX -> c.recovery.onRetransmitTimeout(now);
            case PERSIST -> c.sender.onPersistTimeout(now);
            case PROBE -> c.recovery.onProbeTimeout(now);
            case REORDER -> c.recovery.onReorderTimeout(now);
            case KEEPALIVE -> onKeepAliveTimeout(now);
            default -> {
                TcpState s = c.tcb.state;
                if (s == TcpState.TIME_WAIT || s == TcpState.FIN_WAIT_2) {
                    c.destroy(null);
                }
            }
        }
    }

    /** If an expiry throws (a bug), the connection is reset rather than left half-updated. */
    @Override
    protected void failed(RuntimeException e) {
        c.tcp.faulted(c, e);
    }

    @Override
    public String toString() {
        return "timer of " + c;
    }

    /** Stops every timer but the close timer (entering TIME-WAIT). */
    void cancelAllButClose() {
        if ((armed & ~(1 << CLOSE)) != 0) {
            armed &= 1 << CLOSE;
            requeue();
        }
    }

    /** Stops every timer (the connection is gone). */
    void cancelAll() {
        armed = 0;
        queue.cancel(this);
    }

    /** (Re)starts the retransmission timer, no later than the user timeout's deadline (RFC 5482). */
    void armRtx(long now) {
        Tcb tcb = c.tcb;
        long at = now + tcb.rtt.currentRto();
        if (tcb.userTimeoutNanos > 0 && tcb.state.isSynchronized()
                && at - (tcb.lastProgress + tcb.userTimeoutNanos) > 0) {
            at = Math.max(now, tcb.lastProgress + tcb.userTimeoutNanos);
        }
        schedule(RTX, at);
    }

    /** Starts the persist timer unless it runs: RTO (at least the minimum) doubled per probe, at most 60 s. */
    void armPersist(long now) {
        Tcb tcb = c.tcb;
        if (!isArmed(PERSIST)) {
            long delay = Math.min(Math.max(tcb.rtt.rto(), c.tcp.minRtoNanos) << Math.min(tcb.persistBackoff, 10),
                    MAX_PERSIST_NANOS);
            schedule(PERSIST, now + delay);
        }
    }

    /** (Re)starts TIME-WAIT's timer: the connection's own length of TIME-WAIT or the stack's. */
    void armTimeWait(long now) {
        Tcb tcb = c.tcb;
        long tw = tcb.timeWaitNanos >= 0 ? tcb.timeWaitNanos : c.tcp.timeWaitNanos;
        schedule(CLOSE, now + Math.max(0, tw));
    }

    /** Bounds FIN-WAIT-2 of a connection the application closed (it can no longer read a FIN). */
    void armFinWait2(long now) {
        schedule(CLOSE, now + FIN_WAIT_2_TIMEOUT_NANOS);
    }

    /** Starts keepalive's idle timer if keepalive is on, else stops it. */
    void armKeepAlive(long now) {
        Tcb tcb = c.tcb;
        if (tcb.keepAliveIdleNanos > 0 && tcb.state.isSynchronized()) {
            schedule(KEEPALIVE, now + tcb.keepAliveIdleNanos);
        } else {
            cancel(KEEPALIVE);
        }
    }

    private void onKeepAliveTimeout(long now) {
        Tcb tcb = c.tcb;
        if (tcb.keepAliveIdleNanos <= 0 || !tcb.state.isSynchronized() || tcb.state == TcpState.TIME_WAIT) {
            return;
        }
        long idle = now - tcb.lastReceived;
        if (tcb.sndUna != tcb.sndMax && tcb.keepAliveSent == 0) {
            // Data is outstanding: the retransmission timer watches the peer (RFC 1122 §4.2.3.6 probes idle
            // connections only).
            schedule(KEEPALIVE, now + tcb.keepAliveIdleNanos);
            return;
        }
        if (idle < tcb.keepAliveIdleNanos && tcb.keepAliveSent == 0) {
            schedule(KEEPALIVE, tcb.lastReceived + tcb.keepAliveIdleNanos);
            return;
        }
        if (tcb.keepAliveSent >= tcb.keepAliveCount) {
            c.out.sendControl(tcb.sndMax, 0, Tcp.RST);
            c.destroy(new IOException("Connection timed out (keepalive)"));
            return;
        }
        // A segment the peer must answer (RFC 1122 §4.2.3.6): SEG.SEQ = SND.NXT - 1, no data.
        c.out.sendControl(tcb.sndMax - 1, tcb.rcvNxt, Tcp.ACK);
        tcb.keepAliveSent++;
        schedule(KEEPALIVE, now + tcb.keepAliveIntervalNanos);
    }
}
