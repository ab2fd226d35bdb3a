package io.usertcp.tcp;

/**
 * What a connection and a listener share: the events waiting to be told to their owner (the Netty channel)
 * and their place in the stack's ready list. Events are collected while frames are processed and delivered
 * afterwards, never from inside segment processing, so an application callback can never re-enter the
 * state machine halfway through a segment.
 */
public abstract class TcpSocket {
    /** Data can be read (or, on a listener, a connection can be accepted). */
    public static final int EV_READABLE = 1;
    /** Room opened in the send buffer. */
    public static final int EV_WRITABLE = 2;
    /** An active open completed (or failed: see {@link TcpConnection#error()}). */
    public static final int EV_CONNECTED = 4;
    /** The peer sent FIN: after the queued data, input ends. */
    public static final int EV_INPUT_CLOSED = 8;
    /** The connection is gone (reset, timed out, or closed and acknowledged). */
    public static final int EV_CLOSED = 16;
    /** The peer's urgent pointer advanced beyond the data read (RFC 9293 §3.8.5): see {@link TcpConnection#urgentBytes()}. */
    public static final int EV_URGENT = 32;

    /** Receives a socket's events on the stack's thread. */
    @FunctionalInterface
    public interface Handler {
        /** Called with the events (a bit set of {@code EV_*}) that happened since the last call. */
        void onTcpEvents(int events);
    }

    final TcpLayer tcp;
    private Handler handler;
    private int pending;
    boolean queued;

    TcpSocket(TcpLayer tcp) {
        this.tcp = tcp;
    }

    /** Sets (or, with null, removes) the owner that is told of events. */
    public final void handler(Handler h) {
        this.handler = h;
    }

    /** The current handler, or null. */
    public final Handler handler() {
        return handler;
    }

    final void signal(int events) {
        pending |= events;
        if (!queued && handler != null) {
            queued = true;
            tcp.env.ready(this);
        }
    }

    /**
     * Tells {@code events} again on a later turn of the stack's loop: readiness its owner saw and left for later
     * (a read loop that stopped at its budget with data left, as level-triggered epoll reports EPOLLIN again on
     * its next wait). The stack dispatches such sockets one per turn, round-robin, after the sockets its input
     * made ready, so one socket with much to read takes turns with the others instead of draining its queue
     * first. Events signalled before the socket is told join it where it waits.
     */
    public final void signalNextTurn(int events) {
        pending |= events;
        if (!queued && handler != null) {
            queued = true;
            tcp.env.readyNextTurn(this);
        }
    }

    /** Delivers pending events to the handler. Called by the stack's loop, never re-entrantly. */
    public final void dispatch() {
        queued = false;
        int ev = pending;
        pending = 0;
        Handler h = handler;
        if (ev != 0 && h != null) {
            h.onTcpEvents(ev);
        }
    }
}
