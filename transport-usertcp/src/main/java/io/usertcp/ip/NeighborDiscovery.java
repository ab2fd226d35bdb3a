package io.usertcp.ip;

import io.netty.buffer.ByteBuf;
import io.usertcp.stats.StackStats;
import io.usertcp.time.TimerQueue;
import io.usertcp.wire.Checksum;
import io.usertcp.wire.Ethernet;
import io.usertcp.wire.Icmpv6;
import io.usertcp.wire.IpAddress;
import io.usertcp.wire.Ipv6;
import io.usertcp.wire.Ndp;

/**
 * Neighbour discovery (RFC 4861) for one IPv6 layer: solicitations and advertisements received (validated, then
 * learned into the {@link NeighborCache} and answered) and sent (for the cache's address resolution and
 * unreachability detection).
 */
final class NeighborDiscovery implements NeighborResolver.Output {
    /** Hop limit of NDP messages, sent and required on receipt (RFC 4861 §7.1). */
    static final int NDP_HOP_LIMIT = 255;

    private final Ipv6Layer ip;
    private final EthernetInterface iface;
    private final StackStats stats;
    private final NeighborCache neighbors;

    NeighborDiscovery(Ipv6Layer ip, EthernetInterface iface, TimerQueue timers) {
        this.ip = ip;
        this.iface = iface;
        this.stats = iface.stats;
        this.neighbors = new NeighborCache(timers, this, iface.vnet, stats);
    }

    NeighborCache neighbors() {
        return neighbors;
    }

    /** RFC 4861 §7.1.1 validation, §7.2.3 processing and §7.2.4 reply. */
    void solicitation(ByteBuf f, int o, int io, int ilen, long sh, long sl, long dh, long dl, long linkSrc) {
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
        if (!ip.isLocal(th, tl) || Ipv6.isLoopback(th, tl)) {
            return; // not a target of ours (no proxying)
        }
        long now = iface.clock.nanoTime();
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
    void advertisement(ByteBuf f, int o, int io, int ilen, boolean multicast) {
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
        if (ip.isLocal(th, tl)) {
            return; // someone else claims one of our addresses; we keep it (no DAD on configured addresses)
        }
        neighbors.advertisement(th, tl, tlla, solicited, (flags & Icmpv6.OVERRIDE) != 0, iface.clock.nanoTime());
    }

    /**
     * Sends a neighbour solicitation for the target: to its solicited-node multicast address when {@code dstMac}
     * is -1 (address resolution), else unicast to {@code dstMac} (unreachability detection).
     */
    @Override
    public void solicit(long targetHi, long targetLo, long dstMac) {
        if (iface.link == null) {
            return;
        }
        IpAddress src = ip.sourceFor(targetHi, targetLo);
        if (src == null) {
            return;
        }
        boolean multicast = dstMac < 0;
        long dh = multicast ? Ipv6.solicitedNodeHi(targetLo) : targetHi;
        long dl = multicast ? Ipv6.solicitedNodeLo(targetLo) : targetLo;
        int len = Icmpv6.NS_NA_LENGTH + 8;
        int l4 = ip.l4;
        ByteBuf r = ip.newPacket(len);
        Ndp.writeNeighborSolicitation(r, l4, targetHi, targetLo, iface.mac);
        finish(r, len, src.hi(), src.lo(), dh, dl, multicast ? Ipv6.multicastMac(dh, dl) : dstMac);
        stats.ndpSolicitationsOut++;
    }

    private void sendAdvertisement(long th, long tl, long dh, long dl, long dstMac, boolean solicited) {
        if (iface.link == null || dstMac < 0) {
            return;
        }
        int len = Icmpv6.NS_NA_LENGTH + 8;
        int l4 = ip.l4;
        ByteBuf r = ip.newPacket(len);
        Ndp.writeNeighborAdvertisement(r, l4, (solicited ? Icmpv6.SOLICITED : 0) | Icmpv6.OVERRIDE, th, tl, iface.mac);
        finish(r, len, th, tl, dh, dl, dstMac);
        stats.ndpAdvertisementsOut++;
    }

    private void finish(ByteBuf r, int len, long sh, long sl, long dh, long dl, long dstMac) {
        int l4 = ip.l4;
        Ipv6.write(r, ip.l3, 0, len, Ipv6.ICMPV6, NDP_HOP_LIMIT, sh, sl, dh, dl);
        Icmpv6.fillChecksum(r, l4, len, sh, sl, dh, dl);
        Ethernet.write(r, iface.vnet, dstMac, iface.mac, Ethernet.TYPE_IPV6);
        iface.transmit(r);
    }

    @Override
    public void transmitResolved(ByteBuf frame) {
        iface.transmit(frame);
    }

    @Override
    public void dropUnresolved(ByteBuf frame) {
        stats.dropNdpUnresolved++;
        frame.release();
    }
}
