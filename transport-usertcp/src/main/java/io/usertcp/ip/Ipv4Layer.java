package io.usertcp.ip;

import io.netty.buffer.ByteBuf;
import io.usertcp.stats.StackStats;
import io.usertcp.time.TimerQueue;
import io.usertcp.util.TokenBucket;
import io.usertcp.wire.Checksum;
import io.usertcp.wire.Ethernet;
import io.usertcp.wire.Icmpv4;
import io.usertcp.wire.IpAddress;
import io.usertcp.wire.Ipv4;
import io.usertcp.wire.MacAddress;
import io.usertcp.wire.VirtioNetHeader;

/**
 * IPv4 for one stack (RFC 791, RFC 1122): the stack's addresses and prefixes, header validation and the martian
 * checks, reassembly ({@link Ipv4Reassembly}) and fragmentation at the source, the protocol demultiplexing to
 * the transports and ICMP ({@link Icmpv4Layer}), and the output path: IPv4 header, checksum offload, next hop,
 * ARP ({@link ArpTable}), the Ethernet broadcast, or the loopback.
 */
public final class Ipv4Layer implements IpLayer {
    /** Largest IPv4 payload of one TSO super-segment (the IPv4 total length is 16 bits). */
    private static final int TSO_MAX_L4 = 65535 - Ipv4.MIN_HEADER_LENGTH;

    private final EthernetInterface iface;
    private final StackStats stats;
    private final PathMtuCache pathMtu;
    private final TransportDispatcher transports;
    private final ArpTable arp;
    private final Ipv4Reassembly reassembly;
    private final Icmpv4Layer icmp;
    /** TTL of what the stack sends. */
    private final int ttl;
    private final int l3;
    private final int l4;
    private final int[] addresses;
    private final int[] masks;
    private final int gateway;
    private final long gatewayLo; // the gateway IPv4-mapped, a route's next hop when it is off-link
    private final Fragments fragments = new Fragments();
    private int ipId;

    /**
     * @param addresses the stack's IPv4 addresses, with the netmasks of their prefixes in {@code masks}
     * @param gateway   the default router (0: none); it must be on-link
     */
    public Ipv4Layer(EthernetInterface iface, int[] addresses, int[] masks, int gateway, int ttl, TimerQueue timers,
                     PathMtuCache pathMtu, TokenBucket icmpErrorLimit, TransportDispatcher transports) {
        this.iface = iface;
        this.stats = iface.stats;
        this.pathMtu = pathMtu;
        this.transports = transports;
        this.ttl = ttl;
        this.l3 = iface.l3;
        this.l4 = iface.l3 + Ipv4.MIN_HEADER_LENGTH;
        this.addresses = addresses.clone();
        this.masks = masks.clone();
        this.gateway = gateway;
        this.gatewayLo = IpAddress.mappedLo(gateway);
        if (gateway != 0 && !onLink(gateway)) {
            throw new IllegalArgumentException("gateway " + Ipv4.toString(gateway)
                    + " is not within any of the stack's prefixes");
        }
        this.arp = new ArpTable(timers, iface, iface.vnet, stats);
        if (gateway != 0) {
            arp.protect(gateway); // never evicted to make room
        }
        this.reassembly = new Ipv4Reassembly(timers, iface.alloc, stats, new ReassemblyOutput());
        this.icmp = new Icmpv4Layer(this, iface, transports, icmpErrorLimit);
    }

    /** The ARP table. */
    public ArpTable arp() {
        return arp;
    }

    /** IPv4 reassembly. */
    public Ipv4Reassembly reassembly() {
        return reassembly;
    }

    @Override
    public void clear() {
        reassembly.clear();
        arp.clear();
    }

    // ------------------------------------------------------------------ addresses

    /** The first IPv4 address, or 0. */
    public int primaryAddress() {
        return addresses.length > 0 ? addresses[0] : 0;
    }

    /** The source address towards {@code dst}, or 0 if there is none. */
    int sourceFor(int dst) {
        if ((dst >>> 24) == 127) {
            return dst == 0x7f000001 ? dst : 0x7f000001;
        }
        for (int i = 0; i < addresses.length; i++) {
            if ((dst & masks[i]) == (addresses[i] & masks[i])) {
                return addresses[i];
            }
        }
        return gateway != 0 || addresses.length > 0 ? primaryAddress() : 0;
    }

    /** One of the stack's addresses, or 127/8. */
    public boolean isLocalAddress(int ip) {
        return isOwnAddress(ip) || (ip >>> 24) == 127;
    }

    /** One of the stack's configured IPv4 addresses (not 127/8). */
    boolean isOwnAddress(int ip) {
        for (int a : addresses) {
            if (a == ip) {
                return true;
            }
        }
        return false;
    }

    /** The limited broadcast, or the directed broadcast of one of the stack's prefixes. */
    boolean isBroadcast(int ip) {
        if (ip == -1) {
            return true; // 255.255.255.255, the limited broadcast
        }
        for (int i = 0; i < addresses.length; i++) {
            int m = masks[i];
            // The directed broadcast of a prefix (none on /31 and /32, RFC 3021).
            if (m != -1 && m != -2 && (ip & ~m) == ~m && (ip & m) == (addresses[i] & m)) {
                return true;
            }
        }
        return false;
    }

    boolean isBroadcastOrMulticast(int ip) {
        return ip == 0 || (ip >>> 28) == 0xe || isBroadcast(ip);
    }

    private boolean onLink(int ip) {
        for (int i = 0; i < addresses.length; i++) {
            if ((ip & masks[i]) == (addresses[i] & masks[i])) {
                return true;
            }
        }
        return false;
    }

    /** 0/8, multicast and class E, broadcast, and (from the wire) loopback are never valid sources. */
    boolean isMartian(int src) {
        int top = src >>> 24;
        // (RFC 1122 §3.2.1.3, RFC 9293 MUST-63)
        return top == 0 || top >= 224 || (top == 127 && !iface.fromLoopback()) || isBroadcast(src);
    }

    @Override
    public IpAddress sourceFor(IpAddress dst) {
        int s = sourceFor(dst.v4());
        return s == 0 ? null : IpAddress.v4(s);
    }

    @Override
    public boolean isLocal(IpAddress ip) {
        return isLocalAddress(ip.v4());
    }

    /** The path MTU towards {@code dst}. */
    public int mtuTo(int dst) {
        return isLocalAddress(dst) ? EthernetInterface.LOOPBACK_MTU
                : pathMtu.mtu(false, 0, IpAddress.mappedLo(dst), iface.mtu, iface.clock.nanoTime());
    }

    @Override
    public int mtuTo(IpAddress dst) {
        return mtuTo(dst.v4());
    }

    @Override
    public int mtuTo(long hi, long lo) {
        return mtuTo((int) lo);
    }

    @Override
    public int reportPathMtu(IpAddress dst, int reported) {
        return reportPathMtu(dst.v4(), reported);
    }

    int reportPathMtu(int dst, int reported) {
        if (isLocalAddress(dst)) {
            return EthernetInterface.LOOPBACK_MTU;
        }
        long now = iface.clock.nanoTime();
        pathMtu.update(false, 0, IpAddress.mappedLo(dst), reported, iface.mtu, now);
        return pathMtu.mtu(false, 0, IpAddress.mappedLo(dst), iface.mtu, now);
    }

    @Override
    public void confirmReachable(IpAddress dst, long now) {
        // ARP has no reachability confirmation: stale entries are refreshed by a unicast request.
    }

    @Override
    public void confirmReachable(long hi, long lo, long now) {
        // As above: nothing for IPv4.
    }

    // ------------------------------------------------------------------ input

    /** One IPv4 datagram at {@code o}, {@code len} bytes of frame from there. */
    void input(ByteBuf f, int o, int len, boolean checksumTrusted, boolean linkBroadcast) {
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
        if (!iface.fromLoopback() && ((dst >>> 24) == 127 || isOwnAddress(src))) {
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
            reassembly.input(f, o, iface.clock.nanoTime());
            return;
        }
        deliver(f, o, hl, total, src, dst, checksumTrusted, broadcast, linkBroadcast);
    }

    /** The protocol demultiplexing of a whole (possibly reassembled) datagram whose IPv4 header is at {@code o}. */
    private void deliver(ByteBuf f, int o, int hl, int total, int src, int dst, boolean checksumTrusted,
                         boolean broadcast, boolean linkBroadcast) {
        int proto = Ipv4.protocol(f, o);
        int uo = o + hl;
        int ul = total - hl;
        if (broadcast && proto != Ipv4.PROTO_UDP) {
            stats.dropIpNotForUs++;
            return;
        }
        switch (proto) {
            case Ipv4.PROTO_TCP:
                transports.tcp(f, uo, ul, src, dst, checksumTrusted);
                break;
            case Ipv4.PROTO_UDP:
                if (!transports.udp(f, uo, ul, src, dst, checksumTrusted, broadcast)) {
                    // RFC 1122 §4.1.3.1: a datagram for a port nobody listens on gets ICMP port unreachable.
                    icmp.sendError(f, o, total, Icmpv4.DEST_UNREACHABLE, Icmpv4.CODE_PORT_UNREACHABLE, linkBroadcast);
                }
                break;
            case Ipv4.PROTO_ICMP:
                icmp.input(f, uo, ul, src, dst);
                break;
            default:
                stats.dropIpUnknownProtocol++;
                break;
        }
    }

    /** Where reassembled and timed-out datagrams go. */
    private final class ReassemblyOutput implements Ipv4Reassembly.Output {
        @Override
        public void reassembled(ByteBuf d, int ipo) {
            int dst = Ipv4.dst(d, ipo);
            boolean broadcast = !isLocalAddress(dst) && isBroadcast(dst);
            deliver(d, ipo, Ipv4.headerLength(d, ipo), Ipv4.totalLength(d, ipo), Ipv4.src(d, ipo), dst, false,
                    broadcast, false);
        }

        @Override
        public void timedOut(ByteBuf d, int ipo, int length) {
            // RFC 1122 §3.3.2: time exceeded (fragment reassembly) when fragment zero had come.
            icmp.sendError(d, ipo, length, Icmpv4.TIME_EXCEEDED, Icmpv4.CODE_REASSEMBLY_TIME_EXCEEDED, false);
        }
    }

    // ------------------------------------------------------------------ output

    @Override
    public boolean isV6() {
        return false;
    }

    @Override
    public int transportOffset() {
        return l4;
    }

    @Override
    public ByteBuf newPacket(int transportLength) {
        return iface.newFrame(Ethernet.HEADER_LENGTH + Ipv4.MIN_HEADER_LENGTH + transportLength);
    }

    @Override
    public int maxTransportLength() {
        return TSO_MAX_L4;
    }

    @Override
    public boolean segmentationOffload() {
        return iface.tso;
    }

    @Override
    public void bind(Route r, long localHi, long localLo, long remoteHi, long remoteLo) {
        int dst = (int) remoteLo;
        r.aim(this, localHi, localLo, remoteHi, remoteLo);
        r.loopback = isLocalAddress(dst);
        r.broadcast = isBroadcast(dst);
        r.viaGateway = gateway != 0 && !onLink(dst);
    }

    @Override
    public void send(Route r, ByteBuf packet, int protocol, int transportLength, int csumOffset, int gsoSize,
                     int transportHeaderLength, int tos) {
        Ipv4.writeHeader(packet, l3, tos, Ipv4.MIN_HEADER_LENGTH + transportLength, ipId++ & 0xffff, Ipv4.FLAG_DF,
                ttl, protocol, (int) r.localLo, (int) r.remoteLo);
        ChecksumOffload.apply(packet, iface.vnet, r.loopback, Ipv4.MIN_HEADER_LENGTH, transportLength, csumOffset,
                gsoSize, transportHeaderLength, VirtioNetHeader.GSO_TCPV4);
        transmit(packet, r.loopback, r.broadcast, r.viaGateway ? gatewayLo : r.remoteLo);
    }

    @Override
    public void sendDatagram(Route r, ByteBuf packet, int protocol, int transportLength, int csumOffset, int tos) {
        sendDatagram(packet, (int) r.localLo, (int) r.remoteLo, protocol, transportLength, csumOffset, tos);
    }

    /** Sends a datagram (DF clear), in fragments when it exceeds the path MTU. Takes ownership. */
    void sendDatagram(ByteBuf frame, int src, int dst, int protocol, int l4Length, int csumOffset, int tos) {
        int mtu = mtuTo(dst);
        if (Ipv4.MIN_HEADER_LENGTH + l4Length <= mtu) {
            // DF clear: without path MTU discovery for UDP, routers may fragment (issue #5).
            Ipv4.writeHeader(frame, l3, tos, Ipv4.MIN_HEADER_LENGTH + l4Length, ipId++ & 0xffff, 0, ttl,
                    protocol, src, dst);
            checksumAndRoute(frame, dst, protocol, l4Length, csumOffset);
        } else {
            // RFC 791 §3.2 (RFC 1122 §3.3.3): fragments with one identification, DF clear, MF on all but the last,
            // offsets in 8-byte units, each carrying a multiple of 8 payload bytes but the last.
            fragments.src = src;
            fragments.dst = dst;
            fragments.protocol = protocol;
            fragments.tos = tos;
            fragments.id = ipId++ & 0xffff;
            stats.ipFragmented++;
            fragments.fragment(frame, l4, l4Length, csumOffset, (mtu - Ipv4.MIN_HEADER_LENGTH) & ~7);
        }
    }

    /** Writes the header of a datagram the stack sends itself (ICMP errors: DF clear) and sends it. */
    void sendIpv4(ByteBuf frame, int src, int dst, int protocol, int l4Length) {
        Ipv4.writeHeader(frame, l3, 0, Ipv4.MIN_HEADER_LENGTH + l4Length, ipId++ & 0xffff, Ipv4.FLAG_DF, ttl,
                protocol, src, dst);
        checksumAndRoute(frame, dst, protocol, l4Length, -1);
    }

    private final class Fragments extends Fragmenter {
        int src;
        int dst;
        int protocol;
        int tos;
        int id;

        @Override
        void emit(ByteBuf datagram, int from, int offset, int n, boolean more) {
            ByteBuf fr = newPacket(n);
            fr.setBytes(l4, datagram, from, n);
            int flags = (more ? Ipv4.FLAG_MF : 0) | (offset >>> 3);
            Ipv4.writeHeader(fr, l3, tos, Ipv4.MIN_HEADER_LENGTH + n, id, flags, ttl, protocol, src, dst);
            stats.ipFragmentsOut++;
            checksumAndRoute(fr, dst, protocol, n, -1);
        }
    }

    /** Completes (or leaves to the link) the transport checksum and sends the frame whose IPv4 header is written. */
    private void checksumAndRoute(ByteBuf frame, int dst, int protocol, int l4Length, int csumOffset) {
        boolean local = isLocalAddress(dst);
        ChecksumOffload.apply(frame, iface.vnet, local, Ipv4.MIN_HEADER_LENGTH, l4Length, csumOffset, 0, 8,
                VirtioNetHeader.GSO_TCPV4);
        transmit(frame, local, isBroadcast(dst), IpAddress.mappedLo(gateway != 0 && !onLink(dst) ? gateway : dst));
    }

    /** Fills the Ethernet header and sends (or queues for resolution, or loops back) a finished datagram. */
    private void transmit(ByteBuf frame, boolean local, boolean broadcast, long nextHopLo) {
        if (local) {
            iface.loopback(frame, Ethernet.TYPE_IPV4);
            return;
        }
        if (iface.link == null) {
            stats.framesOutDropped++;
            frame.release();
            return;
        }
        if (broadcast) {
            Ethernet.write(frame, iface.vnet, MacAddress.BROADCAST.toLong(), iface.mac, Ethernet.TYPE_IPV4); // issue #5
            iface.transmit(frame);
            return;
        }
        iface.transmit(frame, Ethernet.TYPE_IPV4, arp, 0, nextHopLo);
    }
}
