package io.usertcp.ip;

import io.netty.buffer.ByteBuf;
import io.usertcp.wire.IpAddress;

/**
 * Where the network layer hands what it received to the transports above it (implemented by the stack, which
 * wires TCP and UDP in). Addresses are 128-bit halves (IPv4-mapped for IPv4) or IPv4 ints.
 */
public interface TransportDispatcher {
    /** A TCP segment in an IPv4 datagram. */
    void tcp(ByteBuf f, int o, int len, int src, int dst, boolean checksumTrusted);

    /** A TCP segment in an IPv6 packet. */
    void tcp(ByteBuf f, int o, int len, long srcHi, long srcLo, long dstHi, long dstLo, boolean checksumTrusted);

    /** A UDP datagram in an IPv4 datagram; false when no socket takes it (port unreachable). */
    boolean udp(ByteBuf f, int o, int len, int src, int dst, boolean checksumTrusted, boolean broadcast);

    /** A UDP datagram in an IPv6 packet; false when no socket takes it (port unreachable). */
    boolean udp(ByteBuf f, int o, int len, long srcHi, long srcLo, long dstHi, long dstLo, boolean checksumTrusted);

    /** An ICMP or ICMPv6 error about a TCP segment we sent (RFC 5927: the quoted sequence number is checked). */
    void tcpError(long localHi, long localLo, int localPort, long remoteHi, long remoteLo, int remotePort, int seq,
                  boolean hard, String description);

    /** Fragmentation needed / packet too big about a TCP segment we sent. */
    void tcpPacketTooBig(long localHi, long localLo, int localPort, long remoteHi, long remoteLo, int remotePort,
                         int seq, int mtu);

    /** A destination-unreachable error about a UDP datagram we sent, with its IPv4 code. */
    void udpError(int code, long localHi, long localLo, int localPort, long remoteHi, long remoteLo, int remotePort,
                  IpAddress from);
}
