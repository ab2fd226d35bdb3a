package io.usertcp.udp;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.usertcp.stack.StackStats;

/**
 * What UDP needs from the stack below it (the counterpart of {@link io.usertcp.tcp.TcpEnv}). Implemented by
 * the stack; tests may implement it to run UDP alone.
 */
public interface UdpEnv {
    /** Allocator for frames and received datagrams. */
    ByteBufAllocator alloc();

    /** Counters. */
    StackStats stats();

    /** Offset of the transport header in frames made by {@link #newIpv4Frame}. */
    int ipv4PayloadOffset();

    /**
     * A frame with room for Ethernet and IPv4 headers and {@code l4Length} bytes (which may exceed the MTU:
     * {@link #sendIpv4Datagram} fragments it); writerIndex at its end.
     */
    ByteBuf newIpv4Frame(int l4Length);

    /**
     * Fills the IPv4 and Ethernet headers of {@code frame} and sends it, cut into fragments when it is larger
     * than the MTU towards {@code dst} (RFC 791 §3.2; DF is never set). Takes ownership.
     *
     * @param csumOffset offset within the transport header of a checksum field that holds only the
     *                   pseudo-header sum (folded, not complemented) and must be completed, or -1
     * @param tos        the IPv4 type-of-service byte (DSCP and ECN)
     */
    void sendIpv4Datagram(ByteBuf frame, int src, int dst, int protocol, int l4Length, int csumOffset, int tos);

    /** The source address to use towards {@code dst}, or 0 if it is unroutable. */
    int sourceAddressFor(int dst);

    /** Whether {@code ip} is one of the stack's addresses. */
    boolean isLocalAddress(int ip);

    /** Whether {@code ip} is the limited broadcast address or the directed broadcast of one of the stack's prefixes. */
    boolean isBroadcast(int ip);

    /** Queues {@code s} for {@link UdpSocket#dispatch()} after the current batch of input. */
    void ready(UdpSocket s);
}
