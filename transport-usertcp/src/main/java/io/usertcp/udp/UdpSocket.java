package io.usertcp.udp;

import io.netty.buffer.ByteBuf;
import io.usertcp.ip.Route;
import io.usertcp.wire.IpAddress;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.NoRouteToHostException;
import java.net.PortUnreachableException;
import java.net.SocketException;

/**
 * A UDP socket of a {@link UdpLayer}: its binding (local address and port, optionally a remote address and
 * port it is connected to, which then filters what it receives), a bounded queue of received datagrams, a
 * pending ICMP error, and the events its owner (the Netty channel) is told of.
 *
 * <p>As with {@link io.usertcp.tcp.TcpSocket}, events are collected while frames are processed and
 * delivered afterwards by the stack's loop ({@link #dispatch()}), never from inside input processing.
 *
 * <p>Used only on the stack's thread.
 */
public final class UdpSocket {
    /** Datagrams can be read. */
    public static final int EV_READABLE = 1;
    /** An ICMP error for this (connected) socket arrived: see {@link #takeError()}. */
    public static final int EV_ERROR = 2;

    /** Receives a socket's events on the stack's thread. */
    @FunctionalInterface
    public interface Handler {
        /** Called with the events (a bit set of {@code EV_*}) that happened since the last call. */
        void onUdpEvents(int events);
    }

    final UdpLayer udp;
    final DatagramQueue queue;
    /** Local address datagrams are taken for and sent from; null for any (until a connect picks one). */
    IpAddress local;
    /** The address given to bind (null for any): what a disconnect goes back to. */
    IpAddress bound;
    /** 0 while unbound. */
    int localPort;
    /** The connected peer; null when not connected. */
    IpAddress remote;
    int remotePort;
    /** The way out, set up on the first send and re-aimed when the destination or source changes. */
    Route route;
    /** Next socket bound to the same port (the layer's port table is a list per port). */
    UdpSocket nextOnPort;
    boolean reuseAddress;
    boolean broadcast;
    int tos;
    int receiveBufferSize = UdpLayer.DEFAULT_RECEIVE_BUFFER;
    int sendBufferSize = UdpLayer.DEFAULT_SEND_BUFFER;
    long drops;
    boolean closed;
    /** Pending ICMP error: its code (type 3), or -1; and who sent it. */
    private int errorCode = -1;
    private IpAddress errorFrom;
    private Handler handler;
    private int pending;
    private boolean queued;

    UdpSocket(UdpLayer udp) {
        this.udp = udp;
        this.queue = new DatagramQueue(udp.env.alloc(), udp.env.memory());
    }

    /** The layer (and so the stack) this socket belongs to. */
    public UdpLayer layer() {
        return udp;
    }

    /** Sets (or, with null, removes) the owner that is told of events. */
    public void handler(Handler h) {
        this.handler = h;
    }

    /**
     * Binds to IPv4 address {@code ip} (0 for every address of the stack, of both families) and {@code port}
     * (0 for an ephemeral one).
     *
     * @throws java.net.BindException if the port is taken or the address is not the stack's
     */
    public void bind(int ip, int port) throws IOException {
        udp.bind(this, ip == 0 ? null : IpAddress.v4(ip), port);
    }

    /**
     * Binds to {@code ip} (null or unspecified for every address of the stack, of both families) and
     * {@code port} (0 for an ephemeral one).
     *
     * @throws java.net.BindException if the port is taken or the address is not the stack's
     */
    public void bind(IpAddress ip, int port) throws IOException {
        udp.bind(this, ip == null || ip.isAnyLocal() ? null : ip, port);
    }

    /**
     * Connects to IPv4 {@code ip:port}: datagrams are then sent there by default and only datagrams from there
     * are received. Binds first (to an ephemeral port) if unbound, and picks the local address by route.
     */
    public void connect(int ip, int port) throws IOException {
        udp.connect(this, IpAddress.v4(ip), port);
    }

    /** As {@link #connect(int, int)} for an address of either family. */
    public void connect(IpAddress ip, int port) throws IOException {
        udp.connect(this, ip, port);
    }

    /** Forgets the connected peer; the socket stays bound to its port. */
    public void disconnect() {
        udp.disconnect(this);
    }

    /**
     * Sends the readable bytes of {@code data} (not consumed, not released) as one datagram to
     * {@code ip:port}, or to the connected peer when {@code ip} is 0. Binds first if unbound.
     *
     * @throws PortUnreachableException (or another {@link SocketException}) if an ICMP error arrived for
     *                                  this connected socket since the last send or read, as Linux reports
     *                                  it on the next call; the datagram is then not sent
     */
    public void send(ByteBuf data, int ip, int port) throws IOException {
        udp.send(this, data, ip == 0 ? null : IpAddress.v4(ip), port);
    }

    /** As {@link #send(ByteBuf, int, int)} to an address of either family, or to the connected peer if null. */
    public void send(ByteBuf data, IpAddress ip, int port) throws IOException {
        udp.send(this, data, ip, port);
    }

    /** Unbinds and drops every queued datagram; no more events are delivered. Idempotent. */
    public void close() {
        udp.close(this);
    }

    public boolean isBound() {
        return localPort != 0;
    }

    public boolean isConnected() {
        return remotePort != 0;
    }

    public boolean isClosed() {
        return closed;
    }

    /** The local IPv4 address (0 for any or for an IPv6 one). */
    public int localIp() {
        return local != null && local.isV4() ? local.v4() : 0;
    }

    /** The local address (null for any). */
    public IpAddress local() {
        return local;
    }

    /** The local port (0 while unbound). */
    public int localPort() {
        return localPort;
    }

    /** The connected peer's address (null if not connected). */
    public IpAddress remote() {
        return remote;
    }

    /** The connected peer's port (0 if not connected). */
    public int remotePort() {
        return remotePort;
    }

    /** The local address and port, or null while unbound. */
    public InetSocketAddress localAddress() {
        return localPort == 0 ? null
                : new InetSocketAddress((local != null ? local : IpAddress.V4_ANY).toInet(), localPort);
    }

    /** The connected peer, or null. */
    public InetSocketAddress remoteAddress() {
        return remotePort == 0 ? null : new InetSocketAddress(remote.toInet(), remotePort);
    }

    /** SO_RCVBUF: the most bytes of datagrams held for the application (see {@link DatagramQueue}). */
    public int receiveBufferSize() {
        return receiveBufferSize;
    }

    public void receiveBufferSize(int bytes) {
        if (bytes <= 0) {
            throw new IllegalArgumentException("SO_RCVBUF must be positive: " + bytes);
        }
        this.receiveBufferSize = bytes;
    }

    /**
     * SO_SNDBUF, recorded: a datagram goes to the link (or the ARP queue) as it is sent and the stack keeps no
     * send queue per socket, so there is nothing for it to bound. (Linux, too, sends a datagram larger than
     * SO_SNDBUF when nothing else is in flight.)
     */
    public int sendBufferSize() {
        return sendBufferSize;
    }

    public void sendBufferSize(int bytes) {
        if (bytes <= 0) {
            throw new IllegalArgumentException("SO_SNDBUF must be positive: " + bytes);
        }
        this.sendBufferSize = bytes;
    }

    /** SO_BROADCAST: whether datagrams may be sent to broadcast addresses. */
    public void broadcast(boolean on) {
        this.broadcast = on;
    }

    public boolean broadcast() {
        return broadcast;
    }

    /** SO_REUSEADDR: whether another socket with it may bind the same address and port. Set before bind. */
    public void reuseAddress(boolean on) {
        this.reuseAddress = on;
    }

    public boolean reuseAddress() {
        return reuseAddress;
    }

    /** IP_TOS: the type-of-service byte of sent datagrams. */
    public void tos(int tos) {
        this.tos = tos & 0xff;
    }

    public int tos() {
        return tos;
    }

    /** Datagrams dropped because the receive queue was full or the stack's memory budget had no room. */
    public long drops() {
        return drops;
    }

    // ------------------------------------------------------------------ receive side

    /** Datagrams waiting to be read. */
    public int queuedDatagrams() {
        return queue.size();
    }

    /** Bytes charged to the waiting datagrams (payload plus per-datagram overhead). */
    public int queuedBytes() {
        return queue.charged();
    }

    /** Payload length of the next datagram; there must be one. */
    public int peekLength() {
        return queue.peekLength();
    }

    /** Source address of the next datagram, first half (see {@link IpAddress}); there must be one. */
    public long peekSourceHi() {
        return queue.peekSourceHi();
    }

    /** Source address of the next datagram, second half; there must be one. */
    public long peekSourceLo() {
        return queue.peekSourceLo();
    }

    /** Source port of the next datagram; there must be one. */
    public int peekSourcePort() {
        return queue.peekSourcePort();
    }

    /** Destination address of the next datagram (the stack's address, or a broadcast one); there must be one. */
    public IpAddress peekDestination() {
        return IpAddress.of(queue.peekDestinationHi(), queue.peekDestinationLo());
    }

    /**
     * Removes the next datagram, copying as much of its payload as {@code dst} has room for (the rest is
     * lost, as with a short buffer given to recvmsg); returns the bytes copied.
     */
    public int receive(ByteBuf dst) {
        return queue.poll(dst);
    }

    /** Whether an ICMP error is pending. */
    public boolean hasError() {
        return errorCode >= 0;
    }

    /**
     * The pending ICMP error as the exception a kernel socket reports (ECONNREFUSED becomes
     * {@link PortUnreachableException}), or null; clears it.
     */
    public SocketException takeError() {
        int code = errorCode;
        if (code < 0) {
            return null;
        }
        errorCode = -1;
        IpAddress from = errorFrom;
        if (code == 2 || code == 3) {
            return new PortUnreachableException("ICMP " + (code == 3 ? "port" : "protocol") + " unreachable from "
                    + from + ": nothing listens on " + remote + ":" + remotePort);
        }
        return new NoRouteToHostException("ICMP destination unreachable (code " + code + ") from " + from
                + " for " + remote + ":" + remotePort);
    }

    void deliver(ByteBuf frame, int index, int len, long srcHi, long srcLo, int sport, long dstHi, long dstLo) {
        int refused = queue.offer(frame, index, len, srcHi, srcLo, sport, dstHi, dstLo, receiveBufferSize);
        if (refused == DatagramQueue.QUEUED) {
            signal(EV_READABLE);
            return;
        }
        drops++;
        if (refused == DatagramQueue.NO_MEMORY) {
            udp.env.stats().dropUdpMemory++;
        } else {
            udp.env.stats().dropUdpReceiveBuffer++;
        }
    }

    void error(int code, IpAddress from) {
        errorCode = code;
        errorFrom = from;
        signal(EV_ERROR);
    }

    void clearQueue() {
        queue.clear();
    }

    private void signal(int events) {
        pending |= events;
        if (!queued && handler != null && !closed) {
            queued = true;
            udp.env.ready(this);
        }
    }

    /** Delivers pending events to the handler. Called by the stack's loop, never re-entrantly. */
    public void dispatch() {
        queued = false;
        int ev = pending;
        pending = 0;
        Handler h = handler;
        if (ev != 0 && h != null && !closed) {
            h.onUdpEvents(ev);
        }
    }

    @Override
    public String toString() {
        return "UdpSocket{" + (localPort == 0 ? "unbound" : (local != null ? local : "*") + ":" + localPort)
                + (remotePort == 0 ? "" : " -> " + remote + ":" + remotePort) + "}";
    }
}
