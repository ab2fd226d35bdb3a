package io.usertcp.channel;

import io.netty.channel.AbstractServerChannel;
import io.netty.channel.ChannelMetadata;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.ChannelPromise;
import io.netty.channel.EventLoop;
import io.netty.channel.IoEvent;
import io.netty.channel.IoEventLoop;
import io.netty.channel.IoRegistration;
import io.netty.channel.RecvByteBufAllocator;
import io.netty.channel.socket.ServerSocketChannel;
import io.usertcp.stack.Stack;
import io.usertcp.tcp.TcpConnection;
import io.usertcp.tcp.TcpListener;
import io.usertcp.wire.IpAddress;
import io.usertcp.tcp.TcpSocket;

import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.util.ArrayList;
import java.util.List;

/**
 * A listening TCP socket of a usertcp stack: the {@link ServerSocketChannel} to give to a
 * {@link io.netty.bootstrap.ServerBootstrap}. Accepted connections are {@link UserTcpChannel}s.
 *
 * <p>It must be registered with an event loop made by {@link UserTcpIoHandler#newFactory}; accepted
 * children must be served by the same loop (the one that owns the stack), so give the ServerBootstrap a
 * single usertcp group, or a child group whose loops are that same loop.
 */
public final class UserTcpServerChannel extends AbstractServerChannel implements ServerSocketChannel {
    private static final ChannelMetadata METADATA = new ChannelMetadata(false, 16);

    private final UserTcpServerChannelConfig config = new UserTcpServerChannelConfig(this);
    private IoRegistration registration;
    private UserTcpIoHandler ioHandler;
    private TcpListener listener;
    private volatile boolean open = true;
    private volatile InetSocketAddress localAddress;
    private boolean readPending;
    private boolean acceptScheduled;

    /** A new, unbound server channel. */
    public UserTcpServerChannel() {
    }

    @Override
    public UserTcpServerChannelConfig config() {
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
        return open && listener != null;
    }

    @Override
    public InetSocketAddress localAddress() {
        return (InetSocketAddress) super.localAddress();
    }

    @Override
    public InetSocketAddress remoteAddress() {
        return null;
    }

    @Override
    protected SocketAddress localAddress0() {
        return localAddress;
    }

    @Override
    protected boolean isCompatible(EventLoop loop) {
        return loop instanceof IoEventLoop && ((IoEventLoop) loop).isCompatible(ServerUnsafe.class);
    }

    @Override
    protected AbstractUnsafe newUnsafe() {
        return new ServerUnsafe();
    }

    @Override
    protected void doRegister(ChannelPromise promise) {
        Registrations.register(eventLoop(), (ServerUnsafe) unsafe(), promise, h -> true, null, r -> {
            registration = r;
            ioHandler = r.attachment();
            promise.setSuccess();
        });
    }

    @Override
    protected void doDeregister() {
        registration = Registrations.cancel(registration);
    }

    /** The stack this channel listens on (valid once registered). */
    Stack stack() {
        return ioHandler.stack();
    }

    UserTcpIoHandler ioHandler() {
        return ioHandler;
    }

    @Override
    protected void doBind(SocketAddress local) throws Exception {
        InetSocketAddress a = UserTcpChannel.checkAddress(local);
        boolean wildcard = a.getAddress() == null || a.getAddress().isAnyLocalAddress();
        // A wildcard listener (0.0.0.0 or ::) takes connections of both families, as a dual-stack socket does.
        TcpListener l = stack().tcp().listen(wildcard ? null : IpAddress.of(a.getAddress()), a.getPort(),
                Math.max(1, config.getBacklog()));
        l.handler(this::onTcpEvents);
        listener = l;
        localAddress = wildcard && a.getAddress() != null ? new InetSocketAddress(a.getAddress(), l.localAddress().getPort())
                : l.localAddress();
    }

    void backlogChanged(int backlog) {
        if (!isRegistered()) {
            return; // doBind reads it
        }
        if (eventLoop().inEventLoop()) {
            TcpListener l = listener;
            if (l != null) {
                l.backlog(Math.max(1, backlog));
            }
        } else {
            eventLoop().execute(() -> backlogChanged(backlog));
        }
    }

    private void onTcpEvents(int events) {
        if ((events & TcpSocket.EV_READABLE) != 0 && (readPending || config.isAutoRead())) {
            acceptReady();
        }
    }

    private void acceptReady() {
        TcpListener l = listener;
        if (l == null || !isOpen()) {
            return;
        }
        RecvByteBufAllocator.Handle h = unsafe().recvBufAllocHandle();
        h.reset(config);
        ChannelPipeline p = pipeline();
        List<UserTcpChannel> accepted = new ArrayList<>(4);
        do {
            TcpConnection c = l.accept();
            if (c == null) {
                break;
            }
            accepted.add(new UserTcpChannel(this, c));
            h.incMessagesRead(1);
        } while (h.continueReading());
        readPending = false;
        for (UserTcpChannel ch : accepted) {
            p.fireChannelRead(ch);
        }
        h.readComplete();
        p.fireChannelReadComplete();
        if (l.pending() > 0 && (readPending || config.isAutoRead())) {
            scheduleAccept(); // more than one read's worth: let other work run first
        }
    }

    private void scheduleAccept() {
        if (!acceptScheduled) {
            acceptScheduled = true;
            eventLoop().execute(() -> {
                acceptScheduled = false;
                if (readPending || config.isAutoRead()) {
                    acceptReady();
                }
            });
        }
    }

    @Override
    protected void doBeginRead() {
        readPending = true;
        TcpListener l = listener;
        if (l != null && l.pending() > 0) {
            scheduleAccept();
        }
    }

    @Override
    protected void doClose() {
        open = false;
        TcpListener l = listener;
        if (l != null) {
            l.close();
        }
    }

    private final class ServerUnsafe extends AbstractUnsafe implements UserTcpIoHandler.UserTcpIoHandle {
        @Override
        public void connect(SocketAddress remote, SocketAddress local, ChannelPromise promise) {
            promise.setFailure(new UnsupportedOperationException("a server channel cannot connect"));
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
