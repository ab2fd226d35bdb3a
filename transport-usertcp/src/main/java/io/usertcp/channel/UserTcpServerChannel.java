package io.usertcp.channel;

import io.netty.channel.ChannelMetadata;
import io.netty.channel.ChannelOutboundBuffer;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.ChannelPromise;
import io.netty.channel.RecvByteBufAllocator;
import io.netty.channel.socket.ServerSocketChannel;
import io.usertcp.tcp.TcpConnection;
import io.usertcp.tcp.TcpListener;

import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;

/**
 * A listening TCP socket of a usertcp stack: the {@link ServerSocketChannel} to give to a
 * {@link io.netty.bootstrap.ServerBootstrap}. Accepted connections are {@link UserTcpChannel}s.
 *
 * <p>It must be registered with an event loop made by {@link UserTcpIoHandler#newFactory}; accepted
 * children must be served by the loop whose stack holds their connection, so give the ServerBootstrap one
 * usertcp group for parent and children. In a group of several loops the channel listens on every loop's stack
 * (as {@code SO_REUSEPORT} would) and each child registers with the loop whose stack accepted it.
 */
public final class UserTcpServerChannel extends AbstractUserChannel implements ServerSocketChannel {
    private static final ChannelMetadata METADATA = new ChannelMetadata(false, 16);

    private final UserTcpServerChannelConfig config = new UserTcpServerChannelConfig(this);
    private TcpListener listener;
    /** The listener in the other stacks of a group of several loops, or null. */
    private ReplicaListener shared;
    /** Ports 0 tried at most before a bind gives up: each refused one is held by a listener on another loop. */
    private static final int MAX_GROUP_PORT_TRIES = 64;
    /** Children accepted by the other stacks of the group, waiting to be read (on this channel's loop). */
    private final ArrayDeque<UserTcpChannel> handedOver = new ArrayDeque<>();

    /** A new, unbound server channel. */
    public UserTcpServerChannel() {
        super(null);
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
    public boolean isActive() {
        return isOpen() && listener != null;
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
    protected AbstractUnsafe newUnsafe() {
        return new ServerUnsafe();
    }

    @Override
    void registered(UserTcpIoRegistration r) {
        // The listener is made by bind, on the registered loop's stack.
    }

    @Override
    protected void doBind(SocketAddress local) throws Exception {
        InetSocketAddress a = checkAddress(local, false);
        boolean wildcard = a.getAddress() == null || a.getAddress().isAnyLocalAddress();
        // A wildcard listener (0.0.0.0 or ::) takes connections of both families, as a dual-stack socket does.
        TcpListener l = stack().tcp().listen(localIp(a), a.getPort(), Math.max(1, config.getBacklog()));
        HandlerGroup g = userRegistration().ioHandler().group();
        if (g != null) {
            // Every stack of the group takes connections for the port (SO_REUSEPORT on every loop).
            ReplicaListener s = new ReplicaListener(this, g, localIp(a), l.localAddress().getPort(),
                    Math.max(1, config.getBacklog()));
            // Port 0: this stack picked a port free in it, which another loop's listener may hold; pick again
            // (holding the refused ones, so that the stack picks another) until one is free in the whole group.
            List<TcpListener> refused = null;
            try {
                while (!g.stacks().bind(s.port(), s)) {
                    if (a.getPort() != 0 || (refused != null && refused.size() >= MAX_GROUP_PORT_TRIES)) {
                        l.close();
                        throw new java.net.BindException("Address already in use: port " + s.port() + " is taken"
                                + " by a listener on another event loop of this group; close that channel or choose"
                                + " another port");
                    }
                    if (refused == null) {
                        refused = new ArrayList<>(4);
                    }
                    refused.add(l);
                    l = stack().tcp().listen(localIp(a), 0, Math.max(1, config.getBacklog()));
                    s = new ReplicaListener(this, g, localIp(a), l.localAddress().getPort(),
                            Math.max(1, config.getBacklog()));
                }
            } finally {
                if (refused != null) {
                    for (TcpListener r : refused) {
                        r.close();
                    }
                }
            }
            shared = s;
        }
        userRegistration().watch(l);
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

    /** READ ready: connections wait to be accepted (NIO's OP_ACCEPT). */
    @Override
    void handleEvent(int ops) {
        if ((ops & UserTcpIoOps.READ.value()) != 0 && wantsRead()) {
            readReady();
        }
    }

    @Override
    boolean hasReadWork() {
        TcpListener l = listener;
        return l != null && (l.pending() > 0 || !handedOver.isEmpty());
    }

    /** A child another stack of the group accepted (on this channel's loop): read with the others. */
    void handedOver(UserTcpChannel child) {
        if (!isOpen() || listener == null) {
            abortOnHome(child);
            return;
        }
        if (handedOver.size() >= Math.max(1, config.getBacklog())) {
            stack().stats().tcpAcceptQueueOverflows++; // the application does not keep up: as a full accept queue
            abortOnHome(child);
            return;
        }
        handedOver.add(child);
        if (wantsRead()) {
            scheduleRead();
        }
    }

    /** Resets a handed-over child that will never be read, on the loop of its stack. */
    private static void abortOnHome(UserTcpChannel child) {
        TcpConnection c = child.connection();
        child.homeLoop().execute(c::abort);
    }

    /** One accept loop. */
    @Override
    void readReady() {
        TcpListener l = listener;
        if (l == null || !isOpen() || !wantsRead()) {
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
            accepted.add(new UserTcpChannel(this, c, eventLoop()));
            h.incMessagesRead(1);
        } while (h.continueReading());
        UserTcpChannel child;
        // As the accept loop above (a do-while), a read takes at least one connection: with AUTO_READ off,
        // continueReading() is false from the start, and a child another loop accepted would wait for ever.
        while ((accepted.isEmpty() || h.continueReading()) && (child = handedOver.poll()) != null) {
            accepted.add(child);
            h.incMessagesRead(1);
        }
        readPending = false;
        for (UserTcpChannel ch : accepted) {
            p.fireChannelRead(ch);
        }
        h.readComplete();
        p.fireChannelReadComplete();
        if ((l.pending() > 0 || !handedOver.isEmpty()) && wantsRead()) {
            scheduleRead(); // more than one read's worth: let other work run first
        }
        readDone();
    }

    @Override
    protected void doClose() {
        markClosed();
        TcpListener l = listener;
        if (l != null) {
            l.close();
        }
        ReplicaListener s = shared;
        if (s != null) {
            shared = null;
            s.close();
        }
        UserTcpChannel child;
        while ((child = handedOver.poll()) != null) {
            abortOnHome(child);
        }
    }

    // As AbstractServerChannel: a server channel neither connects nor writes.

    @Override
    protected void doDisconnect() {
        throw new UnsupportedOperationException("a server channel is not connected: close it instead");
    }

    @Override
    protected void doWrite(ChannelOutboundBuffer in) {
        throw new UnsupportedOperationException("a server channel does not write: write to its accepted children");
    }

    @Override
    protected Object filterOutboundMessage(Object msg) {
        throw new UnsupportedOperationException("a server channel does not write: write to its accepted children");
    }

    private final class ServerUnsafe extends UserUnsafe {
        @Override
        public void connect(SocketAddress remote, SocketAddress local, ChannelPromise promise) {
            promise.setFailure(new UnsupportedOperationException("a server channel cannot connect"));
        }
    }
}
