package io.usertcp.tcp;

import io.usertcp.wire.Tcp;

import java.io.IOException;

import static io.usertcp.tcp.Tcb.seqLt;
import static io.usertcp.tcp.Tcb.seqGt;
import static io.usertcp.tcp.ConnectionTimers.PROBE;
import static io.usertcp.tcp.ConnectionTimers.REORDER;
import static io.usertcp.tcp.ConnectionTimers.RTX;

/**
 * Sending new data (RFC 9293 §3.8.6, RFC 5681): the usable window (the lesser of SND.WND and cwnd), sender-side SWS
 * avoidance, Nagle's algorithm (RFC 896), segments sized for TSO, the FIN after the data, cwnd growth on new
 * acknowledgments (slow start with ABC, RFC 3465; congestion avoidance by {@link CongestionControl}; RFC 7661
 * validation), restart after idle, and zero-window probing (the persist timer, §3.8.6.1).
 */
final class Sender {
    /** At most one neighbour reachability confirmation per second per connection (RFC 4861 §7.3.1). */
    private static final long REACHABLE_CONFIRM_NANOS = 1_000_000_000L;

    /** The largest cwnd ever allowed: 1 GiB, the largest window scaling can advertise (RFC 7323 §2.3). */
    static final int CWND_CLAMP = 1 << 30;

    /** Zero-window probes a connection whose application closed it sends before it gives up (Linux: 8). */
    static final int MAX_ORPHAN_PROBES = 8;

    /** The connection, the one field (its {@link Tcb} and environment are read through it: 8 bytes less each). */
    private final TcpConnection c;

    Sender(TcpConnection c) {
        this.c = c;
    }

    /**
     * An ACK acknowledged new data, up to {@code ack} (RFC 9293 §3.10.7.4 fifth: SND.UNA advances): frees what
     * the send buffer held, takes the RTT sample, grows cwnd (or lets recovery decide), and restarts the
     * retransmission timer or stops it when all is acknowledged (RFC 6298 §5.2, §5.3).
     */
    void newAck(int ack, long now) {
        Tcb tcb = c.tcb;
        TcpEnv env = c.tcp.env;
        int acked = ack - tcb.sndUna;
        int flight = tcb.sndMax - tcb.sndUna;
        if (tcb.sndUna == tcb.iss) {
            acked--; // the SYN
        }
        int data = Math.min(Math.max(acked, 0), tcb.sendBuffer.size());
        if (data > 0) {
            tcb.sendBuffer.discard(data);
            tcb.sndBufSeq += data;
            tcb.bytesAcked += data;
        }
        tcb.sndUna = ack;
        if (seqLt(tcb.sndNxt, tcb.sndUna)) {
            tcb.sndNxt = tcb.sndUna;
        }
        tcb.scoreboard.advance(tcb.sndUna);
        // RTT sample (RFC 6298 §3, Karn: never from a retransmitted segment; timing is cancelled then).
        if (tcb.rtt.ackCoversTimed(ack)) {
            c.recovery.sampleRtt(now - tcb.rtt.timingStart);
        }
        tcb.retries = 0;
        if (c.ipHeaderLength() == 40 && now - tcb.lastReachableConfirm > REACHABLE_CONFIRM_NANOS) {
            // RFC 4861 §7.3.1: new data acknowledged proves the path (and its first hop) works.
            tcb.lastReachableConfirm = now;
            env.confirmReachable(c.route.remote());
        }
        // Forward progress ends the backoff (as FreeBSD and lwIP do): without timestamps, Karn's rule can
        // leave no valid sample for a long time on a lossy path, and a 60 s RTO would starve recovery.
        tcb.rtt.resetBackoff();
        // Congestion control.
        if (tcb.inRecovery) {
            c.recovery.onAckInRecovery(ack, acked);
        } else if (!isCwndLimited()) {
            // RFC 7661 §4.3: an application-limited sender has not shown that the network takes a larger window.
        } else if (tcb.cwnd < tcb.ssthresh) {
            // Slow start, with ABC's L = 2*SMSS (RFC 3465).
            tcb.cwnd = Math.min(tcb.cwnd + Math.min(acked, 2 * tcb.mss), CWND_CLAMP);
        } else {
            tcb.cwnd = Math.min(tcb.cc().onAckInAvoidance(tcb.cwnd, acked, tcb.mss, now, tcb.rtt.srtt()), CWND_CLAMP);
        }
        tcb.dupAcks = 0;
        tcb.probes = 0;
        tcb.lastProgress = now;
        // RFC 6298 §5.2/5.3: stop the timer when all is acknowledged, else restart it.
        if (tcb.sndUna == tcb.sndMax) {
            c.timers.cancel(RTX);
            c.timers.cancel(PROBE);
            c.timers.cancel(REORDER);
        } else {
            c.timers.armRtx(now);
            c.recovery.armProbe(now);
        }
        if (tcb.sendBlocked && c.writableBytes() > 0) {
            tcb.sendBlocked = false;
            c.signal(TcpSocket.EV_WRITABLE);
        }
        if (flight > 0 && tcb.sendBuffer.size() == 0 && !tcb.finQueued) {
            c.signal(TcpSocket.EV_WRITABLE);
        }
    }

    /**
     * Sends new data and the FIN as the send window (min of SND.WND and cwnd) allows, avoiding silly
     * windows on the sender side (RFC 9293 §3.8.6.2.1).
     */
    void output() {
        Tcb tcb = c.tcb;
        switch (tcb.state) {
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
        boolean idleBefore = tcb.sndUna == tcb.sndMax;
        if (idleBefore && tcb.lastSend != 0 && tcb.now - tcb.lastSend > tcb.rtt.currentRto()) {
            // RFC 5681 §4.1 restart after idle: the path may have changed; start again from the
            // restart window rather than burst a stale cwnd.
            tcb.cwnd = Math.min(tcb.cwnd, c.handshake.initialCwnd());
        }
        int smss = tcb.mss - c.out.sackOptionLength(); // options come out of the MSS (RFC 9293 §3.7.1)
        int segmentMax = c.route.maxSegmentPayload(smss, Tcp.MIN_HEADER_LENGTH + tcb.mss - smss);
        if (segmentMax > smss) {
            // Keep at least four super-segments per window, so that losing one still leaves later ones to
            // be SACKed (fast recovery) instead of a tail loss that only the retransmission timer repairs.
            int quarter = tcb.cwnd / 4;
            segmentMax = Math.max(smss, Math.min(segmentMax, quarter - quarter % smss));
        }
        for (;;) {
            if (!tcb.scoreboard.isEmpty() && seqLt(tcb.sndNxt, tcb.sndMax)) {
                tcb.sndNxt = tcb.scoreboard.skipSacked(tcb.sndNxt); // resending after a timeout: skip what was SACKed
            }
            // Unsent bytes (negative once FIN is out).
            int queued = tcb.sendBuffer.size() - (tcb.sndNxt - tcb.sndBufSeq);
            boolean finDue = tcb.finQueued && tcb.sndNxt == tcb.finSeq();
            if (queued <= 0 && !finDue) {
                break;
            }
            int inflight = tcb.sndNxt - tcb.sndUna;
            int usable = Math.min(tcb.sndWnd, tcb.cwnd) - inflight;
            int len = Math.min(Math.max(queued, 0), Math.min(segmentMax, Math.max(usable, 0)));
            if (!tcb.scoreboard.isEmpty() && seqLt(tcb.sndNxt, tcb.sndMax)) {
                len = Math.min(len, tcb.scoreboard.holeEnd(tcb.sndNxt, tcb.sndMax) - tcb.sndNxt);
            }
            if (queued > 0 && len == 0) {
                if (tcb.sndWnd == 0 && inflight == 0) {
                    c.timers.armPersist(tcb.now);
                }
                break;
            }
            if (queued > 0 && len < smss && len < queued && inflight > 0 && len < tcb.maxSndWnd / 2) {
                break; // sender SWS avoidance: wait for the ACK that opens a useful window
            }
            if (!tcb.noDelay && queued > 0 && len < smss && inflight > 0) {
                break; // Nagle (RFC 9293 §3.7.4, RFC 896): one small segment in flight at a time
            }
            boolean fin = tcb.finQueued && len == queued;
            int flags = Tcp.ACK | (fin ? Tcp.FIN : 0) | (len > 0 && len == queued ? Tcp.PSH : 0);
            c.out.sendData(tcb.sndNxt, len, flags);
            if (!tcb.rtt.isTiming() && len > 0 && tcb.sndNxt == tcb.sndMax) {
                tcb.rtt.startTiming(tcb.sndNxt, tcb.now);
            }
            tcb.sndNxt += len + (fin ? 1 : 0);
            if (seqGt(tcb.sndNxt, tcb.sndMax)) {
                tcb.sndMax = tcb.sndNxt;
            }
            sent = true;
            if (fin) {
                break;
            }
        }
        boolean filled = tcb.sndNxt - tcb.sndUna + smss > tcb.cwnd;
        if (sent || filled) {
            validateCwnd(filled);
        }
        if (sent) {
            tcb.lastSend = tcb.now;
        }
        if (sent && idleBefore) {
            tcb.lastProgress = tcb.now; // the clock of the user timeout starts with the first unacked byte
        }
        if (sent && !c.timers.isArmed(RTX)) {
            c.timers.armRtx(tcb.now);
        }
        if (sent && !c.timers.isArmed(PROBE)) {
            c.recovery.armProbe(tcb.now);
        }
    }

    /** See {@link TcpConnection#pathMtuReduced}: the MSS follows the path MTU down; too large segments go again. */
    boolean pathMtuReduced(int mtu) {
        Tcb tcb = c.tcb;
        TcpEnv env = c.tcp.env;
        int newMss = Math.max(Handshake.MIN_MSS, mtu - c.ipHeaderLength() - Tcp.MIN_HEADER_LENGTH);
        if (tcb.mssClamp > 0) {
            newMss = Math.min(newMss, tcb.mssClamp);
        }
        if (newMss >= tcb.mss || tcb.state == TcpState.CLOSED) {
            return false;
        }
        tcb.mss = newMss;
        env.stats().tcpPathMtuReductions++;
        if (tcb.state.isSynchronized() && seqLt(tcb.sndUna, tcb.sndMax)) {
            tcb.sndNxt = tcb.sndUna;
            tcb.rtt.stopTiming(); // Karn: what is resent gives no RTT sample
            env.stats().tcpRetransmits++;
            tcb.retransmits++;
            output();
        }
        return true;
    }

    /**
     * RFC 7661 §4.1, in Linux's form (tcp_cwnd_validate): after sending, note whether the flight filled cwnd
     * ({@code filled}) and the largest flight; the record covers one window of data (until SND.UNA passes what
     * was sent when it began) or is renewed sooner by a fuller flight.
     */
    private void validateCwnd(boolean filled) {
        Tcb tcb = c.tcb;
        int flight = tcb.sndNxt - tcb.sndUna;
        if (!seqLt(tcb.sndUna, tcb.cwndUsageSeq) || filled || (!tcb.cwndLimited && flight > tcb.maxFlight)) {
            tcb.cwndLimited = filled;
            tcb.maxFlight = flight;
            tcb.cwndUsageSeq = tcb.sndNxt;
        }
    }

    /**
     * Whether cwnd may grow (RFC 7661 §4.3): in slow start while the flight reached half of it (slow start
     * doubles the window each round trip, so a flight of half the window still tests it), in congestion
     * avoidance only if the flight filled it.
     */
    private boolean isCwndLimited() {
        Tcb tcb = c.tcb;
        return tcb.cwnd < tcb.ssthresh ? tcb.cwnd < 2 * tcb.maxFlight : tcb.cwndLimited;
    }

    /**
     * Sends one segment of new data (and the FIN after the last) if the peer's window takes it, ignoring
     * cwnd (the caller decided); returns the sequence space sent, 0 if none.
     */
    int sendNewData() {
        Tcb tcb = c.tcb;
        int queued = tcb.sendBuffer.size() - (tcb.sndNxt - tcb.sndBufSeq);
        int usable = tcb.sndWnd - (tcb.sndNxt - tcb.sndUna);
        if (queued <= 0 || usable <= 0 || tcb.sndNxt != tcb.sndMax) {
            return 0;
        }
        int len = Math.min(queued, Math.min(tcb.mss - c.out.sackOptionLength(), usable));
        boolean fin = tcb.finQueued && len == queued;
        c.out.sendData(tcb.sndNxt, len, Tcp.ACK | (fin ? Tcp.FIN : 0) | (len == queued ? Tcp.PSH : 0));
        tcb.sndNxt += len + (fin ? 1 : 0);
        tcb.sndMax = tcb.sndNxt;
        if (!c.timers.isArmed(RTX)) {
            c.timers.armRtx(tcb.now);
        }
        return len + (fin ? 1 : 0);
    }

    void onPersistTimeout(long now) {
        Tcb tcb = c.tcb;
        TcpEnv env = c.tcp.env;
        if (!tcb.state.isSynchronized() || tcb.sndWnd > 0) {
            return;
        }
        if (tcb.userTimeoutNanos > 0 && now - tcb.lastReceived >= tcb.userTimeoutNanos) {
            // RFC 5482 / Linux: a peer that answers no window probe for the user timeout is gone.
            c.out.sendControl(tcb.sndMax, 0, Tcp.RST);
            c.destroy(new IOException("Connection timed out (no answer to zero-window probes)"));
            return;
        }
        // MUST-37 keeps a connection open while the peer answers the probes; one that answers none of
        // MAX_DATA_RETRIES probes is gone (as the retransmission timer decides, and Linux's tcp_probe_timer), and a
        // connection the application closed stops after MAX_ORPHAN_PROBES (Linux's tcp_orphan_retries): neither
        // may pin its send buffer forever (issue #10).
        if (tcb.unansweredProbes >= LossRecovery.MAX_DATA_RETRIES
                || (tcb.orphaned && tcb.persistBackoff >= MAX_ORPHAN_PROBES)) {
            env.stats().tcpPersistAborts++;
            c.out.sendControl(tcb.sndMax, 0, Tcp.RST);
            env.stats().tcpResetsOut++;
            c.destroy(new IOException("Connection timed out (" + (tcb.orphaned
                    ? tcb.persistBackoff + " zero-window probes after close"
                    : tcb.unansweredProbes + " zero-window probes unanswered") + ")"));
            return;
        }
        // Zero-window probe (RFC 9293 §3.8.6.1): a segment the receiver must answer with its window.
        c.out.sendControl(tcb.sndUna - 1, tcb.rcvNxt, Tcp.ACK);
        tcb.persistBackoff++;
        tcb.unansweredProbes++;
        c.timers.armPersist(tcb.now);
    }
}
