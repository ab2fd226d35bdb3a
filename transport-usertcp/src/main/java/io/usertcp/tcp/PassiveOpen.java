package io.usertcp.tcp;

import io.usertcp.util.SipHash;

import io.netty.buffer.ByteBuf;
import io.usertcp.ip.Route;
import io.usertcp.stats.StackStats;
import io.usertcp.wire.IpAddress;
import io.usertcp.wire.Tcp;
import io.usertcp.wire.TcpOptions;

import java.util.List;

/**
 * The passive side of the three-way handshake (RFC 9293 §3.5, §3.10.7.2) for all listeners of a TCP layer,
 * built to survive SYN floods (RFC 4987):
 *
 * <ul>
 * <li>a SYN takes a compact {@link SynReceived} record in its listener's SYN queue, not a connection; the
 *     {@link TcpConnection} is made only when the handshake's final ACK arrives and the accept queue has room;
 * <li>each listener's SYN queue is bounded ({@link TcpListener#synQueueLimit()}), and so are all of them together
 *     ({@code maxHalfOpen}); when either is full, a SYN is answered with a SYN cookie ({@link SynCookies}) and
 *     costs no memory at all;
 * <li>a SYN-ACK is resent at most {@link SynQueue#MAX_SYNACK_RETRIES} times; duplicate SYNs and out-of-window
 *     segments for a record are answered at most once per {@link TcpConnection#OOW_ACK_INTERVAL_NANOS};
 * <li>with the accept queue full, SYNs are dropped and a completing ACK is dropped while its record stays to be
 *     retried (as Linux).
 * </ul>
 */
final class PassiveOpen implements SynQueue.Expiry {
    /** Cookie ACKs are checked while the listener sent a cookie in the last 4 minutes (twice a cookie's life). */
    static final long COOKIE_CHECK_NANOS = 4 * SynCookies.COUNTER_NANOS;

    private final TcpLayer tcp;
    private Route route; // for SYN-ACKs and ACKs of no connection: one object, re-aimed for each peer
    private final StackStats stats;
    final SynQueue queue;
    private final SynCookies cookies;
    /** Which cookie SYNs are answered while the loop is behind its link. */
    final SynAdmission admission;
    int maxHalfOpen;
    int maxSynBacklog = TcpListener.DEFAULT_MAX_SYN_BACKLOG;
    boolean cookiesEnabled = true;
    private IpAddress lastLocal = IpAddress.V4_ANY; // reused while SYNs keep arriving for the same address
    /**
     * The peers' addresses of recent connections, direct-mapped by address: connections from one peer share its
     * address object (issue #12: an idle connection holds ~32 bytes less; clients behind one address, a proxy or a
     * load balancer, are the common case). A miss costs what it did before: a new object.
     */
    private final IpAddress[] peers = new IpAddress[PEER_CACHE];
    static final int PEER_CACHE = 256;

    PassiveOpen(TcpLayer tcp, int maxHalfOpen, SipHash queueKey, SynCookies cookies, SynAdmission admission) {
        this.tcp = tcp;
        this.stats = tcp.env.stats();
        this.maxHalfOpen = maxHalfOpen;
        this.queue = new SynQueue(tcp.env.timers(), queueKey, this);
        this.cookies = cookies;
        this.admission = admission;
    }

    /** Whether {@code l} can queue one more SYN-RECEIVED record. */
    boolean hasRoom(TcpListener l) {
        return !l.isClosed() && !l.acceptQueueFull() && l.synQueued < l.synQueueLimit() && queue.size() < maxHalfOpen;
    }

    /** The record of this 4-tuple, or null. */
    SynReceived find(long lHi, long lLo, int lPort, long rHi, long rLo, int rPort) {
        if (queue.size() == 0) {
            return null;
        }
        return queue.find(lHi, lLo, lPort, rHi, rLo, rPort, queue.hash(lHi, lLo, lPort, rHi, rLo, rPort));
    }

    // ------------------------------------------------------------------ LISTEN (RFC 9293 §3.10.7.2)

    /** Budget a new connection must find free: one send chunk and one receive chunk (issue #10). */
    static final int NEW_CONNECTION_MEMORY = 2 * 16 * 1024;

    /**
     * A SYN (without ACK, RST or FIN) for no connection arrived at {@code l}: a record and a SYN-ACK, a cookie
     * SYN-ACK, or nothing. {@code parked} is a TIME-WAIT connection (or record) of the same 4-tuple that the SYN
     * may replace (RFC 9293 §3.10.7.4); the caller made sure that {@link #hasRoom} then.
     */
    void syn(TcpListener l, long lHi, long lLo, int lPort, long rHi, long rLo, int rPort, int seq, int window,
             TcpOptions opts, TcpFlow parked) {
        if (l.acceptQueueFull()) {
            // As Linux: while the application does not accept, new SYNs are dropped (the peer retries).
            stats.tcpSynDropsAcceptQueueFull++;
            stats.dropTcpListenOverflow++;
            return;
        }
        if (!tcp.env.memory().allows(NEW_CONNECTION_MEMORY)) {
            // The stack's memory budget is used up: no new connection until some is freed (issue #10).
            stats.dropTcpMemory++;
            return;
        }
        long now = tcp.env.now();
        int wscale = Math.min(opts.windowScale(), 14); // RFC 7323 §2.3: a shift above 14 is 14 (-1: none)
        if (parked != null || hasRoom(l)) {
            int iss = tcp.isn(lHi, lLo, lPort, rHi, rLo, rPort);
            SynReceived r = new SynReceived(lHi, lLo, lPort, rHi, rLo, rPort,
                    queue.hash(lHi, lLo, lPort, rHi, rLo, rPort), l, iss, seq, window, opts.mss(), wscale,
                    opts.sackPermitted(), opts.hasTimestamp(), opts.hasTimestamp() ? opts.tsVal() : 0);
            r.parked = parked;
            r.lastAnswer = now - Receiver.OOW_ACK_INTERVAL_NANOS;
            queue.add(r, now);
            sendSynAck(r);
            return;
        }
        stats.tcpSynQueueOverflows++;
        if (!cookiesEnabled) {
            stats.dropTcpListenOverflow++;
            return;
        }
        if (!admission.admit(rHi, rLo, lPort, now)) {
            // The loop is behind its link and the source never completed a handshake here: a cheap drop keeps
            // the device's queue short for the sources that did (SynAdmission).
            stats.tcpSynDropsBehind++;
            return;
        }
        // RFC 4987 §3.6: no state; all of it goes into the ISS (and the TSval).
        boolean v4 = IpAddress.isV4(rHi, rLo);
        int iss = cookies.encode(lHi, lLo, lPort, rHi, rLo, rPort, seq, SynCookies.mssIndex(v4, opts.mss()), now);
        boolean ts = opts.hasTimestamp();
        int tsVal = 0;
        if (ts) {
            int tsNow = (int) (now / 1_000_000L) + cookies.tsOffset(lHi, lLo, lPort, rHi, rLo, rPort);
            tsVal = SynCookies.encodeTsVal(tsNow, wscale, opts.sackPermitted());
        }
        // Without timestamps nothing can carry window scale and SACK-permitted back: offer neither (as Linux).
        writeSynAck(lHi, lLo, lPort, rHi, rLo, rPort, iss, seq + 1, ts && wscale >= 0, ts && opts.sackPermitted(),
                ts, tsVal, ts ? opts.tsVal() : 0);
        l.cookieSent(now);
        stats.tcpSynCookiesSent++;
    }

    /**
     * An ACK (without SYN or RST) for no connection and no record arrived at {@code l}: if it returns a valid SYN
     * cookie, the connection is made in ESTABLISHED (with whatever the ACK carries); otherwise it gets a RST
     * (§3.10.7.2: an ACK in LISTEN).
     */
    void ack(TcpListener l, ByteBuf frame, int o, long lHi, long lLo, int lPort, long rHi, long rLo, int rPort,
             int seq, int ack, int flags, int window, int dataOff, int dataLen, TcpOptions opts) {
        long now = tcp.env.now();
        if (!cookiesEnabled || !l.cookieSentSince(now - COOKIE_CHECK_NANOS)) {
            tcp.reset(rHi, rLo, lHi, lLo, rPort, lPort, seq, ack, flags, dataLen);
            return;
        }
        int irs = seq - 1;
        int iss = ack - 1;
        int mssIndex = cookies.decode(lHi, lLo, lPort, rHi, rLo, rPort, irs, iss, now);
        if (mssIndex < 0) {
            stats.tcpSynCookiesInvalid++;
            tcp.reset(rHi, rLo, lHi, lLo, rPort, lPort, seq, ack, flags, dataLen);
            return;
        }
        if (l.acceptQueueFull()) {
            stats.tcpAcceptQueueOverflows++; // the peer resends (its data, or its ACK with the next segment)
            return;
        }
        stats.tcpSynCookiesValid++;
        boolean ts = opts.hasTimestamp();
        int tsEcr = opts.tsEcr();
        SynReceived r = new SynReceived(lHi, lLo, lPort, rHi, rLo, rPort, 0, l, iss, irs, window,
                SynCookies.mss(IpAddress.isV4(rHi, rLo), mssIndex), ts ? SynCookies.decodeWscale(tsEcr) : -1,
                ts && SynCookies.decodeSack(tsEcr), ts, ts ? opts.tsVal() : 0);
        r.retries = 1; // when the SYN-ACK left is unknown: no RTT sample from the handshake (RFC 6298 §3 spirit)
        establish(r, 0, frame, o, seq, ack, flags, window, dataOff, dataLen, opts);
    }

    // ------------------------------------------------------------------ SYN-RECEIVED (§3.10.7.4) for a record

    /** A segment for the half-open connection {@code r}. */
    void segment(SynReceived r, ByteBuf frame, int o, int seq, int ack, int flags, int window, int dataOff,
                 int dataLen, TcpOptions opts) {
        boolean syn = (flags & Tcp.SYN) != 0;
        boolean rst = (flags & Tcp.RST) != 0;
        boolean hasAck = (flags & Tcp.ACK) != 0;
        long now = tcp.env.now();
        if (syn && !rst && !hasAck && seq == r.irs) {
            // The same SYN again: our SYN-ACK was lost. Answer, but at a bounded rate.
            if (answerAllowed(r, now)) {
                sendSynAck(r);
            }
            return;
        }
        int rcvNxt = r.irs + 1;
        // RFC 7323 §5.3 PAWS: a TSval older than TS.Recent is an old duplicate (RSTs are exempt, §5.2).
        if (r.timestamps && opts.hasTimestamp() && !rst && opts.tsVal() - r.tsRecent < 0) {
            stats.dropTcpUnacceptable++;
            if (answerAllowed(r, now)) {
                sendAck(r);
            }
            return;
        }
        // First: sequence number acceptability (§3.10.7.4), with the window our SYN-ACK offered.
        int rcvWnd = receiveWindow();
        int segLen = dataLen + (syn ? 1 : 0) + ((flags & Tcp.FIN) != 0 ? 1 : 0);
        boolean acceptable = segLen == 0 ? inWindow(seq, rcvNxt, rcvWnd)
                : inWindow(seq, rcvNxt, rcvWnd) || inWindow(seq + segLen - 1, rcvNxt, rcvWnd);
        if (!acceptable) {
            stats.dropTcpUnacceptable++;
            if (!rst && answerAllowed(r, now)) {
                sendAck(r);
            }
            return;
        }
        // Second: RST. Only an exact match (RFC 5961 §3.2) returns to LISTEN, unseen by the application (§3.5.3);
        // any other in the window gets a challenge ACK.
        if (rst) {
            if (seq == rcvNxt) {
                stats.tcpResetsIn++;
                queue.remove(r);
                tcp.timeWait.revive(r.parked);
            } else if (answerAllowed(r, now)) {
                sendAck(r);
            }
            return;
        }
        // Fourth: a SYN in the window (RFC 5961 §4.2): challenge ACK.
        if (syn) {
            if (answerAllowed(r, now)) {
                sendAck(r);
            }
            return;
        }
        // Fifth: the ACK. Only one of our SYN-ACK completes the handshake; another gets <SEQ=SEG.ACK><CTL=RST>.
        if (!hasAck) {
            return;
        }
        if (ack != r.iss + 1) {
            tcp.reset(r.remoteHi, r.remoteLo, r.localHi, r.localLo, r.remotePort, r.localPort, seq, ack, flags,
                    dataLen);
            return;
        }
        if (r.listener.acceptQueueFull()) {
            // As Linux: drop the ACK, keep the record; the SYN-ACK retransmission asks for the ACK again.
            stats.tcpAcceptQueueOverflows++;
            return;
        }
        queue.remove(r);
        long synAckSent = r.retries == 0 ? r.deadline - SynQueue.SYNACK_RTO_NANOS : 0;
        establish(r, synAckSent, frame, o, seq, ack, flags, window, dataOff, dataLen, opts);
    }

    /** Makes the connection of a completed handshake and hands it the completing segment. */
    private void establish(SynReceived r, long synAckSent, ByteBuf frame, int o, int seq, int ack, int flags,
                           int window, int dataOff, int dataLen, TcpOptions opts) {
        admission.handshakeCompleted(r.remoteHi, r.remoteLo, tcp.env.now());
        TcpConnection c = tcp.newConnection(local(r.localHi, r.localLo), r.localPort,
                peer(r.remoteHi, r.remoteLo), r.remotePort);
        c.listener = r.listener;
        c.revivable = r.parked;
        int tsOffset = cookies.tsOffset(r.localHi, r.localLo, r.localPort, r.remoteHi, r.remoteLo, r.remotePort);
        c.handshake.synReceived(r, tsOffset, synAckSent);
        c.receiver.segmentArrives(frame, o, seq, ack, flags, window, dataOff, dataLen, opts);
        if (c.listener != null) {
            // The segment did not complete the handshake after all (nothing above lets that happen): no half
            // connection is left behind.
            c.listener = null;
            c.destroy(null);
        }
    }

    /** The listener {@code l} closes: its half-open connections are reset (RFC 9293 §3.10.5 ABORT). */
    void closeListener(TcpListener l) {
        List<SynReceived> victims = queue.of(l);
        for (SynReceived r : victims) {
            queue.remove(r);
            tcp.reset(r.remoteHi, r.remoteLo, r.localHi, r.localLo, r.remotePort, r.localPort, 0, r.iss + 1, Tcp.ACK,
                    0);
            tcp.timeWait.revive(r.parked);
        }
    }

    /** Whether an ICMP error quoting {@code seq} is about a record's SYN-ACK (RFC 5927 §4.1). */
    SynReceived icmpTarget(long lHi, long lLo, int lPort, long rHi, long rLo, int rPort, int seq) {
        SynReceived r = find(lHi, lLo, lPort, rHi, rLo, rPort);
        return r != null && seq == r.iss ? r : null;
    }

    // ------------------------------------------------------------------ timers

    @Override
    public void retransmit(SynReceived r) {
        stats.tcpTimeouts++;
        stats.tcpSynAckRetransmits++;
        sendSynAck(r);
    }

    @Override
    public void exhausted(SynReceived r) {
        stats.tcpTimeouts++;
        stats.tcpSynAckRetriesExhausted++;
        tcp.timeWait.revive(r.parked);
    }

    // ------------------------------------------------------------------ output

    private boolean answerAllowed(SynReceived r, long now) {
        if (now - r.lastAnswer < Receiver.OOW_ACK_INTERVAL_NANOS) {
            stats.tcpSynRecvAnswersLimited++;
            return false;
        }
        r.lastAnswer = now;
        return true;
    }

    /** The window our SYN-ACK offers: the receive buffer, at most 65535 (a SYN's window is never scaled). */
    private int receiveWindow() {
        return Math.min(tcp.defaultReceiveBuffer, 65535);
    }

    private int tsNow(SynReceived r) {
        return (int) (tcp.env.now() / 1_000_000L)
                + cookies.tsOffset(r.localHi, r.localLo, r.localPort, r.remoteHi, r.remoteLo, r.remotePort);
    }

    private void sendSynAck(SynReceived r) {
        writeSynAck(r.localHi, r.localLo, r.localPort, r.remoteHi, r.remoteLo, r.remotePort, r.iss, r.irs + 1,
                r.peerWscale >= 0, r.sackPermitted, r.timestamps, r.timestamps ? tsNow(r) : 0, r.tsRecent);
    }

    /**
     * SYN-ACK with MSS (4 bytes), then NOP + window scale (3) and NOP, NOP + SACK-permitted (2), and NOP, NOP +
     * timestamps (10), each only if the SYN carried it (RFC 7323 §1.3, RFC 2018 §2), as {@link TcpConnection}
     * sends it.
     */
    private void writeSynAck(long lHi, long lLo, int lPort, long rHi, long rLo, int rPort, int iss, int ack,
                             boolean ws, boolean sack, boolean ts, int tsVal, int tsEcr) {
        boolean v6 = !IpAddress.isV4(rHi, rLo);
        int ipHeader = v6 ? 40 : 20;
        int hdr = Tcp.MIN_HEADER_LENGTH + TcpOptions.synOptionsLength(ws, sack, ts);
        Route route = routeTo(lHi, lLo, rHi, rLo);
        ByteBuf f = route.newPacket(hdr);
        int o = route.transportOffset();
        Tcp.writeHeader(f, o, lPort, rPort, iss, ack, hdr, Tcp.SYN | Tcp.ACK, receiveWindow());
        int mss = route.mtu() - ipHeader - Tcp.MIN_HEADER_LENGTH;
        TcpOptions.writeSynOptions(f, o + Tcp.MIN_HEADER_LENGTH, mss,
                ws ? Handshake.windowScaleFor(tcp.defaultReceiveBuffer) : -1, sack, ts, tsVal, tsEcr);
        SegmentWriter.transmit(tcp.env, route, f, o, hdr);
    }

    /** <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK> for a record (§3.10.7.4: the answer to an unacceptable segment). */
    private void sendAck(SynReceived r) {
        int hdr = Tcp.MIN_HEADER_LENGTH + (r.timestamps ? 12 : 0);
        Route route = routeTo(r.localHi, r.localLo, r.remoteHi, r.remoteLo);
        ByteBuf f = route.newPacket(hdr);
        int o = route.transportOffset();
        int rcvWscale = r.peerWscale >= 0 ? Handshake.windowScaleFor(tcp.defaultReceiveBuffer) : 0;
        Tcp.writeHeader(f, o, r.localPort, r.remotePort, r.iss + 1, r.irs + 1, hdr, Tcp.ACK,
                receiveWindow() >>> rcvWscale);
        if (r.timestamps) {
            TcpOptions.writeTimestamps(f, o + Tcp.MIN_HEADER_LENGTH, tsNow(r), r.tsRecent);
        }
        SegmentWriter.transmit(tcp.env, route, f, o, hdr);
    }

    /** The route from {@code local} to {@code remote}: one object for the handshakes, re-aimed when they change. */
    private Route routeTo(long lHi, long lLo, long rHi, long rLo) {
        if (route == null || !route.matches(lHi, lLo, rHi, rLo)) {
            route = tcp.env.route(route, lHi, lLo, rHi, rLo);
        }
        return route;
    }

    /** Our address as an object, without a new one per segment while it stays the same. */
    private IpAddress local(long hi, long lo) {
        if (!lastLocal.equals(hi, lo)) {
            lastLocal = IpAddress.of(hi, lo);
        }
        return lastLocal;
    }

    /** The peer's address as an object, shared with the recent connections from the same peer. */
    private IpAddress peer(long hi, long lo) {
        long h = (hi ^ lo) * 0x9E3779B97F4A7C15L;
        int i = (int) (h >>> 56) & (PEER_CACHE - 1);
        IpAddress a = peers[i];
        if (a == null || !a.equals(hi, lo)) {
            a = peers[i] = IpAddress.of(hi, lo);
        }
        return a;
    }

    private static boolean inWindow(int seq, int start, int len) {
        return seq - start >= 0 && seq - (start + len) < 0;
    }
}
