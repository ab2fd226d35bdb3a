package io.usertcp.stack;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.usertcp.link.FaultModel;
import io.usertcp.sim.Transfer;
import io.usertcp.tcp.TcpConnection;
import io.usertcp.tcp.TcpListener;
import io.usertcp.tcp.TcpSocket;
import io.usertcp.udp.UdpSocket;
import io.usertcp.wire.Arp;
import io.usertcp.wire.Ethernet;
import io.usertcp.wire.Icmpv6;
import io.usertcp.wire.IpAddress;
import io.usertcp.wire.Ipv4;
import io.usertcp.wire.Ipv6;
import io.usertcp.wire.MacAddress;
import io.usertcp.wire.Tcp;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

import static io.usertcp.stack.Raw6Peer.concat;
import static io.usertcp.stack.Raw6Peer.icmpv4;
import static io.usertcp.stack.Raw6Peer.icmpv6;
import static io.usertcp.stack.Raw6Peer.multicastMac;
import static io.usertcp.stack.Raw6Peer.neighborAdvertisement;
import static io.usertcp.stack.Raw6Peer.neighborSolicitation;
import static io.usertcp.stack.Raw6Peer.pattern;
import static io.usertcp.stack.Raw6Peer.solicitedNode;
import static io.usertcp.stack.Raw6Peer.tcp;
import static io.usertcp.stack.Raw6Peer.udp;

/**
 * The seed corpus of {@link MalformedFrameFuzzTest}, and the victim's standing state. On a {@link FuzzNet}, it
 * sets up the victim {@code b} (a TCP listener, a bound UDP socket, established connections that stay open) and
 * records every frame {@code a} sends to {@code b} while real traffic runs: ARP reply, NDP advertisement, UDP small
 * and in 8000-byte fragmented datagrams (IPv4 and IPv6), ICMP port unreachable of both families, TCP handshakes
 * (SYN with MSS, window scale, SACK-permitted and timestamps), data and ACKs with SACK blocks (a lossy cable),
 * FIN and RST. Then it adds hand-built frames: ARP requests, neighbour solicitations and advertisements, ICMP echo
 * requests, ICMP errors quoting the victim's own TCP segments, IPv4 options and IPv6 extension headers
 * (hop-by-hop, destination options, routing, fragment), and fragment trains. Everything recorded is also fed
 * once, unmutated, to the victim, so its state is what those frames make it.
 */
final class FuzzCorpus {
    static final int LISTEN_PORT = 5000;
    static final int UDP_PORT = 7000;
    static final int BACKLOG = 16;
    private static final long MS = 1_000_000L;

    /** One recorded frame and where it came from. */
    static final class Entry {
        final String name;
        final byte[] frame;

        Entry(String name, byte[] frame) {
            this.name = name;
            this.frame = frame;
        }
    }

    final FuzzNet net;
    final List<Entry> frames = new ArrayList<>();
    /** Fragments of one datagram, in order: fed together (shuffled, mutated, duplicated) by the fuzzer. */
    final List<List<byte[]>> trains = new ArrayList<>();
    final TcpListener listener;
    final UdpSocket udpVictim;
    /** Connections a keeps open to the victim during the fuzzing (a's ends, then b's). */
    final List<TcpConnection> clientEnds = new ArrayList<>();
    final List<TcpConnection> serverEnds = new ArrayList<>();
    /** What the listener does with an accepted connection. */
    Consumer<TcpConnection> onAccept;
    int accepted;
    /** Hand-built, unmutated frames that re-teach the victim a's addresses (ARP request, NS) and ping it. */
    byte[] arpRequest;
    byte[] neighborSolicitation;
    byte[] echo4;
    byte[] echo6;

    private String phase = "setup";
    private List<byte[]> train;
    private final List<byte[]> fromB = new ArrayList<>();

    FuzzCorpus(FuzzNet net) throws IOException {
        this.net = net;
        listener = net.b.tcp().listen(null, LISTEN_PORT, BACKLOG);
        listener.handler(ev -> {
            TcpConnection c;
            while ((c = listener.accept()) != null) {
                accepted++;
                onAccept.accept(c);
            }
        });
        udpVictim = net.b.udp().open();
        udpVictim.receiveBufferSize(64 << 10);
        udpVictim.bind(0, UDP_PORT);
    }

    /** Accepted connections read everything and close when the peer does. */
    static void drainAndClose(TcpConnection c) {
        ByteBuf scratch = Unpooled.buffer(65536);
        c.handler(ev -> {
            for (;;) {
                scratch.clear();
                if (c.read(scratch) <= 0) {
                    break;
                }
            }
            if (c.isInputEnded() && !c.isClosed()) {
                c.close();
            }
        });
    }

    /** Records the frames of real traffic, then adds the hand-built ones. */
    FuzzCorpus build() throws IOException {
        net.fromA = f -> {
            frames.add(new Entry(phase, f));
            if (train != null) {
                train.add(f);
            }
        };
        net.fromB = f -> fromB.add(f);
        onAccept = FuzzCorpus::drainAndClose;

        // b speaks first: its ARP request / NS get a's reply and advertisement; a's ports are closed.
        UdpSocket bSender = net.b.udp().open();
        for (IpAddress to : new IpAddress[] {FuzzNet.A4, FuzzNet.A6}) {
            phase = "udp-to-closed-port " + (to.isV4() ? "v4" : "v6") + " (ARP reply / NA, port unreachable)";
            send(bSender, to, 9, 32);
            net.runFor(50 * MS);
        }
        bSender.close();

        // a's datagrams to the victim's socket: small, and 8000 bytes in fragments.
        UdpSocket aSender = net.a.udp().open();
        for (IpAddress to : new IpAddress[] {FuzzNet.B4, FuzzNet.B6}) {
            String fam = to.isV4() ? "v4" : "v6";
            phase = "udp-small-" + fam;
            send(aSender, to, UDP_PORT, 100);
            net.runFor(10 * MS);
            phase = "udp-8000-fragments-" + fam;
            train = new ArrayList<>();
            send(aSender, to, UDP_PORT, 8000);
            net.runFor(10 * MS);
            trains.add(train);
            train = null;
            phase = "udp-to-closed-port-" + fam;
            send(aSender, to, 7999, 16);
            net.runFor(10 * MS);
        }
        aSender.close();
        drainUdp();

        // TCP over a lossy cable both ways: handshake with all options, data, SACK, timestamps, FIN.
        net.linkA.faults(FaultModel.of(0.03, 0.01, 0.02, 0, 11));
        net.linkB.faults(FaultModel.of(0.03, 0.01, 0.02, 0, 12));
        for (IpAddress to : new IpAddress[] {FuzzNet.B4, FuzzNet.B6}) {
            phase = "tcp-transfer-" + (to.isV4() ? "v4" : "v6");
            List<Transfer> servers = new ArrayList<>();
            onAccept = c -> servers.add(new Transfer(c, 96 << 10));
            Transfer client = new Transfer(net.a.tcp().connect(null, 0, to, LISTEN_PORT, 0, 0), 96 << 10);
            net.runUntil(() -> client.finSeen() && !servers.isEmpty() && servers.get(0).finSeen(), 120_000 * MS);
            net.runFor(1000 * MS);
            client.release();
            servers.forEach(Transfer::release);
        }
        net.linkA.faults(FaultModel.NONE);
        net.linkB.faults(FaultModel.NONE);
        onAccept = FuzzCorpus::drainAndClose;

        // RSTs: a's answer to b's SYN for a closed port, and an abort by a.
        for (IpAddress to : new IpAddress[] {FuzzNet.A4, FuzzNet.A6}) {
            phase = "tcp-rst-closed-port-" + (to.isV4() ? "v4" : "v6");
            TcpConnection c = net.b.tcp().connect(null, 0, to, 5999, 0, 0);
            c.handler(ev -> { });
            net.runFor(50 * MS);
            phase = "tcp-abort-" + (to.isV4() ? "v4" : "v6");
            TcpConnection d = net.a.tcp().connect(null, 0, to.isV4() ? FuzzNet.B4 : FuzzNet.B6, LISTEN_PORT, 0, 0);
            d.handler(ev -> { });
            net.runFor(50 * MS);
            d.abort();
            net.runFor(50 * MS);
        }

        // Connections that stay established while the fuzzer runs (two per family).
        List<TcpConnection> accepted = new ArrayList<>();
        onAccept = c -> {
            drainAndClose(c);
            accepted.add(c);
        };
        for (IpAddress to : new IpAddress[] {FuzzNet.B4, FuzzNet.B6, FuzzNet.B4, FuzzNet.B6}) {
            phase = "tcp-established-" + (to.isV4() ? "v4" : "v6");
            TcpConnection c = net.a.tcp().connect(null, 0, to, LISTEN_PORT, 0, 0);
            drainAndClose(c);
            clientEnds.add(c);
        }
        net.runFor(100 * MS);
        serverEnds.addAll(accepted);
        onAccept = FuzzCorpus::drainAndClose;
        trickle(4000);
        net.runFor(100 * MS);

        phase = "hand-built";
        handBuilt();
        net.runFor(100 * MS);
        net.fromA = f -> { };
        net.fromB = f -> { };
        drainUdp();
        return this;
    }

    /** Writes up to {@code bytes} on every standing connection, both ways. */
    void trickle(int bytes) {
        byte[] data = pattern(bytes, bytes);
        for (List<TcpConnection> list : List.of(clientEnds, serverEnds)) {
            for (TcpConnection c : list) {
                if (c.isEstablished() && c.writableBytes() > 0) {
                    ByteBuf d = Unpooled.wrappedBuffer(data, 0, Math.min(bytes, c.writableBytes()));
                    try {
                        c.write(d);
                        c.push();
                    } catch (IOException e) {
                        // reset by the fuzzing: fine
                    }
                }
            }
        }
    }

    void drainUdp() {
        ByteBuf scratch = Unpooled.buffer(65536);
        while (udpVictim.queuedDatagrams() > 0) {
            scratch.clear();
            udpVictim.receive(scratch);
        }
        udpVictim.takeError();
    }

    private static void send(UdpSocket s, IpAddress to, int port, int len) throws IOException {
        s.send(Unpooled.wrappedBuffer(pattern(len, port)), to, port);
    }

    // ------------------------------------------------------------------ hand-built frames

    private void handBuilt() {
        long a = net.macA;
        long b = net.macB;
        long bcast = MacAddress.BROADCAST.toLong();
        IpAddress a6 = FuzzNet.A6;
        IpAddress b6 = FuzzNet.B6;
        int a4 = FuzzNet.A_IP;
        int b4 = FuzzNet.B_IP;

        // ARP
        arpRequest = arp(bcast, a, Arp.OP_REQUEST, a, a4, 0, b4);
        add("arp-request", arpRequest);
        add("arp-request-unicast", arp(b, a, Arp.OP_REQUEST, a, a4, 0, b4));
        add("arp-reply", arp(b, a, Arp.OP_REPLY, a, a4, b, b4));
        add("arp-gratuitous", arp(bcast, a, Arp.OP_REQUEST, a, a4, 0, a4));
        add("arp-request-other", arp(bcast, a, Arp.OP_REQUEST, a, 0xC6120007, 0, 0xC6120008));

        // NDP
        IpAddress sn = solicitedNode(b6);
        neighborSolicitation = eth(multicastMac(sn), a, Ethernet.TYPE_IPV6,
                ip6(a6, sn, Ipv6.ICMPV6, 255, icmpv6(a6, sn, neighborSolicitation(b6, a))));
        add("ns-multicast", neighborSolicitation);
        add("ns-unicast", eth(b, a, Ethernet.TYPE_IPV6, ip6(a6, b6, Ipv6.ICMPV6, 255,
                icmpv6(a6, b6, neighborSolicitation(b6, a)))));
        IpAddress any = IpAddress.V6_ANY;
        add("ns-dad", eth(multicastMac(sn), a, Ethernet.TYPE_IPV6, ip6(any, sn, Ipv6.ICMPV6, 255,
                icmpv6(any, sn, neighborSolicitation(b6, -1)))));
        add("na-solicited", eth(b, a, Ethernet.TYPE_IPV6, ip6(a6, b6, Ipv6.ICMPV6, 255,
                icmpv6(a6, b6, neighborAdvertisement(a6, Icmpv6.SOLICITED | Icmpv6.OVERRIDE, a)))));
        IpAddress other6 = IpAddress.of(Raw6Peer.PREFIX_HI, 0x77);
        add("na-unsolicited-other", eth(Raw6Peer.multicastMac(Raw6Peer.ALL_NODES), a, Ethernet.TYPE_IPV6,
                ip6(other6, Raw6Peer.ALL_NODES, Ipv6.ICMPV6, 255,
                        icmpv6(other6, Raw6Peer.ALL_NODES, neighborAdvertisement(other6, Icmpv6.OVERRIDE, a)))));

        // ICMP echo, both families, small and in fragments.
        echo4 = eth(b, a, Ethernet.TYPE_IPV4, ip4(a4, b4, Ipv4.PROTO_ICMP, 0x4242, 0,
                icmpv4(8, 0, 0x12340001, pattern(56, 1)), null));
        add("echo-v4", echo4);
        echo6 = eth(b, a, Ethernet.TYPE_IPV6, ip6(a6, b6, Ipv6.ICMPV6, 64,
                icmpv6(a6, b6, Icmpv6.ECHO_REQUEST, 0, 0x12340001, pattern(56, 2))));
        add("echo-v6", echo6);
        addTrain("echo-v4-3000-fragments", fragment4(a4, b4, Ipv4.PROTO_ICMP, 0x4343,
                icmpv4(8, 0, 0x12340002, pattern(3000, 3)), 1480));
        addTrain("echo-v6-3000-fragments", fragment6(a6, b6, Ipv6.ICMPV6, 0x51,
                icmpv6(a6, b6, Icmpv6.ECHO_REQUEST, 0, 0x12340002, pattern(3000, 4)), 1448, null));

        // IPv4 with options (NOP, NOP, a record-route, EOL) around UDP.
        byte[] options = {1, 1, 7, 11, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
        add("ipv4-options-udp", eth(b, a, Ethernet.TYPE_IPV4, ip4(a4, b4, Ipv4.PROTO_UDP, 0x4444, 0,
                udp(FuzzNet.A4, FuzzNet.B4, 4444, UDP_PORT, pattern(40, 5), true), options)));

        // ICMP errors quoting the victim's own TCP segments (to the connections' ICMP handling).
        byte[] seg4 = lastTcpFromB(true);
        byte[] seg6 = lastTcpFromB(false);
        if (seg4 != null) {
            byte[] quote = Raw6Peer.slice(seg4, 0, Math.min(seg4.length, 20 + 20 + 8));
            add("icmp4-frag-needed", eth(b, a, Ethernet.TYPE_IPV4, ip4(a4, b4, Ipv4.PROTO_ICMP, 1, 0,
                    icmpv4(3, 4, 1200, quote), null)));
            add("icmp4-port-unreachable-tcp", eth(b, a, Ethernet.TYPE_IPV4, ip4(a4, b4, Ipv4.PROTO_ICMP, 2, 0,
                    icmpv4(3, 3, 0, quote), null)));
            add("icmp4-time-exceeded-tcp", eth(b, a, Ethernet.TYPE_IPV4, ip4(a4, b4, Ipv4.PROTO_ICMP, 3, 0,
                    icmpv4(11, 0, 0, quote), null)));
            add("icmp4-parameter-problem-tcp", eth(b, a, Ethernet.TYPE_IPV4, ip4(a4, b4, Ipv4.PROTO_ICMP, 4, 0,
                    icmpv4(12, 0, 0x0c000000, quote), null)));
        }
        if (seg6 != null) {
            byte[] quote = Raw6Peer.slice(seg6, 0, Math.min(seg6.length, 1232));
            add("icmp6-packet-too-big", eth(b, a, Ethernet.TYPE_IPV6, ip6(a6, b6, Ipv6.ICMPV6, 64,
                    icmpv6(a6, b6, Icmpv6.PACKET_TOO_BIG, 0, 1280, quote))));
            add("icmp6-port-unreachable-tcp", eth(b, a, Ethernet.TYPE_IPV6, ip6(a6, b6, Ipv6.ICMPV6, 64,
                    icmpv6(a6, b6, Icmpv6.DEST_UNREACHABLE, Icmpv6.PORT_UNREACHABLE, 0, quote))));
            add("icmp6-time-exceeded-tcp", eth(b, a, Ethernet.TYPE_IPV6, ip6(a6, b6, Ipv6.ICMPV6, 64,
                    icmpv6(a6, b6, Icmpv6.TIME_EXCEEDED, 0, 0, quote))));
            add("icmp6-parameter-problem-tcp", eth(b, a, Ethernet.TYPE_IPV6, ip6(a6, b6, Ipv6.ICMPV6, 64,
                    icmpv6(a6, b6, Icmpv6.PARAMETER_PROBLEM, 0, 6, quote))));
        }

        // IPv6 extension headers (RFC 8200 §4).
        byte[] u = udp(a6, b6, 4445, UDP_PORT, pattern(64, 6), true);
        add("v6-hop-by-hop-padn-echo", eth(b, a, Ethernet.TYPE_IPV6, ip6(a6, b6, Ipv6.HOP_BY_HOP, 64,
                concat(new byte[] {(byte) Ipv6.ICMPV6, 0, 1, 4, 0, 0, 0, 0},
                        icmpv6(a6, b6, Icmpv6.ECHO_REQUEST, 0, 0x12340003, pattern(24, 7))))));
        add("v6-hop-by-hop-router-alert-udp", eth(b, a, Ethernet.TYPE_IPV6, ip6(a6, b6, Ipv6.HOP_BY_HOP, 64,
                concat(new byte[] {Ipv6.UDP, 0, 5, 2, 0, 0, 0, 0}, u))));
        for (int opt : new int[] {0x1e, 0x5e, 0x9e, 0xde}) {
            // Unknown options of the four actions (skip, discard, discard + error, discard + unicast error).
            add("v6-dstopt-unknown-" + Integer.toHexString(opt) + "-udp", eth(b, a, Ethernet.TYPE_IPV6,
                    ip6(a6, b6, Ipv6.DESTINATION_OPTIONS, 64,
                            concat(new byte[] {Ipv6.UDP, 0, (byte) opt, 4, 0, 0, 0, 0}, u))));
        }
        add("v6-hbh-dstopt-routing-udp", eth(b, a, Ethernet.TYPE_IPV6, ip6(a6, b6, Ipv6.HOP_BY_HOP, 64,
                concat(new byte[] {Ipv6.DESTINATION_OPTIONS, 0, 1, 4, 0, 0, 0, 0},
                        new byte[] {Ipv6.ROUTING, 1, 1, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
                        routing(Ipv6.UDP, 4, 0), u))));
        add("v6-routing-type0-segments-left", eth(b, a, Ethernet.TYPE_IPV6, ip6(a6, b6, Ipv6.ROUTING, 64,
                concat(routing(Ipv6.UDP, 0, 1), u))));
        add("v6-routing-type0-done", eth(b, a, Ethernet.TYPE_IPV6, ip6(a6, b6, Ipv6.ROUTING, 64,
                concat(routing(Ipv6.UDP, 0, 0), u))));
        add("v6-atomic-fragment-udp", eth(b, a, Ethernet.TYPE_IPV6, ip6(a6, b6, Ipv6.FRAGMENT, 64,
                concat(new byte[] {Ipv6.UDP, 0, 0, 0, 0, 0, 0x12, 0x34}, u))));
        add("v6-unknown-next-header", eth(b, a, Ethernet.TYPE_IPV6, ip6(a6, b6, 253, 64, pattern(16, 8))));
        add("v6-no-next-header", eth(b, a, Ethernet.TYPE_IPV6, ip6(a6, b6, Ipv6.DESTINATION_OPTIONS, 64,
                new byte[] {(byte) Ipv6.NO_NEXT_HEADER, 0, 1, 4, 0, 0, 0, 0})));
        byte[] syn = tcp(a6, b6, 40000, LISTEN_PORT, 0x1000, 0, Tcp.SYN, 65535,
                new byte[] {2, 4, 0x05, (byte) 0xa0, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 7}, new byte[0]);
        add("v6-dstopt-tcp-syn", eth(b, a, Ethernet.TYPE_IPV6, ip6(a6, b6, Ipv6.DESTINATION_OPTIONS, 64,
                concat(new byte[] {Ipv6.TCP, 0, 1, 4, 0, 0, 0, 0}, syn))));
        byte[] syn4 = tcp(FuzzNet.A4, FuzzNet.B4, 40001, LISTEN_PORT, 0x2000, 0, Tcp.SYN, 65535,
                new byte[] {2, 4, 0x05, (byte) 0xb4, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 7}, new byte[0]);
        add("v4-tcp-syn-options", eth(b, a, Ethernet.TYPE_IPV4, ip4(a4, b4, Ipv4.PROTO_TCP, 0x4545, 0, syn4, null)));
        // A UDP datagram in three fragments with a hop-by-hop header before the fragment header and destination
        // options after it (the unfragmentable and the fragmentable part, RFC 8200 §4.5).
        byte[] big = udp(a6, b6, 4446, UDP_PORT, pattern(3000, 9), true);
        addTrain("v6-hbh-fragments-dstopt-udp", fragment6(a6, b6, Ipv6.DESTINATION_OPTIONS, 0x52,
                concat(new byte[] {Ipv6.UDP, 0, 1, 4, 0, 0, 0, 0}, big), 1232,
                new byte[] {0, 0, 1, 4, 0, 0, 0, 0}));
        addTrain("v4-udp-3000-fragments", fragment4(a4, b4, Ipv4.PROTO_UDP, 0x4646,
                udp(FuzzNet.A4, FuzzNet.B4, 4447, UDP_PORT, pattern(3000, 10), true), 1000));
    }

    private byte[] lastTcpFromB(boolean v4) {
        for (int i = fromB.size() - 1; i >= 0; i--) {
            byte[] f = fromB.get(i);
            int type = ((f[12] & 0xff) << 8) | (f[13] & 0xff);
            if (v4 && type == Ethernet.TYPE_IPV4 && f[14 + 9] == Ipv4.PROTO_TCP) {
                return Raw6Peer.slice(f, 14, f.length - 14);
            }
            if (!v4 && type == Ethernet.TYPE_IPV6 && f[14 + 6] == Ipv6.TCP) {
                return Raw6Peer.slice(f, 14, f.length - 14);
            }
        }
        return null;
    }

    private void add(String name, byte[] frame) {
        frames.add(new Entry(name, frame));
        feed(frame);
    }

    private void addTrain(String name, List<byte[]> fragments) {
        for (byte[] f : fragments) {
            frames.add(new Entry(name, f));
            feed(f);
        }
        trains.add(fragments);
    }

    /** Gives the victim one frame (copied into a buffer of its allocator, as a link would) and runs a turn. */
    private void feed(byte[] frame) {
        ByteBuf f = net.b.alloc().directBuffer(frame.length).writeBytes(frame);
        try {
            net.b.input(f);
        } finally {
            f.release();
        }
        net.turn();
    }

    // ------------------------------------------------------------------ builders

    static byte[] eth(long dst, long src, int type, byte[] payload) {
        byte[] f = new byte[Ethernet.HEADER_LENGTH + payload.length];
        for (int i = 0; i < 6; i++) {
            f[i] = (byte) (dst >>> (40 - 8 * i));
            f[6 + i] = (byte) (src >>> (40 - 8 * i));
        }
        f[12] = (byte) (type >>> 8);
        f[13] = (byte) type;
        System.arraycopy(payload, 0, f, Ethernet.HEADER_LENGTH, payload.length);
        return f;
    }

    private static byte[] arp(long dstMac, long srcMac, int op, long sha, int spa, long tha, int tpa) {
        ByteBuf f = Unpooled.buffer(Ethernet.HEADER_LENGTH + Arp.LENGTH);
        f.writerIndex(Ethernet.HEADER_LENGTH + Arp.LENGTH);
        Ethernet.write(f, 0, dstMac, srcMac, Ethernet.TYPE_ARP);
        Arp.write(f, Ethernet.HEADER_LENGTH, op, sha, spa, tha, tpa);
        byte[] out = FuzzNet.bytes(f);
        f.release();
        return out;
    }

    static byte[] ip6(IpAddress src, IpAddress dst, int nextHeader, int hopLimit, byte[] payload) {
        ByteBuf p = Raw6Peer.ipv6(src, dst, nextHeader, hopLimit, payload);
        byte[] out = FuzzNet.bytes(p);
        p.release();
        return out;
    }

    /** An IPv4 packet with the given options (a multiple of 4 bytes, or null) and a correct header checksum. */
    static byte[] ip4(int src, int dst, int protocol, int id, int flagsFragment, byte[] payload, byte[] options) {
        int hl = 20 + (options == null ? 0 : options.length);
        byte[] p = new byte[hl + payload.length];
        p[0] = (byte) (0x40 | (hl / 4));
        Raw6Peer.putShort(p, 2, p.length);
        Raw6Peer.putShort(p, 4, id);
        Raw6Peer.putShort(p, 6, flagsFragment);
        p[8] = 64;
        p[9] = (byte) protocol;
        Raw6Peer.putInt(p, 12, src);
        Raw6Peer.putInt(p, 16, dst);
        if (options != null) {
            System.arraycopy(options, 0, p, 20, options.length);
        }
        System.arraycopy(payload, 0, p, hl, payload.length);
        Raw6Peer.putShort(p, 10, FrameMutator.checksum(p, 0, hl, 0));
        return p;
    }

    /** IPv4 fragments of {@code payload}, {@code per} bytes each (a multiple of 8), as frames from a to b. */
    private List<byte[]> fragment4(int src, int dst, int protocol, int id, byte[] payload, int per) {
        List<byte[]> out = new ArrayList<>();
        for (int off = 0; off < payload.length; off += per) {
            int n = Math.min(per, payload.length - off);
            int ff = (off + n < payload.length ? Ipv4.FLAG_MF : 0) | (off >>> 3);
            out.add(eth(net.macB, net.macA, Ethernet.TYPE_IPV4,
                    ip4(src, dst, protocol, id, ff, Raw6Peer.slice(payload, off, n), null)));
        }
        return out;
    }

    /**
     * IPv6 fragments of {@code fragmentable} (whose first header is {@code nextHeader}), {@code per} bytes each
     * (a multiple of 8), each after {@code hopByHop} (an unfragmentable hop-by-hop header, or null).
     */
    private List<byte[]> fragment6(IpAddress src, IpAddress dst, int nextHeader, int id, byte[] fragmentable,
                                   int per, byte[] hopByHop) {
        List<byte[]> out = new ArrayList<>();
        for (int off = 0; off < fragmentable.length; off += per) {
            int n = Math.min(per, fragmentable.length - off);
            byte[] fh = new byte[8];
            fh[0] = (byte) nextHeader;
            Raw6Peer.putShort(fh, 2, off | (off + n < fragmentable.length ? 1 : 0));
            Raw6Peer.putInt(fh, 4, id);
            byte[] body = concat(fh, Raw6Peer.slice(fragmentable, off, n));
            if (hopByHop != null) {
                byte[] h = hopByHop.clone();
                h[0] = (byte) Ipv6.FRAGMENT;
                body = concat(h, body);
            }
            out.add(eth(net.macB, net.macA, Ethernet.TYPE_IPV6,
                    ip6(src, dst, hopByHop != null ? Ipv6.HOP_BY_HOP : Ipv6.FRAGMENT, 64, body)));
        }
        return out;
    }

    /** A routing header of {@code type} with one address (fd00:198::1) and {@code segmentsLeft}. */
    private static byte[] routing(int nextHeader, int type, int segmentsLeft) {
        byte[] r = new byte[24];
        r[0] = (byte) nextHeader;
        r[1] = 2;
        r[2] = (byte) type;
        r[3] = (byte) segmentsLeft;
        Raw6Peer.putAddress(r, 8, FuzzNet.A6);
        return r;
    }
}
