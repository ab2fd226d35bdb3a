package io.usertcp.tcp;

import io.netty.buffer.ByteBuf;
import io.usertcp.wire.Tcp;
import io.usertcp.wire.TcpOptions;

import static io.usertcp.tcp.Tcb.seqLt;
import static io.usertcp.tcp.Tcb.seqLe;
import static io.usertcp.tcp.Tcb.seqGt;
import static io.usertcp.tcp.ConnectionTimers.RTX;

/**
 * Opening a connection (RFC 9293 §3.5, §3.10.1, §3.10.7.3): the active open and its SYN, SYN-SENT's processing of
 * the SYN-ACK (or of a SYN: simultaneous open), the SYN-RECEIVED set-up of a passive open that {@link PassiveOpen}
 * completed, and the negotiation of the options a SYN carries (MSS, window scale, SACK-permitted, timestamps).
 */
final class Handshake {
    /** Default MSS when the peer sends none (RFC 9293 §3.7.1, MUST-15: 536 for IPv4). */
    static final int DEFAULT_MSS_V4 = 536;

    static final int DEFAULT_MSS_V6 = 1220;

    /** Smallest MSS we accept from a peer (a floor against tiny-segment attacks). */
    static final int MIN_MSS = 88;

    /** SYN retransmissions: at 1, 3, 7, ... 127, 247 s, so an open is given up on only after 3 minutes (MUST-23). */
    static final int MAX_SYN_RETRIES = 8;

    /** The connection, the one field (its {@link Tcb} and environment are read through it: 8 bytes less each). */
    private final TcpConnection c;

    Handshake(TcpConnection c) {
        this.c = c;
    }

    /** Active open (RFC 9293 §3.10.1): sends SYN. */
    void connect() {
        Tcb tcb = c.tcb;
        TcpEnv env = c.tcp.env;
        tcb.now = env.now();
        tcb.iss = c.tcp.isn(c);
        tcb.sndUna = tcb.iss;
        tcb.sndNxt = tcb.iss;
        tcb.sndMax = tcb.iss;
        tcb.sndBufSeq = tcb.iss + 1;
        tcb.recover = tcb.iss;
        tcb.rcvWscale = (byte) windowScaleFor(tcb.receiveBufferSize);
        tcb.mss = pathMss();
        tcb.cwnd = initialCwnd();
        c.setState(TcpState.SYN_SENT);
        sendSyn(false);
    }

    /**
     * Passive open (RFC 9293 §3.10.7.2) completed outside the connection: the SYN was held by a SYN queue record
     * or a SYN cookie ({@link PassiveOpen}) until the peer's ACK came. Sets up SYN-RECEIVED as receiving that SYN
     * and sending our SYN-ACK would have, so that {@link Receiver#segmentArrives} then takes the ACK like any other.
     * {@code synAckSent} is when the SYN-ACK left if it was never resent ({@code r.retries} 0): the handshake's
     * RTT sample.
     */
    void synReceived(SynReceived r, int tsClockOffset, long synAckSent) {
        Tcb tcb = c.tcb;
        TcpEnv env = c.tcp.env;
        tcb.now = env.now();
        tcb.irs = r.irs;
        tcb.rcvNxt = tcb.irs + 1;
        tcb.iss = r.iss;
        tcb.sndUna = tcb.iss;
        tcb.sndNxt = tcb.iss + 1;
        tcb.sndMax = tcb.iss + 1;
        tcb.sndBufSeq = tcb.iss + 1;
        tcb.recover = tcb.iss;
        // RFC 9293 §3.7.1 (MUST-15): without the option assume 536 (IPv4) or 1220 (IPv6, RFC 8200 §5).
        int peerMss = r.peerMss > 0 ? r.peerMss : c.ipHeaderLength() == 20 ? DEFAULT_MSS_V4 : DEFAULT_MSS_V6;
        tcb.mss = Math.max(MIN_MSS, Math.min(pathMss(), peerMss));
        tcb.windowScaleOk = r.peerWscale >= 0;
        tcb.sndWscale = (byte) (tcb.windowScaleOk ? Math.min(r.peerWscale, 14) : 0); // RFC 7323 §2.3: above 14 is 14
        tcb.rcvWscale = (byte) (tcb.windowScaleOk ? windowScaleFor(tcb.receiveBufferSize) : 0);
        tcb.sackOk = r.sackPermitted;
        tcb.tsOk = r.timestamps;
        tcb.tsRecent = r.tsRecent;
        tcb.tsRecentAge = tcb.now;
        tcb.tsOffset = tsClockOffset;
        tcb.sndWnd = r.peerWindow; // never scaled in a SYN (RFC 7323 §2.2)
        tcb.sndWl1 = tcb.irs;
        tcb.sndWl2 = tcb.iss;
        tcb.maxSndWnd = tcb.sndWnd;
        tcb.cwnd = initialCwnd();
        tcb.lastAckSent = tcb.rcvNxt;
        tcb.rcvAdvEdge = tcb.rcvNxt + Math.min(tcb.receiveBufferSize, 65535);
        tcb.retries = r.retries;
        tcb.rtt.timingStart = synAckSent;
        c.setState(TcpState.SYN_RECEIVED);
    }

    private void applySynOptions(TcpOptions opts, boolean weMayScale) {
        Tcb tcb = c.tcb;
        int pathMss = pathMss();
        // RFC 9293 §3.7.1 (MUST-15): without the option assume 536 (IPv4) or 1220 (IPv6, RFC 8200 §5).
        int peerMss = opts.mss() > 0 ? opts.mss() : c.ipHeaderLength() == 20 ? DEFAULT_MSS_V4 : DEFAULT_MSS_V6;
        tcb.mss = Math.max(MIN_MSS, Math.min(pathMss, peerMss));
        if (tcb.mssClamp > 0) {
            tcb.mss = Math.min(tcb.mss, tcb.mssClamp);
        }
        tcb.windowScaleOk = opts.windowScale() >= 0 && weMayScale;
        tcb.sackOk = opts.sackPermitted();
        tcb.tsOk = opts.hasTimestamp();
        if (tcb.tsOk) {
            tcb.tsRecent = opts.tsVal();
            tcb.tsRecentAge = tcb.now;
        }
        if (tcb.windowScaleOk) {
            // RFC 7323 §2.3: a shift above 14 is treated as 14 (MUST).
            tcb.sndWscale = (byte) Math.min(opts.windowScale(), 14);
            tcb.rcvWscale = (byte) windowScaleFor(tcb.receiveBufferSize);
        } else {
            tcb.sndWscale = 0;
            tcb.rcvWscale = 0;
        }
    }

    /** The MSS the path's MTU allows (RFC 9293 §3.7.1: MTU less the IP and TCP fixed headers). */
    int pathMss() {
        return c.route.mtu() - c.ipHeaderLength() - Tcp.MIN_HEADER_LENGTH;
    }

    int initialCwnd() {
        Tcb tcb = c.tcb;
        // RFC 6928: IW = min(10*MSS, max(2*MSS, 14600)).
        return Math.min(10 * tcb.mss, Math.max(2 * tcb.mss, 14600));
    }

    static int windowScaleFor(int bufferSize) {
        int s = 0;
        while (s < 14 && (65535L << s) < bufferSize) {
            s++;
        }
        return s;
    }

    /** Sends our SYN, or SYN-ACK in a simultaneous open, first or again; starts the retransmission timer. */
    void sendSyn(boolean ack) {
        Tcb tcb = c.tcb;
        if (ack) {
            tcb.lastAckSent = tcb.rcvNxt;
            tcb.rcvAdvEdge = tcb.rcvNxt + Math.min(tcb.receiveBufferSize, 65535);
        }
        if (tcb.retries == 0) {
            tcb.rtt.timingStart = tcb.now; // the handshake gives the first RTT sample unless a SYN was resent
        }
        c.out.sendSyn(ack);
        tcb.sndNxt = tcb.iss + 1;
        if (tcb.sndMax - tcb.sndNxt < 0) {
            tcb.sndMax = tcb.sndNxt;
        }
        if (!c.timers.isArmed(RTX)) {
            c.timers.armRtx(tcb.now);
        }
    }

    void synSentArrives(int seq, int ack, int flags, int window, TcpOptions opts) {
        Tcb tcb = c.tcb;
        TcpEnv env = c.tcp.env;
        boolean hasAck = (flags & Tcp.ACK) != 0;
        if (hasAck && (seqLe(ack, tcb.iss) || seqGt(ack, tcb.sndMax))) {
            if ((flags & Tcp.RST) == 0) {
                c.out.sendControl(ack, 0, Tcp.RST);
            }
            return;
        }
        if ((flags & Tcp.RST) != 0) {
            if (hasAck) {
                env.stats().tcpResetsIn++;
                c.destroy(PeerErrors.refused(c.remoteAddress()));
            }
            return;
        }
        if ((flags & Tcp.SYN) == 0) {
            return;
        }
        tcb.irs = seq;
        tcb.rcvNxt = seq + 1;
        applySynOptions(opts, true);
        tcb.rcvAdvEdge = tcb.rcvNxt + Math.min(tcb.receiveBufferSize, 65535 << tcb.rcvWscale);
        if (hasAck) {
            tcb.sndUna = ack;
            tcb.sndWnd = window; // RFC 7323 §2.2: the window of a segment with SYN is never scaled
            tcb.sndWl1 = seq;
            tcb.sndWl2 = ack;
            tcb.maxSndWnd = tcb.sndWnd;
            c.timers.cancel(RTX);
            if (tcb.retries == 0) {
                // RFC 6298 §2: Karn's rule allows it, nothing was resent.
                c.recovery.sampleRtt(tcb.now - tcb.rtt.timingStart);
            }
            tcb.retries = 0;
            c.setState(TcpState.ESTABLISHED);
            env.stats().tcpActiveOpens++;
            c.out.sendAck();
            c.signal(TcpSocket.EV_CONNECTED | TcpSocket.EV_WRITABLE);
            c.sender.output();
        } else {
            // Simultaneous open (§3.5, figure 8).
            c.setState(TcpState.SYN_RECEIVED);
            tcb.sndWnd = window;
            tcb.sndWl1 = seq;
            tcb.sndWl2 = tcb.iss;
            sendSyn(true);
        }
    }

    /**
     * The ACK of a segment in SYN-RECEIVED (RFC 9293 §3.10.7.4 fifth): if it acknowledges our SYN, the connection
     * is established (and handed to its listener); otherwise it gets &lt;SEQ=SEG.ACK&gt;&lt;CTL=RST&gt; and the
     * segment is dropped (false).
     */
    boolean synReceivedAck(int seq, int ack, int window) {
        Tcb tcb = c.tcb;
        if (!seqLt(tcb.sndUna, ack) || !seqLe(ack, tcb.sndMax)) {
            c.out.sendControl(ack, 0, Tcp.RST);
            return false;
        }
        if (tcb.retries == 0) {
            c.recovery.sampleRtt(tcb.now - tcb.rtt.timingStart); // the SYN-ACK was not resent: a valid sample
        }
        c.setState(tcb.finQueued ? TcpState.FIN_WAIT_1 : TcpState.ESTABLISHED);
        tcb.sndWnd = window << tcb.sndWscale;
        tcb.sndWl1 = seq;
        tcb.sndWl2 = ack;
        tcb.maxSndWnd = Math.max(tcb.maxSndWnd, tcb.sndWnd);
        if (c.revivable != null) {
            TcpFlow old = c.revivable; // the new incarnation is real: the old one goes for good
            c.revivable = null;
            c.tcp.timeWait.discard(old);
        }
        if (c.listener != null) {
            TcpListener l = c.listener;
            c.listener = null;
            l.established(c);
        }
        return true;
    }

    /** In TIME-WAIT: may a new SYN with this sequence number take the connection over (RFC 9293 §3.10.7.4)? */
    boolean timeWaitAcceptsSyn(int seq, TcpOptions opts) {
        Tcb tcb = c.tcb;
        return tcb.state == TcpState.TIME_WAIT && TimeWaitRecord.acceptsSyn(tcb.tsOk, tcb.tsRecent, tcb.rcvNxt, seq,
                opts);
    }
}
