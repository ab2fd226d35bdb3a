package io.usertcp.fuzz;

import io.usertcp.stats.StackStats;
import io.usertcp.wire.IpAddress;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Predicate;
import java.util.function.ToLongFunction;

import static io.usertcp.fuzz.Victim.ACTIVE_ISN;
import static io.usertcp.fuzz.Victim.ACTIVE_LOCAL_PORT;
import static io.usertcp.fuzz.Victim.ACTIVE_PEER_PORT;
import static io.usertcp.fuzz.Victim.LISTEN_PORT;
import static io.usertcp.fuzz.Victim.PASSIVE_ISN;
import static io.usertcp.fuzz.Victim.PASSIVE_PEER_PORT;
import static io.usertcp.fuzz.Victim.PEER4;
import static io.usertcp.fuzz.Victim.PEER6;
import static io.usertcp.fuzz.Victim.PEER_IP;
import static io.usertcp.fuzz.Victim.PEER_MAC;
import static io.usertcp.fuzz.Victim.VICTIM4;
import static io.usertcp.fuzz.Victim.VICTIM6;
import static io.usertcp.fuzz.Victim.VICTIM_IP;
import static io.usertcp.fuzz.Victim.VICTIM_MAC;

/**
 * The hand-made seeds of the fuzz targets: inputs that reach deep (handshakes, data on established connections,
 * SACK, windows, urgent data, closes, ICMP errors quoting the victim's flows, fragments of both families, NDP,
 * ARP, UDP to every socket), each with what it must reach, so that {@link SeedCorpusTest} fails when a change in
 * the stack or the harness leaves a seed short of where it was meant to go. The committed corpus under
 * {@code src/test/resources/io/usertcp/fuzz/} holds these ({@code seed-*}) and what fuzzing added.
 */
final class SeedCorpus {
    static final String STACK = "StackInputFuzzTest";
    static final String WIRE = "WireFuzzTest";

    /** One seed: where it goes, its bytes, and what it must reach in the victim (null for wire seeds). */
    record Seed(String test, String target, String name, byte[] bytes, Predicate<Victim> reaches, String what) {
        String fileName() {
            return "seed-" + name;
        }
    }

    private final List<Seed> seeds = new ArrayList<>();

    static List<Seed> all() {
        SeedCorpus c = new SeedCorpus();
        c.frames();
        c.tcp();
        c.udp();
        c.fragments();
        c.wire();
        return c.seeds;
    }

    private void add(String target, String name, Out o, Predicate<Victim> reaches, String what) {
        seeds.add(new Seed(STACK, target, name, o.toByteArray(), reaches, what));
    }

    private void wire(String target, String name, byte[] bytes) {
        seeds.add(new Seed(WIRE, target, name, bytes, null, null));
    }

    /** Writes the fields of an input. */
    static final class Out extends ByteArrayOutputStream {
        Out u8(int v) {
            write(v);
            return this;
        }

        Out u16(int v) {
            return u8(v >>> 8).u8(v);
        }

        Out i32(int v) {
            return u16(v >>> 16).u16(v);
        }

        Out raw(byte[] b) {
            write(b, 0, b.length);
            return this;
        }

        /** A record of the {@code frames} target. */
        Out frame(int control, byte[] f) {
            return u8(control).u16(f.length).raw(f);
        }
    }

    private static Out input(int options) {
        return new Out().u8(options);
    }

    // ------------------------------------------------------------------ expectations

    private static Predicate<Victim> grew(ToLongFunction<StackStats> counter) {
        return v -> v.delta(counter) > 0;
    }

    private static Predicate<Victim> echoed(boolean v6, int victimPort, int peerPort, String text) {
        return v -> {
            Victim.Flow f = v.existing(v6, victimPort, peerPort);
            return f != null && new String(f.received.toByteArray(), StandardCharsets.ISO_8859_1).contains(text);
        };
    }

    // ------------------------------------------------------------------ frames

    private static final int FIX = RawFrames.FIX_CHECKSUMS;
    private static final int REL = RawFrames.RELATIVE | RawFrames.FIX_CHECKSUMS;

    private static byte[] ts() {
        byte[] o = {1, 1, 8, 10, 0, 0, 0, 0, 0, 0, 0, 0};
        Frames.put32(o, 4, Victim.PEER_TSVAL);
        return o;
    }

    private static byte[] tcpFrame(boolean v6, int peerPort, int victimPort, int seq, int ack, int flags, byte[] opts,
                                   byte[] data) {
        IpAddress p = v6 ? PEER6 : PEER4;
        IpAddress q = v6 ? VICTIM6 : VICTIM4;
        return Victim.ipFrame(p, q, Frames.TCP, Frames.tcp(p, q, peerPort, victimPort, seq, ack, flags, 65535, 0,
                opts, data));
    }

    private static byte[] ascii(String s) {
        return s.getBytes(StandardCharsets.US_ASCII);
    }

    private void frames() {
        String t = "frames";
        long bcast = 0xffff_ffff_ffffL;
        add(t, "arp-request", input(0).frame(0, Frames.eth(bcast, PEER_MAC, Frames.TYPE_ARP,
                Frames.arp(1, PEER_MAC, PEER_IP, 0, VICTIM_IP))), grew(s -> s.arpRepliesOut), "an ARP reply");
        add(t, "arp-reply-other", input(0).frame(0, Frames.eth(VICTIM_MAC, 0x0200_0000_0077L, Frames.TYPE_ARP,
                Frames.arp(2, 0x0200_0000_0077L, 0xC6120077, VICTIM_MAC, VICTIM_IP))), null, null);
        IpAddress sn = Frames.solicitedNode(VICTIM6);
        add(t, "ns-multicast", input(0).frame(0, Frames.eth(Frames.multicastMac(sn), PEER_MAC, Frames.TYPE_IPV6,
                Frames.ipv6(PEER6, sn, Frames.ICMPV6, 255, Frames.icmpv6(PEER6, sn, 135, 0, 0,
                        Frames.ndpBody(VICTIM6, 1, PEER_MAC))))), grew(s -> s.ndpAdvertisementsOut),
                "a neighbour advertisement");
        IpAddress other6 = IpAddress.of(Victim.PREFIX6, 0x77);
        IpAddress allNodes = IpAddress.of(0xff02_0000_0000_0000L, 1);
        add(t, "na-unsolicited", input(0).frame(0, Frames.eth(Frames.multicastMac(allNodes), PEER_MAC,
                Frames.TYPE_IPV6, Frames.ipv6(other6, allNodes, Frames.ICMPV6, 255, Frames.icmpv6(other6, allNodes,
                        136, 0, 0x2000_0000, Frames.ndpBody(other6, 2, 0x0200_0000_0077L))))), null, null);
        add(t, "echo-v4", input(0).frame(0, Victim.ipFrame(PEER4, VICTIM4, Frames.ICMP, Frames.icmpv4(8, 0,
                0x1234_0001, Frames.pattern(56, 1)))), grew(s -> s.icmpEchoReplies), "an echo reply");
        add(t, "echo-v6", input(0).frame(0, Victim.ipFrame(PEER6, VICTIM6, Frames.ICMPV6, Frames.icmpv6(PEER6,
                VICTIM6, 128, 0, 0x1234_0001, Frames.pattern(56, 2)))), grew(s -> s.icmp6EchoReplies),
                "an IPv6 echo reply");
        for (boolean v6 : new boolean[] {false, true}) {
            String fam = v6 ? "v6" : "v4";
            int port = 41500;
            add(t, "tcp-handshake-data-fin-" + fam, input(0)
                    .frame(0, tcpFrame(v6, port, LISTEN_PORT, 0x5000_0000, 0, Frames.SYN, Victim.synOptions(),
                            new byte[0]))
                    .frame(REL, tcpFrame(v6, port, LISTEN_PORT, 0x5000_0001, 1, Frames.ACK, ts(), new byte[0]))
                    .frame(REL, tcpFrame(v6, port, LISTEN_PORT, 0x5000_0001, 1, Frames.ACK | Frames.PSH, ts(),
                            ascii("hello, victim")))
                    .frame(REL | (1 << 4), tcpFrame(v6, port, LISTEN_PORT, 0x5000_000e, 14, Frames.ACK | Frames.FIN,
                            ts(), new byte[0])),
                    echoed(v6, LISTEN_PORT, port, "hello, victim"), "the echo of data on a new connection");
            add(t, "tcp-established-data-" + fam, input(0)
                    .frame(REL, tcpFrame(v6, PASSIVE_PEER_PORT, LISTEN_PORT, PASSIVE_ISN + 1, 1,
                            Frames.ACK | Frames.PSH, ts(), ascii("data on the standing connection"))),
                    echoed(v6, LISTEN_PORT, PASSIVE_PEER_PORT, "standing connection"), "the echo");
            add(t, "tcp-active-data-" + fam, input(0)
                    .frame(REL, tcpFrame(v6, ACTIVE_PEER_PORT, ACTIVE_LOCAL_PORT, ACTIVE_ISN + 1, 1,
                            Frames.ACK | Frames.PSH, ts(), ascii("to the victim's own connection"))),
                    echoed(v6, ACTIVE_LOCAL_PORT, ACTIVE_PEER_PORT, "own connection"), "the echo");
            add(t, "tcp-rst-" + fam, input(0)
                    .frame(REL, tcpFrame(v6, PASSIVE_PEER_PORT, LISTEN_PORT, PASSIVE_ISN + 1, 1,
                            Frames.RST | Frames.ACK, null, new byte[0])), grew(s -> s.tcpResetsIn), "a reset");
            // Data in flight (the echo, not acknowledged), then ICMP errors quoting it (RFC 5927: SND.UNA).
            byte[] data = tcpFrame(v6, PASSIVE_PEER_PORT, LISTEN_PORT, PASSIVE_ISN + 1, 1, Frames.ACK | Frames.PSH,
                    ts(), Frames.pattern(1000, 9));
            byte[] quote = Frames.slice(Frames.tcp(v6 ? VICTIM6 : VICTIM4, v6 ? PEER6 : PEER4, LISTEN_PORT,
                    PASSIVE_PEER_PORT, 1, 0, Frames.ACK, 65535, 0, null, new byte[0]), 0, 20);
            if (!v6) {
                byte[] q4 = Frames.ipv4(VICTIM_IP, PEER_IP, Frames.TCP, 1, 0x4000, 64, null, quote);
                add(t, "icmp4-frag-needed-tcp", input(0).frame(REL, data).frame(REL, Victim.ipFrame(PEER4, VICTIM4,
                        Frames.ICMP, Frames.icmpv4(3, 4, 576, q4))), grew(s -> s.tcpPathMtuReductions),
                        "a path MTU reduction");
                add(t, "icmp4-port-unreachable-tcp", input(0).frame(REL, data).frame(REL, Victim.ipFrame(PEER4,
                        VICTIM4, Frames.ICMP, Frames.icmpv4(3, 3, 0, q4))), grew(s -> s.tcpIcmpErrors),
                        "an ICMP error taken by TCP");
                add(t, "icmp4-time-exceeded-tcp", input(0).frame(REL, data).frame(REL, Victim.ipFrame(PEER4,
                        VICTIM4, Frames.ICMP, Frames.icmpv4(11, 0, 0, q4))), grew(s -> s.tcpIcmpErrors),
                        "an ICMP error taken by TCP");
            } else {
                byte[] q6 = Frames.ipv6(VICTIM6, PEER6, Frames.TCP, 64, quote);
                add(t, "icmp6-packet-too-big-tcp", input(0).frame(REL, data).frame(REL, Victim.ipFrame(PEER6, VICTIM6,
                        Frames.ICMPV6, Frames.icmpv6(PEER6, VICTIM6, 2, 0, 1280, q6))),
                        grew(s -> s.tcpPathMtuReductions), "a path MTU reduction");
                add(t, "icmp6-port-unreachable-tcp", input(0).frame(REL, data).frame(REL, Victim.ipFrame(PEER6,
                        VICTIM6, Frames.ICMPV6, Frames.icmpv6(PEER6, VICTIM6, 1, 4, 0, q6))),
                        grew(s -> s.tcpIcmpErrors), "an ICMP error taken by TCP");
            }
            IpAddress p = v6 ? PEER6 : PEER4;
            IpAddress q = v6 ? VICTIM6 : VICTIM4;
            add(t, "udp-bound-" + fam, input(0).frame(0, Victim.ipFrame(p, q, Frames.UDP, Frames.udp(p, q, 9000,
                    Victim.UDP_BOUND_PORT, Frames.pattern(100, 3)))), v -> v.delta(s -> s.udpDatagramsIn) > 0
                    && v.delta(StackStats::droppedInput) == 0, "a datagram delivered");
            add(t, "udp-closed-port-" + fam, input(0).frame(0, Victim.ipFrame(p, q, Frames.UDP, Frames.udp(p, q,
                    9000, 7999, Frames.pattern(10, 3)))), grew(s -> v6 ? s.icmp6ErrorsOut : s.icmpErrorsOut),
                    "a port unreachable");
            // ICMP port unreachable quoting the victim's datagram to the peer's port 0 (issue #10's NPE).
            byte[] u = Frames.udp(q, p, Victim.UDP_BOUND_PORT, 0, new byte[0]);
            byte[] qd = v6 ? Frames.ipv6(q, p, Frames.UDP, 64, u) : Frames.ipv4(VICTIM_IP, PEER_IP, Frames.UDP, 1, 0,
                    64, null, u);
            add(t, "icmp-port-unreachable-udp-port0-" + fam, input(0).frame(0, Victim.ipFrame(p, q,
                    v6 ? Frames.ICMPV6 : Frames.ICMP, v6 ? Frames.icmpv6(p, q, 1, 4, 0, qd)
                            : Frames.icmpv4(3, 3, 0, qd))), grew(s -> v6 ? s.icmp6ErrorsIn : s.icmpErrorsIn),
                    "the ICMP error read");
            // UDP in fragments.
            Out o = input(0);
            for (byte[] f : Fragments.train(p, q, Frames.UDP, 0x4444, Frames.udp(p, q, 9000, Victim.UDP_BOUND_PORT,
                    Frames.pattern(3000, 4)), 1232, null)) {
                o.frame(0, f);
            }
            add(t, "udp-3000-fragments-" + fam, o, grew(s -> v6 ? s.ip6Reassembled : s.ipReassembled),
                    "a reassembled datagram");
            Out e = input(0);
            byte[] echo = v6 ? Frames.icmpv6(p, q, 128, 0, 0x4343_0001, Frames.pattern(3000, 5))
                    : Frames.icmpv4(8, 0, 0x4343_0001, Frames.pattern(3000, 5));
            for (byte[] f : Fragments.train(p, q, v6 ? Frames.ICMPV6 : Frames.ICMP, 0x4545, echo, 1232, null)) {
                e.frame(0, f);
            }
            add(t, "echo-3000-fragments-" + fam, e, grew(s -> v6 ? s.ip6Fragmented : s.ipFragmented),
                    "a reply sent in fragments");
        }
        // IPv4 options (NOP, NOP, record route, EOL) around UDP.
        byte[] options = {1, 1, 7, 11, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
        add(t, "ipv4-options-udp", input(0).frame(0, Frames.eth(VICTIM_MAC, PEER_MAC, Frames.TYPE_IPV4,
                Frames.ipv4(PEER_IP, VICTIM_IP, Frames.UDP, 7, 0, 64, options, Frames.udp(PEER4, VICTIM4, 9000,
                        Victim.UDP_BOUND_PORT, Frames.pattern(40, 6))))), grew(s -> s.udpDatagramsIn),
                "a datagram delivered");
        // IPv6 extension headers (RFC 8200 §4).
        byte[] echo6 = Frames.icmpv6(PEER6, VICTIM6, 128, 0, 0x1234_0003, Frames.pattern(24, 7));
        add(t, "v6-hop-by-hop-echo", input(0).frame(0, Frames.eth(VICTIM_MAC, PEER_MAC, Frames.TYPE_IPV6,
                Frames.ipv6(PEER6, VICTIM6, Frames.HOP_BY_HOP, 64, Frames.concat(Fragments.extension(Frames.ICMPV6,
                        new byte[0]), echo6)))), grew(s -> s.icmp6EchoReplies), "an echo reply");
        byte[] udp6 = Frames.udp(PEER6, VICTIM6, 9000, Victim.UDP_BOUND_PORT, Frames.pattern(30, 8));
        add(t, "v6-dest-options-routing-udp", input(0).frame(0, Frames.eth(VICTIM_MAC, PEER_MAC, Frames.TYPE_IPV6,
                Frames.ipv6(PEER6, VICTIM6, Frames.DEST_OPTIONS, 64, Frames.concat(
                        Fragments.extension(Frames.ROUTING, new byte[0]), routing(Frames.UDP, 0), udp6)))),
                grew(s -> s.udpDatagramsIn), "a datagram delivered");
        add(t, "v6-routing-segments-left", input(0).frame(0, Frames.eth(VICTIM_MAC, PEER_MAC, Frames.TYPE_IPV6,
                Frames.ipv6(PEER6, VICTIM6, Frames.ROUTING, 64, Frames.concat(routing(Frames.UDP, 1), udp6)))),
                grew(s -> s.icmp6ErrorsOut), "a parameter problem");
        add(t, "v6-unknown-option", input(0).frame(0, Frames.eth(VICTIM_MAC, PEER_MAC, Frames.TYPE_IPV6,
                Frames.ipv6(PEER6, VICTIM6, Frames.DEST_OPTIONS, 64, Frames.concat(Fragments.extension(Frames.UDP,
                        new byte[] {(byte) 0x87, 2, 0, 0}), udp6)))), grew(s -> s.icmp6ErrorsOut),
                "a parameter problem");
        // A TAP with a virtio header: checksums trusted (a wrong one passes), and TSO for the echo.
        byte[] bad = tcpFrame(false, PASSIVE_PEER_PORT, LISTEN_PORT, PASSIVE_ISN + 1, 1, Frames.ACK | Frames.PSH,
                ts(), Frames.pattern(1400, 10));
        add(t, "vnet-trusted-checksum", input(Victim.OPT_VNET).frame(RawFrames.RELATIVE | RawFrames.TRUSTED, bad),
                echoed(false, LISTEN_PORT, PASSIVE_PEER_PORT, new String(Frames.pattern(1400, 10),
                        StandardCharsets.ISO_8859_1)), "the echo of a segment whose checksum was not checked");
        Out tso = input(Victim.OPT_VNET | Victim.OPT_TSO);
        for (int k = 0; k < 4; k++) {
            tso.frame(REL | RawFrames.BATCH, tcpFrame(false, PASSIVE_PEER_PORT, LISTEN_PORT, PASSIVE_ISN + 1 + 1400 * k,
                    1, Frames.ACK, ts(), Frames.pattern(1400, k)));
        }
        tso.frame(REL, tcpFrame(false, PASSIVE_PEER_PORT, LISTEN_PORT, PASSIVE_ISN + 1 + 5600, 1, Frames.ACK | Frames.PSH,
                ts(), new byte[0]));
        add(t, "vnet-tso-echo", tso, echoed(false, LISTEN_PORT, PASSIVE_PEER_PORT, new String(Frames.pattern(1400, 3),
                StandardCharsets.ISO_8859_1)), "the echo of 5600 bytes");
    }

    /** A type-0-free routing header (RFC 8200 §4.4) of type 4 with one address. */
    private static byte[] routing(int next, int segmentsLeft) {
        byte[] r = new byte[24];
        r[0] = (byte) next;
        r[1] = 2;
        r[2] = 4;
        r[3] = (byte) segmentsLeft;
        Frames.putAddress(r, 8, PEER6);
        return r;
    }

    // ------------------------------------------------------------------ tcp

    /** A segment op of the {@code tcp} target. */
    private static Out seg(Out o, int mods, int flow, int flags, int seq, int ack, int window, int urgent,
                           byte[] options, int len, byte[] data) {
        o.u8(mods & 0xf0).u8(flow).u8(flags);
        if ((mods & 0x10) != 0) {
            o.i32(seq).i32(ack);
        } else {
            o.u16(seq).u16(ack);
        }
        o.u16(window).u16(urgent).u8(options.length).raw(options);
        if (data.length < len) {
            o.u16(0x8000 | len); // a pattern of len bytes
        } else {
            o.u16(len).raw(data);
        }
        return o;
    }

    private static final int TS = 0x40;
    private static final byte[] NONE = new byte[0];

    private void tcp() {
        String t = "tcp";
        for (int fam = 0; fam < 2; fam++) {
            boolean v6 = fam == 1;
            String f = v6 ? "v6" : "v4";
            int fresh = 6 | fam; // a new flow to the listener, peer port 41000
            Out o = input(0);
            seg(o, 0, fresh, Frames.SYN, 0, 0, 65535, 0, Victim.synOptions(), 0, NONE);
            seg(o, TS, fresh, Frames.ACK, 0, 0, 65535, 0, NONE, 0, NONE);
            seg(o, TS, fresh, Frames.ACK | Frames.PSH, 0, 0, 65535, 0, NONE, 5, ascii("hello"));
            seg(o, TS, fresh, Frames.ACK | Frames.FIN, 0, 0, 65535, 0, NONE, 0, NONE);
            o.u8(11 | (4 << 4)).u8(fresh);
            seg(o, TS, fresh, Frames.ACK, 0, 0, 65535, 0, NONE, 0, NONE);
            add(t, "handshake-data-fin-" + f, o, echoed(v6, LISTEN_PORT, TcpOps.NEW_FLOW_PORT, "hello"),
                    "the echo on a new connection");

            // The victim sends 20000 bytes; the peer acknowledges part, SACKs a later block, then lets RTO pass.
            int est = fam; // the connection the peer opened
            Out s = input(0);
            s.u8(8).u8(est).u16(20000);
            byte[] sack = {1, 1, 5, 10, 0, 0, 0, 0, 0, 0, 0, 0};
            Frames.put32(sack, 4, 1 + 5 * 1448);
            Frames.put32(sack, 8, 1 + 8 * 1448);
            for (int k = 0; k < 3; k++) { // duplicate ACKs of the first two segments, SACKing three later ones
                seg(s, 0x10 | TS, est, Frames.ACK, 0, 1 + 2 * 1448, 65535, 0, sack, 0, NONE);
            }
            s.u8(11 | (7 << 4)).u8(est);
            seg(s, TS, est, Frames.ACK, 0, 0, 65535, 0, NONE, 0, NONE);
            add(t, "send-sack-rto-" + f, s, grew(st -> st.tcpRetransmits), "retransmissions");

            // The peer closes its window, the victim probes; then the peer opens it.
            Out z = input(0);
            z.u8(8).u8(est).u16(3000);
            seg(z, TS, est, Frames.ACK, 0, -3000, 0, 0, NONE, 0, NONE);
            z.u8(11 | (9 << 4)).u8(est);
            seg(z, TS, est, Frames.ACK, 0, 0, 65535, 0, NONE, 0, NONE);
            add(t, "zero-window-probe-" + f, z, null, null);

            // The victim's application stops reading: its window fills; then it reads again.
            Out r = input(0);
            r.u8(10).u8(est);
            for (int k = 0; k < 50; k++) {
                seg(r, TS, est, Frames.ACK, 0, 0, 65535, 0, NONE, 1400, NONE);
            }
            r.u8(10).u8(est);
            add(t, "receive-window-fills-" + f, r, null, null);

            // Out of order, then the hole filled; urgent data; a duplicate SYN (challenge ACK); a reset in window.
            Out x = input(0);
            seg(x, TS | 0x20, est, Frames.ACK, 1000, 0, 65535, 0, NONE, 1000, NONE);
            seg(x, TS, est, Frames.ACK | Frames.PSH, 0, 0, 65535, 0, NONE, 2000, NONE);
            seg(x, TS, est, Frames.ACK | Frames.URG, 0, 0, 65535, 3, NONE, 10, NONE);
            seg(x, TS | 0x20, est, Frames.SYN, -100, 0, 65535, 0, Victim.synOptions(), 0, NONE);
            seg(x, 0x20, est, Frames.RST, 5, 0, 0, 0, NONE, 0, NONE);
            seg(x, 0x20, est, Frames.RST, 0, 0, 0, 0, NONE, 0, NONE);
            add(t, "ooo-urgent-syn-rst-" + f, x, grew(st -> st.tcpResetsIn), "a reset");

            // ICMP errors quoting the flow while data is in flight.
            Out i = input(0);
            i.u8(8).u8(est).u16(4000);
            i.u8(12).u8(est).u8(1).u8(0).i32(v6 ? 1280 : 1000).u16(-4000 & 0xffff);
            i.u8(12).u8(est).u8(0).u8(v6 ? 4 : 3).i32(0).u16(-4000 & 0xffff);
            add(t, "icmp-errors-in-flight-" + f, i, grew(st -> st.tcpPathMtuReductions), "a path MTU reduction");

            // Closes: the victim shuts down output, the peer answers; an abort; close with unread data.
            Out c = input(0);
            c.u8(9 | (1 << 4)).u8(est);
            seg(c, TS, est, Frames.ACK | Frames.FIN, 0, 0, 65535, 0, NONE, 0, NONE);
            c.u8(11 | (10 << 4)).u8(est);
            c.u8(9 | (2 << 4)).u8(2 | fam);
            c.u8(10).u8(fresh);
            seg(c, 0, fresh, Frames.SYN, 0, 0, 65535, 0, Victim.synOptions(), 0, NONE);
            seg(c, TS, fresh, Frames.ACK | Frames.PSH, 0, 0, 65535, 0, NONE, 100, NONE);
            c.u8(9).u8(fresh);
            add(t, "closes-" + f, c, grew(st -> st.tcpResetsOut), "a reset for data left unread");

            // The connection in SYN-SENT: a SYN-ACK with a bad ACK (RST), then a simultaneous open (SYN).
            int syn = 4 | fam;
            Out a = input(0);
            seg(a, 0, syn, Frames.SYN | Frames.ACK, 0, 100, 65535, 0, Victim.synOptions(), 0, NONE);
            seg(a, 0, syn, Frames.SYN, 0, 0, 65535, 0, Victim.synOptions(), 0, NONE);
            seg(a, TS, syn, Frames.ACK, 0, 0, 65535, 0, NONE, 0, NONE);
            add(t, "syn-sent-" + f, a, null, null);
        }
    }

    // ------------------------------------------------------------------ udp

    private void udp() {
        String t = "udp";
        for (int fam = 0; fam < 2; fam++) {
            boolean v6 = fam == 1;
            String f = v6 ? "v6" : "v4";
            int v = fam << 3;
            add(t, "to-every-socket-" + f, input(0)
                    .u8(v).u8(0).u16(0).u16(100).raw(Frames.pattern(100, 1))
                    .u8(v).u8(1).u16(0).u16(50).raw(Frames.pattern(50, 2))
                    .u8(v).u8(1).u16(9001).u16(10).raw(Frames.pattern(10, 3))
                    .u8(v).u8(2).u16(0).u16(10).raw(Frames.pattern(10, 4))
                    .u8(v).u8(3).u16(0).u16(10).raw(Frames.pattern(10, 5)),
                    grew(s -> v6 ? s.icmp6ErrorsOut : s.icmpErrorsOut), "datagrams and a port unreachable");
            add(t, "checksums-" + f, input(0)
                    .u8(v | 0x10).u8(0).u16(0).u16(20).raw(Frames.pattern(20, 1))
                    .u8(v | 0x20).u8(0).u16(0).u16(20).raw(Frames.pattern(20, 1))
                    .u8(v | 0x80).u8(0).u16(0).u16(20).raw(Frames.pattern(20, 1)).u16(9),
                    grew(s -> s.dropUdpChecksum), "a checksum drop");
            add(t, "fragments-" + f, input(0)
                    .u8(v | 0x40).u8(0).u16(0).u16(4000).raw(Frames.pattern(4000, 1)).u8(150),
                    grew(s -> v6 ? s.ip6Reassembled : s.ipReassembled), "a reassembled datagram");
            add(t, "icmp-errors-" + f, input(0)
                    .u8(v | 3).u8(0).u8(v6 ? 4 : 3).u8(1).u16(Victim.UDP_PEER_PORT).i32(0)
                    .u8(v | 3).u8(0).u8(v6 ? 4 : 3).u8(0).u16(0).i32(0)
                    .u8(v | 3).u8(1).u8(0).u8(0).u16(Victim.UDP_PEER_PORT).i32(1280)
                    .u8(v | 3).u8(2).u8(0).u8(1).u16(Victim.UDP_PEER_PORT).i32(0)
                    .u8(v | 4 | 0x10).u16(100),
                    grew(s -> v6 ? s.icmp6ErrorsIn : s.icmpErrorsIn), "ICMP errors read");
            add(t, "app-sends-" + f, input(0)
                    .u8(v | 4).u16(9000)
                    .u8(v | 4 | 0x10).u16(65507)
                    .u8(v | 5 | 0x40).u8(v | 4 | 0x10).u16(10)
                    .u8(v | 5 | 0x10 | 0x40).u16(9100).u8(v | 4 | 0x10).u16(10),
                    grew(s -> v6 ? s.ip6Fragmented : s.ipFragmented), "a datagram sent in fragments");
            Out q = input(0).u8(v | 5 | 0x20).u16(8).u8(v | 5 | 0x30);
            for (int k = 0; k < 20; k++) {
                q.u8(v).u8(0).u16(0).u16(200).raw(Frames.pattern(200, k));
            }
            q.u8(v | 5 | 0x30).u8(6 | (7 << 4));
            add(t, "receive-buffer-full-" + f, q, grew(s -> s.dropUdpReceiveBuffer), "receive buffer drops");
        }
    }

    // ------------------------------------------------------------------ fragments

    private void fragments() {
        String t = "fragments";
        for (int fam = 0; fam < 2; fam++) {
            boolean v6 = fam == 1;
            String f = v6 ? "v6" : "v4";
            int v = fam << 2;
            ToLongFunction<StackStats> reassembled = v6 ? s -> s.ip6Reassembled : s -> s.ipReassembled;
            add(t, "udp-in-order-" + f, input(0).u8(v).u8(0).u16(0x100).u16(3000).u8(0).u8(2).u8(184),
                    grew(reassembled), "a reassembled datagram");
            add(t, "echo-reversed-duplicate-" + f, input(0).u8(v).u8(1).u16(0x101).u16(3000).u8(0).u8(2 | 4 | 8)
                    .u8(99), grew(reassembled), "a reassembled echo");
            add(t, "tcp-syn-" + f, input(0).u8(v).u8(2).u16(0x102).u16(64).u8(0).u8(2).u8(7), grew(reassembled),
                    "a reassembled SYN");
            add(t, "overlaps-" + f, input(0).u8(v).u8(0).u16(0x103).u16(2000).u8(0)
                    .u8(1).u16(0).u16(1000)
                    .u8(1).u16(800).u16(1000)
                    .u8(1 | 4).u16(1600).u16(1000)
                    .u8(1).u16(0).u16(1000), null, null);
            add(t, "timeout-" + f, input(0).u8(v).u8(0).u16(0x104).u16(3000).u8(0).u8(2 | 0x10).u8(99)
                    .u8(3 | (12 << 4)), grew(v6 ? s -> s.ip6FragTimeouts : s -> s.dropIpReassemblyTimeout),
                    "a reassembly timeout");
            add(t, "tiny-and-unknown-" + f, input(0).u8(v).u8(99).u16(0x105).u16(64).u8(0).u8(2).u8(0), null, null);
        }
        add(t, "v4-options", input(0).u8(0).u8(0).u16(0x106).u16(1000).u8(5)
                .raw(new byte[] {1, 1, 7, 11, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}).u8(2).u8(60),
                grew(s -> s.ipReassembled), "a reassembled datagram");
        add(t, "v6-extension-headers", input(0).u8(4 | 8 | 16).u8(0).u16(0x107).u16(1000).u8(1)
                .raw(new byte[] {1, 2, 0, 0}).u8(2).u8(60), grew(s -> s.ip6Reassembled), "a reassembled datagram");
        // A long one (libFuzzer's length limit starts near the longest seed): datagrams of both families cut
        // one fragment at a time, interleaved, out of order, with overlaps and time passing.
        Out l = input(0);
        for (int k = 0; k < 12; k++) {
            int fam = (k & 1) << 2;
            l.u8(fam | (k % 3 == 0 ? 8 : 0)).u8(k % 4).u16(0x200 + k).u16(1500 + 100 * k).u8(k % 3 == 0 ? 1 : 0);
            if (k % 3 == 0) {
                l.raw(new byte[] {1, 2, 0, 0});
            }
            int[] offsets = k % 2 == 0 ? new int[] {0, 512, 1024, 1536} : new int[] {1536, 512, 0, 1024, 400};
            for (int i = 0; i < offsets.length; i++) {
                boolean last = offsets[i] + 512 >= 1500 + 100 * k + 8;
                l.u8(1 | (last ? 4 : 0) | (i == 2 ? 3 << 5 : 0)).u16(offsets[i]).u16(512);
            }
            if (k % 4 == 3) {
                l.u8(3 | (9 << 4));
            }
        }
        add(t, "long-interleaved", l, grew(s -> s.ipReassembled + s.ip6Reassembled), "reassembled datagrams");
    }

    // ------------------------------------------------------------------ wire

    private void wire() {
        IpAddress p = PEER4;
        IpAddress q = VICTIM4;
        byte[] syn = Frames.tcp(p, q, 41000, 80, 1, 0, Frames.SYN, 65535, 0, Victim.synOptions(), new byte[0]);
        byte[] ip4 = Frames.ipv4(PEER_IP, VICTIM_IP, Frames.TCP, 1, 0x4000, 64, null, syn);
        byte[] ip4opt = Frames.ipv4(PEER_IP, VICTIM_IP, Frames.UDP, 1, 0, 64,
                new byte[] {1, 1, 7, 11, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, new byte[8]);
        byte[] frame = Frames.eth(VICTIM_MAC, PEER_MAC, Frames.TYPE_IPV4, ip4);
        wire("ethernet", "ipv4-frame", frame);
        wire("ethernet", "multicast", Frames.eth(0x3333_ff00_0002L, PEER_MAC, Frames.TYPE_IPV6, new byte[0]));
        wire("arp", "request", Frames.arp(1, PEER_MAC, PEER_IP, 0, VICTIM_IP));
        wire("arp", "reply", Frames.arp(2, PEER_MAC, PEER_IP, VICTIM_MAC, VICTIM_IP));
        wire("ipv4", "syn", ip4);
        wire("ipv4", "options", ip4opt);
        wire("tcp", "syn", syn);
        wire("tcpOptions", "syn", new Out().u8(5).u8(0).raw(syn).toByteArray());
        byte[] sack = Frames.tcp(p, q, 41000, 80, 1, 1, Frames.ACK, 65535, 0, new byte[] {1, 1, 8, 10, 0, 0, 0, 1, 0,
            0, 0, 2, 1, 1, 5, 26, 0, 0, 0, 10, 0, 0, 0, 20, 0, 0, 0, 30, 0, 0, 0, 40, 0, 0, 0, 50, 0, 0, 0, 60},
                new byte[0]);
        wire("tcpOptions", "timestamps-sack", new Out().u8(10).u8(3).raw(sack).toByteArray());
        wire("tcpOptions", "malformed", new Out().u8(2).u8(0).raw(Frames.concat(new byte[20],
                new byte[] {1, 1, 2, 1, 0, 0, 0, 0})).toByteArray());
        byte[] u = Frames.udp(p, q, 9000, 7000, Frames.pattern(4, 1));
        wire("udp", "datagram", u);
        wire("virtioNetHeader", "partial", new byte[] {1, 1, 54, 0, (byte) 0xa8, 5, 34, 0, 16, 0});
        wire("virtioNetHeader", "none", new byte[10]);
        byte[] ns = Frames.icmpv6(PEER6, VICTIM6, 135, 0, 0, Frames.ndpBody(VICTIM6, 1, PEER_MAC));
        byte[] ip6 = Frames.ipv6(PEER6, VICTIM6, Frames.ICMPV6, 255, ns);
        wire("ipv6", "ns", ip6);
        wire("ipv6", "link-local", Frames.ipv6(Victim.VICTIM_LL, IpAddress.of(0xff02_0000_0000_0000L,
                0x0000_0001_ff00_0002L), Frames.ICMPV6, 255, new byte[0]));
        wire("icmpv6", "ns-slla", new Out().u8(24).u16(8).u8(1).raw(ns).toByteArray());
        wire("icmpv6", "two-options", new Out().u8(24).u16(24).u8(2).raw(Frames.concat(ns,
                new byte[] {2, 1, 2, 0, 0, 0, 0, 1, 14, 1, 0, 0, 0, 0, 0, 0})).toByteArray());
        byte[] chain = Frames.ipv6(PEER6, VICTIM6, Frames.HOP_BY_HOP, 64, Frames.concat(
                Fragments.extension(Frames.DEST_OPTIONS, new byte[] {5, 2, 0, 0}),
                Fragments.extension(Frames.ROUTING, new byte[0]), routing(Frames.FRAGMENT, 0),
                new byte[] {17, 0, 0, 1, 0, 0, 0, 9}, Frames.udp(PEER6, VICTIM6, 1, 2, new byte[8])));
        wire("ipv6Extensions", "chain", new Out().u8(0).u8(1).u16(0).raw(chain).toByteArray());
        wire("ipv6Extensions", "unknown-option", new Out().u8(3).u8(1).u16(0).raw(Frames.ipv6(PEER6, VICTIM6,
                Frames.DEST_OPTIONS, 64, Frames.concat(Fragments.extension(Frames.UDP, new byte[] {(byte) 0xc2, 0}),
                        new byte[8]))).toByteArray());
        wire("checksum", "syn", new Out().u8(0).u16(syn.length).i32(0x1234).u8(7).raw(syn).toByteArray());
        wire("checksum", "odd", new Out().u8(1).u16(33).i32(-1).u8(200).raw(Frames.pattern(40, 3)).toByteArray());
        wire("macAddress", "colons", ascii("02:00:5e:10:00:01"));
        wire("macAddress", "dashes", ascii(" 2-0-5E-10-0-1 "));
        wire("ipAddress", "v6", Frames.concat(Ipv6Bytes.of(PEER6), new byte[] {(byte) 198, 18, 0, 1}));
        wire("ipAddress", "mapped", Frames.concat(new byte[10], new byte[] {-1, -1, 127, 0, 0, 1}));
        wire("ipAddress", "zero-runs", new byte[] {0x20, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1});
    }

    /** The 16 bytes of an IPv6 address. */
    static final class Ipv6Bytes {
        static byte[] of(IpAddress a) {
            byte[] b = new byte[16];
            Frames.putAddress(b, 0, a);
            return b;
        }
    }
}
