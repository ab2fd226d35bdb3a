package io.usertcp.ip;

import io.netty.buffer.ByteBuf;
import io.usertcp.stats.StackStats;
import io.usertcp.time.TimerQueue;
import io.usertcp.util.TokenBucket;
import io.usertcp.wire.Ethernet;
import io.usertcp.wire.Icmpv6;
import io.usertcp.wire.IpAddress;
import io.usertcp.wire.Ipv6;
import io.usertcp.wire.Ipv6Extensions;
import io.usertcp.wire.VirtioNetHeader;

import java.util.Arrays;

/**
 * IPv6 for one stack (RFC 8200): header validation and the bounded extension-header walk, fragment reassembly
 * ({@link Ipv6Reassembly}) and fragmentation at the source, the demultiplexing to the transports, ICMPv6
 * ({@link Icmpv6Layer}) and neighbour discovery ({@link NeighborDiscovery}), and the output path with checksum and
 * segmentation offload.
 *
 * <p>The stack speaks IPv6 only when its config holds an IPv6 address; it then also holds the link-local address
 * made from its MAC (RFC 4291 Appendix A), so NDP and {@code ping -6} work on {@code fe80::/64} too.
 * IPv4-mapped addresses never appear on the wire (RFC 4291 §2.5.5.2): packets carrying one are dropped, so the
 * stack's one-address-type-for-both-families ({@link IpAddress}) cannot be confused.
 */
public final class Ipv6Layer implements IpLayer {
    /** The IPv6 minimum link MTU (RFC 8200 §5). */
    public static final int MIN_MTU = 1280;
    static final int FRAGMENT_HEADER_LENGTH = 8;
    /** The payload length field is 16 bits (no jumbograms). */
    private static final int MAX_PAYLOAD = 65535;

    /** Hop limit of what we send (RFC 4861 §6.3.2 CurHopLimit: the stack's configured TTL, 64 by default). */
    final int hopLimit;
    private final EthernetInterface iface;
    private final StackStats stats;
    private final PathMtuCache pathMtu;
    private final TransportDispatcher transports;
    final int l3;
    final int l4;
    /** Our addresses: the link-local one first (when there is a link), then the configured ones. */
    final long[] addrHi;
    final long[] addrLo;
    private final int[] prefixLength;
    private final long gatewayHi;
    private final long gatewayLo;
    private final boolean hasGateway;
    private final NeighborDiscovery ndp;
    private final Icmpv6Layer icmp;
    private final Ipv6Reassembly reassembly;
    private final Ipv6Extensions.Walk walk = new Ipv6Extensions.Walk();
    private final Fragments fragments = new Fragments();
    private int fragmentId;

    /**
     * @param configured     the stack's IPv6 addresses, with their prefix lengths in {@code prefixLengths}
     * @param gateway        the default router, or null; it must be on-link
     * @param firstFragmentId where the fragment identifications start
     */
    public Ipv6Layer(EthernetInterface iface, IpAddress[] configured, int[] prefixLengths, IpAddress gateway,
                     int hopLimit, int firstFragmentId, TimerQueue timers, PathMtuCache pathMtu,
                     TokenBucket icmpErrorLimit, TransportDispatcher transports) {
        this.iface = iface;
        this.stats = iface.stats;
        this.pathMtu = pathMtu;
        this.transports = transports;
        this.l3 = iface.l3;
        this.l4 = iface.l3 + Ipv6.HEADER_LENGTH;
        this.hopLimit = hopLimit;
        int n = configured.length + (iface.link != null ? 1 : 0);
        addrHi = new long[n];
        addrLo = new long[n];
        prefixLength = new int[n];
        int i = 0;
        if (iface.link != null) {
            addrHi[0] = Ipv6.LINK_LOCAL_HI;
            addrLo[0] = Ipv6.linkLocalFromMac(iface.mac);
            prefixLength[0] = 64;
            i = 1;
        }
        for (int k = 0; k < configured.length; k++, i++) {
            IpAddress ip = configured[k];
            if (ip.isAnyLocal() || ip.isMulticast() || ip.isLoopback()) {
                throw new IllegalArgumentException("IPv6 address " + ip + "/" + prefixLengths[k] + " cannot be a "
                        + "stack's own address: use a unicast address such as fd00:198::2/64");
            }
            addrHi[i] = ip.hi();
            addrLo[i] = ip.lo();
            prefixLength[i] = prefixLengths[k];
        }
        if (gateway != null) {
            if (!onLink(gateway.hi(), gateway.lo())) {
                throw new IllegalArgumentException("IPv6 gateway " + gateway + " is neither link-local nor within "
                        + "any of the stack's prefixes " + Arrays.toString(configured));
            }
            gatewayHi = gateway.hi();
            gatewayLo = gateway.lo();
            hasGateway = true;
        } else {
            gatewayHi = 0;
            gatewayLo = 0;
            hasGateway = false;
        }
        this.fragmentId = firstFragmentId;
        this.ndp = new NeighborDiscovery(this, iface, timers);
        if (hasGateway) {
            ndp.neighbors().protect(gatewayHi, gatewayLo); // never evicted to make room
        }
        this.icmp = new Icmpv6Layer(this, iface, ndp, transports, icmpErrorLimit);
        this.reassembly = new Ipv6Reassembly(timers, iface.alloc, stats, new ReassemblyOutput());
    }

    /** The neighbour cache. */
    public NeighborCache neighbors() {
        return ndp.neighbors();
    }

    /** IPv6 reassembly. */
    public Ipv6Reassembly reassembly() {
        return reassembly;
    }

    @Override
    public void clear() {
        reassembly.clear();
        ndp.neighbors().clear();
    }

    // ------------------------------------------------------------------ addresses

    /** Whether {@code hi/lo} is one of our addresses or ::1. */
    boolean isLocal(long hi, long lo) {
        for (int i = 0; i < addrHi.length; i++) {
            if (addrHi[i] == hi && addrLo[i] == lo) {
                return true;
            }
        }
        return hi == 0 && lo == 1;
    }

    @Override
    public boolean isLocal(IpAddress ip) {
        return isLocal(ip.hi(), ip.lo());
    }

    /** Whether a multicast destination is one we listen to: all-nodes, or the solicited-node group of an address. */
    private boolean isOurMulticast(long hi, long lo) {
        if (hi == Ipv6.LINK_SCOPE_MULTICAST_HI && lo == Ipv6.ALL_NODES_LO) {
            return true;
        }
        if (!Ipv6.isSolicitedNode(hi, lo)) {
            return false;
        }
        for (long a : addrLo) {
            if (Ipv6.solicitedNodeLo(a) == lo) {
                return true;
            }
        }
        return false;
    }

    private static boolean matches(long hi, long lo, long aHi, long aLo, int plen) {
        if (plen <= 64) {
            long m = plen == 0 ? 0 : -1L << (64 - plen);
            return (hi & m) == (aHi & m);
        }
        long m = plen == 128 ? -1L : -1L << (128 - plen);
        return hi == aHi && (lo & m) == (aLo & m);
    }

    /** Whether {@code hi/lo} is reached directly: link-local, or within one of our prefixes. */
    private boolean onLink(long hi, long lo) {
        if (Ipv6.isLinkLocal(hi)) {
            return true;
        }
        for (int i = 0; i < addrHi.length; i++) {
            if (matches(hi, lo, addrHi[i], addrLo[i], prefixLength[i])) {
                return true;
            }
        }
        return false;
    }

    /** The source address towards {@code dst} (RFC 6724 in brief: same scope, longest prefix), or null. */
    IpAddress sourceFor(long hi, long lo) {
        if (hi == 0 && lo == 1) {
            return IpAddress.V6_LOOPBACK;
        }
        boolean linkScope = Ipv6.isLinkLocal(hi) || (Ipv6.isMulticast(hi) && ((hi >>> 48) & 0xf) == 2);
        int global = -1;
        for (int i = 0; i < addrHi.length; i++) {
            boolean ll = Ipv6.isLinkLocal(addrHi[i]);
            if (linkScope && ll) {
                return IpAddress.of(addrHi[i], addrLo[i]);
            }
            if (!ll && matches(hi, lo, addrHi[i], addrLo[i], prefixLength[i])) {
                return IpAddress.of(addrHi[i], addrLo[i]);
            }
            if (!ll && global < 0) {
                global = i;
            }
        }
        if (global >= 0 && !linkScope) {
            return IpAddress.of(addrHi[global], addrLo[global]);
        }
        return null;
    }

    @Override
    public IpAddress sourceFor(IpAddress dst) {
        return sourceFor(dst.hi(), dst.lo());
    }

    /**
     * Upper-layer reachability confirmation (RFC 4861 §7.3.1): TCP saw forward progress from {@code dst}, so the
     * neighbour that is its next hop is reachable and needs no probe.
     */
    @Override
    public void confirmReachable(IpAddress dst, long now) {
        confirmReachable(dst.hi(), dst.lo(), now);
    }

    @Override
    public void confirmReachable(long hi, long lo, long now) {
        if (!onLink(hi, lo) && hasGateway) {
            ndp.neighbors().confirmReachable(gatewayHi, gatewayLo, now);
        } else {
            ndp.neighbors().confirmReachable(hi, lo, now);
        }
    }

    @Override
    public int mtuTo(long hi, long lo) {
        if (isLocal(hi, lo)) {
            return EthernetInterface.LOOPBACK_MTU;
        }
        return pathMtu.mtu(true, hi, lo, iface.mtu, iface.clock.nanoTime());
    }

    @Override
    public int mtuTo(IpAddress dst) {
        return mtuTo(dst.hi(), dst.lo());
    }

    @Override
    public int reportPathMtu(IpAddress dst, int reported) {
        if (dst.isLoopback() || isLocal(dst.hi(), dst.lo())) {
            return EthernetInterface.LOOPBACK_MTU;
        }
        long now = iface.clock.nanoTime();
        pathMtu.update(true, dst.hi(), dst.lo(), reported, iface.mtu, now);
        return pathMtu.mtu(true, dst.hi(), dst.lo(), iface.mtu, now);
    }

    // ------------------------------------------------------------------ input

    /** One IPv6 packet whose header is at {@code o}, {@code len} bytes of frame from there. */
    void input(ByteBuf f, int o, int len, boolean checksumTrusted, long linkSrc) {
        boolean fromLoopback = iface.fromLoopback();
        if (len < Ipv6.HEADER_LENGTH || Ipv6.version(f, o) != Ipv6.VERSION) {
            stats.dropIp6Malformed++;
            return;
        }
        int pl = Ipv6.payloadLength(f, o);
        if (Ipv6.HEADER_LENGTH + pl > len) {
            stats.dropIp6Malformed++; // bytes beyond the payload length are link padding; fewer is truncation
            return;
        }
        long sh = Ipv6.srcHi(f, o);
        long sl = Ipv6.srcLo(f, o);
        long dh = Ipv6.dstHi(f, o);
        long dl = Ipv6.dstLo(f, o);
        // RFC 4291 §2.7: a multicast source is invalid; §2.5.3: ::1 never comes from a link; §2.5.5.2: no
        // IPv4-mapped addresses on the wire.
        if (Ipv6.isMulticast(sh) || IpAddress.isV4(sh, sl) || IpAddress.isV4(dh, dl)
                || (!fromLoopback && (Ipv6.isLoopback(sh, sl) || Ipv6.isLoopback(dh, dl)))) {
            stats.dropIp6Malformed++;
            return;
        }
        if (!fromLoopback && isLocal(sh, sl)) {
            // One of our own addresses as the source of a packet from the link is a spoof or a loop: answering it
            // would talk to ourselves or reflect at the real owner (RFC 4291 §2.5.3 for ::1, issue #10).
            stats.dropIp6Martian++;
            return;
        }
        boolean multicast = Ipv6.isMulticast(dh);
        if (multicast ? !isOurMulticast(dh, dl) : !isLocal(dh, dl)) {
            stats.dropIp6NotForUs++;
            return;
        }
        // RFC 4443 §2.4 (e.4, e.5): a packet that came as a link-layer multicast or broadcast draws errors only
        // as one to a multicast address does (the exceptions of (e.3) included).
        boolean errorsAsMulticast = multicast || linkGroupAddressed(f, o);
        if (!Ipv6Extensions.walk(f, o, pl, walk)) {
            stats.dropIp6Malformed++;
            if (walk.icmpAllowed(errorsAsMulticast)) {
                // RFC 8200 §4: Parameter Problem pointing at the offending field.
                icmp.sendError(f, o, Ipv6.HEADER_LENGTH + pl, Icmpv6.PARAMETER_PROBLEM, walk.icmpCode(),
                        walk.pointer, errorsAsMulticast);
            }
            return;
        }
        if (walk.upperProtocol == Ipv6.FRAGMENT) {
            reassembly.input(f, o, walk.nextHeaderField, walk.fragmentOffset, iface.clock.nanoTime());
            return;
        }
        deliver(f, o, Ipv6.HEADER_LENGTH + pl, checksumTrusted, multicast, errorsAsMulticast, linkSrc, false);
    }

    /** Whether the frame whose IPv6 header is at {@code o} was sent to an Ethernet group (multicast, broadcast). */
    static boolean linkGroupAddressed(ByteBuf f, int o) {
        return o >= Ethernet.HEADER_LENGTH
                && (Ethernet.dst(f, o - Ethernet.HEADER_LENGTH) & 0x0100_0000_0000L) != 0;
    }

    /**
     * Hands the upper-layer payload found by {@link #walk} to its protocol. {@code errorsAsMulticast}: the packet
     * went to a multicast address or came as a link-layer group frame, so no error answers it (RFC 4443 §2.4 (e));
     * {@code fragmented}: it came in a fragment header (reassembled, or an atomic fragment).
     */
    private void deliver(ByteBuf f, int o, int total, boolean checksumTrusted, boolean multicast,
                         boolean errorsAsMulticast, long linkSrc, boolean fragmented) {
        long sh = Ipv6.srcHi(f, o);
        long sl = Ipv6.srcLo(f, o);
        long dh = Ipv6.dstHi(f, o);
        long dl = Ipv6.dstLo(f, o);
        boolean unspecifiedSource = sh == 0 && sl == 0;
        int uo = walk.upperOffset;
        int ul = walk.upperLength;
        switch (walk.upperProtocol) {
            case Ipv6.TCP:
                if (multicast || unspecifiedSource) {
                    stats.dropIp6Malformed++; // TCP is unicast only (RFC 9293 MUST-57 for IPv6)
                    return;
                }
                transports.tcp(f, uo, ul, sh, sl, dh, dl, checksumTrusted);
                break;
            case Ipv6.UDP:
                if (multicast || unspecifiedSource) {
                    stats.dropIp6NotForUs++; // no multicast group membership for UDP sockets yet
                    return;
                }
                if (!transports.udp(f, uo, ul, sh, sl, dh, dl, checksumTrusted)) {
                    // RFC 4443 §3.1: port unreachable for a datagram nobody takes.
                    icmp.sendError(f, o, total, Icmpv6.DEST_UNREACHABLE, Icmpv6.PORT_UNREACHABLE, 0,
                            errorsAsMulticast);
                }
                break;
            case Ipv6.ICMPV6:
                icmp.input(f, o, uo, ul, checksumTrusted, multicast, linkSrc, fragmented);
                break;
            case Ipv6.NO_NEXT_HEADER:
                break; // RFC 8200 §4.7: nothing follows
            default:
                stats.dropIp6UnknownProtocol++;
                if (!errorsAsMulticast) {
                    // RFC 8200 §4: an unrecognized Next Header draws Parameter Problem code 1.
                    icmp.sendError(f, o, total, Icmpv6.PARAMETER_PROBLEM, Icmpv6.UNRECOGNIZED_NEXT_HEADER,
                            walk.pointer, false);
                }
                break;
        }
    }

    private final class ReassemblyOutput implements Ipv6Reassembly.Output {
        @Override
        public void reassembled(ByteBuf d, int ipo) {
            int pl = Ipv6.payloadLength(d, ipo);
            if (!Ipv6Extensions.walk(d, ipo, pl, walk) || walk.upperProtocol == Ipv6.FRAGMENT) {
                stats.dropIp6Malformed++; // a fragment inside a fragment is not reassembled again
                return;
            }
            // A datagram to a group stays one (RFC 4443 §2.2, §2.4 (e.3)): replies come from a unicast address
            // and no error answers it. The link-layer destinations of its fragments are not kept.
            boolean multicast = Ipv6.isMulticast(Ipv6.dstHi(d, ipo));
            deliver(d, ipo, Ipv6.HEADER_LENGTH + pl, false, multicast, multicast, -1, true);
        }

        @Override
        public void timedOut(ByteBuf first, int ipo, int length) {
            // RFC 8200 §4.5: Time Exceeded code 1 when the first fragment had come.
            icmp.sendError(first, ipo, length, Icmpv6.TIME_EXCEEDED, Icmpv6.REASSEMBLY, 0,
                    Ipv6.isMulticast(Ipv6.dstHi(first, ipo)));
        }

        @Override
        public void parameterProblem(ByteBuf frame, int ipo, int code, int pointer) {
            icmp.sendError(frame, ipo, Math.min(frame.writerIndex() - ipo, Ipv6.HEADER_LENGTH
                    + Ipv6.payloadLength(frame, ipo)), Icmpv6.PARAMETER_PROBLEM, code, pointer,
                    Ipv6.isMulticast(Ipv6.dstHi(frame, ipo)) || linkGroupAddressed(frame, ipo));
        }
    }

    // ------------------------------------------------------------------ output

    @Override
    public boolean isV6() {
        return true;
    }

    @Override
    public int transportOffset() {
        return l4;
    }

    @Override
    public ByteBuf newPacket(int transportLength) {
        return iface.newFrame(Ethernet.HEADER_LENGTH + Ipv6.HEADER_LENGTH + transportLength);
    }

    @Override
    public int maxTransportLength() {
        return MAX_PAYLOAD;
    }

    @Override
    public boolean segmentationOffload() {
        return iface.tso;
    }

    @Override
    public void bind(Route r, long localHi, long localLo, long remoteHi, long remoteLo) {
        long dh = remoteHi;
        long dl = remoteLo;
        r.aim(this, localHi, localLo, remoteHi, remoteLo);
        r.loopback = isLocal(dh, dl);
        r.broadcast = false;
        r.viaGateway = !onLink(dh, dl) && hasGateway;
    }

    @Override
    public void send(Route r, ByteBuf packet, int protocol, int transportLength, int csumOffset, int gsoSize,
                     int transportHeaderLength, int tos) {
        Ipv6.write(packet, l3, tos, transportLength, protocol, hopLimit, r.localHi, r.localLo, r.remoteHi,
                r.remoteLo);
        ChecksumOffload.apply(packet, iface.vnet, r.loopback, Ipv6.HEADER_LENGTH, transportLength, csumOffset,
                gsoSize, transportHeaderLength, VirtioNetHeader.GSO_TCPV6);
        transmit(packet, r.loopback, r.remoteHi, r.remoteLo, r.viaGateway ? gatewayHi : r.remoteHi,
                r.viaGateway ? gatewayLo : r.remoteLo);
    }

    @Override
    public void sendDatagram(Route r, ByteBuf packet, int protocol, int transportLength, int csumOffset, int tos) {
        sendDatagram(packet, r.local(), r.remote(), protocol, transportLength, csumOffset, tos);
    }

    /** Sends a datagram, as fragments (RFC 8200 §4.5) when it exceeds the path MTU. Takes ownership. */
    void sendDatagram(ByteBuf frame, IpAddress src, IpAddress dst, int protocol, int l4Length, int csumOffset,
                      int trafficClass) {
        int pmtu = mtuTo(dst.hi(), dst.lo());
        if (Ipv6.HEADER_LENGTH + l4Length <= pmtu) {
            Ipv6.write(frame, l3, trafficClass, l4Length, protocol, hopLimit, src.hi(), src.lo(), dst.hi(),
                    dst.lo());
            boolean local = isLocal(dst.hi(), dst.lo());
            ChecksumOffload.apply(frame, iface.vnet, local, Ipv6.HEADER_LENGTH, l4Length, csumOffset, 0, 8,
                    VirtioNetHeader.GSO_TCPV6);
            route(frame, dst.hi(), dst.lo());
            return;
        }
        fragments.src = src;
        fragments.dst = dst;
        fragments.protocol = protocol;
        fragments.trafficClass = trafficClass;
        fragments.id = ++fragmentId;
        stats.ip6Fragmented++;
        fragments.fragment(frame, l4, l4Length, csumOffset,
                (pmtu - Ipv6.HEADER_LENGTH - FRAGMENT_HEADER_LENGTH) & ~7);
    }

    /** Writes the header of an ICMPv6 message whose checksum is complete, and routes it. */
    void sendIcmp(ByteBuf r, int len, int hopLimit, long sh, long sl, long dh, long dl) {
        Ipv6.write(r, l3, 0, len, Ipv6.ICMPV6, hopLimit, sh, sl, dh, dl);
        route(r, dh, dl);
    }

    private final class Fragments extends Fragmenter {
        IpAddress src;
        IpAddress dst;
        int protocol;
        int trafficClass;
        int id;

        @Override
        void emit(ByteBuf datagram, int from, int off, int n, boolean more) {
            ByteBuf fr = newPacket(FRAGMENT_HEADER_LENGTH + n);
            Ipv6.write(fr, l3, trafficClass, FRAGMENT_HEADER_LENGTH + n, Ipv6.FRAGMENT, hopLimit,
                    src.hi(), src.lo(), dst.hi(), dst.lo());
            fr.setByte(l4, protocol);
            fr.setByte(l4 + 1, 0);
            fr.setShort(l4 + 2, off | (more ? 1 : 0)); // offset in 8-byte units << 3, M flag
            fr.setInt(l4 + 4, id);
            fr.setBytes(l4 + FRAGMENT_HEADER_LENGTH, datagram, from, n);
            stats.ip6FragmentsOut++;
            route(fr, dst.hi(), dst.lo());
        }
    }

    /** Fills the Ethernet header and sends (or queues for resolution, or loops back) a finished packet. */
    private void route(ByteBuf frame, long dh, long dl) {
        boolean viaGateway = !onLink(dh, dl) && hasGateway;
        transmit(frame, isLocal(dh, dl), dh, dl, viaGateway ? gatewayHi : dh, viaGateway ? gatewayLo : dl);
    }

    private void transmit(ByteBuf frame, boolean local, long dh, long dl, long nh, long nl) {
        if (local) {
            iface.loopback(frame, Ethernet.TYPE_IPV6);
            return;
        }
        if (iface.link == null) {
            stats.framesOutDropped++;
            frame.release();
            return;
        }
        if (Ipv6.isMulticast(dh)) {
            Ethernet.write(frame, iface.vnet, Ipv6.multicastMac(dh, dl), iface.mac, Ethernet.TYPE_IPV6);
            iface.transmit(frame);
            return;
        }
        iface.transmit(frame, Ethernet.TYPE_IPV6, ndp.neighbors(), nh, nl);
    }
}
