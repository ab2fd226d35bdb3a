package io.usertcp.tcp;

import io.usertcp.ip.Route;

import io.netty.buffer.ByteBuf;
import io.usertcp.wire.IpAddress;
import io.usertcp.wire.Tcp;

import java.io.IOException;
import java.net.ConnectException;
import java.net.InetSocketAddress;

import static io.usertcp.tcp.Tcb.seqLt;
import static io.usertcp.tcp.Tcb.seqLe;
import static io.usertcp.tcp.ConnectionTimers.KEEPALIVE;

/**
 * One TCP connection (RFC 9293): the facade that {@link TcpLayer}, {@link PassiveOpen} and the channels use. It
 * holds the connection's identity, the application's calls (RFC 9293 §3.10: SEND, RECEIVE, CLOSE, ABORT and the
 * socket options) and the state changes that end it; the work is done by its parts, which share the variables of
 * its {@link Tcb}: {@link Handshake} (opening), {@link Receiver} (segment arrival), {@link Sender} (windows, Nagle,
 * TSO sizing, persist), {@link LossRecovery} (NewReno, SACK, RACK-TLP, the RTO), {@link RttEstimator} (RFC 6298),
 * {@link ConnectionTimers} and {@link SegmentWriter} (every outgoing segment). Congestion control is CUBIC (RFC 9438)
 * by default, NewReno (RFC 5681, RFC 6582) on request ({@link #congestionControl}).
 *
 * <p>Only the stack's thread touches a connection.
 */
public final class TcpConnection extends TcpSocket implements TcpFlow {
    /** The four-tuple; our address and the peer's are read from it (issue #12: no address objects kept). */
    final FlowKey key;

    /** The way out to {@link #remote}, set up once (family, header room, next hop, path MTU, offload). */
    final Route route;
    final char localPort;          // a port in 16 bits (issue #12)
    final char remotePort;
    TcpListener listener;          // set while the ACK that completes a passive open is processed
    TcpFlow revivable;             // the TIME-WAIT incarnation this SYN-RECEIVED one replaced (MAY-2)
    boolean parked;                // a TIME-WAIT connection out of the table while its successor is tried
    /** The record that holds this connection's TIME-WAIT since its application closed it ({@link #handOver}). */
    TimeWaitRecord released;

    /** The connection's variables (RFC 9293 §3.3.1). */
    final Tcb tcb;
    final SegmentWriter out;
    final ConnectionTimers timers;
    final Handshake handshake;
    final Receiver receiver;
    final Sender sender;
    final LossRecovery recovery;

    TcpConnection(TcpLayer tcp, FlowKey key, IpAddress local, int localPort, IpAddress remote, int remotePort) {
        super(tcp);
        this.key = key;
        this.localPort = (char) localPort;
        this.route = tcp.env.route(null, local.hi(), local.lo(), remote.hi(), remote.lo()); // keeps numbers only
        this.remotePort = (char) remotePort;
        this.tcb = new Tcb(tcp.env.alloc(), tcp.env.memory(), tcp.minRtoNanos, tcp.rackFlights);
        tcb.tsOffset = tcp.nextRandomInt();
        tcb.sendBufferLimit = tcp.defaultSendBuffer;
        tcb.receiveBufferSize = tcp.defaultReceiveBuffer;
        this.out = new SegmentWriter(this);
        this.timers = new ConnectionTimers(this);
        this.handshake = new Handshake(this);
        this.receiver = new Receiver(this);
        this.sender = new Sender(this);
        this.recovery = new LossRecovery(this);
    }

    /** IP header bytes per segment: 20 for IPv4, 40 for IPv6 (no options or extension headers are sent). */
    int ipHeaderLength() {
        return IpAddress.isV4(key.remoteHi, key.remoteLo) ? 20 : 40;
    }

    /** Our address, made when asked (not on the packet path). */
    IpAddress local() {
        return IpAddress.of(key.localHi, key.localLo);
    }

    /** The peer's address, made when asked (not on the packet path: the route keeps one for NDP's confirmations). */
    IpAddress remote() {
        return IpAddress.of(key.remoteHi, key.remoteLo);
    }

    /** The TCP layer (and so the stack) this connection belongs to. */
    @Override
    public TcpLayer layer() {
        return tcp;
    }

    /** The state (TIME-WAIT also while a compact record holds it for this connection). */
    public TcpState state() {
        TimeWaitRecord r = released;
        return r != null && r.live ? TcpState.TIME_WAIT : tcb.state;
    }

    /** Why the connection ended abnormally (reset, refused, timed out), or null. */
    public Throwable error() {
        return tcb.error;
    }

    /** True from the completed handshake until both directions are closed or the connection is gone. */
    public boolean isEstablished() {
        return tcb.state.isSynchronized() && tcb.state != TcpState.TIME_WAIT;
    }

    /** True when the connection is gone for good. */
    public boolean isClosed() {
        return state() == TcpState.CLOSED;
    }

    /** The local socket address. */
    public InetSocketAddress localAddress() {
        return new InetSocketAddress(local().toInet(), localPort);
    }

    /** The remote socket address. */
    public InetSocketAddress remoteAddress() {
        return new InetSocketAddress(remote().toInet(), remotePort);
    }

    /** Bytes that can be read now. */
    public int readableBytes() {
        return tcb.receiveQueue.size();
    }

    /** True once the peer's FIN arrived and every byte before it has been read. */
    public boolean isInputEnded() {
        return (tcb.finReceived || tcb.inputShutdown) && tcb.receiveQueue.size() == 0;
    }

    /** True after a FIN was received from the peer. */
    public boolean isFinReceived() {
        return tcb.finReceived;
    }

    /**
     * Moves received bytes into {@code dst}; returns how many. Reading opens the receive window; a window
     * update is sent when it grew enough to matter (RFC 9293 §3.8.6.2.2, receiver-side SWS avoidance).
     */
    public int read(ByteBuf dst) {
        return read(dst, Integer.MAX_VALUE);
    }

    /** As {@link #read(ByteBuf)}, moving at most {@code max} bytes. */
    public int read(ByteBuf dst, int max) {
        int n = tcb.receiveQueue.read(dst, max);
        if (n > 0) {
            receiver.windowOpened();
        }
        return n;
    }

    /**
     * Bytes of urgent data not yet read (RFC 9293 §3.8.5, MUST-33): from the read position up to the peer's
     * urgent pointer; 0 when there is none. Urgent data stays in line in the stream (as with SO_OOBINLINE): this
     * only says how much of what is to be read the peer marked urgent.
     */
    public int urgentBytes() {
        long consumed = tcb.rcvNxtOffset - tcb.receiveQueue.size();
        return (int) Math.min(Integer.MAX_VALUE, Math.max(0, tcb.rcvUpOffset - consumed));
    }

    /** Room left in the send buffer. */
    public int writableBytes() {
        if (tcb.finQueued || !tcb.canSend()) {
            return 0;
        }
        return Math.max(0, tcb.sendBufferLimit - tcb.sendBuffer.size());
    }

    /**
     * Copies up to {@link #writableBytes()} of {@code src} into the send buffer (advancing its reader index);
     * returns how many. Call {@link #push()} after a batch of writes to send them.
     */
    public int write(ByteBuf src) throws IOException {
        if (tcb.finQueued) {
            throw new IOException("output of " + this + " is shut down");
        }
        if (!tcb.canSend()) {
            throw new IOException("connection " + this + " is " + tcb.state, tcb.error);
        }
        int n = tcb.sendBuffer.append(src, writableBytes());
        if (src.isReadable()) {
            tcb.sendBlocked = true;
        }
        return n;
    }

    /** Sends what the windows allow of what was written. */
    public void push() {
        clock();
        sender.output();
    }

    /** TCP_MAXSEG: caps the MSS this side sends with (and, before the SYN, the one it announces). */
    public void maxSegmentSize(int bytes) {
        tcb.mssClamp = bytes <= 0 ? 0 : Math.max(Handshake.MIN_MSS, bytes);
        if (tcb.mssClamp > 0 && tcb.mss > tcb.mssClamp) {
            tcb.mss = tcb.mssClamp;
        }
    }

    /** How long this connection stays in TIME-WAIT; negative for the stack's default. */
    public void timeWait(long nanos) {
        tcb.timeWaitNanos = nanos;
    }

    /** The congestion control algorithm ({@code cubic}, the default, or {@code newreno}). */
    public void congestionControl(String name) {
        CongestionControl cc = CongestionControl.of(name);
        tcb.cc = cc instanceof CongestionControl.Cubic ? null : cc; // a fresh CUBIC is made when first needed
    }

    /** TCP_NODELAY: false turns Nagle's algorithm on (RFC 896); true (the default) sends at once. */
    public void noDelay(boolean on) {
        tcb.noDelay = on;
    }

    /**
     * SO_KEEPALIVE with its knobs (RFC 9293 §3.8.4, RFC 1122 §4.2.3.6): after {@code idleNanos} without any
     * segment from the peer, probe every {@code intervalNanos}; after {@code count} unanswered probes the
     * connection is reset. {@code idleNanos} 0 turns keepalive off (the default).
     */
    public void keepAlive(long idleNanos, long intervalNanos, int count) {
        clock();
        tcb.keepAliveIdleNanos = Math.max(0, idleNanos);
        tcb.keepAliveIntervalNanos = Math.max(1_000_000L, intervalNanos);
        tcb.keepAliveCount = Math.max(1, count);
        timers.armKeepAlive(tcb.now);
    }

    /**
     * The user timeout (RFC 9293 §3.8.3, RFC 5482): the connection is reset when data stays unacknowledged,
     * or zero-window probes stay unanswered, this long. 0 (default) leaves it to the retry limits.
     */
    public void userTimeout(long nanos) {
        tcb.userTimeoutNanos = Math.max(0, nanos);
    }

    /** SO_SNDBUF: the most bytes buffered for sending. */
    public void sendBufferSize(int bytes) {
        tcb.sendBufferLimit = Math.max(bytes, 1);
    }

    /** SO_SNDBUF. */
    public int sendBufferSize() {
        return tcb.sendBufferLimit;
    }

    /** SO_RCVBUF: the most unread bytes held, and so the largest window offered. */
    public void receiveBufferSize(int bytes) {
        tcb.receiveBufferSize = Math.max(bytes, 1);
    }

    /** SO_RCVBUF. */
    public int receiveBufferSize() {
        return tcb.receiveBufferSize;
    }

    /** IP_TOS: the DSCP and ECN byte of the segments sent from now on (RFC 9293 §3.9.1.1 MUST-48). */
    public void tos(int value) {
        tcb.tos = (byte) value;
    }

    /** The IP_TOS byte of the segments sent. */
    public int tos() {
        return tcb.tos & 0xff;
    }

    /** The MSS this side sends with. */
    public int mss() {
        return tcb.mss;
    }

    /** Smoothed RTT in nanoseconds, or -1 before the first sample. */
    public long srttNanos() {
        return tcb.rtt.srtt();
    }

    /** Bytes written and not yet acknowledged. */
    public int unacknowledgedBytes() {
        return tcb.sendBuffer.size();
    }

    /**
     * Shuts down output (RFC 9293 §3.10.4 CLOSE on the sending half): FIN is sent after everything queued.
     * Idempotent.
     */
    public void shutdownOutput() {
        clock();
        if (tcb.finQueued) {
            return;
        }
        switch (tcb.state) {
            case SYN_SENT:
                destroy(null);
                return;
            case SYN_RECEIVED:
            case ESTABLISHED:
                tcb.finQueued = true;
                setState(TcpState.FIN_WAIT_1);
                break;
            case CLOSE_WAIT:
                tcb.finQueued = true;
                setState(TcpState.LAST_ACK);
                break;
            default:
                return;
        }
        sender.output();
    }

    /** Discards further input: data that arrives is acknowledged and dropped. */
    public void shutdownInput() {
        tcb.inputShutdown = true;
        tcb.receiveQueue.clear();
        tcb.reassembly.clear();
    }

    /**
     * The application is done with the connection (RFC 9293 §3.10.4 CLOSE). If unread data remains, the
     * connection is reset, as RFC 2525 §2.17 and Linux do, so the peer learns that data was lost;
     * otherwise a FIN follows the queued data and the connection finishes on its own.
     */
    public void close() {
        clock();
        handler(null);
        tcb.orphaned = true;
        if (tcb.state == TcpState.CLOSED) {
            return;
        }
        if (tcb.receiveQueue.size() > 0 && tcb.state.isSynchronized()) {
            abort();
            return;
        }
        if (!tcb.countedOrphan && tcb.state != TcpState.TIME_WAIT) {
            if (tcp.orphans >= tcp.maxOrphans) {
                // Too many closed connections still finishing: this one is reset now (Linux: "too many orphaned
                // sockets") rather than hold its buffers for minutes (issue #10).
                tcp.env.stats().tcpOrphansReset++;
                abort();
                return;
            }
            tcb.countedOrphan = true;
            tcp.orphans++;
        }
        shutdownInput();
        shutdownOutput();
        if (tcb.state == TcpState.FIN_WAIT_2) {
            timers.armFinWait2(tcb.now);
        } else if (tcb.state == TcpState.TIME_WAIT) {
            releaseLater();
        }
    }

    /** Resets the connection (RFC 9293 §3.10.5 ABORT): RST if synchronized, then gone. */
    public void abort() {
        clock();
        handler(null);
        if (released != null) {
            tcp.timeWait.end(released); // as for a connection in TIME-WAIT: gone, without a RST
        }
        if (tcb.state == TcpState.CLOSED) {
            return;
        }
        if (tcb.state.isSynchronized() || tcb.state == TcpState.SYN_RECEIVED) {
            if (tcb.state != TcpState.TIME_WAIT) {
                out.sendControl(tcb.sndMax, 0, Tcp.RST);
                tcp.env.stats().tcpResetsOut++;
            }
        }
        destroy(null);
    }

    /** See {@link TcpLayer#faulted}: reset the peer if we can, then close with {@code e} as the error. */
    void faulted(RuntimeException e) {
        clock();
        try {
            if (tcb.state.isSynchronized() && tcb.state != TcpState.TIME_WAIT || tcb.state == TcpState.SYN_RECEIVED) {
                out.sendControl(tcb.sndMax, 0, Tcp.RST);
                tcp.env.stats().tcpResetsOut++;
            }
        } finally {
            destroy(new java.io.IOException("usertcp reset the connection after an internal error: " + e, e));
        }
    }

    /**
     * Reads the clock once for an application call, a fault or the end of an input batch: the connection's parts
     * take the time from {@link Tcb#now} (set the same way per segment and per timer expiry).
     */
    private void clock() {
        tcb.now = tcp.env.now();
    }

    @Override
    public String toString() {
        return local() + ":" + (int) localPort + "->" + remote() + ":" + (int) remotePort
                + " " + state();
    }

    /**
     * RFC 5927 §4.1: an ICMP error quotes the sequence number of the segment that caused it; only one in
     * SND.UNA =< SEG.SEQ < SND.NXT (SND.MAX here: after a go-back-N older sends are still in flight) can be
     * about a segment in flight. Anything else is ignored, so a blind attacker must guess the window.
     */
    boolean icmpSequenceAcceptable(int seq) {
        return tcb.state != TcpState.CLOSED && seqLe(tcb.sndUna, seq) && seqLt(seq, tcb.sndMax);
    }

    /**
     * An ICMP error for this connection whose quoted sequence number passed {@link #icmpSequenceAcceptable}
     * (RFC 9293 §3.9.2.2, MUST-54). In SYN-SENT a hard error (protocol or port unreachable, administratively
     * prohibited) aborts the open (RFC 1122 §4.2.3.9, SHLD-26); every other error, and every error on a
     * synchronized connection, is soft (RFC 5461 §4): it never ends the connection (MUST-56) and is kept to be
     * reported (MUST-47) through {@link #softError()} and as the cause if the connection later times out.
     */
    void icmpError(boolean hard, String description) {
        if (hard && tcb.state == TcpState.SYN_SENT) {
            destroy(new ConnectException(description + ": " + remoteAddress()));
            return;
        }
        tcb.softError = description;
    }

    /** The last soft ICMP error reported for this connection (e.g. "host unreachable from 198.18.0.1"), or null. */
    public String softError() {
        return tcb.softError;
    }

    /**
     * The path MTU towards the peer went down to {@code mtu} (RFC 1191 §6.4, RFC 8201 §5.4 via RFC 5927 §4.2
     * checks): segments now carry at most MTU less the headers. Segments in flight that were too large are
     * resent at once at the new size (RFC 1191 §6.5: this is not a congestion signal, so cwnd and ssthresh stay).
     * Returns whether the MSS went down.
     */
    boolean pathMtuReduced(int mtu) {
        clock();
        return sender.pathMtuReduced(mtu);
    }

    void setState(TcpState s) {
        if (s == TcpState.ESTABLISHED && tcb.state != TcpState.ESTABLISHED) {
            tcb.lastReceived = tcb.now;
            if (tcb.keepAliveIdleNanos > 0) {
                timers.schedule(KEEPALIVE, tcb.lastReceived + tcb.keepAliveIdleNanos);
            }
        }
        tcb.state = s;
    }

    void uncountOrphan() {
        if (tcb.countedOrphan) {
            tcb.countedOrphan = false;
            tcp.orphans--;
        }
    }

    /** Ends the connection: timers off, memory freed, removed from the demux table, owner told. */
    void destroy(Throwable cause) {
        if (tcb.state == TcpState.CLOSED && cause == null) {
            return;
        }
        boolean wasConnecting = tcb.state == TcpState.SYN_SENT;
        boolean wasSynReceived = tcb.state == TcpState.SYN_RECEIVED;
        if (tcb.state == TcpState.TIME_WAIT) {
            tcp.timeWaits--;
        }
        uncountOrphan();
        setState(TcpState.CLOSED);
        if (cause != null && tcb.error == null) {
            tcb.error = cause;
        }
        timers.cancelAll();
        tcb.rack.clear();
        tcb.sendBuffer.releaseAll();
        tcb.reassembly.clear();
        // Unread data stays readable, after a FIN-and-close and after a reset or timeout alike: Linux returns what
        // arrived before the RST from recv() and ECONNRESET only after it. Its owner reads it, or frees it with
        // releaseBuffers(); an orphan has no owner left, so its data goes now.
        if (cause != null && tcb.orphaned) {
            tcb.receiveQueue.clear();
        }
        listener = null;
        tcp.remove(this);
        if (revivable != null) {
            TcpFlow old = revivable;
            revivable = null;
            if (wasSynReceived) {
                tcp.timeWait.revive(old); // RFC 9293 §3.6.1 MAY-2 (2): the SYN was an old duplicate: back to TIME-WAIT
            } else {
                tcp.timeWait.discard(old);
            }
        }
        signal(wasConnecting ? EV_CONNECTED | EV_CLOSED : EV_CLOSED | EV_READABLE);
        if (handler() == null) {
            tcb.receiveQueue.clear();
        }
    }

    /**
     * Sends the owed ACK, if data did not carry it already. Called by the stack after each input batch. A
     * connection in TIME-WAIT that its application closed is then replaced by a compact record
     * ({@link TimeWaitTable#release}).
     */
    public void flushAck() {
        clock();
        receiver.flushAck();
        if (tcb.state == TcpState.TIME_WAIT && tcb.orphaned && !parked) {
            tcp.timeWait.release(this);
        }
    }

    /** Asks for {@link #flushAck} after this batch (it is asked already if an ACK is owed): see {@link #handOver}. */
    void releaseLater() {
        if (!tcb.ackPending) {
            tcp.env.ackLater(this);
        }
    }

    /**
     * TIME-WAIT goes on in {@code r}, which replaced this connection in its layer's table: this object is let go
     * by the stack (timers, buffers) and is CLOSED to its own calls; {@link #state()} says TIME-WAIT while
     * {@code r} lives. Its application closed it, so nobody is to be told.
     */
    void handOver(TimeWaitRecord r) {
        released = r;
        timers.cancelAll();
        tcb.rack.clear();
        tcb.sendBuffer.releaseAll();
        tcb.reassembly.clear();
        tcb.receiveQueue.clear();
        setState(TcpState.CLOSED);
    }

    /** Frees what an owner left behind: called when the owning channel goes away. */
    public void releaseBuffers() {
        tcb.receiveQueue.clear();
        tcb.reassembly.clear();
        if (tcb.state == TcpState.CLOSED) {
            tcb.sendBuffer.releaseAll();
        }
    }
}
