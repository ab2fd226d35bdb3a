package io.usertcp.ip;

import io.usertcp.util.TokenBucket;

import io.usertcp.util.KeyedHash;

import io.netty.buffer.ByteBuf;
import io.usertcp.stats.StackStats;
import io.usertcp.time.Timer;
import io.usertcp.time.TimerQueue;
import io.usertcp.wire.Ipv6;
import io.usertcp.wire.MacAddress;

import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;

/**
 * The IPv6 neighbour cache (RFC 4861 §7.3): the counterpart of {@link ArpTable}. It maps on-link addresses to
 * MAC addresses through the states INCOMPLETE, REACHABLE, STALE, DELAY and PROBE, holds a bounded queue of
 * frames waiting for resolution, and sends the neighbour solicitations of address resolution and of neighbour
 * unreachability detection.
 *
 * <p>Bounds, each counted in {@link StackStats} when hit (the defences RFC 6583 §7 asks of neighbour caches):
 * <ul>
 *   <li>at most {@link #MAX_ENTRIES} entries (1024). To make room, an INCOMPLETE entry goes first (the oldest),
 *       then one that was learned from the wire but never carried our traffic (the oldest), then the least
 *       recently used one; the entry of a {@linkplain #protect protected} address (the configured router) is
 *       never evicted ({@code ndpEntriesEvicted});</li>
 *   <li>solicitations and other NDP input may create at most {@link #NEW_ENTRIES_PER_SECOND} entries a second
 *       (100), in bursts of {@link #NEW_ENTRY_BURST} (200); entries our own traffic needs are not limited
 *       ({@code ndpNewEntriesRateLimited});</li>
 *   <li>frames queued behind an INCOMPLETE entry: at most {@link #MAX_PENDING_PER_ENTRY} (64) and
 *       {@link #MAX_PENDING_BYTES_PER_ENTRY} bytes (128 KiB) per entry and {@link #MAX_PENDING_BYTES} (1 MiB) in
 *       all; further frames are dropped ({@code dropNdpQueueFull}, also counted in {@code dropNdpUnresolved}).</li>
 * </ul>
 * Lookups go through a keyed hash ({@link KeyedHash}): the addresses come from the wire.
 *
 * <p>REACHABLE entries carry no timer: one that has not been confirmed for {@link #REACHABLE_TIME_NANOS} is
 * treated as STALE when next looked at, so a confirmation (sent by TCP for every acknowledgement of new data)
 * costs no timer operation. The IsRouter flag and the default router list are not kept here.
 */
public final class NeighborCache implements NeighborResolver {
    /** Most entries kept. */
    public static final int MAX_ENTRIES = 1024;
    /** Most frames queued behind one INCOMPLETE entry. */
    public static final int MAX_PENDING_PER_ENTRY = 64;
    /** Most bytes queued behind one INCOMPLETE entry. */
    public static final int MAX_PENDING_BYTES_PER_ENTRY = 128 << 10;
    /** Most bytes queued behind all INCOMPLETE entries together. */
    public static final int MAX_PENDING_BYTES = 1 << 20;
    /** Entries NDP input may create per second (RFC 6583 §7: limit the rate of new entries). */
    public static final int NEW_ENTRIES_PER_SECOND = 100;
    /** Entries NDP input may create at once. */
    public static final int NEW_ENTRY_BURST = 200;
    /** Multicast solicitations sent before address resolution fails (RFC 4861 §10). */
    public static final int MAX_MULTICAST_SOLICIT = 3;
    /** Unicast solicitations sent in PROBE before the entry is deleted (RFC 4861 §10). */
    public static final int MAX_UNICAST_SOLICIT = 3;
    /** RetransTimer: the time between solicitations (RFC 4861 §10). */
    public static final long RETRANS_TIMER_NANOS = 1_000_000_000L;
    /** ReachableTime: how long a confirmation keeps an entry REACHABLE (RFC 4861 §10 REACHABLE_TIME). */
    public static final long REACHABLE_TIME_NANOS = 30_000_000_000L;
    /** How long an entry stays in DELAY before probing (RFC 4861 §10). */
    public static final long DELAY_FIRST_PROBE_TIME_NANOS = 5_000_000_000L;

    /** The reachability states of RFC 4861 §7.3.2. */
    public enum State {
        /** Address resolution is in progress; no link-layer address yet. */
        INCOMPLETE,
        /** Positive confirmation was received within ReachableTime. */
        REACHABLE,
        /** Not known to be reachable; nothing is done until a packet is sent. */
        STALE,
        /** A packet was sent to a STALE entry; waiting for an upper-layer confirmation before probing. */
        DELAY,
        /** Unicast solicitations are being sent to verify reachability. */
        PROBE
    }

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
     * INCOMPLETE entry, a neighbour solicitation and a timer, and a flood of spoofed SYNs
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
    private long[] protectedAddresses = new long[0]; // hi, lo pairs
    private int pendingBytes;
    private final int ethernetOffset;
    private Entry last; // one-entry cache: the hot path is nearly always one next hop
    private long reachableTime = REACHABLE_TIME_NANOS;
    private long retransTimer = RETRANS_TIMER_NANOS;

    /**
     * @param ethernetOffset where the Ethernet header starts in queued frames (after any virtio header)
     * @param stats          where the bounds hit are counted
     */
    public NeighborCache(TimerQueue timers, NeighborResolver.Output output, int ethernetOffset, StackStats stats) {
        this.timers = timers;
        this.output = output;
        this.ethernetOffset = ethernetOffset;
        this.stats = stats;
    }

    /**
     * Never evicts the entry of {@code hi/lo} to make room (the configured router: every off-link packet needs
     * it). It still goes when it stops answering (RFC 4861 §7.3.3).
     */
    public void protect(long hi, long lo) {
        long[] p = java.util.Arrays.copyOf(protectedAddresses, protectedAddresses.length + 2);
        p[p.length - 2] = hi;
        p[p.length - 1] = lo;
        protectedAddresses = p;
        Entry e = find(hi, lo);
        if (e != null) {
            e.pinned = true;
        }
    }

    /** Sets ReachableTime, as a router advertisement may (RFC 4861 §6.3.4); non-positive values are ignored. */
    public void reachableTime(long nanos) {
        if (nanos > 0) {
            reachableTime = nanos;
        }
    }

    /** Sets RetransTimer, as a router advertisement may (RFC 4861 §6.3.4); non-positive values are ignored. */
    public void retransTimer(long nanos) {
        if (nanos > 0) {
            retransTimer = nanos;
        }
    }

    /**
     * The MAC to send a packet for {@code hi/lo} to, or -1 if not known (absent or INCOMPLETE: call
     * {@link #resolve}). Sending to a STALE entry moves it to DELAY (RFC 4861 §7.3.3).
     */
    @Override
    public long lookup(long hi, long lo, long now) {
        Entry e = find(hi, lo);
        if (e == null || e.state == State.INCOMPLETE) {
            return -1;
        }
        use(e, now);
        return e.mac;
    }

    /**
     * Queues {@code frame} (which has room for its Ethernet header) until {@code hi/lo} resolves, creating an
     * INCOMPLETE entry and sending a multicast solicitation if none is outstanding (RFC 4861 §7.2.2). If the
     * address is already resolved the frame is sent at once. Takes ownership.
     */
    @Override
    public void resolve(long hi, long lo, ByteBuf frame, long now) {
        Entry e = find(hi, lo);
        if (e == null) {
            if (size() >= MAX_ENTRIES && !resolutions.tryTake(now)) {
                stats.ndpResolutionsRateLimited++;
                output.dropUnresolved(frame);
                return;
            }
            e = create(hi, lo, now, incomplete);
            if (e == null) {
                output.dropUnresolved(frame); // every entry is protected: nothing to make room with
                return;
            }
        }
        if (e.state != State.INCOMPLETE) {
            use(e, now);
            MacAddress.write(frame, ethernetOffset, e.mac);
            output.transmitResolved(frame);
            return;
        }
        int len = frame.readableBytes();
        if (e.pending.size() >= MAX_PENDING_PER_ENTRY || e.pendingBytes + len > MAX_PENDING_BYTES_PER_ENTRY
                || pendingBytes + len > MAX_PENDING_BYTES) {
            stats.dropNdpQueueFull++;
            output.dropUnresolved(frame);
        } else {
            e.pending.add(frame);
            e.pendingBytes += len;
            pendingBytes += len;
        }
        if (!e.timer.isScheduled()) {
            e.probes = 1;
            output.solicit(hi, lo, -1);
            timers.schedule(e.timer, now + retransTimer);
        }
    }

    /**
     * Records the source link-layer address of a neighbour solicitation from {@code hi/lo} (RFC 4861 §7.2.3;
     * also of a router solicitation, router advertisement or redirect, §6.2.6, §6.3.4, §8.3): a new entry is
     * created STALE, an existing one whose address differs gets the new one and becomes STALE, and an INCOMPLETE
     * one sends what waited for it (which moves it on to DELAY). The same address changes nothing. New entries
     * are rate-limited; this input neither counts as use nor saves an entry from eviction.
     */
    public void learnFromSolicitation(long hi, long lo, long mac, long now) {
        if (mac < 0) {
            return; // no source link-layer address option: nothing to learn
        }
        Entry e = find(hi, lo);
        if (e == null) {
            if (!newEntries.tryTake(now)) {
                stats.ndpNewEntriesRateLimited++;
                return;
            }
            e = create(hi, lo, now, unused);
            if (e == null) {
                return;
            }
        }
        if (e.state != State.INCOMPLETE && e.mac == mac) {
            return;
        }
        e.mac = mac;
        e.updated = now;
        enter(e, State.STALE);
        flush(e, now);
    }

    /**
     * Applies a neighbour advertisement for target {@code hi/lo} (RFC 4861 §7.2.5).
     *
     * @param mac the target link-layer address option, or -1 if the advertisement had none
     */
    public void advertisement(long hi, long lo, long mac, boolean solicited, boolean override, long now) {
        Entry e = find(hi, lo);
        if (e == null) {
            return; // no entry: silently discarded
        }
        if (e.state == State.INCOMPLETE) {
            if (mac < 0) {
                return; // nothing to resolve with
            }
            e.mac = mac;
            e.updated = now;
            enter(e, solicited ? State.REACHABLE : State.STALE);
            flush(e, now);
            return;
        }
        age(e, now);
        boolean differs = mac >= 0 && mac != e.mac;
        if (!override && differs) {
            // Keep the cached address; a REACHABLE entry becomes STALE (it may have moved).
            if (e.state == State.REACHABLE) {
                enter(e, State.STALE);
            }
            return;
        }
        if (differs) {
            e.mac = mac;
            e.updated = now;
        }
        if (solicited) {
            e.updated = now;
            enter(e, State.REACHABLE);
        } else if (differs) {
            enter(e, State.STALE);
        }
    }

    /**
     * An upper-layer hint that {@code hi/lo} is reachable (RFC 4861 §7.3.1), such as an acknowledgement of new
     * data: a resolved entry becomes REACHABLE. Unknown and INCOMPLETE entries are left alone.
     */
    public void confirmReachable(long hi, long lo, long now) {
        Entry e = find(hi, lo);
        if (e == null || e.state == State.INCOMPLETE) {
            return;
        }
        e.updated = now;
        enter(e, State.REACHABLE);
        used.moveToEnd(e); // our traffic makes progress through it
    }

    /** The state of the entry of {@code hi/lo} at {@code now}, or null if there is none. */
    public State state(long hi, long lo, long now) {
        Entry e = find(hi, lo);
        if (e == null) {
            return null;
        }
        age(e, now);
        return e.state;
    }

    /** Number of entries. */
    public int size() {
        return entries.size();
    }

    /** Bytes of frames waiting for resolution. */
    public int pendingBytes() {
        return pendingBytes;
    }

    /** The hash code the key of {@code hi/lo} gets (tests: hash flooding). */
    int keyHash(long hi, long lo) {
        return new Key().set(hasher, hi, lo).hashCode();
    }

    /** Releases every queued frame and forgets every entry (the stack is closing). */
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

    // ------------------------------------------------------------------ internals

    private Entry find(long hi, long lo) {
        Entry e = last;
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
    private Entry create(long hi, long lo, long now, CacheNode.EvictionList list) {
        if (entries.size() >= MAX_ENTRIES && !evictOne()) {
            return null;
        }
        Entry e = new Entry(new Key().set(hasher, hi, lo), now);
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

    /** REACHABLE for longer than ReachableTime without confirmation becomes STALE (RFC 4861 §7.3.3). */
    private void age(Entry e, long now) {
        if (e.state == State.REACHABLE && now - e.updated >= reachableTime) {
            e.state = State.STALE;
        }
    }

    /** A packet is being sent through {@code e}: the first one to a STALE entry starts the DELAY timer. */
    private void use(Entry e, long now) {
        used.moveToEnd(e);
        age(e, now);
        if (e.state == State.STALE) {
            e.state = State.DELAY;
            timers.schedule(e.timer, now + DELAY_FIRST_PROBE_TIME_NANOS);
        }
    }

    /** Enters a state without a running timer (REACHABLE or STALE). */
    private void enter(Entry e, State s) {
        timers.cancel(e.timer);
        e.probes = 0;
        e.state = s;
    }

    /** Sends the frames queued on a just-resolved entry. */
    private void flush(Entry e, long now) {
        if (e.list == incomplete) {
            used.moveToEnd(e); // resolved: our traffic asked for it
        }
        if (e.pending.isEmpty()) {
            return;
        }
        use(e, now);
        ByteBuf f;
        while ((f = e.pending.poll()) != null) {
            pendingBytes -= f.readableBytes();
            MacAddress.write(f, ethernetOffset, e.mac);
            output.transmitResolved(f);
        }
        e.pendingBytes = 0;
    }

    private void expired(Entry e, long now) {
        switch (e.state) {
            case INCOMPLETE:
                if (e.probes >= MAX_MULTICAST_SOLICIT) {
                    remove(e); // resolution failed: drop what waited (RFC 4861 §7.3.3)
                    return;
                }
                e.probes++;
                output.solicit(e.key.hi, e.key.lo, -1);
                timers.schedule(e.timer, now + retransTimer);
                break;
            case DELAY:
                e.state = State.PROBE;
                e.probes = 1;
                output.solicit(e.key.hi, e.key.lo, e.mac);
                timers.schedule(e.timer, now + retransTimer);
                break;
            case PROBE:
                if (e.probes >= MAX_UNICAST_SOLICIT) {
                    remove(e); // unreachable: the next packet resolves anew (RFC 4861 §7.3.3)
                    return;
                }
                e.probes++;
                output.solicit(e.key.hi, e.key.lo, e.mac);
                timers.schedule(e.timer, now + retransTimer);
                break;
            default:
                break; // REACHABLE and STALE run no timer
        }
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
        stats.ndpEntriesEvicted++;
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

    /** A 128-bit address as a map key, with a keyed hash code; ordered so that colliding keys form a tree. */
    private static final class Key implements Comparable<Key> {
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
            return o instanceof Key && ((Key) o).hi == hi && ((Key) o).lo == lo;
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

    private final class Entry extends CacheNode {
        final Key key;
        int pendingBytes;
        State state = State.INCOMPLETE;
        long mac = -1;
        long updated; // last confirmation or change of address: REACHABLE ageing and eviction order
        int probes;
        final ArrayDeque<ByteBuf> pending = new ArrayDeque<>(4);
        final Timer timer = new Timer() {
            @Override
            protected void expired(long now) {
                NeighborCache.this.expired(Entry.this, now);
            }
        };

        Entry(Key key, long now) {
            this.key = key;
            this.updated = now;
        }

        @Override
        public String toString() {
            return Ipv6.toString(key.hi, key.lo) + " " + state
                    + (mac < 0 ? "" : " at " + MacAddress.of(mac));
        }
    }
}
