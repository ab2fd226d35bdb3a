package io.usertcp.fuzz;

import io.usertcp.wire.IpAddress;

import java.util.ArrayList;
import java.util.List;

/**
 * The input format of the {@code fragments} target: IPv4 fragments (RFC 791 §3.2) and IPv6 fragments
 * (RFC 8200 §4.5) of whole, correctly checksummed datagrams, cut where the fuzzer says, with IPv4 options and
 * IPv6 extension headers around them, for reassembly and what it delivers (UDP, ICMP echo and its fragmented
 * reply, TCP).
 *
 * <pre>
 *   input = options:u8 op*
 *   op    = code:u8 body
 *   code & 3:
 *     0  a new datagram (the current one): code bit 2 IPv6; what:u8 id:u16 length:u16 optlen:u8 options[4*optlen]
 *          what: 0 UDP to the bound socket, 1 ICMP echo request, 2 a TCP SYN to the listener, 3 UDP to a closed
 *          port, else an unknown protocol; its payload is a pattern of length (at most 9000) bytes.
 *          IPv4: options go in the header (at most 40 bytes). IPv6: code bit 3, a hop-by-hop header with the
 *          option bytes (unfragmentable part); code bit 4, a destination options header (fragmentable part)
 *     1  one fragment of it: offset:u16 length:u16; code bit 2 clears MF, bit 3: the offset is not rounded to a
 *          multiple of 8, bit 4: the identification is xored with u8, bits 5-7 STEPS[n] of time pass after it
 *     2  all of it, in fragments of 8 * (1 + u8) bytes: in order, or reversed (code bit 2), with the second
 *          fragment sent twice (bit 3), the last one left out (bit 4)
 *     3  STEPS[code bits 4-7] of virtual time pass
 * </pre>
 */
final class Fragments {
    private Fragments() {
    }

    /** The datagram the fragment ops cut. */
    private static final class Datagram {
        boolean v6;
        int protocol;
        int id;
        /** IPv4 options, or the IPv6 hop-by-hop header (unfragmentable), or null. */
        byte[] unfragmentable;
        /** What the fragments carry: the IPv6 fragmentable part, or the IPv4 payload. */
        byte[] body;
        IpAddress src;
        IpAddress dst;
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
        Datagram d = null;
        int ops = 0;
        while (in.hasMore() && ops++ < 256) {
            int code = in.u8();
            switch (code & 3) {
                case 0:
                    d = datagram(code, in);
                    break;
                case 1: {
                    int offset = in.u16();
                    int length = in.u16();
                    if (d == null) {
                        break;
                    }
                    if ((code & 8) == 0) {
                        offset &= ~7;
                    }
                    int id = (code & 0x10) != 0 ? d.id ^ in.u8() : d.id;
                    int from = Math.min(offset, d.body.length);
                    int n = Math.max(0, Math.min(length, d.body.length - from));
                    v.input(fragment(d, id, offset, (code & 4) == 0, Frames.slice(d.body, from, n)), false);
                    v.pump();
                    if ((code >>> 5) != 0) {
                        v.advance(Victim.STEPS[code >>> 5]);
                    }
                    break;
                }
                case 2: {
                    int per = 8 * (1 + in.u8());
                    if (d == null) {
                        break;
                    }
                    List<byte[]> train = new ArrayList<>();
                    for (int off = 0; off < d.body.length; off += per) {
                        int n = Math.min(per, d.body.length - off);
                        train.add(fragment(d, d.id, off, off + n < d.body.length, Frames.slice(d.body, off, n)));
                    }
                    if ((code & 0x10) != 0 && train.size() > 1) {
                        train.remove(train.size() - 1);
                    }
                    if ((code & 8) != 0 && train.size() > 1) {
                        train.add(2, train.get(1));
                    }
                    for (int i = 0; i < train.size(); i++) {
                        v.input(train.get((code & 4) != 0 ? train.size() - 1 - i : i), false);
                    }
                    v.pump();
                    break;
                }
                default:
                    v.advance(Victim.STEPS[code >>> 4]);
                    break;
            }
        }
        return v;
    }

    private static Datagram datagram(int code, FuzzInput in) {
        Datagram d = new Datagram();
        d.v6 = (code & 4) != 0;
        d.src = d.v6 ? Victim.PEER6 : Victim.PEER4;
        d.dst = d.v6 ? Victim.VICTIM6 : Victim.VICTIM4;
        int what = in.u8();
        d.id = in.u16();
        int length = Math.min(9000, in.u16());
        byte[] options = in.bytes(4 * Math.min(10, in.u8()));
        options = java.util.Arrays.copyOf(options, (options.length + 3) & ~3);
        byte[] data = Frames.pattern(length, d.id);
        byte[] upper;
        switch (what) {
            case 0:
            case 3:
                d.protocol = Frames.UDP;
                upper = Frames.udp(d.src, d.dst, 9000, what == 0 ? Victim.UDP_BOUND_PORT : 7999, data);
                break;
            case 1:
                d.protocol = d.v6 ? Frames.ICMPV6 : Frames.ICMP;
                upper = d.v6 ? Frames.icmpv6(d.src, d.dst, 128, 0, 0x4242_0001, data)
                        : Frames.icmpv4(8, 0, 0x4242_0001, data);
                break;
            case 2:
                d.protocol = Frames.TCP;
                upper = Frames.tcp(d.src, d.dst, 42000 + d.id % 1000, Victim.LISTEN_PORT, 0x5000_0000, 0,
                        Frames.SYN, 65535, 0, new byte[] {2, 4, 0x05, (byte) 0xb4}, data);
                break;
            default:
                d.protocol = what;
                upper = data;
                break;
        }
        if (!d.v6) {
            d.unfragmentable = options.length == 0 ? null : options;
            d.body = upper;
            return d;
        }
        int next = d.protocol;
        if ((code & 0x10) != 0) {
            upper = Frames.concat(extension(d.protocol, new byte[0]), upper);
            next = Frames.DEST_OPTIONS;
        }
        d.protocol = next;
        d.unfragmentable = (code & 8) != 0 ? extension(Frames.FRAGMENT, options) : null;
        d.body = upper;
        return d;
    }

    /** A hop-by-hop or destination options header after which {@code next} follows, holding {@code options}. */
    static byte[] extension(int next, byte[] options) {
        int len = (2 + options.length + 7) & ~7;
        byte[] h = new byte[len];
        h[0] = (byte) next;
        h[1] = (byte) (len / 8 - 1);
        System.arraycopy(options, 0, h, 2, options.length);
        if (len - 2 - options.length >= 2) {
            h[2 + options.length] = 1; // PadN over the rest (RFC 8200 §4.2)
            h[3 + options.length] = (byte) (len - 4 - options.length);
        }
        return h;
    }

    /** One fragment of {@code d} as a frame from the peer. */
    private static byte[] fragment(Datagram d, int id, int offset, boolean more, byte[] part) {
        if (!d.v6) {
            return Frames.eth(Victim.VICTIM_MAC, Victim.PEER_MAC, Frames.TYPE_IPV4, Frames.ipv4(d.src.v4(),
                    d.dst.v4(), d.protocol, id, (more ? 0x2000 : 0) | ((offset >>> 3) & 0x1fff), 64,
                    d.unfragmentable, part));
        }
        byte[] fh = new byte[8];
        fh[0] = (byte) d.protocol;
        Frames.put16(fh, 2, (offset & 0xfff8) | (more ? 1 : 0));
        Frames.put32(fh, 4, id);
        byte[] payload = Frames.concat(fh, part);
        int first = Frames.FRAGMENT;
        if (d.unfragmentable != null) {
            payload = Frames.concat(d.unfragmentable, payload);
            first = Frames.HOP_BY_HOP;
        }
        return Frames.eth(Victim.VICTIM_MAC, Victim.PEER_MAC, Frames.TYPE_IPV6,
                Frames.ipv6(d.src, d.dst, first, 64, payload));
    }

    /** The fragments, {@code per} bytes each, of an upper-layer packet (for other targets). */
    static List<byte[]> train(IpAddress src, IpAddress dst, int protocol, int id, byte[] upper, int per,
                              byte[] unfragmentable) {
        Datagram d = new Datagram();
        d.v6 = !src.isV4();
        d.src = src;
        d.dst = dst;
        d.protocol = protocol;
        d.id = id;
        d.body = upper;
        d.unfragmentable = unfragmentable;
        List<byte[]> out = new ArrayList<>();
        for (int off = 0; off < upper.length; off += per) {
            int n = Math.min(per, upper.length - off);
            out.add(fragment(d, id, off, off + n < upper.length, Frames.slice(upper, off, n)));
        }
        return out;
    }
}
