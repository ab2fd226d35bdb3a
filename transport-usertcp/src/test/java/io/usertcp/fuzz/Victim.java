package io.usertcp.fuzz;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PoolArenaMetric;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.usertcp.ip.ArpTable;
import io.usertcp.ip.Ipv4Reassembly;
import io.usertcp.ip.Ipv6Reassembly;
import io.usertcp.ip.NeighborCache;
import io.usertcp.ip.PathMtuCache;
import io.usertcp.stack.Stack;
import io.usertcp.stack.StackConfig;
import io.usertcp.stats.StackStats;
import io.usertcp.tcp.TcpConnection;
import io.usertcp.tcp.TcpListener;
import io.usertcp.udp.UdpSocket;
import io.usertcp.wire.IpAddress;
import io.usertcp.wire.VirtioNetHeader;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.Inet6Address;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The world of the {@code Stack.input} fuzz targets: a dual-stack victim (198.18.0.2, fd00:198::2) on a
 * {@link CaptureLink}, in virtual time, with live sockets of every kind, and a scripted peer (198.18.0.1,
 * fd00:198::1) that the targets speak for. Everything is made afresh for each input, so an input replays the same
 * way in fuzzing and in regression mode.
 *
 * <p>The victim's sockets: a TCP listener on port 80 whose accepted connections echo what they read (and close
 * when the peer does); one established connection per family that the peer opened (peer port 40000) and one the
 * victim opened (local port 45000 to the peer's 8080), both echoing too; one connection per family stuck in
 * SYN-SENT (45001 to 8081); a bound, unconnected UDP socket on port 7000; and connected UDP sockets on 7001
 * (to 198.18.0.1:9000) and 7002 (to [fd00:198::1]:9000), which have sent a datagram each. The peer's ARP and
 * NDP entries are in place and the scripted peer answers the victim's ARP requests and neighbour solicitations
 * for any address on the link, as the rest of a real link would.
 *
 * <p>The checks, after each input ({@link #check}): no exception escaped (the caller calls
 * {@link Stack#input} directly, and the loop's own fault barriers around timers, dispatch and flush counted
 * none), the bounded tables are within their bounds, no frame over the MTU was sent, the stack still answers
 * (ARP, NDP, ping and a TCP echo on a fresh connection, both families), and after {@link #close} every buffer it
 * took from its allocator is back (a cache-less pooled allocator counts them exactly; Netty's paranoid leak
 * detector watches as well).
 */
final class Victim implements AutoCloseable {
    static final long PEER_MAC = 0x0200_0000_0001L;
    static final long VICTIM_MAC = 0x0200_0000_0002L;
    static final int PEER_IP = 0xC6120001;
    static final int VICTIM_IP = 0xC6120002;
    static final IpAddress PEER4 = IpAddress.v4(PEER_IP);
    static final IpAddress VICTIM4 = IpAddress.v4(VICTIM_IP);
    static final long PREFIX6 = 0xfd00_0198_0000_0000L;
    static final IpAddress PEER6 = IpAddress.of(PREFIX6, 1);
    static final IpAddress VICTIM6 = IpAddress.of(PREFIX6, 2);
    /** The victim's link-local address (RFC 4291 Appendix A, from {@link #VICTIM_MAC}). */
    static final IpAddress VICTIM_LL = IpAddress.of(0xfe80_0000_0000_0000L, 0x0000_00ff_fe00_0002L);

    static final int LISTEN_PORT = 80;
    static final int PASSIVE_PEER_PORT = 40000;
    static final int ACTIVE_LOCAL_PORT = 45000;
    static final int ACTIVE_PEER_PORT = 8080;
    static final int SYN_SENT_LOCAL_PORT = 45001;
    static final int SYN_SENT_PEER_PORT = 8081;
    static final int UDP_BOUND_PORT = 7000;
    static final int UDP_CONNECTED4_PORT = 7001;
    static final int UDP_CONNECTED6_PORT = 7002;
    static final int UDP_PEER_PORT = 9000;
    /** The peer's initial sequence numbers: of the connections it opened, and of its SYN-ACKs. */
    static final int PASSIVE_ISN = 0x1000_0000;
    static final int ACTIVE_ISN = 0x2000_0000;
    /** The peer's timestamp value (RFC 7323), the same on every segment it sends. */
    static final int PEER_TSVAL = 1000;
    /** World option: frames carry a virtio-net header (a TAP with IFF_VNET_HDR). */
    static final int OPT_VNET = 1;
    /** World option: with {@link #OPT_VNET}, TCP segmentation offload too. */
    static final int OPT_TSO = 2;

    static final long MS = 1_000_000L;
    static final long SEC = 1000 * MS;
    /** Virtual time steps the targets can take (index 0: none). */
    static final long[] STEPS = {0, MS, 5 * MS, 20 * MS, 100 * MS, 200 * MS, 500 * MS, SEC, 2 * SEC, 5 * SEC,
        10 * SEC, 30 * SEC, 60 * SEC, 120 * SEC, 300 * SEC, 1000 * SEC};

    /** One allocator for all inputs: cache-less, so that its arena counts are exact (see {@link #live}). */
    static final PooledByteBufAllocator ALLOC = new PooledByteBufAllocator(true, 1, 1, 8192, 9, 0, 0, false);

    /** A TCP flow as the peer sees it. */
    static final class Flow {
        final boolean v6;
        final int victimPort;
        final int peerPort;
        boolean issKnown;
        int victimIss;
        /** The sequence number after the last one the victim sent (SND.NXT as the peer sees it). */
        int victimNxt;
        int victimTsval;
        /** The next sequence number the peer sends. */
        int peerNxt;
        TcpConnection conn;
        /** Whether the victim's application reads (an application that does not lets the window close). */
        boolean appReads = true;
        final ByteArrayOutputStream received = new ByteArrayOutputStream();

        Flow(boolean v6, int victimPort, int peerPort) {
            this.v6 = v6;
            this.victimPort = victimPort;
            this.peerPort = peerPort;
        }

        IpAddress victim() {
            return v6 ? VICTIM6 : VICTIM4;
        }

        IpAddress peer() {
            return v6 ? PEER6 : PEER4;
        }
    }

    final int vnet;
    final ManualClock clock = new ManualClock();
    final CaptureLink link;
    final Stack stack;
    final long baseline;
    private final Map<Long, Flow> flows = new HashMap<>();
    final TcpListener listener;
    final UdpSocket udpBound;
    final UdpSocket udpConnected4;
    final UdpSocket udpConnected6;
    /** The connections the victim's application holds (accepted or opened). */
    private final List<TcpConnection> owned = new ArrayList<>();
    /** Peer ports (TCP and UDP, both families) the inputs used: the liveness check keeps away from them. */
    private final BitSet usedPorts = new BitSet(65536);
    private final ArrayDeque<byte[]> replies = new ArrayDeque<>();
    /** UDP sockets whose application has stopped reading (their receive queues fill up). */
    private final Set<UdpSocket> udpPaused = new HashSet<>();
    private final ByteBuf scratch = Unpooled.buffer(65536);
    private int echoReplies4;
    private int echoReplies6;
    private int arpReplies;
    private int advertisements;
    private int pingSeq;
    /** The counters right after the set-up. */
    private final StackStats atStart = new StackStats();
    private boolean closed;

    /** Builds the victim and its sockets (see the class comment); {@code options} are {@code OPT_*} bits. */
    Victim(int options) {
        this.vnet = (options & OPT_VNET) != 0 ? VirtioNetHeader.LENGTH : 0;
        this.baseline = live();
        this.link = new CaptureLink(VICTIM_MAC, vnet, vnet > 0 && (options & OPT_TSO) != 0);
        this.stack = new Stack(StackConfig.builder().link(() -> link).address("198.18.0.2/24")
                .address("fd00:198::2/64").minRto(Duration.ofMillis(200)).timeWait(Duration.ofSeconds(10))
                .defaultReceiveBuffer(64 << 10).defaultSendBuffer(64 << 10).seed(7).build(), link, clock, ALLOC);
        try {
            listener = stack.tcp().listen(null, LISTEN_PORT, 64);
            listener.handler(ev -> acceptAll());
            udpBound = openUdp(UDP_BOUND_PORT, null);
            udpConnected4 = openUdp(UDP_CONNECTED4_PORT, PEER4);
            udpConnected6 = openUdp(UDP_CONNECTED6_PORT, PEER6);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        setUp();
    }

    private UdpSocket openUdp(int port, IpAddress peer) throws IOException {
        UdpSocket s = stack.udp().open();
        s.bind(0, port);
        if (peer != null) {
            s.connect(peer, UDP_PEER_PORT);
        }
        s.handler(ev -> drain(s));
        return s;
    }

    private void drain(UdpSocket s) {
        if (udpPaused.contains(s)) {
            return;
        }
        while (s.queuedDatagrams() > 0) {
            scratch.clear();
            s.receive(scratch);
        }
        s.takeError();
    }

    private void setUp() {
        teachNeighbours();
        for (boolean v6 : new boolean[] {false, true}) {
            // The peer opens a connection to the listener: SYN with every option, SYN-ACK, ACK.
            Flow p = flow(v6, LISTEN_PORT, PASSIVE_PEER_PORT);
            p.peerNxt = PASSIVE_ISN;
            send(p, Frames.SYN, 0, 65535, synOptions(), new byte[0]);
            send(p, Frames.ACK, 0, 65535, timestamps(p), new byte[0]);
            // The victim opens one: its SYN, the peer's SYN-ACK, its ACK.
            Flow a = flow(v6, ACTIVE_LOCAL_PORT, ACTIVE_PEER_PORT);
            a.conn = connect(v6, ACTIVE_LOCAL_PORT, ACTIVE_PEER_PORT);
            echo(a.conn);
            pump();
            a.peerNxt = ACTIVE_ISN;
            send(a, Frames.SYN | Frames.ACK, 0, 65535, synOptions(), new byte[0]);
            // And one that the peer never answers.
            flow(v6, SYN_SENT_LOCAL_PORT, SYN_SENT_PEER_PORT).conn = connect(v6, SYN_SENT_LOCAL_PORT,
                    SYN_SENT_PEER_PORT);
        }
        try {
            udpConnected4.send(Unpooled.wrappedBuffer(Frames.pattern(16, 1)), null, 0);
            udpConnected6.send(Unpooled.wrappedBuffer(Frames.pattern(16, 2)), null, 0);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        pump();
        for (boolean v6 : new boolean[] {false, true}) {
            for (int[] ports : new int[][] {{LISTEN_PORT, PASSIVE_PEER_PORT}, {ACTIVE_LOCAL_PORT, ACTIVE_PEER_PORT}}) {
                Flow f = flow(v6, ports[0], ports[1]);
                if (f.conn == null || !f.conn.isEstablished()) {
                    throw new AssertionError("set-up: " + (v6 ? "IPv6" : "IPv4") + " connection " + ports[0] + "<->"
                            + ports[1] + " is not established: " + f.conn + "; " + stack.stats());
                }
            }
        }
        link.take();
        usedPorts.clear();
        copy(stack.stats(), atStart);
    }

    /** How much {@code counter} grew since the set-up. */
    long delta(java.util.function.ToLongFunction<StackStats> counter) {
        return counter.applyAsLong(stack.stats()) - counter.applyAsLong(atStart);
    }

    private static void copy(StackStats from, StackStats to) {
        try {
            for (java.lang.reflect.Field f : StackStats.class.getFields()) {
                if (f.getType() == long.class && !java.lang.reflect.Modifier.isStatic(f.getModifiers())) {
                    f.setLong(to, f.getLong(from));
                }
            }
        } catch (IllegalAccessException e) {
            throw new AssertionError(e);
        }
    }

    private TcpConnection connect(boolean v6, int localPort, int remotePort) {
        try {
            TcpConnection c = stack.tcp().connect(null, localPort, v6 ? PEER6 : PEER4, remotePort, 0, 0);
            owned.add(c);
            return c;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The peer's ARP request and neighbour solicitation for the victim: its entries for the peer are fresh. */
    void teachNeighbours() {
        input(Frames.eth(-1L & 0xffff_ffff_ffffL, PEER_MAC, Frames.TYPE_ARP,
                Frames.arp(1, PEER_MAC, PEER_IP, 0, VICTIM_IP)), false);
        IpAddress sn = Frames.solicitedNode(VICTIM6);
        input(Frames.eth(Frames.multicastMac(sn), PEER_MAC, Frames.TYPE_IPV6, Frames.ipv6(PEER6, sn, Frames.ICMPV6,
                255, Frames.icmpv6(PEER6, sn, 135, 0, 0, Frames.ndpBody(VICTIM6, 1, PEER_MAC)))), false);
        pump();
    }

    // ------------------------------------------------------------------ the victim's applications

    private void acceptAll() {
        TcpConnection c;
        while ((c = listener.accept()) != null) {
            owned.add(c);
            InetSocketAddress r = c.remoteAddress();
            boolean v6 = r.getAddress() instanceof Inet6Address;
            Flow f = flows.get(key(v6, LISTEN_PORT, r.getPort()));
            if (f != null && f.conn == null) {
                f.conn = c;
            }
            echo(c);
            serve(c); // what came with the handshake's last ACK was signalled before there was a handler
        }
    }

    /** Stops or resumes the application's reading of {@code s}. */
    void toggleReading(UdpSocket s) {
        if (!udpPaused.remove(s)) {
            udpPaused.add(s);
        } else {
            drain(s);
        }
    }

    /** The echo application: reads what arrived and writes it back; closes when the peer has. */
    private void echo(TcpConnection c) {
        c.handler(ev -> serve(c));
    }

    void serve(TcpConnection c) {
        Flow f = flowOf(c);
        if (f != null && !f.appReads) {
            return;
        }
        for (;;) {
            scratch.clear();
            if (c.read(scratch) <= 0) {
                break;
            }
            try {
                if (c.writableBytes() > 0) {
                    c.write(scratch);
                }
            } catch (IOException e) {
                // reset or shut down by the input: what was read is dropped
            }
        }
        c.push();
        if (c.isInputEnded() && !c.isClosed()) {
            c.close();
        }
    }

    private Flow flowOf(TcpConnection c) {
        for (Flow f : flows.values()) {
            if (f.conn == c) {
                return f;
            }
        }
        return null;
    }

    // ------------------------------------------------------------------ flows

    static long key(boolean v6, int victimPort, int peerPort) {
        return (v6 ? 1L << 32 : 0) | ((long) victimPort << 16) | peerPort;
    }

    /** The flow between these ports, made (unknown to the victim) if new. */
    Flow flow(boolean v6, int victimPort, int peerPort) {
        return flows.computeIfAbsent(key(v6, victimPort, peerPort), k -> new Flow(v6, victimPort, peerPort));
    }

    /** The flow if the peer or the victim has used it. */
    Flow existing(boolean v6, int victimPort, int peerPort) {
        return flows.get(key(v6, victimPort, peerPort));
    }

    /** MSS 1460, SACK permitted, timestamps, window scale 7 (RFC 9293, 2018, 7323). */
    static byte[] synOptions() {
        byte[] o = {2, 4, 0x05, (byte) 0xb4, 4, 2, 8, 10, 0, 0, 0, 0, 0, 0, 0, 0, 1, 3, 3, 7};
        Frames.put32(o, 8, PEER_TSVAL);
        return o;
    }

    /** NOP, NOP, timestamps: the peer's value and an echo of the victim's latest on {@code f}. */
    static byte[] timestamps(Flow f) {
        byte[] o = {1, 1, 8, 10, 0, 0, 0, 0, 0, 0, 0, 0};
        Frames.put32(o, 4, PEER_TSVAL);
        Frames.put32(o, 8, f.victimTsval);
        return o;
    }

    /**
     * A segment from the peer on {@code f}: sequence number {@code f.peerNxt}, acknowledging everything the victim
     * sent (when the flags carry ACK); then {@code f.peerNxt} moves past it and the victim runs.
     */
    void send(Flow f, int flags, int urgent, int window, byte[] options, byte[] data) {
        int seq = f.peerNxt;
        f.peerNxt = seq + data.length + ((flags & Frames.SYN) != 0 ? 1 : 0) + ((flags & Frames.FIN) != 0 ? 1 : 0);
        input(tcpFrame(f, seq, (flags & Frames.ACK) != 0 ? f.victimNxt : 0, flags, window, urgent, options, data),
                false);
        pump();
    }

    /** A whole frame from the peer to the victim on {@code f}, checksum included. */
    static byte[] tcpFrame(Flow f, int seq, int ack, int flags, int window, int urgent, byte[] options, byte[] data) {
        return ipFrame(f.peer(), f.victim(), Frames.TCP, Frames.tcp(f.peer(), f.victim(), f.peerPort, f.victimPort,
                seq, ack, flags, window, urgent, options, data));
    }

    /** An Ethernet frame from the peer's MAC to the victim's carrying an IP packet of {@code src}'s family. */
    static byte[] ipFrame(IpAddress src, IpAddress dst, int protocol, byte[] l4) {
        return Frames.eth(VICTIM_MAC, PEER_MAC, src.isV4() ? Frames.TYPE_IPV4 : Frames.TYPE_IPV6,
                Frames.ip(src, dst, protocol, l4));
    }

    // ------------------------------------------------------------------ driving

    /**
     * Hands one Ethernet frame to {@link Stack#input}, directly (no fault barrier: whatever it throws reaches the
     * fuzzer), in a buffer of the counted allocator, after a virtio-net header when the link has one
     * ({@code trusted}: its flags say the checksum was verified, as the kernel does for its own packets).
     */
    void input(byte[] frame, boolean trusted) {
        notePorts(frame);
        ByteBuf b = ALLOC.directBuffer(Math.max(1, vnet + frame.length));
        if (vnet > 0) {
            b.writeByte(trusted ? VirtioNetHeader.F_DATA_VALID : 0);
            b.writeZero(vnet - 1);
        }
        b.writeBytes(frame);
        try {
            stack.input(b);
        } finally {
            b.release();
        }
    }

    /** One turn of the event loop: loopback frames, timers, events, ACKs; repeated while loopback frames wait. */
    void turn() {
        try {
            for (int i = 0; i < 16; i++) {
                stack.pollLink(64);
                stack.runTimers();
                stack.dispatchEvents();
                stack.flush();
                if (!stack.hasPendingInput()) {
                    break;
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Turns, reads what the victim sent, and feeds the peer's answers to it (ARP, NDP) until quiet. */
    void pump() {
        for (int round = 0; round < 16; round++) {
            turn();
            readOutput();
            if (replies.isEmpty()) {
                return;
            }
            while (!replies.isEmpty()) {
                input(replies.poll(), false);
            }
        }
    }

    /**
     * Lets {@code nanos} of virtual time pass, stopping at each timer deadline on the way (as a loop that sleeps
     * until the next deadline would). A timer that keeps firing without time passing is a bug (a busy loop).
     */
    void advance(long nanos) {
        long end = clock.now + nanos;
        int steps = 0;
        while (true) {
            long next = stack.nextDeadline();
            if (next == Long.MAX_VALUE || next - end > 0) {
                break;
            }
            clock.now = Math.max(clock.now, next);
            pump();
            if (++steps > 20_000) {
                throw new AssertionError("timers fired 20,000 times within " + nanos / MS + " ms of virtual time"
                        + " (a timer storm); " + stack.stats());
            }
        }
        clock.now = end;
        pump();
    }

    // ------------------------------------------------------------------ what the victim sends

    private void notePorts(byte[] f) {
        int type = Frames.u16(f, 12);
        int l4;
        int proto;
        if (type == Frames.TYPE_IPV4 && f.length >= Frames.ETH + 20) {
            proto = f[Frames.ETH + 9] & 0xff;
            l4 = Frames.ETH + (f[Frames.ETH] & 0xf) * 4;
        } else if (type == Frames.TYPE_IPV6 && f.length >= Frames.ETH + 40) {
            proto = f[Frames.ETH + 6] & 0xff;
            l4 = Frames.ETH + 40;
        } else {
            return;
        }
        if ((proto == Frames.TCP || proto == Frames.UDP) && f.length >= l4 + 2) {
            usedPorts.set(Frames.u16(f, l4));
        }
    }

    /** Reads the frames the victim sent: the peer's flows learn its sequence numbers; ARP and NDP are answered. */
    private void readOutput() {
        for (byte[] raw : link.take()) {
            byte[] f = vnet == 0 ? raw : Frames.slice(raw, vnet, raw.length - vnet);
            if (vnet == 0 || (raw[0] & VirtioNetHeader.F_NEEDS_CSUM) == 0) {
                wellFormed(f);
            }
            int type = Frames.u16(f, 12);
            if (type == Frames.TYPE_ARP && f.length >= Frames.ETH + 28) {
                arpOut(f);
            } else if (type == Frames.TYPE_IPV4 && f.length >= Frames.ETH + 20) {
                int o = Frames.ETH;
                int l4 = o + (f[o] & 0xf) * 4;
                int end = Math.min(f.length, o + Frames.u16(f, o + 2));
                int proto = f[o + 9] & 0xff;
                if ((Frames.u16(f, o + 6) & 0x3fff) != 0) {
                    continue; // a fragment
                }
                if (proto == Frames.TCP) {
                    tcpOut(false, f, l4, end);
                } else if (proto == Frames.ICMP && Frames.u8(f, l4) == 0) {
                    echoReplies4++;
                }
            } else if (type == Frames.TYPE_IPV6 && f.length >= Frames.ETH + 40) {
                int o = Frames.ETH;
                int l4 = o + 40;
                int end = Math.min(f.length, l4 + Frames.u16(f, o + 4));
                int nh = f[o + 6] & 0xff;
                if (nh == Frames.TCP) {
                    tcpOut(true, f, l4, end);
                } else if (nh == Frames.ICMPV6) {
                    icmp6Out(f, o, l4, end);
                }
            }
        }
    }

    /**
     * What the victim sends must be well-formed whatever it was sent: IP lengths within the frame and every
     * checksum right (recomputing them changes nothing), unless the checksum is left to the device.
     */
    private void wellFormed(byte[] f) {
        int type = Frames.u16(f, 12);
        int o = Frames.ETH;
        boolean lengthOk = type == Frames.TYPE_IPV4 ? f.length >= o + 20 && Frames.u16(f, o + 2) <= f.length - o
                : type != Frames.TYPE_IPV6 || f.length >= o + 40 && Frames.u16(f, o + 4) <= f.length - o - 40;
        byte[] fixed = f.clone();
        Frames.fixChecksums(fixed, 0);
        if (!lengthOk || !java.util.Arrays.equals(fixed, f)) {
            throw new AssertionError("the victim sent a malformed frame (" + (lengthOk ? "a wrong checksum"
                    : "an IP length beyond the frame") + "): " + java.util.HexFormat.of().formatHex(f));
        }
    }

    private void arpOut(byte[] f) {
        int o = Frames.ETH;
        int op = Frames.u16(f, o + 6);
        int tpa = Frames.i32(f, o + 24);
        if (op == 2) {
            arpReplies++;
        } else if (op == 1 && (tpa & 0xffff_ff00) == (VICTIM_IP & 0xffff_ff00) && tpa != VICTIM_IP) {
            replies.add(Frames.eth(VICTIM_MAC, PEER_MAC, Frames.TYPE_ARP,
                    Frames.arp(2, PEER_MAC, tpa, VICTIM_MAC, VICTIM_IP)));
        }
    }

    private void icmp6Out(byte[] f, int o, int l4, int end) {
        int type = Frames.u8(f, l4);
        if (type == 129) {
            echoReplies6++;
        } else if (type == 136) {
            advertisements++;
        } else if (type == 135 && end - l4 >= 24) {
            IpAddress target = IpAddress.of(hi(f, l4 + 8), hi(f, l4 + 16));
            boolean onLink = target.hi() == PREFIX6 || target.hi() == VICTIM_LL.hi();
            if (onLink && !target.equals(VICTIM6) && !target.equals(VICTIM_LL)) {
                IpAddress to = IpAddress.of(hi(f, o + 8), hi(f, o + 16));
                if (to.hi() == 0 && to.lo() == 0) {
                    return; // duplicate address detection: not for us to answer
                }
                replies.add(Frames.eth(VICTIM_MAC, PEER_MAC, Frames.TYPE_IPV6, Frames.ipv6(target, to,
                        Frames.ICMPV6, 255, Frames.icmpv6(target, to, 136, 0, 0x6000_0000,
                                Frames.ndpBody(target, 2, PEER_MAC)))));
            }
        }
    }

    private static long hi(byte[] b, int i) {
        return ((long) Frames.i32(b, i) << 32) | (Frames.i32(b, i + 4) & 0xffff_ffffL);
    }

    private void tcpOut(boolean v6, byte[] f, int l4, int end) {
        if (end - l4 < 20) {
            return;
        }
        int sport = Frames.u16(f, l4);
        int dport = Frames.u16(f, l4 + 2);
        int seq = Frames.i32(f, l4 + 4);
        int flags = f[l4 + 13] & 0xff;
        int hl = (f[l4 + 12] & 0xf0) >>> 2;
        int data = Math.max(0, end - l4 - hl);
        Flow fl = flow(v6, sport, dport);
        if ((flags & Frames.SYN) != 0) {
            fl.issKnown = true;
            fl.victimIss = seq;
            fl.victimNxt = seq;
        }
        int next = seq + data + ((flags & Frames.SYN) != 0 ? 1 : 0) + ((flags & Frames.FIN) != 0 ? 1 : 0);
        if ((flags & Frames.RST) == 0 && (!fl.issKnown || next - fl.victimNxt > 0)) {
            if (data > 0 && seq - fl.victimNxt <= 0 && next - fl.victimNxt > 0) {
                fl.received.write(f, l4 + hl + (fl.victimNxt - seq), next - fl.victimNxt
                        - ((flags & Frames.FIN) != 0 ? 1 : 0));
            }
            fl.victimNxt = next;
        }
        for (int i = l4 + 20; i + 1 < l4 + hl && i < end; ) {
            int kind = f[i] & 0xff;
            if (kind == 0) {
                break;
            }
            if (kind == 1) {
                i++;
                continue;
            }
            int len = f[i + 1] & 0xff;
            if (len < 2) {
                break;
            }
            if (kind == 8 && len == 10 && i + 10 <= end) {
                fl.victimTsval = Frames.i32(f, i + 2);
            }
            i += len;
        }
    }

    // ------------------------------------------------------------------ checks

    /** Live buffers of {@link #ALLOC}. */
    static long live() {
        long n = 0;
        for (PoolArenaMetric m : ALLOC.metric().directArenas()) {
            n += m.numActiveAllocations();
        }
        for (PoolArenaMetric m : ALLOC.metric().heapArenas()) {
            n += m.numActiveAllocations();
        }
        return n;
    }

    /** The checks after an input: see the class comment. */
    void check() {
        pump();
        assertSane("after the input");
        assertStillAnswers();
        assertSane("after the liveness check");
    }

    void assertSane(String when) {
        StackStats s = stack.stats();
        long faults = s.inputExceptions + s.timerExceptions + s.dispatchExceptions + s.flushExceptions;
        if (faults != 0) {
            throw new AssertionError(when + ": the loop's fault barrier caught " + faults + " exception(s) (input "
                    + s.inputExceptions + ", timer " + s.timerExceptions + ", dispatch " + s.dispatchExceptions
                    + ", flush " + s.flushExceptions + "; the cause is in the log)");
        }
        if (link.oversize > 0) {
            throw new AssertionError(when + ": " + link.oversize + " frame(s) over the MTU sent on a link without TSO");
        }
        int r4 = stack.reassembly().memory();
        int r6 = stack.ipv6Reassembly().memory();
        if (r4 > Ipv4Reassembly.DEFAULT_MAX_MEMORY || r6 > Ipv6Reassembly.DEFAULT_MAX_MEMORY) {
            throw new AssertionError(when + ": reassembly holds " + r4 + " (IPv4) and " + r6 + " (IPv6) bytes");
        }
        if (stack.neighbors().size() > NeighborCache.MAX_ENTRIES || arpSize() > ArpTable.MAX_ENTRIES
                || stack.pathMtu().size() > PathMtuCache.DEFAULT_MAX_ENTRIES) {
            throw new AssertionError(when + ": neighbour cache " + stack.neighbors().size() + ", ARP table "
                    + arpSize() + ", path MTU cache " + stack.pathMtu().size() + " over their bounds");
        }
    }

    private int arpSize() {
        return stack.arp().size();
    }

    /** ARP, NDP, ping and a TCP echo on a fresh connection, both families, all answered. */
    void assertStillAnswers() {
        int arp = arpReplies;
        int na = advertisements;
        teachNeighbours();
        expect(arpReplies > arp, "an ARP reply to the peer's request");
        expect(advertisements > na, "a neighbour advertisement for the peer's solicitation");
        int e4 = echoReplies4;
        int e6 = echoReplies6;
        int seq = ++pingSeq;
        input(ipFrame(PEER4, VICTIM4, Frames.ICMP, Frames.icmpv4(8, 0, 0x7e57_0000 | seq, Frames.pattern(32, seq))),
                false);
        input(ipFrame(PEER6, VICTIM6, Frames.ICMPV6, Frames.icmpv6(PEER6, VICTIM6, 128, 0, 0x7e57_0000 | seq,
                Frames.pattern(32, seq))), false);
        pump();
        expect(echoReplies4 > e4, "an IPv4 echo reply");
        expect(echoReplies6 > e6, "an IPv6 echo reply");
        for (boolean v6 : new boolean[] {false, true}) {
            int port = usedPorts.nextClearBit(50000);
            usedPorts.set(port);
            Flow f = flow(v6, LISTEN_PORT, port);
            f.peerNxt = 0x3000_0000;
            send(f, Frames.SYN, 0, 65535, new byte[] {2, 4, 0x05, (byte) 0xb4}, new byte[0]);
            expect(f.issKnown, (v6 ? "IPv6" : "IPv4") + " SYN-ACK to a fresh connection");
            byte[] hello = "still alive?".getBytes(StandardCharsets.US_ASCII);
            send(f, Frames.ACK | Frames.PSH, 0, 65535, null, hello);
            advance(MS);
            expect(new String(f.received.toByteArray(), StandardCharsets.US_ASCII).equals("still alive?"),
                    (v6 ? "IPv6" : "IPv4") + " TCP echo on a fresh connection (got '" + f.received + "')");
        }
    }

    private void expect(boolean ok, String what) {
        if (!ok) {
            throw new AssertionError("the stack no longer answers: no " + what + " after the input; "
                    + stack.stats());
        }
    }

    /**
     * Closes the stack, then the application lets go of its connections as a channel does when it closes
     * ({@code releaseBuffers}: data a connection keeps readable after a graceful close is the owner's to free);
     * every buffer the stack took from {@link #ALLOC} must then be back.
     */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        stack.close();
        for (TcpConnection c : owned) {
            c.releaseBuffers();
        }
        long left = live() - baseline;
        if (left != 0) {
            throw new AssertionError(left + " buffer(s) of the stack's allocator still allocated after close (a leak)");
        }
    }

    /** A clock that moves only when the target says so. */
    static final class ManualClock implements io.usertcp.time.Clock {
        long now = 1_000 * SEC;

        @Override
        public long nanoTime() {
            return now;
        }
    }
}
