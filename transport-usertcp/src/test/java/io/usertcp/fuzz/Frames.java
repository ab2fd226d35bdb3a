package io.usertcp.fuzz;

import io.usertcp.wire.IpAddress;

import java.util.Arrays;

/**
 * Frames as byte arrays for the fuzz targets and their seeds: Ethernet, ARP, IPv4 (with options), IPv6,
 * TCP, UDP, ICMPv4 and ICMPv6 with correct checksums, and {@link #fixChecksums}, which recomputes the checksums
 * of a frame the fuzzer changed wherever its headers still say where they are (so that a mutation gets past the
 * checks into the code behind them). Written from the RFCs (791, 8200, 9293 §3.1, 768, 792, 4443, 826), not from
 * the stack's own writers, so that the two cannot share a mistake.
 */
final class Frames {
    static final int ETH = 14;
    static final int TYPE_IPV4 = 0x0800;
    static final int TYPE_ARP = 0x0806;
    static final int TYPE_IPV6 = 0x86dd;
    static final int TCP = 6;
    static final int UDP = 17;
    static final int ICMP = 1;
    static final int ICMPV6 = 58;
    static final int HOP_BY_HOP = 0;
    static final int ROUTING = 43;
    static final int FRAGMENT = 44;
    static final int DEST_OPTIONS = 60;

    static final int FIN = 0x01;
    static final int SYN = 0x02;
    static final int RST = 0x04;
    static final int PSH = 0x08;
    static final int ACK = 0x10;
    static final int URG = 0x20;

    private Frames() {
    }

    // ------------------------------------------------------------------ bytes

    static int u8(byte[] b, int i) {
        return i >= 0 && i < b.length ? b[i] & 0xff : -1;
    }

    static int u16(byte[] b, int i) {
        return i >= 0 && i + 1 < b.length ? ((b[i] & 0xff) << 8) | (b[i + 1] & 0xff) : -1;
    }

    static int i32(byte[] b, int i) {
        return (u16(b, i) << 16) | u16(b, i + 2);
    }

    static void put16(byte[] b, int i, int v) {
        b[i] = (byte) (v >>> 8);
        b[i + 1] = (byte) v;
    }

    static void put32(byte[] b, int i, int v) {
        put16(b, i, v >>> 16);
        put16(b, i + 2, v);
    }

    static void putMac(byte[] b, int i, long mac) {
        for (int k = 0; k < 6; k++) {
            b[i + k] = (byte) (mac >>> (40 - 8 * k));
        }
    }

    static void putAddress(byte[] b, int i, IpAddress a) {
        if (a.isV4()) {
            put32(b, i, a.v4());
            return;
        }
        for (int k = 0; k < 8; k++) {
            b[i + k] = (byte) (a.hi() >>> (56 - 8 * k));
            b[i + 8 + k] = (byte) (a.lo() >>> (56 - 8 * k));
        }
    }

    static byte[] concat(byte[]... parts) {
        int n = 0;
        for (byte[] p : parts) {
            n += p.length;
        }
        byte[] out = new byte[n];
        int at = 0;
        for (byte[] p : parts) {
            System.arraycopy(p, 0, out, at, p.length);
            at += p.length;
        }
        return out;
    }

    static byte[] slice(byte[] b, int from, int len) {
        return Arrays.copyOfRange(b, from, from + len);
    }

    /** {@code len} bytes of a pattern that differs by {@code seed}. */
    static byte[] pattern(int len, int seed) {
        byte[] b = new byte[len];
        for (int i = 0; i < len; i++) {
            b[i] = (byte) ('a' + (i + seed) % 26);
        }
        return b;
    }

    // ------------------------------------------------------------------ checksums (RFC 1071)

    static long sum(byte[] b, int off, int len, long sum) {
        int end = off + len;
        int i = off;
        for (; i + 1 < end; i += 2) {
            sum += ((b[i] & 0xff) << 8) | (b[i + 1] & 0xff);
        }
        if (i < end) {
            sum += (b[i] & 0xff) << 8;
        }
        return sum;
    }

    static int checksum(byte[] b, int off, int len, long sum) {
        long s = sum(b, off, len, sum);
        while ((s >>> 16) != 0) {
            s = (s & 0xffff) + (s >>> 16);
        }
        return (int) (~s & 0xffff);
    }

    /** The pseudo-header sum of RFC 9293 §3.1 (IPv4) or RFC 8200 §8.1 (IPv6). */
    static long pseudo(IpAddress src, IpAddress dst, int protocol, int length) {
        byte[] p = new byte[src.isV4() ? 8 : 32];
        putAddress(p, 0, src);
        putAddress(p, p.length / 2, dst);
        return sum(p, 0, p.length, 0) + protocol + (length & 0xffff) + (length >>> 16);
    }

    // ------------------------------------------------------------------ layers

    static byte[] eth(long dst, long src, int type, byte[] payload) {
        byte[] f = new byte[ETH + payload.length];
        putMac(f, 0, dst);
        putMac(f, 6, src);
        put16(f, 12, type);
        System.arraycopy(payload, 0, f, ETH, payload.length);
        return f;
    }

    static byte[] arp(int op, long sha, int spa, long tha, int tpa) {
        byte[] a = new byte[28];
        put16(a, 0, 1);
        put16(a, 2, TYPE_IPV4);
        a[4] = 6;
        a[5] = 4;
        put16(a, 6, op);
        putMac(a, 8, sha);
        put32(a, 14, spa);
        putMac(a, 18, tha);
        put32(a, 24, tpa);
        return a;
    }

    /** An IPv4 packet; {@code options} (null or a multiple of 4 bytes) after the fixed header; checksum set. */
    static byte[] ipv4(int src, int dst, int protocol, int id, int flagsFragment, int ttl, byte[] options,
                       byte[] payload) {
        int hl = 20 + (options == null ? 0 : options.length);
        byte[] p = new byte[hl + payload.length];
        p[0] = (byte) (0x40 | (hl / 4));
        put16(p, 2, p.length);
        put16(p, 4, id);
        put16(p, 6, flagsFragment);
        p[8] = (byte) ttl;
        p[9] = (byte) protocol;
        put32(p, 12, src);
        put32(p, 16, dst);
        if (options != null) {
            System.arraycopy(options, 0, p, 20, options.length);
        }
        System.arraycopy(payload, 0, p, hl, payload.length);
        put16(p, 10, checksum(p, 0, hl, 0));
        return p;
    }

    static byte[] ipv6(IpAddress src, IpAddress dst, int nextHeader, int hopLimit, byte[] payload) {
        byte[] p = new byte[40 + payload.length];
        p[0] = 0x60;
        put16(p, 4, payload.length);
        p[6] = (byte) nextHeader;
        p[7] = (byte) hopLimit;
        putAddress(p, 8, src);
        putAddress(p, 24, dst);
        System.arraycopy(payload, 0, p, 40, payload.length);
        return p;
    }

    /** An IP packet of {@code src}'s family (no options, no extension headers). */
    static byte[] ip(IpAddress src, IpAddress dst, int protocol, byte[] payload) {
        return src.isV4() ? ipv4(src.v4(), dst.v4(), protocol, 0x1234, 0x4000, 64, null, payload)
                : ipv6(src, dst, protocol, 64, payload);
    }

    /** A TCP segment with its checksum; {@code options} (at most 40 bytes) are padded with zeros (EOL) to a multiple of 4. */
    static byte[] tcp(IpAddress src, IpAddress dst, int sport, int dport, int seq, int ack, int flags, int window,
                      int urgent, byte[] options, byte[] data) {
        int ol = options == null ? 0 : Math.min(40, (options.length + 3) & ~3);
        byte[] t = new byte[20 + ol + data.length];
        put16(t, 0, sport);
        put16(t, 2, dport);
        put32(t, 4, seq);
        put32(t, 8, ack);
        t[12] = (byte) (((20 + ol) / 4) << 4);
        t[13] = (byte) flags;
        put16(t, 14, window);
        put16(t, 18, urgent);
        if (options != null) {
            System.arraycopy(options, 0, t, 20, Math.min(options.length, ol));
        }
        System.arraycopy(data, 0, t, 20 + ol, data.length);
        put16(t, 16, checksum(t, 0, t.length, pseudo(src, dst, TCP, t.length)));
        return t;
    }

    /** A UDP datagram with its checksum (0 sent as 0xffff, RFC 768). */
    static byte[] udp(IpAddress src, IpAddress dst, int sport, int dport, byte[] data) {
        byte[] u = new byte[8 + data.length];
        put16(u, 0, sport);
        put16(u, 2, dport);
        put16(u, 4, u.length);
        int c = checksum(u, 0, u.length, pseudo(src, dst, UDP, u.length));
        put16(u, 6, c == 0 ? 0xffff : c);
        return u;
    }

    static byte[] icmpv4(int type, int code, int word, byte[] body) {
        byte[] m = new byte[8 + body.length];
        m[0] = (byte) type;
        m[1] = (byte) code;
        put32(m, 4, word);
        System.arraycopy(body, 0, m, 8, body.length);
        put16(m, 2, checksum(m, 0, m.length, 0));
        return m;
    }

    static byte[] icmpv6(IpAddress src, IpAddress dst, int type, int code, int word, byte[] body) {
        byte[] m = new byte[8 + body.length];
        m[0] = (byte) type;
        m[1] = (byte) code;
        put32(m, 4, word);
        System.arraycopy(body, 0, m, 8, body.length);
        put16(m, 2, checksum(m, 0, m.length, pseudo(src, dst, ICMPV6, m.length)));
        return m;
    }

    /** The body (after the 8-byte header) of a neighbour solicitation or advertisement with a link-layer option. */
    static byte[] ndpBody(IpAddress target, int optionType, long mac) {
        byte[] b = new byte[16 + (mac < 0 ? 0 : 8)];
        putAddress(b, 0, target);
        if (mac >= 0) {
            b[16] = (byte) optionType;
            b[17] = 1;
            putMac(b, 18, mac);
        }
        return b;
    }

    /** ff02::1:ffXX:XXXX, the solicited-node group of {@code a} (RFC 4291 §2.7.1). */
    static IpAddress solicitedNode(IpAddress a) {
        return IpAddress.of(0xff02_0000_0000_0000L, 0x0000_0001_ff00_0000L | (a.lo() & 0xff_ffffL));
    }

    /** 33:33 and the low 32 bits of a multicast group (RFC 2464 §7). */
    static long multicastMac(IpAddress group) {
        return 0x3333_0000_0000L | (group.lo() & 0xffff_ffffL);
    }

    // ------------------------------------------------------------------ fixing up

    /**
     * Recomputes, in place, the checksums of the Ethernet frame at {@code base} as far as its headers allow: the
     * IPv4 header checksum, and for an unfragmented datagram (or an IPv6 atomic fragment) the TCP, UDP, ICMP or
     * ICMPv6 checksum over the length the IP header gives (cut to what the frame holds).
     */
    static void fixChecksums(byte[] f, int base) {
        int type = u16(f, base + 12);
        int o = base + ETH;
        if (type == TYPE_IPV4) {
            if (f.length < o + 20) {
                return;
            }
            int ihl = (f[o] & 0xf) * 4;
            if (ihl < 20 || o + ihl > f.length) {
                return;
            }
            put16(f, o + 10, 0);
            put16(f, o + 10, checksum(f, o, ihl, 0));
            int total = Math.min(u16(f, o + 2), f.length - o);
            if (total < ihl || (u16(f, o + 6) & 0x3fff) != 0) {
                return; // a fragment: the transport checksum covers the whole datagram
            }
            long pseudo = sum(f, o + 12, 8, 0) + (f[o + 9] & 0xff) + (total - ihl);
            transport(f, f[o + 9] & 0xff, o + ihl, total - ihl, pseudo);
        } else if (type == TYPE_IPV6) {
            if (f.length < o + 40) {
                return;
            }
            int end = o + 40 + Math.min(u16(f, o + 4), f.length - o - 40);
            int nh = f[o + 6] & 0xff;
            int p = o + 40;
            for (int n = 0; n < 16; n++) {
                if (nh == HOP_BY_HOP || nh == DEST_OPTIONS || nh == ROUTING) {
                    if (p + 2 > end) {
                        return;
                    }
                    nh = f[p] & 0xff;
                    p += ((f[p + 1] & 0xff) + 1) * 8;
                } else if (nh == FRAGMENT) {
                    if (p + 8 > end || (u16(f, p + 2) & 0xfff9) != 0) {
                        return; // a real fragment
                    }
                    nh = f[p] & 0xff;
                    p += 8;
                } else {
                    break;
                }
            }
            if (p > end) {
                return;
            }
            long pseudo = sum(f, o + 8, 32, 0) + nh + (end - p);
            transport(f, nh, p, end - p, pseudo);
        }
    }

    private static void transport(byte[] f, int protocol, int l4, int len, long pseudo) {
        int field;
        long sum;
        if (protocol == TCP && len >= 20) {
            field = l4 + 16;
            sum = pseudo;
        } else if (protocol == UDP && len >= 8) {
            field = l4 + 6;
            sum = pseudo;
        } else if (protocol == ICMP && len >= 4) {
            field = l4 + 2;
            sum = 0;
        } else if (protocol == ICMPV6 && len >= 4) {
            field = l4 + 2;
            sum = pseudo;
        } else {
            return;
        }
        put16(f, field, 0);
        int c = checksum(f, l4, len, sum);
        put16(f, field, protocol == UDP && c == 0 ? 0xffff : c);
    }
}
