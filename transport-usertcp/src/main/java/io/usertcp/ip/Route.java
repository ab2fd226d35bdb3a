package io.usertcp.ip;

import io.netty.buffer.ByteBuf;
import io.usertcp.wire.Checksum;
import io.usertcp.wire.IpAddress;

/**
 * A transport's way out towards one peer (as gVisor's {@code stack.Route}): the family, the local and remote
 * address, where the transport header goes in a packet, the path MTU, the offload capabilities and the next hop.
 * A connection or socket gets one when it connects, accepts or binds and keeps it; sending through it allocates
 * nothing. The transport fills its header and payload; the route writes the pseudo-header sum into the checksum
 * field and the IP layer completes the checksum (or leaves it to the kernel) and the headers below.
 *
 * <p>What the configuration fixes is worked out once, at {@linkplain IpLayer#bind binding}: whether the peer is
 * in this host (loopback), and the next hop (the peer, or the gateway when it is off-link). What changes while the
 * route lives is asked of its tables on each use, so it is never stale: the next hop's link-layer address of the
 * {@link NeighborResolver} (whose one-entry cache makes that a field compare), and the path MTU of the
 * {@link PathMtuCache} (which ages reports out).
 */
public final class Route {
    IpLayer layer;
    /** Our address and the peer's (IPv4-mapped for IPv4), kept as numbers so that re-aiming allocates nothing. */
    long localHi;
    long localLo;
    long remoteHi;
    long remoteLo;
    /** The same addresses as objects, made when first asked for ({@link #local()}, {@link #remote()}). */
    private IpAddress local;
    private IpAddress remote;
    /** The peer is one of our own addresses or loopback: packets stay in the host. */
    boolean loopback;
    /** IPv4: the peer is a broadcast address (sent to the Ethernet broadcast). */
    boolean broadcast;
    /**
     * The next hop is the layer's gateway (the peer is off-link), else the peer itself: a flag rather than the
     * address, which the layer has (issue #12: 16 bytes less per connection).
     */
    boolean viaGateway;

    /** A route aimed nowhere yet: {@link IpLayer#bind} (through {@code Network.route}) sets it up. */
    public Route() {
    }

    /**
     * Aims this route: what {@link IpLayer#bind} works out. For an {@link IpLayer} of another package (a test's
     * stand-in for the network layer); the layers of this package set the fields themselves.
     */
    public void setUp(IpLayer layer, IpAddress local, IpAddress remote, boolean loopback, boolean viaGateway) {
        aim(layer, local.hi(), local.lo(), remote.hi(), remote.lo());
        this.local = local;
        this.remote = remote;
        this.loopback = loopback;
        this.broadcast = false;
        this.viaGateway = viaGateway;
    }

    /** Whether this route is IPv6. */
    public boolean isV6() {
        return layer.isV6();
    }

    /** Sets the layer and the addresses; what the layer works out from them is its {@link IpLayer#bind}'s job. */
    void aim(IpLayer layer, long localHi, long localLo, long remoteHi, long remoteLo) {
        this.layer = layer;
        if (local != null && (this.localHi != localHi || this.localLo != localLo)) {
            local = null;
        }
        if (remote != null && (this.remoteHi != remoteHi || this.remoteLo != remoteLo)) {
            remote = null;
        }
        this.localHi = localHi;
        this.localLo = localLo;
        this.remoteHi = remoteHi;
        this.remoteLo = remoteLo;
    }

    /** Our address. */
    public IpAddress local() {
        IpAddress a = local;
        if (a == null) {
            a = local = IpAddress.of(localHi, localLo);
        }
        return a;
    }

    /** The peer's address. */
    public IpAddress remote() {
        IpAddress a = remote;
        if (a == null) {
            a = remote = IpAddress.of(remoteHi, remoteLo);
        }
        return a;
    }

    /** Whether this route goes from {@code local} to {@code remote}. */
    public boolean matches(IpAddress local, IpAddress remote) {
        return matches(local.hi(), local.lo(), remote.hi(), remote.lo());
    }

    /** Whether this route goes from {@code localHi/localLo} to {@code remoteHi/remoteLo}. */
    public boolean matches(long localHi, long localLo, long remoteHi, long remoteLo) {
        return this.localLo == localLo && this.remoteLo == remoteLo && this.localHi == localHi
                && this.remoteHi == remoteHi;
    }

    /** The header room: the offset of the transport header in packets made by {@link #newPacket}. */
    public int transportOffset() {
        return layer.transportOffset();
    }

    /** A packet with room for the headers below the transport and {@code transportLength} bytes; writerIndex at its end. */
    public ByteBuf newPacket(int transportLength) {
        return layer.newPacket(transportLength);
    }

    /** The MTU of the path now (RFC 1191, RFC 8201; the loopback MTU in the host). */
    public int mtu() {
        return loopback ? EthernetInterface.LOOPBACK_MTU : layer.mtuTo(remoteHi, remoteLo);
    }

    /**
     * The most payload one TCP segment may carry: {@code mss}, or a multiple of it when the link does
     * segmentation offload (the host's loopback does not need it).
     */
    public int maxSegmentPayload(int mss, int tcpHeaderLength) {
        if (!layer.segmentationOffload() || loopback) {
            return mss;
        }
        int max = layer.maxTransportLength() - tcpHeaderLength;
        return Math.max(mss, max - max % mss);
    }

    /**
     * Sends a packet (TCP: never fragmented; IPv4 DF set) whose transport header and payload are in place. Takes
     * ownership.
     *
     * @param protocol              the IP protocol number (next header)
     * @param transportLength       the transport header and payload length
     * @param csumOffset            offset of the transport checksum field within the transport header, which the
     *                              route fills with the pseudo-header sum and has completed; -1 if the transport
     *                              completed its checksum itself
     * @param gsoSize               for a TCP segment whose payload is longer, the MSS to cut it into (TSO); 0: none
     * @param transportHeaderLength the transport header length (TCP: with options), for the offload fields
     * @param tos                   the IPv4 type-of-service byte or IPv6 traffic class (DSCP and ECN)
     */
    public void send(ByteBuf packet, int protocol, int transportLength, int csumOffset, int gsoSize,
                     int transportHeaderLength, int tos) {
        pseudoHeader(packet, protocol, transportLength, csumOffset);
        layer.send(this, packet, protocol, transportLength, csumOffset, gsoSize, transportHeaderLength, tos);
    }

    /**
     * Sends a datagram, cut into fragments when it is larger than the path MTU (RFC 791 §3.2 with DF clear;
     * RFC 8200 §4.5 at the source). Takes ownership. Parameters as {@link #send}.
     */
    public void sendDatagram(ByteBuf packet, int protocol, int transportLength, int csumOffset, int tos) {
        pseudoHeader(packet, protocol, transportLength, csumOffset);
        layer.sendDatagram(this, packet, protocol, transportLength, csumOffset, tos);
    }

    /** Tells the neighbour layer that the peer answered (RFC 4861 §7.3.1); nothing for IPv4. */
    public void confirmReachable(long now) {
        layer.confirmReachable(remoteHi, remoteLo, now);
    }

    private void pseudoHeader(ByteBuf packet, int protocol, int transportLength, int csumOffset) {
        if (csumOffset >= 0) {
            packet.setShort(layer.transportOffset() + csumOffset, Checksum.fold(IpAddress.pseudoHeaderSum(
                    localHi, localLo, remoteHi, remoteLo, protocol, transportLength)));
        }
    }

    @Override
    public String toString() {
        return local() + " -> " + remote()
                + (loopback ? " (loopback)" : viaGateway ? " via the gateway" : " (on-link)");
    }
}
