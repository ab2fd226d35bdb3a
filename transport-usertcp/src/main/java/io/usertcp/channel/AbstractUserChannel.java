package io.usertcp.channel;

import io.netty.channel.AbstractChannel;
import io.netty.channel.Channel;
import io.netty.channel.ChannelId;
import io.netty.channel.ChannelPromise;
import io.netty.channel.EventLoop;
import io.netty.channel.IoEvent;
import io.netty.channel.IoEventLoop;
import io.netty.channel.IoRegistration;
import io.usertcp.stack.Stack;
import io.usertcp.wire.IpAddress;

import java.net.InetSocketAddress;
import java.net.SocketAddress;

/**
 * What every usertcp channel shares (as Netty's {@code AbstractEpollChannel} for the epoll channels): its
 * registration with a {@link UserTcpIoHandler} and the check that the loop owns the channel's socket, the interest
 * it submits ({@link UserTcpIoOps}), the dispatch of {@link UserTcpIoEvent}s to {@link #handleEvent}, the
 * pending-read flag and the re-scheduled read of a read loop that stopped with work left, its addresses, and the
 * address checks.
 *
 * <p>Everything but the volatile state is used on the event loop only.
 */
abstract class AbstractUserChannel extends AbstractChannel {
    private IoRegistration registration;
    private int interest;
    private volatile boolean open = true;
    /**
     * The addresses set by bind, connect or the listener; where null, {@link #connectedLocalAddress()} and
     * {@link #connectedRemoteAddress()} make them from the socket when first asked for (and {@code AbstractChannel}
     * keeps them): an idle connection holds no address objects (issue #12).
     */
    volatile InetSocketAddress localAddress;
    volatile InetSocketAddress remoteAddress;
    /** A read was asked for ({@code read()} with AUTO_READ off) and not yet served. */
    boolean readPending;
    private boolean readScheduled;

    AbstractUserChannel(Channel parent) {
        super(parent);
    }

    /** A {@link UserChannelId}: a counter's number, not Netty's {@code DefaultChannelId} (half the heap). */
    @Override
    protected final ChannelId newId() {
        return UserChannelId.next();
    }

    // ------------------------------------------------------------------ registration

    @Override
    protected final boolean isCompatible(EventLoop loop) {
        return loop instanceof IoEventLoop && ((IoEventLoop) loop).isCompatible(UserUnsafe.class);
    }

    /**
     * Registers the channel's handle with the event loop, refuses a loop whose stack does not own the channel's
     * socket (a socket can only be served by the loop that owns its stack), then calls {@link #registered}.
     */
    @Override
    protected final void doRegister(ChannelPromise promise) {
        ((IoEventLoop) eventLoop()).register(userUnsafe()).addListener(f -> {
            if (!f.isSuccess()) {
                promise.setFailure(f.cause());
                return;
            }
            IoRegistration r = (IoRegistration) f.getNow();
            UserTcpIoRegistration ur = r.attachment();
            String wrongLoop = checkOwner(ur.ioHandler().stack());
            if (wrongLoop != null) {
                r.cancel();
                promise.setFailure(new IllegalStateException(wrongLoop));
                return;
            }
            registration = r;
            interest = 0;
            registered(ur);
            promise.setSuccess();
        });
    }

    /** The channel's own unsafe, its {@link io.netty.channel.IoHandle} ({@link #unsafe()} may wrap it). */
    UserUnsafe userUnsafe() {
        return (UserUnsafe) unsafe();
    }

    /** Null if {@code stack} may serve this channel's socket, else why not. */
    String checkOwner(Stack stack) {
        return null;
    }

    /** Called on registration, before the promise completes: attach the socket, apply the config. */
    abstract void registered(UserTcpIoRegistration r);

    @Override
    protected final void doDeregister() {
        IoRegistration r = registration;
        registration = null;
        if (r != null) {
            r.cancel();
        }
    }

    /** The registration with the handler (null when not registered). */
    final UserTcpIoRegistration userRegistration() {
        IoRegistration r = registration;
        return r == null ? null : r.attachment(); // ours, behind the loop's wrapper (not kept twice: issue #12)
    }

    /** The stack of the loop this channel is registered with. Touch it on the event loop only. */
    final Stack stack() {
        return userRegistration().ioHandler().stack();
    }

    // ------------------------------------------------------------------ interest

    /** Adds {@code ops} to the interest submitted to the registration (epoll's setFlag). */
    final void setInterest(UserTcpIoOps ops) {
        int v = interest | ops.value();
        if (v != interest) {
            submit(v);
        }
    }

    /** Removes {@code ops} from the interest submitted to the registration (epoll's clearFlag). */
    final void clearInterest(UserTcpIoOps ops) {
        int v = interest & ~ops.value();
        if (v != interest) {
            submit(v);
        }
    }

    private void submit(int v) {
        interest = v;
        IoRegistration r = registration;
        if (r != null) {
            r.submit(UserTcpIoOps.valueOf(v));
        }
    }

    /** Reacts to what the registration reports ready: a bit set of {@link UserTcpIoOps}. */
    abstract void handleEvent(int ops);

    // ------------------------------------------------------------------ reading

    /**
     * As epoll's {@code doBeginRead}: marks a read pending, turns on READ interest, and makes sure what is
     * already there is read (the stack's events are edges; epoll's EPOLLIN is level-triggered).
     */
    @Override
    protected final void doBeginRead() {
        readPending = true;
        setInterest(UserTcpIoOps.READ);
        if (hasReadWork()) {
            readLater();
        }
    }

    /**
     * Makes sure a read runs soon for what is already there: {@link #scheduleRead} (a task). A stream channel
     * asked from inside its own read loop leaves it to the loop's end instead.
     */
    void readLater() {
        scheduleRead();
    }

    /** True when a read would not come back empty-handed. */
    abstract boolean hasReadWork();

    /** One read loop, as after a READ event. */
    abstract void readReady();

    /** True when a read should run now: a read is pending or AUTO_READ is on. */
    final boolean wantsRead() {
        return readPending || config().isAutoRead();
    }

    /** After a read loop: READ interest stays only while a read is pending or AUTO_READ is on (epoll's clearEpollIn). */
    final void readDone() {
        if (!wantsRead()) {
            clearInterest(UserTcpIoOps.READ);
        }
    }

    /** Runs {@link #readReady} after other work (a read loop that stopped with work left, or one asked for). */
    final void scheduleRead() {
        if (!readScheduled) {
            readScheduled = true;
            eventLoop().execute(userUnsafe()); // the unsafe is the task (no task object per channel)
        }
    }

    final void runScheduledRead() {
        readScheduled = false;
        readReady();
    }

    /** AUTO_READ was turned off: forget a pending read, on the event loop (epoll's clearEpollIn). */
    final void clearReadPending() {
        if (isRegistered() && !eventLoop().inEventLoop()) {
            eventLoop().execute(this::clearReadPending0);
        } else {
            clearReadPending0();
        }
    }

    private void clearReadPending0() {
        readPending = false;
        if (isRegistered()) {
            readDone();
        }
    }

    // ------------------------------------------------------------------ state and addresses

    @Override
    public final boolean isOpen() {
        return open;
    }

    /** Marks the channel closed; returns whether it was open. */
    final boolean markClosed() {
        boolean was = open;
        open = false;
        return was;
    }

    @Override
    protected final SocketAddress localAddress0() {
        InetSocketAddress a = localAddress;
        return a != null ? a : connectedLocalAddress();
    }

    @Override
    protected final SocketAddress remoteAddress0() {
        InetSocketAddress a = remoteAddress;
        return a != null ? a : connectedRemoteAddress();
    }

    /** The local address of the socket when {@link #localAddress} is not set, made on request; null if none. */
    InetSocketAddress connectedLocalAddress() {
        return null;
    }

    /** The remote address of the socket when {@link #remoteAddress} is not set, made on request; null if none. */
    InetSocketAddress connectedRemoteAddress() {
        return null;
    }

    /**
     * {@code a} as an {@link InetSocketAddress}; anything else is refused with an
     * {@link IllegalArgumentException}, as is an unresolved address unless {@code unresolvedOk}.
     */
    static InetSocketAddress checkAddress(SocketAddress a, boolean unresolvedOk) {
        if (!(a instanceof InetSocketAddress)) {
            throw new IllegalArgumentException("usertcp takes InetSocketAddress, not "
                    + (a == null ? "null" : a.getClass().getName()));
        }
        InetSocketAddress i = (InetSocketAddress) a;
        if (i.isUnresolved() && !unresolvedOk) {
            throw new IllegalArgumentException("unresolved address " + i
                    + ": usertcp does no name lookups; resolve it first or use an IP literal");
        }
        return i;
    }

    /** {@code a}'s IP address, or null for none or the wildcard (0.0.0.0, ::): any address of the stack. */
    static IpAddress localIp(InetSocketAddress a) {
        return a == null || a.getAddress() == null || a.getAddress().isAnyLocalAddress()
                ? null : IpAddress.of(a.getAddress());
    }

    // ------------------------------------------------------------------ the handle

    /**
     * The {@link io.netty.channel.IoHandle} of every usertcp channel (the events go to {@link #handleEvent}), and its
     * read task.
     */
    abstract class UserUnsafe extends AbstractUnsafe implements UserTcpIoHandler.UserTcpIoHandle, Runnable {
        @Override
        public final void handle(IoRegistration registration, IoEvent event) {
            handleEvent(((UserTcpIoEvent) event).ops().value());
        }

        @Override
        public final void close() {
            close(voidPromise());
        }

        /**
         * The channel: for the unsafes nested statically in the channel classes below, which reach it here rather
         * than hold one more reference to it each (issue #12).
         */
        final AbstractUserChannel owner() {
            return AbstractUserChannel.this;
        }

        /** The scheduled read ({@link #scheduleRead}): the unsafe is the channel's read task. */
        @Override
        public final void run() {
            runScheduledRead();
        }
    }
}
