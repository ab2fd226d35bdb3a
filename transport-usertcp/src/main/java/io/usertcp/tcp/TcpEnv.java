package io.usertcp.tcp;

import io.netty.buffer.ByteBufAllocator;
import io.usertcp.ip.Route;
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

    /**
     * The route from {@code local} to {@code remote} (family, header room, path MTU and segment size, offload, next
     * hop), set up in {@code reuse} when it is not null, else in a new one. A connection gets one and keeps it.
     */
    Route route(Route reuse, IpAddress local, IpAddress remote);

    /**
     * As {@link #route(Route, IpAddress, IpAddress)}, for addresses as numbers (IPv4-mapped), so that a route
     * re-aimed per segment (handshakes, resets) allocates nothing.
     */
    default Route route(Route reuse, long localHi, long localLo, long remoteHi, long remoteLo) {
        return route(reuse, IpAddress.of(localHi, localLo), IpAddress.of(remoteHi, remoteLo));
    }

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

    /**
     * Queues {@code s} for {@link TcpSocket#dispatch()} on a later turn of the loop, after the sockets that input
     * makes ready ({@link TcpSocket#signalNextTurn}). An environment without turns may treat it as {@link #ready}.
     */
    default void readyNextTurn(TcpSocket s) {
        ready(s);
    }

    /**
     * Tells the stack that {@code s} will never be told anything again (a connection handed over to its TIME-WAIT
     * record): the stack lets go of any reference it keeps to it, so that it can be collected.
     */
    default void forget(TcpSocket s) {
    }

    /** Asks for {@link TcpConnection#flushAck()} at the end of the current batch of input. */
    void ackLater(TcpConnection c);

    /** How this stack takes part in a group of stacks sharing its link (issue #12); {@link FlowSteering#NONE} alone. */
    default FlowSteering steering() {
        return FlowSteering.NONE;
    }
}
