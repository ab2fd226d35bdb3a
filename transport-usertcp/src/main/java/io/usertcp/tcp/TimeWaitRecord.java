package io.usertcp.tcp;

import io.usertcp.wire.IpAddress;
import io.usertcp.wire.TcpOptions;

import static io.usertcp.tcp.Tcb.seqGt;

/**
 * A connection in TIME-WAIT that its application has closed (RFC 9293 §3.6, §3.10.7.4), held in a
 * {@link TimeWaitTable} instead of the {@link TcpConnection} (about 150 bytes instead of 2 KB; Linux's
 * {@code inet_timewait_sock} plays the same part). It keeps only what TIME-WAIT's answers need: the four-tuple,
 * RCV.NXT and SND.NXT, the window it advertises and the peer's (for RFC 5961's ACK check), TS.Recent with its age
 * and the TSval clock's offset (RFC 7323, RFC 6191), the rate limits of its ACKs, and when it expires.
 *
 * <p>A record is linked into its table's hash table (by four-tuple) and into the FIFO of its length of TIME-WAIT
 * ({@link TimeWaitTable.Fifo}); it owns no timer. Only the stack's thread touches it, but for {@link #layer()}
 * (final fields only).
 */
final class TimeWaitRecord implements TcpFlow {
    final long localHi;
    final long localLo;
    final long remoteHi;
    final long remoteLo;
    /** Local port << 16 | remote port. */
    final int ports;
    final int hash;
    /** The FIFO of this record's length of TIME-WAIT (which also knows the table and the layer). */
    final TimeWaitTable.Fifo fifo;
    TimeWaitRecord hashNext;
    TimeWaitRecord prev;
    TimeWaitRecord next;
    /** When TIME-WAIT ends (the 2 MSL timeout, restarted by a retransmitted FIN). */
    long deadline;

    // RFC 9293 §3.3.1, as the connection left them.
    int rcvNxt;          // RCV.NXT
    int sndNxt;          // SND.NXT (SND.MAX: the FIN is the last sequence number sent)
    int rcvAdvEdge;      // RCV.NXT + RCV.WND as last advertised
    int lastAckSent;     // Last.ACK.sent (RFC 7323 §4.3)
    int sndWl1;          // SND.WL1
    int sndWl2;          // SND.WL2
    int maxSndWnd;       // the largest SND.WND seen (RFC 5961 §5.2)
    int tsRecent;        // TS.Recent
    int tsOffset;        // the offset of our TSval clock (RFC 7323 §5.4)
    long tsRecentAge;    // when TS.Recent was set (RFC 7323 §5.5)
    long lastOowAck;     // when an out-of-window pure segment was last answered
    long challengeWindowStart;
    /** SO_RCVBUF: the window our ACKs offer (nothing is left to read). */
    int receiveBuffer;
    /** The MSS the connection sent with (for the connection table). */
    char mss;
    byte sndWscale;      // Snd.Wind.Shift, -1: no window scaling (RFC 7323 §2.3)
    byte rcvWscale;      // Rcv.Wind.Shift, -1: no window scaling
    byte tos;            // IP_TOS of our segments
    byte challengeAcks;  // challenge ACKs in the current second (RFC 5961 §7)
    boolean tsOk;
    boolean sackOk;
    boolean oowAckSent;
    /** Out of the hash table while a SYN that may reopen the four-tuple is tried (RFC 9293 §3.6.1 MAY-2). */
    boolean parked;
    /** False once TIME-WAIT is over (expired, reset, or ended by the stack). */
    boolean live = true;

    TimeWaitRecord(long localHi, long localLo, int localPort, long remoteHi, long remoteLo, int remotePort, int hash,
                   TimeWaitTable.Fifo fifo) {
        this.localHi = localHi;
        this.localLo = localLo;
        this.remoteHi = remoteHi;
        this.remoteLo = remoteLo;
        this.ports = localPort << 16 | remotePort;
        this.hash = hash;
        this.fifo = fifo;
    }

    @Override
    public TcpLayer layer() {
        return fifo.table.tcp;
    }

    int localPort() {
        return ports >>> 16;
    }

    int remotePort() {
        return ports & 0xffff;
    }

    int sndWscaleOrZero() {
        return Math.max(0, sndWscale);
    }

    int rcvWscaleOrZero() {
        return Math.max(0, rcvWscale);
    }

    boolean matches(long lHi, long lLo, int lPort, long rHi, long rLo, int rPort) {
        return localLo == lLo && remoteLo == rLo && ports == (lPort << 16 | rPort) && localHi == lHi
                && remoteHi == rHi;
    }

    /** In TIME-WAIT: may a new SYN with this sequence number take the four-tuple over? See {@link #acceptsSyn}. */
    boolean acceptsSyn(int seq, TcpOptions opts) {
        return acceptsSyn(tsOk, tsRecent, rcvNxt, seq, opts);
    }

    /**
     * Whether a SYN may reopen a connection in TIME-WAIT (RFC 9293 §3.10.7.4): with timestamps on both sides, if
     * its TSval is newer than TS.Recent (RFC 6191 §2: a newer timestamp suffices); else if its sequence number is
     * above RCV.NXT.
     */
    static boolean acceptsSyn(boolean tsOk, int tsRecent, int rcvNxt, int seq, TcpOptions opts) {
        if (tsOk && opts.hasTimestamp()) {
            return seqGt(opts.tsVal(), tsRecent);
        }
        return seqGt(seq, rcvNxt);
    }

    @Override
    public String toString() {
        return IpAddress.of(localHi, localLo) + ":" + localPort() + "->" + IpAddress.of(remoteHi, remoteLo) + ":"
                + remotePort() + " TIME_WAIT (record)";
    }
}
