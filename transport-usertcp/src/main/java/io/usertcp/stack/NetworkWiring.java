package io.usertcp.stack;

import io.usertcp.ip.EthernetInterface;
import io.usertcp.ip.Ipv4Layer;
import io.usertcp.ip.Ipv6Layer;
import io.usertcp.ip.Network;
import io.usertcp.ip.PathMtuCache;
import io.usertcp.ip.TransportDispatcher;
import io.usertcp.time.TimerQueue;
import io.usertcp.util.TokenBucket;
import io.usertcp.wire.IpAddress;

import java.net.Inet4Address;
import java.util.ArrayList;
import java.util.List;

/** Builds a stack's network layer from its {@link StackConfig}: the addresses and gateways of both families. */
final class NetworkWiring {
    /** ICMP errors sent per second at most, and in one burst (RFC 1812 §4.3.2.8; issue #5). */
    private static final int ICMP_ERRORS_PER_SECOND = 100;
    private static final int ICMP_ERROR_BURST = 50;

    private NetworkWiring() {
    }

    static Network build(StackConfig config, EthernetInterface iface, TimerQueue timers, TransportDispatcher up) {
        TokenBucket icmpErrorLimit = new TokenBucket(ICMP_ERRORS_PER_SECOND, ICMP_ERROR_BURST); // both families
        PathMtuCache pathMtu = new PathMtuCache();
        List<Integer> addrs = new ArrayList<>();
        List<Integer> masks = new ArrayList<>();
        List<IpAddress> v6 = new ArrayList<>();
        List<Integer> v6Prefixes = new ArrayList<>();
        for (StackConfig.InterfaceAddress a : config.addresses()) {
            if (a.address() instanceof Inet4Address) {
                addrs.add(Stack.toInt(a.address()));
                masks.add(a.prefixLength() == 0 ? 0 : -1 << (32 - a.prefixLength()));
            } else {
                v6.add(IpAddress.of(a.address()));
                v6Prefixes.add(a.prefixLength());
            }
        }
        int gateway = config.gateway() instanceof Inet4Address ? Stack.toInt(config.gateway()) : 0;
        Ipv4Layer ipv4;
        try {
            ipv4 = new Ipv4Layer(iface, toArray(addrs), toArray(masks), gateway, config.ttl(), timers, pathMtu,
                    icmpErrorLimit, up);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("gateway " + config.gateway().getHostAddress()
                    + " is not within any of the stack's prefixes " + config.addresses(), e);
        }
        Ipv6Layer ipv6 = null;
        if (!v6.isEmpty() || iface.link() == null) {
            // A stack without a link is loopback only: it has ::1 as it has 127.0.0.1.
            int firstId = config.seed() != null ? (int) (config.seed() * 0x9E3779B97F4A7C15L >>> 32)
                    : new java.security.SecureRandom().nextInt();
            IpAddress gw6 = config.gateway6() != null ? IpAddress.of(config.gateway6()) : null;
            ipv6 = new Ipv6Layer(iface, v6.toArray(new IpAddress[0]), toArray(v6Prefixes), gw6, config.ttl(),
                    firstId, timers, pathMtu, icmpErrorLimit, up);
        } else if (config.gateway6() != null) {
            throw new IllegalArgumentException("IPv6 gateway " + config.gateway6().getHostAddress()
                    + " given but the stack has no IPv6 address: add one, e.g. address(\"fd00:198::2/64\")");
        }
        return new Network(iface, ipv4, ipv6, pathMtu);
    }

    private static int[] toArray(List<Integer> l) {
        return l.stream().mapToInt(Integer::intValue).toArray();
    }
}
