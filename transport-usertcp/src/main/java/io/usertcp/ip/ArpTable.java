package io.usertcp.ip;

import io.usertcp.util.KeyedHash;

import io.netty.buffer.ByteBuf;
import io.usertcp.stats.StackStats;
import io.usertcp.time.TimerQueue;
import io.usertcp.wire.IpAddress;
import io.usertcp.wire.Ipv4;
import io.usertcp.wire.MacAddress;


/**
 * The IPv4 neighbour cache (RFC 826): maps next-hop addresses to MAC addresses, holds a bounded queue of
 * packets waiting for resolution (the seed's {@code ResolutionRequired}), retries requests, and ages
 * entries.
 *
 * <p>Bounds, each counted in {@link StackStats} when hit (the defences RFC 6583 §7 asks of neighbour caches):
 * <ul>
 *   <li>at most {@link #MAX_ENTRIES} entries (1024). To make room, an INCOMPLETE entry goes first (the oldest),
 *       then one that was learned from the wire but never carried our traffic (the oldest), then the least
 *       recently used one; an entry for a {@linkplain #protect protected} address (the configured gateway) is
 *       never evicted ({@code arpEntriesEvicted});</li>
 *   <li>ARP input may create at most {@link #NEW_ENTRIES_PER_SECOND} entries a second (100), in bursts of
 *       {@link #NEW_ENTRY_BURST} (200); entries our own traffic needs are not limited
 *       ({@code arpNewEntriesRateLimited});</li>
 *   <li>frames queued behind an unresolved address: at most {@link #MAX_PENDING_PER_ENTRY} (64) and
 *       {@link #MAX_PENDING_BYTES_PER_ENTRY} bytes (128 KiB) per address and {@link #MAX_PENDING_BYTES} (1 MiB)
 *       in all; further frames are dropped, as Linux's {@code unres_qlen_bytes} does: TCP retransmits
 *       ({@code dropArpQueueFull}, also counted in {@code dropArpUnresolved}).</li>
 * </ul>
 * Lookups go through a keyed hash ({@link KeyedHash}): the addresses come from the wire.
 */
public final class ArpTable extends NeighborTable<ArpTable.Entry> {
    /** Most entries kept. */
    public static final int MAX_ENTRIES = NeighborTable.MAX_ENTRIES;
    /** Most frames queued behind one unresolved address. */
    public static final int MAX_PENDING_PER_ENTRY = NeighborTable.MAX_PENDING_PER_ENTRY;
    /** Most bytes queued behind one unresolved address. */
    public static final int MAX_PENDING_BYTES_PER_ENTRY = NeighborTable.MAX_PENDING_BYTES_PER_ENTRY;
    /** Most bytes queued behind all unresolved addresses together. */
    public static final int MAX_PENDING_BYTES = NeighborTable.MAX_PENDING_BYTES;
    /** Entries ARP input may create per second (RFC 6583 §7: limit the rate of new entries). */
    public static final int NEW_ENTRIES_PER_SECOND = NeighborTable.NEW_ENTRIES_PER_SECOND;
    /** Entries ARP input may create at once. */
    public static final int NEW_ENTRY_BURST = NeighborTable.NEW_ENTRY_BURST;
    /**
     * New addresses our own sending may start resolving per second once the table is full
     * ({@value #RESOLUTIONS_PER_SECOND}, bursts of {@value #RESOLUTION_BURST}): each then evicts an entry and costs an
     * INCOMPLETE entry, an ARP request and a timer, and a flood of spoofed SYNs
     * from on-link addresses would otherwise make every SYN-ACK one of them (issue #10). Frames for an address
     * beyond the rate are dropped; TCP retransmits.
     */
    public static final int RESOLUTIONS_PER_SECOND = NeighborTable.RESOLUTIONS_PER_SECOND;
    /** See {@link #RESOLUTIONS_PER_SECOND}. */
    public static final int RESOLUTION_BURST = NeighborTable.RESOLUTION_BURST;
    /** Requests sent before an address is declared unreachable. */
    public static final int MAX_REQUESTS = 3;
    private static final long RETRY_NANOS = 1_000_000_000L;
    private static final long REACHABLE_NANOS = 60_000_000_000L;

    /**
     * @param ethernetOffset where the Ethernet header starts in queued frames (after any virtio header)
     * @param stats          where the bounds hit are counted
     */
    public ArpTable(TimerQueue timers, NeighborResolver.Output output, int ethernetOffset, StackStats stats) {
        super(timers, output, ethernetOffset, stats);
    }

    /**
     * Never evicts the entry of {@code ip} to make room (the configured gateway: every off-link packet needs
     * it). It still goes when it stops answering.
     */
    public void protect(int ip) {
        protectAddress(0, IpAddress.mappedLo(ip));
    }

    @Override
    public long lookup(long hi, long lo, long now) {
        Entry e = find(hi, lo);
        if (e == null || e.mac < 0) {
            return -1;
        }
        used.moveToEnd(e);
        if (now - e.confirmed > REACHABLE_NANOS && !e.timer.isScheduled()) {
            // Stale: keep using it, but refresh it with a unicast request (RFC 1122 §2.3.2.1).
            e.requests = 0;
            output.solicit(hi, lo, e.mac);
            e.requests++;
            timers.schedule(e.timer, now + RETRY_NANOS);
        }
        return e.mac;
    }

    /** The resolved MAC of {@code ip}, or -1 if not known. */
    public long lookup(int ip, long now) {
        return lookup(0, IpAddress.mappedLo(ip), now);
    }

    @Override
    public void resolve(long hi, long lo, ByteBuf frame, long now) {
        Entry e = entryToResolve(hi, lo, frame, now);
        if (e == null) {
            return;
        }
        if (e.mac >= 0) {
            used.moveToEnd(e);
            transmit(e, frame);
            return;
        }
        enqueue(e, frame);
        if (!e.timer.isScheduled()) {
            e.requests = 1;
            output.solicit(hi, lo, MacAddress.BROADCAST.toLong());
            timers.schedule(e.timer, now + RETRY_NANOS);
        }
    }

    /**
     * Queues {@code frame} (which has room for its Ethernet header) until {@code ip} resolves, sending a
     * request if none is outstanding; sends it at once if {@code ip} is resolved. Takes ownership.
     */
    public void resolve(int ip, ByteBuf frame, long now) {
        resolve(0, IpAddress.mappedLo(ip), frame, now);
    }

    /**
     * Records that {@code ip} is at {@code mac} (RFC 826's merge step), sending what waited for it. This is
     * wire input: it neither counts as use nor saves an entry from eviction.
     *
     * @param create whether to create an entry that does not exist yet (true when the packet was aimed at us);
     *               creation is rate-limited
     */
    public void learn(int ip, long mac, boolean create, long now) {
        long lo = IpAddress.mappedLo(ip);
        Entry e = find(0, lo);
        if (e == null) {
            if (!create) {
                return;
            }
            if (!newEntries.tryTake(now)) {
                stats.arpNewEntriesRateLimited++;
                return;
            }
            e = create(0, lo, now, unused);
            if (e == null) {
                return;
            }
        }
        if (e.list == incomplete) {
            used.moveToEnd(e); // our traffic waited for it
        }
        e.mac = mac;
        e.confirmed = now;
        timers.cancel(e.timer);
        sendPending(e);
    }

    /** The hash code the key of {@code ip} gets (tests: hash flooding). */
    int keyHash(int ip) {
        return keyHash(0, IpAddress.mappedLo(ip));
    }

    @Override
    Entry newEntry(Key key, long now) {
        return new Entry(key);
    }

    @Override
    void expired(Entry e, long now) {
        if (e.requests >= MAX_REQUESTS) {
            // Unreachable: drop what waited (RFC 1122 §2.3.2.2); a stale entry that no longer answers is
            // forgotten so the next packet resolves anew.
            remove(e);
            return;
        }
        e.requests++;
        output.solicit(e.key.hi, e.key.lo, e.mac < 0 ? MacAddress.BROADCAST.toLong() : e.mac);
        timers.schedule(e.timer, now + RETRY_NANOS);
    }

    @Override
    void countEvicted() {
        stats.arpEntriesEvicted++;
    }

    @Override
    void countQueueFull() {
        stats.dropArpQueueFull++;
    }

    @Override
    void countResolutionRateLimited() {
        stats.arpResolutionsRateLimited++;
    }

    /** An IPv4 next hop: its MAC, when it was last confirmed, and the requests sent for it. */
    final class Entry extends NeighborTable<Entry>.Entry {
        long confirmed;
        int requests;

        Entry(Key key) {
            super(key);
        }

        @Override
        public String toString() {
            return Ipv4.toString((int) key.lo) + " at " + (mac < 0 ? "(incomplete)" : MacAddress.of(mac).toString());
        }
    }
}
