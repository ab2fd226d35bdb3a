package io.usertcp.channel;

import io.netty.channel.IoOps;
import io.netty.channel.IoRegistration;
import io.usertcp.tcp.TcpSocket;
import io.usertcp.udp.UdpSocket;

/**
 * A channel's registration with a {@link UserTcpIoHandler}, and the bridge from the stack to the channel: it is
 * the {@link TcpSocket.Handler} or {@link UdpSocket.Handler} of the channel's socket, so that the events the
 * stack's loop dispatches after each batch of input become {@link UserTcpIoEvent}s delivered to
 * {@link io.netty.channel.IoHandle#handle}, filtered by the interest the channel submitted (as a selector or an
 * epoll instance reports only the operations asked for, plus errors and hang-ups).
 *
 * <p>Used on the event loop's thread, except {@link #cancel()} and {@link #isValid()}.
 */
final class UserTcpIoRegistration implements IoRegistration, TcpSocket.Handler, UdpSocket.Handler {
    private final UserTcpIoHandler ioHandler;
    private final UserTcpIoHandler.UserTcpIoHandle handle;
    private int interest;
    private volatile boolean valid = true;
    // The handler's list of its registrations (its thread only).
    UserTcpIoRegistration prev;
    UserTcpIoRegistration next;
    boolean linked;

    UserTcpIoRegistration(UserTcpIoHandler ioHandler, UserTcpIoHandler.UserTcpIoHandle handle) {
        this.ioHandler = ioHandler;
        this.handle = handle;
    }

    UserTcpIoHandler ioHandler() {
        return ioHandler;
    }

    UserTcpIoHandler.UserTcpIoHandle handle() {
        return handle;
    }

    /** This registration (the channel reaches the stack and {@link #watch} through it). */
    @Override
    @SuppressWarnings("unchecked")
    public <T> T attachment() {
        return (T) this;
    }

    /**
     * Replaces the interest set with {@code ops} (a {@link UserTcpIoOps}); returns its bits, or -1 once
     * cancelled. Operations that are always reported may be included and change nothing.
     */
    @Override
    public long submit(IoOps ops) {
        if (!(ops instanceof UserTcpIoOps)) {
            throw new IllegalArgumentException("IoOps of type " + (ops == null ? "null" : ops.getClass().getName())
                    + " is not UserTcpIoOps");
        }
        if (!valid) {
            return -1;
        }
        interest = ((UserTcpIoOps) ops).value() & UserTcpIoOps.INTEREST;
        return ((UserTcpIoOps) ops).value();
    }

    /** The current interest. */
    UserTcpIoOps interest() {
        return UserTcpIoOps.valueOf(interest);
    }

    /** Makes this registration the receiver of {@code socket}'s events. */
    void watch(TcpSocket socket) {
        socket.handler(this);
    }

    /** Makes this registration the receiver of {@code socket}'s events. */
    void watch(UdpSocket socket) {
        socket.handler(this);
    }

    @Override
    public void onTcpEvents(int events) {
        ready(events); // UserTcpIoOps has TcpSocket's bits
    }

    @Override
    public void onUdpEvents(int events) {
        ready(((events & UdpSocket.EV_READABLE) != 0 ? UserTcpIoOps.READ.value() : 0)
                | ((events & UdpSocket.EV_ERROR) != 0 ? UserTcpIoOps.ERROR.value() : 0));
    }

    /** Delivers {@code ops} to the handle: those of its interest and those always reported. */
    void ready(int ops) {
        int deliver = ops & (interest | UserTcpIoOps.ALWAYS);
        if (deliver != 0 && valid) {
            handle.handle(this, UserTcpIoOps.eventOf(deliver));
        }
    }

    /**
     * Delivers {@code ops} after the tasks already queued, for readiness the channel finds on registration (a
     * FIN or reset that came before it), which epoll would report on its next wait.
     */
    void readyLater(int ops) {
        ioHandler.execute(() -> ready(ops));
    }

    @Override
    public boolean isValid() {
        return valid;
    }

    @Override
    public boolean cancel() {
        if (!valid) {
            return false;
        }
        valid = false;
        ioHandler.cancelled(this);
        return true;
    }

    @Override
    public String toString() {
        return "UserTcpIoRegistration(" + handle + ", interest " + interest() + (valid ? ")" : ", cancelled)");
    }
}
