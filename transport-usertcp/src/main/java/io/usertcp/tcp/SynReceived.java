package io.usertcp.tcp;

/**
 * A half-open passive connection (SYN-RECEIVED, RFC 9293 §3.5) held in a listener's SYN queue: only what the
 * SYN-ACK and the connection made on the final ACK need, about 120 bytes instead of a full {@link TcpConnection}
 * with its buffers and timers (about 3 KB). Linux's {@code request_sock} plays the same part.
 *
 * <p>A record is linked into the {@link SynQueue}'s hash table (by 4-tuple) and into one of its retransmission
 * lists (by retry count); it owns no timer.
 */
final class SynReceived {
    final long localHi;
    final long localLo;
    final long remoteHi;
    final long remoteLo;
    final int localPort;
    final int remotePort;
    final int hash;
    final TcpListener listener;
    /** ISS: our SYN-ACK's sequence number. */
    final int iss;
    /** IRS: the peer's SYN's sequence number. */
    final int irs;
    /** The SYN's window (never scaled, RFC 7323 §2.2). */
    final char peerWindow;
    /** The SYN's MSS option, 0 for none. */
    final char peerMss;
    /** The SYN's window scale, -1 for none. */
    final byte peerWscale;
    final boolean sackPermitted;
    final boolean timestamps;
    /** SYN-ACKs resent by the timer so far. */
    byte retries;
    /** TS.Recent: the SYN's TSval (RFC 7323 §4.3). */
    final int tsRecent;
    /** When the retransmission list this record is on next looks at it. */
    long deadline;
    /** When a duplicate SYN or an out-of-window segment was last answered (rate limit); 0: never. */
    long lastAnswer;
    /** The TIME-WAIT incarnation this one replaced (RFC 9293 §3.6.1 MAY-2): revived if the SYN was old. */
    TcpFlow parked;
    SynReceived hashNext;
    SynReceived prev;
    SynReceived next;

    SynReceived(long localHi, long localLo, int localPort, long remoteHi, long remoteLo, int remotePort, int hash,
                TcpListener listener, int iss, int irs, int peerWindow, int peerMss, int peerWscale,
                boolean sackPermitted, boolean timestamps, int tsRecent) {
        this.localHi = localHi;
        this.localLo = localLo;
        this.localPort = localPort;
        this.remoteHi = remoteHi;
        this.remoteLo = remoteLo;
        this.remotePort = remotePort;
        this.hash = hash;
        this.listener = listener;
        this.iss = iss;
        this.irs = irs;
        this.peerWindow = (char) peerWindow;
        this.peerMss = (char) Math.max(0, Math.min(peerMss, 0xffff));
        this.peerWscale = (byte) peerWscale;
        this.sackPermitted = sackPermitted;
        this.timestamps = timestamps;
        this.tsRecent = tsRecent;
    }

    boolean matches(long lHi, long lLo, int lPort, long rHi, long rLo, int rPort) {
        return localLo == lLo && remoteLo == rLo && localPort == lPort && remotePort == rPort && localHi == lHi
                && remoteHi == rHi;
    }

    boolean isV4() {
        return io.usertcp.wire.IpAddress.isV4(remoteHi, remoteLo);
    }

    @Override
    public String toString() {
        return io.usertcp.wire.IpAddress.of(localHi, localLo) + ":" + localPort + "->"
                + io.usertcp.wire.IpAddress.of(remoteHi, remoteLo) + ":" + remotePort + " SYN_RECEIVED (record)";
    }
}
