package io.usertcp.tcp;

import io.usertcp.util.SipHash;

import io.netty.buffer.ByteBuf;
import io.netty.util.collection.IntObjectHashMap;
import io.usertcp.ip.Route;
import io.usertcp.util.KeyedHash;
import io.usertcp.wire.Checksum;
import io.usertcp.wire.IpAddress;
import io.usertcp.wire.Ipv4;
import io.usertcp.wire.Tcp;
import io.usertcp.wire.TcpOptions;

import java.io.IOException;
import java.net.BindException;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * TCP for one stack: demultiplexes segments to connections, half-open records and listeners (RFC 9293
 * §3.10.7), answers segments for nothing with RST (§3.10.7.1), picks initial sequence numbers (RFC 6528) and
 * ephemeral ports (RFC 6056 §3.3.3). The passive side of the handshake, with its SYN queues and SYN cookies,
 * is {@link PassiveOpen}'s.
 */
public final class TcpLayer {
    /** First port of the ephemeral range (as Linux's default 32768-60999). */
    public static final int EPHEMERAL_LOW = 32768;
    /** Last port of the ephemeral range. */
    public static final int EPHEMERAL_HIGH = 60999;

    final TcpEnv env;
    /** Scratch for the SACK blocks of the segment being built ({@link SegmentWriter}): at most 4 blocks. */
    final int[] sackOut = new int[8];
    /** The connections' spare RACK flight state (an idle connection holds none). */
    final RackFlightPool rackFlights = new RackFlightPool(RackState.DEFAULT_MAX_ENTRIES);
    final int defaultReceiveBuffer;
    final int defaultSendBuffer;
    final long minRtoNanos;
    final long timeWaitNanos;
    final PassiveOpen passive;
    private final SynFloodControl synFlood;
    /** TIME-WAIT of connections their application closed, as compact records (issue #10). */
    final TimeWaitTable timeWait;

    final Map<FlowKey, TcpConnection> connections = new HashMap<>(); // TcpTable reads it too
    // Keyed by port without boxing: the listener lookup runs for every SYN (issue #12, no allocation per packet).
    final IntObjectHashMap<List<TcpListener>> listeners = new IntObjectHashMap<>(); // and TcpTable
    /** Local port -> how many connections use it (a one-element array, made once per port in use). */
    private final IntObjectHashMap<int[]> portUsers = new IntObjectHashMap<>();
    private final FlowKey probe;
    private final TcpOptions options = new TcpOptions();
    /**
     * RSTs for segments that match nothing (§3.10.7.1) and challenge ACKs (RFC 5961 §7), each at most
     * {@value #CONTROL_PER_SECOND} a second with bursts of {@value #CONTROL_BURST} for the whole stack: a flood of
     * stray or forged segments cannot turn the stack into a packet generator (issue #10; Linux limits challenge
     * ACKs to 1000/s per namespace).
     */
    static final int CONTROL_PER_SECOND = 1000;
    static final int CONTROL_BURST = 100;
    private final ResetSender resets = new ResetSender(this);
    private final io.usertcp.util.TokenBucket challengeAckLimit = new io.usertcp.util.TokenBucket(CONTROL_PER_SECOND,
            CONTROL_BURST);
    private final SipHash isnHash;
    private final EphemeralPorts ephemeral;

    public TcpLayer(TcpEnv env, int defaultReceiveBuffer, int defaultSendBuffer, long minRtoNanos, long timeWaitNanos,
                    int maxHalfOpen) {
        this(env, defaultReceiveBuffer, defaultSendBuffer, minRtoNanos, timeWaitNanos, maxHalfOpen,
                new SecureRandom().nextLong());
    }

    /**
     * A TCP layer whose secrets (ISN and port keys, timestamp offsets) come from {@code seed}: for simulations
     * that must replay exactly. Production uses a seed from {@link SecureRandom}.
     */
    public TcpLayer(TcpEnv env, int defaultReceiveBuffer, int defaultSendBuffer, long minRtoNanos, long timeWaitNanos,
                    int maxHalfOpen, long seed) {
        this.env = env;
        this.defaultReceiveBuffer = defaultReceiveBuffer;
        this.defaultSendBuffer = defaultSendBuffer;
        this.minRtoNanos = minRtoNanos;
        this.timeWaitNanos = timeWaitNanos;
        java.util.SplittableRandom r = new java.util.SplittableRandom(seed);
        this.isnHash = new SipHash(r.nextLong(), r.nextLong());
        this.ephemeral = new EphemeralPorts(this, new SipHash(r.nextLong(), r.nextLong()));
        // The connection table's hash key, derived from the ISN key (not drawn from r: replays stay exact).
        this.probe = new FlowKey(new KeyedHash(isnHash.hash(1, 0, 0, 0, 0), isnHash.hash(2, 0, 0, 0, 0)));
        this.timeWait = new TimeWaitTable(this, new KeyedHash(isnHash.hash(3, 0, 0, 0, 0),
                isnHash.hash(4, 0, 0, 0, 0)));
        this.random = r.split();
        SynCookies cookies = new SynCookies(new SipHash(r.nextLong(), r.nextLong()),
                new SipHash(r.nextLong(), r.nextLong()), new SipHash(r.nextLong(), r.nextLong()));
        this.passive = new PassiveOpen(this, maxHalfOpen, new SipHash(r.nextLong(), r.nextLong()), cookies,
                new SynAdmission(new SipHash(r.nextLong(), r.nextLong()), env.stats()));
        this.synFlood = new SynFloodControl(passive.admission, env);
    }

    /** The SYN flood defences' side that the stack drives from its link ({@link SynFloodControl}). */
    public SynFloodControl synFlood() {
        return synFlood;
    }

    /**
     * Sets the SYN flood defences (RFC 4987): {@code maxSynBacklog} caps each listener's SYN queue (see
     * {@link TcpListener#synQueueLimit()}), and {@code synCookies} says whether SYNs beyond a full SYN queue are
     * answered with SYN cookies (else dropped).
     */
    public void synFloodDefence(int maxSynBacklog, boolean synCookies) {
        if (maxSynBacklog < 1) {
            throw new IllegalArgumentException("maxSynBacklog must be at least 1: " + maxSynBacklog);
        }
        passive.maxSynBacklog = maxSynBacklog;
        passive.cookiesEnabled = synCookies;
    }

    /**
     * Bounds on connections that outlive the application's interest in them (issue #10): orphans (closed by the
     * application, still finishing) and TIME-WAIT. Each is counted here while it lasts.
     */
    public void closingLimits(int maxOrphans, int maxTimeWait) {
        this.maxOrphans = maxOrphans;
        this.maxTimeWait = maxTimeWait;
    }

    int maxOrphans = 16384;
    int maxTimeWait = 32768;
    int orphans;
    int timeWaits;

    /** Connections the application closed that are still finishing. */
    public int orphanCount() {
        return orphans;
    }

    /** Connections in TIME-WAIT: whole, or as compact records once their application closed them. */
    public int timeWaitCount() {
        return timeWaits;
    }

    private final java.util.SplittableRandom random;

    /** A random int from the layer's generator (timestamp offsets). */
    int nextRandomInt() {
        return random.nextInt();
    }

    /**
     * Number of connections in the demux table (TIME-WAIT included, whole or as records) and of half-open
     * (SYN-RECEIVED) records.
     */
    public int connectionCount() {
        return connections.size() + timeWait.size() + passive.queue.size();
    }

    /** Half-open (SYN-RECEIVED) records of all listeners, at most {@code StackConfig.maxHalfOpen}. */
    public int halfOpenCount() {
        return passive.queue.size();
    }

    /**
     * Starts listening on {@code local} (null or an unspecified address for all addresses of both families)
     * and {@code port} (0 for an ephemeral one).
     *
     * @throws BindException if another listener holds the port
     */
    public TcpListener listen(IpAddress local, int port, int backlog) throws IOException {
        if (local != null && local.isAnyLocal()) {
            local = null;
        }
        if (local != null && !env.isLocalAddress(local)) {
            throw new BindException("Cannot assign requested address: " + local
                    + " is not an address of this stack");
        }
        if (port == 0) {
            port = ephemeral.pickListenPort();
        }
        List<TcpListener> list = listeners.get(port);
        if (list == null) {
            list = new ArrayList<>(1);
            listeners.put(port, list);
        }
        for (TcpListener l : list) {
            if (l.local == null || local == null || l.local.equals(local)) {
                throw new BindException("Address already in use: port " + port + " is taken by " + l
                        + " on this stack; close that channel or choose another port");
            }
        }
        TcpListener l = new TcpListener(this, local, port, backlog);
        list.add(l);
        return l;
    }

    /**
     * Opens a connection (RFC 9293 §3.10.1 active OPEN). {@code localIp} 0 picks the source address by
     * route; {@code localPort} 0 picks an ephemeral port.
     */
    public TcpConnection connect(int localIp, int localPort, int remoteIp, int remotePort) throws IOException {
        return connect(localIp, localPort, remoteIp, remotePort, 0, 0);
    }

    /**
     * Opens a connection with the given SO_RCVBUF and SO_SNDBUF (0 for the stack's defaults); the receive
     * buffer must be known before the SYN, which carries the window scale it implies.
     */
    public TcpConnection connect(int localIp, int localPort, int remoteIp, int remotePort, int receiveBuffer,
                                 int sendBuffer) throws IOException {
        return connect(localIp == 0 ? null : IpAddress.v4(localIp), localPort, IpAddress.v4(remoteIp), remotePort,
                receiveBuffer, sendBuffer);
    }

    /**
     * Opens a connection to {@code remote} (either family). {@code local} null (or unspecified) picks the
     * source address by route; {@code localPort} 0 picks an ephemeral port; the buffers are SO_RCVBUF and
     * SO_SNDBUF (0 for the stack's defaults).
     */
    public TcpConnection connect(IpAddress local, int localPort, IpAddress remote, int remotePort, int receiveBuffer,
                                 int sendBuffer) throws IOException {
        return connect(local, localPort, remote, remotePort, receiveBuffer, sendBuffer, 0);
    }

    /** As {@link #connect(IpAddress, int, IpAddress, int, int, int)}, the SYN and all after it with IP_TOS {@code tos}. */
    public TcpConnection connect(IpAddress local, int localPort, IpAddress remote, int remotePort, int receiveBuffer,
                                 int sendBuffer, int tos) throws IOException {
        if (local != null && local.isAnyLocal()) {
            local = null;
        }
        if (local != null && local.isV4() != remote.isV4()) {
            throw new java.net.ConnectException("Cannot connect from " + local + " to " + remote
                    + ": the addresses are of different families");
        }
        if (env.isBroadcastOrMulticast(remote)) {
            // RFC 9293 §3.9.1.1 (MUST-46): an OPEN to a broadcast or multicast address is refused.
            throw new java.net.ConnectException("Cannot connect to " + remote
                    + ": TCP needs a unicast address, not a broadcast, multicast or unspecified one");
        }
        if (local == null) {
            local = env.sourceAddressFor(remote);
            if (local == null) {
                throw new java.net.NoRouteToHostException("No route to host " + remote + " (the stack has no "
                        + (remote.isV4() ? "IPv4" : "IPv6") + " address or route towards it)");
            }
        } else if (!env.isLocalAddress(local)) {
            throw new BindException("Cannot assign requested address: " + local
                    + " is not an address of this stack");
        }
        if (remotePort <= 0 || remotePort > 65535) {
            throw new IllegalArgumentException("remote port out of range: " + remotePort);
        }
        if (localPort == 0) {
            localPort = ephemeral.pick(local, remote, remotePort);
        } else if (hasConnection(local, localPort, remote, remotePort) || passive.find(local.hi(), local.lo(),
                localPort, remote.hi(), remote.lo(), remotePort) != null) {
            throw new BindException("Address already in use: " + local + ":" + localPort
                    + " is already connected to " + remote + ":" + remotePort);
        }
        TcpConnection c = newConnection(local, localPort, remote, remotePort);
        if (receiveBuffer > 0) {
            c.receiveBufferSize(receiveBuffer);
        }
        if (sendBuffer > 0) {
            c.sendBufferSize(sendBuffer);
        }
        c.tos(tos);
        c.handshake.connect();
        return c;
    }

    TcpConnection newConnection(IpAddress local, int localPort, IpAddress remote, int remotePort) {
        FlowKey key = probe.copy().set(local.hi(), local.lo(), localPort, remote.hi(), remote.lo(), remotePort);
        TcpConnection c = new TcpConnection(this, key, local, localPort, remote, remotePort);
        connections.put(key, c);
        int[] users = portUsers.get(localPort);
        if (users == null) {
            portUsers.put(localPort, users = new int[1]);
        }
        users[0]++;
        env.steering().opened(c, local.hi(), local.lo(), localPort, remote.hi(), remote.lo(), remotePort);
        return c;
    }

    void remove(TcpConnection c) {
        env.socketGone(c);
        if (connections.remove(c.key, c) || c.parked) {
            c.parked = false;
            forget(c, c.key.localHi, c.key.localLo, c.localPort, c.key.remoteHi, c.key.remoteLo, c.remotePort);
        }
    }

    /** {@code flow} left this layer: its four-tuple is no longer directed here, its port has one user less. */
    void forget(TcpFlow flow, long lHi, long lLo, int lPort, long rHi, long rLo, int rPort) {
        env.steering().closed(flow, lHi, lLo, lPort, rHi, rLo, rPort);
        int[] users = portUsers.get(lPort);
        if (users != null && --users[0] <= 0) {
            portUsers.remove(lPort);
        }
    }

    /** The connection of this four-tuple in the table, or null. */
    TcpConnection connection(long lHi, long lLo, int lPort, long rHi, long rLo, int rPort) {
        return connections.get(probe.set(lHi, lLo, lPort, rHi, rLo, rPort));
    }

    void removeListener(TcpListener l) {
        env.socketGone(l);
        List<TcpListener> list = listeners.get(l.port);
        if (list != null) {
            list.remove(l);
            if (list.isEmpty()) {
                listeners.remove(l.port);
            }
        }
    }

    /** Whether the stack-wide budget allows one more challenge ACK now (RFC 5961 §7); counts the refusals. */
    boolean mayChallengeAck() {
        if (challengeAckLimit.tryTake(env.now())) {
            return true;
        }
        env.stats().tcpChallengeAcksLimited++;
        return false;
    }

    /**
     * A bug interrupted {@code c} while it processed a segment, a timer or a flush (the stack's
     * {@code LoopFaults} counts and logs {@code e}): its state can no longer be trusted, so it is reset and
     * forgotten and its buffers freed; the application sees the exception as the connection's error.
     */
    public void faulted(TcpConnection c, RuntimeException e) {
        try {
            c.faulted(e);
        } catch (RuntimeException again) {
            e.addSuppressed(again);
            remove(c); // at least out of the demux table: the next segment gets a RST
        }
    }

    /** Resets every connection and stops every listener (the stack is closing). */
    public void closeAll() {
        for (List<TcpListener> list : new ArrayList<>(listeners.values())) {
            for (TcpListener l : new ArrayList<>(list)) {
                l.close();
            }
        }
        for (TcpConnection c : new ArrayList<>(connections.values())) {
            c.abort();
        }
        timeWait.endAll();
    }

    /**
     * The link is gone for good: every connection over it ends at once with {@code cause} as its error (no RST:
     * nothing reaches the peer any more). Connections to our own addresses (loopback) and listeners stay.
     */
    public void linkFailed(java.io.IOException cause) {
        for (TcpConnection c : new ArrayList<>(connections.values())) {
            if (!env.isLocalAddress(c.remote())) {
                c.destroy(cause);
            }
        }
        timeWait.linkFailed();
    }

    /** RFC 6528: ISN = M + F(4-tuple, secret), M a 4 µs clock. */
    int isn(TcpConnection c) {
        return isn(c.key.localHi, c.key.localLo, c.localPort, c.key.remoteHi, c.key.remoteLo, c.remotePort);
    }

    /** {@link #isn(TcpConnection)} for a 4-tuple given as address halves. */
    int isn(long lHi, long lLo, int lPort, long rHi, long rLo, int rPort) {
        long m = env.now() / 4000;
        long f = IpAddress.isV4(lHi, lLo) ? isnHash.hash((int) lLo, (int) rLo, lPort, rPort, 0)
                : isnHash.hash(lHi, lLo, rHi, rLo, (long) lPort << 16 | rPort);
        return (int) (m + f);
    }

    /** Whether a connection has this four-tuple (for {@link EphemeralPorts}). */
    boolean hasConnection(IpAddress local, int localPort, IpAddress remote, int remotePort) {
        return connection(local.hi(), local.lo(), localPort, remote.hi(), remote.lo(), remotePort) != null
                || timeWait.find(local.hi(), local.lo(), localPort, remote.hi(), remote.lo(), remotePort) != null;
    }

    /** Whether a listener has {@code port} or, with {@code orConnections}, a connection uses it. */
    boolean portTaken(int port, boolean orConnections) {
        return listeners.containsKey(port) || (orConnections && portUsers.containsKey(port));
    }

    /**
     * Processes one TCP segment. {@code o} is the offset of the TCP header in {@code frame}, {@code len}
     * the TCP length (header and data) as given by the IP layer.
     */
    public void input(ByteBuf frame, int o, int len, int srcIp, int dstIp, boolean checksumTrusted) {
        input(frame, o, len, 0, IpAddress.mappedLo(srcIp), 0, IpAddress.mappedLo(dstIp), checksumTrusted);
    }

    /**
     * Processes one TCP segment between addresses given as halves (IPv4 ones IPv4-mapped, see
     * {@link IpAddress}).
     */
    public void input(ByteBuf frame, int o, int len, long srcHi, long srcLo, long dstHi, long dstLo,
                      boolean checksumTrusted) {
        env.stats().tcpSegmentsIn++;
        if (len < Tcp.MIN_HEADER_LENGTH) {
            env.stats().dropTcpMalformed++;
            return;
        }
        int hdr = Tcp.headerLength(frame, o);
        if (hdr < Tcp.MIN_HEADER_LENGTH || hdr > len) {
            env.stats().dropTcpMalformed++;
            return;
        }
        // RFC 9293 §3.1 (MUST-2/3): verify the checksum over pseudo-header, header and data.
        long sum = IpAddress.pseudoHeaderSum(srcHi, srcLo, dstHi, dstLo, Ipv4.PROTO_TCP, len);
        if (!checksumTrusted && Checksum.fold(Checksum.add(frame, o, len, sum)) != 0xffff) {
            env.stats().dropTcpChecksum++;
            return;
        }
        int srcPort = Tcp.srcPort(frame, o);
        int dstPort = Tcp.dstPort(frame, o);
        int flags = Tcp.flags(frame, o);
        int seq = Tcp.seq(frame, o);
        int ack = Tcp.ack(frame, o);
        int window = Tcp.window(frame, o);
        int dataLen = len - hdr;
        if (srcPort == 0 || dstPort == 0) {
            env.stats().dropTcpMalformed++;
            return;
        }
        TcpOptions opts = options;
        if (hdr > Tcp.MIN_HEADER_LENGTH) {
            opts.parse(frame, o, hdr);
        } else {
            opts.parse(frame, o, Tcp.MIN_HEADER_LENGTH);
        }

        TcpConnection c = connection(dstHi, dstLo, dstPort, srcHi, srcLo, srcPort);
        boolean pureSyn = (flags & (Tcp.SYN | Tcp.ACK | Tcp.RST | Tcp.FIN)) == Tcp.SYN;
        if (c != null) {
            TcpListener tl;
            if (pureSyn && c.handshake.timeWaitAcceptsSyn(seq, opts)
                    && (tl = findListener(dstHi, dstLo, dstPort)) != null
                    && passive.hasRoom(tl)) {
                // RFC 9293 §3.10.7.4 / RFC 6191: a new incarnation may reuse a TIME-WAIT connection. The old
                // one is parked, not destroyed: if the SYN proves an old duplicate, it returns (§3.6.1 MAY-2).
                // (Never with a SYN cookie: its ACK would meet the TIME-WAIT connection.)
                connections.remove(c.key, c);
                c.parked = true;
                passive.syn(tl, dstHi, dstLo, dstPort, srcHi, srcLo, srcPort, seq, window, opts, c);
            } else {
                try {
                    c.receiver.segmentArrives(frame, o, seq, ack, flags, window, o + hdr, dataLen, opts);
                } catch (RuntimeException e) {
                    faulted(c, e);
                    throw e; // the stack's fault barrier counts and logs it
                }
            }
            return;
        }
        TimeWaitRecord tw = timeWait.find(dstHi, dstLo, dstPort, srcHi, srcLo, srcPort);
        if (tw != null) { // the same for a connection whose TIME-WAIT a record holds
            timeWait.segmentArrives(tw, pureSyn, seq, ack, flags, window, dataLen, opts);
            return;
        }
        SynReceived r = passive.find(dstHi, dstLo, dstPort, srcHi, srcLo, srcPort);
        if (r != null) {
            passive.segment(r, frame, o, seq, ack, flags, window, o + hdr, dataLen, opts);
            return;
        }
        if (env.steering().foreign(frame, o, len, srcHi, srcLo, dstHi, dstLo, srcPort, dstPort)) {
            return; // another stack of the group owns the flow and took a copy
        }
        TcpListener l = findListener(dstHi, dstLo, dstPort);
        if (l == null) {
            env.stats().dropTcpNoListener++;
            reset(srcHi, srcLo, dstHi, dstLo, srcPort, dstPort, seq, ack, flags, dataLen);
            return;
        }
        // LISTEN state (§3.10.7.2).
        if ((flags & Tcp.RST) != 0) {
            return;
        }
        if ((flags & Tcp.ACK) != 0) {
            if ((flags & Tcp.SYN) == 0) {
                passive.ack(l, frame, o, dstHi, dstLo, dstPort, srcHi, srcLo, srcPort, seq, ack, flags, window,
                        o + hdr, dataLen, opts); // perhaps the return of a SYN cookie
            } else {
                reset(srcHi, srcLo, dstHi, dstLo, srcPort, dstPort, seq, ack, flags, dataLen);
            }
            return;
        }
        if ((flags & Tcp.SYN) == 0) {
            return;
        }
        if ((flags & Tcp.FIN) != 0) {
            env.stats().dropTcpListenOverflow++;
            return;
        }
        passive.syn(l, dstHi, dstLo, dstPort, srcHi, srcLo, srcPort, seq, window, opts, null);
    }

    /**
     * An ICMP error about a segment we sent from {@code local:localPort} to {@code remote:remotePort} whose
     * sequence number was {@code seq} (all read from the quote). Ignored unless a connection has it in flight
     * (RFC 5927 §4.1); then a hard error aborts an open and anything else is a soft error
     * ({@link TcpConnection#icmpError}).
     */
    public void icmpError(long localHi, long localLo, int localPort, long remoteHi, long remoteLo, int remotePort,
                          int seq, boolean hard, String description) {
        TcpConnection c = icmpTarget(localHi, localLo, localPort, remoteHi, remoteLo, remotePort, seq);
        if (c != null) {
            c.icmpError(hard, description);
        }
        // An error about a SYN-RECEIVED record's SYN-ACK is soft (RFC 5461 §4): the SYN-ACK is resent anyway.
    }

    /**
     * A packet-too-big report (ICMP fragmentation needed, ICMPv6 packet too big) about a segment as
     * {@link #icmpError}: if a connection has it in flight, the path MTU is lowered (RFC 1191, RFC 8201) and
     * the connection resends what no longer fits. About a half-open record's SYN-ACK, the path MTU is lowered
     * for the connection to come.
     */
    public void icmpPacketTooBig(long localHi, long localLo, int localPort, long remoteHi, long remoteLo,
                                 int remotePort, int seq, int mtu) {
        TcpConnection c = icmpTarget(localHi, localLo, localPort, remoteHi, remoteLo, remotePort, seq);
        if (c != null) {
            c.pathMtuReduced(env.reportPathMtu(c.remote(), mtu));
        } else if (passive.icmpTarget(localHi, localLo, localPort, remoteHi, remoteLo, remotePort, seq) != null) {
            env.reportPathMtu(IpAddress.of(remoteHi, remoteLo), mtu);
        }
    }

    /**
     * The connection an ICMP error quoting {@code seq} is about, if it has that sequence number in flight (RFC 5927
     * §4.1); null if none has (counted as ignored) or if a SYN-RECEIVED record's SYN-ACK has it (counted).
     */
    private TcpConnection icmpTarget(long localHi, long localLo, int localPort, long remoteHi, long remoteLo,
                                     int remotePort, int seq) {
        TcpConnection c = connections.get(probe.set(localHi, localLo, localPort, remoteHi, remoteLo, remotePort));
        if (c == null || !c.icmpSequenceAcceptable(seq)) {
            if (c == null && passive.icmpTarget(localHi, localLo, localPort, remoteHi, remoteLo, remotePort, seq)
                    != null) {
                env.stats().tcpIcmpErrors++;
            } else {
                env.stats().tcpIcmpIgnored++;
            }
            return null;
        }
        env.stats().tcpIcmpErrors++;
        return c;
    }

    TcpListener findListener(long dstHi, long dstLo, int port) {
        List<TcpListener> list = listeners.get(port);
        if (list == null) { // a listener of the stack's group (issue #12) may be installed here now
            return env.steering().listenerMissing(dstHi, dstLo, port) ? findListener(dstHi, dstLo, port) : null;
        }
        TcpListener wildcard = null;
        for (int i = 0; i < list.size(); i++) {
            TcpListener l = list.get(i);
            if (l.local != null && l.local.equals(dstHi, dstLo)) {
                return l;
            }
            if (l.local == null) {
                wildcard = l;
            }
        }
        return wildcard;
    }

    /** RFC 9293 §3.10.7.1: the reply to a segment for no connection ({@link ResetSender}). */
    void reset(long srcHi, long srcLo, long dstHi, long dstLo, int srcPort, int dstPort, int seq, int ack,
               int flags, int dataLen) {
        resets.send(srcHi, srcLo, dstHi, dstLo, srcPort, dstPort, seq, ack, flags, dataLen);
    }
}
