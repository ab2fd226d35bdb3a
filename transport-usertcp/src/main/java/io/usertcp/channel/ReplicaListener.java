package io.usertcp.channel;

import io.netty.channel.EventLoop;
import io.netty.util.internal.logging.InternalLogger;
import io.netty.util.internal.logging.InternalLoggerFactory;
import io.usertcp.stack.SharedListener;
import io.usertcp.stack.Stack;
import io.usertcp.tcp.TcpConnection;
import io.usertcp.tcp.TcpListener;
import io.usertcp.tcp.TcpSocket;
import io.usertcp.wire.IpAddress;

import java.io.IOException;
import java.util.concurrent.ConcurrentLinkedQueue;

/**
 * A {@link UserTcpServerChannel}'s listener in the other stacks of its group (issue #12), as {@code SO_REUSEPORT}
 * gives each thread a listener: installed in a stack the first time a SYN for the port reaches it, it accepts there,
 * makes the child channel there (its connection belongs to that stack) and hands it to the server channel's loop,
 * which fires {@code channelRead}; the child then registers with the loop that accepted it ({@link HomeLoopUnsafe}).
 */
final class ReplicaListener implements SharedListener {
    private static final InternalLogger logger = InternalLoggerFactory.getInstance(ReplicaListener.class);

    private final UserTcpServerChannel server;
    private final HandlerGroup group;
    private final IpAddress local;
    private final int port;
    private final int backlog;
    private final ConcurrentLinkedQueue<Replica> replicas = new ConcurrentLinkedQueue<>();
    private volatile boolean closed;

    ReplicaListener(UserTcpServerChannel server, HandlerGroup group, IpAddress local, int port, int backlog) {
        this.server = server;
        this.group = group;
        this.local = local;
        this.port = port;
        this.backlog = backlog;
    }

    int port() {
        return port;
    }

    @Override
    public boolean install(Stack stack) {
        if (closed) {
            return false;
        }
        UserTcpIoHandler h = group.handlerOf(stack);
        if (h == null || h.loop() == null) {
            return false;
        }
        TcpListener l;
        try {
            l = stack.tcp().listen(local, port, backlog);
        } catch (IOException e) {
            logger.debug("cannot install the listener of {} in the stack of {}", server, h.loop(), e);
            return false;
        }
        Replica r = new Replica(h.loop(), l);
        l.handler(r);
        replicas.add(r);
        if (closed) {
            l.close();
            return false;
        }
        return true;
    }

    /** The server channel closed: the port is free in the group, and every replica closes on its own loop (resetting what it had not handed over). */
    void close() {
        closed = true;
        group.stacks().unbind(port, this);
        for (Replica r : replicas) {
            r.loop.execute(r.listener::close);
        }
    }

    /** One stack's listener: what it accepts goes to the server channel's loop. */
    private final class Replica implements TcpSocket.Handler {
        final EventLoop loop;
        final TcpListener listener;

        Replica(EventLoop loop, TcpListener listener) {
            this.loop = loop;
            this.listener = listener;
        }

        @Override
        public void onTcpEvents(int events) {
            if ((events & TcpSocket.EV_READABLE) == 0) {
                return;
            }
            TcpConnection c;
            while ((c = listener.accept()) != null) {
                UserTcpChannel child = new UserTcpChannel(server, c, loop);
                server.eventLoop().execute(() -> server.handedOver(child));
            }
        }
    }
}
