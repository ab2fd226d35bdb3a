package io.usertcp.ip;

import io.netty.buffer.ByteBuf;

/**
 * Next hop to link-layer address, for either family: ARP ({@link ArpTable}) for IPv4, neighbour discovery
 * ({@link NeighborCache}) for IPv6. Addresses are given as 128-bit halves; an IPv4 address as its IPv4-mapped form.
 */
public interface NeighborResolver {
    /** The MAC to send to {@code hi/lo}, or -1 if it is not known yet (then call {@link #resolve}). */
    long lookup(long hi, long lo, long now);

    /**
     * Queues {@code frame} (which has room for its Ethernet header) until {@code hi/lo} resolves, or sends it at
     * once if it is resolved. Takes ownership.
     */
    void resolve(long hi, long lo, ByteBuf frame, long now);

    /** What a resolver needs from the interface below it. */
    interface Output {
        /**
         * Asks for the link-layer address of {@code hi/lo}: an ARP request or a neighbour solicitation, to
         * {@code dstMac} (a unicast refresh or probe) or, when it is -1 or the broadcast address, to everyone
         * concerned (the broadcast, or the solicited-node multicast group).
         */
        void solicit(long hi, long lo, long dstMac);

        /** Sends a queued frame whose Ethernet destination has just been filled in. Takes ownership. */
        void transmitResolved(ByteBuf frame);

        /** Drops a frame that could not be resolved (queue full, resolution failed, entry evicted). Takes ownership. */
        void dropUnresolved(ByteBuf frame);
    }
}
