package io.usertcp.fuzz;

import io.netty.buffer.Unpooled;
import io.usertcp.udp.UdpSocket;
import io.usertcp.wire.IpAddress;

import java.io.IOException;

/**
 * The input format of the {@code udp} target: datagrams to the {@link Victim}'s UDP sockets (bound and
 * unconnected on 7000, connected on 7001/7002), ICMP errors about datagrams it sent, and calls of its
 * application.
 *
 * <pre>
 *   input = options:u8 op*
 *   op    = code:u8 body;  family: code bit 3 (IPv6)
 *   code & 7:
 *     0-2  datagram from the peer: to:u8 sport:u16 datalen:u16 data
 *            to: 0 the bound socket, 1 the connected one, 2 a closed port (7999), 3 the broadcast (IPv4) or
 *            all-nodes (IPv6) address, port 7000, else port to:u16; sport 0 means 9000; code bits 4-5: checksum
 *            right (0, 3), wrong (1), or zero (2); code bit 6: in fragments of 8 * (1 + u8) bytes;
 *            code bit 7: the datagram's length field is a u16 from the input
 *     3    ICMP (ICMPv6) error quoting a datagram the victim sent: kind:u8 code:u8 from:u8 (0 the bound port,
 *            1 the connected one, else u16) dport:u16 word:i32
 *     4    the application sends len:u16 bytes (up to 65507): from the bound socket to the peer's 9000 (code
 *            bit 4 clear) or on the connected one
 *     5    the application disconnects (code bits 4-5 = 0), reconnects to the peer's port:u16 (1), sets the
 *            receive buffer to 64 * u16 bytes (2), or stops / resumes reading (3), on the bound socket
 *            (code bit 6 clear) or the connected one
 *     6    STEPS[code bits 4-7] of virtual time pass
 *     7    datagram, as 0
 * </pre>
 */
final class UdpOps {
    private UdpOps() {
    }

    /** Runs one input against a fresh victim and checks it; throws on any finding. */
    static void run(byte[] data) {
        try (Victim v = replay(data)) {
            v.check();
        }
    }

    /** A fresh victim after the input (not checked, not closed). */
    static Victim replay(byte[] data) {
        FuzzInput in = new FuzzInput(data);
        Victim v = new Victim(in.u8());
        int ops = 0;
        while (in.hasMore() && ops++ < 256) {
            int code = in.u8();
            boolean v6 = (code & 8) != 0;
            switch (code & 7) {
                case 3:
                    v.input(icmpError(v6, in), false);
                    break;
                case 4:
                    send(v, v6, (code & 0x10) != 0, in.u16());
                    break;
                case 5:
                    app(v, v6, code, in);
                    break;
                case 6:
                    v.advance(Victim.STEPS[code >>> 4]);
                    continue;
                default:
                    datagram(v, v6, code, in);
                    break;
            }
            v.pump();
        }
        return v;
    }

    private static void datagram(Victim v, boolean v6, int code, FuzzInput in) {
        IpAddress src = v6 ? Victim.PEER6 : Victim.PEER4;
        IpAddress dst = v6 ? Victim.VICTIM6 : Victim.VICTIM4;
        int to = in.u8();
        int dport;
        switch (to) {
            case 0:
                dport = Victim.UDP_BOUND_PORT;
                break;
            case 1:
                dport = v6 ? Victim.UDP_CONNECTED6_PORT : Victim.UDP_CONNECTED4_PORT;
                break;
            case 2:
                dport = 7999;
                break;
            case 3:
                dport = Victim.UDP_BOUND_PORT;
                dst = v6 ? IpAddress.of(0xff02_0000_0000_0000L, 1) : IpAddress.v4(0xC61200ff);
                break;
            default:
                dport = in.u16();
                break;
        }
        int sport = in.u16();
        if (sport == 0) {
            sport = Victim.UDP_PEER_PORT;
        }
        byte[] payload = in.bytes(Math.min(9000, in.u16()));
        byte[] udp = Frames.udp(src, dst, sport, dport, payload);
        if ((code & 0x80) != 0) {
            Frames.put16(udp, 4, in.u16());
            Frames.put16(udp, 6, 0);
            int c = Frames.checksum(udp, 0, udp.length, Frames.pseudo(src, dst, Frames.UDP, udp.length));
            Frames.put16(udp, 6, c == 0 ? 0xffff : c);
        }
        int sum = (code >>> 4) & 3;
        if (sum == 1) {
            udp[6] ^= 0x5a;
        } else if (sum == 2) {
            Frames.put16(udp, 6, 0);
        }
        long dmac = dst.isMulticast() ? Frames.multicastMac(dst) : dst.isV4() && dst.v4() == 0xC61200ff
                ? 0xffff_ffff_ffffL : Victim.VICTIM_MAC;
        if ((code & 0x40) == 0) {
            byte[] ip = v6 ? Frames.ipv6(src, dst, Frames.UDP, 64, udp)
                    : Frames.ipv4(src.v4(), dst.v4(), Frames.UDP, 0x2222, 0, 64, null, udp);
            v.input(Frames.eth(dmac, Victim.PEER_MAC, v6 ? Frames.TYPE_IPV6 : Frames.TYPE_IPV4, ip), false);
            return;
        }
        int per = 8 * (1 + in.u8());
        for (byte[] f : Fragments.train(src, dst, Frames.UDP, 0x3333, udp, per, null)) {
            Frames.putMac(f, 0, dmac);
            v.input(f, false);
        }
    }

    /** An ICMP error about a datagram from one of the victim's ports to the peer (RFC 792, RFC 4443). */
    static byte[] icmpError(boolean v6, FuzzInput in) {
        int kind = in.u8();
        int code = in.u8();
        int from = in.u8();
        int sport = from == 0 ? Victim.UDP_BOUND_PORT
                : from == 1 ? (v6 ? Victim.UDP_CONNECTED6_PORT : Victim.UDP_CONNECTED4_PORT) : in.u16();
        int dport = in.u16();
        int word = in.i32();
        byte[] udp = new byte[8 + (kind >>> 4)];
        Frames.put16(udp, 0, sport);
        Frames.put16(udp, 2, dport);
        Frames.put16(udp, 4, udp.length);
        if (!v6) {
            int[][] types = {{3, code & 15}, {3, 4}, {11, code & 1}, {12, 0}};
            int[] t = types[kind & 3];
            byte[] quoted = Frames.ipv4(Victim.VICTIM_IP, Victim.PEER_IP, Frames.UDP, 0, 0, 64, null, udp);
            return Victim.ipFrame(Victim.PEER4, Victim.VICTIM4, Frames.ICMP, Frames.icmpv4(t[0], t[1],
                    t[0] == 3 && t[1] == 4 ? word & 0xffff : word, quoted));
        }
        int[][] types = {{1, code & 7}, {2, 0}, {3, code & 1}, {4, code & 3}};
        int[] t = types[kind & 3];
        byte[] quoted = Frames.ipv6(Victim.VICTIM6, Victim.PEER6, Frames.UDP, 64, udp);
        return Victim.ipFrame(Victim.PEER6, Victim.VICTIM6, Frames.ICMPV6,
                Frames.icmpv6(Victim.PEER6, Victim.VICTIM6, t[0], t[1], word, quoted));
    }

    private static UdpSocket socket(Victim v, boolean v6, boolean connected) {
        return !connected ? v.udpBound : v6 ? v.udpConnected6 : v.udpConnected4;
    }

    private static void send(Victim v, boolean v6, boolean connected, int len) {
        UdpSocket s = socket(v, v6, connected);
        if (s.isClosed()) {
            return;
        }
        try {
            s.send(Unpooled.wrappedBuffer(Frames.pattern(Math.min(len, 65507), len)),
                    s.isConnected() ? null : v6 ? Victim.PEER6 : Victim.PEER4, Victim.UDP_PEER_PORT);
        } catch (IOException e) {
            // an ICMP error reported on the send, or a datagram too long: the application's business
        }
    }

    private static void app(Victim v, boolean v6, int code, FuzzInput in) {
        UdpSocket s = socket(v, v6, (code & 0x40) != 0);
        switch ((code >>> 4) & 3) {
            case 0:
                s.disconnect();
                break;
            case 1: {
                int port = in.u16();
                try {
                    s.connect(v6 ? Victim.PEER6 : Victim.PEER4, port == 0 ? Victim.UDP_PEER_PORT : port);
                } catch (IOException e) {
                    // refused by the API: fine
                }
                break;
            }
            case 2:
                s.receiveBufferSize(Math.max(1, 64 * in.u16()));
                break;
            default:
                v.toggleReading(s);
                break;
        }
    }
}
