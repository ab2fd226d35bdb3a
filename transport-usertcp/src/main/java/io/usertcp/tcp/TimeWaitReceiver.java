package io.usertcp.tcp;

import io.netty.buffer.ByteBuf;
import io.usertcp.ip.Route;
import io.usertcp.stats.StackStats;
import io.usertcp.wire.Tcp;
import io.usertcp.wire.TcpOptions;

import static io.usertcp.tcp.Tcb.inWindow;
import static io.usertcp.tcp.Tcb.seqGt;
import static io.usertcp.tcp.Tcb.seqLe;
import static io.usertcp.tcp.Tcb.seqLt;

/**
 * SEGMENT ARRIVES (RFC 9293 §3.10.7.4) for a {@link TimeWaitRecord}: what {@link Receiver} does for a connection in
 * TIME-WAIT, step for step, on the record's variables. PAWS (RFC 7323 §5.3); the sequence number test, where a
 * retransmitted FIN restarts the 2 MSL timeout and is acknowledged again; RST (RFC 5961 §3.2: only an exact one ends
 * TIME-WAIT, others in the window get a challenge ACK); SYN (a challenge ACK: a SYN that may reopen the four-tuple
 * was taken before, by {@link TcpLayer}); the ACK checks (RFC 5961 §5.2); TS.Recent (§4.3, after the checks); text
 * is ignored; a FIN at RCV.NXT is taken. Answers are ACKs, rate-limited as the connection's were. A new SYN that
 * reopens the four-tuple never comes here (see {@link TimeWaitRecord#acceptsSyn}).
 */
final class TimeWaitReceiver {
    /** RFC 7323 §5.5: TS.Recent older than 24 days no longer makes segments old duplicates. */
    private static final long PAWS_IDLE_NANOS = 24L * 86_400 * 1_000_000_000L;

    private final TimeWaitTable table;
    private final TcpEnv env;
    private final StackStats stats;
    private Route route; // the ACKs of all records: one object, re-aimed for each peer

    TimeWaitReceiver(TimeWaitTable table) {
        this.table = table;
        this.env = table.tcp.env;
        this.stats = env.stats();
    }

    /** Processes one segment for {@code r} (header fields as {@link TcpLayer#input} parsed them). */
    void segmentArrives(TimeWaitRecord r, int seq, int ack, int flags, int window, int dataLen, TcpOptions opts) {
        long now = env.now();
        boolean syn = (flags & Tcp.SYN) != 0;
        boolean fin = (flags & Tcp.FIN) != 0;
        boolean rst = (flags & Tcp.RST) != 0;

        // RFC 7323 §5.3 PAWS (R1); RSTs are exempt (§5.2). TS.Recent moves only after the checks below (R3).
        boolean takesTsVal = false;
        if (r.tsOk && opts.hasTimestamp() && !rst) {
            if (seqLt(opts.tsVal(), r.tsRecent) && now - r.tsRecentAge <= PAWS_IDLE_NANOS) {
                stats.dropTcpUnacceptable++;
                outOfWindowAck(r, dataLen + (syn || fin ? 1 : 0), now);
                return;
            }
            takesTsVal = seqLe(seq, r.lastAckSent);
        }

        // First: sequence number acceptability (§3.10.7.4, the four cases).
        int segLen = dataLen + (syn ? 1 : 0) + (fin ? 1 : 0);
        int rcvWnd = Math.max(0, r.rcvAdvEdge - r.rcvNxt);
        boolean acceptable;
        if (segLen == 0) {
            acceptable = rcvWnd == 0 ? seq == r.rcvNxt : inWindow(seq, r.rcvNxt, rcvWnd);
        } else {
            acceptable = rcvWnd != 0 && (inWindow(seq, r.rcvNxt, rcvWnd) || inWindow(seq + segLen - 1, r.rcvNxt,
                    rcvWnd));
        }
        if (!acceptable) {
            if (!rst) {
                if (fin) {
                    table.restart(r, now); // the peer did not get our ACK of its FIN: 2 MSL again
                }
                // A segment at RCV.NXT-1 (the retransmitted FIN, a keep-alive) asks for exactly this ACK.
                outOfWindowAck(r, seq == r.rcvNxt - 1 ? 1 : segLen, now);
            }
            stats.dropTcpUnacceptable++;
            return;
        }

        // Second: RST (RFC 5961 §3.2: only an exact match ends TIME-WAIT).
        if (rst) {
            if (seq == r.rcvNxt) {
                stats.tcpResetsIn++;
                table.end(r);
            } else {
                challengeAck(r, now);
            }
            return;
        }
        // Fourth: SYN (RFC 5961 §4.2).
        if (syn) {
            challengeAck(r, now);
            return;
        }
        // Fifth: ACK. Everything we sent is acknowledged (SND.UNA = SND.NXT).
        if ((flags & Tcp.ACK) == 0) {
            return;
        }
        if (seqGt(ack, r.sndNxt) || seqLt(ack, r.sndNxt - Math.max(r.maxSndWnd, 1))) {
            outOfWindowAck(r, dataLen + (fin ? 1 : 0), now); // never sent, or far too old (RFC 5961 §5.2)
            return;
        }
        if (seqLt(r.sndWl1, seq) || (r.sndWl1 == seq && seqLe(r.sndWl2, ack))) {
            int wnd = window << r.sndWscaleOrZero();
            r.sndWl1 = seq;
            r.sndWl2 = ack;
            if (wnd > r.maxSndWnd) {
                r.maxSndWnd = wnd;
            }
        }
        if (r.sackOk && opts.sackCount() > 0 && LossRecovery.isDsack(ack, opts)) {
            stats.tcpDsacksIn++;
        }
        if (takesTsVal) {
            r.tsRecent = opts.tsVal();
            r.tsRecentAge = now;
        }
        // Seventh: text is ignored in TIME-WAIT, and with it a FIN behind it. Eighth: a FIN at RCV.NXT.
        if (fin && dataLen == 0 && seq == r.rcvNxt) {
            r.rcvNxt++;
            table.restart(r, now);
            sendAck(r, now);
        }
    }

    /**
     * The ACK owed to an unacceptable segment or an ACK field out of range, at most once per
     * {@link Receiver#OOW_ACK_INTERVAL_NANOS} for a segment that occupies no sequence space (as
     * {@code Receiver.sendOutOfWindowAck}).
     */
    private void outOfWindowAck(TimeWaitRecord r, int segLen, long now) {
        if (segLen == 0) {
            if (r.oowAckSent && now - r.lastOowAck < Receiver.OOW_ACK_INTERVAL_NANOS) {
                stats.tcpOutOfWindowAcksLimited++;
                return;
            }
            r.oowAckSent = true;
            r.lastOowAck = now;
        }
        sendAck(r, now);
    }

    /** RFC 5961 §7: at most {@link Receiver#CHALLENGE_ACKS_PER_SECOND} a second, within the stack's budget. */
    private void challengeAck(TimeWaitRecord r, long now) {
        if (now - r.challengeWindowStart > 1_000_000_000L) {
            r.challengeWindowStart = now;
            r.challengeAcks = 0;
        }
        if (r.challengeAcks < Receiver.CHALLENGE_ACKS_PER_SECOND && table.tcp.mayChallengeAck()) {
            r.challengeAcks++;
            sendAck(r, now);
        }
    }

    /**
     * &lt;SEQ=SND.NXT&gt;&lt;ACK=RCV.NXT&gt;&lt;CTL=ACK&gt; with timestamps if the connection used them, offering the
     * whole receive buffer (as {@link SegmentWriter} computes the window field when nothing is left to read).
     */
    private void sendAck(TimeWaitRecord r, long now) {
        int hdr = Tcp.MIN_HEADER_LENGTH + (r.tsOk ? TcpOptions.TIMESTAMP_LENGTH : 0);
        Route rt = route;
        if (rt == null || !rt.matches(r.localHi, r.localLo, r.remoteHi, r.remoteLo)) {
            rt = route = env.route(rt, r.localHi, r.localLo, r.remoteHi, r.remoteLo);
        }
        ByteBuf f = rt.newPacket(hdr);
        int o = rt.transportOffset();
        int wscale = r.rcvWscaleOrZero();
        int offered = Math.max(Math.max(0, r.rcvAdvEdge - r.rcvNxt), r.receiveBuffer);
        int field = Math.min(offered >>> wscale, 65535);
        int edge = r.rcvNxt + (field << wscale);
        if (seqGt(edge, r.rcvAdvEdge)) {
            r.rcvAdvEdge = edge;
        }
        Tcp.writeHeader(f, o, r.localPort(), r.remotePort(), r.sndNxt, r.rcvNxt, hdr, Tcp.ACK, field);
        if (r.tsOk) {
            TcpOptions.writeTimestamps(f, o + Tcp.MIN_HEADER_LENGTH, (int) (now / 1_000_000L) + r.tsOffset,
                    r.tsRecent);
        }
        r.lastAckSent = r.rcvNxt;
        SegmentWriter.transmit(env, rt, f, o, hdr, r.tos);
    }
}
