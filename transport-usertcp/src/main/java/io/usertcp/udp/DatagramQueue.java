package io.usertcp.udp;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.usertcp.stats.MemoryBudget;

import java.util.Arrays;

/**
 * The received datagrams of one socket that the application has not read yet, in arrival order: a ring of
 * parallel arrays (payload, source address and port, destination address), so that queueing a datagram
 * allocates nothing but, for small payloads, a pooled buffer to copy it into.
 *
 * <p>Bounded in bytes like SO_RCVBUF: each datagram is charged its payload length plus
 * {@link #OVERHEAD}, and a datagram that does not fit is refused, unless the queue is empty (so that one
 * datagram larger than the bound can still be received, as on Linux).
 *
 * <p>The memory each datagram pins (its truesize: the capacity of the buffer beneath its payload, the frame it
 * arrived in when kept as a slice) is charged to the stack's {@link MemoryBudget} while it waits, and credited
 * when it is read or the queue is cleared; a datagram the budget has no room for is refused, also into an empty
 * queue (a datagram may be dropped, unlike TCP data that a connection needs to make progress).
 */
final class DatagramQueue {
    /** Bookkeeping charged per datagram, so that empty datagrams are bounded too. */
    static final int OVERHEAD = 64;
    /**
     * Payloads smaller than this, or filling less than half of the buffer they arrived in, are copied rather
     * than kept as slices of that buffer (as TCP's receive queue does).
     */
    static final int COPY_BELOW = 512;

    /** {@link #offer} took the datagram. */
    static final int QUEUED = 0;
    /** {@link #offer} refused the datagram: SO_RCVBUF is reached. */
    static final int FULL = 1;
    /** {@link #offer} refused the datagram: the stack's memory budget has no room for it. */
    static final int NO_MEMORY = 2;

    private final ByteBufAllocator alloc;
    private final MemoryBudget budget;
    private ByteBuf[] data = new ByteBuf[8];
    /** What each datagram is charged to the budget (its truesize), to credit the same on the way out. */
    private int[] truesize = new int[8];
    // Addresses as halves (IPv4 ones IPv4-mapped, see IpAddress): nothing is allocated per datagram.
    private long[] srcHi = new long[8];
    private long[] srcLo = new long[8];
    private int[] srcPort = new int[8];
    private long[] dstHi = new long[8];
    private long[] dstLo = new long[8];
    private int head;
    private int size;
    private int charged;

    DatagramQueue(ByteBufAllocator alloc, MemoryBudget budget) {
        this.alloc = alloc;
        this.budget = budget;
    }

    int size() {
        return size;
    }

    /** Bytes charged to the datagrams held. */
    int charged() {
        return charged;
    }

    /**
     * Appends the {@code len} bytes of {@code frame} at {@code index} as one datagram, unless that would
     * exceed {@code limit} or the memory budget; returns {@link #QUEUED}, {@link #FULL} or {@link #NO_MEMORY}.
     * Does not take ownership of {@code frame}.
     */
    int offer(ByteBuf frame, int index, int len, long srcHi, long srcLo, int sport, long dstHi, long dstLo,
              int limit) {
        int cost = len + OVERHEAD;
        if (size > 0 && charged + cost > limit) {
            return FULL;
        }
        boolean copy = len < COPY_BELOW || len < frame.capacity() / 2;
        // Known before anything is allocated: a copy's buffer is exactly len, a slice pins the frame beneath it.
        int footprint = len == 0 ? 0 : copy ? len : MemoryBudget.footprint(frame);
        if (!budget.allows(footprint)) {
            return NO_MEMORY;
        }
        if (size == data.length) {
            grow();
        }
        ByteBuf payload;
        if (len == 0) {
            payload = Unpooled.EMPTY_BUFFER;
        } else if (copy) {
            payload = alloc.directBuffer(len, len);
            payload.writeBytes(frame, index, len);
        } else {
            payload = frame.retainedSlice(index, len);
        }
        budget.charge(footprint);
        int tail = (head + size) & (data.length - 1);
        data[tail] = payload;
        truesize[tail] = footprint;
        this.srcHi[tail] = srcHi;
        this.srcLo[tail] = srcLo;
        srcPort[tail] = sport;
        this.dstHi[tail] = dstHi;
        this.dstLo[tail] = dstLo;
        size++;
        charged += cost;
        return QUEUED;
    }

    private void grow() {
        int n = data.length;
        ByteBuf[] d = new ByteBuf[n * 2];
        int[] ts = new int[n * 2];
        long[] sh = new long[n * 2];
        long[] sl = new long[n * 2];
        int[] sp = new int[n * 2];
        long[] dh = new long[n * 2];
        long[] dl = new long[n * 2];
        for (int i = 0; i < size; i++) {
            int j = (head + i) & (n - 1);
            d[i] = data[j];
            ts[i] = truesize[j];
            sh[i] = srcHi[j];
            sl[i] = srcLo[j];
            sp[i] = srcPort[j];
            dh[i] = dstHi[j];
            dl[i] = dstLo[j];
        }
        data = d;
        truesize = ts;
        srcHi = sh;
        srcLo = sl;
        srcPort = sp;
        dstHi = dh;
        dstLo = dl;
        head = 0;
    }

    /** Payload length of the first datagram; the queue must not be empty. */
    int peekLength() {
        return data[head].readableBytes();
    }

    long peekSourceHi() {
        return srcHi[head];
    }

    long peekSourceLo() {
        return srcLo[head];
    }

    int peekSourcePort() {
        return srcPort[head];
    }

    long peekDestinationHi() {
        return dstHi[head];
    }

    long peekDestinationLo() {
        return dstLo[head];
    }

    /**
     * Removes the first datagram, copying as much of its payload as fits into {@code dst} (the rest is
     * discarded, as recvmsg truncates); returns the bytes copied.
     */
    int poll(ByteBuf dst) {
        ByteBuf b = data[head];
        int len = b.readableBytes();
        int n = Math.min(len, dst.writableBytes());
        dst.writeBytes(b, b.readerIndex(), n);
        b.release();
        data[head] = null;
        budget.uncharge(truesize[head]);
        head = (head + 1) & (data.length - 1);
        size--;
        charged -= len + OVERHEAD;
        return n;
    }

    /** Releases every datagram. */
    void clear() {
        for (int i = 0; i < size; i++) {
            int j = (head + i) & (data.length - 1);
            data[j].release();
            data[j] = null;
            budget.uncharge(truesize[j]);
        }
        Arrays.fill(data, null);
        head = 0;
        size = 0;
        charged = 0;
    }
}
