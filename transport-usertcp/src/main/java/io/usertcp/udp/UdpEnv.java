package io.usertcp.udp;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.usertcp.stats.StackStats;
import io.usertcp.wire.IpAddress;

/**
 * What UDP needs from the stack below it (the counterpart of {@link io.usertcp.tcp.TcpEnv}). Implemented by
 * the stack; tests may implement it to run UDP alone.
 */
public interface UdpEnv {
    /** Allocator for frames and received datagrams. */
    ByteBufAllocator alloc();

    /** Counters. */
    StackStats stats();

    /** Offset of the transport header in frames made by {@link #newFrame} for this family. */
    int payloadOffset(boolean v6);

    /**
     * A frame with room for Ethernet and IP (IPv6 if {@code v6}) headers and {@code l4Length} bytes (which may
     * exceed the MTU: {@link #sendDatagram} fragments it); writerIndex at its end.
     */
    ByteBuf newFrame(boolean v6, int l4Length);

    /**
     * Fills the IP and Ethernet headers of {@code frame} and sends it, cut into fragments when it is larger
     * than the MTU towards {@code dst} (RFC 791 §3.2 with DF clear; RFC 8200 §4.5 at the source). Takes
     * ownership.
     *
     * @param csumOffset offset within the transport header of a checksum field that holds only the
     *                   pseudo-header sum (folded, not complemented) and must be completed, or -1
     * @param tos        the IPv4 type-of-service byte or IPv6 traffic class (DSCP and ECN)
     */
    void sendDatagram(ByteBuf frame, IpAddress src, IpAddress dst, int protocol, int l4Length, int csumOffset,
                      int tos);

    /** The source address to use towards {@code dst}, or null if it is unroutable. */
    IpAddress sourceAddressFor(IpAddress dst);

    /** Whether {@code ip} is one of the stack's addresses. */
    boolean isLocalAddress(IpAddress ip);

    /** Whether {@code ip} is the limited broadcast address or the directed broadcast of one of the stack's prefixes. */
    boolean isBroadcast(IpAddress ip);

    /** Queues {@code s} for {@link UdpSocket#dispatch()} after the current batch of input. */
    void ready(UdpSocket s);
}
