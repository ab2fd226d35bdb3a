package io.usertcp.ip;

import io.usertcp.util.KeyedHash;

import io.netty.buffer.ByteBuf;
import io.usertcp.stats.StackStats;
import io.usertcp.time.TimerQueue;
import io.usertcp.wire.Ipv6;
import io.usertcp.wire.MacAddress;


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
public final class NeighborCache extends NeighborTable<NeighborCache.Entry> {
    /** Most entries kept. */
    public static final int MAX_ENTRIES = NeighborTable.MAX_ENTRIES;
    /** Most frames queued behind one INCOMPLETE entry. */
    public static final int MAX_PENDING_PER_ENTRY = NeighborTable.MAX_PENDING_PER_ENTRY;
    /** Most bytes queued behind one INCOMPLETE entry. */
    public static final int MAX_PENDING_BYTES_PER_ENTRY = NeighborTable.MAX_PENDING_BYTES_PER_ENTRY;
    /** Most bytes queued behind all INCOMPLETE entries together. */
    public static final int MAX_PENDING_BYTES = NeighborTable.MAX_PENDING_BYTES;
    /** Entries NDP input may create per second (RFC 6583 §7: limit the rate of new entries). */
    public static final int NEW_ENTRIES_PER_SECOND = NeighborTable.NEW_ENTRIES_PER_SECOND;
    /** Entries NDP input may create at once. */
    public static final int NEW_ENTRY_BURST = NeighborTable.NEW_ENTRY_BURST;
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

    /**
     * New addresses our own sending may start resolving per second once the table is full
     * ({@value #RESOLUTIONS_PER_SECOND}, bursts of {@value #RESOLUTION_BURST}): each then evicts an entry and costs an
     * INCOMPLETE entry, a neighbour solicitation and a timer, and a flood of spoofed SYNs
     * from on-link addresses would otherwise make every SYN-ACK one of them (issue #10). Frames for an address
     * beyond the rate are dropped; TCP retransmits.
     */
    public static final int RESOLUTIONS_PER_SECOND = NeighborTable.RESOLUTIONS_PER_SECOND;
    /** See {@link #RESOLUTIONS_PER_SECOND}. */
    public static final int RESOLUTION_BURST = NeighborTable.RESOLUTION_BURST;
    private long reachableTime = REACHABLE_TIME_NANOS;
    private long retransTimer = RETRANS_TIMER_NANOS;

    /**
     * @param ethernetOffset where the Ethernet header starts in queued frames (after any virtio header)
     * @param stats          where the bounds hit are counted
     */
    public NeighborCache(TimerQueue timers, NeighborResolver.Output output, int ethernetOffset, StackStats stats) {
        super(timers, output, ethernetOffset, stats);
    }

    /**
     * Never evicts the entry of {@code hi/lo} to make room (the configured router: every off-link packet needs
     * it). It still goes when it stops answering (RFC 4861 §7.3.3).
     */
    public void protect(long hi, long lo) {
        protectAddress(hi, lo);
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
        Entry e = entryToResolve(hi, lo, frame, now);
        if (e == null) {
            return;
        }
        if (e.state != State.INCOMPLETE) {
            use(e, now);
            transmit(e, frame);
            return;
        }
        enqueue(e, frame);
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

    @Override
    Entry newEntry(Key key, long now) {
        return new Entry(key, now);
    }

    @Override
    void countEvicted() {
        stats.ndpEntriesEvicted++;
    }

    @Override
    void countQueueFull() {
        stats.dropNdpQueueFull++;
    }

    @Override
    void countResolutionRateLimited() {
        stats.ndpResolutionsRateLimited++;
    }

    // ------------------------------------------------------------------ internals

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
        sendPending(e);
    }

    @Override
    void expired(Entry e, long now) {
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

    /** An IPv6 neighbour: its reachability state (RFC 4861 §7.3.2), last confirmation and probes. */
    final class Entry extends NeighborTable<Entry>.Entry {
        State state = State.INCOMPLETE;
        long updated; // last confirmation or change of address: REACHABLE ageing and eviction order
        int probes;

        Entry(Key key, long now) {
            super(key);
            this.updated = now;
        }

        @Override
        public String toString() {
            return Ipv6.toString(key.hi, key.lo) + " " + state
                    + (mac < 0 ? "" : " at " + MacAddress.of(mac));
        }
    }
}
