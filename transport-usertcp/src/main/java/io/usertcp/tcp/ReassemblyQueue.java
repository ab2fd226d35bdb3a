package io.usertcp.tcp;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.usertcp.stats.MemoryBudget;

import java.util.Arrays;

/**
 * Data received beyond RCV.NXT, held until the hole before it is filled (RFC 9293 §3.10.7.4: segments
 * "should be held for later processing"). Keyed by 64-bit stream offset, so sequence wrap-around does not
 * matter, in two parallel sorted arrays (start offsets and buffers): a binary search finds a segment's place, and
 * inserting or removing moves at most {@link #MAX_ENTRIES} references; nothing is allocated per segment for the
 * index (issue #12: a tree made a boxed key and an entry per segment), and an idle connection holds no arrays.
 *
 * <p>Bounded: only data inside the receive window is offered (the caller trims), at most
 * {@link #MAX_ENTRIES} separate ranges are kept (a segment that would need more is dropped; the sender
 * retransmits it), and small payloads are copied and merged with their left neighbour, so a peer sending
 * thousands of one-byte segments out of order fills few entries.
 */
final class ReassemblyQueue {
    /** Most separate ranges held. */
    static final int MAX_ENTRIES = 512;
    /**
     * The buffer a small payload is copied into, with room for neighbours that follow it to merge: small, because an
     * isolated byte is charged the whole buffer (issue #10: with 4 KiB, 512 isolated bytes pinned 2 MiB).
     */
    static final int MERGE_CHUNK = 256;
    /** Entries the arrays start with when the first range arrives; they double up to {@link #MAX_ENTRIES}. */
    private static final int INITIAL_ENTRIES = 8;
    private static final long[] NO_OFFSETS = new long[0];
    private static final ByteBuf[] NO_DATA = new ByteBuf[0];

    private final ByteBufAllocator alloc;
    private final MemoryBudget budget;
    // Ranges 0 .. n - 1, ascending and disjoint: range i holds data[i]'s readable bytes at stream offset offsets[i].
    private long[] offsets = NO_OFFSETS;
    private ByteBuf[] data = NO_DATA;
    private int n;
    private long bytes;
    private long truesize;               // memory the held buffers pin (capacities, as Linux's skb truesize)
    private long memoryLimit = Long.MAX_VALUE;

    ReassemblyQueue(ByteBufAllocator alloc) {
        this(alloc, MemoryBudget.unlimited());
    }

    /** A queue whose buffers count against the stack's {@code budget}; none is taken when it is used up. */
    ReassemblyQueue(ByteBufAllocator alloc, MemoryBudget budget) {
        this.alloc = alloc;
        this.budget = budget;
    }

    /** True if nothing is held. */
    boolean isEmpty() {
        return n == 0;
    }

    /** Bytes held. */
    long bytes() {
        return bytes;
    }

    /** Memory the held data pins: each buffer's capacity (a slice pins its whole frame), not its bytes. */
    long truesize() {
        return truesize;
    }

    /**
     * Bounds {@link #truesize()}: out-of-order data is charged at its real buffer size, so a peer sending isolated
     * one-byte segments cannot make each byte cost a 4 KiB buffer without limit (issue #10).
     */
    void memoryLimit(long limit) {
        this.memoryLimit = limit;
    }

    /** Takes {@code held}'s bytes and charge off the books; the caller releases it. */
    private void detach(ByteBuf held) {
        int charge = MemoryBudget.footprint(held);
        bytes -= held.readableBytes();
        truesize -= charge;
        budget.uncharge(charge);
    }

    private void remove(ByteBuf held) {
        detach(held);
        held.release();
    }

    private long endOf(int i) {
        return offsets[i] + data[i].readableBytes();
    }

    /** The last range starting at or before {@code offset}, or -1. */
    private int floorIndex(long offset) {
        int lo = 0;
        int hi = n - 1;
        while (lo <= hi) {
            int mid = (lo + hi) >>> 1;
            if (offsets[mid] <= offset) {
                lo = mid + 1;
            } else {
                hi = mid - 1;
            }
        }
        return hi;
    }

    /** Forgets ranges {@code from .. to - 1} (their buffers already released or handed on). */
    private void forget(int from, int to) {
        if (to <= from) {
            return;
        }
        System.arraycopy(offsets, to, offsets, from, n - to);
        System.arraycopy(data, to, data, from, n - to);
        int m = n - (to - from);
        Arrays.fill(data, m, n, null);
        n = m;
    }

    private void insertAt(int i, long offset, ByteBuf held) {
        if (n == offsets.length) {
            int cap = Math.min(MAX_ENTRIES, Math.max(INITIAL_ENTRIES, 2 * n));
            offsets = Arrays.copyOf(offsets, cap);
            data = Arrays.copyOf(data, cap);
        }
        System.arraycopy(offsets, i, offsets, i + 1, n - i);
        System.arraycopy(data, i, data, i + 1, n - i);
        offsets[i] = offset;
        data[i] = held;
        n++;
    }

    /**
     * Makes room for {@code need} bytes of charge at {@code offset} by dropping the ranges furthest from the in-order
     * point that lie beyond it (as Linux's tcp_prune_ofo_queue: data nearer the hole is worth more). Returns
     * whether the charge now fits.
     */
    private boolean makeRoom(long offset, long need) {
        while (truesize + need > memoryLimit) {
            if (n == 0 || offsets[n - 1] <= offset) {
                return false;
            }
            ByteBuf last = data[n - 1];
            forget(n - 1, n);
            remove(last);
        }
        return true;
    }

    /** Separate ranges held. */
    int entries() {
        return n;
    }

    /**
     * Offers {@code len} bytes of {@code frame} at {@code index} that belong at stream offset {@code offset}
     * ({@code offset} is beyond the in-order point). Parts already held are ignored. Returns false if the
     * segment was dropped because the queue is at its entry limit.
     */
    boolean insert(long offset, ByteBuf frame, int index, int len) {
        long end = offset + len;
        // Trim against the range that starts at or before us.
        int floor = floorIndex(offset);
        if (floor >= 0) {
            long fEnd = endOf(floor);
            if (fEnd >= end) {
                return true; // all of it is here already
            }
            if (fEnd > offset) {
                int cut = (int) (fEnd - offset);
                offset += cut;
                index += cut;
                len -= cut;
            }
        }
        // Remove ranges we cover entirely; trim our right end against one we overlap. The ranges after the floor
        // start beyond where we (now) start.
        int first = floor + 1;
        int j = first;
        while (j < n && offsets[j] < end) {
            if (endOf(j) <= end) {
                remove(data[j]);
                j++;
            } else {
                len = (int) (offsets[j] - offset);
                end = offsets[j];
                break;
            }
        }
        forget(first, j);
        if (len <= 0) {
            return true;
        }
        // Merge into the left neighbour when it ends exactly here and is our own buffer with room.
        if (floor >= 0 && endOf(floor) == offset && data[floor].writableBytes() >= len && len < ReceiveQueue.COPY_BELOW) {
            data[floor].writeBytes(frame, index, len);
            bytes += len;
            return true;
        }
        if (n >= MAX_ENTRIES) {
            return false;
        }
        boolean copy = len < ReceiveQueue.COPY_BELOW || len < frame.capacity() / 2;
        int cap = Math.max(len, len < ReceiveQueue.COPY_BELOW ? MERGE_CHUNK : len);
        // makeRoom drops only ranges that start beyond offset, all at or after index first: first stays our place.
        if (!makeRoom(offset, copy ? cap : frame.capacity())
                || !budget.allows(copy ? cap : MemoryBudget.footprint(frame))) {
            return false;
        }
        ByteBuf held;
        if (copy) {
            held = alloc.directBuffer(cap, cap);
            held.writeBytes(frame, index, len);
        } else {
            held = frame.retainedSlice(index, len);
        }
        insertAt(first, offset, held);
        int charge = MemoryBudget.footprint(held);
        bytes += len;
        truesize += charge;
        budget.charge(charge);
        return true;
    }

    /**
     * Moves the data that now continues the in-order stream at {@code inOrderOffset} into {@code queue}
     * (or discards it when {@code queue} is null: input was shut down). Returns the bytes that became in
     * order.
     */
    long pull(long inOrderOffset, ReceiveQueue queue) {
        long advanced = 0;
        long at = inOrderOffset;
        int k = 0;
        while (k < n && offsets[k] <= at) {
            ByteBuf b = data[k];
            long start = offsets[k];
            long end = start + b.readableBytes();
            detach(b); // before the queue may narrow b's indices to the bytes it takes
            if (end > at) {
                int skip = (int) (at - start);
                int len = (int) (end - at);
                if (queue != null) {
                    queue.append(b, b.readerIndex() + skip, len);
                }
                advanced += len;
                at = end;
            }
            b.release();
            k++;
        }
        forget(0, k);
        if (n == 0 && offsets.length > INITIAL_ENTRIES) {
            offsets = NO_OFFSETS; // a burst of reordering does not keep its arrays
            data = NO_DATA;
        }
        return advanced;
    }

    /**
     * Writes up to {@code max} ranges as SACK blocks (left, right edges as sequence numbers for
     * {@code seqAtOffset0}), most recently changed first is not tracked: lowest first. Returns how many.
     */
    int sackBlocks(long baseOffset, int baseSeq, int[] out, int max) {
        int count = 0;
        long start = -1;
        long end = -1;
        for (int i = 0; i < n; i++) {
            long s = offsets[i];
            long en = endOf(i);
            if (start >= 0 && s == end) {
                end = en; // adjacent ranges form one block
                continue;
            }
            if (start >= 0) {
                if (count == max) {
                    return count;
                }
                out[2 * count] = baseSeq + (int) (start - baseOffset);
                out[2 * count + 1] = baseSeq + (int) (end - baseOffset);
                count++;
            }
            start = s;
            end = en;
        }
        if (start >= 0 && count < max) {
            out[2 * count] = baseSeq + (int) (start - baseOffset);
            out[2 * count + 1] = baseSeq + (int) (end - baseOffset);
            count++;
        }
        return count;
    }

    /** Releases everything. */
    void clear() {
        for (int i = 0; i < n; i++) {
            data[i].release();
        }
        budget.uncharge(truesize);
        offsets = NO_OFFSETS;
        data = NO_DATA;
        n = 0;
        bytes = 0;
        truesize = 0;
    }
}
