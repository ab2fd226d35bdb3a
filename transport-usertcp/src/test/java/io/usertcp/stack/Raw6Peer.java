package io.usertcp.stack;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.usertcp.link.MemoryLink;
import io.usertcp.sim.VirtualClock;
import io.usertcp.wire.Arp;
import io.usertcp.wire.Checksum;
import io.usertcp.wire.Ethernet;
import io.usertcp.wire.Icmpv6;
import io.usertcp.wire.IpAddress;
import io.usertcp.wire.Ipv4;
import io.usertcp.wire.Ipv6;
import io.usertcp.wire.MacAddress;
import io.usertcp.wire.Tcp;
import io.usertcp.wire.Udp;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Arrays;

/**
 * A dual-stack {@link Stack} (fd00:198::2/64 and 198.18.0.2/24) on one end of an in-memory cable, in virtual time,
 * and a raw peer (fd00:198::1 and 198.18.0.1, with its own MAC) on the other end that builds IPv6 and IPv4 frames
 * by hand and reads what the stack sends. The IPv6 counterpart of {@link io.usertcp.udp.RawPeer}.
 *
 * <p>Packets are built as heap buffers or byte arrays with checksums computed here; frames read back are pooled
 * buffers the caller must release ({@link Frames} does it in a try-with-resources).
 */
public final class Raw6Peer implements AutoCloseable {
    /** The high half of fd00:198::/64. */
    public static final long PREFIX_HI = 0xfd00_0198_0000_0000L;
    /** fd00:198::2, the stack. */
    public static final IpAddress STACK6 = IpAddress.of(PREFIX_HI, 2);
    /** fd00:198::1, the peer. */
    public static final IpAddress PEER6 = IpAddress.of(PREFIX_HI, 1);
    /** ff02::1, all nodes. */
    public static final IpAddress ALL_NODES = IpAddress.of(Ipv6.LINK_SCOPE_MULTICAST_HI, Ipv6.ALL_NODES_LO);
    /** 198.18.0.2, the stack. */
    public static final int STACK_IP = 0xC6120002;
    /** 198.18.0.1, the peer. */
    public static final int PEER_IP = 0xC6120001;
    /** Offset of the IP header in a frame read back (no virtio header on a MemoryLink). */
    public static final int IP = Ethernet.HEADER_LENGTH;
    /** Offset of the upper-layer header of an IPv6 packet without extension headers, in a frame read back. */
    public static final int L4 = IP + Ipv6.HEADER_LENGTH;

    public final VirtualClock clock = new VirtualClock();
    public final MemoryLink stackEnd;
    public final MemoryLink peerEnd;
    public final Stack stack;
    public final long stackMac;
    public final long peerMac;
    /** The stack's fe80::/64 address from its MAC (modified EUI-64), computed here independently of the stack. */
    public final IpAddress stackLinkLocal;
    /** The peer's fe80::/64 address. */
    public final IpAddress peerLinkLocal;
    private final ByteBufAllocator alloc = PooledByteBufAllocator.DEFAULT;

    public Raw6Peer() {
        this(1500);
    }

    public Raw6Peer(int mtu) {
        MemoryLink[] pair = MemoryLink.pair(mtu, clock);
        stackEnd = pair[0];
        peerEnd = pair[1];
        stack = new Stack(StackConfig.builder().link(stackEnd.factory()).address("198.18.0.2/24")
                .address("fd00:198::2/64").seed(7).build(), stackEnd, clock, alloc);
        stackMac = stackEnd.macAddress().toLong();
        peerMac = peerEnd.macAddress().toLong();
        stackLinkLocal = eui64(stackMac);
        peerLinkLocal = eui64(peerMac);
    }

    /** fe80::/64 with the modified EUI-64 of {@code mac} (RFC 4291 Appendix A): ff:fe in the middle, U/L flipped. */
    public static IpAddress eui64(long mac) {
        byte[] m = new byte[6];
        for (int i = 0; i < 6; i++) {
            m[i] = (byte) (mac >>> (40 - 8 * i));
        }
        byte[] iid = {(byte) (m[0] ^ 0x02), m[1], m[2], (byte) 0xff, (byte) 0xfe, m[3], m[4], m[5]};
        long lo = 0;
        for (byte b : iid) {
            lo = (lo << 8) | (b & 0xff);
        }
        return IpAddress.of(0xfe80_0000_0000_0000L, lo);
    }

    /** ff02::1:ffXX:XXXX of {@code a}. */
    public static IpAddress solicitedNode(IpAddress a) {
        return IpAddress.of(0xff02_0000_0000_0000L, 0x0000_0001_ff00_0000L | (a.lo() & 0xff_ffffL));
    }

    /** 33:33 and the last 32 bits of a multicast IPv6 address (RFC 2464 §7). */
    public static long multicastMac(IpAddress group) {
        return 0x3333_0000_0000L | (group.lo() & 0xffff_ffffL);
    }

    // ------------------------------------------------------------------ driving

    /** Teaches the stack the peer's MAC for both families: an ARP request, and a neighbour solicitation. */
    public Raw6Peer learnPeer() {
        ByteBuf f = Unpooled.buffer(Ethernet.HEADER_LENGTH + Arp.LENGTH);
        f.writerIndex(Ethernet.HEADER_LENGTH + Arp.LENGTH);
        Ethernet.write(f, 0, MacAddress.BROADCAST.toLong(), peerMac, Ethernet.TYPE_ARP);
        Arp.write(f, Ethernet.HEADER_LENGTH, Arp.OP_REQUEST, peerMac, PEER_IP, 0, STACK_IP);
        inputFrame(f);
        inputIp(ipv6(PEER6, solicitedNode(STACK6), Ipv6.ICMPV6, 255,
                icmpv6(PEER6, solicitedNode(STACK6), neighborSolicitation(STACK6, peerMac))));
        drain().close();
        return this;
    }

    /**
     * Wraps an IP packet (IPv4 or IPv6, by its version nibble) in an Ethernet frame from the peer's MAC (to the
     * stack's MAC, or to the group MAC of an IPv6 multicast destination), hands it to the stack and runs one turn.
     * Releases {@code ip}.
     */
    public void inputIp(ByteBuf ip) {
        long dst = stackMac;
        if ((ip.getUnsignedByte(ip.readerIndex()) >>> 4) == 6) {
            long dh = Ipv6.dstHi(ip, ip.readerIndex());
            if (Ipv6.isMulticast(dh)) {
                dst = multicastMac(IpAddress.of(dh, Ipv6.dstLo(ip, ip.readerIndex())));
            }
        }
        inputIp(ip, dst);
    }

    /** As {@link #inputIp(ByteBuf)} to the given Ethernet destination. */
    public void inputIp(ByteBuf ip, long dstMac) {
        int type = (ip.getUnsignedByte(ip.readerIndex()) >>> 4) == 6 ? Ethernet.TYPE_IPV6 : Ethernet.TYPE_IPV4;
        ByteBuf f = Unpooled.buffer(Ethernet.HEADER_LENGTH + ip.readableBytes());
        f.writerIndex(Ethernet.HEADER_LENGTH);
        Ethernet.write(f, 0, dstMac, peerMac, type);
        f.writeBytes(ip);
        ip.release();
        inputFrame(f);
    }

    /** Hands a whole Ethernet frame to the stack and runs one turn; releases it. */
    public void inputFrame(ByteBuf f) {
        try {
            stack.input(f);
        } finally {
            f.release();
        }
        turn();
    }

    /** Runs what the stack's loop would after input: loopback, timers, events, ACKs. */
    public void turn() {
        try {
            stack.pollLink(64);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        stack.runTimers();
        stack.dispatchEvents();
        stack.flush();
    }

    /** Advances virtual time and runs timers. */
    public void advance(long nanos) {
        clock.advance(nanos);
        turn();
    }

    /** Every frame the stack has sent so far. */
    public Frames drain() {
        Frames out = new Frames();
        ByteBuf f;
        while ((f = peerEnd.receive(alloc)) != null) {
            out.add(f);
        }
        return out;
    }

    /**
     * What the stack has sent, with the peer answering what a live host would on its own: neighbour solicitations
     * for the peer's addresses (a solicited advertisement with the peer's MAC) and ARP requests for its IPv4
     * address. Those requests are not returned; the rest is.
     */
    public Frames drainAnswering() {
        Frames out = new Frames();
        for (;;) {
            boolean answered = false;
            ByteBuf f;
            while ((f = peerEnd.receive(alloc)) != null) {
                if (answerIfResolution(f)) {
                    f.release();
                    answered = true;
                } else {
                    out.add(f);
                }
            }
            if (!answered) {
                return out;
            }
        }
    }

    private boolean answerIfResolution(ByteBuf f) {
        int type = Ethernet.type(f, 0);
        if (type == Ethernet.TYPE_ARP) {
            if (Arp.op(f, IP) == Arp.OP_REQUEST && Arp.tpa(f, IP) == PEER_IP) {
                ByteBuf r = Unpooled.buffer(Ethernet.HEADER_LENGTH + Arp.LENGTH);
                r.writerIndex(Ethernet.HEADER_LENGTH + Arp.LENGTH);
                Ethernet.write(r, 0, stackMac, peerMac, Ethernet.TYPE_ARP);
                Arp.write(r, Ethernet.HEADER_LENGTH, Arp.OP_REPLY, peerMac, PEER_IP, stackMac, Arp.spa(f, IP));
                inputFrame(r);
                return true;
            }
            return false;
        }
        if (type != Ethernet.TYPE_IPV6 || Ipv6.nextHeader(f, IP) != Ipv6.ICMPV6
                || f.getUnsignedByte(L4) != Icmpv6.NEIGHBOR_SOLICIT) {
            return false;
        }
        IpAddress target = IpAddress.of(Icmpv6.targetHi(f, L4), Icmpv6.targetLo(f, L4));
        if (!target.equals(PEER6) && !target.equals(peerLinkLocal)) {
            return false;
        }
        IpAddress from = IpAddress.of(Ipv6.srcHi(f, IP), Ipv6.srcLo(f, IP));
        inputIp(ipv6(target, from, Ipv6.ICMPV6, 255, icmpv6(target, from,
                neighborAdvertisement(target, Icmpv6.SOLICITED | Icmpv6.OVERRIDE, peerMac))), stackMac);
        return true;
    }

    @Override
    public void close() {
        stack.close();
        drain().close();
        peerEnd.close();
    }

    /** Frames read back; closing releases them all. */
    public static final class Frames extends ArrayList<ByteBuf> implements AutoCloseable {
        @Override
        public void close() {
            forEach(ByteBuf::release);
            clear();
        }
    }

    // ------------------------------------------------------------------ builders

    /** An IPv6 packet (fixed header, then {@code payload} which may begin with extension headers). */
    public static ByteBuf ipv6(IpAddress src, IpAddress dst, int nextHeader, int hopLimit, byte[] payload) {
        ByteBuf b = Unpooled.buffer(Ipv6.HEADER_LENGTH + payload.length);
        b.writerIndex(Ipv6.HEADER_LENGTH);
        Ipv6.write(b, 0, 0, payload.length, nextHeader, hopLimit, src.hi(), src.lo(), dst.hi(), dst.lo());
        b.writeBytes(payload);
        return b;
    }

    /** An IPv4 packet (20-byte header, DF clear). */
    public static ByteBuf ipv4(int src, int dst, int protocol, byte[] payload) {
        ByteBuf b = Unpooled.buffer(Ipv4.MIN_HEADER_LENGTH + payload.length);
        b.writerIndex(Ipv4.MIN_HEADER_LENGTH);
        Ipv4.writeHeader(b, 0, 0, Ipv4.MIN_HEADER_LENGTH + payload.length, 77, 0, 64, protocol, src, dst);
        b.writeBytes(payload);
        return b;
    }

    /** An IP packet of {@code src}'s family. */
    public static ByteBuf ip(IpAddress src, IpAddress dst, int protocol, byte[] payload) {
        return src.isV4() ? ipv4(src.v4(), dst.v4(), protocol, payload) : ipv6(src, dst, protocol, 64, payload);
    }

    /** Sets the ICMPv6 checksum of a message (its checksum field is overwritten) and returns it. */
    public static byte[] icmpv6(IpAddress src, IpAddress dst, byte[] message) {
        message[2] = 0;
        message[3] = 0;
        int c = checksum(message, Checksum.ipv6Pseudo(src.hi(), src.lo(), dst.hi(), dst.lo(), Ipv6.ICMPV6,
                message.length));
        message[2] = (byte) (c >>> 8);
        message[3] = (byte) c;
        return message;
    }

    /** An ICMPv6 message: type, code, the 32-bit word after the checksum, the body; checksum computed. */
    public static byte[] icmpv6(IpAddress src, IpAddress dst, int type, int code, int word, byte[] body) {
        byte[] m = new byte[8 + body.length];
        m[0] = (byte) type;
        m[1] = (byte) code;
        putInt(m, 4, word);
        System.arraycopy(body, 0, m, 8, body.length);
        return icmpv6(src, dst, m);
    }

    /** An ICMPv4 message: type, code, the 32-bit word after the checksum, the body; checksum computed. */
    public static byte[] icmpv4(int type, int code, int word, byte[] body) {
        byte[] m = new byte[8 + body.length];
        m[0] = (byte) type;
        m[1] = (byte) code;
        putInt(m, 4, word);
        System.arraycopy(body, 0, m, 8, body.length);
        int c = checksum(m, 0);
        m[2] = (byte) (c >>> 8);
        m[3] = (byte) c;
        return m;
    }

    /** A neighbour solicitation (checksum left 0) for {@code target} with a source link-layer option, or none if mac < 0. */
    public static byte[] neighborSolicitation(IpAddress target, long sourceMac) {
        byte[] m = new byte[Icmpv6.NS_NA_LENGTH + (sourceMac >= 0 ? 8 : 0)];
        m[0] = (byte) Icmpv6.NEIGHBOR_SOLICIT;
        putAddress(m, 8, target);
        if (sourceMac >= 0) {
            putOption(m, Icmpv6.NS_NA_LENGTH, Icmpv6.SOURCE_LL_ADDR, sourceMac);
        }
        return m;
    }

    /** A neighbour advertisement (checksum left 0) with the given flags and a target link-layer option. */
    public static byte[] neighborAdvertisement(IpAddress target, int flags, long targetMac) {
        byte[] m = new byte[Icmpv6.NS_NA_LENGTH + 8];
        m[0] = (byte) Icmpv6.NEIGHBOR_ADVERT;
        putInt(m, 4, flags);
        putAddress(m, 8, target);
        putOption(m, Icmpv6.NS_NA_LENGTH, Icmpv6.TARGET_LL_ADDR, targetMac);
        return m;
    }

    /** A UDP header and data with a correct checksum for either family, or a zero checksum field. */
    public static byte[] udp(IpAddress src, IpAddress dst, int sport, int dport, byte[] data, boolean checksum) {
        int len = Udp.HEADER_LENGTH + data.length;
        byte[] u = new byte[len];
        putShort(u, 0, sport);
        putShort(u, 2, dport);
        putShort(u, 4, len);
        System.arraycopy(data, 0, u, 8, data.length);
        if (checksum) {
            int c = checksum(u, IpAddress.pseudoHeaderSum(src, dst, Ipv6.UDP, len));
            putShort(u, 6, c == 0 ? 0xffff : c);
        }
        return u;
    }

    /** A TCP segment (header with {@code options}, padded to 4 bytes, then data) with a correct checksum. */
    public static byte[] tcp(IpAddress src, IpAddress dst, int sport, int dport, int seq, int ack, int flags,
                             int window, byte[] options, byte[] data) {
        int hdr = Tcp.MIN_HEADER_LENGTH + ((options.length + 3) & ~3);
        byte[] t = new byte[hdr + data.length];
        putShort(t, 0, sport);
        putShort(t, 2, dport);
        putInt(t, 4, seq);
        putInt(t, 8, ack);
        t[12] = (byte) ((hdr / 4) << 4);
        t[13] = (byte) flags;
        putShort(t, 14, window);
        System.arraycopy(options, 0, t, Tcp.MIN_HEADER_LENGTH, options.length);
        System.arraycopy(data, 0, t, hdr, data.length);
        int c = checksum(t, IpAddress.pseudoHeaderSum(src, dst, Ipv6.TCP, t.length));
        putShort(t, 16, c);
        return t;
    }

    /** The Internet checksum of {@code b} on top of {@code pseudo}. */
    public static int checksum(byte[] b, long pseudo) {
        ByteBuf w = Unpooled.wrappedBuffer(b);
        try {
            return Checksum.finish(Checksum.add(w, 0, b.length, pseudo));
        } finally {
            w.release();
        }
    }

    /** The IP packet in a frame read back (from the IP header to the end of the frame), as bytes. */
    public static byte[] ipBytes(ByteBuf frame) {
        byte[] b = new byte[frame.readableBytes() - IP];
        frame.getBytes(frame.readerIndex() + IP, b);
        return b;
    }

    /** Bytes counting up from {@code seed}, to check every byte arrives in place. */
    public static byte[] pattern(int len, int seed) {
        byte[] b = new byte[len];
        for (int i = 0; i < len; i++) {
            b[i] = (byte) (seed + i * 7 + (i >>> 8));
        }
        return b;
    }

    public static byte[] concat(byte[]... parts) {
        int n = 0;
        for (byte[] p : parts) {
            n += p.length;
        }
        byte[] out = new byte[n];
        int o = 0;
        for (byte[] p : parts) {
            System.arraycopy(p, 0, out, o, p.length);
            o += p.length;
        }
        return out;
    }

    public static byte[] slice(byte[] b, int from, int len) {
        return Arrays.copyOfRange(b, from, from + len);
    }

    public static void putShort(byte[] b, int i, int v) {
        b[i] = (byte) (v >>> 8);
        b[i + 1] = (byte) v;
    }

    public static void putInt(byte[] b, int i, int v) {
        putShort(b, i, v >>> 16);
        putShort(b, i + 2, v);
    }

    public static void putAddress(byte[] b, int i, IpAddress a) {
        for (int k = 0; k < 8; k++) {
            b[i + k] = (byte) (a.hi() >>> (56 - 8 * k));
            b[i + 8 + k] = (byte) (a.lo() >>> (56 - 8 * k));
        }
    }

    private static void putOption(byte[] m, int i, int type, long mac) {
        m[i] = (byte) type;
        m[i + 1] = 1;
        for (int k = 0; k < 6; k++) {
            m[i + 2 + k] = (byte) (mac >>> (40 - 8 * k));
        }
    }
}
