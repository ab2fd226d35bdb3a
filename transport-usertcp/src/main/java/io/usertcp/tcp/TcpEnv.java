package io.usertcp.tcp;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.usertcp.stack.StackStats;
import io.usertcp.stack.TimerQueue;

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

    /** Offset of the transport header in frames made by {@link #newIpv4Frame}. */
    int ipv4PayloadOffset();

    /** A frame with room for Ethernet and IPv4 headers and {@code l4Length} bytes; writerIndex at its end. */
    ByteBuf newIpv4Frame(int l4Length);

    /**
     * Fills the IPv4 and Ethernet headers of {@code frame} and sends it. Takes ownership.
     *
     * @param csumOffset offset within the transport header of a checksum field that holds only the
     *                   pseudo-header sum (folded, not complemented) and must be completed, or -1 if the
     *                   transport checksum is already complete
     * @param gsoSize    for a TCP segment longer than this, the MSS to cut it into (TSO); 0 for none
     */
    void sendIpv4(ByteBuf frame, int src, int dst, int protocol, int l4Length, int csumOffset, int gsoSize);

    /**
     * The most payload one TCP segment towards {@code dst} may carry: {@code mss}, or a multiple of it when
     * the link does segmentation offload.
     */
    int maxSegmentPayload(int dst, int mss, int tcpHeaderLength);

    /** The MTU of the path to {@code dst}. */
    int mtuTo(int dst);

    /** The source address to use towards {@code dst}, or 0 if it is unroutable. */
    int sourceAddressFor(int dst);

    /** Whether {@code ip} is 0.0.0.0, multicast, or a broadcast address of the stack's prefixes. */
    boolean isBroadcastOrMulticast(int ip);

    /** Whether {@code ip} is one of the stack's addresses. */
    boolean isLocalAddress(int ip);

    /** Queues {@code s} for {@link TcpSocket#dispatch()} after the current batch of input. */
    void ready(TcpSocket s);

    /** Asks for {@link TcpConnection#flushAck()} at the end of the current batch of input. */
    void ackLater(TcpConnection c);
}
