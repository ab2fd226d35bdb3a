package io.usertcp.ip;

import io.netty.buffer.ByteBuf;
import io.usertcp.stats.StackStats;
import io.usertcp.time.Timer;
import io.usertcp.time.TimerQueue;
import io.usertcp.util.KeyedHash;
import io.usertcp.util.TokenBucket;
import io.usertcp.wire.MacAddress;

import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;

/**
 * What ARP ({@link ArpTable}) and NDP ({@link NeighborCache}) keep alike: the entries by next-hop address (IPv4 as
 * its IPv4-mapped form) behind a keyed hash with a one-entry cache, their bounds (the defences RFC 6583 §7 asks of
 * neighbour caches: entries, new entries per second from the wire, resolutions per second once full, frames and
 * bytes queued behind unresolved addresses), the eviction order (INCOMPLETE first, then learned but never used,
 * then least recently used; protected addresses never) and the queue of frames waiting for resolution. The
 * subclasses keep their protocol's states and timers.
 *
 * @param <E> the protocol's entry
 */
abstract class NeighborTable<E extends NeighborTable<E>.Entry> implements NeighborResolver {
    static final int MAX_ENTRIES = 1024;
    static final int MAX_PENDING_PER_ENTRY = 64;
    static final int MAX_PENDING_BYTES_PER_ENTRY = 128 << 10;
    static final int MAX_PENDING_BYTES = 1 << 20;
    static final int NEW_ENTRIES_PER_SECOND = 100;
    static final int NEW_ENTRY_BURST = 200;
    static final int RESOLUTIONS_PER_SECOND = 1000;
    static final int RESOLUTION_BURST = 100;

    final TimerQueue timers;
    final NeighborResolver.Output output;
    final StackStats stats;
    /** Where the Ethernet header starts in queued frames (after any virtio header). */
    final int ethernetOffset;
    private final Map<Key, E> entries = new HashMap<>();
    private final KeyedHash hasher = KeyedHash.random();
    private final Key probe = new Key(); // reused for lookups: no allocation on the hot path
    /** Entries wire input may create (RFC 6583 §7: limit the rate of new entries). */
    final TokenBucket newEntries = new TokenBucket(NEW_ENTRIES_PER_SECOND, NEW_ENTRY_BURST);
    /**
     * New addresses our own sending may start resolving per second once the table is full: each then evicts an
     * entry and costs an INCOMPLETE entry, a request and a timer, and a flood of spoofed SYNs from on-link addresses
     * would otherwise make every SYN-ACK one of them (issue #10). Frames beyond the rate are dropped; TCP retransmits.
     */
    private final TokenBucket resolutions = new TokenBucket(RESOLUTIONS_PER_SECOND, RESOLUTION_BURST);
    // Eviction order: INCOMPLETE (oldest first), learned but never used (oldest first), used (least recent first).
    final CacheNode.EvictionList incomplete = new CacheNode.EvictionList();
    final CacheNode.EvictionList unused = new CacheNode.EvictionList();
    final CacheNode.EvictionList used = new CacheNode.EvictionList();
    private long[] protectedAddresses = new long[0]; // hi, lo pairs
    private int pendingBytes;
    private E last; // one-entry cache: the hot path is nearly always one next hop

    NeighborTable(TimerQueue timers, NeighborResolver.Output output, int ethernetOffset, StackStats stats) {
        this.timers = timers;
        this.output = output;
        this.ethernetOffset = ethernetOffset;
        this.stats = stats;
    }

    /** A new entry of the protocol for {@code key}. */
    abstract E newEntry(Key key, long now);

    /** The entry's timer fired. */
    abstract void expired(E e, long now);

    /** Counts an entry evicted to make room. */
    abstract void countEvicted();

    /** Counts a frame dropped because the queues behind unresolved addresses are full. */
    abstract void countQueueFull();

    /** Counts a resolution refused by the rate limit of a full table. */
    abstract void countResolutionRateLimited();

    /**
     * Never evicts the entry of {@code hi/lo} to make room (the configured router: every off-link packet needs
     * it). It still goes when it stops answering.
     */
    final void protectAddress(long hi, long lo) {
        long[] p = Arrays.copyOf(protectedAddresses, protectedAddresses.length + 2);
        p[p.length - 2] = hi;
        p[p.length - 1] = lo;
        protectedAddresses = p;
        E e = find(hi, lo);
        if (e != null) {
            e.pinned = true;
        }
    }

    /** Number of entries. */
    public int size() {
        return entries.size();
    }

    /** Bytes of frames waiting for resolution. */
    public int pendingBytes() {
        return pendingBytes;
    }

    /** Releases every queued frame and forgets every entry (the stack is closing). */
    public void clear() {
        for (E e : entries.values()) {
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

    /** The hash code the key of {@code hi/lo} gets (tests: hash flooding). */
    int keyHash(long hi, long lo) {
        return new Key().set(hasher, hi, lo).hashCode();
    }

    final E find(long hi, long lo) {
        E e = last;
        if (e != null && e.key.hi == hi && e.key.lo == lo) {
            return e;
        }
        e = entries.get(probe.set(hasher, hi, lo));
        if (e != null) {
            last = e;
        }
        return e;
    }

    /** A new entry on {@code list}, after making room; null if no entry may be evicted. */
    final E create(long hi, long lo, long now, CacheNode.EvictionList list) {
        if (entries.size() >= MAX_ENTRIES && !evictOne()) {
            return null;
        }
        E e = newEntry(new Key().set(hasher, hi, lo), now);
        for (int i = 0; i < protectedAddresses.length; i += 2) {
            if (protectedAddresses[i] == hi && protectedAddresses[i + 1] == lo) {
                e.pinned = true;
            }
        }
        entries.put(e.key, e);
        list.moveToEnd(e);
        last = e;
        return e;
    }

    /**
     * The entry to send {@code frame} to {@code hi/lo} through: the existing one, or a new INCOMPLETE one (once the
     * table is full, at the resolution rate). Null when there is none: {@code frame} is dropped.
     */
    final E entryToResolve(long hi, long lo, ByteBuf frame, long now) {
        E e = find(hi, lo);
        if (e == null) {
            if (size() >= MAX_ENTRIES && !resolutions.tryTake(now)) {
                countResolutionRateLimited();
                output.dropUnresolved(frame);
                return null;
            }
            e = create(hi, lo, now, incomplete);
            if (e == null) {
                output.dropUnresolved(frame); // every entry is protected: nothing to make room with
                return null;
            }
        }
        return e;
    }

    /** Queues {@code frame} behind unresolved {@code e}, or drops it when the bounds are reached. */
    final void enqueue(E e, ByteBuf frame) {
        int len = frame.readableBytes();
        if (e.pending.size() >= MAX_PENDING_PER_ENTRY || e.pendingBytes + len > MAX_PENDING_BYTES_PER_ENTRY
                || pendingBytes + len > MAX_PENDING_BYTES) {
            countQueueFull();
            output.dropUnresolved(frame);
        } else {
            e.pending.add(frame);
            e.pendingBytes += len;
            pendingBytes += len;
        }
    }

    /** Sends {@code frame} to the resolved {@code e}. */
    final void transmit(E e, ByteBuf frame) {
        MacAddress.write(frame, ethernetOffset, e.mac);
        output.transmitResolved(frame);
    }

    /** Sends the frames that waited for {@code e}, now resolved. */
    final void sendPending(E e) {
        ByteBuf f;
        while ((f = e.pending.poll()) != null) {
            pendingBytes -= f.readableBytes();
            transmit(e, f);
        }
        e.pendingBytes = 0;
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
        countEvicted();
        @SuppressWarnings("unchecked")
        E e = (E) victim;
        remove(e);
        return true;
    }

    /** Forgets {@code e}, dropping what waited for it. */
    final void remove(E e) {
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

    /** A next-hop address as a map key, with a keyed hash code; ordered so that colliding keys form a tree. */
    static final class Key implements Comparable<Key> {
        long hi;
        long lo;
        int hash;

        Key set(KeyedHash hasher, long hi, long lo) {
            this.hi = hi;
            this.lo = lo;
            this.hash = hasher.hash(hi, lo);
            return this;
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Key k && k.hi == hi && k.lo == lo;
        }

        @Override
        public int hashCode() {
            return hash;
        }

        @Override
        public int compareTo(Key k) {
            int c = Long.compare(hi, k.hi);
            return c != 0 ? c : Long.compare(lo, k.lo);
        }
    }

    /** One next hop: its MAC once known, the frames waiting for it, and its timer. */
    abstract class Entry extends CacheNode {
        final Key key;
        long mac = -1;
        int pendingBytes;
        final ArrayDeque<ByteBuf> pending = new ArrayDeque<>(4);
        final Timer timer = new Timer() {
            @Override
            @SuppressWarnings("unchecked")
            protected void expired(long now) {
                NeighborTable.this.expired((E) Entry.this, now);
            }
        };

        Entry(Key key) {
            this.key = key;
        }
    }
}
