package io.usertcp.tcp;

import io.netty.util.collection.LongObjectHashMap;
import io.usertcp.time.Timer;
import io.usertcp.time.TimerQueue;
import io.usertcp.util.KeyedHash;
import io.usertcp.wire.IpAddress;
import io.usertcp.wire.TcpOptions;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static io.usertcp.tcp.ConnectionTimers.CLOSE;

/**
 * The TIME-WAIT entries of a TCP layer whose application closed them (issue #10): when such a connection enters
 * TIME-WAIT, its {@link TcpConnection} is replaced at the end of the input batch by a {@link TimeWaitRecord}
 * ({@link #release}); the record answers segments ({@link TimeWaitReceiver}) until its 2 MSL are over. A connection
 * its application still holds stays whole in TIME-WAIT (it may still read) until the application closes it.
 *
 * <p>A hash table by four-tuple, keyed (the remote half comes from the wire), finds a record; expiry runs on one
 * {@link Fifo} per length of TIME-WAIT, each one timer on the stack's {@link TimerQueue}. Why one FIFO per length
 * rather than one sorted list: a record enters (or, with a retransmitted FIN, re-enters) its FIFO at now + its
 * length, which is never before the deadline of any record already there, so appending keeps each FIFO in
 * deadline order and entering, restarting and expiring cost O(1); the timer queue orders the few FIFOs (the
 * stack's default and the lengths UserTcpChannelOption.TIME_WAIT_MILLIS chose), O(log F). A sorted list of all
 * records would cost O(n) for each entry shorter than those before it. Only a connection that its application
 * closes after it entered TIME-WAIT comes in with an older deadline: it is inserted from the tail backwards.
 *
 * <p>Records are not pooled: a parked record (a SYN trying to reopen its four-tuple) and the released
 * connection's {@link TcpConnection#state()} hold references to it after it may have ended, which a reused record
 * would betray; one allocation per connection entering TIME-WAIT is what the connection itself cost.
 *
 * <p>The number of TIME-WAIT entries, whole connections and records together, is {@link TcpLayer#timeWaitCount()},
 * bounded by {@code StackConfig.maxTimeWait} when a connection enters TIME-WAIT.
 */
final class TimeWaitTable {
    final TcpLayer tcp;
    final TimeWaitReceiver receiver;
    private final TimerQueue timers;
    private final KeyedHash hasher;
    private TimeWaitRecord[] table = new TimeWaitRecord[16];
    /** Records in the hash table (a parked one is not). */
    private int size;
    private final LongObjectHashMap<Fifo> fifos = new LongObjectHashMap<>(4);

    /** The records of one length of TIME-WAIT, in deadline order, with one timer for their heads. */
    static final class Fifo extends Timer {
        final TimeWaitTable table;
        final long nanos;
        TimeWaitRecord head;
        TimeWaitRecord tail;

        Fifo(TimeWaitTable table, long nanos) {
            this.table = table;
            this.nanos = nanos;
        }

        @Override
        protected void expired(long now) {
            table.expire(this, now);
        }

        /** A bug stopped the expiry: the record it was ending goes, and the others keep their timer. */
        @Override
        protected void failed(RuntimeException e) {
            if (head != null) {
                table.end(head);
            }
            table.reschedule(this);
        }

        @Override
        public String toString() {
            return "TIME-WAIT records of " + nanos / 1_000_000 + " ms";
        }
    }

    TimeWaitTable(TcpLayer tcp, KeyedHash hasher) {
        this.tcp = tcp;
        this.timers = tcp.env.timers();
        this.hasher = hasher;
        this.receiver = new TimeWaitReceiver(this);
    }

    /** Records in the table (parked ones not included). */
    int size() {
        return size;
    }

    private int hash(long lHi, long lLo, int lPort, long rHi, long rLo, int rPort) {
        return hasher.hash(lHi, lLo, rHi, rLo, (long) lPort << 16 | rPort);
    }

    /** The record of this four-tuple, or null. */
    TimeWaitRecord find(long lHi, long lLo, int lPort, long rHi, long rLo, int rPort) {
        if (size == 0) {
            return null;
        }
        int h = hash(lHi, lLo, lPort, rHi, rLo, rPort);
        for (TimeWaitRecord r = table[h & (table.length - 1)]; r != null; r = r.hashNext) {
            if (r.matches(lHi, lLo, lPort, rHi, rLo, rPort)) {
                return r;
            }
        }
        return null;
    }

    /**
     * A segment for {@code r}. A SYN (alone) that may reopen the four-tuple (RFC 9293 §3.10.7.4, RFC 6191) goes to
     * the listener, if it has room, with the record parked (RFC 9293 §3.6.1 MAY-2: it returns if the SYN proves an
     * old duplicate); anything else is {@link TimeWaitReceiver}'s. A bug there ends the record (the loop's barrier
     * counts and logs it).
     */
    void segmentArrives(TimeWaitRecord r, boolean pureSyn, int seq, int ack, int flags, int window, int dataLen,
                        TcpOptions opts) {
        TcpListener l;
        if (pureSyn && r.acceptsSyn(seq, opts) && (l = tcp.findListener(r.localHi, r.localLo, r.localPort())) != null
                && tcp.passive.hasRoom(l)) {
            park(r);
            tcp.passive.syn(l, r.localHi, r.localLo, r.localPort(), r.remoteHi, r.remoteLo, r.remotePort(), seq,
                    window, opts, r);
            return;
        }
        try {
            receiver.segmentArrives(r, seq, ack, flags, window, dataLen, opts);
        } catch (RuntimeException e) {
            end(r);
            throw e;
        }
    }

    // ------------------------------------------------------------------ a connection becomes a record

    /**
     * Replaces {@code c} (in TIME-WAIT, closed by its application, in the connection table) by a record: its
     * variables are copied, its timer's deadline kept, its four-tuple stays directed to this stack, and what it
     * held is let go ({@link TcpConnection#handOver}).
     */
    void release(TcpConnection c) {
        Tcb t = c.tcb;
        long nanos = Math.max(0, t.timeWaitNanos >= 0 ? t.timeWaitNanos : tcp.timeWaitNanos);
        Fifo f = fifos.get(nanos);
        if (f == null) {
            fifos.put(nanos, f = new Fifo(this, nanos));
        }
        FlowKey k = c.key;
        TimeWaitRecord r = new TimeWaitRecord(k.localHi, k.localLo, c.localPort, k.remoteHi, k.remoteLo,
                c.remotePort, hash(k.localHi, k.localLo, c.localPort, k.remoteHi, k.remoteLo, c.remotePort), f);
        r.rcvNxt = t.rcvNxt;
        r.sndNxt = t.sndMax;
        r.rcvAdvEdge = t.rcvAdvEdge;
        r.lastAckSent = t.lastAckSent;
        r.sndWl1 = t.sndWl1;
        r.sndWl2 = t.sndWl2;
        r.maxSndWnd = t.maxSndWnd;
        r.tsRecent = t.tsRecent;
        r.tsOffset = t.tsOffset;
        r.tsRecentAge = t.tsRecentAge;
        r.lastOowAck = t.lastOowAck;
        r.challengeWindowStart = t.challengeWindowStart;
        r.receiveBuffer = t.receiveBufferSize;
        r.mss = (char) Math.min(t.mss, 0xffff);
        r.sndWscale = (byte) (t.windowScaleOk ? t.sndWscale : -1);
        r.rcvWscale = (byte) (t.windowScaleOk ? t.rcvWscale : -1);
        r.tos = (byte) t.tos;
        r.challengeAcks = (byte) Math.min(t.challengeAcks, Byte.MAX_VALUE);
        r.tsOk = t.tsOk;
        r.sackOk = t.sackOk;
        r.oowAckSent = t.oowAckSent;
        long deadline = c.timers.isArmed(CLOSE) ? c.timers.deadlineOf(CLOSE) : t.now + nanos;
        tcp.connections.remove(k, c);
        tcp.env.socketGone(c);
        insert(r);
        enqueue(r, deadline);
        reschedule(f);
        tcp.env.steering().replaced(c, r, k.localHi, k.localLo, c.localPort, k.remoteHi, k.remoteLo,
                c.remotePort);
        c.handOver(r);
    }

    // ------------------------------------------------------------------ the end of TIME-WAIT

    /** A retransmitted FIN (or a new one) restarts the 2 MSL timeout (RFC 9293 §3.10.7.4): to the FIFO's tail. */
    void restart(TimeWaitRecord r, long now) {
        Fifo f = r.fifo;
        unlink(r);
        enqueue(r, now + f.nanos);
        reschedule(f);
    }

    /** TIME-WAIT is over for {@code r} (expired, reset, ended by the stack): it goes, with its four-tuple. */
    void end(TimeWaitRecord r) {
        if (!r.live) {
            return;
        }
        r.live = false;
        if (r.parked) {
            r.parked = false;
        } else {
            remove(r);
        }
        Fifo f = r.fifo;
        unlink(r);
        reschedule(f);
        tcp.timeWaits--;
        tcp.forget(r, r.localHi, r.localLo, r.localPort(), r.remoteHi, r.remoteLo, r.remotePort());
    }

    private void expire(Fifo f, long now) {
        TimeWaitRecord r;
        while ((r = f.head) != null && r.deadline - now <= 0) {
            end(r);
        }
    }

    /** Ends every record (the stack closes). */
    void endAll() {
        for (TimeWaitRecord r : all()) {
            end(r);
        }
    }

    /** The link is gone for good: records of peers beyond it end (those of our own addresses stay). */
    void linkFailed() {
        for (TimeWaitRecord r : all()) {
            if (!tcp.env.isLocalAddress(IpAddress.of(r.remoteHi, r.remoteLo))) {
                end(r);
            }
        }
    }

    /** Every live record, parked ones included (allocates: not for the packet path). */
    private List<TimeWaitRecord> all() {
        List<TimeWaitRecord> out = new ArrayList<>();
        for (Fifo f : fifos.values()) {
            for (TimeWaitRecord r = f.head; r != null; r = r.next) {
                out.add(r);
            }
        }
        return out;
    }

    /** The records in the table, for the connection table (allocates). */
    List<TimeWaitRecord> listed() {
        List<TimeWaitRecord> out = new ArrayList<>(size);
        for (TimeWaitRecord head : table) {
            for (TimeWaitRecord r = head; r != null; r = r.hashNext) {
                out.add(r);
            }
        }
        return out;
    }

    // ------------------------------------------------------------------ reopening (RFC 9293 §3.6.1 MAY-2)

    /** Takes {@code r} out of the table while a SYN that may reopen its four-tuple is tried; its timer runs on. */
    void park(TimeWaitRecord r) {
        remove(r);
        r.parked = true;
    }

    /**
     * The SYN that parked {@code old} (a record or a whole connection) was an old duplicate: it returns to
     * TIME-WAIT if it still can, else it ends.
     */
    void revive(TcpFlow old) {
        if (old instanceof TimeWaitRecord r) {
            if (r.live && r.parked && tcp.connection(r.localHi, r.localLo, r.localPort(), r.remoteHi, r.remoteLo,
                    r.remotePort()) == null && find(r.localHi, r.localLo, r.localPort(), r.remoteHi, r.remoteLo,
                    r.remotePort()) == null) {
                r.parked = false;
                insert(r);
                // Directed to this stack again (a successor that was in the table took the four-tuple over).
                tcp.env.steering().opened(r, r.localHi, r.localLo, r.localPort(), r.remoteHi, r.remoteLo,
                        r.remotePort());
            } else {
                end(r);
            }
        } else if (old instanceof TcpConnection tw) {
            if (tw.parked && tw.tcb.state == TcpState.TIME_WAIT && tcp.connections.putIfAbsent(tw.key, tw) == null) {
                tw.parked = false;
                tcp.env.steering().opened(tw, tw.key.localHi, tw.key.localLo, tw.localPort, tw.key.remoteHi,
                        tw.key.remoteLo, tw.remotePort);
                if (tw.tcb.orphaned) {
                    tw.releaseLater(); // closed while parked: it becomes a record now
                }
            } else {
                tw.destroy(null);
            }
        }
    }

    /** The SYN that parked {@code old} opened a new incarnation: the old one goes for good. */
    void discard(TcpFlow old) {
        if (old instanceof TimeWaitRecord r) {
            end(r);
        } else if (old instanceof TcpConnection c) {
            c.destroy(null);
        }
    }

    // ------------------------------------------------------------------ the hash table and the FIFOs

    private void insert(TimeWaitRecord r) {
        if (size >= table.length) {
            rehash(table.length * 2);
        }
        int i = r.hash & (table.length - 1);
        r.hashNext = table[i];
        table[i] = r;
        size++;
    }

    private void remove(TimeWaitRecord r) {
        int i = r.hash & (table.length - 1);
        TimeWaitRecord p = null;
        for (TimeWaitRecord x = table[i]; x != null; p = x, x = x.hashNext) {
            if (x == r) {
                if (p == null) {
                    table[i] = x.hashNext;
                } else {
                    p.hashNext = x.hashNext;
                }
                r.hashNext = null;
                size--;
                if (table.length > 16 && size < table.length / 8) {
                    rehash(table.length / 2); // after a burst: give the slots back
                }
                return;
            }
        }
    }

    private void rehash(int capacity) {
        TimeWaitRecord[] old = table;
        table = new TimeWaitRecord[capacity];
        for (TimeWaitRecord head : old) {
            TimeWaitRecord r = head;
            while (r != null) {
                TimeWaitRecord nx = r.hashNext;
                int i = r.hash & (capacity - 1);
                r.hashNext = table[i];
                table[i] = r;
                r = nx;
            }
        }
        Arrays.fill(old, null);
    }

    /** Puts {@code r} into its FIFO at {@code deadline}: at the tail, or before later deadlines (a late hand-over). */
    private void enqueue(TimeWaitRecord r, long deadline) {
        Fifo f = r.fifo;
        r.deadline = deadline;
        TimeWaitRecord before = f.tail;
        while (before != null && before.deadline - deadline > 0) {
            before = before.prev;
        }
        r.prev = before;
        r.next = before == null ? f.head : before.next;
        if (r.next == null) {
            f.tail = r;
        } else {
            r.next.prev = r;
        }
        if (before == null) {
            f.head = r;
        } else {
            before.next = r;
        }
    }

    /** The FIFO's timer at its head's deadline; an empty FIFO is dropped. */
    void reschedule(Fifo f) {
        if (f.head != null) {
            timers.schedule(f, f.head.deadline);
            return;
        }
        timers.cancel(f);
        if (fifos.get(f.nanos) == f) {
            fifos.remove(f.nanos);
        }
    }

    private static void unlink(TimeWaitRecord r) {
        Fifo f = r.fifo;
        if (r.prev == null) {
            f.head = r.next;
        } else {
            r.prev.next = r.next;
        }
        if (r.next == null) {
            f.tail = r.prev;
        } else {
            r.next.prev = r.prev;
        }
        r.prev = null;
        r.next = null;
    }
}
