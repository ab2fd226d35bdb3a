package io.usertcp.tcp;

import io.usertcp.util.SipHash;
import io.usertcp.wire.IpAddress;
import io.usertcp.wire.SynFilter;

import java.util.Arrays;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * The source addresses that completed a handshake recently (issue #10): while a SYN flood lasts, {@link SynAdmission}
 * answers them always and {@link KernelSynFilter} has the link keep their SYNs. A spoofed source cannot complete a
 * handshake, because it never sees our SYN-ACK (history-based filtering, in the spirit of RFC 4987 §3).
 *
 * <p>A fixed direct-mapped table of {@link #SOURCES} entries indexed by a keyed hash of the address, so the wire
 * cannot aim at a slot; a newer source overwrites an older one in its slot.
 *
 * <p>The stacks of a {@code StackGroup} share one: tun steers a client's connections by their ports, so a client
 * that completed a handshake with one loop's stack may come back through another's. Each entry's words are written
 * and read without a lock (opaque accesses, one thread per stack): a read that sees half of a newer entry makes
 * one admission decision on it, which is all an entry decides.
 */
public final class SourceHistory {
    /** Entries (a power of two). */
    static final int SOURCES = 8192;
    /** How long a completed handshake vouches for its source address. */
    static final long MEMORY_NANOS = 10L * 60 * 1_000_000_000L;
    private static final long IPV6 = 1L << 32;

    private final SipHash key;
    private final AtomicLongArray fingerprints = new AtomicLongArray(SOURCES); // keyed hash of the address; 0: empty
    private final AtomicLongArray validated = new AtomicLongArray(SOURCES); // when it last completed a handshake
    private final AtomicLongArray sources = new AtomicLongArray(SOURCES); // IPv4 address, or IPV6 | SynFilter.fold
    private final AtomicLong generation = new AtomicLong();

    /** A table whose slots are chosen by {@code key} (secret: the wire must not be able to aim at a slot). */
    public SourceHistory(SipHash key) {
        this.key = key;
    }

    /** A passive handshake with this source address completed at {@code now}: it is reachable. */
    void completed(long hi, long lo, long now) {
        long h = fingerprint(hi, lo);
        int i = (int) h & (SOURCES - 1);
        if (fingerprints.getOpaque(i) != h || now - validated.getOpaque(i) >= MEMORY_NANOS) {
            generation.incrementAndGet(); // a source new to the table
        }
        fingerprints.setOpaque(i, h);
        validated.setOpaque(i, now);
        sources.setOpaque(i, IpAddress.isV4(hi, lo) ? lo & 0xffff_ffffL
                : IPV6 | (SynFilter.fold(hi, lo) & 0xffff_ffffL));
    }

    /** Whether this source completed a handshake in the last {@link #MEMORY_NANOS}. */
    boolean known(long hi, long lo, long now) {
        long h = fingerprint(hi, lo);
        int i = (int) h & (SOURCES - 1);
        return fingerprints.getOpaque(i) == h && now - validated.getOpaque(i) < MEMORY_NANOS;
    }

    /** Changes each time a source new to the table completes a handshake. */
    long generation() {
        return generation.get();
    }

    /**
     * The sources that completed a handshake in the last {@link #MEMORY_NANOS}, newest first, up to {@code max} in
     * all: {IPv4 addresses, folds of IPv6 addresses ({@link SynFilter#fold})}.
     */
    int[][] recent(int max, long now) {
        long[] byAge = new long[SOURCES];
        long[] entry = new long[SOURCES];
        int n = 0;
        for (int i = 0; i < SOURCES; i++) {
            long age = now - validated.getOpaque(i);
            if (fingerprints.getOpaque(i) != 0 && age < MEMORY_NANOS) {
                entry[i] = sources.getOpaque(i);
                byAge[n++] = (Math.max(0, age) << 13) | i; // ages below 2^50 ns (13 days) and 13 bits of slot
            }
        }
        Arrays.sort(byAge, 0, n);
        n = Math.min(n, max);
        int[] v4 = new int[n];
        int[] v6 = new int[n];
        int n4 = 0;
        int n6 = 0;
        for (int j = 0; j < n; j++) {
            long s = entry[(int) (byAge[j] & (SOURCES - 1))];
            if ((s & IPV6) != 0) {
                v6[n6++] = (int) s;
            } else {
                v4[n4++] = (int) s;
            }
        }
        return new int[][] {Arrays.copyOf(v4, n4), Arrays.copyOf(v6, n6)};
    }

    private long fingerprint(long hi, long lo) {
        long h = key.hash(hi, lo, 0, 0, 0);
        return h == 0 ? 1 : h;
    }
}
