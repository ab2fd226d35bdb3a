package io.usertcp.tcp;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.usertcp.stats.MemoryBudget;
import io.usertcp.stats.StackStats;
import io.usertcp.time.TimerQueue;
import io.usertcp.wire.IpAddress;

/**
 * What TCP needs from the stack below and around it. Implemented by the stack; tests may implement it to
 * run TCP alone.
 */
public interface TcpEnv {
    /** Current time (nanoseconds, monotonic). */
    long now();

    /** The stack's timers. */
    TimerQueue timers();

    /** Allocator for frames and buffers. */
    ByteBufAllocator alloc();

    /** Counters. */
    StackStats stats();

    /** The stack's buffer memory budget, which every connection's queues count against. */
    MemoryBudget memory();

    /** Offset of the transport header in frames made by {@link #newFrame} for this family. */
    int payloadOffset(boolean v6);

    /**
     * A frame with room for Ethernet and IP (IPv6 if {@code v6}, else IPv4) headers and {@code l4Length}
     * bytes; writerIndex at its end.
     */
    ByteBuf newFrame(boolean v6, int l4Length);

    /**
     * Fills the IP and Ethernet headers of {@code frame} and sends it. Takes ownership. {@code src} and
     * {@code dst} are of the frame's family.
     *
     * @param csumOffset offset within the transport header of a checksum field that holds only the
     *                   pseudo-header sum (folded, not complemented) and must be completed, or -1 if the
     *                   transport checksum is already complete
     * @param gsoSize    for a TCP segment longer than this, the MSS to cut it into (TSO); 0 for none
     * @param tos        the IPv4 type-of-service byte or IPv6 traffic class (DSCP and ECN)
     */
    void send(ByteBuf frame, IpAddress src, IpAddress dst, int protocol, int l4Length, int csumOffset, int gsoSize,
              int tos);

    /**
     * The most payload one TCP segment towards {@code dst} may carry: {@code mss}, or a multiple of it when
     * the link does segmentation offload.
     */
    int maxSegmentPayload(IpAddress dst, int mss, int tcpHeaderLength);

    /** The MTU of the path to {@code dst} (the link's, or lower if the path told us so: RFC 1191, RFC 8201). */
    int mtuTo(IpAddress dst);

    /**
     * Records that the network reported a path MTU of {@code mtu} towards {@code dst} (ICMP fragmentation
     * needed or ICMPv6 packet too big, already checked against a connection by TCP: RFC 5927 §4.2) and returns
     * the path MTU now in effect, which never rises because of a report and has a floor (RFC 1191, RFC 8201).
     */
    int reportPathMtu(IpAddress dst, int mtu);

    /**
     * Tells the neighbour layer that {@code dst} answered (new data acknowledged): an upper-layer reachability
     * confirmation (RFC 4861 §7.3.1) that spares the IPv6 neighbour cache its unreachability probes. No-op for IPv4.
     */
    void confirmReachable(IpAddress dst);

    /** The source address to use towards {@code dst}, or null if it is unroutable. */
    IpAddress sourceAddressFor(IpAddress dst);

    /** Whether {@code ip} is unspecified, multicast, or a broadcast address of the stack's prefixes. */
    boolean isBroadcastOrMulticast(IpAddress ip);

    /** Whether {@code ip} is one of the stack's addresses (loopback included). */
    boolean isLocalAddress(IpAddress ip);

    /** Queues {@code s} for {@link TcpSocket#dispatch()} after the current batch of input. */
    void ready(TcpSocket s);

    /** Asks for {@link TcpConnection#flushAck()} at the end of the current batch of input. */
    void ackLater(TcpConnection c);
}
