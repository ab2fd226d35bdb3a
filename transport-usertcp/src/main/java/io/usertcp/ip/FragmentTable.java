package io.usertcp.ip;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.usertcp.stats.StackStats;
import io.usertcp.time.Timer;
import io.usertcp.time.TimerQueue;
import io.usertcp.util.KeyedHash;

import java.util.Arrays;
import java.util.Iterator;
import java.util.LinkedHashMap;

/**
 * The bounded table of datagrams being reassembled, shared by {@link Ipv4Reassembly} and {@link Ipv6Reassembly}:
 * one entry per datagram in insertion order (the oldest is evicted first), the memory of all of them within a
 * bound (each charged its buffer plus {@link #ENTRY_OVERHEAD}), a timeout per datagram, and discarded datagrams
 * kept until their timeout so that their later fragments are dropped too (RFC 5722 §4). Keys are the sender's
 * choice, so their hash codes are keyed ({@link KeyedHash}) and keys are ordered.
 *
 * @param <K> what the fragments of one datagram share
 * @param <E> the family's datagram entry
 */
abstract class FragmentTable<K extends Comparable<K>, E extends FragmentTable<K, E>.Datagram> {
    /** Bookkeeping charged per datagram on top of its buffer, so that empty datagrams are bounded too. */
    public static final int ENTRY_OVERHEAD = 256;

    final TimerQueue timers;
    final ByteBufAllocator alloc;
    final StackStats stats;
    final long timeoutNanos;
    final int maxMemory;
    final int maxFragments;
    /** In insertion order, so the first is the oldest (evicted first). */
    final LinkedHashMap<K, E> entries = new LinkedHashMap<>();
    final KeyedHash hasher = KeyedHash.random(); // fragments' keys are the sender's choice
    int memory;

    FragmentTable(TimerQueue timers, ByteBufAllocator alloc, StackStats stats, long timeoutNanos, int maxMemory,
                  int maxFragments) {
        this.timers = timers;
        this.alloc = alloc;
        this.stats = stats;
        this.timeoutNanos = timeoutNanos;
        this.maxMemory = maxMemory;
        this.maxFragments = maxFragments;
    }

    /** Bytes charged to the datagrams being reassembled (buffers and bookkeeping). */
    public int memory() {
        return memory;
    }

    /** Datagrams being reassembled, discarded ones that still swallow their late fragments included. */
    public int pending() {
        return entries.size();
    }

    /** Counts a datagram dropped to make room (the family's counter). */
    abstract void countMemoryDrop();

    /** A datagram timed out: counts it and may quote fragment zero; {@code e} is freed after. */
    abstract void timedOut(E e);

    /**
     * Adds {@code e} (a new datagram, for which {@code makeRoom(ENTRY_OVERHEAD, null)} made room) to the table,
     * charged {@link #ENTRY_OVERHEAD}, and starts its timeout.
     */
    final E start(E e, long now) {
        entries.put(e.key, e);
        e.charged = ENTRY_OVERHEAD;
        memory += ENTRY_OVERHEAD;
        timers.schedule(e, now + timeoutNanos);
        return e;
    }

    /**
     * A new buffer of {@code cap} bytes for {@code e}, charged to it in place of its current one (which the caller
     * copies and releases); null beyond the memory bound.
     */
    final ByteBuf grow(E e, int cap) {
        int old = e.buf == null ? 0 : e.buf.capacity();
        if (!makeRoom(cap - old, e)) {
            return null;
        }
        e.charged += cap - old;
        memory += cap - old;
        return alloc.directBuffer(cap, cap);
    }

    /** Evicts the oldest datagrams other than {@code keep} until {@code extra} more bytes fit. */
    final boolean makeRoom(int extra, E keep) {
        if (memory + extra <= maxMemory) {
            return true;
        }
        Iterator<E> it = entries.values().iterator();
        while (memory + extra > maxMemory && it.hasNext()) {
            E victim = it.next();
            if (victim == keep) {
                continue;
            }
            it.remove();
            timers.cancel(victim);
            memory -= victim.charged;
            victim.charged = 0;
            if (!victim.discarded) {
                countMemoryDrop();
            }
            victim.free();
        }
        return memory + extra <= maxMemory;
    }

    /**
     * Drops a datagram's data but keeps its entry until the timeout, so that its later fragments are dropped
     * too and cannot start a new datagram from the rest (RFC 5722 §4).
     */
    final void discard(E e) {
        memory -= e.charged - ENTRY_OVERHEAD;
        e.charged = ENTRY_OVERHEAD;
        e.discarded = true;
        e.free();
    }

    /** Forgets a datagram (complete, or out of memory). */
    final void remove(E e) {
        entries.remove(e.key);
        timers.cancel(e);
        memory -= e.charged;
        e.charged = 0;
        e.free();
    }

    private void expire(E e) {
        entries.remove(e.key);
        memory -= e.charged;
        e.charged = 0;
        try {
            if (!e.discarded) {
                timedOut(e);
            }
        } finally {
            e.free();
        }
    }

    /** Drops every datagram (the stack is closing). */
    public void clear() {
        for (E e : entries.values()) {
            timers.cancel(e);
            e.free();
        }
        entries.clear();
        memory = 0;
    }

    /** One datagram being reassembled; its timer is the reassembly timeout. */
    abstract class Datagram extends Timer {
        final K key;
        ByteBuf buf;
        /** Received ranges [starts[i], ends[i]) of payload (the fragmentable part), sorted and disjoint. */
        int[] starts = new int[8];
        int[] ends = new int[8];
        int count;
        int received;
        /** Payload length, known once the last fragment (MF or M clear) came; -1 before. */
        int totalLength = -1;
        int charged;
        boolean discarded;

        Datagram(K key) {
            this.key = key;
        }

        void insert(int i, int start, int end) {
            if (count == starts.length) {
                starts = Arrays.copyOf(starts, count * 2);
                ends = Arrays.copyOf(ends, count * 2);
            }
            System.arraycopy(starts, i, starts, i + 1, count - i);
            System.arraycopy(ends, i, ends, i + 1, count - i);
            starts[i] = start;
            ends[i] = end;
            count++;
        }

        void free() {
            if (buf != null) {
                buf.release();
                buf = null;
            }
            count = 0;
            received = 0;
        }

        @Override
        @SuppressWarnings("unchecked")
        protected void expired(long now) {
            expire((E) this);
        }
    }
}
