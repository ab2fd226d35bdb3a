package io.usertcp.ip;

import io.netty.buffer.ByteBuf;
import io.usertcp.stats.StackStats;
import io.usertcp.util.TokenBucket;
import io.usertcp.wire.Checksum;
import io.usertcp.wire.Icmpv6;
import io.usertcp.wire.IpAddress;
import io.usertcp.wire.Ipv6;
import io.usertcp.wire.Ipv6Extensions;

/**
 * ICMPv6 (RFC 4443): the checksum, echo replies, errors received (to the transport that sent the quoted packet;
 * packet too big lowers the path MTU, RFC 8201) and errors sent (rate-limited, never about an error). Neighbour
 * discovery messages go to {@link NeighborDiscovery}.
 */
final class Icmpv6Layer {
    /** What an ICMPv6 error may quote so that it fits the minimum MTU (RFC 4443 §2.4 (c)). */
    private static final int MAX_QUOTE = Ipv6Layer.MIN_MTU - Ipv6.HEADER_LENGTH - Icmpv6.HEADER_LENGTH;

    private final Ipv6Layer ip;
    private final EthernetInterface iface;
    private final NeighborDiscovery ndp;
    private final StackStats stats;
    private final TransportDispatcher transports;
    private final TokenBucket errorLimit;
    private final Ipv6Extensions.Walk quoteWalk = new Ipv6Extensions.Walk();

    Icmpv6Layer(Ipv6Layer ip, EthernetInterface iface, NeighborDiscovery ndp, TransportDispatcher transports,
                TokenBucket errorLimit) {
        this.ip = ip;
        this.iface = iface;
        this.ndp = ndp;
        this.stats = iface.stats;
        this.transports = transports;
        this.errorLimit = errorLimit;
    }

    /** An ICMPv6 message at {@code io} ({@code ilen} bytes) of the packet whose IPv6 header is at {@code o}. */
    void input(ByteBuf f, int o, int io, int ilen, boolean checksumTrusted, boolean multicast, long linkSrc,
               boolean fragmented) {
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
                ndp.solicitation(f, o, io, ilen, sh, sl, dh, dl, linkSrc);
                break;
            case Icmpv6.NEIGHBOR_ADVERT:
                ndp.advertisement(f, o, io, ilen, multicast);
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
        IpAddress src = multicast ? ip.sourceFor(sh, sl) : IpAddress.of(dh, dl);
        if (src == null) {
            return;
        }
        int l4 = ip.l4;
        ByteBuf r = ip.newPacket(ilen);
        Icmpv6.writeEchoReply(r, l4, f, io, ilen, src.hi(), src.lo(), sh, sl);
        stats.icmp6EchoReplies++;
        // RFC 4443 §4.2: the data is returned entirely; a reply larger than the path MTU (the request came in
        // fragments) is fragmented by us, its source (RFC 8200 §4.5), rather than dropped by the link.
        ip.sendDatagram(r, src, IpAddress.of(sh, sl), Ipv6.ICMPV6, ilen, -1, 0);
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
        if (!ip.isLocal(lh, ll)) {
            stats.dropIcmp6Malformed++;
            return;
        }
        int qpl = Math.min(Ipv6.payloadLength(f, q), qlen - Ipv6.HEADER_LENGTH);
        if (!Ipv6Extensions.walk(f, q, qpl, quoteWalk)) {
            return;
        }
        if (quoteWalk.upperProtocol == Ipv6.FRAGMENT) {
            int fo = quoteWalk.fragmentOffset;
            if (fo + Ipv6Layer.FRAGMENT_HEADER_LENGTH > q + Ipv6.HEADER_LENGTH + qpl
                    || (f.getUnsignedShort(fo + 2) & 0xfff8) != 0
                    || !Ipv6Extensions.walkFrom(f, q, qpl, fo, fo + Ipv6Layer.FRAGMENT_HEADER_LENGTH, quoteWalk)) {
                return; // only the first fragment quotes the upper-layer header
            }
        }
        int proto = quoteWalk.upperProtocol;
        int uo = quoteWalk.upperOffset;
        if (type == Icmpv6.PACKET_TOO_BIG) {
            long reported = f.getUnsignedInt(io + 4);
            int mtu = (int) Math.min(reported, Integer.MAX_VALUE);
            if (proto == Ipv6.TCP && quoteWalk.upperLength >= 8) {
                transports.tcpPacketTooBig(lh, ll, f.getUnsignedShort(uo), rh, rl, f.getUnsignedShort(uo + 2),
                        f.getInt(uo + 4), mtu);
            } else if (proto != Ipv6.TCP) {
                ip.reportPathMtu(IpAddress.of(rh, rl), mtu); // UDP and ICMP: fragments will fit next time
            }
            return;
        }
        if (quoteWalk.upperLength < 8) {
            return;
        }
        if (proto == Ipv6.TCP) {
            boolean hard = type == Icmpv6.DEST_UNREACHABLE && (code == Icmpv6.ADMIN || code == Icmpv6.PORT_UNREACHABLE
                    || code == 5 || code == 6);
            transports.tcpError(lh, ll, f.getUnsignedShort(uo), rh, rl, f.getUnsignedShort(uo + 2),
                    f.getInt(uo + 4), hard, describe(type, code, from));
        } else if (proto == Ipv6.UDP && type == Icmpv6.DEST_UNREACHABLE) {
            // Mapped onto the IPv4 codes UDP reports: port unreachable (3), administratively prohibited (13);
            // the others are soft (as Linux's icmpv6_err_convert) and not reported.
            int v4code = code == Icmpv6.PORT_UNREACHABLE ? 3 : code == Icmpv6.ADMIN || code == 5 || code == 6 ? 13
                    : -1;
            if (v4code > 0) {
                transports.udpError(v4code, lh, ll, f.getUnsignedShort(uo), rh, rl, f.getUnsignedShort(uo + 2),
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
        if (!errorLimit.tryTake(iface.clock.nanoTime())) {
            stats.icmpErrorsRateLimited++;
            return;
        }
        long dh = Ipv6.dstHi(f, ipo);
        long dl = Ipv6.dstLo(f, ipo);
        IpAddress src = !dstMulticast && ip.isLocal(dh, dl) ? IpAddress.of(dh, dl) : ip.sourceFor(sh, sl);
        if (src == null) {
            return;
        }
        int quoted = Math.min(available, MAX_QUOTE);
        int len = Icmpv6.HEADER_LENGTH + quoted;
        int l4 = ip.l4;
        ByteBuf r = ip.newPacket(len);
        Icmpv6.writeError(r, l4, type, code, parameter, f, ipo, quoted, src.hi(), src.lo(), sh, sl);
        stats.icmp6ErrorsOut++;
        ip.sendIcmp(r, len, ip.hopLimit, src.hi(), src.lo(), sh, sl);
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
                    if (end - off < Ipv6Layer.FRAGMENT_HEADER_LENGTH || (f.getUnsignedShort(off + 2) & 0xfff8) != 0) {
                        return false;
                    }
                    nh = f.getUnsignedByte(off);
                    off += Ipv6Layer.FRAGMENT_HEADER_LENGTH;
                    break;
                default:
                    return false;
            }
        }
        return false;
    }
}
