package io.usertcp.tcp;

import io.netty.buffer.ByteBuf;
import io.usertcp.wire.Tcp;
import io.usertcp.wire.TcpOptions;

import static io.usertcp.tcp.Tcb.seqLt;
import static io.usertcp.tcp.Tcb.seqLe;
import static io.usertcp.tcp.Tcb.seqGt;
import static io.usertcp.tcp.Tcb.inWindow;
import static io.usertcp.tcp.ConnectionTimers.CLOSE;
import static io.usertcp.tcp.ConnectionTimers.PERSIST;

/**
 * Segment arrival for a synchronized connection (RFC 9293 §3.10.7.4), in the RFC's order: PAWS (RFC 7323 §5), the
 * sequence number acceptability test, RST and SYN (with RFC 5961's challenge ACKs), the ACK (window update, SACK
 * blocks, then {@link Sender} and {@link LossRecovery}), the URG bit, segment text (in order into the receive queue,
 * out of order into the reassembly queue) and FIN. Also the ACKs the receiving side owes: delayed, immediate,
 * out-of-window (rate-limited) and challenge ACKs.
 */
final class Receiver {
    /** Least time between ACKs for out-of-window pure segments (Linux's net.ipv4.tcp_invalid_ratelimit). */
    static final long OOW_ACK_INTERVAL_NANOS = 500_000_000L;
    /** Challenge ACKs per second and connection (RFC 5961 §7). */
    static final int CHALLENGE_ACKS_PER_SECOND = 10;

    /** The connection, the one field (its {@link Tcb} and environment are read through it: 8 bytes less each). */
    private final TcpConnection c;

    Receiver(TcpConnection c) {
        this.c = c;
    }

    /** The states in which urgent pointers are processed (those that still take text, §3.10.7.4 sixth). */
    private boolean takesUrgent() {
        Tcb tcb = c.tcb;
        return tcb.state == TcpState.ESTABLISHED || tcb.state == TcpState.FIN_WAIT_1
                || tcb.state == TcpState.FIN_WAIT_2;
    }

    /**
     * RCV.UP <- max(RCV.UP, SEG.SEQ + SEG.UP) (RFC 9293 §3.10.7.4 sixth; the pointer names the octet after the
     * urgent data, §3.8.5 and RFC 6093), and the owner is told whenever it advances beyond the data read
     * (MUST-32); a sequence of urgent data of any length is kept (MUST-31). A zero pointer marks nothing.
     */
    private void urgentPointer(int seq, int up) {
        Tcb tcb = c.tcb;
        if (up == 0) {
            return;
        }
        long at = tcb.rcvNxtOffset + ((seq + up) - tcb.rcvNxt);
        if (at > tcb.rcvUpOffset) {
            tcb.rcvUpOffset = at;
            if (c.urgentBytes() > 0) {
                c.signal(TcpSocket.EV_URGENT);
            }
        }
    }

    /**
     * Processes one segment for this connection. {@code frame} is not retained beyond the call except as
     * slices of its payload.
     */
    void segmentArrives(ByteBuf frame, int o, int seq, int ack, int flags, int window, int dataOff, int dataLen,
                        TcpOptions opts) {
        Tcb tcb = c.tcb;
        TcpEnv env = c.tcp.env;
        tcb.now = env.now(); // the one reading of the clock for this segment
        tcb.lastReceived = tcb.now;
        tcb.keepAliveSent = 0;
        if (tcb.state == TcpState.SYN_SENT) {
            c.handshake.synSentArrives(seq, ack, flags, window, opts);
            return;
        }
        boolean syn = (flags & Tcp.SYN) != 0;
        boolean fin = (flags & Tcp.FIN) != 0;
        boolean rst = (flags & Tcp.RST) != 0;

        // A retransmitted SYN while we are in SYN-RECEIVED: our SYN-ACK was lost; send it again.
        if (tcb.state == TcpState.SYN_RECEIVED && syn && !rst && (flags & Tcp.ACK) == 0 && seq == tcb.irs) {
            c.handshake.sendSyn(true);
            return;
        }

        // RFC 7323 §5.3 PAWS: a segment whose TSval is older than TS.Recent is an old duplicate (R1), unless
        // TS.Recent has not been refreshed for 24 days (§5.5); RSTs are exempt (§5.2).
        boolean takesTsVal = false;
        if (tcb.tsOk && opts.hasTimestamp() && !rst) {
            if (seqLt(opts.tsVal(), tcb.tsRecent) && tcb.now - tcb.tsRecentAge <= 24L * 86_400 * 1_000_000_000L) {
                env.stats().dropTcpUnacceptable++;
                sendOutOfWindowAck(dataLen + ((flags & (Tcp.SYN | Tcp.FIN)) != 0 ? 1 : 0));
                return;
            }
            // §4.3, R3: the TSval of a segment that covers Last.ACK.sent becomes TS.Recent, but only once the
            // segment has passed the sequence (R2) and ACK checks below: a blind segment that is then dropped
            // must not move it (issue #10).
            takesTsVal = seqLe(seq, tcb.lastAckSent);
        }

        // First: sequence number acceptability (§3.10.7.4, the four cases).
        int segLen = dataLen + (syn ? 1 : 0) + (fin ? 1 : 0);
        int rcvWnd = Math.max(0, tcb.rcvAdvEdge - tcb.rcvNxt);
        boolean acceptable;
        if (segLen == 0) {
            acceptable = rcvWnd == 0 ? seq == tcb.rcvNxt : inWindow(seq, tcb.rcvNxt, rcvWnd);
        } else {
            acceptable = rcvWnd != 0
                    && (inWindow(seq, tcb.rcvNxt, rcvWnd) || inWindow(seq + segLen - 1, tcb.rcvNxt, rcvWnd));
        }
        if (!acceptable) {
            // Zero-window probes and old duplicates land here: answer with an ACK (MUST-?: RFC 9293 says
            // send an acknowledgment unless RST is set).
            if (!rst) {
                if (tcb.state == TcpState.TIME_WAIT && fin) {
                    c.timers.armTimeWait(tcb.now);
                }
                if (rcvWnd == 0 && seq == tcb.rcvNxt && (flags & Tcp.URG) != 0 && takesUrgent()) {
                    // MUST-66: the URG field is processed even with a zero window (a probe that carries it).
                    urgentPointer(seq, frame.getUnsignedShort(o + 18));
                }
                // A segment at RCV.NXT-1 is a keep-alive or window probe (§3.8.4, §3.8.6.1): it asks for exactly
                // this ACK, so it is always answered.
                sendOutOfWindowAck(seq == tcb.rcvNxt - 1 ? 1 : segLen);
            }
            env.stats().dropTcpUnacceptable++;
            return;
        }

        // Second: RST (§3.10.7.4 with RFC 5961 §3.2: only an exact match resets; others get a challenge ACK).
        if (rst) {
            if (seq == tcb.rcvNxt) {
                env.stats().tcpResetsIn++;
                if (tcb.state == TcpState.SYN_RECEIVED && c.listener != null) {
                    c.destroy(null); // back to LISTEN: the listener never saw this connection
                } else if (tcb.state == TcpState.TIME_WAIT || tcb.state == TcpState.CLOSING
                        || tcb.state == TcpState.LAST_ACK) {
                    c.destroy(null);
                } else {
                    c.destroy(PeerErrors.reset());
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
        if (tcb.state == TcpState.SYN_RECEIVED && !c.handshake.synReceivedAck(seq, ack, window)) {
            return;
        }
        if (!processAck(seq, ack, window, dataLen, flags, opts)) {
            return;
        }
        if (tcb.state == TcpState.CLOSED) {
            return;
        }
        if (takesTsVal) {
            tcb.tsRecent = opts.tsVal();
            tcb.tsRecentAge = tcb.now;
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
            switch (tcb.state) {
                case ESTABLISHED:
                case FIN_WAIT_1:
                case FIN_WAIT_2:
                    if (seqLt(s, tcb.rcvNxt)) { // overlap with what we have: trim the left edge
                        int skip = tcb.rcvNxt - s;
                        off += skip;
                        len -= skip;
                        s = tcb.rcvNxt;
                    }
                    if (s != tcb.rcvNxt) {
                        // Out of order: hold what fits in the window for later (§3.10.7.4) and send an
                        // immediate duplicate ACK (RFC 5681 §4.2) so the sender learns of the hole.
                        int fits = Math.min(len, Math.max(0, tcb.rcvAdvEdge - s));
                        long at = tcb.rcvNxtOffset + (s - tcb.rcvNxt);
                        if (fits > 0) {
                            tcb.lastOooOffset = at;
                        }
                        // Held data is charged at the memory it pins, within SO_RCVBUF (issue #10).
                        tcb.reassembly.memoryLimit(tcb.receiveBufferSize);
                        if (fits > 0 && !tcb.reassembly.insert(at, frame, off, fits)) {
                            env.stats().tcpOutOfOrderDropped++;
                        } else if (fin && fits == len) {
                            tcb.oooFinOffset = at + len;
                        }
                        c.out.sendAck();
                        return;
                    }
                    int room = Math.max(0, tcb.rcvAdvEdge - tcb.rcvNxt);
                    if (len > room) {
                        len = room;
                        fin = false; // the FIN lies beyond what we take
                    }
                    if (len > 0 && !tcb.inputShutdown && !tcb.receiveQueue.admits(len)) {
                        // The stack's memory budget is used up: not taken, not acknowledged; the peer
                        // retransmits it later (as Linux under tcp_mem pressure) (issue #10).
                        env.stats().dropTcpMemory++;
                        c.out.sendAck();
                        return;
                    }
                    if (len > 0) {
                        if (!tcb.inputShutdown) {
                            tcb.receiveQueue.append(frame, off, len);
                            c.signal(TcpSocket.EV_READABLE);
                        }
                        tcb.rcvNxt += len;
                        tcb.rcvNxtOffset += len;
                        if (tcb.rcvNxt - tcb.lastAckSent >= 2 * tcb.mss) {
                            c.out.sendAck(); // RFC 9293 §3.8.6.3 / RFC 5681 §4.2: every second full-sized segment
                        } else {
                            ackLater(); // the rest are acknowledged once the batch of input is processed
                        }
                        if (!tcb.reassembly.isEmpty()) {
                            // A hole was filled: take what now follows in order, and ACK at once (§4.2).
                            long more = tcb.reassembly.pull(tcb.rcvNxtOffset,
                                    tcb.inputShutdown ? null : tcb.receiveQueue);
                            tcb.rcvNxt += (int) more;
                            tcb.rcvNxtOffset += more;
                            if (tcb.oooFinOffset >= 0 && tcb.oooFinOffset == tcb.rcvNxtOffset) {
                                tcb.oooFinOffset = -1;
                                onFin();
                                return;
                            }
                            c.out.sendAck();
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
        if (fin && seq + dataLen == tcb.rcvNxt) {
            onFin();
        }
    }

    /** Returns false when the segment must be dropped after the ACK step. */
    private boolean processAck(int seq, int ack, int window, int dataLen, int flags, TcpOptions opts) {
        Tcb tcb = c.tcb;
        TcpEnv env = c.tcp.env;
        int wnd = window << tcb.sndWscale;
        int segLen = dataLen + ((flags & (Tcp.SYN | Tcp.FIN)) != 0 ? 1 : 0);
        if (seqGt(ack, tcb.sndMax)) {
            // Acknowledges something not yet sent: ACK and drop (§3.10.7.4).
            sendOutOfWindowAck(segLen);
            return false;
        }
        if (seqLt(ack, tcb.sndUna - Math.max(tcb.maxSndWnd, 1))) {
            // RFC 5961 §5.2: far too old an ACK.
            sendOutOfWindowAck(segLen);
            return false;
        }
        tcb.unansweredProbes = 0; // the peer is there (a zero-window probe's answer lands here)
        boolean windowUpdate = false;
        if (seqLt(tcb.sndWl1, seq) || (tcb.sndWl1 == seq && seqLe(tcb.sndWl2, ack))) {
            windowUpdate = wnd != tcb.sndWnd;
            tcb.sndWnd = wnd;
            tcb.sndWl1 = seq;
            tcb.sndWl2 = ack;
            if (tcb.sndWnd > tcb.maxSndWnd) {
                tcb.maxSndWnd = tcb.sndWnd;
            }
        }
        long now = tcb.now;
        int sack = tcb.sackOk && opts.sackCount() > 0 ? c.recovery.onSackBlocks(ack, opts) : 0;
        boolean newSack = (sack & LossRecovery.NEW_SACK) != 0;
        boolean dsack = (sack & LossRecovery.DSACK) != 0;
        if (newSack && !seqGt(ack, tcb.sndUna)) {
            c.recovery.armProbe(now);
        }
        if (seqGt(ack, tcb.sndUna)) {
            long samplesBefore = tcb.rtt.samples();
            c.sender.newAck(ack, now);
            if (tcb.rtt.samples() == samplesBefore && tcb.tsOk && opts.hasTimestamp() && opts.tsEcr() != 0) {
                // RFC 7323 §4 (RTTM): an ACK that advances SND.UNA echoes the TSval of the segment it answers,
                // retransmitted or not, so it measures the RTT even where Karn's rule forbids timing. Our TS clock
                // ticks in milliseconds: a sample is at least one tick.
                int ms = c.out.tsNow() - opts.tsEcr();
                if (ms >= 0 && ms < 600_000) {
                    c.recovery.sampleRtt(Math.max(1, ms) * 1_000_000L);
                }
            }
        } else if (ack == tcb.sndUna && dataLen == 0 && (flags & (Tcp.SYN | Tcp.FIN)) == 0 && tcb.sndMax != tcb.sndUna
                && (!windowUpdate || newSack) && tcb.sndWnd > 0 && (!dsack || newSack)) {
            // RFC 5681 §2 duplicate ACK (no data, no SYN/FIN, window unchanged, data outstanding); with SACK,
            // an ACK that SACKs new data counts too (RFC 6675 §2). Answers to zero-window probes do not: the
            // peer can take nothing, so nothing may be retransmitted. Nor do ACKs that only report a duplicate
            // (D-SACK, RFC 2883): they answer our own spurious retransmission.
            c.recovery.onDupAck();
        }
        if (tcb.sackOk) {
            tcb.rack.onAck(tcb.sndUna, tcb.scoreboard, now, env.stats()); // RFC 8985 §6.2 steps 1-3
            if (tcb.sndMax != tcb.sndUna) {
                c.recovery.rackDetectLoss(dsack, now);
            }
        }
        if (tcb.sndWnd > 0) {
            tcb.persistBackoff = 0;
            c.timers.cancel(PERSIST);
        }
        // FIN acknowledged?
        if (tcb.finQueued && tcb.sndUna == tcb.finSeq() + 1) {
            switch (tcb.state) {
                case FIN_WAIT_1:
                    c.setState(TcpState.FIN_WAIT_2);
                    if (tcb.orphaned) {
                        c.timers.armFinWait2(tcb.now);
                    }
                    break;
                case CLOSING:
                    enterTimeWait();
                    return true;
                case LAST_ACK:
                    c.destroy(null);
                    return false;
                default:
                    break;
            }
        }
        if (tcb.state == TcpState.TIME_WAIT) {
            return true;
        }
        if (tcb.inRecovery && tcb.sackOk) {
            c.recovery.sackRecoveryOutput();
        } else {
            c.sender.output();
        }
        return true;
    }

    private void onFin() {
        Tcb tcb = c.tcb;
        tcb.finReceived = true;
        tcb.rcvNxt++;
        ackLater();
        c.signal(TcpSocket.EV_READABLE | TcpSocket.EV_INPUT_CLOSED);
        switch (tcb.state) {
            case SYN_RECEIVED:
            case ESTABLISHED:
                c.setState(TcpState.CLOSE_WAIT);
                break;
            case FIN_WAIT_1:
                if (tcb.sndUna == tcb.finSeq() + 1) {
                    enterTimeWait();
                } else {
                    c.setState(TcpState.CLOSING);
                }
                break;
            case FIN_WAIT_2:
                c.timers.cancel(CLOSE);
                enterTimeWait();
                break;
            case TIME_WAIT:
                c.timers.armTimeWait(tcb.now);
                break;
            default:
                break;
        }
    }

    /** Enters TIME-WAIT (RFC 9293 §3.10.7.4 eighth): only the close timer keeps running, the buffers go. */
    void enterTimeWait() {
        Tcb tcb = c.tcb;
        TcpEnv env = c.tcp.env;
        c.uncountOrphan();
        if (c.tcp.timeWaits >= c.tcp.maxTimeWait) {
            // Linux's "time wait bucket table overflow": closed without TIME-WAIT rather than grow without bound.
            env.stats().tcpTimeWaitOverflows++;
            flushAck(); // the ACK of the peer's FIN still goes out
            c.destroy(null);
            return;
        }
        c.tcp.timeWaits++;
        c.setState(TcpState.TIME_WAIT);
        c.timers.cancelAllButClose();
        tcb.rack.clear();
        tcb.sendBuffer.releaseAll(); // all acknowledged; unread received data stays for the application
        tcb.reassembly.clear();
        c.timers.armTimeWait(tcb.now);
        if (tcb.orphaned) {
            c.releaseLater(); // closed by its application: a compact record takes over after this batch
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
        Tcb tcb = c.tcb;
        TcpEnv env = c.tcp.env;
        if (segLen == 0) {
            long now = tcb.now;
            if (tcb.oowAckSent && now - tcb.lastOowAck < OOW_ACK_INTERVAL_NANOS) {
                env.stats().tcpOutOfWindowAcksLimited++;
                return;
            }
            tcb.oowAckSent = true;
            tcb.lastOowAck = now;
        }
        c.out.sendAck();
    }

    /**
     * RFC 5961 §7: challenge ACKs are rate-limited (here at most 10 per second per connection), so that
     * spoofed segments cannot turn the stack into an ACK amplifier.
     */
    private void challengeAck() {
        Tcb tcb = c.tcb;
        long now = tcb.now;
        if (now - tcb.challengeWindowStart > 1_000_000_000L) {
            tcb.challengeWindowStart = now;
            tcb.challengeAcks = 0;
        }
        if (tcb.challengeAcks < CHALLENGE_ACKS_PER_SECOND && c.tcp.mayChallengeAck()) {
            tcb.challengeAcks++;
            c.out.sendAck();
        }
    }

    /**
     * The application read from the receive queue: if the window we could advertise (the field is 16 bits,
     * scaled) grew enough, a window update is owed (RFC 9293 §3.8.6.2.2, receiver-side SWS avoidance); an update
     * that changes nothing would be a duplicate ACK to the peer (RFC 5681 §2).
     */
    void windowOpened() {
        Tcb tcb = c.tcb;
        if (tcb.state.isSynchronized()) {
            long advertisable = Math.min((long) tcb.receiveBufferSize - tcb.receiveQueue.size(),
                    65535L << tcb.rcvWscale);
            int cur = tcb.rcvAdvEdge - tcb.rcvNxt;
            if (advertisable - cur >= Math.min(tcb.receiveBufferSize / 2, 2 * tcb.mss)) {
                ackLater();
            }
        }
    }

    /** Marks that an ACK is owed; it is sent at the end of the input batch unless data carries it first. */
    void ackLater() {
        Tcb tcb = c.tcb;
        TcpEnv env = c.tcp.env;
        if (!tcb.ackPending) {
            tcb.ackPending = true;
            env.ackLater(c);
        }
    }

    /** Sends the owed ACK, if data did not carry it already. Called by the stack after each input batch. */
    void flushAck() {
        Tcb tcb = c.tcb;
        if (tcb.ackPending && tcb.state != TcpState.CLOSED) {
            if (tcb.state.isSynchronized() || tcb.state == TcpState.SYN_RECEIVED) {
                c.out.sendAck();
            }
        }
        tcb.ackPending = false;
    }
}
