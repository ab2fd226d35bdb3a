package io.usertcp.ip;

import io.netty.buffer.ByteBuf;
import io.usertcp.wire.IpAddress;

/**
 * One IP family of the network layer ({@link Ipv4Layer}, {@link Ipv6Layer}): what {@link Network} and a
 * {@link Route} need of it. Input comes from the {@link EthernetInterface}; transports send through a route.
 */
public interface IpLayer {
    /** Whether this is IPv6. */
    boolean isV6();

    /** Offset of the transport header in frames made by {@link #newPacket}. */
    int transportOffset();

    /** A frame with room for the Ethernet and IP headers and {@code transportLength} bytes; writerIndex at its end. */
    ByteBuf newPacket(int transportLength);

    /**
     * Sets up {@code route} from {@code localHi/localLo} to {@code remoteHi/remoteLo} (IPv4-mapped for IPv4): whether
     * it stays in the host, and its next hop. Allocates nothing.
     */
    void bind(Route route, long localHi, long localLo, long remoteHi, long remoteLo);

    /** Writes the IP header (IPv4: DF set) and sends a packet through {@code route}; see {@link Route#send}. */
    void send(Route route, ByteBuf packet, int protocol, int transportLength, int csumOffset, int gsoSize,
              int transportHeaderLength, int tos);

    /** Sends a datagram through {@code route}, in fragments if it exceeds the path MTU; see {@link Route#sendDatagram}. */
    void sendDatagram(Route route, ByteBuf packet, int protocol, int transportLength, int csumOffset, int tos);

    /** The MTU of the path to {@code dst} (the link's, or lower if the path told us so: RFC 1191, RFC 8201). */
    int mtuTo(IpAddress dst);

    /** As {@link #mtuTo(IpAddress)}, for the address {@code hi/lo} (IPv4-mapped for IPv4); the layers allocate nothing. */
    default int mtuTo(long hi, long lo) {
        return mtuTo(IpAddress.of(hi, lo));
    }

    /**
     * Records that the network reported a path MTU of {@code mtu} towards {@code dst} and returns the path MTU now
     * in effect, which never rises because of a report and has a floor (RFC 1191, RFC 8201).
     */
    int reportPathMtu(IpAddress dst, int mtu);

    /** The most transport bytes one packet can carry (the 16-bit length field), for segmentation offload. */
    int maxTransportLength();

    /** Whether the link segments large TCP packets itself (TSO). */
    boolean segmentationOffload();

    /** The source address to use towards {@code dst}, or null if it is unroutable. */
    IpAddress sourceFor(IpAddress dst);

    /** Whether {@code ip} is one of the stack's addresses of this family (loopback included). */
    boolean isLocal(IpAddress ip);

    /** An upper-layer reachability confirmation for {@code dst} (RFC 4861 §7.3.1); nothing for IPv4. */
    void confirmReachable(IpAddress dst, long now);

    /** As {@link #confirmReachable(IpAddress, long)}, for the address {@code hi/lo}. */
    default void confirmReachable(long hi, long lo, long now) {
        confirmReachable(IpAddress.of(hi, lo), now);
    }

    /** Drops every queued frame and reassembly (the stack is closing). */
    void clear();
}
