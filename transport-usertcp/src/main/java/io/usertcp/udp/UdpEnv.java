package io.usertcp.udp;

import io.netty.buffer.ByteBufAllocator;
import io.usertcp.ip.Route;
import io.usertcp.stats.MemoryBudget;
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

    /** The stack's buffer budget, which received datagrams are charged to while they wait to be read. */
    MemoryBudget memory();

    /**
     * The route from {@code local} to {@code remote}, set up in {@code reuse} when it is not null (a socket keeps
     * one and re-aims it only when its peer changes), else in a new one.
     */
    Route route(Route reuse, IpAddress local, IpAddress remote);

    /** The source address to use towards {@code dst}, or null if it is unroutable. */
    IpAddress sourceAddressFor(IpAddress dst);

    /** Whether {@code ip} is one of the stack's addresses. */
    boolean isLocalAddress(IpAddress ip);

    /** Whether {@code ip} is the limited broadcast address or the directed broadcast of one of the stack's prefixes. */
    boolean isBroadcast(IpAddress ip);

    /** Queues {@code s} for {@link UdpSocket#dispatch()} after the current batch of input. */
    void ready(UdpSocket s);
}
