package io.usertcp.stack;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.usertcp.ip.ArpTable;
import io.usertcp.ip.EthernetInterface;
import io.usertcp.ip.Ipv4Reassembly;
import io.usertcp.ip.Ipv6Reassembly;
import io.usertcp.ip.NeighborCache;
import io.usertcp.ip.PathMtuCache;
import io.usertcp.ip.Network;
import io.usertcp.ip.Route;
import io.usertcp.link.CaptureLink;
import io.usertcp.link.Link;
import io.usertcp.link.PcapngWriter;
import io.usertcp.link.TapDevice;
import io.usertcp.stats.MemoryBudget;
import io.usertcp.stats.StackStats;
import io.usertcp.tcp.TcpConnection;
import io.usertcp.tcp.TcpEnv;
import io.usertcp.tcp.TcpLayer;
import io.usertcp.tcp.TcpSocket;
import io.usertcp.time.Clock;
import io.usertcp.time.TimerQueue;
import io.usertcp.udp.UdpEnv;
import io.usertcp.udp.UdpLayer;
import io.usertcp.udp.UdpSocket;
import io.usertcp.wire.IpAddress;
import io.usertcp.wire.SynFilter;

import java.io.IOException;
import java.net.InetAddress;
import java.util.ArrayDeque;

/**
 * A user-space TCP/IP stack: one link (a NIC) and its addresses, the network layer ({@link Network}: IPv4 and
 * IPv6, ARP and NDP, ICMP, fragmentation and reassembly), TCP and UDP, wired together, and the poll loop.
 *
 * <p>A stack is owned by one thread. Whoever owns it (the Netty {@code UserTcpIoHandler}, or a test's
 * simulator) drives it by calling, in a loop: {@link #pollLink(int)} (or {@link #input(ByteBuf)}), then
 * {@link #runTimers()}, {@link #dispatchEvents()} and {@link #flush()}, and waits at most until
 * {@link #nextDeadline()}.
 *
 * <p>Packets to the stack's own addresses or to 127.0.0.0/8 never reach the link: they are queued and
 * processed on the next poll, as a loopback interface would.
 */
public final class Stack implements TcpEnv, UdpEnv, AutoCloseable {
    private final Clock clock;
    private final ByteBufAllocator alloc;
    private final StackStats stats = new StackStats();
    private final TimerQueue timers = new TimerQueue();
    private final LoopFaults faults;
    private final LinkSynFilter synFilter;
    private final MemoryBudget memory;
    private final EthernetInterface iface;
    private final Network network;
    private final TcpLayer tcp;
    private final UdpLayer udp;
    private final ArrayDeque<TcpSocket> ready = new ArrayDeque<>();
    /** Sockets with work left for later turns, one dispatched per turn after those input made ready. */
    private final ArrayDeque<TcpSocket> nextTurn = new ArrayDeque<>();
    private final ArrayDeque<TcpConnection> acks = new ArrayDeque<>();
    /** Turns in a row that told only one socket, after which it {@link #hadTheLoopAlone}. */
    public static final int SOLO_TURNS = 8;
    /** The socket told last, and on how many turns in a row it was the only one told. */
    private TcpSocket soloSocket;
    private int soloTurns;
    private final ArrayDeque<UdpSocket> udpReady = new ArrayDeque<>();
    private final PcapngWriter capture; // null: no capture
    /** This stack's part in a group of stacks sharing the link, or null (alone). */
    private GroupMember member;
    private boolean closed;

    /**
     * Creates a stack on {@code link} (may be null: loopback only).
     *
     * @param link the link, owned by the stack from now on (closed with it)
     */
    public Stack(StackConfig config, Link link, Clock clock, ByteBufAllocator alloc) {
        this.clock = clock;
        this.alloc = alloc;
        this.faults = new LoopFaults(stats, clock);
        this.synFilter = new LinkSynFilter(this);
        this.memory = new MemoryBudget(config.memoryBudget());
        timers.faults(faults);
        this.capture = config.capture() != null ? openCapture(config.capture(), clock) : null;
        if (capture != null && link != null) {
            link = new CaptureLink(link, capture, link instanceof TapDevice t ? t.name() : String.valueOf(link), false);
        }
        this.iface = new EthernetInterface(link, clock, alloc, stats);
        if (capture != null) {
            iface.capture(capture);
        }
        this.network = NetworkWiring.build(config, iface, timers, new TransportDemux(this));
        this.tcp = new TcpLayer(this, config.defaultReceiveBuffer(), config.defaultSendBuffer(),
                config.minRto().toNanos(), config.timeWait().toNanos(), config.maxHalfOpen(), config.seed() != null ? config.seed() : new java.security.SecureRandom().nextLong());
        this.tcp.synFloodDefence(config.maxSynBacklog(), config.synCookies());
        this.tcp.closingLimits(config.maxOrphans(), config.maxTimeWait());
        this.udp = new UdpLayer(this);
        if (link != null && link.receiveDrops() >= 0) {
            timers.schedule(new LinkCounters(link), clock.nanoTime() + LinkCounters.PERIOD_NANOS);
        }
    }

    /** Copies the link's own counters into {@link StackStats} once a second (they cost a system call to read). */
    private final class LinkCounters extends io.usertcp.time.Timer {
        static final long PERIOD_NANOS = 1_000_000_000L;
        private final Link link;

        LinkCounters(Link link) {
            this.link = link;
        }

        @Override
        protected void expired(long now) {
            if (closed) {
                return;
            }
            long drops = link.receiveDrops();
            if (drops >= 0) {
                stats.linkReceiveDrops = drops;
            }
            timers.schedule(this, now + PERIOD_NANOS);
        }
    }

    /** Makes this stack a member of a {@link StackGroup} (called by {@link StackGroup#join}). */
    void joinGroup(GroupMember m) {
        this.member = m;
        udp.steering(m);
        tcp.synFlood().share(m.sources());
    }

    @Override
    public io.usertcp.tcp.FlowSteering steering() {
        GroupMember m = member;
        return m != null ? m : io.usertcp.tcp.FlowSteering.NONE;
    }

    /** This stack's part in its group, or null when it is alone. */
    GroupMember groupMember() {
        return member;
    }

    /** The network layer. */
    public Network network() {
        return network;
    }

    /** The ARP table. */
    public ArpTable arp() {
        return network.ipv4().arp();
    }

    /** The path MTU cache (RFC 1191, RFC 8201). */
    public PathMtuCache pathMtu() {
        return network.pathMtu();
    }

    /** The IPv6 neighbour cache, or null when the stack has no IPv6 address. */
    public NeighborCache neighbors() {
        return network.ipv6() != null ? network.ipv6().neighbors() : null;
    }

    /** IPv6 reassembly, or null when the stack has no IPv6 address. */
    public Ipv6Reassembly ipv6Reassembly() {
        return network.ipv6() != null ? network.ipv6().reassembly() : null;
    }

    /** The TCP layer. */
    public TcpLayer tcp() {
        return tcp;
    }

    /** The UDP layer. */
    public UdpLayer udp() {
        return udp;
    }

    /** IPv4 reassembly. */
    public Ipv4Reassembly reassembly() {
        return network.ipv4().reassembly();
    }

    /** The link, or null. */
    public Link link() {
        return iface.link();
    }

    /** The counters. */
    @Override
    public StackStats stats() {
        return stats;
    }

    /** The buffer memory budget of the stack's TCP queues. */
    @Override
    public MemoryBudget memory() {
        return memory;
    }

    /** The loop's fault barrier, for the parts of this package that run frames or timers. */
    LoopFaults faults() {
        return faults;
    }

    @Override
    public TimerQueue timers() {
        return timers;
    }

    @Override
    public ByteBufAllocator alloc() {
        return alloc;
    }

    @Override
    public long now() {
        return clock.nanoTime();
    }

    /** The clock. */
    public Clock clock() {
        return clock;
    }

    /** The first IPv4 address, or 0. */
    public int primaryIpv4() {
        return network.ipv4().primaryAddress();
    }

    // ------------------------------------------------------------------ driving

    /**
     * Reads and processes up to {@code budget} frames from the link and the loopback queue; returns how many.
     */
    public int pollLink(int budget) throws IOException {
        int n = 0;
        int lo = iface.loopbackPending(); // only what was queued before this call: loopback replies wait a turn
        while (lo-- > 0 && n < budget) {
            ByteBuf f = iface.pollLoopback();
            iface.inputFromLoopback(true);
            try {
                guardedInput(f);
            } finally {
                iface.inputFromLoopback(false);
                f.release();
            }
            n++;
        }
        GroupMember m = member;
        if (m != null) {
            n += pollInbox(m, budget - n);
        }
        Link link = iface.link();
        if (link == null) {
            tcp.synFlood().linkBacklog(false);
            return n;
        }
        boolean drained = false;
        while (n < budget) {
            ByteBuf f = link.receive(alloc);
            if (f == null) {
                drained = true;
                break;
            }
            try {
                if (m != null && GroupMember.isNeighborFrame(f, link.vnetHeaderLength())) {
                    m.copyToOthers(f); // every stack of the group learns its neighbours
                }
                guardedInput(f);
            } finally {
                if (f.refCnt() == 1) {
                    link.recycle(f); // nothing kept a slice: let the link read into it again
                } else {
                    f.release();
                }
            }
            n++;
        }
        // Frames still waiting after a whole budget: the loop is behind its link, and the next turn's flooded
        // listeners answer SYNs selectively (issue #10, tcp.SynAdmission).
        tcp.synFlood().linkBacklog(!drained);
        synFilter.apply(link);
        return n;
    }

    /** Processes up to {@code budget} packets other stacks of the group handed over; returns how many. */
    private int pollInbox(GroupMember m, int budget) {
        int n = 0;
        ByteBuf b;
        while (n < budget && (b = m.poll()) != null) {
            try {
                m.deliver(b);
            } catch (RuntimeException e) {
                faults.caught(LoopFaults.Site.INPUT, "packet from the group", e);
            } finally {
                b.release();
            }
            n++;
        }
        return n;
    }

    /** {@link #input} behind the loop's fault barrier: a bug drops the frame, never the loop. */
    private void guardedInput(ByteBuf f) {
        try {
            input(f);
        } catch (RuntimeException e) {
            faults.caught(LoopFaults.Site.INPUT, "frame", e);
        }
    }

    /** True if loopback frames wait to be processed (the owner must not block). */
    public boolean hasPendingInput() {
        return iface.loopbackPending() > 0 || (member != null && member.hasInbox());
    }

    /** True if sockets wait for their dispatch on the next turn ({@link #readyNextTurn}): the owner must not block. */
    public boolean hasNextTurnEvents() {
        return !nextTurn.isEmpty();
    }

    /** Fires due timers; returns how many fired. */
    public int runTimers() {
        return timers.runExpired(clock.nanoTime());
    }

    /** The next timer deadline in {@link Clock#nanoTime()} terms, or {@link TimerQueue#NONE}. */
    public long nextDeadline() {
        return timers.nextDeadline();
    }

    /**
     * Delivers collected socket events to their handlers; returns how many sockets were told: those that this
     * turn's input made ready, in the order it did, then one of the sockets carried over from earlier turns
     * ({@link #readyNextTurn}), round-robin. A connection with more to read than one read loop takes (a bulk
     * transfer) so gets one read loop per turn, and the turn stays short: a request that arrives on another
     * connection meanwhile is answered on the next turn, not after the bulk connection's backlog. A socket
     * queued for the next turn while it is told waits for a later turn.
     */
    public int dispatchEvents() {
        return dispatchEvents(1);
    }

    /** {@link #dispatchEvents()} with up to {@code carried} of the sockets carried over. */
    private int dispatchEvents(int carried) {
        int n = 0;
        TcpSocket s;
        for (int i = 0; i < carried && (s = nextTurn.poll()) != null; i++) {
            ready.add(s);
        }
        while ((s = ready.poll()) != null) {
            if (s != soloSocket) {
                soloSocket = s;
                soloTurns = 0;
            }
            try {
                s.dispatch();
            } catch (RuntimeException e) {
                faults.caught(LoopFaults.Site.DISPATCH, s, e);
            }
            n++;
        }
        UdpSocket u;
        while ((u = udpReady.poll()) != null) {
            soloSocket = null;
            try {
                u.dispatch();
            } catch (RuntimeException e) {
                faults.caught(LoopFaults.Site.DISPATCH, u, e);
            }
            n++;
        }
        if (n == 1) {
            soloTurns++;
        } else if (n > 1) {
            soloTurns = 0;
        }
        return n;
    }

    @Override
    public void socketGone(TcpSocket s) {
        if (s == soloSocket) {
            soloSocket = null; // the loop keeps no connection its application let go (TIME-WAIT records, issue #10)
            soloTurns = 0;
        }
    }

    /**
     * True if {@code s} has had the loop to itself for a while: it was the only socket told on each of the last
     * {@value #SOLO_TURNS} turns that told any. Such a socket may take more per turn (fewer, larger writes; fewer
     * wake-ups of its peer) with nobody to wait for it; it loses that as soon as another socket is told.
     */
    public boolean hadTheLoopAlone(TcpSocket s) {
        return s == soloSocket && soloTurns >= SOLO_TURNS;
    }

    /** Sends the ACKs owed after a batch of input. */
    public void flush() {
        TcpConnection c;
        while ((c = acks.poll()) != null) {
            try {
                c.flushAck();
            } catch (RuntimeException e) {
                faults.caught(LoopFaults.Site.FLUSH, c, e);
                tcp.faulted(c, e);
            }
        }
    }

    @Override
    public void ready(TcpSocket s) {
        ready.add(s);
    }

    @Override
    public void ready(UdpSocket s) {
        udpReady.add(s);
    }

    @Override
    public void readyNextTurn(TcpSocket s) {
        nextTurn.add(s);
    }

    @Override
    public void ackLater(TcpConnection c) {
        acks.add(c);
    }

    // ------------------------------------------------------------------ input

    /**
     * Processes one Ethernet frame. Never throws for bad input: it is counted and dropped. (The loop calls it
     * behind a fault barrier too, so that even a bug costs one frame; tests and fuzzers call it directly to see
     * such bugs.)
     */
    public void input(ByteBuf f) {
        network.input(f);
    }

    // ------------------------------------------------------------------ TcpEnv and UdpEnv: the network layer

    @Override
    public Route route(Route reuse, IpAddress local, IpAddress remote) {
        return network.route(reuse, local, remote);
    }

    @Override
    public Route route(Route reuse, long localHi, long localLo, long remoteHi, long remoteLo) {
        return network.route(reuse, localHi, localLo, remoteHi, remoteLo);
    }

    /** The MTU of the path to {@code dst}. */
    public int mtuTo(IpAddress dst) {
        return network.mtuTo(dst);
    }

    /** The path MTU towards IPv4 address {@code dst}. */
    public int mtuTo(int dst) {
        return network.ipv4().mtuTo(dst);
    }

    @Override
    public int reportPathMtu(IpAddress dst, int reported) {
        return network.reportPathMtu(dst, reported);
    }

    @Override
    public void confirmReachable(IpAddress dst) {
        network.confirmReachable(dst, clock.nanoTime());
    }

    @Override
    public IpAddress sourceAddressFor(IpAddress dst) {
        return network.sourceAddressFor(dst);
    }

    @Override
    public boolean isBroadcastOrMulticast(IpAddress ip) {
        return network.isBroadcastOrMulticast(ip);
    }

    @Override
    public boolean isLocalAddress(IpAddress ip) {
        return network.isLocalAddress(ip);
    }

    /** Whether IPv4 address {@code ip} is one of the stack's addresses or 127/8. */
    public boolean isLocalAddress(int ip) {
        return network.ipv4().isLocalAddress(ip);
    }

    @Override
    public boolean isBroadcast(IpAddress ip) {
        return network.isBroadcast(ip);
    }

    // ------------------------------------------------------------------ lifecycle

    /**
     * The link failed for good ({@link io.usertcp.link.LinkFailedException}): counts it and ends every TCP
     * connection with {@code cause}, telling their owners now. The stack itself stays usable (loopback).
     */
    public void linkFailed(IOException cause) {
        stats.linkFailures++;
        tcp.linkFailed(cause);
        dispatchEvents(Integer.MAX_VALUE);
    }

    /** Resets every connection, frees queued frames and closes the link. Idempotent. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        if (member != null) {
            member.leave();
        }
        tcp.closeAll();
        udp.closeAll();
        flush();
        dispatchEvents(Integer.MAX_VALUE);
        network.close();
        if (capture != null) {
            capture.close();
        }
    }

    /** The capture file of {@link StackConfig#capture()}, timestamped by the stack's clock from the wall time now. */
    private static PcapngWriter openCapture(java.nio.file.Path file, Clock clock) {
        long wall = System.currentTimeMillis() * 1_000_000L;
        long start = clock.nanoTime();
        try {
            return PcapngWriter.create(file, () -> wall + (clock.nanoTime() - start));
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e.getMessage(), e);
        }
    }

    /** True after {@link #close()}. */
    public boolean isClosed() {
        return closed;
    }

    /** The IPv4 address as an int. */
    public static int toInt(InetAddress a) {
        byte[] b = a.getAddress();
        if (b.length != 4) {
            throw new IllegalArgumentException("not an IPv4 address: " + a);
        }
        return ((b[0] & 0xff) << 24) | ((b[1] & 0xff) << 16) | ((b[2] & 0xff) << 8) | (b[3] & 0xff);
    }
}
