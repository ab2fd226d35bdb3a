package io.usertcp.tcp;

import io.usertcp.util.SipHash;

import io.usertcp.time.Timer;
import io.usertcp.time.TimerQueue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The SYN-RECEIVED records of all listeners of a TCP layer: a hash table by 4-tuple (keyed, so that a sender
 * cannot choose colliding tuples) and the SYN-ACK retransmission schedule, driven by one timer for all records.
 *
 * <p>SYN-ACKs are resent after 1, 2, 4, 8 and 16 s (RFC 6298 (2.1) initial RTO of 1 s, doubled each time,
 * §5.5), at most {@link #MAX_SYNACK_RETRIES} times as Linux's {@code tcp_synack_retries}; 32 s after the last
 * one the record is dropped, 63 s after the SYN. Every record that has been resent k times waits the same
 * time, so the records of one retry count expire in the order they were queued: one FIFO list per retry count
 * holds them, and the timer is due at the earliest head. Adding, removing and expiring a record are O(1).
 */
final class SynQueue {
    /** SYN-ACK retransmissions before a half-open connection is dropped (Linux's tcp_synack_retries). */
    static final int MAX_SYNACK_RETRIES = 5;
    /** The SYN-ACK's first retransmission timeout (RFC 6298 (2.1)). */
    static final long SYNACK_RTO_NANOS = 1_000_000_000L;

    /** What to do when a record's time comes. */
    interface Expiry {
        /** {@code r} waited its timeout: resend its SYN-ACK ({@code r.retries} already counts it). */
        void retransmit(SynReceived r);

        /** {@code r} had its last retransmission answered by nothing: it was removed. */
        void exhausted(SynReceived r);
    }

    private final TimerQueue timers;
    private final SipHash hashKey;
    private final Expiry expiry;
    private SynReceived[] table = new SynReceived[16];
    private int size;
    private final SynReceived[] heads = new SynReceived[MAX_SYNACK_RETRIES + 1];
    private final SynReceived[] tails = new SynReceived[MAX_SYNACK_RETRIES + 1];
    private final Timer timer = new Timer() {
        @Override
        protected void expired(long now) {
            onTimer(now);
        }
    };

    SynQueue(TimerQueue timers, SipHash hashKey, Expiry expiry) {
        this.timers = timers;
        this.hashKey = hashKey;
        this.expiry = expiry;
    }

    /** Records held, all listeners together. */
    int size() {
        return size;
    }

    /** The keyed hash of a 4-tuple, for {@link #find} and new records. */
    int hash(long lHi, long lLo, int lPort, long rHi, long rLo, int rPort) {
        return (int) hashKey.hash(lHi, lLo, rHi, rLo, (long) lPort << 16 | rPort);
    }

    /** The record of this 4-tuple, or null. */
    SynReceived find(long lHi, long lLo, int lPort, long rHi, long rLo, int rPort, int hash) {
        for (SynReceived r = table[hash & (table.length - 1)]; r != null; r = r.hashNext) {
            if (r.matches(lHi, lLo, lPort, rHi, rLo, rPort)) {
                return r;
            }
        }
        return null;
    }

    /** Queues {@code r}, whose SYN-ACK goes out now: its first timeout is one RTO away. */
    void add(SynReceived r, long now) {
        if (size >= table.length) {
            rehash(table.length * 2);
        }
        int i = r.hash & (table.length - 1);
        r.hashNext = table[i];
        table[i] = r;
        size++;
        r.listener.synQueued++;
        r.retries = 0;
        append(r, now + SYNACK_RTO_NANOS);
    }

    /** Removes {@code r} (completed, reset, or its listener closed). */
    void remove(SynReceived r) {
        int i = r.hash & (table.length - 1);
        SynReceived p = null;
        for (SynReceived x = table[i]; x != null; p = x, x = x.hashNext) {
            if (x == r) {
                if (p == null) {
                    table[i] = x.hashNext;
                } else {
                    p.hashNext = x.hashNext;
                }
                r.hashNext = null;
                size--;
                r.listener.synQueued--;
                unlink(r);
                return;
            }
        }
    }

    /** The records of {@code l}. */
    List<SynReceived> of(TcpListener l) {
        List<SynReceived> out = new ArrayList<>();
        for (SynReceived head : table) {
            for (SynReceived r = head; r != null; r = r.hashNext) {
                if (r.listener == l) {
                    out.add(r);
                }
            }
        }
        return out;
    }

    private void rehash(int capacity) {
        SynReceived[] old = table;
        table = new SynReceived[capacity];
        for (SynReceived head : old) {
            SynReceived r = head;
            while (r != null) {
                SynReceived nx = r.hashNext;
                int i = r.hash & (capacity - 1);
                r.hashNext = table[i];
                table[i] = r;
                r = nx;
            }
        }
        Arrays.fill(old, null);
    }

    private void append(SynReceived r, long deadline) {
        int k = r.retries;
        r.deadline = deadline;
        r.prev = tails[k];
        r.next = null;
        if (tails[k] == null) {
            heads[k] = r;
        } else {
            tails[k].next = r;
        }
        tails[k] = r;
        timers.scheduleNoLater(timer, deadline);
    }

    private void unlink(SynReceived r) {
        int k = r.retries;
        if (r.prev == null) {
            heads[k] = r.next;
        } else {
            r.prev.next = r.next;
        }
        if (r.next == null) {
            tails[k] = r.prev;
        } else {
            r.next.prev = r.prev;
        }
        r.prev = null;
        r.next = null;
    }

    private void onTimer(long now) {
        for (int k = 0; k <= MAX_SYNACK_RETRIES; k++) {
            SynReceived r;
            while ((r = heads[k]) != null && r.deadline - now <= 0) {
                if (k < MAX_SYNACK_RETRIES) {
                    unlink(r);
                    r.retries++;
                    append(r, now + (SYNACK_RTO_NANOS << r.retries));
                    expiry.retransmit(r);
                } else {
                    remove(r);
                    expiry.exhausted(r);
                }
            }
        }
        long next = Long.MAX_VALUE;
        for (SynReceived h : heads) {
            if (h != null && (next == Long.MAX_VALUE || h.deadline - next < 0)) {
                next = h.deadline;
            }
        }
        if (next != Long.MAX_VALUE) {
            timers.scheduleNoLater(timer, next);
        }
    }
}
