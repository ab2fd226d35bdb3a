package io.usertcp.channel;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelOutboundBuffer;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.ChannelPromise;
import io.netty.channel.EventLoop;
import io.netty.channel.FileRegion;
import io.netty.channel.RecvByteBufAllocator;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.channel.socket.ChannelInputShutdownReadComplete;
import io.netty.channel.socket.DuplexChannel;
import io.usertcp.tcp.TcpConnection;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.NotYetConnectedException;

/**
 * A usertcp stream channel over a {@link TcpConnection} (as Netty's {@code AbstractEpollStreamChannel}): the read
 * loop, writes of {@link ByteBuf}s and {@link FileRegion}s into the send buffer, half-closure and close. The
 * connect side (and the accepted child's construction) is {@link UserTcpChannel}'s.
 */
abstract class AbstractUserStreamChannel extends AbstractUserChannel implements DuplexChannel {
    /**
     * Bytes one read loop takes at most (besides the {@link RecvByteBufAllocator}'s limits) before the other
     * connections of the loop get their turn; what is left is read on later turns (see {@link #readLoopBudget}).
     */
    static final int READ_LOOP_BYTES = 64 * 1024;
    /** How many read loops' worth a connection that has had the event loop to itself for a while takes at once. */
    static final int SOLO_READ_LOOPS = 4;
    volatile TcpConnection connection;
    volatile boolean active;
    private volatile boolean inputShutdown;
    private volatile boolean outputShutdown;
    private boolean inputClosedSeenErrorOnRead;
    /** Set while {@link #readReady} reads and tells the pipeline. */
    private boolean inReadLoop;

    AbstractUserStreamChannel(UserTcpServerChannel parent) {
        super(parent);
    }

    @Override
    public abstract UserTcpChannelConfig config();

    @Override
    public boolean isActive() {
        return isOpen() && active;
    }

    @Override
    final InetSocketAddress connectedLocalAddress() {
        TcpConnection c = connection;
        return c == null ? null : c.localAddress();
    }

    @Override
    final InetSocketAddress connectedRemoteAddress() {
        TcpConnection c = connection;
        return c == null ? null : c.remoteAddress();
    }

    // ------------------------------------------------------------------ events from the stack

    /*
     * The read side mirrors Netty's level-triggered epoll transport (AbstractEpollChannel and
     * AbstractEpollStreamChannel in 4.2):
     *
     * - READ is EPOLLIN: it is reported while READ interest is on (a read is pending or AUTO_READ is on), and
     *   reads only then.
     * - INPUT_CLOSED (the peer's FIN) and CLOSED (reset, timeout) are EPOLLRDHUP / EPOLLERR, which epoll
     *   always reports: they read regardless of AUTO_READ, and once the FIN is in, a read loop runs until end
     *   of input (EpollRecvByteAllocatorHandle#continueReading with receivedRdHup).
     * - WRITE is EPOLLOUT: interest is on while a write waits for room in the send buffer, and it flushes.
     * - At end of input, with ALLOW_HALF_CLOSURE, ChannelInputShutdownEvent and then exactly one
     *   ChannelInputShutdownReadComplete are fired (epoll's shutdownInput(true)); without, the channel closes.
     * - A reset is a read error: channelReadComplete, exceptionCaught, then the same end-of-input handling
     *   (epoll's handleReadException).
     */

    @Override
    final void handleEvent(int ops) {
        if (!isRegistered()) {
            return;
        }
        if ((ops & UserTcpIoOps.CONNECT.value()) != 0) {
            connectReady();
        }
        if ((ops & UserTcpIoOps.WRITE.value()) != 0 && isActive()) {
            ((StreamUnsafe) userUnsafe()).flushNow();
        }
        TcpConnection c = connection;
        if ((ops & UserTcpIoOps.URGENT.value()) != 0 && c != null && c.urgentBytes() > 0) {
            // RFC 9293 §3.8.5 (MUST-32): told before the data it marks is read, which stays in line.
            pipeline().fireUserEventTriggered(new UrgentDataEvent(c.urgentBytes()));
        }
        if ((ops & (UserTcpIoOps.INPUT_CLOSED.value() | UserTcpIoOps.CLOSED.value())) != 0) {
            readReady(true);
        } else if ((ops & UserTcpIoOps.READ.value()) != 0) {
            readReady(false);
        }
    }

    /** The active open completed or failed (CONNECT ready). */
    abstract void connectReady();

    /** As epoll's shouldBreakEpollInReady: input is shut down and nothing more is to be reported. */
    private boolean shouldBreakReadReady() {
        return inputShutdown && (inputClosedSeenErrorOnRead || !config().isAllowHalfClosure());
    }

    @Override
    final boolean hasReadWork() {
        TcpConnection c = connection;
        return c != null && (c.readableBytes() > 0 || c.isInputEnded() || c.isClosed());
    }

    @Override
    final void readReady() {
        readReady(false);
    }

    /**
     * One read loop (epoll's epollInReady). {@code hangUp}: the peer's FIN or a reset was signalled, which
     * is read whether or not a read is pending.
     */
    final void readReady(boolean hangUp) {
        TcpConnection c = connection;
        if (c == null || !isActive()) {
            return; // a failed connect is reported by connectReady
        }
        if (shouldBreakReadReady()) {
            readPending = false;
            readDone();
            return;
        }
        if (!hangUp && !wantsRead() || !hasReadWork()) {
            return; // AUTO_READ off and nobody asked: the data waits and the window closes
        }
        UserTcpChannelConfig config = config();
        ChannelPipeline p = pipeline();
        RecvByteBufAllocator.Handle h = unsafe().recvBufAllocHandle();
        h.reset(config);
        ByteBufAllocator alloc = config.getAllocator();
        boolean allDataRead = false;
        Throwable error = null;
        int budget = readLoopBudget(c);
        inReadLoop = true;
        try {
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
                int max = budget > 0 ? budget : Integer.MAX_VALUE; // spent: only after the FIN, read to the end
                h.attemptedBytesRead(Math.min(b.writableBytes(), max));
                int n = c.read(b, max);
                h.lastBytesRead(n);
                h.incMessagesRead(1);
                budget -= n;
                readPending = false;
                p.fireChannelRead(b);
                if (shouldBreakReadReady() || !isOpen()) {
                    break;
                }
                // After the FIN, read to the end as epoll does after EPOLLRDHUP.
                if (!c.isFinReceived() && !c.isClosed() && (budget <= 0 || !h.continueReading())) {
                    break;
                }
            }
            h.readComplete();
            p.fireChannelReadComplete();
        } finally {
            inReadLoop = false;
        }
        if (error != null) {
            p.fireExceptionCaught(error);
            shutdownInputOnRead(true);
        } else if (allDataRead) {
            shutdownInputOnRead(true);
        } else if (isOpen() && c.readableBytes() > 0 && wantsRead()) {
            // More than one read loop's worth: told again on the loop's next turn, behind the connections its
            // input makes ready (level-triggered EPOLLIN, reported again by the next epoll_wait).
            c.signalNextTurn(TcpConnection.EV_READABLE);
        }
        if (isRegistered()) {
            readDone();
        }
    }

    /**
     * What one read loop takes at most: {@link #READ_LOOP_BYTES} rounded down to whole segments of the
     * connection's MSS (at least one), so that an application that writes back or forwards what it reads (an
     * echo, a proxy) writes whole segments, not a short one after every read loop (one more frame per 64 KiB);
     * {@link #SOLO_READ_LOOPS} times that for a connection that has had the loop to itself for a while
     * ({@link io.usertcp.stack.Stack#hadTheLoopAlone}): larger writes, fewer wake-ups of its peer, while nobody
     * waits behind it.
     */
    private int readLoopBudget(TcpConnection c) {
        int segment = Math.max(1, c.mss());
        int budget = Math.max(segment, READ_LOOP_BYTES / segment * segment);
        UserTcpIoRegistration r = userRegistration();
        return r != null && r.ioHandler().stack().hadTheLoopAlone(c) ? SOLO_READ_LOOPS * budget : budget;
    }

    /**
     * A read asked for while the read loop runs (its channelReadComplete asks again with AUTO_READ on) is left to
     * the loop's end, which has what is left told on the next turn: a task here would run before the event loop
     * reads its link again, read loop after read loop, one connection draining its whole receive queue while a
     * request on another waits.
     */
    @Override
    final void readLater() {
        if (!inReadLoop) {
            scheduleRead();
        }
    }

    /** Epoll's shutdownInput(allDataRead): end of input reached on a read. */
    private void shutdownInputOnRead(boolean allDataRead) {
        ChannelPipeline p = pipeline();
        if (!inputShutdown) {
            if (config().isAllowHalfClosure()) {
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

    // ------------------------------------------------------------------ write

    @Override
    protected final Object filterOutboundMessage(Object msg) {
        if (msg instanceof ByteBuf || msg instanceof FileRegion) {
            return msg;
        }
        throw new UnsupportedOperationException("unsupported message type: " + msg.getClass().getName()
                + " (usertcp channels write ByteBuf and FileRegion)");
    }

    /**
     * Copies into the send buffer what fits; when it is full, WRITE interest is turned on and the flush resumes
     * when ACKs make room (epoll's setFlag(EPOLLOUT)); once everything is written it is turned off.
     */
    @Override
    protected final void doWrite(ChannelOutboundBuffer in) throws Exception {
        TcpConnection c = connection;
        if (c == null) {
            throw new ClosedChannelException();
        }
        boolean wrote = false;
        try {
            for (;;) {
                Object msg = in.current();
                if (msg == null) {
                    clearInterest(UserTcpIoOps.WRITE);
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
                        setInterest(UserTcpIoOps.WRITE); // send buffer full: WRITE resumes the flush
                        break;
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
                        setInterest(UserTcpIoOps.WRITE);
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

    // ------------------------------------------------------------------ shutdown and close

    @Override
    protected final void doShutdownOutput() throws Exception {
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
            ((AbstractUnsafe) userUnsafe()).shutdownOutput(promise);
        } else {
            loop.execute(() -> ((AbstractUnsafe) userUnsafe()).shutdownOutput(promise));
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
        if (!wasShutdown && config().isAllowHalfClosure()) {
            // Linux then reports EPOLLRDHUP, and epoll's read finds end of input: channelReadComplete and
            // ChannelInputShutdownReadComplete follow (no ChannelInputShutdownEvent: input was shut down here).
            UserTcpIoRegistration r = userRegistration();
            if (r != null) {
                r.readyLater(UserTcpIoOps.INPUT_CLOSED.value());
            }
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
    protected final void doDisconnect() {
        doClose();
    }

    @Override
    protected final void doClose() {
        boolean wasOpen = markClosed();
        active = false;
        connectClosed();
        TcpConnection c = connection;
        if (c != null && wasOpen) {
            if (config().getSoLinger() == 0) {
                c.abort();
            } else {
                c.close();
            }
            c.releaseBuffers();
        }
    }

    /** The channel closed: fail a connect attempt in progress. */
    abstract void connectClosed();

    /** The stream channels' handle: a WRITE event flushes. (Static: see {@link UserUnsafe#owner()}.) */
    abstract static class StreamUnsafe extends UserUnsafe {
        StreamUnsafe(AbstractUserStreamChannel channel) {
            channel.super();
        }

        final void flushNow() {
            super.flush0();
        }

        /**
         * With Netty's default RecvByteBufAllocator, the event loop's {@link ExactReadHandle}, bound to this
         * channel's connection (the channel keeps no handle); else the allocator's handle, as Netty makes it.
         */
        @Override
        public RecvByteBufAllocator.Handle recvBufAllocHandle() {
            AbstractUserStreamChannel ch = (AbstractUserStreamChannel) owner();
            UserTcpIoRegistration r = ch.userRegistration();
            if (r != null && ch.config().exactReads()) {
                return r.ioHandler().exactReads().bind(ch.connection);
            }
            return super.recvBufAllocHandle();
        }
    }
}
