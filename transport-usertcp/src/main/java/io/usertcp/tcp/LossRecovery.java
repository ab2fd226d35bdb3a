package io.usertcp.tcp;

import io.usertcp.wire.Tcp;
import io.usertcp.wire.TcpOptions;

import java.io.IOException;
import java.net.ConnectException;

import static io.usertcp.tcp.Tcb.seqLt;
import static io.usertcp.tcp.Tcb.seqLe;
import static io.usertcp.tcp.Tcb.seqGt;
import static io.usertcp.tcp.Tcb.seqGe;
import static io.usertcp.tcp.ConnectionTimers.PROBE;
import static io.usertcp.tcp.ConnectionTimers.REORDER;

/**
 * Repairing loss: fast retransmit and NewReno recovery without SACK (RFC 5681 §3.2, RFC 6582), SACK-based recovery
 * (RFC 6675) with RACK's loss detection and tail loss probes (RFC 8985, the glue around {@link RackState}), and the
 * retransmission timeout (RFC 6298 §5, RFC 5681 §3.1: go back N).
 */
final class LossRecovery {
    /** Retransmissions of data (and unanswered zero-window probes) before the connection is given up on. */
    static final int MAX_DATA_RETRIES = 15;

    /** {@link #onSackBlocks}: the blocks SACKed new data. */
    static final int NEW_SACK = 1;
    /** {@link #onSackBlocks}: the first block was a D-SACK (RFC 2883). */
    static final int DSACK = 2;

    /** The connection, the one field (its {@link Tcb} and environment are read through it: 8 bytes less each). */
    private final TcpConnection c;

    LossRecovery(TcpConnection c) {
        this.c = c;
    }

    /**
     * An ACK advanced SND.UNA to {@code ack} during recovery: a full acknowledgment ends it, a partial one
     * retransmits the next hole without SACK (RFC 6582 §3.2 steps 3 and 4).
     */
    void onAckInRecovery(int ack, int acked) {
        Tcb tcb = c.tcb;
        if (seqGe(ack, tcb.recover)) {
            // Full acknowledgment (RFC 6582 §3.2 step 3).
            tcb.inRecovery = false;
            tcb.rack.onRecoveryExit();
            tcb.cwnd = Math.min(tcb.ssthresh, Math.max(tcb.sndMax - tcb.sndUna, tcb.mss) + tcb.mss);
        } else if (!tcb.sackOk) {
            // Partial acknowledgment: retransmit the next hole, deflate (step 4).
            retransmitOne();
            tcb.cwnd = Math.max(tcb.cwnd - acked + tcb.mss, tcb.mss);
        }
    }

    /**
     * Takes the SACK blocks of an ACK of {@code ack} into the scoreboard (RFC 2018, RFC 6675); returns
     * {@link #NEW_SACK} if they SACKed anything new, plus {@link #DSACK} if the first reports a duplicate.
     */
    int onSackBlocks(int ack, TcpOptions opts) {
        Tcb tcb = c.tcb;
        TcpEnv env = c.tcp.env;
        int una = seqGt(ack, tcb.sndUna) ? ack : tcb.sndUna;
        // RFC 2883 §4: a first block at or below the cumulative ACK, or inside the second block, reports a
        // duplicate (D-SACK): it says a retransmission was unnecessary, not that anything is missing.
        boolean dsack = isDsack(ack, opts);
        if (dsack) {
            env.stats().tcpDsacksIn++;
        }
        boolean newSack = false;
        for (int k = dsack ? 1 : 0; k < opts.sackCount(); k++) {
            newSack |= tcb.scoreboard.add(opts.sackLeft(k), opts.sackRight(k), una, tcb.sndMax, env.stats());
        }
        return (newSack ? NEW_SACK : 0) | (dsack ? DSACK : 0);
    }

    /** Whether the first SACK block of a segment with SACK blocks reports a duplicate (RFC 2883 §4). */
    static boolean isDsack(int ack, TcpOptions opts) {
        return seqLe(opts.sackRight(0), ack) || (opts.sackCount() > 1
                && seqGe(opts.sackLeft(0), opts.sackLeft(1)) && seqLe(opts.sackRight(0), opts.sackRight(1)));
    }

    /** RFC 5681 §2 duplicate ACK (or, with SACK, an ACK that SACKs new data: RFC 6675 §2). */
    void onDupAck() {
        Tcb tcb = c.tcb;
        TcpEnv env = c.tcp.env;
        tcb.dupAcks++;
        if (tcb.inRecovery) {
            if (!tcb.sackOk) {
                tcb.cwnd += tcb.mss; // RFC 6582 §3.2 step 3: inflate for each additional duplicate
            }
        } else if (!tcb.sackOk && tcb.dupAcks == 3 && seqGt(tcb.sndUna, tcb.recover - 1)) {
            // Fast retransmit (RFC 5681 §3.2 steps 2-4, RFC 6582 step 2).
            int flight = tcb.sndMax - tcb.sndUna;
            tcb.ssthresh = tcb.cc().onLoss(tcb.cwnd, flight, tcb.mss, tcb.now);
            tcb.recover = tcb.sndMax;
            tcb.inRecovery = true;
            tcb.rtt.stopTiming();
            retransmitOne();
            tcb.cwnd = tcb.ssthresh + 3 * tcb.mss;
            env.stats().tcpRetransmits++;
            tcb.retransmits++;
        }
    }

    /**
     * RFC 8985 §6.2 step 5 and §6.3: marks what RACK now counts as lost, arms the reordering timer for what
     * it will count as lost later, and starts recovery when something is lost (RACK replaces the DupThresh
     * rule of RFC 6675 for SACK connections; cwnd falls once per episode, RFC 6675 §5 with RFC 6582's
     * "recover").
     */
    void rackDetectLoss(boolean dsack, long now) {
        Tcb tcb = c.tcb;
        tcb.rack.updateReoWnd(dsack, tcb.sndUna, tcb.sndMax, tcb.inRecovery || seqLt(tcb.sndUna, tcb.recover),
                tcb.rtt.srtt());
        long timeout = tcb.rack.detectLoss(now);
        if (timeout > 0) {
            c.timers.schedule(REORDER, now + timeout);
        } else {
            c.timers.cancel(REORDER);
        }
        if (tcb.rack.hasLost() && !tcb.inRecovery && seqGe(tcb.sndUna, tcb.recover)) {
            enterSackRecovery();
        }
    }

    /** RFC 8985 §6.3: the reordering timer expired: detect loss again, and repair what is lost. */
    void onReorderTimeout(long now) {
        Tcb tcb = c.tcb;
        if (!tcb.state.isSynchronized() || tcb.state == TcpState.TIME_WAIT || tcb.sndUna == tcb.sndMax) {
            return;
        }
        rackDetectLoss(false, now);
        if (tcb.inRecovery) {
            sackRecoveryOutput();
        }
    }

    /** RFC 6675 §5 steps (1)-(4): enter loss recovery; pipe accounting replaces cwnd inflation. */
    private void enterSackRecovery() {
        Tcb tcb = c.tcb;
        tcb.ssthresh = tcb.cc().onLoss(tcb.cwnd, tcb.sndMax - tcb.sndUna, tcb.mss, tcb.now);
        tcb.cwnd = tcb.ssthresh;
        tcb.recover = tcb.sndMax;
        tcb.inRecovery = true;
        tcb.rtt.stopTiming();
        c.timers.cancel(PROBE); // RFC 8985 §7.2: no loss probe during recovery
        // Step (4.3): the first segment presumed lost goes out at once, whatever pipe says.
        retransmitFirstLost();
    }

    /**
     * Tail loss probe (RFC 8985 §7), with SACK only: when no ACK has brought news for a probe timeout
     * (2 × SRTT, at least 5 ms; §7.2), send a probe whose ACK lets RACK detect a lost tail (§7.3). Not armed
     * during recovery or while segments are SACKed (§7.2: RACK's reordering timer covers those), nor when
     * only one segment is out: the peer may just be delaying its ACK.
     */
    void armProbe(long now) {
        Tcb tcb = c.tcb;
        if (!tcb.sackOk || tcb.rtt.srtt() < 0 || tcb.probes >= 2 || tcb.sndMax - tcb.sndUna <= tcb.mss
                || tcb.inRecovery || !tcb.scoreboard.isEmpty()) {
            c.timers.cancel(PROBE);
            return;
        }
        long pto = Math.max(2 * tcb.rtt.srtt(), 5_000_000L) << tcb.probes;
        if (pto < tcb.rtt.currentRto()) {
            c.timers.schedule(PROBE, now + pto);
        }
    }

    /** RFC 8985 §7.3: the probe is new data if there is some and the peer's window takes it, else the last segment. */
    void onProbeTimeout(long now) {
        Tcb tcb = c.tcb;
        TcpEnv env = c.tcp.env;
        if (!tcb.state.isSynchronized() || tcb.sndUna == tcb.sndMax || tcb.state == TcpState.TIME_WAIT || tcb.inRecovery
                || !tcb.scoreboard.isEmpty()) {
            return;
        }
        tcb.probes++;
        if (c.sender.sendNewData() == 0) {
            int dataEnd = tcb.finQueued && seqGt(tcb.sndMax, tcb.finSeq()) ? tcb.finSeq() : tcb.sndMax;
            int smss = tcb.mss - c.out.sackOptionLength();
            int start = seqGt(dataEnd - smss, tcb.sndUna) ? dataEnd - smss : tcb.sndUna;
            boolean fin = dataEnd != tcb.sndMax;
            if (dataEnd - start > 0 || fin) {
                c.out.sendData(start, dataEnd - start, Tcp.ACK | (fin ? Tcp.FIN : 0));
                env.stats().tcpRetransmits++;
                tcb.retransmits++;
            }
        }
        // RFC 8985 §7.3: after a probe, sent or not, re-arm the RTO timer (not the PTO timer), so that the
        // probe's ACK has a full RTO to arrive and the RTO stays the last resort.
        c.timers.armRtx(now);
    }

    /**
     * Loss recovery with SACK (RFC 6675 §5, steps (C), with RACK's losses, RFC 8985 §6): while pipe leaves
     * room for a segment, retransmit the next segment marked lost, in sequence order, else send new data.
     */
    void sackRecoveryOutput() {
        Tcb tcb = c.tcb;
        int pipe = tcb.rack.pipe();
        for (int guard = 0; guard < 4096 && tcb.cwnd - pipe >= tcb.mss; guard++) {
            int sent = retransmitFirstLost();
            if (sent == 0) {
                sent = c.sender.sendNewData();
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
        Tcb tcb = c.tcb;
        TcpEnv env = c.tcp.env;
        int i = tcb.rack.firstLost();
        if (i < 0) {
            return 0;
        }
        int s = tcb.rack.start(i);
        int e = tcb.rack.retransmitEnd(i, s + tcb.mss - c.out.sackOptionLength()); // whole segments, never slivers
        int dataEnd = tcb.finQueued ? tcb.finSeq() : tcb.sndBufSeq + tcb.sendBuffer.size();
        int avail = (seqLt(e, dataEnd) ? e : dataEnd) - s;
        int len = Math.min(tcb.mss - c.out.sackOptionLength(), Math.max(avail, 0));
        boolean fin = tcb.finQueued && s + len == tcb.finSeq() && seqGt(e, tcb.finSeq());
        if (len == 0 && !fin) {
            return 0;
        }
        c.out.sendData(s, len, Tcp.ACK | (fin ? Tcp.FIN : 0));
        env.stats().tcpRetransmits++;
        tcb.retransmits++;
        return len + (fin ? 1 : 0);
    }

    /** Retransmits one segment from SND.UNA (fast retransmit, partial ACK). */
    void retransmitOne() {
        Tcb tcb = c.tcb;
        TcpEnv env = c.tcp.env;
        int queued = tcb.sendBuffer.size() - (tcb.sndUna - tcb.sndBufSeq);
        int len = Math.min(Math.max(queued, 0), tcb.mss - c.out.sackOptionLength());
        boolean fin = tcb.finQueued && len == queued && seqGt(tcb.sndMax, tcb.finSeq());
        if (len == 0 && !fin) {
            return;
        }
        c.out.sendData(tcb.sndUna, len, Tcp.ACK | (fin ? Tcp.FIN : 0));
        env.stats().tcpRetransmits++;
        tcb.retransmits++;
    }

    /**
     * The retransmission timer expired (RFC 6298 §5.4-5.6): give up after too many tries or the user timeout,
     * else back off and resend the SYN, or go back N with cwnd at one segment (RFC 5681 §3.1). A closed peer
     * window hands over to zero-window probing instead.
     */
    void onRetransmitTimeout(long now) {
        Tcb tcb = c.tcb;
        TcpEnv env = c.tcp.env;
        if (tcb.state == TcpState.CLOSED) {
            return;
        }
        // A simultaneous open closed in SYN-RECEIVED is in FIN-WAIT-1 (RFC 9293 §3.10.4) with its SYN perhaps still
        // unacknowledged (SND.UNA = ISS, before the send buffer's first byte): then what timed out is the SYN, and
        // it is resent as the SYN-ACK it was; going back to SND.UNA as if it were data would send a byte that
        // does not exist.
        boolean synUnacked = seqLt(tcb.sndUna, tcb.sndBufSeq);
        if (tcb.state.isSynchronized() && tcb.sndWnd == 0 && !synUnacked) {
            // The peer's window is closed (perhaps shrunk onto data in flight): nothing may be resent, so this
            // is no retransmission. Zero-window probing takes over and keeps the connection for as long as the
            // probes are answered (RFC 9293 §3.8.6.1, MUST-37).
            tcb.sndNxt = tcb.sndUna;
            c.timers.armPersist(tcb.now);
            return;
        }
        tcb.retries++;
        env.stats().tcpTimeouts++;
        boolean handshake = tcb.state == TcpState.SYN_SENT || tcb.state == TcpState.SYN_RECEIVED || synUnacked;
        boolean userTimedOut = tcb.userTimeoutNanos > 0 && !handshake && now - tcb.lastProgress >= tcb.userTimeoutNanos;
        if (userTimedOut || tcb.retries > (handshake ? Handshake.MAX_SYN_RETRIES : MAX_DATA_RETRIES)) {
            // A soft ICMP error seen meanwhile names the likely cause (as Linux reports sk_err_soft).
            String why = tcb.softError != null ? " (last ICMP error: " + tcb.softError + ")" : "";
            IOException e = tcb.state == TcpState.SYN_SENT
                    ? new ConnectException("Connection timed out: " + c.remoteAddress() + why)
                    : new IOException("Connection timed out" + why);
            if (tcb.state.isSynchronized()) {
                c.out.sendControl(tcb.sndMax, 0, Tcp.RST);
            }
            c.destroy(e);
            return;
        }
        tcb.rtt.backOff(); // RFC 6298 §5.5: back off
        tcb.rtt.stopTiming(); // Karn
        if (handshake) {
            tcb.retransmits++; // the connection's own total counts its SYN too (StackStats counts data only)
            c.handshake.sendSyn(tcb.state != TcpState.SYN_SENT);
            c.timers.armRtx(now);
            return;
        }
        // RFC 5681 §3.1 (4): after a timeout, ssthresh = max(FlightSize/2, 2*SMSS), cwnd = 1 SMSS.
        int flight = tcb.sndMax - tcb.sndUna;
        tcb.ssthresh = tcb.cc().onLoss(tcb.cwnd, flight, tcb.mss, tcb.now);
        tcb.cwnd = tcb.mss;
        tcb.inRecovery = false;
        tcb.recover = tcb.sndMax;
        tcb.dupAcks = 0;
        tcb.sndNxt = tcb.sndUna; // go back N: resend from the first unacknowledged byte
        tcb.scoreboard.clear(); // RFC 2018 §8: the receiver may have reneged
        tcb.rack.onRetransmitTimeout();
        c.timers.cancel(REORDER);
        env.stats().tcpRetransmits++;
        tcb.retransmits++;
        c.sender.output();
        c.timers.armRtx(now);
    }

    /** One RTT sample for the RTO (RFC 6298) and for RACK (RFC 8985 §6.2). */
    void sampleRtt(long r) {
        Tcb tcb = c.tcb;
        tcb.rack.onRttSample(Math.max(1, r));
        tcb.rtt.sample(r);
    }
}
