package io.usertcp.ip;

import io.netty.buffer.ByteBuf;
import io.usertcp.stats.StackStats;
import io.usertcp.util.TokenBucket;
import io.usertcp.wire.Checksum;
import io.usertcp.wire.Icmpv4;
import io.usertcp.wire.IpAddress;
import io.usertcp.wire.Ipv4;

/**
 * ICMP for IPv4 (RFC 792, RFC 1122 §3.2.2): echo replies, errors received (to the transport that sent the quoted
 * datagram; fragmentation needed lowers the path MTU, RFC 1191) and errors sent (rate-limited, RFC 1812 §4.3.2.8).
 */
final class Icmpv4Layer {
    private final Ipv4Layer ip;
    private final EthernetInterface iface;
    private final StackStats stats;
    private final TransportDispatcher transports;
    private final TokenBucket errorLimit;

    Icmpv4Layer(Ipv4Layer ip, EthernetInterface iface, TransportDispatcher transports, TokenBucket errorLimit) {
        this.ip = ip;
        this.iface = iface;
        this.stats = iface.stats;
        this.transports = transports;
        this.errorLimit = errorLimit;
    }

    /** An ICMP message at {@code o}, {@code len} bytes, from {@code src} to {@code dst}. */
    void input(ByteBuf f, int o, int len, int src, int dst) {
        if (len < Icmpv4.HEADER_LENGTH || Checksum.fold(Checksum.add(f, o, len, 0)) != 0xffff) {
            stats.dropIcmpMalformed++;
            return;
        }
        int type = f.getUnsignedByte(o);
        if (type == Icmpv4.ECHO_REQUEST) {
            // RFC 1122 §3.2.2.6: reply with the same identifier, sequence and data.
            ByteBuf r = ip.newPacket(len);
            int ro = ip.transportOffset();
            Icmpv4.writeEchoReply(r, ro, f, o, len);
            stats.icmpEchoReplies++;
            // The data comes back whole (RFC 1122 §3.2.2.6): a reply larger than the MTU (the request came in
            // fragments) leaves in fragments, DF clear, as Linux does.
            ip.sendDatagram(r, dst, src, Ipv4.PROTO_ICMP, len, -1, 0);
        } else if (type == Icmpv4.DEST_UNREACHABLE || type == Icmpv4.TIME_EXCEEDED
                || type == Icmpv4.PARAMETER_PROBLEM) {
            // Source quench is ignored (RFC 6633); the rest go to the transport that sent the quoted datagram.
            stats.icmpErrorsIn++;
            errorInput(f, o, len, type, f.getUnsignedByte(o + 1), src);
        }
    }

    /**
     * An ICMP error about a datagram we sent (RFC 792: the quote is its IPv4 header and at least 8 bytes after
     * it). To TCP (RFC 9293 §3.9.2.2 MUST-54; RFC 5927: the quoted sequence number is checked there), with
     * fragmentation-needed lowering the path MTU (RFC 1191); hard errors to connected UDP sockets
     * (RFC 1122 §4.1.3.3).
     */
    private void errorInput(ByteBuf f, int o, int len, int type, int code, int from) {
        int q = o + Icmpv4.HEADER_LENGTH;
        int qlen = len - Icmpv4.HEADER_LENGTH;
        if (qlen < Ipv4.MIN_HEADER_LENGTH || Ipv4.version(f, q) != 4) {
            stats.dropIcmpMalformed++;
            return;
        }
        int hl = Ipv4.headerLength(f, q);
        int local = Ipv4.src(f, q);
        int remote = Ipv4.dst(f, q);
        if (hl < Ipv4.MIN_HEADER_LENGTH || qlen < hl + 8 || !ip.isLocalAddress(local)
                || (Ipv4.flagsFragment(f, q) & Ipv4.FRAGMENT_OFFSET_MASK) != 0) {
            stats.dropIcmpMalformed++; // too short to name a connection, not ours, or not a first fragment
            return;
        }
        int proto = Ipv4.protocol(f, q);
        int u = q + hl;
        int localPort = f.getUnsignedShort(u);
        int remotePort = f.getUnsignedShort(u + 2);
        long localLo = IpAddress.mappedLo(local);
        long remoteLo = IpAddress.mappedLo(remote);
        if (type == Icmpv4.DEST_UNREACHABLE && code == Icmpv4.CODE_FRAG_NEEDED) {
            int mtu = f.getUnsignedShort(o + 6);
            if (mtu == 0) {
                mtu = PathMtuCache.plateau(Ipv4.totalLength(f, q)); // RFC 1191 §5: an old router
            }
            if (proto == Ipv4.PROTO_TCP) {
                transports.tcpPacketTooBig(0, localLo, localPort, 0, remoteLo, remotePort, f.getInt(u + 4), mtu);
            } else {
                ip.reportPathMtu(remote, mtu);
            }
            return;
        }
        if (proto == Ipv4.PROTO_TCP) {
            // RFC 1122 §4.2.3.9: protocol and port unreachable (and the administrative prohibitions, as
            // Linux) are hard errors; the rest are soft.
            boolean hard = type == Icmpv4.DEST_UNREACHABLE && (code == 2 || code == 3 || code == 9 || code == 10
                    || code == 13);
            transports.tcpError(0, localLo, localPort, 0, remoteLo, remotePort, f.getInt(u + 4), hard,
                    describe(type, code, from));
        } else if (proto == Ipv4.PROTO_UDP && type == Icmpv4.DEST_UNREACHABLE) {
            transports.udpError(code, 0, localLo, localPort, 0, remoteLo, remotePort, IpAddress.v4(from));
        }
    }

    private static String describe(int type, int code, int from) {
        String what;
        if (type == Icmpv4.DEST_UNREACHABLE) {
            switch (code) {
                case 0: what = "network unreachable"; break;
                case 1: what = "host unreachable"; break;
                case 2: what = "protocol unreachable"; break;
                case 3: what = "port unreachable"; break;
                case 9: case 10: case 13: what = "communication administratively prohibited"; break;
                default: what = "destination unreachable (code " + code + ")"; break;
            }
        } else if (type == Icmpv4.TIME_EXCEEDED) {
            what = "time exceeded";
        } else {
            what = "parameter problem";
        }
        return "ICMP " + what + " from " + Ipv4.toString(from);
    }

    /**
     * Sends an ICMP error about the datagram whose IPv4 header is at {@code ipo} ({@code available} bytes of it
     * present), quoting its header and first 8 payload bytes (RFC 792; RFC 1122 §3.2.2). None is sent where
     * RFC 1122 §3.2.2 forbids it (about an ICMP error, a broadcast or multicast destination, a link-layer
     * broadcast, a non-initial fragment, a source that is not one host) or when the rate limit
     * (RFC 1812 §4.3.2.8) is spent.
     */
    void sendError(ByteBuf f, int ipo, int available, int type, int code, boolean linkBroadcast) {
        int hl = Ipv4.headerLength(f, ipo);
        int src = Ipv4.src(f, ipo);
        int dst = Ipv4.dst(f, ipo);
        if (linkBroadcast || ip.isBroadcast(dst) || (dst >>> 28) == 0xe || ip.isMartian(src) || ip.isBroadcast(src)
                || (Ipv4.flagsFragment(f, ipo) & Ipv4.FRAGMENT_OFFSET_MASK) != 0
                || (Ipv4.protocol(f, ipo) == Ipv4.PROTO_ICMP
                    && (available <= hl || Icmpv4.isError(f.getUnsignedByte(ipo + hl))))) {
            return;
        }
        if (!errorLimit.tryTake(iface.clock.nanoTime())) {
            stats.icmpErrorsRateLimited++;
            return;
        }
        int quoted = Math.min(available, hl + 8);
        int len = Icmpv4.HEADER_LENGTH + quoted;
        ByteBuf r = ip.newPacket(len);
        int ro = ip.transportOffset();
        Icmpv4.writeError(r, ro, type, code, 0, f, ipo, quoted); // the word after the checksum is unused
        stats.icmpErrorsOut++;
        ip.sendIpv4(r, dst, src, Ipv4.PROTO_ICMP, len);
    }
}
