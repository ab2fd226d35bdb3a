package io.usertcp.ip;

import io.usertcp.util.TokenBucket;

import io.usertcp.util.KeyedHash;

import io.netty.buffer.ByteBuf;
import io.usertcp.stats.StackStats;
import io.usertcp.time.Timer;
import io.usertcp.time.TimerQueue;
import io.usertcp.wire.IpAddress;
import io.usertcp.wire.Ipv4;
import io.usertcp.wire.MacAddress;

import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;

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
public final class ArpTable implements NeighborResolver {
    /** Most entries kept. */
    public static final int MAX_ENTRIES = 1024;
    /** Most frames queued behind one unresolved address. */
    public static final int MAX_PENDING_PER_ENTRY = 64;
    /** Most bytes queued behind one unresolved address. */
    public static final int MAX_PENDING_BYTES_PER_ENTRY = 128 << 10;
    /** Most bytes queued behind all unresolved addresses together. */
    public static final int MAX_PENDING_BYTES = 1 << 20;
    /** Entries ARP input may create per second (RFC 6583 §7: limit the rate of new entries). */
    public static final int NEW_ENTRIES_PER_SECOND = 100;
    /** Entries ARP input may create at once. */
    public static final int NEW_ENTRY_BURST = 200;
    /** Requests sent before an address is declared unreachable. */
    public static final int MAX_REQUESTS = 3;
    private static final long RETRY_NANOS = 1_000_000_000L;
    private static final long REACHABLE_NANOS = 60_000_000_000L;

    private final Map<Key, Entry> entries = new HashMap<>();
    private final KeyedHash hasher = KeyedHash.random();
    private final Key probe = new Key(); // reused for lookups: no allocation on the hot path
    private final TimerQueue timers;
    private final NeighborResolver.Output output;
    private final StackStats stats;
    private final TokenBucket newEntries = new TokenBucket(NEW_ENTRIES_PER_SECOND, NEW_ENTRY_BURST);
    /**
     * New addresses our own sending may start resolving per second once the table is full
     * ({@value #RESOLUTIONS_PER_SECOND}, bursts of {@value #RESOLUTION_BURST}): each then evicts an entry and costs an
     * INCOMPLETE entry, an ARP request and a timer, and a flood of spoofed SYNs
     * from on-link addresses would otherwise make every SYN-ACK one of them (issue #10). Frames for an address
     * beyond the rate are dropped; TCP retransmits.
     */
    public static final int RESOLUTIONS_PER_SECOND = 1000;
    /** See {@link #RESOLUTIONS_PER_SECOND}. */
    public static final int RESOLUTION_BURST = 100;
    private final TokenBucket resolutions = new TokenBucket(RESOLUTIONS_PER_SECOND, RESOLUTION_BURST);
    // Eviction order: INCOMPLETE (oldest first), learned but never used (oldest first), used (least recent first).
    private final CacheNode.EvictionList incomplete = new CacheNode.EvictionList();
    private final CacheNode.EvictionList unused = new CacheNode.EvictionList();
    private final CacheNode.EvictionList used = new CacheNode.EvictionList();
    private int[] protectedIps = new int[0];
    private int pendingBytes;
    private Entry last; // one-entry cache: the hot path is nearly always one next hop

    private final int ethernetOffset;

    /**
     * @param ethernetOffset where the Ethernet header starts in queued frames (after any virtio header)
     * @param stats          where the bounds hit are counted
     */
    public ArpTable(TimerQueue timers, NeighborResolver.Output output, int ethernetOffset, StackStats stats) {
        this.timers = timers;
        this.output = output;
        this.ethernetOffset = ethernetOffset;
        this.stats = stats;
    }

    /**
     * Never evicts the entry of {@code ip} to make room (the configured gateway: every off-link packet needs
     * it). It still goes when it stops answering.
     */
    public void protect(int ip) {
        int[] p = java.util.Arrays.copyOf(protectedIps, protectedIps.length + 1);
        p[p.length - 1] = ip;
        protectedIps = p;
        Entry e = find(ip);
        if (e != null) {
            e.pinned = true;
        }
    }

    @Override
    public long lookup(long hi, long lo, long now) {
        return lookup((int) lo, now);
    }

    @Override
    public void resolve(long hi, long lo, ByteBuf frame, long now) {
        resolve((int) lo, frame, now);
    }

    /** The resolved MAC of {@code ip}, or -1 if not known. */
    public long lookup(int ip, long now) {
        Entry e = find(ip);
        if (e == null || e.mac < 0) {
            return -1;
        }
        used.moveToEnd(e);
        if (now - e.confirmed > REACHABLE_NANOS && !e.timer.isScheduled()) {
            // Stale: keep using it, but refresh it with a unicast request (RFC 1122 §2.3.2.1).
            e.requests = 0;
            output.solicit(0, IpAddress.mappedLo(ip), e.mac);
            e.requests++;
            timers.schedule(e.timer, now + RETRY_NANOS);
        }
        return e.mac;
    }

    /**
     * Queues {@code frame} (which has room for its Ethernet header) until {@code ip} resolves, sending a
     * request if none is outstanding; sends it at once if {@code ip} is resolved. Takes ownership.
     */
    public void resolve(int ip, ByteBuf frame, long now) {
        Entry e = find(ip);
        if (e == null) {
            if (size() >= MAX_ENTRIES && !resolutions.tryTake(now)) {
                stats.arpResolutionsRateLimited++;
                output.dropUnresolved(frame);
                return;
            }
            e = create(ip, incomplete);
            if (e == null) {
                output.dropUnresolved(frame); // every entry is protected: nothing to make room with
                return;
            }
        }
        if (e.mac >= 0) {
            used.moveToEnd(e);
            MacAddress.write(frame, ethernetOffset, e.mac);
            output.transmitResolved(frame);
            return;
        }
        int len = frame.readableBytes();
        if (e.pending.size() >= MAX_PENDING_PER_ENTRY || e.pendingBytes + len > MAX_PENDING_BYTES_PER_ENTRY
                || pendingBytes + len > MAX_PENDING_BYTES) {
            stats.dropArpQueueFull++;
            output.dropUnresolved(frame);
        } else {
            e.pending.add(frame);
            e.pendingBytes += len;
            pendingBytes += len;
        }
        if (!e.timer.isScheduled()) {
            e.requests = 1;
            output.solicit(0, IpAddress.mappedLo(ip), MacAddress.BROADCAST.toLong());
            timers.schedule(e.timer, now + RETRY_NANOS);
        }
    }

    /**
     * Records that {@code ip} is at {@code mac} (RFC 826's merge step), sending what waited for it. This is
     * wire input: it neither counts as use nor saves an entry from eviction.
     *
     * @param create whether to create an entry that does not exist yet (true when the packet was aimed at us);
     *               creation is rate-limited
     */
    public void learn(int ip, long mac, boolean create, long now) {
        Entry e = find(ip);
        if (e == null) {
            if (!create) {
                return;
            }
            if (!newEntries.tryTake(now)) {
                stats.arpNewEntriesRateLimited++;
                return;
            }
            e = create(ip, unused);
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
        ByteBuf f;
        while ((f = e.pending.poll()) != null) {
            pendingBytes -= f.readableBytes();
            MacAddress.write(f, ethernetOffset, mac);
            output.transmitResolved(f);
        }
        e.pendingBytes = 0;
    }

    /** Number of entries. */
    public int size() {
        return entries.size();
    }

    /** Bytes of frames waiting for resolution. */
    public int pendingBytes() {
        return pendingBytes;
    }

    /** Drops every queued frame (the stack is closing). */
    public void clear() {
        for (Entry e : entries.values()) {
            timers.cancel(e.timer);
            ByteBuf f;
            while ((f = e.pending.poll()) != null) {
                f.release();
            }
            e.list.remove(e);
        }
        entries.clear();
        pendingBytes = 0;
        last = null;
    }

    /** The hash code the key of {@code ip} gets (tests: hash flooding). */
    int keyHash(int ip) {
        return new Key().set(hasher, ip).hashCode();
    }

    private Entry find(int ip) {
        Entry e = last;
        if (e != null && e.key.ip == ip) {
            return e;
        }
        e = entries.get(probe.set(hasher, ip));
        if (e != null) {
            last = e;
        }
        return e;
    }

    /** A new entry on {@code list}, after making room; null if no entry may be evicted. */
    private Entry create(int ip, CacheNode.EvictionList list) {
        if (entries.size() >= MAX_ENTRIES && !evictOne()) {
            return null;
        }
        Entry e = new Entry(new Key().set(hasher, ip));
        for (int p : protectedIps) {
            if (p == ip) {
                e.pinned = true;
            }
        }
        entries.put(e.key, e);
        list.moveToEnd(e);
        last = e;
        return e;
    }

    private boolean evictOne() {
        CacheNode victim = incomplete.first();
        if (victim == null) {
            victim = unused.firstUnpinned();
        }
        if (victim == null) {
            victim = used.firstUnpinned();
        }
        if (victim == null) {
            return false;
        }
        stats.arpEntriesEvicted++;
        remove((Entry) victim);
        return true;
    }

    private void remove(Entry e) {
        entries.remove(e.key);
        e.list.remove(e);
        timers.cancel(e.timer);
        if (last == e) {
            last = null;
        }
        ByteBuf f;
        while ((f = e.pending.poll()) != null) {
            pendingBytes -= f.readableBytes();
            output.dropUnresolved(f);
        }
        e.pendingBytes = 0;
    }

    /** An IPv4 address as a map key, with a keyed hash code; ordered, so colliding keys form a tree. */
    private static final class Key implements Comparable<Key> {
        int ip;
        int hash;

        Key set(KeyedHash hasher, int ip) {
            this.ip = ip;
            this.hash = hasher.hash(ip);
            return this;
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Key k && k.ip == ip;
        }

        @Override
        public int hashCode() {
            return hash;
        }

        @Override
        public int compareTo(Key k) {
            return Integer.compare(ip, k.ip);
        }
    }

    private final class Entry extends CacheNode {
        final Key key;
        long mac = -1;
        long confirmed;
        int requests;
        int pendingBytes;
        final ArrayDeque<ByteBuf> pending = new ArrayDeque<>(4);
        final Timer timer = new Timer() {
            @Override
            protected void expired(long now) {
                retry(now);
            }
        };

        Entry(Key key) {
            this.key = key;
        }

        void retry(long now) {
            if (requests >= MAX_REQUESTS) {
                // Unreachable: drop what waited (RFC 1122 §2.3.2.2); a stale entry that no longer answers is
                // forgotten so the next packet resolves anew.
                remove(this);
                return;
            }
            requests++;
            output.solicit(0, IpAddress.mappedLo(key.ip), mac < 0 ? MacAddress.BROADCAST.toLong() : mac);
            timers.schedule(timer, now + RETRY_NANOS);
        }

        @Override
        public String toString() {
            return Ipv4.toString(key.ip) + " at " + (mac < 0 ? "(incomplete)" : MacAddress.of(mac).toString());
        }
    }
}
