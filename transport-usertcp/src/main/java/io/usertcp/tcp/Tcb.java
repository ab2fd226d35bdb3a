package io.usertcp.tcp;

import io.netty.buffer.ByteBufAllocator;
import io.usertcp.stats.MemoryBudget;

/**
 * The transmission control block of one connection (RFC 9293 §3.3.1): the variables that the connection's
 * parts ({@link Handshake}, {@link Receiver}, {@link Sender}, {@link LossRecovery}, {@link SegmentWriter}, the
 * timers) share, named after the RFC where it names them (SND.UNA is {@code sndUna}, RCV.NXT {@code rcvNxt},
 * TS.Recent {@code tsRecent}), and the connection's queues. Plain package-private fields: only the stack's thread
 * touches them.
 *
 * <p>Sequence numbers are ints compared by the sign of their difference (RFC 1982 serial arithmetic, as RFC 9293
 * §3.4 requires): {@link #seqLt} and friends.
 */
final class Tcb {
    /**
     * The time of the event being processed (nanoseconds): the clock is read once per segment, timer expiry or
     * application call, at the connection's entry points, and every part takes it from here.
     */
    long now;
    TcpState state = TcpState.CLOSED;
    Throwable error;                // why the connection ended abnormally, or null

    // Send sequence space (RFC 9293 §3.3.1).
    int iss;                // ISS
    int sndUna;             // SND.UNA
    int sndNxt;             // SND.NXT
    int sndMax;             // highest sequence number sent + 1 (SND.NXT before a go-back-N)
    int sndWnd;             // SND.WND (scaled)
    int sndWl1;             // SND.WL1
    int sndWl2;             // SND.WL2
    int maxSndWnd;          // the largest SND.WND seen
    byte sndWscale;         // Snd.Wind.Shift (RFC 7323 §2.3), 0-14
    int sndBufSeq;          // sequence number of sendBuffer byte 0
    final SendBuffer sendBuffer;
    int sendBufferLimit;
    boolean finQueued;      // the application is done sending: FIN follows the buffer
    boolean sendBlocked;    // a write found the buffer full: tell WRITABLE when it drains
    int mss;                // effective send MSS

    // Receive sequence space.
    int irs;                // IRS
    int rcvNxt;             // RCV.NXT
    byte rcvWscale;         // Rcv.Wind.Shift (RFC 7323 §2.3), 0-14
    boolean windowScaleOk;  // both SYNs carried the window scale option
    boolean sackOk;         // both SYNs carried SACK-permitted (RFC 2018)
    boolean tsOk;           // both SYNs carried timestamps (RFC 7323 §3)
    int tsOffset;           // per-connection random offset of our TSval clock (RFC 7323 §5.4)
    int tsRecent;           // TS.Recent (§4.3)
    long tsRecentAge;       // when TS.Recent was set, for the 24-day invalidation of §5.5
    int lastAckSent;        // Last.ACK.sent (§4.3)
    long lastOooOffset = -1; // stream offset of the latest out-of-order segment: its block goes first
    final SackScoreboard scoreboard = new SackScoreboard();
    final RackState rack;   // RACK loss detection for SACK connections (RFC 8985)
    int rcvAdvEdge;         // RCV.NXT + RCV.WND as last advertised: never moved left
    final ReceiveQueue receiveQueue;
    final ReassemblyQueue reassembly;
    long rcvNxtOffset;      // stream offset of RCV.NXT (bytes received in order so far)
    long rcvUpOffset;       // stream offset of RCV.UP, the octet after the peer's urgent data (0: none)
    long oooFinOffset = -1; // stream offset of a FIN that arrived out of order
    int receiveBufferSize;
    boolean finReceived;
    boolean inputShutdown;
    boolean ackPending;
    boolean orphaned;       // the application closed; the connection finishes on its own
    boolean countedOrphan;  // counted in TcpLayer.orphans (until TIME-WAIT or CLOSED)

    // Congestion control (RFC 5681, RFC 6582).
    int cwnd;

    // RFC 7661 §4 (as Linux's tcp_cwnd_validate): cwnd grows only while the sender uses it.
    int maxFlight;          // the largest flight of the current window
    int cwndUsageSeq;       // the window ends when SND.UNA passes this
    boolean cwndLimited;    // the flight filled cwnd in that window
    int ssthresh = Integer.MAX_VALUE;
    CongestionControl cc;   // null: CUBIC, made by cc() when first needed (after a loss: an idle connection holds none)
    int dupAcks;
    boolean inRecovery;
    int recover;
    final RttEstimator rtt;         // RFC 6298
    int retries;
    int probes;             // tail loss probes since the last forward progress
    long challengeWindowStart;
    int challengeAcks;
    boolean noDelay = true;
    long keepAliveIdleNanos;  // 0: keepalive off (RFC 9293 §3.8.4: off by default)
    long keepAliveIntervalNanos = 75_000_000_000L;
    int keepAliveCount = 9;
    int keepAliveSent;
    long lastReceived;
    long userTimeoutNanos;    // 0: the retry limits alone decide (RFC 5482 user timeout)
    long lastProgress;        // when SND.UNA last advanced (or data was first sent)
    long lastSend;            // when new data was last sent (restart after idle)
    int mssClamp;             // TCP_MAXSEG: 0 for none
    long timeWaitNanos = -1;  // -1: the stack's default
    int persistBackoff;     // zero-window probes since the window closed
    int unansweredProbes;   // zero-window probes since the peer last sent an acceptable ACK
    String softError;
    long lastReachableConfirm = Long.MIN_VALUE / 2; // last upper-layer confirmation to NDP
    byte tos;               // IP_TOS / traffic class of every segment (RFC 9293 MUST-48), 0-255 as a byte
    boolean oowAckSent;     // an ACK answered an out-of-window pure segment at lastOowAck
    long lastOowAck;
    // For the connection table only (ConnectionInfo): lifetime totals, one add each where they happen.
    long retransmits;       // segments retransmitted (every cause)
    long bytesAcked;        // data bytes the peer acknowledged

    Tcb(ByteBufAllocator alloc, MemoryBudget memory, long minRtoNanos, RackFlightPool rackFlights) {
        this.rack = new RackState(rackFlights);
        this.sendBuffer = new SendBuffer(alloc, memory);
        this.receiveQueue = new ReceiveQueue(alloc, memory);
        this.reassembly = new ReassemblyQueue(alloc, memory);
        this.rtt = new RttEstimator(minRtoNanos);
    }

    /** The congestion control: {@link #cc} once chosen or first needed, CUBIC by default. */
    CongestionControl cc() {
        CongestionControl c = cc;
        if (c == null) {
            c = cc = new CongestionControl.Cubic();
        }
        return c;
    }

    /** Whether the application may still queue data (states before its CLOSE, RFC 9293 §3.10.2). */
    boolean canSend() {
        return state == TcpState.ESTABLISHED || state == TcpState.CLOSE_WAIT || state == TcpState.SYN_RECEIVED
                || state == TcpState.SYN_SENT;
    }

    /** The sequence number of our FIN (valid once {@link #finQueued}): right after the last byte queued. */
    int finSeq() {
        return sndBufSeq + sendBuffer.size();
    }

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

    /** Whether {@code start <= seq < start + len} in sequence space. */
    static boolean inWindow(int seq, int start, int len) {
        return seqLe(start, seq) && seqLt(seq, start + len);
    }
}
