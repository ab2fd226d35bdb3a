package io.usertcp.net;

import io.netty.buffer.ByteBuf;
import io.usertcp.stack.Timer;
import io.usertcp.stack.TimerQueue;
import io.usertcp.wire.Ipv4;
import io.usertcp.wire.MacAddress;

import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Iterator;
import java.util.Map;

/**
 * The IPv4 neighbour cache (RFC 826): maps next-hop addresses to MAC addresses, holds a bounded queue of
 * packets waiting for resolution (the seed's {@code ResolutionRequired}), retries requests, and ages
 * entries.
 *
 * <p>Bounds: at most {@link #MAX_ENTRIES} entries (the oldest unresolved or stale one is evicted) and
 * {@link #MAX_PENDING_PER_ENTRY} queued frames per entry (further frames are dropped, as Linux's
 * {@code unres_qlen} does: TCP retransmits).
 */
public final class ArpTable {
    /** Most entries kept. */
    public static final int MAX_ENTRIES = 1024;
    /** Most frames queued behind one unresolved address. */
    public static final int MAX_PENDING_PER_ENTRY = 64;
    /** Requests sent before an address is declared unreachable. */
    public static final int MAX_REQUESTS = 3;
    private static final long RETRY_NANOS = 1_000_000_000L;
    private static final long REACHABLE_NANOS = 60_000_000_000L;

    /** What the table needs from the stack. */
    public interface Output {
        /** Broadcasts (or unicasts to {@code dstMac}) an ARP request for {@code targetIp}. */
        void sendArpRequest(int targetIp, long dstMac);

        /** Sends a frame whose Ethernet destination has just been filled in. Takes ownership. */
        void transmitResolved(ByteBuf frame);

        /** Drops a frame that could not be resolved. Takes ownership. */
        void dropUnresolved(ByteBuf frame);
    }

    private final Map<Integer, Entry> entries = new HashMap<>();
    private final TimerQueue timers;
    private final Output output;
    private Entry last; // one-entry cache: the hot path is nearly always one next hop

    private final int ethernetOffset;

    /**
     * @param ethernetOffset where the Ethernet header starts in queued frames (after any virtio header)
     */
    public ArpTable(TimerQueue timers, Output output, int ethernetOffset) {
        this.timers = timers;
        this.output = output;
        this.ethernetOffset = ethernetOffset;
    }

    /** The resolved MAC of {@code ip}, or -1 if not known. */
    public long lookup(int ip, long now) {
        Entry e = last;
        if (e == null || e.ip != ip) {
            e = entries.get(ip);
            if (e == null) {
                return -1;
            }
            last = e;
        }
        if (e.mac < 0) {
            return -1;
        }
        if (now - e.confirmed > REACHABLE_NANOS && !e.timer.isScheduled()) {
            // Stale: keep using it, but refresh it with a unicast request (RFC 1122 §2.3.2.1).
            e.requests = 0;
            output.sendArpRequest(ip, e.mac);
            e.requests++;
            timers.schedule(e.timer, now + RETRY_NANOS);
        }
        return e.mac;
    }

    /**
     * Queues {@code frame} (which has room for its Ethernet header) until {@code ip} resolves, sending a
     * request if none is outstanding. Takes ownership.
     */
    public void resolve(int ip, ByteBuf frame, long now) {
        Entry e = entries.get(ip);
        if (e == null) {
            if (entries.size() >= MAX_ENTRIES) {
                evictOne();
            }
            e = new Entry(ip);
            entries.put(ip, e);
        }
        if (e.pending.size() >= MAX_PENDING_PER_ENTRY) {
            output.dropUnresolved(frame);
        } else {
            e.pending.add(frame);
        }
        if (!e.timer.isScheduled()) {
            e.requests = 1;
            output.sendArpRequest(ip, MacAddress.BROADCAST.toLong());
            timers.schedule(e.timer, now + RETRY_NANOS);
        }
    }

    /**
     * Records that {@code ip} is at {@code mac} (RFC 826's merge step), sending what waited for it.
     *
     * @param create whether to create an entry that does not exist yet (true when the packet was aimed at us)
     */
    public void learn(int ip, long mac, boolean create, long now) {
        Entry e = entries.get(ip);
        if (e == null) {
            if (!create) {
                return;
            }
            if (entries.size() >= MAX_ENTRIES) {
                evictOne();
            }
            e = new Entry(ip);
            entries.put(ip, e);
        }
        e.mac = mac;
        e.confirmed = now;
        timers.cancel(e.timer);
        ByteBuf f;
        while ((f = e.pending.poll()) != null) {
            MacAddress.write(f, ethernetOffset, mac);
            output.transmitResolved(f);
        }
    }

    /** Number of entries. */
    public int size() {
        return entries.size();
    }

    /** Drops every queued frame (the stack is closing). */
    public void clear() {
        for (Entry e : entries.values()) {
            timers.cancel(e.timer);
            ByteBuf f;
            while ((f = e.pending.poll()) != null) {
                f.release();
            }
        }
        entries.clear();
        last = null;
    }

    private void evictOne() {
        Iterator<Entry> it = entries.values().iterator();
        Entry victim = null;
        while (it.hasNext()) {
            Entry e = it.next();
            if (e.mac < 0) {
                victim = e;
                break;
            }
            if (victim == null || e.confirmed - victim.confirmed < 0) {
                victim = e;
            }
        }
        if (victim != null) {
            remove(victim);
        }
    }

    private void remove(Entry e) {
        entries.remove(e.ip);
        timers.cancel(e.timer);
        if (last == e) {
            last = null;
        }
        ByteBuf f;
        while ((f = e.pending.poll()) != null) {
            output.dropUnresolved(f);
        }
    }

    private final class Entry {
        final int ip;
        long mac = -1;
        long confirmed;
        int requests;
        final ArrayDeque<ByteBuf> pending = new ArrayDeque<>(4);
        final Timer timer = new Timer() {
            @Override
            protected void expired(long now) {
                retry(now);
            }
        };

        Entry(int ip) {
            this.ip = ip;
        }

        void retry(long now) {
            if (requests >= MAX_REQUESTS) {
                if (mac < 0) {
                    remove(this); // unreachable: drop what waited (RFC 1122 §2.3.2.2)
                } else {
                    // A stale entry that no longer answers: forget it so the next packet resolves anew.
                    remove(this);
                }
                return;
            }
            requests++;
            output.sendArpRequest(ip, mac < 0 ? MacAddress.BROADCAST.toLong() : mac);
            timers.schedule(timer, now + RETRY_NANOS);
        }

        @Override
        public String toString() {
            return Ipv4.toString(ip) + " at " + (mac < 0 ? "(incomplete)" : MacAddress.of(mac).toString());
        }
    }
}
