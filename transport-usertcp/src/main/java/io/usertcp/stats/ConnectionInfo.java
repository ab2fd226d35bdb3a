package io.usertcp.stats;

import java.net.InetSocketAddress;
import java.util.Objects;

/**
 * One row of a stack's connection table, as {@code ss -tuai} shows for the kernel's sockets: a TCP connection, a
 * listener, a half-open (SYN-RECEIVED) record or a UDP socket, copied at one instant on the stack's thread. An
 * immutable value: reading it is safe from any thread; it does not change as the connection goes on (take another).
 *
 * <p>Taken by {@code UserTcp.connections(loop)} for a whole stack, {@code UserTcpChannel.tcpInfo()} for one
 * connection, and the stack's JMX MBean ({@code connections} operation). Nothing is recorded for it on the packet
 * path: a row is built from the connection's own variables only when asked.
 *
 * <p>Times are in nanoseconds; a value that does not apply (no RTT sample yet, no timer, a UDP socket's RTO) is
 * {@code -1}. {@link #toString()} prints one line in the style of {@code ss -ti}; {@link ConnectionTable#format}
 * prints a whole table with a header.
 */
public final class ConnectionInfo {
    /** {@link #protocol()} of a TCP row. */
    public static final String TCP = "tcp";
    /** {@link #protocol()} of a UDP row. */
    public static final String UDP = "udp";

    private final String protocol;
    private final String state;
    private final InetSocketAddress localAddress;
    private final InetSocketAddress remoteAddress;
    private final long receiveQueue;
    private final long sendQueue;
    private final long srttNanos;
    private final long rttvarNanos;
    private final long rtoNanos;
    private final long cwnd;
    private final long ssthresh;
    private final int mss;
    private final int sendWindowScale;
    private final int receiveWindowScale;
    private final boolean sack;
    private final boolean timestamps;
    private final long retransmits;
    private final int retries;
    private final String timer;
    private final long timerNanos;
    private final long bytesAcked;
    private final long bytesReceived;
    private final long lastSendNanos;
    private final long lastReceiveNanos;
    private final String congestionControl;

    private ConnectionInfo(Builder b) {
        this.protocol = b.protocol;
        this.state = b.state;
        this.localAddress = b.localAddress;
        this.remoteAddress = b.remoteAddress;
        this.receiveQueue = b.receiveQueue;
        this.sendQueue = b.sendQueue;
        this.srttNanos = b.srttNanos;
        this.rttvarNanos = b.rttvarNanos;
        this.rtoNanos = b.rtoNanos;
        this.cwnd = b.cwnd;
        this.ssthresh = b.ssthresh;
        this.mss = b.mss;
        this.sendWindowScale = b.sendWindowScale;
        this.receiveWindowScale = b.receiveWindowScale;
        this.sack = b.sack;
        this.timestamps = b.timestamps;
        this.retransmits = b.retransmits;
        this.retries = b.retries;
        this.timer = b.timer;
        this.timerNanos = b.timer == null ? -1 : b.timerNanos;
        this.bytesAcked = b.bytesAcked;
        this.bytesReceived = b.bytesReceived;
        this.lastSendNanos = b.lastSendNanos;
        this.lastReceiveNanos = b.lastReceiveNanos;
        this.congestionControl = b.congestionControl;
    }

    /** A builder of a row of {@code protocol} ({@link #TCP} or {@link #UDP}) in {@code state}; for the stack. */
    public static Builder builder(String protocol, String state) {
        return new Builder(protocol, state);
    }

    /** {@link #TCP} or {@link #UDP}. */
    public String protocol() {
        return protocol;
    }

    /**
     * The state: for TCP the names of RFC 9293 §3.3.2 ({@code LISTEN}, {@code SYN-SENT}, {@code SYN-RECEIVED},
     * {@code ESTABLISHED}, {@code FIN-WAIT-1}, {@code FIN-WAIT-2}, {@code CLOSE-WAIT}, {@code CLOSING},
     * {@code LAST-ACK}, {@code TIME-WAIT}, {@code CLOSED}); for UDP {@code UNCONNECTED} or {@code CONNECTED}.
     */
    public String state() {
        return state;
    }

    /** Whether this row is a TCP listener. */
    public boolean isListener() {
        return TCP.equals(protocol) && "LISTEN".equals(state);
    }

    /** The local address and port (the unspecified address for a socket bound to all of the stack's). */
    public InetSocketAddress localAddress() {
        return localAddress;
    }

    /** The peer's address and port, or null for a listener and an unconnected UDP socket. */
    public InetSocketAddress remoteAddress() {
        return remoteAddress;
    }

    /**
     * Bytes received and not yet read by the application (for UDP, what the queued datagrams are charged); for a
     * listener, as {@code ss}, the connections waiting to be accepted.
     */
    public long receiveQueue() {
        return receiveQueue;
    }

    /**
     * Bytes written and not yet acknowledged by the peer (sent or not); for a listener, as {@code ss}, the
     * accept-queue bound (backlog); 0 for UDP (datagrams are sent when written).
     */
    public long sendQueue() {
        return sendQueue;
    }

    /** The smoothed round-trip time SRTT (RFC 6298), or -1 before the first sample. */
    public long srttNanos() {
        return srttNanos;
    }

    /** The round-trip time variation RTTVAR (RFC 6298), or -1 before the first sample. */
    public long rttvarNanos() {
        return rttvarNanos;
    }

    /** The retransmission timeout now in force (with backoff), or -1 where there is none. */
    public long rtoNanos() {
        return rtoNanos;
    }

    /** The congestion window in bytes (0 where there is none). */
    public long cwnd() {
        return cwnd;
    }

    /** The slow-start threshold in bytes, or -1 while it is unset (infinite). */
    public long ssthresh() {
        return ssthresh;
    }

    /** The MSS this side sends with (0 where there is none). */
    public int mss() {
        return mss;
    }

    /** The peer's window scale shift (Snd.Wind.Shift, RFC 7323), or -1 if window scaling is off. */
    public int sendWindowScale() {
        return sendWindowScale;
    }

    /** This side's window scale shift (Rcv.Wind.Shift, RFC 7323), or -1 if window scaling is off. */
    public int receiveWindowScale() {
        return receiveWindowScale;
    }

    /** Whether both sides agreed on SACK (RFC 2018). */
    public boolean sack() {
        return sack;
    }

    /** Whether both sides agreed on timestamps (RFC 7323). */
    public boolean timestamps() {
        return timestamps;
    }

    /**
     * Segments retransmitted over the connection's life: its SYN or SYN-ACK, and data after timeouts, fast
     * retransmits, RACK, probes (a half-open record: its SYN-ACK resends).
     */
    public long retransmits() {
        return retransmits;
    }

    /** Retransmission timeouts since the last forward progress (the RTO backoff; SYN-ACK resends of a record). */
    public int retries() {
        return retries;
    }

    /**
     * The timer that fires next, or null: {@code retransmit}, {@code persist}, {@code probe} (tail loss probe),
     * {@code reorder} (RACK), {@code keepalive}, {@code timewait}, {@code finwait2}, {@code synack} (a half-open
     * record's SYN-ACK resend).
     */
    public String timer() {
        return timer;
    }

    /** How long until {@link #timer()} fires (0 if due), or -1 without a timer. */
    public long timerNanos() {
        return timerNanos;
    }

    /** Bytes of data the peer acknowledged over the connection's life. */
    public long bytesAcked() {
        return bytesAcked;
    }

    /** Bytes of data received in order over the connection's life. */
    public long bytesReceived() {
        return bytesReceived;
    }

    /** How long ago new data was last sent, or -1 if never. */
    public long lastSendNanos() {
        return lastSendNanos;
    }

    /** How long ago a segment from the peer was last accepted, or -1 if never. */
    public long lastReceiveNanos() {
        return lastReceiveNanos;
    }

    /** The congestion control algorithm ({@code cubic}, {@code newreno}), or null where there is none. */
    public String congestionControl() {
        return congestionControl;
    }

    /**
     * One line in the style of {@code ss -tuain}: protocol, state, receive and send queue, local and peer address,
     * then the TCP details (congestion control, {@code wscale:snd,rcv}, {@code rto:ms}, {@code rtt:srtt/rttvar} in
     * ms, {@code mss}, {@code cwnd} and {@code ssthresh} in segments as {@code ss} prints them, {@code sack},
     * {@code ts}, {@code retrans:retries/total}, {@code timer:(name,ms)}, {@code bytes_acked},
     * {@code bytes_received}, {@code lastsnd} and {@code lastrcv} in ms).
     */
    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder();
        ConnectionTable.appendRow(sb, this, ConnectionTable.MIN_WIDTHS);
        return sb.toString();
    }

    @Override
    public boolean equals(Object o) {
        if (!(o instanceof ConnectionInfo)) {
            return false;
        }
        ConnectionInfo x = (ConnectionInfo) o;
        return protocol.equals(x.protocol) && state.equals(x.state) && localAddress.equals(x.localAddress)
                && Objects.equals(remoteAddress, x.remoteAddress) && receiveQueue == x.receiveQueue
                && sendQueue == x.sendQueue && srttNanos == x.srttNanos && rttvarNanos == x.rttvarNanos
                && rtoNanos == x.rtoNanos && cwnd == x.cwnd && ssthresh == x.ssthresh && mss == x.mss
                && sendWindowScale == x.sendWindowScale && receiveWindowScale == x.receiveWindowScale
                && sack == x.sack && timestamps == x.timestamps && retransmits == x.retransmits
                && retries == x.retries && Objects.equals(timer, x.timer) && timerNanos == x.timerNanos
                && bytesAcked == x.bytesAcked && bytesReceived == x.bytesReceived
                && lastSendNanos == x.lastSendNanos && lastReceiveNanos == x.lastReceiveNanos
                && Objects.equals(congestionControl, x.congestionControl);
    }

    @Override
    public int hashCode() {
        return Objects.hash(protocol, state, localAddress, remoteAddress, receiveQueue, sendQueue, srttNanos, cwnd,
                bytesAcked, bytesReceived);
    }

    /** Collects a row's values; {@link #build()} makes the immutable row. Used by the stack's TCP and UDP. */
    public static final class Builder {
        private final String protocol;
        private final String state;
        private InetSocketAddress localAddress;
        private InetSocketAddress remoteAddress;
        private long receiveQueue;
        private long sendQueue;
        private long srttNanos = -1;
        private long rttvarNanos = -1;
        private long rtoNanos = -1;
        private long cwnd;
        private long ssthresh = -1;
        private int mss;
        private int sendWindowScale = -1;
        private int receiveWindowScale = -1;
        private boolean sack;
        private boolean timestamps;
        private long retransmits;
        private int retries;
        private String timer;
        private long timerNanos = -1;
        private long bytesAcked;
        private long bytesReceived;
        private long lastSendNanos = -1;
        private long lastReceiveNanos = -1;
        private String congestionControl;

        private Builder(String protocol, String state) {
            this.protocol = Objects.requireNonNull(protocol, "protocol");
            this.state = Objects.requireNonNull(state, "state");
        }

        /** The local and peer address (the peer null when there is none). */
        public Builder addresses(InetSocketAddress local, InetSocketAddress remote) {
            this.localAddress = Objects.requireNonNull(local, "local");
            this.remoteAddress = remote;
            return this;
        }

        /** See {@link ConnectionInfo#receiveQueue()} and {@link ConnectionInfo#sendQueue()}. */
        public Builder queues(long receiveQueue, long sendQueue) {
            this.receiveQueue = receiveQueue;
            this.sendQueue = sendQueue;
            return this;
        }

        /** SRTT and RTTVAR (-1 before a sample) and the RTO in force. */
        public Builder rtt(long srttNanos, long rttvarNanos, long rtoNanos) {
            this.srttNanos = srttNanos;
            this.rttvarNanos = srttNanos < 0 ? -1 : rttvarNanos;
            this.rtoNanos = rtoNanos;
            return this;
        }

        /** cwnd and ssthresh in bytes (ssthresh -1 or {@link Integer#MAX_VALUE} when unset) and the algorithm. */
        public Builder congestion(long cwnd, long ssthresh, String algorithm) {
            this.cwnd = cwnd;
            this.ssthresh = ssthresh == Integer.MAX_VALUE ? -1 : ssthresh;
            this.congestionControl = algorithm;
            return this;
        }

        /** The negotiated options: MSS, window scales (-1 each when off), SACK and timestamps. */
        public Builder options(int mss, int sendWindowScale, int receiveWindowScale, boolean sack,
                               boolean timestamps) {
            this.mss = mss;
            this.sendWindowScale = sendWindowScale;
            this.receiveWindowScale = receiveWindowScale;
            this.sack = sack;
            this.timestamps = timestamps;
            return this;
        }

        /** Retransmissions in all and timeouts since the last progress. */
        public Builder retransmits(long total, int current) {
            this.retransmits = total;
            this.retries = current;
            return this;
        }

        /** The timer that fires next and how long until it does (negative values are taken as 0). */
        public Builder timer(String name, long inNanos) {
            this.timer = name;
            this.timerNanos = Math.max(0, inNanos);
            return this;
        }

        /** Bytes acknowledged by the peer and bytes received in order. */
        public Builder bytes(long acked, long received) {
            this.bytesAcked = acked;
            this.bytesReceived = received;
            return this;
        }

        /** How long ago data was last sent and a segment last received (-1 each for never). */
        public Builder lastActivity(long lastSendNanos, long lastReceiveNanos) {
            this.lastSendNanos = lastSendNanos;
            this.lastReceiveNanos = lastReceiveNanos;
            return this;
        }

        /** The immutable row. */
        public ConnectionInfo build() {
            Objects.requireNonNull(localAddress, "addresses not set");
            return new ConnectionInfo(this);
        }
    }
}
