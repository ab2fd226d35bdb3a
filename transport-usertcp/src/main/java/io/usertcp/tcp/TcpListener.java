package io.usertcp.tcp;

import io.usertcp.wire.IpAddress;

import java.net.InetSocketAddress;
import java.util.ArrayDeque;

/**
 * A passive-open endpoint (RFC 9293 §3.10.1 OPEN with passive): turns SYNs into connections and queues
 * the established ones until the application accepts them. The backlog bounds that queue; SYNs that
 * arrive while it is full are dropped (the peer retransmits them), as Linux does.
 *
 * <p>Half-open connections wait in the listener's SYN queue as compact records (see {@link PassiveOpen}), at
 * most {@link #synQueueLimit()} of them; beyond that the listener answers with SYN cookies.
 */
public final class TcpListener extends TcpSocket {
    final IpAddress local; // null for every address of the stack, of both families
    /**
     * The default of the stack-wide cap on each listener's SYN queue, {@code StackConfig.maxSynBacklog} (as a
     * typical Linux tcp_max_syn_backlog).
     */
    static final int DEFAULT_MAX_SYN_BACKLOG = 1024;
    /** The floor of a listener's SYN queue, whatever its backlog (Linux's 128 of tcp_max_syn_backlog). */
    static final int MIN_SYN_QUEUE = 128;

    final int port;
    private int backlog;
    private final ArrayDeque<TcpConnection> acceptQueue = new ArrayDeque<>();
    int synQueued;                 // SYN-RECEIVED records in the SYN queue (kept by SynQueue)
    private boolean cookieSent;
    private long lastCookie;       // when the last SYN cookie went out
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

    /** Half-open connections (SYN-RECEIVED records) in the SYN queue. */
    public int halfOpen() {
        return synQueued;
    }

    /**
     * The bound of the SYN queue: the backlog, at least {@value #MIN_SYN_QUEUE}, at most the stack's
     * {@code StackConfig.maxSynBacklog} (default {@value #DEFAULT_MAX_SYN_BACKLOG}). SYNs beyond it are answered
     * with SYN cookies (RFC 4987 §3.6) unless the stack turned them off, then dropped.
     */
    public int synQueueLimit() {
        return Math.min(Math.max(backlog, MIN_SYN_QUEUE), tcp.passive.maxSynBacklog);
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
        tcp.passive.closeListener(this);
    }

    boolean acceptQueueFull() {
        return acceptQueue.size() >= backlog;
    }

    void cookieSent(long now) {
        cookieSent = true;
        lastCookie = now;
    }

    /** Whether a SYN cookie went out at or after {@code t}. */
    boolean cookieSentSince(long t) {
        return cookieSent && lastCookie - t >= 0;
    }

    /** The handshake of {@code c} completed: it waits for {@link #accept()}. */
    void established(TcpConnection c) {
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
