package io.usertcp.channel;

import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelMetadata;
import io.netty.channel.ChannelPromise;
import io.netty.channel.ConnectTimeoutException;
import io.netty.channel.EventLoop;
import io.netty.channel.RecvByteBufAllocator;
import io.netty.channel.socket.SocketChannel;
import io.netty.util.concurrent.Future;
import io.usertcp.stack.Stack;
import io.usertcp.stats.ConnectionInfo;
import io.usertcp.tcp.TcpConnection;
import io.usertcp.tcp.TcpSocket;
import io.usertcp.tcp.TcpTable;
import io.usertcp.wire.IpAddress;

import java.io.IOException;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.nio.channels.AlreadyConnectedException;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.ConnectionPendingException;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * A TCP connection of a usertcp stack as a Netty {@link SocketChannel}: accepted by a
 * {@link UserTcpServerChannel}, or opened with {@link io.netty.bootstrap.Bootstrap#connect}.
 *
 * <p>Writes are copied into the connection's send buffer as far as SO_SNDBUF allows; the rest waits in
 * Netty's outbound buffer (so writability follows the water marks) until ACKs make room. Reads go through
 * the channel's {@link RecvByteBufAllocator}; with AUTO_READ off, unread data stays in the stack and its
 * receive window closes, which stops the sender.
 *
 * <p>Events come in the order Netty's epoll transport gives them: the peer's FIN is read (with whatever data
 * precedes it) even with AUTO_READ off; then, with ALLOW_HALF_CLOSURE, {@code ChannelInputShutdownEvent} and
 * exactly one {@code ChannelInputShutdownReadComplete} follow and the channel stays open for writing; without
 * it, the channel closes. A reset is reported as {@code exceptionCaught} with an {@link IOException}.
 * SO_LINGER 0 makes {@code close()} reset the connection instead of sending FIN.
 */
public final class UserTcpChannel extends AbstractUserStreamChannel implements SocketChannel {
    private static final ChannelMetadata METADATA = new ChannelMetadata(false, 16);
    /** Takes an accepted connection's events until the channel is registered: its state is looked at then. */
    private static final TcpSocket.Handler BEFORE_REGISTRATION = events -> { };

    private final UserTcpChannelConfig config;
    private ChannelPromise connectPromise;
    private Future<?> connectTimeoutFuture;
    /** An accepted child's home: the loop whose stack holds its connection (null for a channel that connects). */
    private volatile EventLoop home;

    /** A new, unconnected channel (for {@link io.netty.bootstrap.Bootstrap}). */
    public UserTcpChannel() {
        super(null);
        this.config = new UserTcpChannelConfig(this, 0, 0);
    }

    /** An accepted connection, held by the stack of {@code home} (the loop it must be registered with). */
    UserTcpChannel(UserTcpServerChannel parent, TcpConnection connection, EventLoop home) {
        super(parent);
        this.home = home;
        int inherited = parent.config().getReceiveBufferSize();
        if (inherited > 0) {
            connection.receiveBufferSize(inherited); // as accepted kernel sockets inherit the listener's
        }
        this.config = new UserTcpChannelConfig(this, connection.receiveBufferSize(), connection.sendBufferSize());
        this.connection = connection;
        this.active = true; // its addresses are made from the connection when asked for
        connection.handler(BEFORE_REGISTRATION);
    }

    @Override
    public UserTcpServerChannel parent() {
        return (UserTcpServerChannel) super.parent();
    }

    @Override
    public UserTcpChannelConfig config() {
        return config;
    }

    @Override
    public ChannelMetadata metadata() {
        return METADATA;
    }

    /**
     * Bytes of urgent data not yet read (RFC 9293 §3.8.5, MUST-33; see {@link UrgentDataEvent}); 0 when none or
     * not connected. Call it on the channel's event loop (from a handler), where the stack lives.
     *
     * @throws IllegalStateException if called from another thread
     */
    public int urgentBytes() {
        if (!eventLoop().inEventLoop()) {
            throw new IllegalStateException("urgentBytes() reads the stack's state: call it on the channel's event "
                    + "loop, e.g. from a ChannelHandler");
        }
        TcpConnection c = connection;
        return c == null ? 0 : c.urgentBytes();
    }

    /**
     * A snapshot of the connection's TCP state, as Netty's {@code EpollSocketChannel.tcpInfo()} gives the kernel's
     * {@code struct tcp_info}: state, queues, SRTT/RTTVAR/RTO, cwnd, ssthresh, retransmissions, the pending timer,
     * the negotiated options, bytes acknowledged and received (see {@link ConnectionInfo}). The stack lives on the
     * channel's event loop, so call it there (from a handler); from another thread use
     * {@code channel.eventLoop().submit(channel::tcpInfo)}.
     *
     * @return the snapshot, or null before connect
     * @throws IllegalStateException if called from another thread
     */
    public ConnectionInfo tcpInfo() {
        if (!eventLoop().inEventLoop()) {
            throw new IllegalStateException("tcpInfo() reads the stack's state: call it on the channel's event loop, "
                    + "e.g. from a ChannelHandler, or use channel.eventLoop().submit(channel::tcpInfo)");
        }
        TcpConnection c = connection;
        return c == null ? null : TcpTable.row(c);
    }

    @Override
    public InetSocketAddress localAddress() {
        return (InetSocketAddress) super.localAddress();
    }

    @Override
    public InetSocketAddress remoteAddress() {
        return (InetSocketAddress) super.remoteAddress();
    }

    /** The stack's connection, or null before connect. */
    public TcpConnection connection() {
        return connection;
    }

    @Override
    protected AbstractUnsafe newUnsafe() {
        return new SocketUnsafe(this);
    }

    /**
     * The channel's unsafe as Netty sees it: its own, except that an accepted child not registered yet gets a
     * {@link HomeLoopUnsafe} around it, made for the call (Netty registers a channel through
     * {@code channel.unsafe().register}), so that it registers with its home loop. No wrapper is kept: an idle
     * channel holds none (issue #12). (Called during AbstractChannel's constructor too, before {@link #home} is set.)
     */
    @Override
    public Unsafe unsafe() {
        Unsafe own = super.unsafe();
        EventLoop h = home;
        return h == null || isRegistered() ? own : new HomeLoopUnsafe(own, h);
    }

    /** An accepted child's home loop (see {@link #unsafe()}), or null. */
    EventLoop homeLoop() {
        return home;
    }

    @Override
    UserUnsafe userUnsafe() {
        return (UserUnsafe) super.unsafe();
    }

    @Override
    String checkOwner(Stack stack) {
        TcpConnection c = connection;
        return c == null || c.layer() == stack.tcp() ? null
                : "this connection belongs to the usertcp stack of another event loop: a usertcp channel can only be "
                + "served by the loop that owns its stack. Give ServerBootstrap the same usertcp group for parent "
                + "and children: group(group) rather than group(bossGroup, otherGroup)";
    }

    @Override
    void registered(UserTcpIoRegistration r) {
        TcpConnection c = connection;
        if (c != null) {
            config.applyTo(c); // options set on an accepted child before it was registered
            r.watch(c);
            if (c.isClosed()) {
                // A FIN or reset that came before registration: epoll would report EPOLLRDHUP/EPOLLERR now.
                r.readyLater(UserTcpIoOps.CLOSED.value());
            } else if (c.isFinReceived()) {
                r.readyLater(UserTcpIoOps.INPUT_CLOSED.value());
            }
        }
    }

    // ------------------------------------------------------------------ config hooks

    /**
     * Runs {@code action} on the connection, on the event loop. Before there is a registered connection it
     * does nothing: registration (an accepted child, whose options ServerBootstrap sets before registering it)
     * and connect apply the whole config instead.
     */
    void applyToConnection(Consumer<TcpConnection> action) {
        TcpConnection c = connection;
        if (c != null && isRegistered()) {
            if (eventLoop().inEventLoop()) {
                action.accept(c);
            } else {
                eventLoop().execute(() -> action.accept(c));
            }
        }
    }

    // ------------------------------------------------------------------ bind / connect

    @Override
    protected void doBind(SocketAddress local) {
        localAddress = checkAddress(local, false); // what connect binds to
    }

    private void doConnect(SocketAddress remote, SocketAddress local) throws IOException {
        InetSocketAddress r = checkAddress(remote, false);
        InetSocketAddress l = local != null ? checkAddress(local, false) : localAddress; // as bound, if it was
        int lport = l == null ? 0 : l.getPort();
        TcpConnection c = stack().tcp().connect(localIp(l), lport, IpAddress.of(r.getAddress()), r.getPort(),
                config.getReceiveBufferSize(), config.getSendBufferSize(), config.getTrafficClass());
        userRegistration().watch(c);
        setInterest(UserTcpIoOps.CONNECT);
        config.applyTo(c); // TCP_NODELAY, SO_KEEPALIVE (the buffer sizes went with the SYN)
        connection = c;
        remoteAddress = r;
        localAddress = null; // the connection's, made when asked for
    }

    /** CONNECT ready: as NIO's finishConnect, the interest goes and the promise completes. */
    @Override
    void connectReady() {
        clearInterest(UserTcpIoOps.CONNECT);
        ChannelPromise p = connectPromise;
        if (p == null) {
            return;
        }
        connectPromise = null;
        cancelConnectTimeout();
        TcpConnection c = connection;
        if (c != null && c.isEstablished()) {
            active = true;
            boolean set = p.trySuccess();
            pipeline().fireChannelActive();
            if (!set) {
                unsafe().close(unsafe().voidPromise());
            }
        } else {
            Throwable cause = c != null && c.error() != null ? c.error()
                    : new ConnectException("Connection refused: " + remoteAddress);
            p.tryFailure(cause);
            unsafe().close(unsafe().voidPromise());
        }
    }

    private void cancelConnectTimeout() {
        if (connectTimeoutFuture != null) {
            connectTimeoutFuture.cancel(false);
            connectTimeoutFuture = null;
        }
    }

    @Override
    void connectClosed() {
        ChannelPromise p = connectPromise;
        if (p != null) {
            connectPromise = null;
            p.tryFailure(new ClosedChannelException());
        }
        cancelConnectTimeout();
    }

    /** The channel's own unsafe: connect. (Static: see {@link UserUnsafe#owner()}.) */
    private static final class SocketUnsafe extends StreamUnsafe {
        SocketUnsafe(UserTcpChannel channel) {
            super(channel);
        }

        @Override
        public void connect(SocketAddress remote, SocketAddress local, ChannelPromise promise) {
            // As epoll and NIO: the promise stays cancellable (cancelling closes the channel, see below).
            if (promise.isDone() || !ensureOpen(promise)) {
                return;
            }
            UserTcpChannel ch = (UserTcpChannel) owner();
            try {
                if (ch.connectPromise != null) {
                    throw new ConnectionPendingException();
                }
                if (ch.connection != null) {
                    throw new AlreadyConnectedException();
                }
                ch.doConnect(remote, local);
                ch.connectPromise = promise;
                int timeoutMillis = ch.config.getConnectTimeoutMillis();
                if (timeoutMillis > 0) {
                    ch.connectTimeoutFuture = ch.eventLoop().schedule(() -> {
                        ChannelPromise cp = ch.connectPromise;
                        if (cp != null && !cp.isDone() && cp.tryFailure(new ConnectTimeoutException(
                                "connection timed out after " + timeoutMillis + " ms: " + remote))) {
                            ch.connectPromise = null;
                            close(voidPromise());
                        }
                    }, timeoutMillis, TimeUnit.MILLISECONDS);
                }
                promise.addListener((ChannelFutureListener) f -> {
                    if (f.isCancelled()) {
                        if (ch.connectTimeoutFuture != null) {
                            ch.connectTimeoutFuture.cancel(false);
                        }
                        ch.connectPromise = null;
                        close(voidPromise());
                    }
                });
            } catch (Throwable t) {
                promise.tryFailure(annotateConnectException(t, remote));
                closeIfClosed();
            }
        }
    }
}
