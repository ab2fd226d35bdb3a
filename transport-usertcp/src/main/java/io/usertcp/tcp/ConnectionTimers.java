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
 */
final class ConnectionTimers {
    private static final long FIN_WAIT_2_TIMEOUT_NANOS = 60_000_000_000L;
    /** The longest interval between zero-window probes. */
    private static final long MAX_PERSIST_NANOS = 60_000_000_000L;

    private final TcpConnection c;
    private final Tcb tcb;
    private final TimerQueue queue;

    /** RFC 6298: the retransmission timer (also the SYN's). */
    final ConnectionTimer rtx = new ConnectionTimer() {
        @Override
        void fire(long now) {
            c.recovery.onRetransmitTimeout(now);
        }
    };
    /** RFC 9293 §3.8.6.1: zero-window probing. */
    final ConnectionTimer persist = new ConnectionTimer() {
        @Override
        void fire(long now) {
            c.sender.onPersistTimeout(now);
        }
    };
    /** RFC 8985 §7: the tail loss probe. */
    final ConnectionTimer probe = new ConnectionTimer() {
        @Override
        void fire(long now) {
            c.recovery.onProbeTimeout(now);
        }
    };
    /** RFC 8985 §6.3: the reordering timer, for a segment that RACK will count as lost at a known time. */
    final ConnectionTimer reorder = new ConnectionTimer() {
        @Override
        void fire(long now) {
            c.recovery.onReorderTimeout(now);
        }
    };
    /** RFC 9293 §3.8.4: keepalive probes of an idle connection. */
    final ConnectionTimer keepAlive = new ConnectionTimer() {
        @Override
        void fire(long now) {
            onKeepAliveTimeout(now);
        }
    };
    /** The end of TIME-WAIT, or of FIN-WAIT-2 for a connection the application closed. */
    final ConnectionTimer close = new ConnectionTimer() {
        @Override
        void fire(long now) {
            if (tcb.state == TcpState.TIME_WAIT || tcb.state == TcpState.FIN_WAIT_2) {
                c.destroy(null);
            }
        }
    };

    ConnectionTimers(TcpConnection c) {
        this.c = c;
        this.tcb = c.tcb;
        this.queue = c.tcp.env.timers();
    }

    /** A connection's timer: if its expiry throws (a bug), the connection is reset rather than left half-updated. */
    abstract class ConnectionTimer extends Timer {
        /** The timer's job; {@code now} is also the connection's time ({@link Tcb#now}) while it runs. */
        abstract void fire(long now);

        @Override
        protected final void expired(long now) {
            tcb.now = now;
            fire(now);
        }

        /** (Re)schedules the timer to expire at {@code deadline}. */
        final void schedule(long deadline) {
            queue.schedule(this, deadline);
        }

        /** Stops the timer if it runs. */
        final void cancel() {
            queue.cancel(this);
        }

        @Override
        protected void failed(RuntimeException e) {
            c.tcp.faulted(c, e);
        }

        @Override
        public String toString() {
            return "timer of " + c;
        }
    }

    /** Stops every timer but the close timer (entering TIME-WAIT). */
    void cancelAllButClose() {
        rtx.cancel();
        persist.cancel();
        probe.cancel();
        reorder.cancel();
        keepAlive.cancel();
    }

    /** Stops every timer (the connection is gone). */
    void cancelAll() {
        cancelAllButClose();
        close.cancel();
    }

    /** (Re)starts the retransmission timer, no later than the user timeout's deadline (RFC 5482). */
    void armRtx(long now) {
        long at = now + tcb.rtt.currentRto();
        if (tcb.userTimeoutNanos > 0 && tcb.state.isSynchronized()
                && at - (tcb.lastProgress + tcb.userTimeoutNanos) > 0) {
            at = Math.max(now, tcb.lastProgress + tcb.userTimeoutNanos);
        }
        rtx.schedule(at);
    }

    /** Starts the persist timer unless it runs: RTO (at least the minimum) doubled per probe, at most 60 s. */
    void armPersist(long now) {
        if (!persist.isScheduled()) {
            long delay = Math.min(Math.max(tcb.rtt.rto(), c.tcp.minRtoNanos) << Math.min(tcb.persistBackoff, 10),
                    MAX_PERSIST_NANOS);
            persist.schedule(now + delay);
        }
    }

    /** (Re)starts TIME-WAIT's timer: the connection's own length of TIME-WAIT or the stack's. */
    void armTimeWait(long now) {
        long tw = tcb.timeWaitNanos >= 0 ? tcb.timeWaitNanos : c.tcp.timeWaitNanos;
        close.schedule(now + Math.max(0, tw));
    }

    /** Bounds FIN-WAIT-2 of a connection the application closed (it can no longer read a FIN). */
    void armFinWait2(long now) {
        close.schedule(now + FIN_WAIT_2_TIMEOUT_NANOS);
    }

    /** Starts keepalive's idle timer if keepalive is on, else stops it. */
    void armKeepAlive(long now) {
        if (tcb.keepAliveIdleNanos > 0 && tcb.state.isSynchronized()) {
            keepAlive.schedule(now + tcb.keepAliveIdleNanos);
        } else {
            keepAlive.cancel();
        }
    }

    private void onKeepAliveTimeout(long now) {
        if (tcb.keepAliveIdleNanos <= 0 || !tcb.state.isSynchronized() || tcb.state == TcpState.TIME_WAIT) {
            return;
        }
        long idle = now - tcb.lastReceived;
        if (tcb.sndUna != tcb.sndMax && tcb.keepAliveSent == 0) {
            // Data is outstanding: the retransmission timer watches the peer (RFC 1122 §4.2.3.6 probes idle
            // connections only).
            keepAlive.schedule(now + tcb.keepAliveIdleNanos);
            return;
        }
        if (idle < tcb.keepAliveIdleNanos && tcb.keepAliveSent == 0) {
            keepAlive.schedule(tcb.lastReceived + tcb.keepAliveIdleNanos);
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
        keepAlive.schedule(now + tcb.keepAliveIntervalNanos);
    }
}
