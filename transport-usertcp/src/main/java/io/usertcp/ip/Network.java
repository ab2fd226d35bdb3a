package io.usertcp.ip;

import io.netty.buffer.ByteBuf;
import io.usertcp.wire.IpAddress;

/**
 * The network layer of one stack: the interface and the two IP families, and the questions transports ask of
 * both families at once (routes, source addresses, address classes, path MTU reports).
 */
public final class Network {
    private final EthernetInterface iface;
    private final Ipv4Layer ipv4;
    private final Ipv6Layer ipv6;
    private final PathMtuCache pathMtu;

    /**
     * @param ipv6 the IPv6 layer, or null when the stack has no IPv6 address
     */
    public Network(EthernetInterface iface, Ipv4Layer ipv4, Ipv6Layer ipv6, PathMtuCache pathMtu) {
        this.iface = iface;
        this.ipv4 = ipv4;
        this.ipv6 = ipv6;
        this.pathMtu = pathMtu;
        iface.attach(ipv4, ipv6);
    }

    /** The interface. */
    public EthernetInterface iface() {
        return iface;
    }

    /** IPv4. */
    public Ipv4Layer ipv4() {
        return ipv4;
    }

    /** IPv6, or null when the stack has no IPv6 address. */
    public Ipv6Layer ipv6() {
        return ipv6;
    }

    /** The path MTU cache (RFC 1191, RFC 8201). */
    public PathMtuCache pathMtu() {
        return pathMtu;
    }

    /** Processes one Ethernet frame; never throws for bad input (see {@link EthernetInterface#input}). */
    public void input(ByteBuf frame) {
        iface.input(frame);
    }

    /** The layer of {@code ip}'s family; for IPv6 without an IPv6 address, an {@link IllegalStateException}. */
    public IpLayer layer(IpAddress ip) {
        return layer(ip.isV4());
    }

    private IpLayer layer(boolean v4) {
        if (v4) {
            return ipv4;
        }
        if (ipv6 == null) {
            throw new IllegalStateException("the stack has no IPv6 address");
        }
        return ipv6;
    }

    /**
     * The route from {@code local} to {@code remote} (of one family), set up in {@code reuse} if it is not null
     * (so that one object serves a socket whose peer changes), else in a new one.
     */
    public Route route(Route reuse, IpAddress local, IpAddress remote) {
        return route(reuse, local.hi(), local.lo(), remote.hi(), remote.lo());
    }

    /** As {@link #route(Route, IpAddress, IpAddress)}, for addresses as numbers (IPv4-mapped): allocates nothing. */
    public Route route(Route reuse, long localHi, long localLo, long remoteHi, long remoteLo) {
        Route r = reuse != null ? reuse : new Route();
        layer(IpAddress.isV4(remoteHi, remoteLo)).bind(r, localHi, localLo, remoteHi, remoteLo);
        return r;
    }

    /** The MTU of the path to {@code dst}. */
    public int mtuTo(IpAddress dst) {
        return dst.isV4() ? ipv4.mtuTo(dst.v4()) : ipv6 == null ? Ipv6Layer.MIN_MTU : ipv6.mtuTo(dst);
    }

    /** Records a reported path MTU towards {@code dst}; returns the path MTU now in effect. */
    public int reportPathMtu(IpAddress dst, int reported) {
        if (dst.isV4() || ipv6 != null) {
            return layer(dst).reportPathMtu(dst, reported);
        }
        if (dst.isLoopback()) {
            return EthernetInterface.LOOPBACK_MTU;
        }
        long now = iface.clock.nanoTime();
        pathMtu.update(true, dst.hi(), dst.lo(), reported, iface.mtu, now);
        return pathMtu.mtu(true, dst.hi(), dst.lo(), iface.mtu, now);
    }

    /** An upper-layer reachability confirmation (RFC 4861 §7.3.1); nothing for IPv4. */
    public void confirmReachable(IpAddress dst, long now) {
        if (ipv6 != null && dst.isV6()) {
            ipv6.confirmReachable(dst, now);
        }
    }

    /** The source address to use towards {@code dst}, or null if it is unroutable. */
    public IpAddress sourceAddressFor(IpAddress dst) {
        if (dst.isV4()) {
            return ipv4.sourceFor(dst);
        }
        return ipv6 == null ? null : ipv6.sourceFor(dst);
    }

    /** Whether {@code ip} is unspecified, multicast, or a broadcast address of the stack's prefixes. */
    public boolean isBroadcastOrMulticast(IpAddress ip) {
        return ip.isV4() ? ipv4.isBroadcastOrMulticast(ip.v4()) : ip.isAnyLocal() || ip.isMulticast();
    }

    /** Whether {@code ip} is one of the stack's addresses (loopback included). */
    public boolean isLocalAddress(IpAddress ip) {
        return ip.isV4() ? ipv4.isLocalAddress(ip.v4()) : ip.isLoopback() || (ipv6 != null && ipv6.isLocal(ip));
    }

    /** Whether {@code ip} is the limited broadcast or the directed broadcast of one of the stack's prefixes. */
    public boolean isBroadcast(IpAddress ip) {
        return ip.isV4() && ipv4.isBroadcast(ip.v4());
    }

    /** Drops queued frames, reassemblies and neighbour entries, and closes the link (the stack is closing). */
    public void close() {
        ipv4.clear();
        if (ipv6 != null) {
            ipv6.clear();
        }
        iface.close();
    }
}
