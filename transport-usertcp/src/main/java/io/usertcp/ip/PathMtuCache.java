package io.usertcp.ip;

import io.usertcp.util.KeyedHash;

import java.util.Iterator;
import java.util.LinkedHashMap;

/**
 * Path MTU per destination, as learned from ICMP "fragmentation needed and DF set" (RFC 1191, IPv4) and
 * ICMPv6 Packet Too Big (RFC 8201, IPv6) messages. A destination is 128 bits and a family: an IPv6 address as
 * its high and low 64 bits, an IPv4 address as {@code hi = 0, lo = addr & 0xffffffffL}.
 *
 * <p>Rules:
 * <ul>
 *   <li>a report only ever lowers the estimate: one at or above the current path MTU is ignored
 *       (RFC 1191 §3, RFC 8201 §4), and so is a non-positive one (for IPv4's "next-hop MTU 0" of old routers
 *       the caller estimates with {@link #plateau(int)} first, RFC 1191 §5);</li>
 *   <li>floors: a report below {@link #MIN_IPV4_MTU} (IPv4, Linux's min_pmtu; RFC 1191 §3 already calls
 *       anything below 68 invalid) or {@link #MIN_IPV6_MTU} (IPv6, RFC 8201 §4: never below the IPv6
 *       minimum link MTU) is raised to that floor, so that a forged message cannot make a path crawl;</li>
 *   <li>a learned value is forgotten after an aging time (10 minutes by default, RFC 1191 §6.3, RFC 8201 §4),
 *       so that a path whose MTU grew again is probed anew with the link MTU;</li>
 *   <li>at most a given number of destinations (1024 by default); the one learned longest ago goes first.</li>
 * </ul>
 * Time is the stack's clock in nanoseconds. Owned by the stack's thread; not thread-safe.
 */
public final class PathMtuCache {
    /** Lowest path MTU an IPv4 report can set (Linux's net.ipv4.route.min_pmtu). */
    public static final int MIN_IPV4_MTU = 552;
    /** Lowest path MTU an IPv6 report can set: the IPv6 minimum link MTU (RFC 8200 §5, RFC 8201 §4). */
    public static final int MIN_IPV6_MTU = 1280;
    /** How long a learned path MTU is kept: 10 minutes (RFC 1191 §6.3, RFC 8201 §4). */
    public static final long DEFAULT_AGING_NANOS = 600_000_000_000L;
    /** Default bound on the destinations remembered. */
    public static final int DEFAULT_MAX_ENTRIES = 1024;
    /** RFC 1191 §7, table 7-1: the plateaus, in decreasing order. */
    private static final int[] PLATEAUS = {65535, 32000, 17914, 8166, 4352, 2002, 1492, 1006, 508, 296, 68};

    private final long agingNanos;
    private final int maxEntries;
    /** In the order values were learned: the first is the oldest (aged and evicted first). */
    private final LinkedHashMap<Key, Entry> entries = new LinkedHashMap<>();
    private final KeyedHash hasher = KeyedHash.random(); // destinations named by ICMP messages
    private final Key probe = new Key();

    /** A cache with the default aging time (10 minutes) and bound (1024 destinations). */
    public PathMtuCache() {
        this(DEFAULT_AGING_NANOS, DEFAULT_MAX_ENTRIES);
    }

    /**
     * A cache with the given aging time and bound.
     *
     * @param agingNanos how long a learned value is kept after it was learned
     * @param maxEntries bound on the destinations remembered (at least 1)
     */
    public PathMtuCache(long agingNanos, int maxEntries) {
        this.agingNanos = agingNanos;
        this.maxEntries = Math.max(1, maxEntries);
    }

    /** Destinations with a learned path MTU, aged ones not yet noticed included. */
    public int size() {
        return entries.size();
    }

    /** Forgets everything. */
    public void clear() {
        entries.clear();
    }

    /** Forgets what was learned about one destination (its route changed, say). */
    public void forget(boolean v6, long hi, long lo) {
        entries.remove(probe.set(hasher, v6, hi, lo));
    }

    /**
     * The path MTU towards a destination: {@code linkMtu}, or less if a smaller value was learned less than the
     * aging time ago.
     */
    public int mtu(boolean v6, long hi, long lo, int linkMtu, long now) {
        if (entries.isEmpty()) {
            return linkMtu; // the usual case: nothing learned, no lookup on the send path
        }
        Entry e = live(probe.set(hasher, v6, hi, lo), now);
        return e == null ? linkMtu : Math.min(linkMtu, e.mtu);
    }

    /**
     * Takes a reported next-hop MTU for a destination (from an ICMP message about a datagram sent to it):
     * raised to the family's floor, then kept if below the current path MTU. Returns true when the path MTU
     * went down, so that the caller resizes what it sends (TCP's MSS, RFC 1191 §6.4); false when the report
     * changed nothing.
     */
    public boolean update(boolean v6, long hi, long lo, int reportedMtu, int linkMtu, long now) {
        if (reportedMtu <= 0) {
            return false; // IPv4's "unknown": the caller estimates with plateau() (RFC 1191 §5)
        }
        int floored = Math.max(reportedMtu, v6 ? MIN_IPV6_MTU : MIN_IPV4_MTU);
        Entry e = live(probe.set(hasher, v6, hi, lo), now);
        int current = e == null ? linkMtu : Math.min(linkMtu, e.mtu);
        if (floored >= current) {
            return false; // never raised by an ICMP message (RFC 1191 §3, RFC 8201 §4)
        }
        if (e != null) {
            entries.remove(e.key); // re-inserted below: the order stays that of learning
        } else {
            if (entries.size() >= maxEntries) {
                Iterator<Entry> it = entries.values().iterator();
                it.next();
                it.remove(); // the oldest
            }
            e = new Entry(new Key().set(hasher, v6, hi, lo));
        }
        e.mtu = floored;
        e.learned = now;
        entries.put(e.key, e);
        return true;
    }

    /** The entry for {@code key} if it has not aged; an aged one is removed. */
    private Entry live(Key key, long now) {
        Entry e = entries.get(key);
        if (e != null && now - e.learned >= agingNanos) {
            entries.remove(key); // RFC 1191 §6.3: back to the first-hop MTU
            return null;
        }
        return e;
    }

    /**
     * RFC 1191 §5 and §7: the estimate for a "fragmentation needed" message whose next-hop MTU is 0, from the
     * Total Length of the datagram it quotes: the largest plateau of table 7-1 below that length, or 68, the
     * lowest, for a length of 68 or less. {@link #update} then applies the IPv4 floor.
     */
    public static int plateau(int totalLengthOfQuotedDatagram) {
        for (int p : PLATEAUS) {
            if (p < totalLengthOfQuotedDatagram) {
                return p;
            }
        }
        return PLATEAUS[PLATEAUS.length - 1];
    }

    /** The hash code the key of this destination gets (tests: hash flooding). */
    int keyHash(boolean v6, long hi, long lo) {
        return new Key().set(hasher, v6, hi, lo).hashCode();
    }

    /**
     * A destination: family and 128 bits. ICMP messages name it, so the hash code is keyed
     * ({@link KeyedHash}) and keys are ordered.
     */
    private static final class Key implements Comparable<Key> {
        boolean v6;
        long hi;
        long lo;
        int hash;

        Key set(KeyedHash hasher, boolean v6, long hi, long lo) {
            this.v6 = v6;
            this.hi = hi;
            this.lo = lo;
            this.hash = hasher.hash(hi, lo, v6 ? 1 : 0);
            return this;
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Key k && k.lo == lo && k.hi == hi && k.v6 == v6;
        }

        @Override
        public int hashCode() {
            return hash;
        }

        @Override
        public int compareTo(Key k) {
            int c = Long.compare(lo, k.lo);
            if (c == 0) {
                c = Long.compare(hi, k.hi);
            }
            return c != 0 ? c : Boolean.compare(v6, k.v6);
        }
    }

    /** A learned path MTU and when it was learned. */
    private static final class Entry {
        final Key key;
        int mtu;
        long learned;

        Entry(Key key) {
            this.key = key;
        }
    }
}
