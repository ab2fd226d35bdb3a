package io.usertcp.link;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.usertcp.time.Clock;
import io.usertcp.wire.MacAddress;

import java.util.PriorityQueue;

/**
 * One end of an in-memory Ethernet cable between two stacks in the same process. Frames are copied on
 * transmit and delivered to the other end after the cable's delay, through an optional {@link FaultModel}
 * (drop, duplicate, reorder, corrupt), all in the time of a {@link Clock} — so two stacks on a pair of
 * these run in virtual time and replay exactly from a seed.
 *
 * <p>Single-threaded, like the stacks that use it.
 */
public final class MemoryLink implements Link {
    private final int mtu;
    private final MacAddress mac;
    private final Clock clock;
    private final PriorityQueue<InFlight> inbox = new PriorityQueue<>();
    private MemoryLink peer;
    private FaultModel faults = FaultModel.NONE;
    private long delayNanos;
    private java.util.function.Consumer<ByteBuf> tap;
    private long sequence;
    private boolean closed;
    private long transmitted;
    private long delivered;

    private MemoryLink(int mtu, MacAddress mac, Clock clock) {
        this.mtu = mtu;
        this.mac = mac;
        this.clock = clock;
    }

    /** Two connected ends. */
    public static MemoryLink[] pair(int mtu, Clock clock) {
        MemoryLink a = new MemoryLink(mtu, MacAddress.randomLocal(), clock);
        MemoryLink b = new MemoryLink(mtu, MacAddress.randomLocal(), clock);
        a.peer = b;
        b.peer = a;
        return new MemoryLink[] {a, b};
    }

    /** One-way delay of frames sent from this end. */
    public MemoryLink delay(long nanos) {
        this.delayNanos = nanos;
        return this;
    }

    /** Faults applied to frames sent from this end. */
    public MemoryLink faults(FaultModel model) {
        this.faults = model;
        return this;
    }

    /** Shows every frame sent from this end (before faults) to {@code tap}, e.g. for a packet trace. */
    public MemoryLink tap(java.util.function.Consumer<ByteBuf> tap) {
        this.tap = tap;
        return this;
    }

    /** A factory that hands out this end (for {@link io.usertcp.stack.StackConfig}). */
    public LinkFactory factory() {
        return () -> this;
    }

    @Override
    public int mtu() {
        return mtu;
    }

    @Override
    public MacAddress macAddress() {
        return mac;
    }

    @Override
    public int fd() {
        return -1;
    }

    /** When the next frame becomes receivable at this end, or {@link Long#MAX_VALUE}. */
    public long nextArrival() {
        InFlight f = inbox.peek();
        return f == null ? Long.MAX_VALUE : f.at;
    }

    /** Frames sent from this end. */
    public long transmitted() {
        return transmitted;
    }

    /** Frames received at this end. */
    public long delivered() {
        return delivered;
    }

    @Override
    public ByteBuf receive(ByteBufAllocator alloc) {
        InFlight f = inbox.peek();
        if (f == null || f.at - clock.nanoTime() > 0) {
            return null;
        }
        inbox.poll();
        delivered++;
        return f.frame;
    }

    @Override
    public boolean transmit(ByteBuf frame) {
        if (closed || peer.closed) {
            return false;
        }
        if (frame.readableBytes() > mtu + 14) {
            return false; // a real NIC would not send it either
        }
        transmitted++;
        if (tap != null) {
            tap.accept(frame);
        }
        long now = clock.nanoTime();
        int copies = faults.copies();
        for (int i = 0; i < copies; i++) {
            ByteBuf copy = frame.alloc().directBuffer(frame.readableBytes());
            copy.writeBytes(frame, frame.readerIndex(), frame.readableBytes());
            if (!faults.maybeCorrupt(copy)) {
                copy.release();
                continue;
            }
            long at = now + delayNanos + faults.extraDelay(delayNanos);
            peer.inbox.add(new InFlight(copy, at, sequence++));
        }
        return true;
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        InFlight f;
        while ((f = inbox.poll()) != null) {
            f.frame.release();
        }
    }

    private static final class InFlight implements Comparable<InFlight> {
        final ByteBuf frame;
        final long at;
        final long seq;

        InFlight(ByteBuf frame, long at, long seq) {
            this.frame = frame;
            this.at = at;
            this.seq = seq;
        }

        @Override
        public int compareTo(InFlight o) {
            int c = Long.compare(at, o.at);
            return c != 0 ? c : Long.compare(seq, o.seq);
        }
    }
}
