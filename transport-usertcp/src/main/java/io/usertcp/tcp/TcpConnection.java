package io.usertcp.tcp;

import io.netty.buffer.ByteBuf;
import io.usertcp.ip.Route;
import io.usertcp.time.Timer;
import io.usertcp.wire.IpAddress;
import io.usertcp.wire.Ipv4;
import io.usertcp.wire.Tcp;
import io.usertcp.wire.TcpOptions;

import java.io.IOException;
import java.net.ConnectException;
import java.net.InetSocketAddress;

/**
 * One TCP connection: the transmission control block of RFC 9293 §3.3.1 and its state machine
 * (§3.10), with retransmission per RFC 6298 and NewReno congestion control (RFC 5681, RFC 6582).
 *
 * <p>Only the stack's thread touches a connection. Sequence numbers are ints compared by the sign of their
 * difference (RFC 1982 serial arithmetic, as RFC 9293 §3.4 requires).
 */
public final class TcpConnection extends TcpSocket {
    /** Default MSS when the peer sends none (RFC 9293 §3.7.1, MUST-15: 536 for IPv4). */
    static final int DEFAULT_MSS_V4 = 536;
    static final int DEFAULT_MSS_V6 = 1220;
    /** Smallest MSS we accept from a peer (a floor against tiny-segment attacks). */
    static final int MIN_MSS = 88;
    /** SYN retransmissions: at 1, 3, 7, ... 127, 247 s, so an open is given up on only after 3 minutes (MUST-23). */
    private static final int MAX_SYN_RETRIES = 8;
    private static final int MAX_DATA_RETRIES = 15;
    /** Least time between ACKs for out-of-window pure segments (Linux's net.ipv4.tcp_invalid_ratelimit). */
    static final long OOW_ACK_INTERVAL_NANOS = 500_000_000L;
    /** At most one neighbour reachability confirmation per second per connection (RFC 4861 §7.3.1). */
    private static final long REACHABLE_CONFIRM_NANOS = 1_000_000_000L;
    private static final long MAX_RTO_NANOS = 120_000_000_000L; // RFC 6298 (2.5) allows >= 60 s; Linux uses 120 s
    private static final long INITIAL_RTO_NANOS = 1_000_000_000L;
    private static final long FIN_WAIT_2_TIMEOUT_NANOS = 60_000_000_000L;

    final FlowKey key;
    final IpAddress local;
    final IpAddress remote;
    /** The way out to {@link #remote}, set up once (family, header room, next hop, path MTU, offload). */
    private final Route route;
    /** IP header bytes per segment: 20 for IPv4, 40 for IPv6 (no options or extension headers are sent). */
    private final int ipHeaderLength;
    final int localPort;
    final int remotePort;
    TcpListener listener;          // set while the ACK that completes a passive open is processed
    TcpConnection revivable;       // the TIME-WAIT incarnation this SYN-RECEIVED one replaced (MAY-2)
    boolean parked;                // a TIME-WAIT connection out of the table while its successor is tried
    private TcpState state = TcpState.CLOSED;
    private Throwable error;

    // Send sequence space (RFC 9293 §3.3.1).
    private int iss;
    private int sndUna;
    private int sndNxt;
    private int sndMax;             // highest sequence number sent + 1 (SND.NXT before a go-back-N)
    private int sndWnd;
    private int sndWl1;
    private int sndWl2;
    private int maxSndWnd;
    private int sndWscale;
    private int sndBufSeq;          // sequence number of sendBuffer byte 0
    private final SendBuffer sendBuffer;
    private int sendBufferLimit;
    private boolean finQueued;      // the application is done sending: FIN follows the buffer
    private boolean sendBlocked;    // a write found the buffer full: tell WRITABLE when it drains
    private int mss;                // effective send MSS

    // Receive sequence space.
    private int irs;
    private int rcvNxt;
    private int rcvWscale;
    private boolean windowScaleOk;  // both SYNs carried the window scale option
    private boolean sackOk;         // both SYNs carried SACK-permitted (RFC 2018)
    private boolean tsOk;           // both SYNs carried timestamps (RFC 7323 §3)
    private int tsOffset;           // per-connection random offset of our TSval clock (RFC 7323 §5.4)
    private int tsRecent;           // TS.Recent (§4.3)
    private long tsRecentAge;       // when TS.Recent was set, for the 24-day invalidation of §5.5
    private int lastAckSent;        // Last.ACK.sent (§4.3)
    private long lastOooOffset = -1; // stream offset of the latest out-of-order segment: its block goes first
    private final int[] sackOut = new int[8];
    private final SackScoreboard scoreboard = new SackScoreboard();
    private final RackState rack = new RackState(); // RACK loss detection for SACK connections (RFC 8985)
    private int rcvAdvEdge;         // RCV.NXT + RCV.WND as last advertised: never moved left
    private final ReceiveQueue receiveQueue;
    private final ReassemblyQueue reassembly;
    private long rcvNxtOffset;      // stream offset of RCV.NXT (bytes received in order so far)
    private long rcvUpOffset;       // stream offset of RCV.UP, the octet after the peer's urgent data (0: none)
    private long oooFinOffset = -1; // stream offset of a FIN that arrived out of order
    private int receiveBufferSize;
    private boolean finReceived;
    private boolean inputShutdown;
    private boolean ackPending;
    private boolean orphaned;       // the application closed; the connection finishes on its own
    private boolean countedOrphan;  // counted in TcpLayer.orphans (until TIME-WAIT or CLOSED)

    // Congestion control (RFC 5681, RFC 6582).
    private int cwnd;
    /** The largest cwnd ever allowed: 1 GiB, the largest window scaling can advertise (RFC 7323 §2.3). */
    static final int CWND_CLAMP = 1 << 30;
    // RFC 7661 §4 (as Linux's tcp_cwnd_validate): cwnd grows only while the sender uses it.
    private int maxFlight;          // the largest flight of the current window
    private int cwndUsageSeq;       // the window ends when SND.UNA passes this
    private boolean cwndLimited;    // the flight filled cwnd in that window
    private int ssthresh = Integer.MAX_VALUE;
    private CongestionControl cc = new CongestionControl.Cubic();
    private int dupAcks;
    private boolean inRecovery;
    private int recover;

    // RTT estimation (RFC 6298).
    private long srtt = -1;
    private long rttvar;
    private long rto = INITIAL_RTO_NANOS; // RFC 6298 RTO before backoff
    private int backoff;                  // timeouts since the last forward progress
    private boolean rttTiming;
    private int rttSeq;
    private long rttStart;
    private int retries;

    private final Timer rtxTimer = new ConnectionTimer() {
        @Override
        protected void expired(long now) {
            onRetransmitTimeout(now);
        }
    };
    private final Timer persistTimer = new ConnectionTimer() {
        @Override
        protected void expired(long now) {
            onPersistTimeout(now);
        }
    };
    private final Timer probeTimer = new ConnectionTimer() {
        @Override
        protected void expired(long now) {
            onProbeTimeout();
        }
    };
    /** RFC 8985 §6.3: the reordering timer, for a segment that RACK will count as lost at a known time. */
    private final Timer reoTimer = new ConnectionTimer() {
        @Override
        protected void expired(long now) {
            onReorderTimeout(now);
        }
    };
    private int probes;             // tail loss probes since the last forward progress
    private long challengeWindowStart;
    private int challengeAcks;
    private boolean noDelay = true;
    private long keepAliveIdleNanos;  // 0: keepalive off (RFC 9293 §3.8.4: off by default)
    private long keepAliveIntervalNanos = 75_000_000_000L;
    private int keepAliveCount = 9;
    private int keepAliveSent;
    private long lastReceived;
    private long userTimeoutNanos;    // 0: the retry limits alone decide (RFC 5482 user timeout)
    private long lastProgress;        // when SND.UNA last advanced (or data was first sent)
    private long lastSend;            // when new data was last sent (restart after idle)
    private int mssClamp;             // TCP_MAXSEG: 0 for none
    private long timeWaitNanos = -1;  // -1: the stack's default
    private final Timer keepAliveTimer = new ConnectionTimer() {
        @Override
        protected void expired(long now) {
            onKeepAliveTimeout(now);
        }
    };
    private final Timer closeTimer = new ConnectionTimer() {
        @Override
        protected void expired(long now) {
            onCloseTimeout();
        }
    };
    private int persistBackoff;     // zero-window probes since the window closed
    private int unansweredProbes;   // zero-window probes since the peer last sent an acceptable ACK
    /** Zero-window probes a connection whose application closed it sends before it gives up (Linux: 8). */
    static final int MAX_ORPHAN_PROBES = 8;
    private String softError;
    private long lastReachableConfirm = Long.MIN_VALUE / 2; // last upper-layer confirmation to NDP
    private int tos;                // IP_TOS / traffic class of every segment (RFC 9293 MUST-48)
    private boolean oowAckSent;     // an ACK answered an out-of-window pure segment at lastOowAck
    private long lastOowAck;

    TcpConnection(TcpLayer tcp, FlowKey key, IpAddress local, int localPort, IpAddress remote, int remotePort) {
        super(tcp);
        this.key = key;
        this.local = local;
        this.localPort = localPort;
        this.remote = remote;
        this.ipHeaderLength = remote.isV4() ? 20 : 40;
        this.route = tcp.env.route(null, local, remote);
        this.remotePort = remotePort;
        this.sendBuffer = new SendBuffer(tcp.env.alloc(), tcp.env.memory());
        this.receiveQueue = new ReceiveQueue(tcp.env.alloc(), tcp.env.memory());
        this.reassembly = new ReassemblyQueue(tcp.env.alloc(), tcp.env.memory());
        this.tsOffset = tcp.nextRandomInt();
        this.sendBufferLimit = tcp.defaultSendBuffer;
        this.receiveBufferSize = tcp.defaultReceiveBuffer;
    }

    // ------------------------------------------------------------------ application side

    /** The TCP layer (and so the stack) this connection belongs to. */
    public TcpLayer layer() {
        return tcp;
    }

    /** The state. */
    public TcpState state() {
        return state;
    }

    /** Why the connection ended abnormally (reset, refused, timed out), or null. */
    public Throwable error() {
        return error;
    }

    /** True from the completed handshake until both directions are closed or the connection is gone. */
    public boolean isEstablished() {
        return state.isSynchronized() && state != TcpState.TIME_WAIT;
    }

    /** True when the connection is gone for good. */
    public boolean isClosed() {
        return state == TcpState.CLOSED;
    }

    /** The local socket address. */
    public InetSocketAddress localAddress() {
        return new InetSocketAddress(local.toInet(), localPort);
    }

    /** The remote socket address. */
    public InetSocketAddress remoteAddress() {
        return new InetSocketAddress(remote.toInet(), remotePort);
    }

    /** Bytes that can be read now. */
    public int readableBytes() {
        return receiveQueue.size();
    }

    /** True once the peer's FIN arrived and every byte before it has been read. */
    public boolean isInputEnded() {
        return (finReceived || inputShutdown) && receiveQueue.size() == 0;
    }

    /** True after a FIN was received from the peer. */
    public boolean isFinReceived() {
        return finReceived;
    }

    /**
     * Moves received bytes into {@code dst}; returns how many. Reading opens the receive window; a window
     * update is sent when it grew enough to matter (RFC 9293 §3.8.6.2.2, receiver-side SWS avoidance).
     */
    public int read(ByteBuf dst) {
        int n = receiveQueue.read(dst);
        if (n > 0 && state.isSynchronized()) {
            // Only when the window we could advertise (the field is 16 bits, scaled) grows enough: an update
            // that changes nothing would be a duplicate ACK to the peer (RFC 5681 §2).
            long advertisable = Math.min((long) receiveBufferSize - receiveQueue.size(), 65535L << rcvWscale);
            int cur = rcvAdvEdge - rcvNxt;
            if (advertisable - cur >= Math.min(receiveBufferSize / 2, 2 * mss)) {
                ackLater();
            }
        }
        return n;
    }

    /**
     * Bytes of urgent data not yet read (RFC 9293 §3.8.5, MUST-33): from the read position up to the peer's
     * urgent pointer; 0 when there is none. Urgent data stays in line in the stream (as with SO_OOBINLINE): this
     * only says how much of what is to be read the peer marked urgent.
     */
    public int urgentBytes() {
        long consumed = rcvNxtOffset - receiveQueue.size();
        return (int) Math.min(Integer.MAX_VALUE, Math.max(0, rcvUpOffset - consumed));
    }

    /** The states in which urgent pointers are processed (those that still take text, §3.10.7.4 sixth). */
    private boolean takesUrgent() {
        return state == TcpState.ESTABLISHED || state == TcpState.FIN_WAIT_1 || state == TcpState.FIN_WAIT_2;
    }

    /**
     * RCV.UP <- max(RCV.UP, SEG.SEQ + SEG.UP) (RFC 9293 §3.10.7.4 sixth; the pointer names the octet after the
     * urgent data, §3.8.5 and RFC 6093), and the owner is told whenever it advances beyond the data read
     * (MUST-32); a sequence of urgent data of any length is kept (MUST-31). A zero pointer marks nothing.
     */
    private void urgentPointer(int seq, int up) {
        if (up == 0) {
            return;
        }
        long at = rcvNxtOffset + ((seq + up) - rcvNxt);
        if (at > rcvUpOffset) {
            rcvUpOffset = at;
            if (urgentBytes() > 0) {
                signal(EV_URGENT);
            }
        }
    }

    /** Room left in the send buffer. */
    public int writableBytes() {
        if (finQueued || !canSend()) {
            return 0;
        }
        return Math.max(0, sendBufferLimit - sendBuffer.size());
    }

    /**
     * Copies up to {@link #writableBytes()} of {@code src} into the send buffer (advancing its reader index);
     * returns how many. Call {@link #push()} after a batch of writes to send them.
     */
    public int write(ByteBuf src) throws IOException {
        if (finQueued) {
            throw new IOException("output of " + this + " is shut down");
        }
        if (!canSend()) {
            throw new IOException("connection " + this + " is " + state, error);
        }
        int n = sendBuffer.append(src, writableBytes());
        if (src.isReadable()) {
            sendBlocked = true;
        }
        return n;
    }

    /** Sends what the windows allow of what was written. */
    public void push() {
        output();
    }

    /** TCP_MAXSEG: caps the MSS this side sends with (and, before the SYN, the one it announces). */
    public void maxSegmentSize(int bytes) {
        this.mssClamp = bytes <= 0 ? 0 : Math.max(MIN_MSS, bytes);
        if (mssClamp > 0 && mss > mssClamp) {
            mss = mssClamp;
        }
    }

    /** How long this connection stays in TIME-WAIT; negative for the stack's default. */
    public void timeWait(long nanos) {
        this.timeWaitNanos = nanos;
    }

    /** The congestion control algorithm ({@code cubic}, the default, or {@code newreno}). */
    public void congestionControl(String name) {
        this.cc = CongestionControl.of(name);
    }

    /** TCP_NODELAY: false turns Nagle's algorithm on (RFC 896); true (the default) sends at once. */
    public void noDelay(boolean noDelay) {
        this.noDelay = noDelay;
    }

    /**
     * SO_KEEPALIVE with its knobs (RFC 9293 §3.8.4, RFC 1122 §4.2.3.6): after {@code idleNanos} without any
     * segment from the peer, probe every {@code intervalNanos}; after {@code count} unanswered probes the
     * connection is reset. {@code idleNanos} 0 turns keepalive off (the default).
     */
    public void keepAlive(long idleNanos, long intervalNanos, int count) {
        this.keepAliveIdleNanos = Math.max(0, idleNanos);
        this.keepAliveIntervalNanos = Math.max(1_000_000L, intervalNanos);
        this.keepAliveCount = Math.max(1, count);
        if (keepAliveIdleNanos > 0 && state.isSynchronized()) {
            tcp.env.timers().schedule(keepAliveTimer, tcp.env.now() + keepAliveIdleNanos);
        } else {
            tcp.env.timers().cancel(keepAliveTimer);
        }
    }

    /**
     * The user timeout (RFC 9293 §3.8.3, RFC 5482): the connection is reset when data stays unacknowledged,
     * or zero-window probes stay unanswered, this long. 0 (default) leaves it to the retry limits.
     */
    public void userTimeout(long nanos) {
        this.userTimeoutNanos = Math.max(0, nanos);
    }

    private void onKeepAliveTimeout(long now) {
        if (keepAliveIdleNanos <= 0 || !state.isSynchronized() || state == TcpState.TIME_WAIT) {
            return;
        }
        long idle = now - lastReceived;
        if (sndUna != sndMax && keepAliveSent == 0) {
            // Data is outstanding: the retransmission timer watches the peer (RFC 1122 §4.2.3.6 probes idle
            // connections only).
            tcp.env.timers().schedule(keepAliveTimer, now + keepAliveIdleNanos);
            return;
        }
        if (idle < keepAliveIdleNanos && keepAliveSent == 0) {
            tcp.env.timers().schedule(keepAliveTimer, lastReceived + keepAliveIdleNanos);
            return;
        }
        if (keepAliveSent >= keepAliveCount) {
            sendControl(sndMax, 0, Tcp.RST);
            destroy(new IOException("Connection timed out (keepalive)"));
            return;
        }
        // A segment the peer must answer (RFC 1122 §4.2.3.6): SEG.SEQ = SND.NXT - 1, no data.
        sendControl(sndMax - 1, rcvNxt, Tcp.ACK);
        keepAliveSent++;
        tcp.env.timers().schedule(keepAliveTimer, now + keepAliveIntervalNanos);
    }

    /** SO_SNDBUF: the most bytes buffered for sending. */
    public void sendBufferSize(int bytes) {
        this.sendBufferLimit = Math.max(bytes, 1);
    }

    /** SO_SNDBUF. */
    public int sendBufferSize() {
        return sendBufferLimit;
    }

    /** SO_RCVBUF: the most unread bytes held, and so the largest window offered. */
    public void receiveBufferSize(int bytes) {
        this.receiveBufferSize = Math.max(bytes, 1);
    }

    /** SO_RCVBUF. */
    public int receiveBufferSize() {
        return receiveBufferSize;
    }

    /** IP_TOS: the DSCP and ECN byte of the segments sent from now on (RFC 9293 §3.9.1.1 MUST-48). */
    public void tos(int tos) {
        this.tos = tos & 0xff;
    }

    /** The IP_TOS byte of the segments sent. */
    public int tos() {
        return tos;
    }

    /** The MSS this side sends with. */
    public int mss() {
        return mss;
    }

    /** Smoothed RTT in nanoseconds, or -1 before the first sample. */
    public long srttNanos() {
        return srtt;
    }

    /** Bytes written and not yet acknowledged. */
    public int unacknowledgedBytes() {
        return sendBuffer.size();
    }

    /**
     * Shuts down output (RFC 9293 §3.10.4 CLOSE on the sending half): FIN is sent after everything queued.
     * Idempotent.
     */
    public void shutdownOutput() {
        if (finQueued) {
            return;
        }
        switch (state) {
            case SYN_SENT:
                destroy(null);
                return;
            case SYN_RECEIVED:
            case ESTABLISHED:
                finQueued = true;
                setState(TcpState.FIN_WAIT_1);
                break;
            case CLOSE_WAIT:
                finQueued = true;
                setState(TcpState.LAST_ACK);
                break;
            default:
                return;
        }
        output();
    }

    /** Discards further input: data that arrives is acknowledged and dropped. */
    public void shutdownInput() {
        inputShutdown = true;
        receiveQueue.clear();
        reassembly.clear();
    }

    /**
     * The application is done with the connection (RFC 9293 §3.10.4 CLOSE). If unread data remains, the
     * connection is reset, as RFC 2525 §2.17 and Linux do, so the peer learns that data was lost;
     * otherwise a FIN follows the queued data and the connection finishes on its own.
     */
    public void close() {
        handler(null);
        orphaned = true;
        if (state == TcpState.CLOSED) {
            return;
        }
        if (receiveQueue.size() > 0 && state.isSynchronized()) {
            abort();
            return;
        }
        if (!countedOrphan && state != TcpState.TIME_WAIT) {
            if (tcp.orphans >= tcp.maxOrphans) {
                // Too many closed connections still finishing: this one is reset now (Linux: "too many orphaned
                // sockets") rather than hold its buffers for minutes (issue #10).
                tcp.env.stats().tcpOrphansReset++;
                abort();
                return;
            }
            countedOrphan = true;
            tcp.orphans++;
        }
        shutdownInput();
        shutdownOutput();
        if (state == TcpState.FIN_WAIT_2) {
            armFinWait2();
        }
    }

    /** Resets the connection (RFC 9293 §3.10.5 ABORT): RST if synchronized, then gone. */
    public void abort() {
        handler(null);
        if (state == TcpState.CLOSED) {
            return;
        }
        if (state.isSynchronized() || state == TcpState.SYN_RECEIVED) {
            if (state != TcpState.TIME_WAIT) {
                sendControl(sndMax, 0, Tcp.RST);
                tcp.env.stats().tcpResetsOut++;
            }
        }
        destroy(null);
    }

    /** See {@link TcpLayer#faulted}: reset the peer if we can, then close with {@code e} as the error. */
    void faulted(RuntimeException e) {
        try {
            if (state.isSynchronized() && state != TcpState.TIME_WAIT || state == TcpState.SYN_RECEIVED) {
                sendControl(sndMax, 0, Tcp.RST);
                tcp.env.stats().tcpResetsOut++;
            }
        } finally {
            destroy(new java.io.IOException("usertcp reset the connection after an internal error: " + e, e));
        }
    }

    /** A connection's timer: if its expiry throws (a bug), the connection is reset rather than left half-updated. */
    private abstract class ConnectionTimer extends Timer {
        @Override
        protected void failed(RuntimeException e) {
            tcp.faulted(TcpConnection.this, e);
        }

        @Override
        public String toString() {
            return "timer of " + TcpConnection.this;
        }
    }

    @Override
    public String toString() {
        return local + ":" + localPort + "->" + remote + ":" + remotePort
                + " " + state;
    }

    // ------------------------------------------------------------------ opening

    /** Active open (RFC 9293 §3.10.1): sends SYN. */
    void connect() {
        iss = tcp.isn(this);
        sndUna = iss;
        sndNxt = iss;
        sndMax = iss;
        sndBufSeq = iss + 1;
        recover = iss;
        rcvWscale = windowScaleFor(receiveBufferSize);
        mss = pathMss();
        cwnd = initialCwnd();
        setState(TcpState.SYN_SENT);
        sendSyn(false);
    }

    /**
     * Passive open (RFC 9293 §3.10.7.2) completed outside the connection: the SYN was held by a SYN queue record
     * or a SYN cookie ({@link PassiveOpen}) until the peer's ACK came. Sets up SYN-RECEIVED as receiving that SYN
     * and sending our SYN-ACK would have, so that {@link #segmentArrives} then takes the ACK like any other.
     * {@code synAckSent} is when the SYN-ACK left if it was never resent ({@code r.retries} 0): the handshake's
     * RTT sample.
     */
    void synReceived(SynReceived r, int tsOffset, long synAckSent) {
        irs = r.irs;
        rcvNxt = irs + 1;
        iss = r.iss;
        sndUna = iss;
        sndNxt = iss + 1;
        sndMax = iss + 1;
        sndBufSeq = iss + 1;
        recover = iss;
        // RFC 9293 §3.7.1 (MUST-15): without the option assume 536 (IPv4) or 1220 (IPv6, RFC 8200 §5).
        int peerMss = r.peerMss > 0 ? r.peerMss : remote.isV4() ? DEFAULT_MSS_V4 : DEFAULT_MSS_V6;
        mss = Math.max(MIN_MSS, Math.min(pathMss(), peerMss));
        windowScaleOk = r.peerWscale >= 0;
        sndWscale = windowScaleOk ? Math.min(r.peerWscale, 14) : 0; // RFC 7323 §2.3: above 14 is 14
        rcvWscale = windowScaleOk ? windowScaleFor(receiveBufferSize) : 0;
        sackOk = r.sackPermitted;
        tsOk = r.timestamps;
        tsRecent = r.tsRecent;
        tsRecentAge = tcp.env.now();
        this.tsOffset = tsOffset;
        sndWnd = r.peerWindow; // never scaled in a SYN (RFC 7323 §2.2)
        sndWl1 = irs;
        sndWl2 = iss;
        maxSndWnd = sndWnd;
        cwnd = initialCwnd();
        lastAckSent = rcvNxt;
        rcvAdvEdge = rcvNxt + Math.min(receiveBufferSize, 65535);
        retries = r.retries;
        rttStart = synAckSent;
        setState(TcpState.SYN_RECEIVED);
    }

    private void applySynOptions(TcpOptions opts, boolean weMayScale) {
        int pathMss = pathMss();
        // RFC 9293 §3.7.1 (MUST-15): without the option assume 536 (IPv4) or 1220 (IPv6, RFC 8200 §5).
        int peerMss = opts.mss() > 0 ? opts.mss() : remote.isV4() ? DEFAULT_MSS_V4 : DEFAULT_MSS_V6;
        mss = Math.max(MIN_MSS, Math.min(pathMss, peerMss));
        if (mssClamp > 0) {
            mss = Math.min(mss, mssClamp);
        }
        windowScaleOk = opts.windowScale() >= 0 && weMayScale;
        sackOk = opts.sackPermitted();
        tsOk = opts.hasTimestamp();
        if (tsOk) {
            tsRecent = opts.tsVal();
            tsRecentAge = tcp.env.now();
        }
        if (windowScaleOk) {
            // RFC 7323 §2.3: a shift above 14 is treated as 14 (MUST).
            sndWscale = Math.min(opts.windowScale(), 14);
            rcvWscale = windowScaleFor(receiveBufferSize);
        } else {
            sndWscale = 0;
            rcvWscale = 0;
        }
    }

    /** The MSS the path's MTU allows (RFC 9293 §3.7.1: MTU less the IP and TCP fixed headers). */
    private int pathMss() {
        return route.mtu() - ipHeaderLength - Tcp.MIN_HEADER_LENGTH;
    }

    private int initialCwnd() {
        // RFC 6928: IW = min(10*MSS, max(2*MSS, 14600)).
        return Math.min(10 * mss, Math.max(2 * mss, 14600));
    }

    static int windowScaleFor(int bufferSize) {
        int s = 0;
        while (s < 14 && (65535L << s) < bufferSize) {
            s++;
        }
        return s;
    }

    private void sendSyn(boolean ack) {
        // MSS (4), then NOP + window scale (3) and NOP, NOP + SACK-permitted (2): in a SYN-ACK only if the
        // SYN carried them (RFC 7323 §1.3, RFC 2018 §2).
        boolean ws = !ack || windowScaleOk;
        boolean sp = !ack || sackOk;
        boolean ts = !ack || tsOk;
        int optLen = 4 + (ws ? 4 : 0) + (sp ? 4 : 0) + (ts ? 12 : 0);
        int hdr = Tcp.MIN_HEADER_LENGTH + optLen;
        ByteBuf f = route.newPacket(hdr);
        int o = route.transportOffset();
        int flags = Tcp.SYN | (ack ? Tcp.ACK : 0);
        Tcp.writeHeader(f, o, localPort, remotePort, iss, ack ? rcvNxt : 0, hdr, flags,
                Math.min(receiveBufferSize, 65535));
        int p = o + Tcp.MIN_HEADER_LENGTH;
        f.setByte(p, Tcp.OPT_MSS);
        f.setByte(p + 1, 4);
        int announce = route.mtu() - ipHeaderLength - Tcp.MIN_HEADER_LENGTH;
        f.setShort(p + 2, mssClamp > 0 ? Math.min(announce, mssClamp) : announce);
        if (ws) {
            f.setByte(p + 4, Tcp.OPT_NOP);
            f.setByte(p + 5, Tcp.OPT_WSCALE);
            f.setByte(p + 6, 3);
            f.setByte(p + 7, ack ? rcvWscale : windowScaleFor(receiveBufferSize));
            p += 4;
        }
        if (sp) {
            f.setByte(p + 4, Tcp.OPT_NOP);
            f.setByte(p + 5, Tcp.OPT_NOP);
            f.setByte(p + 6, Tcp.OPT_SACK_PERMITTED);
            f.setByte(p + 7, 2);
            p += 4;
        }
        if (ts) {
            writeTimestamp(f, p + 4, ack ? tsRecent : 0);
        }
        if (ack) {
            lastAckSent = rcvNxt;
            rcvAdvEdge = rcvNxt + Math.min(receiveBufferSize, 65535);
        }
        if (retries == 0) {
            rttStart = tcp.env.now(); // the handshake gives the first RTT sample unless a SYN was resent
        }
        transmit(f, o, hdr);
        sndNxt = iss + 1;
        if (sndMax - sndNxt < 0) {
            sndMax = sndNxt;
        }
        if (!rtxTimer.isScheduled()) {
            armRtx(tcp.env.now());
        }
    }

    // ------------------------------------------------------------------ input (RFC 9293 §3.10.7)

    /**
     * Processes one segment for this connection. {@code frame} is not retained beyond the call except as
     * slices of its payload.
     */
    void segmentArrives(ByteBuf frame, int o, int seq, int ack, int flags, int window, int dataOff, int dataLen,
                        TcpOptions opts) {
        lastReceived = tcp.env.now();
        keepAliveSent = 0;
        if (state == TcpState.SYN_SENT) {
            synSentArrives(seq, ack, flags, window, opts);
            return;
        }
        boolean syn = (flags & Tcp.SYN) != 0;
        boolean fin = (flags & Tcp.FIN) != 0;
        boolean rst = (flags & Tcp.RST) != 0;

        // A retransmitted SYN while we are in SYN-RECEIVED: our SYN-ACK was lost; send it again.
        if (state == TcpState.SYN_RECEIVED && syn && !rst && (flags & Tcp.ACK) == 0 && seq == irs) {
            sendSyn(true);
            return;
        }

        // RFC 7323 §5.3 PAWS: a segment whose TSval is older than TS.Recent is an old duplicate (R1), unless
        // TS.Recent has not been refreshed for 24 days (§5.5); RSTs are exempt (§5.2).
        boolean takesTsVal = false;
        if (tsOk && opts.hasTimestamp() && !rst) {
            if (seqLt(opts.tsVal(), tsRecent) && tcp.env.now() - tsRecentAge <= 24L * 86_400 * 1_000_000_000L) {
                tcp.env.stats().dropTcpUnacceptable++;
                sendOutOfWindowAck(dataLen + ((flags & (Tcp.SYN | Tcp.FIN)) != 0 ? 1 : 0));
                return;
            }
            // §4.3, R3: the TSval of a segment that covers Last.ACK.sent becomes TS.Recent, but only once the
            // segment has passed the sequence (R2) and ACK checks below: a blind segment that is then dropped
            // must not move it (issue #10).
            takesTsVal = seqLe(seq, lastAckSent);
        }

        // First: sequence number acceptability (§3.10.7.4, the four cases).
        int segLen = dataLen + (syn ? 1 : 0) + (fin ? 1 : 0);
        int rcvWnd = Math.max(0, rcvAdvEdge - rcvNxt);
        boolean acceptable;
        if (segLen == 0) {
            acceptable = rcvWnd == 0 ? seq == rcvNxt : inWindow(seq, rcvNxt, rcvWnd);
        } else {
            acceptable = rcvWnd != 0
                    && (inWindow(seq, rcvNxt, rcvWnd) || inWindow(seq + segLen - 1, rcvNxt, rcvWnd));
        }
        if (!acceptable) {
            // Zero-window probes and old duplicates land here: answer with an ACK (MUST-?: RFC 9293 says
            // send an acknowledgment unless RST is set).
            if (!rst) {
                if (state == TcpState.TIME_WAIT && fin) {
                    armTimeWait();
                }
                if (rcvWnd == 0 && seq == rcvNxt && (flags & Tcp.URG) != 0 && takesUrgent()) {
                    // MUST-66: the URG field is processed even with a zero window (a probe that carries it).
                    urgentPointer(seq, frame.getUnsignedShort(o + 18));
                }
                // A segment at RCV.NXT-1 is a keep-alive or window probe (§3.8.4, §3.8.6.1): it asks for exactly
                // this ACK, so it is always answered.
                sendOutOfWindowAck(seq == rcvNxt - 1 ? 1 : segLen);
            }
            tcp.env.stats().dropTcpUnacceptable++;
            return;
        }

        // Second: RST (§3.10.7.4 with RFC 5961 §3.2: only an exact match resets; others get a challenge ACK).
        if (rst) {
            if (seq == rcvNxt) {
                tcp.env.stats().tcpResetsIn++;
                if (state == TcpState.SYN_RECEIVED && listener != null) {
                    destroy(null); // back to LISTEN: the listener never saw this connection
                } else if (state == TcpState.TIME_WAIT || state == TcpState.CLOSING
                        || state == TcpState.LAST_ACK) {
                    destroy(null);
                } else {
                    destroy(new IOException("Connection reset by peer"));
                }
            } else {
                challengeAck();
            }
            return;
        }

        // Fourth: SYN in a synchronized state (RFC 5961 §4.2): challenge ACK, drop.
        if (syn) {
            challengeAck();
            return;
        }

        // Fifth: ACK.
        if ((flags & Tcp.ACK) == 0) {
            return;
        }
        if (state == TcpState.SYN_RECEIVED) {
            if (seqLt(sndUna, ack) && seqLe(ack, sndMax)) {
                if (retries == 0) {
                    sampleRtt(tcp.env.now() - rttStart); // the SYN-ACK was not resent: a valid sample
                }
                setState(finQueued ? TcpState.FIN_WAIT_1 : TcpState.ESTABLISHED);
                sndWnd = window << sndWscale;
                sndWl1 = seq;
                sndWl2 = ack;
                maxSndWnd = Math.max(maxSndWnd, sndWnd);
                if (revivable != null) {
                    TcpConnection old = revivable; // the new incarnation is real: the old one goes for good
                    revivable = null;
                    old.destroy(null);
                }
                if (listener != null) {
                    TcpListener l = listener;
                    listener = null;
                    l.established(this);
                }
            } else {
                sendControl(ack, 0, Tcp.RST);
                return;
            }
        }
        if (!processAck(seq, ack, window, dataLen, flags, opts)) {
            return;
        }
        if (state == TcpState.CLOSED) {
            return;
        }
        if (takesTsVal) {
            tsRecent = opts.tsVal();
            tsRecentAge = tcp.env.now();
        }

        // Sixth: the URG bit (RFC 9293 §3.10.7.4), in the states that still take text.
        if ((flags & Tcp.URG) != 0 && takesUrgent()) {
            urgentPointer(seq, frame.getUnsignedShort(o + 18));
        }

        // Seventh: segment text.
        int len = dataLen;
        int off = dataOff;
        int s = seq;
        if (len > 0) {
            switch (state) {
                case ESTABLISHED:
                case FIN_WAIT_1:
                case FIN_WAIT_2:
                    if (seqLt(s, rcvNxt)) { // overlap with what we have: trim the left edge
                        int skip = rcvNxt - s;
                        off += skip;
                        len -= skip;
                        s = rcvNxt;
                    }
                    if (s != rcvNxt) {
                        // Out of order: hold what fits in the window for later (§3.10.7.4) and send an
                        // immediate duplicate ACK (RFC 5681 §4.2) so the sender learns of the hole.
                        int fits = Math.min(len, Math.max(0, rcvAdvEdge - s));
                        long at = rcvNxtOffset + (s - rcvNxt);
                        if (fits > 0) {
                            lastOooOffset = at;
                        }
                        // Held data is charged at the memory it pins, within SO_RCVBUF (issue #10).
                        reassembly.memoryLimit(receiveBufferSize);
                        if (fits > 0 && !reassembly.insert(at, frame, off, fits)) {
                            tcp.env.stats().tcpOutOfOrderDropped++;
                        } else if (fin && fits == len) {
                            oooFinOffset = at + len;
                        }
                        sendAck();
                        return;
                    }
                    int room = Math.max(0, rcvAdvEdge - rcvNxt);
                    if (len > room) {
                        len = room;
                        fin = false; // the FIN lies beyond what we take
                    }
                    if (len > 0 && !inputShutdown && !receiveQueue.admits(len)) {
                        // The stack's memory budget is used up: not taken, not acknowledged; the peer
                        // retransmits it later (as Linux under tcp_mem pressure) (issue #10).
                        tcp.env.stats().dropTcpMemory++;
                        sendAck();
                        return;
                    }
                    if (len > 0) {
                        if (!inputShutdown) {
                            receiveQueue.append(frame, off, len);
                            signal(EV_READABLE);
                        }
                        rcvNxt += len;
                        rcvNxtOffset += len;
                        if (rcvNxt - lastAckSent >= 2 * mss) {
                            sendAck(); // RFC 9293 §3.8.6.3 / RFC 5681 §4.2: every second full-sized segment
                        } else {
                            ackLater(); // the rest are acknowledged once the batch of input is processed
                        }
                        if (!reassembly.isEmpty()) {
                            // A hole was filled: take what now follows in order, and ACK at once (§4.2).
                            long more = reassembly.pull(rcvNxtOffset, inputShutdown ? null : receiveQueue);
                            rcvNxt += (int) more;
                            rcvNxtOffset += more;
                            if (oooFinOffset >= 0 && oooFinOffset == rcvNxtOffset) {
                                oooFinOffset = -1;
                                onFin();
                                return;
                            }
                            sendAck();
                        }
                    }
                    if (len < dataLen - (s - seq)) {
                        fin = false;
                    }
                    break;
                default:
                    // CLOSE-WAIT, CLOSING, LAST-ACK, TIME-WAIT: a FIN was received; ignore text.
                    fin = false;
                    break;
            }
        }

        // Eighth: FIN.
        if (fin && seq + dataLen == rcvNxt) {
            onFin();
        }
    }

    private void synSentArrives(int seq, int ack, int flags, int window, TcpOptions opts) {
        boolean hasAck = (flags & Tcp.ACK) != 0;
        if (hasAck && (seqLe(ack, iss) || seqGt(ack, sndMax))) {
            if ((flags & Tcp.RST) == 0) {
                sendControl(ack, 0, Tcp.RST);
            }
            return;
        }
        if ((flags & Tcp.RST) != 0) {
            if (hasAck) {
                tcp.env.stats().tcpResetsIn++;
                destroy(new ConnectException("Connection refused: " + remoteAddress()));
            }
            return;
        }
        if ((flags & Tcp.SYN) == 0) {
            return;
        }
        irs = seq;
        rcvNxt = seq + 1;
        applySynOptions(opts, true);
        rcvAdvEdge = rcvNxt + Math.min(receiveBufferSize, 65535 << rcvWscale);
        if (hasAck) {
            sndUna = ack;
            sndWnd = window; // RFC 7323 §2.2: the window of a segment with SYN is never scaled
            sndWl1 = seq;
            sndWl2 = ack;
            maxSndWnd = sndWnd;
            tcp.env.timers().cancel(rtxTimer);
            if (retries == 0) {
                sampleRtt(tcp.env.now() - rttStart); // RFC 6298 §2: Karn's rule allows it, nothing was resent
            }
            retries = 0;
            setState(TcpState.ESTABLISHED);
            tcp.env.stats().tcpActiveOpens++;
            sendAck();
            signal(EV_CONNECTED | EV_WRITABLE);
            output();
        } else {
            // Simultaneous open (§3.5, figure 8).
            setState(TcpState.SYN_RECEIVED);
            sndWnd = window;
            sndWl1 = seq;
            sndWl2 = iss;
            sendSyn(true);
        }
    }

    /** Returns false when the segment must be dropped after the ACK step. */
    private boolean processAck(int seq, int ack, int window, int dataLen, int flags, TcpOptions opts) {
        int wnd = window << sndWscale;
        int segLen = dataLen + ((flags & (Tcp.SYN | Tcp.FIN)) != 0 ? 1 : 0);
        if (seqGt(ack, sndMax)) {
            // Acknowledges something not yet sent: ACK and drop (§3.10.7.4).
            sendOutOfWindowAck(segLen);
            return false;
        }
        if (seqLt(ack, sndUna - Math.max(maxSndWnd, 1))) {
            // RFC 5961 §5.2: far too old an ACK.
            sendOutOfWindowAck(segLen);
            return false;
        }
        unansweredProbes = 0; // the peer is there (a zero-window probe's answer lands here)
        boolean windowUpdate = false;
        if (seqLt(sndWl1, seq) || (sndWl1 == seq && seqLe(sndWl2, ack))) {
            windowUpdate = wnd != sndWnd;
            sndWnd = wnd;
            sndWl1 = seq;
            sndWl2 = ack;
            if (sndWnd > maxSndWnd) {
                maxSndWnd = sndWnd;
            }
        }
        long now = tcp.env.now();
        boolean newSack = false;
        boolean dsack = false;
        if (sackOk && opts.sackCount() > 0) {
            int una = seqGt(ack, sndUna) ? ack : sndUna;
            // RFC 2883 §4: a first block at or below the cumulative ACK, or inside the second block, reports a
            // duplicate (D-SACK): it says a retransmission was unnecessary, not that anything is missing.
            dsack = seqLe(opts.sackRight(0), ack) || (opts.sackCount() > 1
                    && seqGe(opts.sackLeft(0), opts.sackLeft(1)) && seqLe(opts.sackRight(0), opts.sackRight(1)));
            if (dsack) {
                tcp.env.stats().tcpDsacksIn++;
            }
            for (int k = dsack ? 1 : 0; k < opts.sackCount(); k++) {
                newSack |= scoreboard.add(opts.sackLeft(k), opts.sackRight(k), una, sndMax, tcp.env.stats());
            }
        }
        if (newSack && !seqGt(ack, sndUna)) {
            armProbe(now);
        }
        if (seqGt(ack, sndUna)) {
            long samplesBefore = rttSamples;
            newAck(ack, now);
            if (rttSamples == samplesBefore && tsOk && opts.hasTimestamp() && opts.tsEcr() != 0) {
                // RFC 7323 §4 (RTTM): an ACK that advances SND.UNA echoes the TSval of the segment it answers,
                // retransmitted or not, so it measures the RTT even where Karn's rule forbids timing. Our TS clock
                // ticks in milliseconds: a sample is at least one tick.
                int ms = tsNow() - opts.tsEcr();
                if (ms >= 0 && ms < 600_000) {
                    sampleRtt(Math.max(1, ms) * 1_000_000L);
                }
            }
        } else if (ack == sndUna && dataLen == 0 && (flags & (Tcp.SYN | Tcp.FIN)) == 0 && sndMax != sndUna
                && (!windowUpdate || newSack) && sndWnd > 0 && (!dsack || newSack)) {
            // RFC 5681 §2 duplicate ACK (no data, no SYN/FIN, window unchanged, data outstanding); with SACK,
            // an ACK that SACKs new data counts too (RFC 6675 §2). Answers to zero-window probes do not: the
            // peer can take nothing, so nothing may be retransmitted. Nor do ACKs that only report a duplicate
            // (D-SACK, RFC 2883): they answer our own spurious retransmission.
            onDupAck();
        }
        if (sackOk) {
            rack.onAck(sndUna, scoreboard, now, tcp.env.stats()); // RFC 8985 §6.2 steps 1-3
            if (sndMax != sndUna) {
                rackDetectLoss(dsack, now);
            }
        }
        if (sndWnd > 0) {
            persistBackoff = 0;
            tcp.env.timers().cancel(persistTimer);
        }
        // FIN acknowledged?
        if (finQueued && sndUna == finSeq() + 1) {
            switch (state) {
                case FIN_WAIT_1:
                    setState(TcpState.FIN_WAIT_2);
                    if (orphaned) {
                        armFinWait2();
                    }
                    break;
                case CLOSING:
                    enterTimeWait();
                    return true;
                case LAST_ACK:
                    destroy(null);
                    return false;
                default:
                    break;
            }
        }
        if (state == TcpState.TIME_WAIT) {
            return true;
        }
        if (inRecovery && sackOk) {
            sackRecoveryOutput();
        } else {
            output();
        }
        return true;
    }

    private void newAck(int ack, long now) {
        int acked = ack - sndUna;
        int flight = sndMax - sndUna;
        if (sndUna == iss) {
            acked--; // the SYN
        }
        int data = Math.min(Math.max(acked, 0), sendBuffer.size());
        if (data > 0) {
            sendBuffer.discard(data);
            sndBufSeq += data;
        }
        sndUna = ack;
        if (seqLt(sndNxt, sndUna)) {
            sndNxt = sndUna;
        }
        scoreboard.advance(sndUna);
        // RTT sample (RFC 6298 §3, Karn: never from a retransmitted segment; timing is cancelled then).
        if (rttTiming && seqGt(ack, rttSeq)) {
            rttTiming = false;
            sampleRtt(now - rttStart);
        }
        retries = 0;
        if (ipHeaderLength == 40 && now - lastReachableConfirm > REACHABLE_CONFIRM_NANOS) {
            // RFC 4861 §7.3.1: new data acknowledged proves the path (and its first hop) works.
            lastReachableConfirm = now;
            tcp.env.confirmReachable(remote);
        }
        // Forward progress ends the backoff (as FreeBSD and lwIP do): without timestamps, Karn's rule can
        // leave no valid sample for a long time on a lossy path, and a 60 s RTO would starve recovery.
        backoff = 0;
        // Congestion control.
        if (inRecovery) {
            if (seqGe(ack, recover)) {
                // Full acknowledgment (RFC 6582 §3.2 step 3).
                inRecovery = false;
                rack.onRecoveryExit();
                cwnd = Math.min(ssthresh, Math.max(sndMax - sndUna, mss) + mss);
            } else if (!sackOk) {
                // Partial acknowledgment: retransmit the next hole, deflate (step 4).
                retransmitOne();
                cwnd = Math.max(cwnd - acked + mss, mss);
            }
        } else if (!isCwndLimited()) {
            // RFC 7661 §4.3: an application-limited sender has not shown that the network takes a larger window.
        } else if (cwnd < ssthresh) {
            cwnd = Math.min(cwnd + Math.min(acked, 2 * mss), CWND_CLAMP); // slow start, ABC L = 2*SMSS (RFC 3465)
        } else {
            cwnd = Math.min(cc.onAckInAvoidance(cwnd, acked, mss, now, srtt), CWND_CLAMP);
        }
        dupAcks = 0;
        probes = 0;
        lastProgress = now;
        // RFC 6298 §5.2/5.3: stop the timer when all is acknowledged, else restart it.
        if (sndUna == sndMax) {
            tcp.env.timers().cancel(rtxTimer);
            tcp.env.timers().cancel(probeTimer);
            tcp.env.timers().cancel(reoTimer);
        } else {
            armRtx(now);
            armProbe(now);
        }
        if (sendBlocked && writableBytes() > 0) {
            sendBlocked = false;
            signal(EV_WRITABLE);
        }
        if (flight > 0 && sendBuffer.size() == 0 && !finQueued) {
            signal(EV_WRITABLE);
        }
    }

    private void onDupAck() {
        dupAcks++;
        if (inRecovery) {
            if (!sackOk) {
                cwnd += mss; // RFC 6582 §3.2 step 3: inflate for each additional duplicate
            }
        } else if (!sackOk && dupAcks == 3 && seqGt(sndUna, recover - 1)) {
            // Fast retransmit (RFC 5681 §3.2 steps 2-4, RFC 6582 step 2).
            int flight = sndMax - sndUna;
            ssthresh = cc.onLoss(cwnd, flight, mss, tcp.env.now());
            recover = sndMax;
            inRecovery = true;
            rttTiming = false;
            retransmitOne();
            cwnd = ssthresh + 3 * mss;
            tcp.env.stats().tcpRetransmits++;
        }
    }

    /**
     * RFC 8985 §6.2 step 5 and §6.3: marks what RACK now counts as lost, arms the reordering timer for what
     * it will count as lost later, and starts recovery when something is lost (RACK replaces the DupThresh
     * rule of RFC 6675 for SACK connections; cwnd falls once per episode, RFC 6675 §5 with RFC 6582's
     * "recover").
     */
    private void rackDetectLoss(boolean dsack, long now) {
        rack.updateReoWnd(dsack, sndUna, sndMax, inRecovery || seqLt(sndUna, recover), srtt);
        long timeout = rack.detectLoss(now);
        if (timeout > 0) {
            tcp.env.timers().schedule(reoTimer, now + timeout);
        } else {
            tcp.env.timers().cancel(reoTimer);
        }
        if (rack.hasLost() && !inRecovery && seqGe(sndUna, recover)) {
            enterSackRecovery();
        }
    }

    /** RFC 8985 §6.3: the reordering timer expired: detect loss again, and repair what is lost. */
    private void onReorderTimeout(long now) {
        if (!state.isSynchronized() || state == TcpState.TIME_WAIT || sndUna == sndMax) {
            return;
        }
        rackDetectLoss(false, now);
        if (inRecovery) {
            sackRecoveryOutput();
        }
    }

    /** RFC 6675 §5 steps (1)-(4): enter loss recovery; pipe accounting replaces cwnd inflation. */
    private void enterSackRecovery() {
        ssthresh = cc.onLoss(cwnd, sndMax - sndUna, mss, tcp.env.now());
        cwnd = ssthresh;
        recover = sndMax;
        inRecovery = true;
        rttTiming = false;
        tcp.env.timers().cancel(probeTimer); // RFC 8985 §7.2: no loss probe during recovery
        // Step (4.3): the first segment presumed lost goes out at once, whatever pipe says.
        retransmitFirstLost();
    }

    private void onFin() {
        finReceived = true;
        rcvNxt++;
        ackLater();
        signal(EV_READABLE | EV_INPUT_CLOSED);
        switch (state) {
            case SYN_RECEIVED:
            case ESTABLISHED:
                setState(TcpState.CLOSE_WAIT);
                break;
            case FIN_WAIT_1:
                if (sndUna == finSeq() + 1) {
                    enterTimeWait();
                } else {
                    setState(TcpState.CLOSING);
                }
                break;
            case FIN_WAIT_2:
                tcp.env.timers().cancel(closeTimer);
                enterTimeWait();
                break;
            case TIME_WAIT:
                armTimeWait();
                break;
            default:
                break;
        }
    }

    /** In TIME-WAIT: may a new SYN with this sequence number take the connection over (RFC 9293 §3.10.7.4)? */
    boolean timeWaitAcceptsSyn(int seq, TcpOptions opts) {
        if (state != TcpState.TIME_WAIT) {
            return false;
        }
        if (tsOk && opts.hasTimestamp()) {
            return seqGt(opts.tsVal(), tsRecent); // RFC 6191 §2: a newer timestamp suffices
        }
        return seqGt(seq, rcvNxt);
    }

    // ------------------------------------------------------------------ output

    private boolean canSend() {
        return state == TcpState.ESTABLISHED || state == TcpState.CLOSE_WAIT || state == TcpState.SYN_RECEIVED
                || state == TcpState.SYN_SENT;
    }

    private int finSeq() {
        return sndBufSeq + sendBuffer.size();
    }

    /**
     * Sends new data and the FIN as the send window (min of SND.WND and cwnd) allows, avoiding silly
     * windows on the sender side (RFC 9293 §3.8.6.2.1).
     */
    void output() {
        switch (state) {
            case ESTABLISHED:
            case CLOSE_WAIT:
            case FIN_WAIT_1:
            case CLOSING:
            case LAST_ACK:
                break;
            default:
                return;
        }
        boolean sent = false;
        boolean idleBefore = sndUna == sndMax;
        if (idleBefore && lastSend != 0 && tcp.env.now() - lastSend > currentRto()) {
            // RFC 5681 §4.1 restart after idle: the path may have changed; start again from the
            // restart window rather than burst a stale cwnd.
            cwnd = Math.min(cwnd, initialCwnd());
        }
        int smss = mss - sackOptionLength(); // options come out of the MSS (RFC 9293 §3.7.1)
        int segmentMax = route.maxSegmentPayload(smss, Tcp.MIN_HEADER_LENGTH + mss - smss);
        if (segmentMax > smss) {
            // Keep at least four super-segments per window, so that losing one still leaves later ones to
            // be SACKed (fast recovery) instead of a tail loss that only the retransmission timer repairs.
            int quarter = cwnd / 4;
            segmentMax = Math.max(smss, Math.min(segmentMax, quarter - quarter % smss));
        }
        for (;;) {
            if (!scoreboard.isEmpty() && seqLt(sndNxt, sndMax)) {
                sndNxt = scoreboard.skipSacked(sndNxt); // resending after a timeout: skip what was SACKed
            }
            int queued = sendBuffer.size() - (sndNxt - sndBufSeq); // unsent bytes (negative once FIN is out)
            boolean finDue = finQueued && sndNxt == finSeq();
            if (queued <= 0 && !finDue) {
                break;
            }
            int inflight = sndNxt - sndUna;
            int usable = Math.min(sndWnd, cwnd) - inflight;
            int len = Math.min(Math.max(queued, 0), Math.min(segmentMax, Math.max(usable, 0)));
            if (!scoreboard.isEmpty() && seqLt(sndNxt, sndMax)) {
                len = Math.min(len, scoreboard.holeEnd(sndNxt, sndMax) - sndNxt);
            }
            if (queued > 0 && len == 0) {
                if (sndWnd == 0 && inflight == 0) {
                    armPersist();
                }
                break;
            }
            if (queued > 0 && len < smss && len < queued && inflight > 0 && len < maxSndWnd / 2) {
                break; // sender SWS avoidance: wait for the ACK that opens a useful window
            }
            if (!noDelay && queued > 0 && len < smss && inflight > 0) {
                break; // Nagle (RFC 9293 §3.7.4, RFC 896): one small segment in flight at a time
            }
            boolean fin = finQueued && len == queued;
            int flags = Tcp.ACK | (fin ? Tcp.FIN : 0) | (len > 0 && len == queued ? Tcp.PSH : 0);
            sendData(sndNxt, len, flags);
            if (!rttTiming && len > 0 && sndNxt == sndMax) {
                rttTiming = true;
                rttSeq = sndNxt;
                rttStart = tcp.env.now();
            }
            sndNxt += len + (fin ? 1 : 0);
            if (seqGt(sndNxt, sndMax)) {
                sndMax = sndNxt;
            }
            sent = true;
            if (fin) {
                break;
            }
        }
        boolean filled = sndNxt - sndUna + smss > cwnd;
        if (sent || filled) {
            validateCwnd(filled);
        }
        if (sent) {
            lastSend = tcp.env.now();
        }
        if (sent && idleBefore) {
            lastProgress = tcp.env.now(); // the clock of the user timeout starts with the first unacked byte
        }
        if (sent && !rtxTimer.isScheduled()) {
            armRtx(tcp.env.now());
        }
        if (sent && !probeTimer.isScheduled()) {
            armProbe(tcp.env.now());
        }
    }

    /**
     * RFC 7661 §4.1, in Linux's form (tcp_cwnd_validate): after sending, note whether the flight filled cwnd
     * ({@code filled}) and the largest flight; the record covers one window of data (until SND.UNA passes what
     * was sent when it began) or is renewed sooner by a fuller flight.
     */
    private void validateCwnd(boolean filled) {
        int flight = sndNxt - sndUna;
        if (!seqLt(sndUna, cwndUsageSeq) || filled || (!cwndLimited && flight > maxFlight)) {
            cwndLimited = filled;
            maxFlight = flight;
            cwndUsageSeq = sndNxt;
        }
    }

    /**
     * Whether cwnd may grow (RFC 7661 §4.3): in slow start while the flight reached half of it (slow start
     * doubles the window each round trip, so a flight of half the window still tests it), in congestion
     * avoidance only if the flight filled it.
     */
    private boolean isCwndLimited() {
        return cwnd < ssthresh ? cwnd < 2 * maxFlight : cwndLimited;
    }

    /**
     * Tail loss probe (RFC 8985 §7), with SACK only: when no ACK has brought news for a probe timeout
     * (2 × SRTT, at least 5 ms; §7.2), send a probe whose ACK lets RACK detect a lost tail (§7.3). Not armed
     * during recovery or while segments are SACKed (§7.2: RACK's reordering timer covers those), nor when
     * only one segment is out: the peer may just be delaying its ACK.
     */
    private void armProbe(long now) {
        if (!sackOk || srtt < 0 || probes >= 2 || sndMax - sndUna <= mss || inRecovery || !scoreboard.isEmpty()) {
            tcp.env.timers().cancel(probeTimer);
            return;
        }
        long pto = Math.max(2 * srtt, 5_000_000L) << probes;
        if (pto < currentRto()) {
            tcp.env.timers().schedule(probeTimer, now + pto);
        }
    }

    /** RFC 8985 §7.3: the probe is new data if there is some and the peer's window takes it, else the last segment. */
    private void onProbeTimeout() {
        if (!state.isSynchronized() || sndUna == sndMax || state == TcpState.TIME_WAIT || inRecovery
                || !scoreboard.isEmpty()) {
            return;
        }
        long now = tcp.env.now();
        probes++;
        if (sendNewData() == 0) {
            int dataEnd = finQueued && seqGt(sndMax, finSeq()) ? finSeq() : sndMax;
            int smss = mss - sackOptionLength();
            int start = seqGt(dataEnd - smss, sndUna) ? dataEnd - smss : sndUna;
            boolean fin = dataEnd != sndMax;
            if (dataEnd - start > 0 || fin) {
                sendData(start, dataEnd - start, Tcp.ACK | (fin ? Tcp.FIN : 0));
                tcp.env.stats().tcpRetransmits++;
            }
        }
        // RFC 8985 §7.3: after a probe, sent or not, re-arm the RTO timer (not the PTO timer), so that the
        // probe's ACK has a full RTO to arrive and the RTO stays the last resort.
        armRtx(now);
    }

    /**
     * Loss recovery with SACK (RFC 6675 §5, steps (C), with RACK's losses, RFC 8985 §6): while pipe leaves
     * room for a segment, retransmit the next segment marked lost, in sequence order, else send new data.
     */
    private void sackRecoveryOutput() {
        int pipe = rack.pipe();
        for (int guard = 0; guard < 4096 && cwnd - pipe >= mss; guard++) {
            int sent = retransmitFirstLost();
            if (sent == 0) {
                sent = sendNewData();
            }
            if (sent == 0) {
                return;
            }
            pipe += sent;
        }
    }

    /**
     * Retransmits (up to one SMSS of) the first segment RACK marked lost (RFC 8985 §6.2, RFC 6675 NextSeg
     * rule 1); returns the sequence space sent, 0 if nothing is lost.
     */
    private int retransmitFirstLost() {
        int i = rack.firstLost();
        if (i < 0) {
            return 0;
        }
        int s = rack.start(i);
        int e = rack.retransmitEnd(i, s + mss - sackOptionLength()); // whole segments, never slivers
        int dataEnd = finQueued ? finSeq() : sndBufSeq + sendBuffer.size();
        int avail = (seqLt(e, dataEnd) ? e : dataEnd) - s;
        int len = Math.min(mss - sackOptionLength(), Math.max(avail, 0));
        boolean fin = finQueued && s + len == finSeq() && seqGt(e, finSeq());
        if (len == 0 && !fin) {
            return 0;
        }
        sendData(s, len, Tcp.ACK | (fin ? Tcp.FIN : 0));
        tcp.env.stats().tcpRetransmits++;
        return len + (fin ? 1 : 0);
    }

    /**
     * Sends one segment of new data (and the FIN after the last) if the peer's window takes it, ignoring
     * cwnd (the caller decided); returns the sequence space sent, 0 if none.
     */
    private int sendNewData() {
        int queued = sendBuffer.size() - (sndNxt - sndBufSeq);
        int usable = sndWnd - (sndNxt - sndUna);
        if (queued <= 0 || usable <= 0 || sndNxt != sndMax) {
            return 0;
        }
        int len = Math.min(queued, Math.min(mss - sackOptionLength(), usable));
        boolean fin = finQueued && len == queued;
        sendData(sndNxt, len, Tcp.ACK | (fin ? Tcp.FIN : 0) | (len == queued ? Tcp.PSH : 0));
        sndNxt += len + (fin ? 1 : 0);
        sndMax = sndNxt;
        if (!rtxTimer.isScheduled()) {
            armRtx(tcp.env.now());
        }
        return len + (fin ? 1 : 0);
    }

    /** Retransmits one segment from SND.UNA (fast retransmit, partial ACK). */
    private void retransmitOne() {
        int queued = sendBuffer.size() - (sndUna - sndBufSeq);
        int len = Math.min(Math.max(queued, 0), mss - sackOptionLength());
        boolean fin = finQueued && len == queued && seqGt(sndMax, finSeq());
        if (len == 0 && !fin) {
            return;
        }
        sendData(sndUna, len, Tcp.ACK | (fin ? Tcp.FIN : 0));
        tcp.env.stats().tcpRetransmits++;
    }

    private void sendData(int seq, int len, int flags) {
        int blocks = sackBlocksToSend();
        int tsLen = tsOk ? 12 : 0;
        int hdr = Tcp.MIN_HEADER_LENGTH + tsLen + (blocks > 0 ? 4 + 8 * blocks : 0);
        ByteBuf f = route.newPacket(hdr + len);
        int o = route.transportOffset();
        Tcp.writeHeader(f, o, localPort, remotePort, seq, rcvNxt, hdr, flags, receiveWindowField());
        if (tsOk) {
            writeTimestamp(f, o + Tcp.MIN_HEADER_LENGTH, tsRecent);
        }
        writeSackOption(f, o + Tcp.MIN_HEADER_LENGTH + tsLen, blocks);
        lastAckSent = rcvNxt;
        if (len > 0) {
            sendBuffer.copy(seq - sndBufSeq, f, o + hdr, len);
        }
        if (sackOk) {
            // RFC 8985 §6.1; the segment size is the grid SACK blocks are matched to (as transmit() cuts it).
            rack.onTransmit(seq, seq + len + ((flags & Tcp.FIN) != 0 ? 1 : 0), mss - (hdr - Tcp.MIN_HEADER_LENGTH),
                    tcp.env.now());
        }
        transmit(f, o, hdr + len);
        ackPending = false;
    }

    /** Sends a segment with no data (ACK, RST). */
    private void sendControl(int seq, int ack, int flags) {
        boolean rst = (flags & Tcp.RST) != 0;
        int blocks = rst ? 0 : sackBlocksToSend();
        int tsLen = tsOk && !rst ? 12 : 0;
        int hdr = Tcp.MIN_HEADER_LENGTH + tsLen + (blocks > 0 ? 4 + 8 * blocks : 0);
        ByteBuf f = route.newPacket(hdr);
        int o = route.transportOffset();
        int win = rst ? 0 : receiveWindowField();
        Tcp.writeHeader(f, o, localPort, remotePort, seq, ack, hdr, flags, win);
        if (tsLen > 0) {
            writeTimestamp(f, o + Tcp.MIN_HEADER_LENGTH, tsRecent);
        }
        writeSackOption(f, o + Tcp.MIN_HEADER_LENGTH + tsLen, blocks);
        if ((flags & Tcp.ACK) != 0) {
            lastAckSent = ack;
        }
        transmit(f, o, hdr);
    }

    /**
     * Fills {@link #sackOut} with the blocks of held out-of-order data (RFC 2018 §4: the block holding the
     * latest segment first) and returns how many to send, or 0.
     */
    /** Bytes of options (timestamps, SACK) the next segment will carry; they come out of the MSS. */
    private int sackOptionLength() {
        int ts = tsOk ? 12 : 0;
        if (!sackOk || reassembly.isEmpty()) {
            return ts;
        }
        return ts + 4 + 8 * Math.min(maxSackBlocks(), reassembly.entries());
    }

    /** SACK blocks that fit beside the other options in 40 bytes (RFC 2018 §3: 3 with timestamps). */
    private int maxSackBlocks() {
        return tsOk ? 3 : 4;
    }

    /** Our TSval clock: milliseconds (RFC 7323 §5.4 allows 1 ms to 1 s per tick) plus a random offset. */
    private int tsNow() {
        return (int) (tcp.env.now() / 1_000_000L) + tsOffset;
    }

    /** Writes NOP, NOP, TS (RFC 7323 §3) at {@code p}: 12 bytes. */
    private void writeTimestamp(ByteBuf f, int p, int ecr) {
        f.setByte(p, Tcp.OPT_NOP);
        f.setByte(p + 1, Tcp.OPT_NOP);
        f.setByte(p + 2, Tcp.OPT_TIMESTAMP);
        f.setByte(p + 3, 10);
        f.setInt(p + 4, tsNow());
        f.setInt(p + 8, ecr);
    }

    private int sackBlocksToSend() {
        if (!sackOk || reassembly.isEmpty()) {
            return 0;
        }
        int n = reassembly.sackBlocks(rcvNxtOffset, rcvNxt, sackOut, maxSackBlocks());
        if (lastOooOffset >= 0) {
            int latest = rcvNxt + (int) (lastOooOffset - rcvNxtOffset);
            for (int k = 1; k < n; k++) {
                if (seqLe(sackOut[2 * k], latest) && seqLt(latest, sackOut[2 * k + 1])) {
                    int l = sackOut[2 * k];
                    int r = sackOut[2 * k + 1];
                    System.arraycopy(sackOut, 0, sackOut, 2, 2 * k);
                    sackOut[0] = l;
                    sackOut[1] = r;
                    break;
                }
            }
        }
        return n;
    }

    private void writeSackOption(ByteBuf f, int p, int blocks) {
        if (blocks == 0) {
            return;
        }
        f.setByte(p, Tcp.OPT_NOP);
        f.setByte(p + 1, Tcp.OPT_NOP);
        f.setByte(p + 2, Tcp.OPT_SACK);
        f.setByte(p + 3, 2 + 8 * blocks);
        for (int k = 0; k < blocks; k++) {
            f.setInt(p + 4 + 8 * k, sackOut[2 * k]);
            f.setInt(p + 8 + 8 * k, sackOut[2 * k + 1]);
        }
    }

    /**
     * The ACK owed to an unacceptable segment (RFC 9293 §3.10.7.4 first check; RFC 7323 §5.3 PAWS) or to an ACK
     * field out of range (§3.10.7.4 fifth; RFC 5961 §5.2). For a segment that occupies no sequence space it goes
     * out at most once per {@link #OOW_ACK_INTERVAL_NANOS}: two ends that disagree on the sequence space (after
     * forged in-window segments) would otherwise answer each other's ACKs forever (RFC 5961 §7 and Linux's
     * tcp_oow_rate_limited bound these ACKs the same way). Segments with data, SYN or FIN (zero-window probes,
     * retransmissions) are always answered: they are not part of such a loop ({@code segLen} > 0).
     */
    private void sendOutOfWindowAck(int segLen) {
        if (segLen == 0) {
            long now = tcp.env.now();
            if (oowAckSent && now - lastOowAck < OOW_ACK_INTERVAL_NANOS) {
                tcp.env.stats().tcpOutOfWindowAcksLimited++;
                return;
            }
            oowAckSent = true;
            lastOowAck = now;
        }
        sendAck();
    }

    private void sendAck() {
        sendControl(sndMax, rcvNxt, Tcp.ACK); // SND.MAX: never behind what the peer has seen, even after a go-back-N
        ackPending = false;
    }

    private void transmit(ByteBuf f, int o, int l4Length) {
        int hdr = Tcp.headerLength(f, o);
        int gso = mss - (hdr - Tcp.MIN_HEADER_LENGTH);
        tcp.env.stats().tcpSegmentsOut++;
        // The route fills the checksum field with the pseudo-header sum; the stack (or the kernel) completes it.
        route.send(f, Ipv4.PROTO_TCP, l4Length, 16, gso, hdr, tos);
    }

    /**
     * The window field to send: what the buffer has room for, never moving the right edge left (RFC 9293
     * §3.8.6.2.2 MUST-?: shrinking is discouraged) and growing it only in useful steps (receiver SWS).
     */
    private int receiveWindowField() {
        int avail = Math.max(0, receiveBufferSize - receiveQueue.size());
        int cur = rcvAdvEdge - rcvNxt;
        if (cur < 0) {
            cur = 0;
        }
        if (avail > cur && (avail - cur >= Math.min(receiveBufferSize / 2, mss) || cur == 0 && avail >= mss
                || avail == receiveBufferSize)) {
            cur = avail;
        }
        int field = Math.min(cur >>> rcvWscale, 65535);
        int edge = rcvNxt + (field << rcvWscale);
        if (seqGt(edge, rcvAdvEdge)) {
            rcvAdvEdge = edge;
        }
        return field;
    }

    /**
     * RFC 5961 §7: challenge ACKs are rate-limited (here at most 10 per second per connection), so that
     * spoofed segments cannot turn the stack into an ACK amplifier.
     */
    private void challengeAck() {
        long now = tcp.env.now();
        if (now - challengeWindowStart > 1_000_000_000L) {
            challengeWindowStart = now;
            challengeAcks = 0;
        }
        if (challengeAcks < 10 && tcp.mayChallengeAck()) {
            challengeAcks++;
            sendAck();
        }
    }

    /** Marks that an ACK is owed; it is sent at the end of the input batch unless data carries it first. */
    private void ackLater() {
        if (!ackPending) {
            ackPending = true;
            tcp.env.ackLater(this);
        }
    }

    /** Sends the owed ACK, if data did not carry it already. Called by the stack after each input batch. */
    public void flushAck() {
        if (ackPending && state != TcpState.CLOSED) {
            if (state.isSynchronized() || state == TcpState.SYN_RECEIVED) {
                sendAck();
            }
        }
        ackPending = false;
    }

    // ------------------------------------------------------------------ timers

    private void onRetransmitTimeout(long now) {
        if (state == TcpState.CLOSED) {
            return;
        }
        // A simultaneous open closed in SYN-RECEIVED is in FIN-WAIT-1 (RFC 9293 §3.10.4) with its SYN perhaps still
        // unacknowledged (SND.UNA = ISS, before the send buffer's first byte): then what timed out is the SYN, and
        // it is resent as the SYN-ACK it was; going back to SND.UNA as if it were data would send a byte that
        // does not exist.
        boolean synUnacked = seqLt(sndUna, sndBufSeq);
        if (state.isSynchronized() && sndWnd == 0 && !synUnacked) {
            // The peer's window is closed (perhaps shrunk onto data in flight): nothing may be resent, so this
            // is no retransmission. Zero-window probing takes over and keeps the connection for as long as the
            // probes are answered (RFC 9293 §3.8.6.1, MUST-37).
            sndNxt = sndUna;
            armPersist();
            return;
        }
        retries++;
        tcp.env.stats().tcpTimeouts++;
        boolean handshake = state == TcpState.SYN_SENT || state == TcpState.SYN_RECEIVED || synUnacked;
        boolean userTimedOut = userTimeoutNanos > 0 && !handshake && now - lastProgress >= userTimeoutNanos;
        if (userTimedOut || retries > (handshake ? MAX_SYN_RETRIES : MAX_DATA_RETRIES)) {
            // A soft ICMP error seen meanwhile names the likely cause (as Linux reports sk_err_soft).
            String why = softError != null ? " (last ICMP error: " + softError + ")" : "";
            IOException e = state == TcpState.SYN_SENT
                    ? new ConnectException("Connection timed out: " + remoteAddress() + why)
                    : new IOException("Connection timed out" + why);
            if (state.isSynchronized()) {
                sendControl(sndMax, 0, Tcp.RST);
            }
            destroy(e);
            return;
        }
        backoff++; // RFC 6298 §5.5: back off
        rttTiming = false;                       // Karn
        if (handshake) {
            sendSyn(state != TcpState.SYN_SENT);
            armRtx(now);
            return;
        }
        // RFC 5681 §3.1 (4): after a timeout, ssthresh = max(FlightSize/2, 2*SMSS), cwnd = 1 SMSS.
        int flight = sndMax - sndUna;
        ssthresh = cc.onLoss(cwnd, flight, mss, tcp.env.now());
        cwnd = mss;
        inRecovery = false;
        recover = sndMax;
        dupAcks = 0;
        sndNxt = sndUna; // go back N: resend from the first unacknowledged byte
        scoreboard.clear(); // RFC 2018 §8: the receiver may have reneged
        rack.onRetransmitTimeout();
        tcp.env.timers().cancel(reoTimer);
        tcp.env.stats().tcpRetransmits++;
        output();
        armRtx(now);
    }

    // ------------------------------------------------------------------ ICMP errors (RFC 5927, RFC 9293 §3.9.2.2)

    /**
     * RFC 5927 §4.1: an ICMP error quotes the sequence number of the segment that caused it; only one in
     * SND.UNA =< SEG.SEQ < SND.NXT (SND.MAX here: after a go-back-N older sends are still in flight) can be
     * about a segment in flight. Anything else is ignored, so a blind attacker must guess the window.
     */
    boolean icmpSequenceAcceptable(int seq) {
        return state != TcpState.CLOSED && seqLe(sndUna, seq) && seqLt(seq, sndMax);
    }

    /**
     * An ICMP error for this connection whose quoted sequence number passed {@link #icmpSequenceAcceptable}
     * (RFC 9293 §3.9.2.2, MUST-54). In SYN-SENT a hard error (protocol or port unreachable, administratively
     * prohibited) aborts the open (RFC 1122 §4.2.3.9, SHLD-26); every other error, and every error on a
     * synchronized connection, is soft (RFC 5461 §4): it never ends the connection (MUST-56) and is kept to be
     * reported (MUST-47) through {@link #softError()} and as the cause if the connection later times out.
     */
    void icmpError(boolean hard, String description) {
        if (hard && state == TcpState.SYN_SENT) {
            destroy(new ConnectException(description + ": " + remoteAddress()));
            return;
        }
        softError = description;
    }

    /** The last soft ICMP error reported for this connection (e.g. "host unreachable from 198.18.0.1"), or null. */
    public String softError() {
        return softError;
    }

    /**
     * The path MTU towards the peer went down to {@code mtu} (RFC 1191 §6.4, RFC 8201 §5.4 via RFC 5927 §4.2
     * checks): segments now carry at most MTU less the headers. Segments in flight that were too large are
     * resent at once at the new size (RFC 1191 §6.5: this is not a congestion signal, so cwnd and ssthresh stay).
     * Returns whether the MSS went down.
     */
    boolean pathMtuReduced(int mtu) {
        int newMss = Math.max(MIN_MSS, mtu - ipHeaderLength - Tcp.MIN_HEADER_LENGTH);
        if (mssClamp > 0) {
            newMss = Math.min(newMss, mssClamp);
        }
        if (newMss >= mss || state == TcpState.CLOSED) {
            return false;
        }
        mss = newMss;
        tcp.env.stats().tcpPathMtuReductions++;
        if (state.isSynchronized() && seqLt(sndUna, sndMax)) {
            sndNxt = sndUna;
            rttTiming = false; // Karn: what is resent gives no RTT sample
            tcp.env.stats().tcpRetransmits++;
            output();
        }
        return true;
    }

    /** (Re)starts the retransmission timer, no later than the user timeout's deadline (RFC 5482). */
    private void armRtx(long now) {
        long at = now + currentRto();
        if (userTimeoutNanos > 0 && state.isSynchronized() && at - (lastProgress + userTimeoutNanos) > 0) {
            at = Math.max(now, lastProgress + userTimeoutNanos);
        }
        tcp.env.timers().schedule(rtxTimer, at);
    }

    /** The retransmission timeout with exponential backoff applied. */
    private long currentRto() {
        return Math.min(rto << Math.min(backoff, 16), MAX_RTO_NANOS);
    }

    private void armPersist() {
        if (!persistTimer.isScheduled()) {
            long delay = Math.min(Math.max(rto, tcp.minRtoNanos) << Math.min(persistBackoff, 10), 60_000_000_000L);
            tcp.env.timers().schedule(persistTimer, tcp.env.now() + delay);
        }
    }

    private void onPersistTimeout(long now) {
        if (!state.isSynchronized() || sndWnd > 0) {
            return;
        }
        if (userTimeoutNanos > 0 && now - lastReceived >= userTimeoutNanos) {
            // RFC 5482 / Linux: a peer that answers no window probe for the user timeout is gone.
            sendControl(sndMax, 0, Tcp.RST);
            destroy(new IOException("Connection timed out (no answer to zero-window probes)"));
            return;
        }
        // MUST-37 keeps a connection open while the peer answers the probes; one that answers none of
        // MAX_DATA_RETRIES probes is gone (as the retransmission timer decides, and Linux's tcp_probe_timer), and a
        // connection the application closed stops after MAX_ORPHAN_PROBES (Linux's tcp_orphan_retries): neither
        // may pin its send buffer forever (issue #10).
        if (unansweredProbes >= MAX_DATA_RETRIES || (orphaned && persistBackoff >= MAX_ORPHAN_PROBES)) {
            tcp.env.stats().tcpPersistAborts++;
            sendControl(sndMax, 0, Tcp.RST);
            tcp.env.stats().tcpResetsOut++;
            destroy(new IOException("Connection timed out (" + (orphaned ? persistBackoff + " zero-window probes"
                    + " after close" : unansweredProbes + " zero-window probes unanswered") + ")"));
            return;
        }
        // Zero-window probe (RFC 9293 §3.8.6.1): a segment the receiver must answer with its window.
        sendControl(sndUna - 1, rcvNxt, Tcp.ACK);
        persistBackoff++;
        unansweredProbes++;
        armPersist();
    }

    private void enterTimeWait() {
        uncountOrphan();
        if (tcp.timeWaits >= tcp.maxTimeWait) {
            // Linux's "time wait bucket table overflow": closed without TIME-WAIT rather than grow without bound.
            tcp.env.stats().tcpTimeWaitOverflows++;
            flushAck(); // the ACK of the peer's FIN still goes out
            destroy(null);
            return;
        }
        tcp.timeWaits++;
        setState(TcpState.TIME_WAIT);
        tcp.env.timers().cancel(rtxTimer);
        tcp.env.timers().cancel(persistTimer);
        tcp.env.timers().cancel(probeTimer);
        tcp.env.timers().cancel(reoTimer);
        tcp.env.timers().cancel(keepAliveTimer);
        rack.clear();
        sendBuffer.releaseAll(); // all acknowledged; unread received data stays for the application
        reassembly.clear();
        armTimeWait();
    }

    private void armTimeWait() {
        long tw = timeWaitNanos >= 0 ? timeWaitNanos : tcp.timeWaitNanos;
        tcp.env.timers().schedule(closeTimer, tcp.env.now() + Math.max(0, tw));
    }

    private void armFinWait2() {
        tcp.env.timers().schedule(closeTimer, tcp.env.now() + FIN_WAIT_2_TIMEOUT_NANOS);
    }

    private void onCloseTimeout() {
        if (state == TcpState.TIME_WAIT || state == TcpState.FIN_WAIT_2) {
            destroy(null);
        }
    }

    private long rttSamples;

    private void sampleRtt(long r) {
        rttSamples++;
        if (r <= 0) {
            r = 1;
        }
        rack.onRttSample(r);
        if (srtt < 0) {
            srtt = r;          // RFC 6298 §2.2
            rttvar = r / 2;
        } else {               // §2.3
            rttvar = (3 * rttvar + Math.abs(srtt - r)) / 4;
            srtt = (7 * srtt + r) / 8;
        }
        long g = 1_000_000L; // clock granularity: 1 ms
        rto = Math.max(tcp.minRtoNanos, Math.min(srtt + Math.max(g, 4 * rttvar), MAX_RTO_NANOS));
    }

    // ------------------------------------------------------------------ teardown

    private void setState(TcpState s) {
        if (s == TcpState.ESTABLISHED && state != TcpState.ESTABLISHED) {
            lastReceived = tcp.env.now();
            if (keepAliveIdleNanos > 0) {
                tcp.env.timers().schedule(keepAliveTimer, lastReceived + keepAliveIdleNanos);
            }
        }
        state = s;
    }

    private void uncountOrphan() {
        if (countedOrphan) {
            countedOrphan = false;
            tcp.orphans--;
        }
    }

    /** Ends the connection: timers off, memory freed, removed from the demux table, owner told. */
    void destroy(Throwable cause) {
        if (state == TcpState.CLOSED && cause == null) {
            return;
        }
        boolean wasConnecting = state == TcpState.SYN_SENT;
        boolean wasSynReceived = state == TcpState.SYN_RECEIVED;
        if (state == TcpState.TIME_WAIT) {
            tcp.timeWaits--;
        }
        uncountOrphan();
        setState(TcpState.CLOSED);
        if (cause != null && error == null) {
            error = cause;
        }
        tcp.env.timers().cancel(rtxTimer);
        tcp.env.timers().cancel(persistTimer);
        tcp.env.timers().cancel(closeTimer);
        tcp.env.timers().cancel(probeTimer);
        tcp.env.timers().cancel(reoTimer);
        tcp.env.timers().cancel(keepAliveTimer);
        rack.clear();
        sendBuffer.releaseAll();
        reassembly.clear();
        // Unread data stays readable after a FIN-and-close; after a reset it is discarded like Linux does.
        if (cause != null) {
            receiveQueue.clear();
        }
        listener = null;
        tcp.remove(this);
        if (revivable != null) {
            TcpConnection old = revivable;
            revivable = null;
            if (wasSynReceived) {
                tcp.revive(old); // RFC 9293 §3.6.1 MAY-2 (2): the SYN was an old duplicate: back to TIME-WAIT
            } else {
                old.destroy(null);
            }
        }
        signal(wasConnecting ? EV_CONNECTED | EV_CLOSED : EV_CLOSED | EV_READABLE);
        if (handler() == null) {
            receiveQueue.clear();
        }
    }

    /** Frees what an owner left behind: called when the owning channel goes away. */
    public void releaseBuffers() {
        receiveQueue.clear();
        reassembly.clear();
        if (state == TcpState.CLOSED) {
            sendBuffer.releaseAll();
        }
    }

    // ------------------------------------------------------------------ helpers

    static boolean seqLt(int a, int b) {
        return a - b < 0;
    }

    static boolean seqLe(int a, int b) {
        return a - b <= 0;
    }

    static boolean seqGt(int a, int b) {
        return a - b > 0;
    }

    static boolean seqGe(int a, int b) {
        return a - b >= 0;
    }

    private static boolean inWindow(int seq, int start, int len) {
        return seqLe(start, seq) && seqLt(seq, start + len);
    }
}
