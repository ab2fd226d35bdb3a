package io.usertcp.stack;

import io.usertcp.time.Clock;
import io.usertcp.time.TimerQueue;
import io.usertcp.stats.StackStats;
import io.usertcp.stats.MemoryBudget;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.util.internal.logging.InternalLogger;
import io.netty.util.internal.logging.InternalLoggerFactory;
import io.usertcp.link.Link;
import io.usertcp.net.ArpTable;
import io.usertcp.net.Ipv4Reassembly;
import io.usertcp.net.Ipv6Reassembly;
import io.usertcp.net.NeighborCache;
import io.usertcp.net.PathMtuCache;
import io.usertcp.util.TokenBucket;
import io.usertcp.tcp.TcpConnection;
import io.usertcp.tcp.TcpEnv;
import io.usertcp.tcp.TcpLayer;
import io.usertcp.tcp.TcpSocket;
import io.usertcp.udp.UdpEnv;
import io.usertcp.udp.UdpLayer;
import io.usertcp.udp.UdpSocket;
import io.usertcp.wire.Arp;
import io.usertcp.wire.Checksum;
import io.usertcp.wire.Ethernet;
import io.usertcp.wire.Icmpv4;
import io.usertcp.wire.IpAddress;
import io.usertcp.wire.Ipv4;
import io.usertcp.wire.MacAddress;
import io.usertcp.wire.VirtioNetHeader;

import java.io.IOException;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;

/**
 * A user-space TCP/IP stack: one link (a NIC), its IPv4 addresses and routes, ARP, ICMP echo, TCP, UDP,
 * and IPv4 fragmentation and reassembly.
 *
 * <p>A stack is owned by one thread. Whoever owns it (the Netty {@code UserTcpIoHandler}, or a test's
 * simulator) drives it by calling, in a loop: {@link #pollLink(int)} (or {@link #input(ByteBuf)}), then
 * {@link #runTimers()}, {@link #dispatchEvents()} and {@link #flush()}, and waits at most until
 * {@link #nextDeadline()}.
 *
 * <p>Packets to the stack's own addresses or to 127.0.0.0/8 never reach the link: they are queued and
 * processed on the next poll, as a loopback interface would.
 */
public final class Stack implements TcpEnv, UdpEnv, ArpTable.Output, AutoCloseable {
    private static final InternalLogger logger = InternalLoggerFactory.getInstance(Stack.class);
    static final int LOOPBACK_MTU = 65535 - 40;
    /** Largest IPv4 payload of one TSO super-segment (the IPv4 total length is 16 bits). */
    private static final int TSO_MAX_L4 = 65535 - Ipv4.MIN_HEADER_LENGTH;
    /** IPv4 TTL and IPv6 hop limit of what the stack sends (StackConfig.ttl). */
    final int ttl;
    /** ICMP errors sent per second at most, and in one burst (RFC 1812 §4.3.2.8; issue #5). */
    private static final int ICMP_ERRORS_PER_SECOND = 100;
    private static final int ICMP_ERROR_BURST = 50;

    private final Link link;
    /** Bytes of virtio_net_hdr before each frame's Ethernet header (0 without offload). */
    final int vnet;
    final int l3;
    private final int l4v4;
    final boolean tso;
    final long mac;
    final int mtu;
    private final Clock clock;
    private final ByteBufAllocator alloc;
    private final StackStats stats = new StackStats();
    private final TimerQueue timers = new TimerQueue();
    private final LoopFaults faults;
    private final MemoryBudget memory;
    private final ArpTable arp;
    private final TcpLayer tcp;
    private final PathMtuCache pathMtu = new PathMtuCache();
    /** IPv6, or null when the config holds no IPv6 address. */
    private final Ipv6Layer ipv6;
    private final int[] v4Addresses;
    private final int[] v4Masks;
    private final int gateway;
    private final ArrayDeque<TcpSocket> ready = new ArrayDeque<>();
    private final ArrayDeque<TcpConnection> acks = new ArrayDeque<>();
    private final ArrayDeque<ByteBuf> loopback = new ArrayDeque<>();
    // UDP, reassembly and ICMP errors (issue #5)
    private final UdpLayer udp;
    private final Ipv4Reassembly reassembly;
    private final TokenBucket icmpErrorLimit = new TokenBucket(ICMP_ERRORS_PER_SECOND, ICMP_ERROR_BURST);
    private final ArrayDeque<UdpSocket> udpReady = new ArrayDeque<>();
    private int ipId;
    private boolean inputFromLoopback; // while processing a frame from the loopback queue
    private boolean closed;

    /**
     * Creates a stack on {@code link} (may be null: loopback only).
     *
     * @param link the link, owned by the stack from now on (closed with it)
     */
    public Stack(StackConfig config, Link link, Clock clock, ByteBufAllocator alloc) {
        this.link = link;
        this.vnet = link != null ? link.vnetHeaderLength() : 0;
        this.l3 = vnet + Ethernet.HEADER_LENGTH;
        this.l4v4 = l3 + Ipv4.MIN_HEADER_LENGTH;
        this.tso = link != null && link.tcpSegmentationOffload();
        this.mac = link != null ? link.macAddress().toLong() : 0;
        this.mtu = link != null ? link.mtu() : LOOPBACK_MTU;
        this.ttl = config.ttl();
        this.clock = clock;
        this.alloc = alloc;
        this.faults = new LoopFaults(stats, clock);
        this.memory = new MemoryBudget(config.memoryBudget());
        timers.faults(faults);
        List<Integer> addrs = new ArrayList<>();
        List<Integer> masks = new ArrayList<>();
        for (StackConfig.InterfaceAddress a : config.addresses()) {
            if (a.address() instanceof Inet4Address) {
                addrs.add(toInt(a.address()));
                masks.add(a.prefixLength() == 0 ? 0 : -1 << (32 - a.prefixLength()));
            }
        }
        this.v4Addresses = addrs.stream().mapToInt(Integer::intValue).toArray();
        this.v4Masks = masks.stream().mapToInt(Integer::intValue).toArray();
        this.gateway = config.gateway() instanceof Inet4Address ? toInt(config.gateway()) : 0;
        if (gateway != 0 && !onLink(gateway)) {
            throw new IllegalArgumentException("gateway " + config.gateway().getHostAddress()
                    + " is not within any of the stack's prefixes " + config.addresses());
        }
        this.arp = new ArpTable(timers, this, vnet, stats);
        if (gateway != 0) {
            arp.protect(gateway); // never evicted to make room
        }
        this.tcp = new TcpLayer(this, config.defaultReceiveBuffer(), config.defaultSendBuffer(),
                config.minRto().toNanos(), config.timeWait().toNanos(), config.maxHalfOpen(), config.seed() != null ? config.seed() : new java.security.SecureRandom().nextLong());
        this.tcp.synFloodDefence(config.maxSynBacklog(), config.synCookies());
        this.tcp.closingLimits(config.maxOrphans(), config.maxTimeWait());
        this.udp = new UdpLayer(this);
        this.reassembly = new Ipv4Reassembly(timers, alloc, stats, new ReassemblyOutput());
        List<StackConfig.InterfaceAddress> v6 = new ArrayList<>();
        for (StackConfig.InterfaceAddress a : config.addresses()) {
            if (!(a.address() instanceof Inet4Address)) {
                v6.add(a);
            }
        }
        if (!v6.isEmpty() || link == null) {
            // A stack without a link is loopback only: it has ::1 as it has 127.0.0.1.
            int firstId = config.seed() != null ? (int) (config.seed() * 0x9E3779B97F4A7C15L >>> 32)
                    : new java.security.SecureRandom().nextInt();
            this.ipv6 = new Ipv6Layer(this, v6, config.gateway6(), firstId);
        } else {
            if (config.gateway6() != null) {
                throw new IllegalArgumentException("IPv6 gateway " + config.gateway6().getHostAddress()
                        + " given but the stack has no IPv6 address: add one, e.g. address(\"fd00:198::2/64\")");
            }
            this.ipv6 = null;
        }
    }

    /** The path MTU cache (RFC 1191, RFC 8201). */
    public PathMtuCache pathMtu() {
        return pathMtu;
    }

    /** The IPv6 neighbour cache, or null when the stack has no IPv6 address. */
    public NeighborCache neighbors() {
        return ipv6 != null ? ipv6.neighbors() : null;
    }

    /** IPv6 reassembly, or null when the stack has no IPv6 address. */
    public Ipv6Reassembly ipv6Reassembly() {
        return ipv6 != null ? ipv6.reassembly() : null;
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
        return reassembly;
    }

    /** The link, or null. */
    public Link link() {
        return link;
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
        return v4Addresses.length > 0 ? v4Addresses[0] : 0;
    }

    // ------------------------------------------------------------------ driving

    /**
     * Reads and processes up to {@code budget} frames from the link and the loopback queue; returns how many.
     */
    public int pollLink(int budget) throws IOException {
        int n = 0;
        int lo = loopback.size(); // only what was queued before this call: loopback replies wait a turn
        while (lo-- > 0 && n < budget) {
            ByteBuf f = loopback.poll();
            inputFromLoopback = true;
            try {
                guardedInput(f);
            } finally {
                inputFromLoopback = false;
                f.release();
            }
            n++;
        }
        if (link == null) {
            return n;
        }
        while (n < budget) {
            ByteBuf f = link.receive(alloc);
            if (f == null) {
                break;
            }
            try {
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
        return !loopback.isEmpty();
    }

    /** Fires due timers; returns how many fired. */
    public int runTimers() {
        return timers.runExpired(clock.nanoTime());
    }

    /** The next timer deadline in {@link Clock#nanoTime()} terms, or {@link TimerQueue#NONE}. */
    public long nextDeadline() {
        return timers.nextDeadline();
    }

    /** Delivers collected socket events to their handlers; returns how many sockets were told. */
    public int dispatchEvents() {
        int n = 0;
        TcpSocket s;
        while ((s = ready.poll()) != null) {
            try {
                s.dispatch();
            } catch (RuntimeException e) {
                faults.caught(LoopFaults.Site.DISPATCH, s, e);
            }
            n++;
        }
        UdpSocket u;
        while ((u = udpReady.poll()) != null) {
            try {
                u.dispatch();
            } catch (RuntimeException e) {
                faults.caught(LoopFaults.Site.DISPATCH, u, e);
            }
            n++;
        }
        return n;
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
        stats.framesIn++;
        int base = f.readerIndex();
        int len = f.readableBytes();
        stats.bytesIn += len;
        boolean checksumTrusted = false;
        if (vnet > 0) {
            if (len < vnet) {
                stats.dropShortFrame++;
                return;
            }
            // A partial checksum (NEEDS_CSUM) comes from the kernel's own stack on this host, and DATA_VALID
            // means it was verified: neither is checked again (as a NIC with RX checksum offload).
            checksumTrusted = (VirtioNetHeader.flags(f, base)
                    & (VirtioNetHeader.F_NEEDS_CSUM | VirtioNetHeader.F_DATA_VALID)) != 0;
            base += vnet;
            len -= vnet;
        }
        if (len < Ethernet.HEADER_LENGTH) {
            stats.dropShortFrame++;
            return;
        }
        long dst = Ethernet.dst(f, base);
        if (dst != mac && dst != MacAddress.BROADCAST.toLong() && (dst & (1L << 40)) == 0) {
            stats.dropNotForUs++;
            return;
        }
        int type = Ethernet.type(f, base);
        int l3o = base + Ethernet.HEADER_LENGTH;
        int l3len = len - Ethernet.HEADER_LENGTH;
        switch (type) {
            case Ethernet.TYPE_IPV4:
                ipv4Input(f, l3o, l3len, checksumTrusted, dst != mac);
                break;
            case Ethernet.TYPE_IPV6:
                if (ipv6 == null) {
                    stats.dropIp6NotForUs++;
                } else {
                    ipv6.input(f, l3o, l3len, checksumTrusted, Ethernet.src(f, base), inputFromLoopback);
                }
                break;
            case Ethernet.TYPE_ARP:
                arpInput(f, l3o, l3len);
                break;
            default:
                stats.dropUnknownEtherType++;
                break;
        }
    }

    private void arpInput(ByteBuf f, int o, int len) {
        if (len < Arp.LENGTH || !Arp.isEthernetIpv4(f, o)) {
            stats.dropArpMalformed++;
            return;
        }
        int op = Arp.op(f, o);
        long sha = Arp.sha(f, o);
        int spa = Arp.spa(f, o);
        int tpa = Arp.tpa(f, o);
        if ((sha & (1L << 40)) != 0 || (op != Arp.OP_REQUEST && op != Arp.OP_REPLY)) {
            stats.dropArpMalformed++;
            return;
        }
        // 127/8 is not on any link (RFC 1122 §3.2.1.3 (g)): no answer for it, and no entry for a sender that claims
        // it, a group or broadcast address, or one of our own addresses (issue #10).
        boolean forUs = isOwnAddress(tpa);
        long now = clock.nanoTime();
        boolean spaMartian = spa == 0 || (spa >>> 24) == 127 || isBroadcastOrMulticast(spa) || isOwnAddress(spa);
        if (spaMartian && spa != 0) {
            stats.dropArpMartian++;
            return;
        }
        // RFC 826 packet reception: merge, then (if we are the target) add and reply.
        if (spa != 0) {
            arp.learn(spa, sha, forUs, now);
        }
        if (forUs && op == Arp.OP_REQUEST) {
            ByteBuf r = newFrame(Ethernet.HEADER_LENGTH + Arp.LENGTH);
            Ethernet.write(r, vnet, sha, mac, Ethernet.TYPE_ARP);
            Arp.write(r, l3, Arp.OP_REPLY, mac, tpa, sha, spa);
            stats.arpRepliesOut++;
            transmitFrame(r);
        }
    }

    private void ipv4Input(ByteBuf f, int o, int len, boolean checksumTrusted, boolean linkBroadcast) {
        if (len < Ipv4.MIN_HEADER_LENGTH || Ipv4.version(f, o) != 4) {
            stats.dropIpMalformed++;
            return;
        }
        int hl = Ipv4.headerLength(f, o);
        int total = Ipv4.totalLength(f, o);
        if (hl < Ipv4.MIN_HEADER_LENGTH || total < hl || total > len) {
            stats.dropIpMalformed++;
            return;
        }
        if (Checksum.fold(Checksum.add(f, o, hl, 0)) != 0xffff) {
            stats.dropIpChecksum++;
            return;
        }
        int dst = Ipv4.dst(f, o);
        int src = Ipv4.src(f, o);
        if (!inputFromLoopback && ((dst >>> 24) == 127 || isOwnAddress(src))) {
            // RFC 1122 §3.2.1.3 (g): 127/8 never appears on a network, so a datagram to it from the link is dropped
            // (it would reach our listeners on 127.0.0.1 and be answered from 127.x); one of our own addresses as
            // its source is a spoof or a loop (issue #10).
            stats.dropIpMartian++;
            return;
        }
        boolean broadcast = !isLocalAddress(dst) && isBroadcast(dst); // UDP takes broadcasts (issue #5)
        if (!isLocalAddress(dst) && !broadcast) {
            stats.dropIpNotForUs++;
            return;
        }
        if (isMartian(src)) {
            stats.dropIpMalformed++;
            return;
        }
        int ff = Ipv4.flagsFragment(f, o);
        if ((ff & (Ipv4.FLAG_MF | Ipv4.FRAGMENT_OFFSET_MASK)) != 0) {
            // RFC 791 §3.2: the whole datagram comes back through ReassemblyOutput (issue #5).
            reassembly.input(f, o, clock.nanoTime());
            return;
        }
        ipv4Deliver(f, o, hl, total, src, dst, checksumTrusted, broadcast, linkBroadcast);
    }

    /** The protocol demultiplexing of a whole (possibly reassembled) datagram whose IPv4 header is at {@code o}. */
    private void ipv4Deliver(ByteBuf f, int o, int hl, int total, int src, int dst, boolean checksumTrusted,
                             boolean broadcast, boolean linkBroadcast) {
        int proto = Ipv4.protocol(f, o);
        int l4 = o + hl;
        int l4len = total - hl;
        if (broadcast && proto != Ipv4.PROTO_UDP) {
            stats.dropIpNotForUs++;
            return;
        }
        switch (proto) {
            case Ipv4.PROTO_TCP:
                tcp.input(f, l4, l4len, src, dst, checksumTrusted);
                break;
            case Ipv4.PROTO_UDP:
                if (!udp.input(f, l4, l4len, src, dst, checksumTrusted, broadcast)) {
                    // RFC 1122 §4.1.3.1: a datagram for a port nobody listens on gets ICMP port unreachable.
                    sendIcmpError(f, o, total, Icmpv4.DEST_UNREACHABLE, Icmpv4.CODE_PORT_UNREACHABLE, linkBroadcast);
                }
                break;
            case Ipv4.PROTO_ICMP:
                icmpInput(f, l4, l4len, src, dst);
                break;
            default:
                stats.dropIpUnknownProtocol++;
                break;
        }
    }

    private boolean isMartian(int src) {
        int top = src >>> 24;
        // 0/8, multicast and class E, broadcast, and (from the wire) loopback are never valid sources
        // (RFC 1122 §3.2.1.3, RFC 9293 MUST-63).
        return top == 0 || top >= 224 || (top == 127 && !inputFromLoopback) || isBroadcast(src);
    }

    private boolean isBroadcastOrMulticast(int ip) {
        return ip == 0 || (ip >>> 28) == 0xe || isBroadcast(ip);
    }

    private void icmpInput(ByteBuf f, int o, int len, int src, int dst) {
        if (len < Icmpv4.HEADER_LENGTH || Checksum.fold(Checksum.add(f, o, len, 0)) != 0xffff) {
            stats.dropIcmpMalformed++;
            return;
        }
        int type = f.getUnsignedByte(o);
        if (type == Icmpv4.ECHO_REQUEST) {
            // RFC 1122 §3.2.2.6: reply with the same identifier, sequence and data.
            ByteBuf r = newIpv4Frame(len);
            int ro = l4v4;
            r.setBytes(ro, f, o, len);
            r.setByte(ro, Icmpv4.ECHO_REPLY);
            r.setShort(ro + 2, 0);
            r.setShort(ro + 2, Checksum.compute(r, ro, len));
            stats.icmpEchoReplies++;
            // The data comes back whole (RFC 1122 §3.2.2.6): a reply larger than the MTU (the request came in
            // fragments) leaves in fragments, DF clear, as Linux does.
            sendIpv4Datagram(r, dst, src, Ipv4.PROTO_ICMP, len, -1, 0);
        } else if (type == Icmpv4.DEST_UNREACHABLE || type == Icmpv4.TIME_EXCEEDED
                || type == Icmpv4.PARAMETER_PROBLEM) {
            // Source quench is ignored (RFC 6633); the rest go to the transport that sent the quoted datagram.
            stats.icmpErrorsIn++;
            icmpErrorInput(f, o, len, type, f.getUnsignedByte(o + 1), src);
        }
    }

    /**
     * An ICMP error about a datagram we sent (RFC 792: the quote is its IPv4 header and at least 8 bytes after
     * it). To TCP (RFC 9293 §3.9.2.2 MUST-54; RFC 5927: the quoted sequence number is checked there), with
     * fragmentation-needed lowering the path MTU (RFC 1191); hard errors to connected UDP sockets
     * (RFC 1122 §4.1.3.3).
     */
    private void icmpErrorInput(ByteBuf f, int o, int len, int type, int code, int from) {
        int q = o + Icmpv4.HEADER_LENGTH;
        int qlen = len - Icmpv4.HEADER_LENGTH;
        if (qlen < Ipv4.MIN_HEADER_LENGTH || Ipv4.version(f, q) != 4) {
            stats.dropIcmpMalformed++;
            return;
        }
        int hl = Ipv4.headerLength(f, q);
        int local = Ipv4.src(f, q);
        int remote = Ipv4.dst(f, q);
        if (hl < Ipv4.MIN_HEADER_LENGTH || qlen < hl + 8 || !isLocalAddress(local)
                || (Ipv4.flagsFragment(f, q) & Ipv4.FRAGMENT_OFFSET_MASK) != 0) {
            stats.dropIcmpMalformed++; // too short to name a connection, not ours, or not a first fragment
            return;
        }
        int proto = Ipv4.protocol(f, q);
        int u = q + hl;
        int localPort = f.getUnsignedShort(u);
        int remotePort = f.getUnsignedShort(u + 2);
        long localLo = IpAddress.mappedLo(local);
        long remoteLo = IpAddress.mappedLo(remote);
        if (type == Icmpv4.DEST_UNREACHABLE && code == Icmpv4.CODE_FRAG_NEEDED) {
            int mtu = f.getUnsignedShort(o + 6);
            if (mtu == 0) {
                mtu = PathMtuCache.plateau(Ipv4.totalLength(f, q)); // RFC 1191 §5: an old router
            }
            if (proto == Ipv4.PROTO_TCP) {
                tcp.icmpPacketTooBig(0, localLo, localPort, 0, remoteLo, remotePort, f.getInt(u + 4), mtu);
            } else {
                reportPathMtu(IpAddress.v4(remote), mtu);
            }
            return;
        }
        if (proto == Ipv4.PROTO_TCP) {
            // RFC 1122 §4.2.3.9: protocol and port unreachable (and the administrative prohibitions, as
            // Linux) are hard errors; the rest are soft.
            boolean hard = type == Icmpv4.DEST_UNREACHABLE && (code == 2 || code == 3 || code == 9 || code == 10
                    || code == 13);
            tcp.icmpError(0, localLo, localPort, 0, remoteLo, remotePort, f.getInt(u + 4), hard,
                    describeIcmp(type, code, from));
        } else if (proto == Ipv4.PROTO_UDP && type == Icmpv4.DEST_UNREACHABLE) {
            udp.icmpError(code, 0, localLo, localPort, 0, remoteLo, remotePort, IpAddress.v4(from));
        }
    }

    private static String describeIcmp(int type, int code, int from) {
        String what;
        if (type == Icmpv4.DEST_UNREACHABLE) {
            switch (code) {
                case 0: what = "network unreachable"; break;
                case 1: what = "host unreachable"; break;
                case 2: what = "protocol unreachable"; break;
                case 3: what = "port unreachable"; break;
                case 9: case 10: case 13: what = "communication administratively prohibited"; break;
                default: what = "destination unreachable (code " + code + ")"; break;
            }
        } else if (type == Icmpv4.TIME_EXCEEDED) {
            what = "time exceeded";
        } else {
            what = "parameter problem";
        }
        return "ICMP " + what + " from " + Ipv4.toString(from);
    }

    // ------------------------------------------------------------------ ICMP errors and reassembly (issue #5)

    /**
     * Sends an ICMP error about the datagram whose IPv4 header is at {@code ipo} ({@code available} bytes of it
     * present), quoting its header and first 8 payload bytes (RFC 792; RFC 1122 §3.2.2). None is sent where
     * RFC 1122 §3.2.2 forbids it (about an ICMP error, a broadcast or multicast destination, a link-layer
     * broadcast, a non-initial fragment, a source that is not one host) or when the rate limit
     * (RFC 1812 §4.3.2.8) is spent.
     */
    private void sendIcmpError(ByteBuf f, int ipo, int available, int type, int code, boolean linkBroadcast) {
        int hl = Ipv4.headerLength(f, ipo);
        int src = Ipv4.src(f, ipo);
        int dst = Ipv4.dst(f, ipo);
        if (linkBroadcast || isBroadcast(dst) || (dst >>> 28) == 0xe || isMartian(src) || isBroadcast(src)
                || (Ipv4.flagsFragment(f, ipo) & Ipv4.FRAGMENT_OFFSET_MASK) != 0
                || (Ipv4.protocol(f, ipo) == Ipv4.PROTO_ICMP
                    && (available <= hl || Icmpv4.isError(f.getUnsignedByte(ipo + hl))))) {
            return;
        }
        if (!icmpErrorLimit.tryTake(clock.nanoTime())) {
            stats.icmpErrorsRateLimited++;
            return;
        }
        int quoted = Math.min(available, hl + 8);
        int len = Icmpv4.HEADER_LENGTH + quoted;
        ByteBuf r = newIpv4Frame(len);
        int ro = l4v4;
        r.setByte(ro, type);
        r.setByte(ro + 1, code);
        r.setShort(ro + 2, 0);
        r.setInt(ro + 4, 0); // unused
        r.setBytes(ro + Icmpv4.HEADER_LENGTH, f, ipo, quoted);
        r.setShort(ro + 2, Checksum.compute(r, ro, len));
        stats.icmpErrorsOut++;
        sendIpv4(r, dst, src, Ipv4.PROTO_ICMP, len, -1, 0, 0);
    }

    /** Where reassembled and timed-out datagrams go. */
    private final class ReassemblyOutput implements Ipv4Reassembly.Output {
        @Override
        public void reassembled(ByteBuf d, int ipo) {
            int dst = Ipv4.dst(d, ipo);
            boolean broadcast = !isLocalAddress(dst) && isBroadcast(dst);
            ipv4Deliver(d, ipo, Ipv4.headerLength(d, ipo), Ipv4.totalLength(d, ipo), Ipv4.src(d, ipo), dst, false,
                    broadcast, false);
        }

        @Override
        public void timedOut(ByteBuf d, int ipo, int length) {
            // RFC 1122 §3.3.2: time exceeded (fragment reassembly) when fragment zero had come.
            sendIcmpError(d, ipo, length, Icmpv4.TIME_EXCEEDED, Icmpv4.CODE_REASSEMBLY_TIME_EXCEEDED, false);
        }
    }

    // ------------------------------------------------------------------ TcpEnv and UdpEnv: both families

    @Override
    public int payloadOffset(boolean v6) {
        return v6 ? l3 + io.usertcp.wire.Ipv6.HEADER_LENGTH : l4v4;
    }

    @Override
    public ByteBuf newFrame(boolean v6, int l4Length) {
        return v6 ? ipv6OrFail().newFrame(l4Length) : newIpv4Frame(l4Length);
    }

    @Override
    public void send(ByteBuf frame, IpAddress src, IpAddress dst, int protocol, int l4Length, int csumOffset,
                     int gsoSize, int tos) {
        if (dst.isV4()) {
            sendIpv4(frame, src.v4(), dst.v4(), protocol, l4Length, csumOffset, gsoSize, tos);
        } else {
            ipv6OrFail().send(frame, src, dst, protocol, l4Length, csumOffset, gsoSize, tos);
        }
    }

    @Override
    public void sendDatagram(ByteBuf frame, IpAddress src, IpAddress dst, int protocol, int l4Length,
                             int csumOffset, int tos) {
        if (dst.isV4()) {
            sendIpv4Datagram(frame, src.v4(), dst.v4(), protocol, l4Length, csumOffset, tos);
        } else {
            ipv6OrFail().sendDatagram(frame, src, dst, protocol, l4Length, csumOffset, tos);
        }
    }

    @Override
    public int maxSegmentPayload(IpAddress dst, int mss, int tcpHeaderLength) {
        return dst.isV4() ? maxSegmentPayload(dst.v4(), mss, tcpHeaderLength)
                : ipv6OrFail().maxSegmentPayload(dst, mss, tcpHeaderLength);
    }

    @Override
    public int mtuTo(IpAddress dst) {
        return dst.isV4() ? mtuTo(dst.v4()) : ipv6 == null ? Ipv6Layer.MIN_MTU : ipv6.mtuTo(dst.hi(), dst.lo());
    }

    @Override
    public int reportPathMtu(IpAddress dst, int reported) {
        if (dst.isLoopback() || isLocalAddress(dst)) {
            return LOOPBACK_MTU;
        }
        long now = clock.nanoTime();
        pathMtu.update(dst.isV6(), dst.hi(), dst.lo(), reported, mtu, now);
        return pathMtu.mtu(dst.isV6(), dst.hi(), dst.lo(), mtu, now);
    }

    @Override
    public void confirmReachable(IpAddress dst) {
        if (ipv6 != null && dst.isV6()) {
            ipv6.confirmReachable(dst.hi(), dst.lo(), clock.nanoTime());
        }
    }

    @Override
    public IpAddress sourceAddressFor(IpAddress dst) {
        if (dst.isV4()) {
            int s = sourceAddressFor(dst.v4());
            return s == 0 ? null : IpAddress.v4(s);
        }
        return ipv6 == null ? null : ipv6.sourceFor(dst.hi(), dst.lo());
    }

    @Override
    public boolean isBroadcastOrMulticast(IpAddress ip) {
        return ip.isV4() ? isBroadcastOrMulticast(ip.v4()) : ip.isAnyLocal() || ip.isMulticast();
    }

    @Override
    public boolean isLocalAddress(IpAddress ip) {
        return ip.isV4() ? isLocalAddress(ip.v4()) : ip.isLoopback() || (ipv6 != null && ipv6.isLocal(ip.hi(), ip.lo()));
    }

    @Override
    public boolean isBroadcast(IpAddress ip) {
        return ip.isV4() && isBroadcast(ip.v4());
    }

    private Ipv6Layer ipv6OrFail() {
        if (ipv6 == null) {
            throw new IllegalStateException("the stack has no IPv6 address");
        }
        return ipv6;
    }

    /** Queues a frame for the stack's own input (the loopback interface), or drops it if the queue is full. */
    void loopback(ByteBuf frame) {
        if (loopback.size() >= 4096) {
            stats.framesOutDropped++;
            frame.release();
            return;
        }
        loopback.add(frame);
    }

    /** Takes a token of the ICMP error rate limit shared by both families; false when spent. */
    boolean takeIcmpErrorToken() {
        return icmpErrorLimit.tryTake(clock.nanoTime());
    }

    // ------------------------------------------------------------------ output

    /** A frame of {@code length} bytes after the virtio header (zeroed), writerIndex at its end. */
    ByteBuf newFrame(int length) {
        int total = vnet + length;
        ByteBuf f = alloc.directBuffer(total, total);
        if (vnet > 0) {
            VirtioNetHeader.writeNone(f, 0);
        }
        f.writerIndex(total);
        return f;
    }

    private ByteBuf newIpv4Frame(int l4Length) {
        return newFrame(Ethernet.HEADER_LENGTH + Ipv4.MIN_HEADER_LENGTH + l4Length);
    }

    private int maxSegmentPayload(int dst, int mss, int tcpHeaderLength) {
        if (!tso || isLocalAddress(dst) || (dst >>> 24) == 127) {
            return mss;
        }
        int max = TSO_MAX_L4 - tcpHeaderLength;
        return Math.max(mss, max - max % mss);
    }

    /** Fills the IPv4 header (DF set, type of service {@code tos}) and sends; see {@link #send}. */
    private void sendIpv4(ByteBuf frame, int src, int dst, int protocol, int l4Length, int csumOffset, int gsoSize,
                         int tos) {
        Ipv4.writeHeader(frame, l3, tos, Ipv4.MIN_HEADER_LENGTH + l4Length, ipId++ & 0xffff, Ipv4.FLAG_DF, ttl,
                protocol, src, dst);
        checksumAndRoute(frame, dst, protocol, l4Length, csumOffset, gsoSize);
    }

    private void sendIpv4Datagram(ByteBuf frame, int src, int dst, int protocol, int l4Length, int csumOffset,
                                 int tos) {
        int pathMtu = mtuTo(dst);
        if (Ipv4.MIN_HEADER_LENGTH + l4Length <= pathMtu) {
            // DF clear: without path MTU discovery for UDP, routers may fragment (issue #5).
            Ipv4.writeHeader(frame, l3, tos, Ipv4.MIN_HEADER_LENGTH + l4Length, ipId++ & 0xffff, 0, ttl,
                    protocol, src, dst);
            checksumAndRoute(frame, dst, protocol, l4Length, csumOffset, 0);
        } else {
            fragment(frame, src, dst, protocol, l4Length, csumOffset, tos, pathMtu);
        }
    }

    /**
     * RFC 791 §3.2 (RFC 1122 §3.3.3): sends a datagram larger than the MTU as fragments with one identification,
     * DF clear, MF on all but the last, offsets in 8-byte units, each carrying a multiple of 8 payload bytes but
     * the last. Releases {@code frame}.
     */
    private void fragment(ByteBuf frame, int src, int dst, int protocol, int l4Length, int csumOffset, int tos,
                          int pathMtu) {
        try {
            if (csumOffset >= 0) {
                // A partial checksum cannot be offloaded across fragments: complete it over the whole datagram.
                int c = Checksum.finish(Checksum.add(frame, l4v4, l4Length, 0));
                frame.setShort(l4v4 + csumOffset, c == 0 ? 0xffff : c);
            }
            int id = ipId++ & 0xffff;
            int per = (pathMtu - Ipv4.MIN_HEADER_LENGTH) & ~7;
            stats.ipFragmented++;
            for (int off = 0; off < l4Length; off += per) {
                int n = Math.min(per, l4Length - off);
                ByteBuf fr = newIpv4Frame(n);
                fr.setBytes(l4v4, frame, l4v4 + off, n);
                int flags = (off + n < l4Length ? Ipv4.FLAG_MF : 0) | (off >>> 3);
                Ipv4.writeHeader(fr, l3, tos, Ipv4.MIN_HEADER_LENGTH + n, id, flags, ttl, protocol, src, dst);
                stats.ipFragmentsOut++;
                checksumAndRoute(fr, dst, protocol, n, -1, 0);
            }
        } finally {
            frame.release();
        }
    }

    /** Completes (or leaves to the link) the transport checksum and sends the frame whose IPv4 header is written. */
    private void checksumAndRoute(ByteBuf frame, int dst, int protocol, int l4Length, int csumOffset, int gsoSize) {
        boolean local = isLocalAddress(dst) || (dst >>> 24) == 127;
        if (csumOffset >= 0) {
            if (vnet > 0 && !local) {
                // Leave the partial checksum for the kernel (CHECKSUM_PARTIAL); cut by gso_size if large.
                boolean gso = gsoSize > 0 && l4Length - (frame.getUnsignedByte(l4v4 + 12) >>> 4 << 2) > gsoSize;
                int hdrLen = Ethernet.HEADER_LENGTH + Ipv4.MIN_HEADER_LENGTH
                        + (protocol == Ipv4.PROTO_TCP ? frame.getUnsignedByte(l4v4 + 12) >>> 4 << 2 : 8);
                VirtioNetHeader.writePartial(frame, 0, Ethernet.HEADER_LENGTH + Ipv4.MIN_HEADER_LENGTH, csumOffset,
                        gso ? VirtioNetHeader.GSO_TCPV4 : VirtioNetHeader.GSO_NONE, gso ? gsoSize : 0, hdrLen);
            } else {
                // Complete it here: the field holds the pseudo-header sum, so summing the segment finishes it.
                // A result of 0 goes out as 0xffff, its equal in one's complement: for UDP 0 means "none" (RFC 768).
                int c = Checksum.finish(Checksum.add(frame, l4v4, l4Length, 0));
                frame.setShort(l4v4 + csumOffset, c == 0 ? 0xffff : c);
            }
        }
        if (local) {
            Ethernet.write(frame, vnet, mac, mac, Ethernet.TYPE_IPV4);
            if (vnet > 0) {
                VirtioNetHeader.writeNone(frame, 0);
            }
            loopback(frame);
            return;
        }
        if (link == null) {
            stats.framesOutDropped++;
            frame.release();
            return;
        }
        if (isBroadcast(dst)) {
            Ethernet.write(frame, vnet, MacAddress.BROADCAST.toLong(), mac, Ethernet.TYPE_IPV4); // issue #5
            transmitFrame(frame);
            return;
        }
        int nextHop = gateway != 0 && !onLink(dst) ? gateway : dst;
        long now = clock.nanoTime();
        long dmac = arp.lookup(nextHop, now);
        Ethernet.write(frame, vnet, dmac < 0 ? 0 : dmac, mac, Ethernet.TYPE_IPV4);
        if (dmac < 0) {
            arp.resolve(nextHop, frame, now);
            return;
        }
        transmitFrame(frame);
    }

    public int mtuTo(int dst) {
        return isLocalAddress(dst) || (dst >>> 24) == 127 ? LOOPBACK_MTU
                : pathMtu.mtu(false, 0, IpAddress.mappedLo(dst), mtu, clock.nanoTime());
    }

    private int sourceAddressFor(int dst) {
        if ((dst >>> 24) == 127) {
            return dst == 0x7f000001 ? dst : 0x7f000001;
        }
        for (int i = 0; i < v4Addresses.length; i++) {
            if ((dst & v4Masks[i]) == (v4Addresses[i] & v4Masks[i])) {
                return v4Addresses[i];
            }
        }
        return gateway != 0 || v4Addresses.length > 0 ? primaryIpv4() : 0;
    }

    public boolean isLocalAddress(int ip) {
        for (int a : v4Addresses) {
            if (a == ip) {
                return true;
            }
        }
        return (ip >>> 24) == 127;
    }

    /** One of the stack's configured IPv4 addresses (not 127/8). */
    private boolean isOwnAddress(int ip) {
        for (int a : v4Addresses) {
            if (a == ip) {
                return true;
            }
        }
        return false;
    }

    private boolean isBroadcast(int ip) {
        if (ip == -1) {
            return true; // 255.255.255.255, the limited broadcast
        }
        for (int i = 0; i < v4Addresses.length; i++) {
            int m = v4Masks[i];
            // The directed broadcast of a prefix (none on /31 and /32, RFC 3021).
            if (m != -1 && m != -2 && (ip & ~m) == ~m && (ip & m) == (v4Addresses[i] & m)) {
                return true;
            }
        }
        return false;
    }

    private boolean onLink(int ip) {
        for (int i = 0; i < v4Addresses.length; i++) {
            if ((ip & v4Masks[i]) == (v4Addresses[i] & v4Masks[i])) {
                return true;
            }
        }
        return false;
    }

    @Override
    public void sendArpRequest(int targetIp, long dstMac) {
        if (link == null) {
            return;
        }
        int spa = sourceAddressFor(targetIp);
        ByteBuf r = newFrame(Ethernet.HEADER_LENGTH + Arp.LENGTH);
        Ethernet.write(r, vnet, dstMac, mac, Ethernet.TYPE_ARP);
        Arp.write(r, l3, Arp.OP_REQUEST, mac, spa, 0, targetIp);
        stats.arpRequestsOut++;
        transmitFrame(r);
    }

    @Override
    public void transmitResolved(ByteBuf frame) {
        transmitFrame(frame);
    }

    @Override
    public void dropUnresolved(ByteBuf frame) {
        stats.dropArpUnresolved++;
        frame.release();
    }

    /** Sends a complete frame on the link and releases it. */
    void transmitFrame(ByteBuf frame) {
        try {
            if (link != null && link.transmit(frame)) {
                stats.framesOut++;
                stats.bytesOut += frame.readableBytes();
            } else {
                stats.framesOutDropped++;
            }
        } catch (IOException e) {
            stats.framesOutDropped++;
            logger.warn("link transmit failed", e);
        } finally {
            frame.release();
        }
    }

    // ------------------------------------------------------------------ lifecycle

    /** Resets every connection, frees queued frames and closes the link. Idempotent. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        tcp.closeAll();
        udp.closeAll();
        flush();
        dispatchEvents();
        reassembly.clear();
        arp.clear();
        if (ipv6 != null) {
            ipv6.clear();
        }
        ByteBuf f;
        while ((f = loopback.poll()) != null) {
            f.release();
        }
        if (link != null) {
            link.close();
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
