package io.usertcp.stack;

import io.usertcp.stats.StackStats;

import io.netty.buffer.ByteBuf;
import io.usertcp.net.Ipv6Reassembly;
import io.usertcp.net.NeighborCache;
import io.usertcp.wire.Checksum;
import io.usertcp.wire.Ethernet;
import io.usertcp.wire.Icmpv6;
import io.usertcp.wire.IpAddress;
import io.usertcp.wire.Ipv6;
import io.usertcp.wire.Ipv6Extensions;
import io.usertcp.wire.VirtioNetHeader;

import java.net.InetAddress;
import java.util.ArrayList;
import java.util.List;

/**
 * IPv6 for one stack (RFC 8200): header validation and the bounded extension-header walk, neighbour discovery
 * (RFC 4861: solicitations, advertisements, the neighbour cache), ICMPv6 (RFC 4443: echo, errors in both
 * directions, rate-limited), fragment reassembly and fragmentation at the source, and the output path with
 * checksum and segmentation offload.
 *
 * <p>The stack speaks IPv6 only when its config holds an IPv6 address; it then also holds the link-local address
 * made from its MAC (RFC 4291 Appendix A), so NDP and {@code ping -6} work on {@code fe80::/64} too.
 * IPv4-mapped addresses never appear on the wire (RFC 4291 §2.5.5.2): packets carrying one are dropped, so the
 * stack's one-address-type-for-both-families ({@link IpAddress}) cannot be confused.
 */
final class Ipv6Layer implements NeighborCache.Output {
    /** Hop limit of what we send (RFC 4861 §6.3.2 CurHopLimit: the stack's configured TTL, 64 by default). */
    private final int hopLimit;
    /** Hop limit of NDP messages, sent and required on receipt (RFC 4861 §7.1). */
    private static final int NDP_HOP_LIMIT = 255;
    /** The IPv6 minimum link MTU (RFC 8200 §5). */
    static final int MIN_MTU = 1280;
    private static final int FRAGMENT_HEADER_LENGTH = 8;
    /** What an ICMPv6 error may quote so that it fits the minimum MTU (RFC 4443 §2.4 (c)). */
    private static final int MAX_QUOTE = MIN_MTU - Ipv6.HEADER_LENGTH - Icmpv6.HEADER_LENGTH;

    private final Stack stack;
    private final StackStats stats;
    private final int vnet;
    private final int l3;
    private final int l4;
    private final long mac;
    /** Our addresses: the link-local one first (when there is a link), then the configured ones. */
    private final long[] addrHi;
    private final long[] addrLo;
    private final int[] prefixLength;
    private final long gatewayHi;
    private final long gatewayLo;
    private final boolean hasGateway;
    private final NeighborCache neighbors;
    private final Ipv6Reassembly reassembly;
    private final Ipv6Extensions.Walk walk = new Ipv6Extensions.Walk();
    private final Ipv6Extensions.Walk quoteWalk = new Ipv6Extensions.Walk();
    private int fragmentId;

    Ipv6Layer(Stack stack, List<StackConfig.InterfaceAddress> configured, InetAddress gateway, int firstFragmentId) {
        this.stack = stack;
        this.stats = stack.stats();
        this.vnet = stack.vnet;
        this.l3 = stack.l3;
        this.l4 = stack.l3 + Ipv6.HEADER_LENGTH;
        this.mac = stack.mac;
        this.hopLimit = stack.ttl;
        List<long[]> addrs = new ArrayList<>();
        if (stack.link() != null) {
            addrs.add(new long[] {Ipv6.LINK_LOCAL_HI, Ipv6.linkLocalFromMac(mac), 64});
        }
        for (StackConfig.InterfaceAddress a : configured) {
            IpAddress ip = IpAddress.of(a.address());
            if (ip.isAnyLocal() || ip.isMulticast() || ip.isLoopback()) {
                throw new IllegalArgumentException("IPv6 address " + a + " cannot be a stack's own address: "
                        + "use a unicast address such as fd00:198::2/64");
            }
            addrs.add(new long[] {ip.hi(), ip.lo(), a.prefixLength()});
        }
        addrHi = new long[addrs.size()];
        addrLo = new long[addrs.size()];
        prefixLength = new int[addrs.size()];
        for (int i = 0; i < addrs.size(); i++) {
            addrHi[i] = addrs.get(i)[0];
            addrLo[i] = addrs.get(i)[1];
            prefixLength[i] = (int) addrs.get(i)[2];
        }
        if (gateway != null) {
            IpAddress g = IpAddress.of(gateway);
            if (!onLink(g.hi(), g.lo())) {
                throw new IllegalArgumentException("IPv6 gateway " + g + " is neither link-local nor within any of "
                        + "the stack's prefixes " + configured);
            }
            gatewayHi = g.hi();
            gatewayLo = g.lo();
            hasGateway = true;
        } else {
            gatewayHi = 0;
            gatewayLo = 0;
            hasGateway = false;
        }
        this.fragmentId = firstFragmentId;
        this.neighbors = new NeighborCache(stack.timers(), this, vnet, stats);
        if (hasGateway) {
            neighbors.protect(gatewayHi, gatewayLo); // never evicted to make room
        }
        this.reassembly = new Ipv6Reassembly(stack.timers(), stack.alloc(), stats, new ReassemblyOutput());
    }

    NeighborCache neighbors() {
        return neighbors;
    }

    Ipv6Reassembly reassembly() {
        return reassembly;
    }

    void clear() {
        reassembly.clear();
        neighbors.clear();
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

    /**
     * Upper-layer reachability confirmation (RFC 4861 §7.3.1): TCP saw forward progress from {@code dst}, so the
     * neighbour that is its next hop is reachable and needs no probe.
     */
    void confirmReachable(long dh, long dl, long now) {
        if (!onLink(dh, dl) && hasGateway) {
            neighbors.confirmReachable(gatewayHi, gatewayLo, now);
        } else {
            neighbors.confirmReachable(dh, dl, now);
        }
    }

    private IpAddress sourceFor(IpAddress dst) {
        return sourceFor(dst.hi(), dst.lo());
    }

    int mtuTo(long hi, long lo) {
        if (isLocal(hi, lo)) {
            return Stack.LOOPBACK_MTU;
        }
        return stack.pathMtu().mtu(true, hi, lo, stack.mtu, stack.now());
    }

    // ------------------------------------------------------------------ input

    /** One IPv6 packet whose header is at {@code o}, {@code len} bytes of frame from there. */
    void input(ByteBuf f, int o, int len, boolean checksumTrusted, long linkSrc, boolean fromLoopback) {
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
                sendError(f, o, Ipv6.HEADER_LENGTH + pl, Icmpv6.PARAMETER_PROBLEM, walk.icmpCode(), walk.pointer,
                        errorsAsMulticast);
            }
            return;
        }
        if (walk.upperProtocol == Ipv6.FRAGMENT) {
            reassembly.input(f, o, walk.nextHeaderField, walk.fragmentOffset, stack.now());
            return;
        }
        deliver(f, o, Ipv6.HEADER_LENGTH + pl, checksumTrusted, multicast, errorsAsMulticast, linkSrc, false);
    }

    /** Whether the frame whose IPv6 header is at {@code o} was sent to an Ethernet group (multicast, broadcast). */
    private static boolean linkGroupAddressed(ByteBuf f, int o) {
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
                stack.tcp().input(f, uo, ul, sh, sl, dh, dl, checksumTrusted);
                break;
            case Ipv6.UDP:
                if (multicast || unspecifiedSource) {
                    stats.dropIp6NotForUs++; // no multicast group membership for UDP sockets yet
                    return;
                }
                if (!stack.udp().input(f, uo, ul, sh, sl, dh, dl, checksumTrusted, false)) {
                    // RFC 4443 §3.1: port unreachable for a datagram nobody takes.
                    sendError(f, o, total, Icmpv6.DEST_UNREACHABLE, Icmpv6.PORT_UNREACHABLE, 0, errorsAsMulticast);
                }
                break;
            case Ipv6.ICMPV6:
                icmpInput(f, o, uo, ul, checksumTrusted, multicast, linkSrc, fragmented);
                break;
            case Ipv6.NO_NEXT_HEADER:
                break; // RFC 8200 §4.7: nothing follows
            default:
                stats.dropIp6UnknownProtocol++;
                if (!errorsAsMulticast) {
                    // RFC 8200 §4: an unrecognized Next Header draws Parameter Problem code 1.
                    sendError(f, o, total, Icmpv6.PARAMETER_PROBLEM, Icmpv6.UNRECOGNIZED_NEXT_HEADER, walk.pointer,
                            false);
                }
                break;
        }
    }

    private void icmpInput(ByteBuf f, int o, int io, int ilen, boolean checksumTrusted, boolean multicast,
                           long linkSrc, boolean fragmented) {
        long sh = Ipv6.srcHi(f, o);
        long sl = Ipv6.srcLo(f, o);
        long dh = Ipv6.dstHi(f, o);
        long dl = Ipv6.dstLo(f, o);
        // RFC 4443 §2.3: the checksum covers the pseudo-header and is always verified.
        if (ilen < Icmpv6.HEADER_LENGTH || (!checksumTrusted && Checksum.fold(Checksum.add(f, io, ilen,
                Checksum.ipv6Pseudo(sh, sl, dh, dl, Ipv6.ICMPV6, ilen))) != 0xffff)) {
            stats.dropIcmp6Malformed++;
            return;
        }
        int type = f.getUnsignedByte(io);
        if (fragmented && type >= Icmpv6.ROUTER_SOLICIT && type <= Icmpv6.REDIRECT) {
            // RFC 6980 §5: NDP messages in a packet with a Fragment header (atomic fragments included) are
            // silently ignored, so that fragmentation cannot hide them from RA-Guard-like filters.
            stats.dropIcmp6Malformed++;
            return;
        }
        switch (type) {
            case Icmpv6.ECHO_REQUEST:
                if (sh == 0 && sl == 0) {
                    stats.dropIcmp6Malformed++;
                    return;
                }
                echoReply(f, io, ilen, sh, sl, dh, dl, multicast);
                break;
            case Icmpv6.NEIGHBOR_SOLICIT:
                neighborSolicitation(f, o, io, ilen, sh, sl, dh, dl, linkSrc);
                break;
            case Icmpv6.NEIGHBOR_ADVERT:
                neighborAdvertisement(f, o, io, ilen, multicast);
                break;
            case Icmpv6.DEST_UNREACHABLE:
            case Icmpv6.PACKET_TOO_BIG:
            case Icmpv6.TIME_EXCEEDED:
            case Icmpv6.PARAMETER_PROBLEM:
                stats.icmp6ErrorsIn++;
                errorInput(f, io, ilen, type, f.getUnsignedByte(io + 1), IpAddress.of(sh, sl));
                break;
            default:
                // RFC 4443 §2.4 (b): unknown informational messages are discarded; router advertisements,
                // redirects and unknown errors are not acted on (the stack is configured, not autoconfigured).
                break;
        }
    }

    private void echoReply(ByteBuf f, int io, int ilen, long sh, long sl, long dh, long dl, boolean multicast) {
        // RFC 4443 §4.2: same identifier, sequence and data; to a multicast request from a unicast address.
        IpAddress src = multicast ? sourceFor(sh, sl) : IpAddress.of(dh, dl);
        if (src == null) {
            return;
        }
        ByteBuf r = newFrame(ilen);
        r.setBytes(l4, f, io, ilen);
        r.setByte(l4, Icmpv6.ECHO_REPLY);
        r.setShort(l4 + 2, 0);
        r.setShort(l4 + 2, Checksum.finish(Checksum.add(r, l4, ilen,
                Checksum.ipv6Pseudo(src.hi(), src.lo(), sh, sl, Ipv6.ICMPV6, ilen))));
        stats.icmp6EchoReplies++;
        // RFC 4443 §4.2: the data is returned entirely; a reply larger than the path MTU (the request came in
        // fragments) is fragmented by us, its source (RFC 8200 §4.5), rather than dropped by the link.
        sendDatagram(r, src, IpAddress.of(sh, sl), Ipv6.ICMPV6, ilen, -1, 0);
    }

    /** RFC 4861 §7.1.1 validation, §7.2.3 processing and §7.2.4 reply. */
    private void neighborSolicitation(ByteBuf f, int o, int io, int ilen, long sh, long sl, long dh, long dl,
                                      long linkSrc) {
        if (Ipv6.hopLimit(f, o) != NDP_HOP_LIMIT || f.getUnsignedByte(io + 1) != 0
                || ilen < Icmpv6.NS_NA_LENGTH) {
            stats.dropIcmp6Malformed++;
            return;
        }
        long th = Icmpv6.targetHi(f, io);
        long tl = Icmpv6.targetLo(f, io);
        long slla = Icmpv6.linkLayerOption(f, io + Icmpv6.NS_NA_LENGTH, ilen - Icmpv6.NS_NA_LENGTH,
                Icmpv6.SOURCE_LL_ADDR);
        boolean unspecified = sh == 0 && sl == 0;
        if (Ipv6.isMulticast(th) || slla == Icmpv6.OPTION_MALFORMED
                || (unspecified && (!Ipv6.isSolicitedNode(dh, dl) || slla >= 0))) {
            stats.dropIcmp6Malformed++;
            return;
        }
        if (!isLocal(th, tl) || Ipv6.isLoopback(th, tl)) {
            return; // not a target of ours (no proxying)
        }
        long now = stack.now();
        if (unspecified) {
            // Duplicate address detection by another node (RFC 4862 §5.4.3): answer to all-nodes, S clear.
            sendAdvertisement(th, tl, Ipv6.LINK_SCOPE_MULTICAST_HI, Ipv6.ALL_NODES_LO,
                    Ipv6.multicastMac(Ipv6.LINK_SCOPE_MULTICAST_HI, Ipv6.ALL_NODES_LO), false);
            return;
        }
        neighbors.learnFromSolicitation(sh, sl, slla, now);
        sendAdvertisement(th, tl, sh, sl, slla >= 0 ? slla : linkSrc, true);
    }

    /** RFC 4861 §7.1.2 validation and §7.2.5 processing. */
    private void neighborAdvertisement(ByteBuf f, int o, int io, int ilen, boolean multicast) {
        if (Ipv6.hopLimit(f, o) != NDP_HOP_LIMIT || f.getUnsignedByte(io + 1) != 0
                || ilen < Icmpv6.NS_NA_LENGTH) {
            stats.dropIcmp6Malformed++;
            return;
        }
        int flags = f.getInt(io + 4);
        long th = Icmpv6.targetHi(f, io);
        long tl = Icmpv6.targetLo(f, io);
        long tlla = Icmpv6.linkLayerOption(f, io + Icmpv6.NS_NA_LENGTH, ilen - Icmpv6.NS_NA_LENGTH,
                Icmpv6.TARGET_LL_ADDR);
        boolean solicited = (flags & Icmpv6.SOLICITED) != 0;
        if (Ipv6.isMulticast(th) || tlla == Icmpv6.OPTION_MALFORMED || (multicast && solicited)) {
            stats.dropIcmp6Malformed++;
            return;
        }
        if (isLocal(th, tl)) {
            return; // someone else claims one of our addresses; we keep it (no DAD on configured addresses)
        }
        neighbors.advertisement(th, tl, tlla, solicited, (flags & Icmpv6.OVERRIDE) != 0, stack.now());
    }

    /**
     * An ICMPv6 error about a packet we sent (RFC 4443 §3): the quoted packet must be from one of our
     * addresses; its upper-layer header is found by a bounded walk of the quote and the error is passed to
     * TCP (RFC 5927: it checks the quoted sequence number) or UDP, and packet-too-big lowers the path MTU
     * (RFC 8201).
     */
    private void errorInput(ByteBuf f, int io, int ilen, int type, int code, IpAddress from) {
        int q = io + Icmpv6.HEADER_LENGTH;
        int qlen = ilen - Icmpv6.HEADER_LENGTH;
        if (qlen < Ipv6.HEADER_LENGTH + 8 || Ipv6.version(f, q) != Ipv6.VERSION) {
            stats.dropIcmp6Malformed++;
            return;
        }
        long lh = Ipv6.srcHi(f, q);
        long ll = Ipv6.srcLo(f, q);
        long rh = Ipv6.dstHi(f, q);
        long rl = Ipv6.dstLo(f, q);
        if (!isLocal(lh, ll)) {
            stats.dropIcmp6Malformed++;
            return;
        }
        int qpl = Math.min(Ipv6.payloadLength(f, q), qlen - Ipv6.HEADER_LENGTH);
        if (!Ipv6Extensions.walk(f, q, qpl, quoteWalk)) {
            return;
        }
        if (quoteWalk.upperProtocol == Ipv6.FRAGMENT) {
            int fo = quoteWalk.fragmentOffset;
            if (fo + FRAGMENT_HEADER_LENGTH > q + Ipv6.HEADER_LENGTH + qpl
                    || (f.getUnsignedShort(fo + 2) & 0xfff8) != 0
                    || !Ipv6Extensions.walkFrom(f, q, qpl, fo, fo + FRAGMENT_HEADER_LENGTH, quoteWalk)) {
                return; // only the first fragment quotes the upper-layer header
            }
        }
        int proto = quoteWalk.upperProtocol;
        int uo = quoteWalk.upperOffset;
        if (type == Icmpv6.PACKET_TOO_BIG) {
            long reported = f.getUnsignedInt(io + 4);
            int mtu = (int) Math.min(reported, Integer.MAX_VALUE);
            if (proto == Ipv6.TCP && quoteWalk.upperLength >= 8) {
                stack.tcp().icmpPacketTooBig(lh, ll, f.getUnsignedShort(uo), rh, rl, f.getUnsignedShort(uo + 2),
                        f.getInt(uo + 4), mtu);
            } else if (proto != Ipv6.TCP) {
                stack.reportPathMtu(IpAddress.of(rh, rl), mtu); // UDP and ICMP: fragments will fit next time
            }
            return;
        }
        if (quoteWalk.upperLength < 8) {
            return;
        }
        if (proto == Ipv6.TCP) {
            boolean hard = type == Icmpv6.DEST_UNREACHABLE && (code == Icmpv6.ADMIN || code == Icmpv6.PORT_UNREACHABLE
                    || code == 5 || code == 6);
            stack.tcp().icmpError(lh, ll, f.getUnsignedShort(uo), rh, rl, f.getUnsignedShort(uo + 2),
                    f.getInt(uo + 4), hard, describe(type, code, from));
        } else if (proto == Ipv6.UDP && type == Icmpv6.DEST_UNREACHABLE) {
            // Mapped onto the IPv4 codes UDP reports: port unreachable (3), administratively prohibited (13);
            // the others are soft (as Linux's icmpv6_err_convert) and not reported.
            int v4code = code == Icmpv6.PORT_UNREACHABLE ? 3 : code == Icmpv6.ADMIN || code == 5 || code == 6 ? 13
                    : -1;
            if (v4code > 0) {
                stack.udp().icmpError(v4code, lh, ll, f.getUnsignedShort(uo), rh, rl, f.getUnsignedShort(uo + 2),
                        from);
            }
        }
    }

    private static String describe(int type, int code, IpAddress from) {
        String what;
        switch (type) {
            case Icmpv6.DEST_UNREACHABLE:
                what = code == Icmpv6.NO_ROUTE ? "no route to destination"
                        : code == Icmpv6.ADMIN ? "communication administratively prohibited"
                        : code == Icmpv6.ADDRESS_UNREACHABLE ? "address unreachable"
                        : code == Icmpv6.PORT_UNREACHABLE ? "port unreachable"
                        : "destination unreachable (code " + code + ")";
                break;
            case Icmpv6.TIME_EXCEEDED:
                what = "time exceeded";
                break;
            default:
                what = "parameter problem (code " + code + ")";
                break;
        }
        return "ICMPv6 " + what + " from " + from;
    }

    // ------------------------------------------------------------------ reassembly

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
            sendError(first, ipo, length, Icmpv6.TIME_EXCEEDED, Icmpv6.REASSEMBLY, 0,
                    Ipv6.isMulticast(Ipv6.dstHi(first, ipo)));
        }

        @Override
        public void parameterProblem(ByteBuf frame, int ipo, int code, int pointer) {
            sendError(frame, ipo, Math.min(frame.writerIndex() - ipo, Ipv6.HEADER_LENGTH
                    + Ipv6.payloadLength(frame, ipo)), Icmpv6.PARAMETER_PROBLEM, code, pointer,
                    Ipv6.isMulticast(Ipv6.dstHi(frame, ipo)) || linkGroupAddressed(frame, ipo));
        }
    }

    // ------------------------------------------------------------------ output

    int payloadOffset() {
        return l4;
    }

    ByteBuf newFrame(int l4Length) {
        return stack.newFrame(Ethernet.HEADER_LENGTH + Ipv6.HEADER_LENGTH + l4Length);
    }

    /** Sends a packet (TCP: unfragmented) whose transport header and payload are in place. Takes ownership. */
    void send(ByteBuf frame, IpAddress src, IpAddress dst, int protocol, int l4Length, int csumOffset, int gsoSize,
              int trafficClass) {
        Ipv6.write(frame, l3, trafficClass, l4Length, protocol, hopLimit, src.hi(), src.lo(), dst.hi(), dst.lo());
        checksumAndRoute(frame, dst.hi(), dst.lo(), protocol, l4Length, csumOffset, gsoSize);
    }

    /** Sends a datagram, as fragments (RFC 8200 §4.5) when it exceeds the path MTU. Takes ownership. */
    void sendDatagram(ByteBuf frame, IpAddress src, IpAddress dst, int protocol, int l4Length, int csumOffset,
                      int trafficClass) {
        int pmtu = mtuTo(dst.hi(), dst.lo());
        if (Ipv6.HEADER_LENGTH + l4Length <= pmtu) {
            Ipv6.write(frame, l3, trafficClass, l4Length, protocol, hopLimit, src.hi(), src.lo(), dst.hi(),
                    dst.lo());
            checksumAndRoute(frame, dst.hi(), dst.lo(), protocol, l4Length, csumOffset, 0);
            return;
        }
        try {
            if (csumOffset >= 0) {
                // A partial checksum cannot be offloaded across fragments: complete it over the whole datagram.
                int c = Checksum.finish(Checksum.add(frame, l4, l4Length, 0));
                frame.setShort(l4 + csumOffset, c == 0 ? 0xffff : c);
            }
            int id = ++fragmentId;
            int per = (pmtu - Ipv6.HEADER_LENGTH - FRAGMENT_HEADER_LENGTH) & ~7;
            stats.ip6Fragmented++;
            for (int off = 0; off < l4Length; off += per) {
                int n = Math.min(per, l4Length - off);
                ByteBuf fr = newFrame(FRAGMENT_HEADER_LENGTH + n);
                Ipv6.write(fr, l3, trafficClass, FRAGMENT_HEADER_LENGTH + n, Ipv6.FRAGMENT, hopLimit,
                        src.hi(), src.lo(), dst.hi(), dst.lo());
                fr.setByte(l4, protocol);
                fr.setByte(l4 + 1, 0);
                fr.setShort(l4 + 2, off | (off + n < l4Length ? 1 : 0)); // offset in 8-byte units << 3, M flag
                fr.setInt(l4 + 4, id);
                fr.setBytes(l4 + FRAGMENT_HEADER_LENGTH, frame, l4 + off, n);
                stats.ip6FragmentsOut++;
                route(fr, dst.hi(), dst.lo());
            }
        } finally {
            frame.release();
        }
    }

    int maxSegmentPayload(IpAddress dst, int mss, int tcpHeaderLength) {
        if (!stack.tso || isLocal(dst.hi(), dst.lo())) {
            return mss;
        }
        int max = 65535 - tcpHeaderLength; // the payload length field is 16 bits (no jumbograms)
        return Math.max(mss, max - max % mss);
    }

    private void checksumAndRoute(ByteBuf frame, long dh, long dl, int protocol, int l4Length, int csumOffset,
                                  int gsoSize) {
        boolean local = isLocal(dh, dl);
        if (csumOffset >= 0) {
            if (vnet > 0 && !local) {
                int th = protocol == Ipv6.TCP ? frame.getUnsignedByte(l4 + 12) >>> 4 << 2 : 8;
                boolean gso = gsoSize > 0 && l4Length - th > gsoSize;
                int start = Ethernet.HEADER_LENGTH + Ipv6.HEADER_LENGTH;
                VirtioNetHeader.writePartial(frame, 0, start, csumOffset,
                        gso ? VirtioNetHeader.GSO_TCPV6 : VirtioNetHeader.GSO_NONE, gso ? gsoSize : 0, start + th);
            } else {
                int c = Checksum.finish(Checksum.add(frame, l4, l4Length, 0));
                frame.setShort(l4 + csumOffset, c == 0 ? 0xffff : c);
            }
        }
        route(frame, dh, dl);
    }

    /** Fills the Ethernet header and sends (or queues for resolution, or loops back) a finished packet. */
    private void route(ByteBuf frame, long dh, long dl) {
        if (isLocal(dh, dl)) {
            Ethernet.write(frame, vnet, mac, mac, Ethernet.TYPE_IPV6);
            if (vnet > 0) {
                VirtioNetHeader.writeNone(frame, 0);
            }
            stack.loopback(frame);
            return;
        }
        if (stack.link() == null) {
            stats.framesOutDropped++;
            frame.release();
            return;
        }
        if (Ipv6.isMulticast(dh)) {
            Ethernet.write(frame, vnet, Ipv6.multicastMac(dh, dl), mac, Ethernet.TYPE_IPV6);
            stack.transmitFrame(frame);
            return;
        }
        long nh = dh;
        long nl = dl;
        if (!onLink(dh, dl) && hasGateway) {
            nh = gatewayHi;
            nl = gatewayLo;
        }
        long now = stack.now();
        long dmac = neighbors.lookup(nh, nl, now);
        Ethernet.write(frame, vnet, dmac < 0 ? 0 : dmac, mac, Ethernet.TYPE_IPV6);
        if (dmac < 0) {
            neighbors.resolve(nh, nl, frame, now);
            return;
        }
        stack.transmitFrame(frame);
    }

    /**
     * Sends an ICMPv6 error about the packet at {@code ipo} ({@code available} bytes of it), quoting as much as
     * fits the minimum MTU (RFC 4443 §2.4). None is sent about an ICMPv6 error, from an unspecified or
     * multicast source, to a multicast destination (but for the exceptions of §2.4 (e)), or beyond the rate
     * limit (§2.4 (f)).
     */
    void sendError(ByteBuf f, int ipo, int available, int type, int code, int parameter, boolean dstMulticast) {
        long sh = Ipv6.srcHi(f, ipo);
        long sl = Ipv6.srcLo(f, ipo);
        if ((sh == 0 && sl == 0) || Ipv6.isMulticast(sh)
                || (dstMulticast && !(type == Icmpv6.PACKET_TOO_BIG
                    || (type == Icmpv6.PARAMETER_PROBLEM && code == Icmpv6.UNRECOGNIZED_OPTION)))) {
            return;
        }
        if (carriesIcmpv6Error(f, ipo, available)) {
            return; // §2.4 (e.1): never about an error message
        }
        if (!stack.takeIcmpErrorToken()) {
            stats.icmpErrorsRateLimited++;
            return;
        }
        long dh = Ipv6.dstHi(f, ipo);
        long dl = Ipv6.dstLo(f, ipo);
        IpAddress src = !dstMulticast && isLocal(dh, dl) ? IpAddress.of(dh, dl) : sourceFor(sh, sl);
        if (src == null) {
            return;
        }
        int quoted = Math.min(available, MAX_QUOTE);
        int len = Icmpv6.HEADER_LENGTH + quoted;
        ByteBuf r = newFrame(len);
        Icmpv6.writeHeader(r, l4, type, code, parameter);
        r.setBytes(l4 + Icmpv6.HEADER_LENGTH, f, ipo, quoted);
        Ipv6.write(r, l3, 0, len, Ipv6.ICMPV6, hopLimit, src.hi(), src.lo(), sh, sl);
        r.setShort(l4 + 2, 0);
        r.setShort(l4 + 2, Checksum.finish(Checksum.add(r, l4, len,
                Checksum.ipv6Pseudo(src.hi(), src.lo(), sh, sl, Ipv6.ICMPV6, len))));
        stats.icmp6ErrorsOut++;
        route(r, sh, sl);
    }

    /**
     * Whether the packet at {@code ipo} ({@code available} bytes of it) carries an ICMPv6 error message. RFC 4443
     * §2.4 (e.1) forbids an error about an error, and the packets that draw errors here nearly always have
     * extension headers before the ICMPv6 header (a bad option or routing header, a fragment whose reassembly
     * failed or timed out): so the header chain is skipped, bounded, to find the message type, as Linux's
     * is_ineligible() does. A non-first fragment does not show the upper-layer header and counts as no error.
     */
    private static boolean carriesIcmpv6Error(ByteBuf f, int ipo, int available) {
        int end = ipo + Math.min(available, Ipv6.HEADER_LENGTH + Ipv6.payloadLength(f, ipo));
        int nh = Ipv6.nextHeader(f, ipo);
        int off = ipo + Ipv6.HEADER_LENGTH;
        for (int headers = 0; headers <= Ipv6Extensions.MAX_HEADERS; headers++) {
            switch (nh) {
                case Ipv6.ICMPV6:
                    return off < end && Icmpv6.isError(f.getUnsignedByte(off));
                case Ipv6.HOP_BY_HOP:
                case Ipv6.DESTINATION_OPTIONS:
                case Ipv6.ROUTING:
                    if (end - off < 2) {
                        return false;
                    }
                    nh = f.getUnsignedByte(off);
                    off += (f.getUnsignedByte(off + 1) + 1) << 3;
                    break;
                case Ipv6.FRAGMENT:
                    if (end - off < FRAGMENT_HEADER_LENGTH || (f.getUnsignedShort(off + 2) & 0xfff8) != 0) {
                        return false;
                    }
                    nh = f.getUnsignedByte(off);
                    off += FRAGMENT_HEADER_LENGTH;
                    break;
                default:
                    return false;
            }
        }
        return false;
    }

    // ------------------------------------------------------------------ NDP output

    @Override
    public void sendNeighborSolicitation(long targetHi, long targetLo, long dstMac) {
        if (stack.link() == null) {
            return;
        }
        IpAddress src = sourceFor(targetHi, targetLo);
        if (src == null) {
            return;
        }
        boolean multicast = dstMac < 0;
        long dh = multicast ? Ipv6.solicitedNodeHi(targetLo) : targetHi;
        long dl = multicast ? Ipv6.solicitedNodeLo(targetLo) : targetLo;
        int len = Icmpv6.NS_NA_LENGTH + 8;
        ByteBuf r = newFrame(len);
        Icmpv6.writeHeader(r, l4, Icmpv6.NEIGHBOR_SOLICIT, 0, 0);
        Ipv6.writeAddress(r, l4 + 8, targetHi, targetLo);
        Icmpv6.writeLinkLayerOption(r, l4 + Icmpv6.NS_NA_LENGTH, Icmpv6.SOURCE_LL_ADDR, mac);
        finishNdp(r, len, src.hi(), src.lo(), dh, dl, multicast ? Ipv6.multicastMac(dh, dl) : dstMac);
        stats.ndpSolicitationsOut++;
    }

    private void sendAdvertisement(long th, long tl, long dh, long dl, long dstMac, boolean solicited) {
        if (stack.link() == null || dstMac < 0) {
            return;
        }
        int len = Icmpv6.NS_NA_LENGTH + 8;
        ByteBuf r = newFrame(len);
        Icmpv6.writeHeader(r, l4, Icmpv6.NEIGHBOR_ADVERT, 0, (solicited ? Icmpv6.SOLICITED : 0) | Icmpv6.OVERRIDE);
        Ipv6.writeAddress(r, l4 + 8, th, tl);
        Icmpv6.writeLinkLayerOption(r, l4 + Icmpv6.NS_NA_LENGTH, Icmpv6.TARGET_LL_ADDR, mac);
        finishNdp(r, len, th, tl, dh, dl, dstMac);
        stats.ndpAdvertisementsOut++;
    }

    private void finishNdp(ByteBuf r, int len, long sh, long sl, long dh, long dl, long dstMac) {
        Ipv6.write(r, l3, 0, len, Ipv6.ICMPV6, NDP_HOP_LIMIT, sh, sl, dh, dl);
        r.setShort(l4 + 2, 0);
        r.setShort(l4 + 2, Checksum.finish(Checksum.add(r, l4, len, Checksum.ipv6Pseudo(sh, sl, dh, dl,
                Ipv6.ICMPV6, len))));
        Ethernet.write(r, vnet, dstMac, mac, Ethernet.TYPE_IPV6);
        stack.transmitFrame(r);
    }

    @Override
    public void transmitResolved(ByteBuf frame) {
        stack.transmitFrame(frame);
    }

    @Override
    public void dropUnresolved(ByteBuf frame) {
        stats.dropNdpUnresolved++;
        frame.release();
    }
}
