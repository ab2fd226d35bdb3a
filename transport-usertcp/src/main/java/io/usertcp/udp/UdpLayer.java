package io.usertcp.udp;

import io.netty.buffer.ByteBuf;
import io.usertcp.ip.Route;
import io.usertcp.wire.Checksum;
import io.usertcp.wire.IpAddress;
import io.usertcp.wire.Ipv4;
import io.usertcp.wire.Udp;

import java.io.IOException;
import java.net.BindException;
import java.net.NoRouteToHostException;
import java.net.SocketException;
import java.nio.channels.AlreadyBoundException;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.NotYetConnectedException;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * UDP (RFC 768; host requirements in RFC 1122 §4.1) for one stack: the table of bound sockets, ephemeral
 * ports, checksums, demultiplexing of received datagrams, and ICMP errors for connected sockets.
 *
 * <p>Binding: a socket binds a local address (or the wildcard, 0) and a port. Two sockets may share a port
 * when their addresses differ and neither is the wildcard, or when both set SO_REUSEADDR. A datagram goes to
 * the socket that matches it most specifically (a connected socket whose peer is the sender, then a socket
 * bound to the destination address, then the wildcard; among equals the most recently bound), as Linux's
 * {@code compute_score} ranks them. Broadcast datagrams go to every matching socket.
 *
 * <p>Ephemeral ports come from the same range as TCP's ({@value #EPHEMERAL_LOW}-{@value #EPHEMERAL_HIGH}),
 * picked at random (RFC 6056 §3.3.1, Algorithm 1), from UDP's own table.
 */
public final class UdpLayer {
    /** First port of the ephemeral range. */
    public static final int EPHEMERAL_LOW = 32768;
    /** Last port of the ephemeral range. */
    public static final int EPHEMERAL_HIGH = 60999;
    /** Default SO_RCVBUF (Linux's net.core.rmem_default). */
    public static final int DEFAULT_RECEIVE_BUFFER = 212992;
    /** Default SO_SNDBUF (Linux's net.core.wmem_default). */
    public static final int DEFAULT_SEND_BUFFER = 212992;

    final UdpEnv env;
    /** Sockets by local port, each a list through {@link UdpSocket#nextOnPort}, newest first; made on first bind. */
    private UdpSocket[] ports;
    private int bound;
    /** Set when the stack is one of a group sharing a link; null alone. */
    private PortSteering steering;
    private final SplittableRandom random = new SplittableRandom(new SecureRandom().nextLong());

    public UdpLayer(UdpEnv env) {
        this.env = env;
    }

    /** A new, unbound socket. */
    public UdpSocket open() {
        return new UdpSocket(this);
    }

    /** Makes this layer one of a group of stacks sharing a link (see {@link PortSteering}); null: alone. */
    public void steering(PortSteering s) {
        this.steering = s;
    }

    /** Number of bound sockets. */
    public int boundCount() {
        return bound;
    }

    // ------------------------------------------------------------------ binding

    void bind(UdpSocket s, IpAddress ip, int port) throws IOException {
        if (s.closed) {
            throw new ClosedChannelException();
        }
        if (s.localPort != 0) {
            throw new AlreadyBoundException();
        }
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException("port out of range: " + port);
        }
        if (ip != null && !env.isLocalAddress(ip)) {
            throw new BindException("Cannot assign requested address: " + ip
                    + " is not an address of this stack");
        }
        if (port == 0) {
            port = pickEphemeral();
        } else {
            for (UdpSocket o = head(port); o != null; o = o.nextOnPort) {
                if ((o.local == null || ip == null || o.local.equals(ip)) && !(o.reuseAddress && s.reuseAddress)) {
                    throw new BindException("Address already in use: UDP port " + port + " is taken by " + o
                            + " on this stack; close that channel, choose another port, or set SO_REUSEADDR on both");
                }
            }
        }
        s.bound = ip;
        s.local = ip;
        s.localPort = port;
        if (ports == null) {
            ports = new UdpSocket[65536];
        }
        s.nextOnPort = ports[port];
        ports[port] = s;
        bound++;
        if (steering != null) {
            steering.bound(port);
        }
    }

    private UdpSocket head(int port) {
        return ports == null ? null : ports[port];
    }

    private int pickEphemeral() throws IOException {
        int num = EPHEMERAL_HIGH - EPHEMERAL_LOW + 1;
        int start = random.nextInt(num);
        for (int i = 0; i < num; i++) {
            int port = EPHEMERAL_LOW + (start + i) % num;
            if (head(port) == null && (steering == null || steering.mayUseEphemeral(port))) {
                return port;
            }
        }
        throw new BindException("Cannot assign requested address: no free UDP port in " + EPHEMERAL_LOW + "-"
                + EPHEMERAL_HIGH);
    }

    private void unbind(UdpSocket s) {
        if (s.localPort == 0) {
            return;
        }
        UdpSocket prev = null;
        for (UdpSocket o = ports[s.localPort]; o != null; prev = o, o = o.nextOnPort) {
            if (o == s) {
                if (prev == null) {
                    ports[s.localPort] = s.nextOnPort;
                } else {
                    prev.nextOnPort = s.nextOnPort;
                }
                break;
            }
        }
        s.nextOnPort = null;
        int port = s.localPort;
        s.localPort = 0;
        bound--;
        if (steering != null) {
            steering.unbound(port, ports[port] != null);
        }
    }

    void connect(UdpSocket s, IpAddress ip, int port) throws IOException {
        if (s.closed) {
            throw new ClosedChannelException();
        }
        if (port <= 0 || port > 65535 || ip.isAnyLocal()) {
            throw new SocketException("Invalid argument: cannot connect to " + ip + ":" + port);
        }
        checkDestination(s, ip);
        IpAddress src = sourceFor(s, ip);
        if (s.localPort == 0) {
            bind(s, null, 0);
        }
        s.local = src; // as Linux's ip4_datagram_connect: the local address is fixed by the route
        s.remote = ip;
        s.remotePort = port;
    }

    /** The source address for a datagram from {@code s} to {@code ip}: the bound one, else by route. */
    private IpAddress sourceFor(UdpSocket s, IpAddress ip) throws IOException {
        if (s.local != null) {
            if (s.local.isV4() != ip.isV4()) {
                throw new SocketException("Address family not supported: socket bound to " + s.local
                        + " cannot reach " + ip + "; bind the wildcard address to use both families");
            }
            return s.local;
        }
        IpAddress src = env.sourceAddressFor(ip);
        if (src == null) {
            throw new NoRouteToHostException("No route to host " + ip + " (the stack has no "
                    + (ip.isV4() ? "IPv4" : "IPv6") + " address or route towards it)");
        }
        return src;
    }

    void disconnect(UdpSocket s) {
        s.remote = null;
        s.remotePort = 0;
        s.local = s.bound;
    }

    void close(UdpSocket s) {
        if (s.closed) {
            return;
        }
        s.closed = true;
        unbind(s);
        s.remote = null;
        s.remotePort = 0;
        s.clearQueue();
    }

    /** Every bound socket, copied (for the connection table: allocates, never on the packet path). */
    public List<UdpSocket> sockets() {
        List<UdpSocket> all = new ArrayList<>(bound);
        if (ports != null) {
            for (UdpSocket head : ports) {
                for (UdpSocket s = head; s != null; s = s.nextOnPort) {
                    all.add(s);
                }
            }
        }
        return all;
    }

    /** Closes every socket (the stack is closing). */
    public void closeAll() {
        if (ports == null) {
            return;
        }
        List<UdpSocket> all = new ArrayList<>(bound);
        for (UdpSocket head : ports) {
            for (UdpSocket s = head; s != null; s = s.nextOnPort) {
                all.add(s);
            }
        }
        for (UdpSocket s : all) {
            close(s);
        }
    }

    /** Refuses destinations this socket may not send to (RFC 1122 §4.1.3.6; SO_BROADCAST; no multicast yet). */
    private void checkDestination(UdpSocket s, IpAddress ip) throws SocketException {
        if (env.isBroadcast(ip) && !s.broadcast) {
            throw new SocketException("Permission denied: " + ip
                    + " is a broadcast address; set SO_BROADCAST to send to it");
        }
        if (ip.isMulticast()) {
            throw new SocketException("multicast destination " + ip + " is not supported by usertcp yet");
        }
    }

    // ------------------------------------------------------------------ output

    void send(UdpSocket s, ByteBuf data, IpAddress ip, int port) throws IOException {
        if (s.closed) {
            throw new ClosedChannelException();
        }
        SocketException err = s.takeError();
        if (err != null) {
            throw err; // a pending ICMP error fails the next send, as sock_error() does on Linux
        }
        if (ip == null) {
            if (s.remotePort == 0) {
                throw new NotYetConnectedException();
            }
            ip = s.remote;
            port = s.remotePort;
        } else if (port <= 0 || port > 65535) {
            throw new SocketException("Invalid argument: cannot send to port " + port);
        }
        int len = data.readableBytes();
        // IPv4's total length and IPv6's payload length are 16 bits (no jumbograms, RFC 2675).
        int max = ip.isV4() ? Udp.MAX_IPV4_PAYLOAD : 65535 - Udp.HEADER_LENGTH;
        if (len > max) {
            throw new SocketException("Message too long: " + len + " bytes; a UDP datagram over "
                    + (ip.isV4() ? "IPv4" : "IPv6") + " carries at most " + max);
        }
        checkDestination(s, ip);
        IpAddress src = sourceFor(s, ip);
        if (s.localPort == 0) {
            bind(s, null, 0); // autobind, as the kernel does on the first send
        }
        int udpLen = Udp.HEADER_LENGTH + len;
        Route r = s.route;
        if (r == null || !r.matches(src, ip)) {
            r = s.route = env.route(r, src, ip); // one route per socket, re-aimed when its peer changes
        }
        ByteBuf frame = r.newPacket(udpLen);
        int o = r.transportOffset();
        // RFC 768: the checksum covers a pseudo-header, the header and the data; the route writes the pseudo-header
        // sum and the stack (or the NIC) completes it. Over IPv6 it is mandatory (RFC 8200 §8.1); a computed 0
        // goes out as 0xffff either way.
        Udp.writeHeader(frame, o, s.localPort, port, udpLen, 0);
        frame.setBytes(o + Udp.HEADER_LENGTH, data, data.readerIndex(), len);
        env.stats().udpDatagramsOut++;
        r.sendDatagram(frame, Ipv4.PROTO_UDP, udpLen, Udp.CHECKSUM_OFFSET, s.tos); // 17 in both families
    }

    // ------------------------------------------------------------------ input

    /**
     * Processes one UDP datagram: {@code o} is the offset of its header in {@code frame}, {@code len} the IP
     * payload length. Never throws for bad input: it is counted and dropped.
     *
     * @param broadcast the IP destination was a broadcast address
     * @return false only when the datagram was valid, not broadcast, and no socket takes datagrams for its
     *         destination (the caller may answer with ICMP port unreachable, RFC 1122 §4.1.3.1)
     */
    public boolean input(ByteBuf frame, int o, int len, int src, int dst, boolean checksumTrusted, boolean broadcast) {
        return input(frame, o, len, 0, IpAddress.mappedLo(src), 0, IpAddress.mappedLo(dst), checksumTrusted,
                broadcast);
    }

    /** As {@link #input(ByteBuf, int, int, int, int, boolean, boolean)} for addresses as halves (see {@link IpAddress}). */
    public boolean input(ByteBuf frame, int o, int len, long srcHi, long srcLo, long dstHi, long dstLo,
                         boolean checksumTrusted, boolean broadcast) {
        env.stats().udpDatagramsIn++;
        if (len < Udp.HEADER_LENGTH) {
            env.stats().dropUdpMalformed++;
            return true;
        }
        int udpLen = Udp.length(frame, o);
        if (udpLen < Udp.HEADER_LENGTH || udpLen > len) {
            env.stats().dropUdpMalformed++; // bytes beyond udpLen are link padding and ignored
            return true;
        }
        boolean v4 = IpAddress.isV4(srcHi, srcLo);
        if (!checksumTrusted) {
            if (Udp.checksum(frame, o) == 0) {
                // RFC 768 / RFC 1122 §4.1.3.4: a zero checksum means the sender computed none (IPv4 only);
                // over IPv6 the checksum is mandatory and a zero one is dropped (RFC 8200 §8.1).
                if (!v4) {
                    env.stats().dropUdpChecksum++;
                    return true;
                }
            } else if (Checksum.fold(Checksum.add(frame, o, udpLen,
                    IpAddress.pseudoHeaderSum(srcHi, srcLo, dstHi, dstLo, Ipv4.PROTO_UDP, udpLen))) != 0xffff) {
                env.stats().dropUdpChecksum++;
                return true;
            }
        }
        int sport = Udp.srcPort(frame, o);
        int dport = Udp.dstPort(frame, o);
        if (dport == 0) {
            env.stats().dropUdpMalformed++;
            return true;
        }
        int data = o + Udp.HEADER_LENGTH;
        int dataLen = udpLen - Udp.HEADER_LENGTH;
        if (broadcast) {
            boolean any = false;
            for (UdpSocket s = head(dport); s != null; s = s.nextOnPort) {
                if (s.local == null && (s.remotePort == 0 || (s.remote.equals(srcHi, srcLo) && s.remotePort == sport))) {
                    s.deliver(frame, data, dataLen, srcHi, srcLo, sport, dstHi, dstLo);
                    any = true;
                }
            }
            if (!any) {
                env.stats().dropUdpNoPort++;
            }
            return true;
        }
        UdpSocket s = lookup(dstHi, dstLo, dport, srcHi, srcLo, sport);
        if (s == null) {
            env.stats().dropUdpNoPort++;
            return false;
        }
        s.deliver(frame, data, dataLen, srcHi, srcLo, sport, dstHi, dstLo);
        return true;
    }

    private UdpSocket lookup(long dstHi, long dstLo, int dport, long srcHi, long srcLo, int sport) {
        UdpSocket best = null;
        int bestScore = -1;
        for (UdpSocket s = head(dport); s != null; s = s.nextOnPort) {
            int score = 0;
            if (s.local != null) {
                if (!s.local.equals(dstHi, dstLo)) {
                    continue;
                }
                score += 1;
            }
            if (s.remotePort != 0) {
                if (!s.remote.equals(srcHi, srcLo) || s.remotePort != sport) {
                    continue;
                }
                score += 2;
            }
            if (score > bestScore) {
                best = s;
                bestScore = score;
            }
        }
        return best;
    }

    /**
     * An ICMP (or ICMPv6) destination unreachable about a datagram we sent from {@code local:localPort} to
     * {@code remote:remotePort} (the halves come from the quoted header), as an IPv4 unreachable {@code code}
     * (the stack maps ICMPv6 codes onto these). Hard errors (RFC 1122 §4.1.3.3; those Linux's
     * {@code icmp_err_convert} marks fatal) are reported to the connected socket the datagram came from;
     * unconnected sockets do not hear of them, as on Linux without IP_RECVERR.
     */
    public void icmpError(int code, long localHi, long localLo, int localPort, long remoteHi, long remoteLo,
                          int remotePort, IpAddress from) {
        if (!isHardError(code)) {
            return;
        }
        // The quote comes from the wire: port 0 is never a destination we sent to, and only a connected socket
        // names a peer (RFC 1122 §4.1.3.3; unconnected sockets, as Linux's without IP_RECVERR, are not told).
        if (remotePort != 0) {
            for (UdpSocket s = head(localPort); s != null; s = s.nextOnPort) {
                if (s.remotePort == remotePort && s.remote != null && s.remote.equals(remoteHi, remoteLo)
                        && (s.local == null || s.local.equals(localHi, localLo))) {
                    s.error(code, from);
                    return;
                }
            }
        }
        env.stats().udpIcmpIgnored++;
    }

    private static boolean isHardError(int code) {
        switch (code) {
            case 2: // protocol unreachable
            case 3: // port unreachable
            case 6: // destination network unknown
            case 7: // destination host unknown
            case 8: // source host isolated
            case 9: // network administratively prohibited
            case 10: // host administratively prohibited
            case 13: // communication administratively prohibited
                return true;
            default:
                return false;
        }
    }
}
