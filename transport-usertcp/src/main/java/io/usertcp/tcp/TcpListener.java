package io.usertcp.tcp;

import io.usertcp.wire.IpAddress;

import java.net.InetSocketAddress;
import java.util.ArrayDeque;

/**
 * A passive-open endpoint (RFC 9293 §3.10.1 OPEN with passive): turns SYNs into connections and queues
 * the established ones until the application accepts them. The backlog bounds that queue; SYNs that
 * arrive while it is full are dropped (the peer retransmits them), as Linux does.
 */
public final class TcpListener extends TcpSocket {
    final IpAddress local; // null for every address of the stack, of both families
    final int port;
    private int backlog;
    private final ArrayDeque<TcpConnection> acceptQueue = new ArrayDeque<>();
    private int halfOpen;
    private boolean closed;

    TcpListener(TcpLayer tcp, IpAddress local, int port, int backlog) {
        super(tcp);
        this.local = local;
        this.port = port;
        this.backlog = Math.max(1, backlog);
    }

    /** The bound address ({@code 0.0.0.0} for all of the stack's addresses, which takes both families). */
    public InetSocketAddress localAddress() {
        return new InetSocketAddress(local != null ? local.toInet() : IpAddress.V4_ANY.toInet(), port);
    }

    /** The accept-queue bound (SO_BACKLOG). */
    public int backlog() {
        return backlog;
    }

    /** Changes the accept-queue bound. */
    public void backlog(int n) {
        this.backlog = Math.max(1, n);
    }

    /** The next established connection, or null. */
    public TcpConnection accept() {
        return acceptQueue.poll();
    }

    /** Connections waiting in the accept queue. */
    public int pending() {
        return acceptQueue.size();
    }

    /** Connections in SYN-RECEIVED. */
    public int halfOpen() {
        return halfOpen;
    }

    /** True after {@link #close()}. */
    public boolean isClosed() {
        return closed;
    }

    /** Stops listening: queued and half-open connections are reset. */
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        handler(null);
        tcp.removeListener(this);
        TcpConnection c;
        while ((c = acceptQueue.poll()) != null) {
            c.abort();
        }
        tcp.abortHalfOpen(this);
    }

    boolean canTakeSyn() {
        return !closed && acceptQueue.size() < backlog && halfOpen < tcp.maxHalfOpen;
    }

    void halfOpenAdded() {
        halfOpen++;
        tcp.halfOpenTotal++;
    }

    void halfOpenGone(TcpConnection c) {
        halfOpen--;
        tcp.halfOpenTotal--;
    }

    void established(TcpConnection c) {
        halfOpenGone(c);
        tcp.env.stats().tcpPassiveOpens++;
        if (closed) {
            c.abort();
            return;
        }
        acceptQueue.add(c);
        signal(EV_READABLE);
    }

    @Override
    public String toString() {
        return "listener " + localAddress();
    }
}
