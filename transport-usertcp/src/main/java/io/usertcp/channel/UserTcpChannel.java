package io.usertcp.channel;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.netty.channel.AbstractChannel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelMetadata;
import io.netty.channel.ChannelOutboundBuffer;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.ChannelPromise;
import io.netty.channel.ConnectTimeoutException;
import io.netty.channel.EventLoop;
import io.netty.channel.FileRegion;
import io.netty.channel.IoEvent;
import io.netty.channel.IoEventLoop;
import io.netty.channel.IoRegistration;
import io.netty.channel.RecvByteBufAllocator;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.channel.socket.ChannelInputShutdownReadComplete;
import io.netty.channel.socket.SocketChannel;
import io.netty.util.concurrent.Future;
import io.usertcp.stack.Stack;
import io.usertcp.tcp.TcpConnection;
import io.usertcp.wire.IpAddress;
import io.usertcp.tcp.TcpSocket;

import java.io.IOException;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.ConnectionPendingException;
import java.nio.channels.NotYetConnectedException;
import java.nio.channels.WritableByteChannel;
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
public final class UserTcpChannel extends AbstractChannel implements SocketChannel {
    private static final ChannelMetadata METADATA = new ChannelMetadata(false, 16);

    private final UserTcpChannelConfig config;
    private IoRegistration registration;
    private UserTcpIoHandler ioHandler;
    private volatile TcpConnection connection;
    private volatile boolean open = true;
    private volatile boolean active;
    private volatile boolean inputShutdown;
    private volatile boolean outputShutdown;
    private volatile InetSocketAddress localAddress;
    private volatile InetSocketAddress remoteAddress;
    private InetSocketAddress requestedLocal;
    private boolean readPending;
    private boolean readScheduled;
    private boolean inputClosedSeenErrorOnRead;
    private ChannelPromise connectPromise;
    private Future<?> connectTimeoutFuture;
    private final Runnable readTask = this::runScheduledRead;

    /** A new, unconnected channel (for {@link io.netty.bootstrap.Bootstrap}). */
    public UserTcpChannel() {
        super(null);
        this.config = new UserTcpChannelConfig(this, 0, 0);
    }

    /** An accepted connection. */
    UserTcpChannel(UserTcpServerChannel parent, TcpConnection connection) {
        super(parent);
        int inherited = parent.config().getReceiveBufferSize();
        if (inherited > 0) {
            connection.receiveBufferSize(inherited); // as accepted kernel sockets inherit the listener's
        }
        this.config = new UserTcpChannelConfig(this, connection.receiveBufferSize(), connection.sendBufferSize());
        this.connection = connection;
        this.active = true;
        this.localAddress = connection.localAddress();
        this.remoteAddress = connection.remoteAddress();
        connection.handler(this::onTcpEvents);
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

    @Override
    public boolean isOpen() {
        return open;
    }

    @Override
    public boolean isActive() {
        return open && active;
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

    @Override
    public InetSocketAddress localAddress() {
        return (InetSocketAddress) super.localAddress();
    }

    @Override
    public InetSocketAddress remoteAddress() {
        return (InetSocketAddress) super.remoteAddress();
    }

    @Override
    protected SocketAddress localAddress0() {
        return localAddress;
    }

    @Override
    protected SocketAddress remoteAddress0() {
        return remoteAddress;
    }

    /** The stack's connection, or null before connect. */
    public TcpConnection connection() {
        return connection;
    }

    @Override
    protected boolean isCompatible(EventLoop loop) {
        return loop instanceof IoEventLoop && ((IoEventLoop) loop).isCompatible(SocketUnsafe.class);
    }

    @Override
    protected AbstractUnsafe newUnsafe() {
        return new SocketUnsafe();
    }

    @Override
    protected void doRegister(ChannelPromise promise) {
        TcpConnection c = connection;
        Registrations.register(eventLoop(), (SocketUnsafe) unsafe(), promise,
                h -> c == null || c.layer() == h.stack().tcp(),
                "this connection belongs to the usertcp stack of another event loop: a usertcp channel can only be "
                        + "served by the loop that owns its stack. Give ServerBootstrap the same single-thread usertcp "
                        + "group for parent and children: group(group) rather than group(bossGroup, otherGroup)",
                r -> {
                    registration = r;
                    ioHandler = r.attachment();
                    if (c != null) {
                        config.applyTo(c); // options set on an accepted child before it was registered
                    }
                    promise.setSuccess();
                    if (c != null && (c.isFinReceived() || c.isClosed())) {
                        // A FIN or reset that came before registration: epoll would report EPOLLRDHUP/EPOLLERR now.
                        eventLoop().execute(() -> readReady(true));
                    }
                });
    }

    @Override
    protected void doDeregister() {
        registration = Registrations.cancel(registration);
    }

    // ------------------------------------------------------------------ config hooks

    /**
     * Runs {@code action} on the connection, on the event loop. Before there is a registered connection it
     * does nothing: doRegister (an accepted child, whose options ServerBootstrap sets before registering it)
     * and doConnect apply the whole config instead.
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

    void clearReadPending() {
        if (isRegistered() && !eventLoop().inEventLoop()) {
            eventLoop().execute(() -> readPending = false);
        } else {
            readPending = false;
        }
    }

    // ------------------------------------------------------------------ bind / connect

    static InetSocketAddress checkAddress(SocketAddress a) {
        if (!(a instanceof InetSocketAddress)) {
            throw new IllegalArgumentException("usertcp takes InetSocketAddress, not "
                    + (a == null ? "null" : a.getClass().getName()));
        }
        InetSocketAddress i = (InetSocketAddress) a;
        if (i.isUnresolved()) {
            throw new IllegalArgumentException("unresolved address " + i
                    + ": usertcp does no name lookups; resolve it first or use an IP literal");
        }
        return i;
    }

    @Override
    protected void doBind(SocketAddress local) {
        requestedLocal = checkAddress(local);
        localAddress = requestedLocal;
    }

    private boolean doConnect(SocketAddress remote, SocketAddress local) throws IOException {
        InetSocketAddress r = checkAddress(remote);
        InetSocketAddress l = local != null ? checkAddress(local) : requestedLocal;
        IpAddress lip = l == null || l.getAddress().isAnyLocalAddress() ? null : IpAddress.of(l.getAddress());
        int lport = l == null ? 0 : l.getPort();
        Stack stack = ioHandler.stack();
        TcpConnection c = stack.tcp().connect(lip, lport, IpAddress.of(r.getAddress()), r.getPort(),
                config.getReceiveBufferSize(), config.getSendBufferSize(), config.getTrafficClass());
        c.handler(this::onTcpEvents);
        config.applyTo(c); // TCP_NODELAY, SO_KEEPALIVE (the buffer sizes went with the SYN)
        connection = c;
        remoteAddress = r;
        localAddress = c.localAddress();
        return false;
    }

    private void finishConnect() {
        ChannelPromise p = connectPromise;
        if (p == null) {
            return;
        }
        connectPromise = null;
        if (connectTimeoutFuture != null) {
            connectTimeoutFuture.cancel(false);
            connectTimeoutFuture = null;
        }
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

    // ------------------------------------------------------------------ events from the stack

    /*
     * The read side mirrors Netty's level-triggered epoll transport (AbstractEpollChannel and
     * AbstractEpollStreamChannel in 4.2):
     *
     * - EV_READABLE is EPOLLIN: it reads only while a read is pending or AUTO_READ is on.
     * - EV_INPUT_CLOSED (the peer's FIN) and EV_CLOSED (reset, timeout) are EPOLLRDHUP / EPOLLERR, which
     *   epoll always reports: they read regardless of AUTO_READ, and once the FIN is in, a read loop runs
     *   until end of input (EpollRecvByteAllocatorHandle#continueReading with receivedRdHup).
     * - At end of input, with ALLOW_HALF_CLOSURE, ChannelInputShutdownEvent and then exactly one
     *   ChannelInputShutdownReadComplete are fired (epoll's shutdownInput(true)); without, the channel closes.
     * - A reset is a read error: channelReadComplete, exceptionCaught, then the same end-of-input handling
     *   (epoll's handleReadException).
     */

    private void onTcpEvents(int events) {
        if (!isRegistered()) {
            return; // looked at again when registered (see doRegister)
        }
        if ((events & TcpSocket.EV_CONNECTED) != 0) {
            finishConnect();
        }
        if ((events & TcpSocket.EV_WRITABLE) != 0 && isActive()) {
            ((SocketUnsafe) unsafe()).writable();
        }
        if ((events & TcpSocket.EV_URGENT) != 0 && connection != null && connection.urgentBytes() > 0) {
            // RFC 9293 §3.8.5 (MUST-32): told before the data it marks is read, which stays in line.
            pipeline().fireUserEventTriggered(new UrgentDataEvent(connection.urgentBytes()));
        }
        if ((events & (TcpSocket.EV_INPUT_CLOSED | TcpSocket.EV_CLOSED)) != 0) {
            readReady(true);
        } else if ((events & TcpSocket.EV_READABLE) != 0) {
            readReady(false);
        }
    }

    private void scheduleRead() {
        if (!readScheduled) {
            readScheduled = true;
            eventLoop().execute(readTask);
        }
    }

    private void runScheduledRead() {
        readScheduled = false;
        readReady(false);
    }

    /** As epoll's shouldBreakEpollInReady: input is shut down and nothing more is to be reported. */
    private boolean shouldBreakReadReady() {
        return inputShutdown && (inputClosedSeenErrorOnRead || !config.isAllowHalfClosure());
    }

    /** True when a read attempt would not come back empty-handed: data, end of input, or an error. */
    private static boolean hasReadWork(TcpConnection c) {
        return c.readableBytes() > 0 || c.isInputEnded() || c.isClosed();
    }

    /**
     * One read loop (epoll's epollInReady). {@code hangUp}: the peer's FIN or a reset was signalled, which
     * is read whether or not a read is pending.
     */
    private void readReady(boolean hangUp) {
        TcpConnection c = connection;
        if (c == null || !isActive()) {
            return; // a failed connect is reported by finishConnect
        }
        if (shouldBreakReadReady()) {
            readPending = false;
            return;
        }
        if (!hangUp && !readPending && !config.isAutoRead() || !hasReadWork(c)) {
            return; // AUTO_READ off and nobody asked: the data waits and the window closes
        }
        ChannelPipeline p = pipeline();
        RecvByteBufAllocator.Handle h = unsafe().recvBufAllocHandle();
        h.reset(config);
        ByteBufAllocator alloc = config.getAllocator();
        boolean allDataRead = false;
        Throwable error = null;
        for (;;) {
            if (c.readableBytes() == 0) {
                if (c.isInputEnded() || c.isClosed()) {
                    // EOF (read() returning -1), or the reset that ECONNRESET reports.
                    readPending = false;
                    if (c.error() != null && !inputShutdown) {
                        error = c.error();
                    } else {
                        allDataRead = true;
                    }
                }
                break;
            }
            ByteBuf b = h.allocate(alloc);
            h.attemptedBytesRead(b.writableBytes());
            h.lastBytesRead(c.read(b));
            h.incMessagesRead(1);
            readPending = false;
            p.fireChannelRead(b);
            if (shouldBreakReadReady() || !isOpen()) {
                break;
            }
            // After the FIN, read to the end as epoll does after EPOLLRDHUP.
            if (!c.isFinReceived() && !c.isClosed() && !h.continueReading()) {
                break;
            }
        }
        h.readComplete();
        p.fireChannelReadComplete();
        if (error != null) {
            p.fireExceptionCaught(error);
            shutdownInputOnRead(true);
        } else if (allDataRead) {
            shutdownInputOnRead(true);
        } else if (isOpen() && c.readableBytes() > 0 && (readPending || config.isAutoRead())) {
            scheduleRead(); // more than one read's worth: continue after other work (level-triggered EPOLLIN)
        }
    }

    /** Epoll's shutdownInput(allDataRead): end of input reached on a read. */
    private void shutdownInputOnRead(boolean allDataRead) {
        ChannelPipeline p = pipeline();
        if (!inputShutdown) {
            if (config.isAllowHalfClosure()) {
                inputShutdown = true;
                p.fireUserEventTriggered(ChannelInputShutdownEvent.INSTANCE);
            } else {
                unsafe().close(unsafe().voidPromise());
                return;
            }
        }
        if (allDataRead && !inputClosedSeenErrorOnRead) {
            inputClosedSeenErrorOnRead = true;
            p.fireUserEventTriggered(ChannelInputShutdownReadComplete.INSTANCE);
        }
    }

    @Override
    protected void doBeginRead() {
        // As epoll: mark the read pending and make sure what is already there is seen (EPOLLIN is level-triggered).
        readPending = true;
        TcpConnection c = connection;
        if (c != null && hasReadWork(c)) {
            scheduleRead();
        }
    }

    // ------------------------------------------------------------------ write

    @Override
    protected Object filterOutboundMessage(Object msg) {
        if (msg instanceof ByteBuf || msg instanceof FileRegion) {
            return msg;
        }
        throw new UnsupportedOperationException("unsupported message type: " + msg.getClass().getName()
                + " (usertcp channels write ByteBuf and FileRegion)");
    }

    @Override
    protected void doWrite(ChannelOutboundBuffer in) throws Exception {
        TcpConnection c = connection;
        if (c == null) {
            throw new ClosedChannelException();
        }
        boolean wrote = false;
        try {
            for (;;) {
                Object msg = in.current();
                if (msg == null) {
                    break;
                }
                if (msg instanceof ByteBuf) {
                    ByteBuf buf = (ByteBuf) msg;
                    if (!buf.isReadable()) {
                        in.remove();
                        continue;
                    }
                    int n = c.write(buf);
                    if (n > 0) {
                        wrote = true;
                        in.progress(n);
                    }
                    if (buf.isReadable()) {
                        break; // send buffer full: EV_WRITABLE resumes the flush
                    }
                    in.remove();
                } else {
                    FileRegion region = (FileRegion) msg;
                    if (region.transferred() >= region.count()) {
                        in.remove();
                        continue;
                    }
                    long n = region.transferTo(new ConnectionByteChannel(c), region.transferred());
                    if (n > 0) {
                        wrote = true;
                        in.progress(n);
                    }
                    if (region.transferred() < region.count()) {
                        if (n <= 0 && c.writableBytes() > 0) {
                            throw new IOException("FileRegion " + region + " made no progress");
                        }
                        break;
                    }
                    in.remove();
                }
            }
        } finally {
            if (wrote) {
                c.push();
            }
        }
    }

    /** Lets a {@link FileRegion} write into the connection's send buffer. */
    private static final class ConnectionByteChannel implements WritableByteChannel {
        private final TcpConnection c;

        ConnectionByteChannel(TcpConnection c) {
            this.c = c;
        }

        @Override
        public int write(ByteBuffer src) throws IOException {
            ByteBuf b = Unpooled.wrappedBuffer(src);
            int n = c.write(b);
            src.position(src.position() + n);
            return n;
        }

        @Override
        public boolean isOpen() {
            return !c.isClosed();
        }

        @Override
        public void close() {
        }
    }

    // ------------------------------------------------------------------ shutdown and close

    @Override
    protected void doShutdownOutput() throws Exception {
        TcpConnection c = checkConnected();
        outputShutdown = true;
        c.shutdownOutput(); // FIN after what the send buffer holds
    }

    /** The connection, or what NIO's {@code SocketChannel.shutdownInput/Output} throws when there is none. */
    private TcpConnection checkConnected() throws IOException {
        if (!isOpen()) {
            throw new ClosedChannelException();
        }
        TcpConnection c = connection;
        if (c == null || !active) {
            throw new NotYetConnectedException();
        }
        return c;
    }

    @Override
    public boolean isInputShutdown() {
        return inputShutdown || !isActive();
    }

    @Override
    public boolean isOutputShutdown() {
        return outputShutdown || !isActive();
    }

    @Override
    public boolean isShutdown() {
        return isInputShutdown() && isOutputShutdown();
    }

    @Override
    public ChannelFuture shutdownOutput() {
        return shutdownOutput(newPromise());
    }

    @Override
    public ChannelFuture shutdownOutput(ChannelPromise promise) {
        EventLoop loop = eventLoop();
        if (loop.inEventLoop()) {
            ((AbstractUnsafe) unsafe()).shutdownOutput(promise);
        } else {
            loop.execute(() -> ((AbstractUnsafe) unsafe()).shutdownOutput(promise));
        }
        return promise;
    }

    @Override
    public ChannelFuture shutdownInput() {
        return shutdownInput(newPromise());
    }

    @Override
    public ChannelFuture shutdownInput(ChannelPromise promise) {
        EventLoop loop = eventLoop();
        if (loop.inEventLoop()) {
            shutdownInput0(promise);
        } else {
            loop.execute(() -> shutdownInput0(promise));
        }
        return promise;
    }

    private void shutdownInput0(ChannelPromise promise) {
        TcpConnection c;
        try {
            c = checkConnected();
        } catch (IOException | NotYetConnectedException e) {
            promise.setFailure(e);
            return;
        }
        boolean wasShutdown = inputShutdown;
        inputShutdown = true;
        c.shutdownInput(); // unread and later data is dropped
        promise.setSuccess();
        if (!wasShutdown && config.isAllowHalfClosure()) {
            // Linux then reports EPOLLRDHUP, and epoll's read finds end of input: channelReadComplete and
            // ChannelInputShutdownReadComplete follow (no ChannelInputShutdownEvent: input was shut down here).
            eventLoop().execute(() -> readReady(true));
        }
    }

    @Override
    public ChannelFuture shutdown() {
        return shutdown(newPromise());
    }

    @Override
    public ChannelFuture shutdown(ChannelPromise promise) {
        ChannelFuture out = shutdownOutput();
        out.addListener((ChannelFutureListener) f -> {
            ChannelFuture in = shutdownInput();
            in.addListener((ChannelFutureListener) f2 -> {
                Throwable a = f.cause();
                Throwable b = f2.cause();
                if (a != null) {
                    if (b != null) {
                        a.addSuppressed(b);
                    }
                    promise.setFailure(a);
                } else if (b != null) {
                    promise.setFailure(b);
                } else {
                    promise.setSuccess();
                }
            });
        });
        return promise;
    }

    @Override
    protected void doDisconnect() {
        doClose();
    }

    @Override
    protected void doClose() {
        boolean wasOpen = open;
        open = false;
        active = false;
        ChannelPromise p = connectPromise;
        if (p != null) {
            connectPromise = null;
            p.tryFailure(new ClosedChannelException());
        }
        if (connectTimeoutFuture != null) {
            connectTimeoutFuture.cancel(false);
            connectTimeoutFuture = null;
        }
        TcpConnection c = connection;
        if (c != null && wasOpen) {
            if (config.getSoLinger() == 0) {
                c.abort();
            } else {
                c.close();
            }
            c.releaseBuffers();
        }
    }

    private final class SocketUnsafe extends AbstractUnsafe implements UserTcpIoHandler.UserTcpIoHandle {

        void writable() {
            super.flush0();
        }

        @Override
        public void connect(SocketAddress remote, SocketAddress local, ChannelPromise promise) {
            // As epoll and NIO: the promise stays cancellable (cancelling closes the channel, see below).
            if (promise.isDone() || !ensureOpen(promise)) {
                return;
            }
            try {
                if (connectPromise != null) {
                    throw new ConnectionPendingException();
                }
                if (connection != null) {
                    throw new java.nio.channels.AlreadyConnectedException();
                }
                doConnect(remote, local);
                connectPromise = promise;
                int timeoutMillis = config.getConnectTimeoutMillis();
                if (timeoutMillis > 0) {
                    connectTimeoutFuture = eventLoop().schedule(() -> {
                        ChannelPromise cp = connectPromise;
                        if (cp != null && !cp.isDone() && cp.tryFailure(new ConnectTimeoutException(
                                "connection timed out after " + timeoutMillis + " ms: " + remote))) {
                            connectPromise = null;
                            close(voidPromise());
                        }
                    }, timeoutMillis, TimeUnit.MILLISECONDS);
                }
                promise.addListener((ChannelFutureListener) f -> {
                    if (f.isCancelled()) {
                        if (connectTimeoutFuture != null) {
                            connectTimeoutFuture.cancel(false);
                        }
                        connectPromise = null;
                        close(voidPromise());
                    }
                });
            } catch (Throwable t) {
                promise.tryFailure(annotateConnectException(t, remote));
                closeIfClosed();
            }
        }

        @Override
        public void handle(IoRegistration registration, IoEvent ioEvent) {
            // Readiness arrives through TcpSocket events; nothing is submitted per operation.
        }

        @Override
        public void close() {
            close(voidPromise());
        }
    }
}
