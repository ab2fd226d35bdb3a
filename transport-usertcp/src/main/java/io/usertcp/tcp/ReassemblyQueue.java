package io.usertcp.tcp;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.usertcp.stats.MemoryBudget;

import java.util.Iterator;
import java.util.Map;
import java.util.TreeMap;

/**
 * Data received beyond RCV.NXT, held until the hole before it is filled (RFC 9293 §3.10.7.4: segments
 * "should be held for later processing"). Keyed by 64-bit stream offset, so sequence wrap-around does not
 * matter, in a tree: inserting, trimming overlaps and pulling are O(log n) per segment, never quadratic.
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

    private final ByteBufAllocator alloc;
    private final MemoryBudget budget;
    private final TreeMap<Long, ByteBuf> ranges = new TreeMap<>();
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
        return ranges.isEmpty();
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

    private void remove(ByteBuf held) {
        int charge = MemoryBudget.footprint(held);
        bytes -= held.readableBytes();
        truesize -= charge;
        budget.uncharge(charge);
        held.release();
    }

    /**
     * Makes room for {@code need} bytes of charge at {@code offset} by dropping the ranges furthest from the in-order
     * point that lie beyond it (as Linux's tcp_prune_ofo_queue: data nearer the hole is worth more). Returns
     * whether the charge now fits.
     */
    private boolean makeRoom(long offset, long need) {
        while (truesize + need > memoryLimit) {
            Map.Entry<Long, ByteBuf> last = ranges.lastEntry();
            if (last == null || last.getKey() <= offset) {
                return false;
            }
            ranges.pollLastEntry();
            remove(last.getValue());
        }
        return true;
    }

    /** Separate ranges held. */
    int entries() {
        return ranges.size();
    }

    /**
     * Offers {@code len} bytes of {@code frame} at {@code index} that belong at stream offset {@code offset}
     * ({@code offset} is beyond the in-order point). Parts already held are ignored. Returns false if the
     * segment was dropped because the queue is at its entry limit.
     */
    boolean insert(long offset, ByteBuf frame, int index, int len) {
        long end = offset + len;
        // Trim against the range that starts at or before us.
        Map.Entry<Long, ByteBuf> floor = ranges.floorEntry(offset);
        if (floor != null) {
            long fEnd = floor.getKey() + floor.getValue().readableBytes();
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
        // Remove ranges we cover entirely; trim our right end against one we overlap.
        Iterator<Map.Entry<Long, ByteBuf>> it = ranges.tailMap(offset, true).entrySet().iterator();
        while (it.hasNext()) {
            Map.Entry<Long, ByteBuf> e = it.next();
            long s = e.getKey();
            if (s >= end) {
                break;
            }
            long eEnd = s + e.getValue().readableBytes();
            if (eEnd <= end) {
                ByteBuf covered = e.getValue(); // before it.remove(): TreeMap may reuse the entry for its successor
                it.remove();
                remove(covered);
            } else {
                len = (int) (s - offset);
                end = s;
                break;
            }
        }
        if (len <= 0) {
            return true;
        }
        // Merge into the left neighbour when it ends exactly here and is our own buffer with room.
        floor = ranges.floorEntry(offset);
        if (floor != null && floor.getKey() + floor.getValue().readableBytes() == offset
                && floor.getValue().writableBytes() >= len && len < ReceiveQueue.COPY_BELOW) {
            floor.getValue().writeBytes(frame, index, len);
            bytes += len;
            return true;
        }
        if (ranges.size() >= MAX_ENTRIES) {
            return false;
        }
        boolean copy = len < ReceiveQueue.COPY_BELOW || len < frame.capacity() / 2;
        int cap = Math.max(len, len < ReceiveQueue.COPY_BELOW ? MERGE_CHUNK : len);
        if (!makeRoom(offset, copy ? cap : frame.capacity())
                || !budget.allows(copy ? cap : MemoryBudget.footprint(frame))) {
            return false;
        }
        ByteBuf data;
        if (copy) {
            data = alloc.directBuffer(cap, cap);
            data.writeBytes(frame, index, len);
        } else {
            data = frame.retainedSlice(index, len);
        }
        ranges.put(offset, data);
        int charge = MemoryBudget.footprint(data);
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
        for (;;) {
            Map.Entry<Long, ByteBuf> first = ranges.firstEntry();
            if (first == null || first.getKey() > at) {
                break;
            }
            ranges.pollFirstEntry();
            ByteBuf b = first.getValue();
            long end = first.getKey() + b.readableBytes();
            if (end > at) {
                int skip = (int) (at - first.getKey());
                int n = (int) (end - at);
                if (queue != null) {
                    queue.append(b, b.readerIndex() + skip, n);
                }
                advanced += n;
                at = end;
            }
            remove(b);
        }
        return advanced;
    }

    /**
     * Writes up to {@code max} ranges as SACK blocks (left, right edges as sequence numbers for
     * {@code seqAtOffset0}), most recently changed first is not tracked: lowest first. Returns how many.
     */
    int sackBlocks(long baseOffset, int baseSeq, int[] out, int max) {
        int n = 0;
        long start = -1;
        long end = -1;
        for (Map.Entry<Long, ByteBuf> e : ranges.entrySet()) {
            long s = e.getKey();
            long en = s + e.getValue().readableBytes();
            if (start >= 0 && s == end) {
                end = en; // adjacent ranges form one block
                continue;
            }
            if (start >= 0) {
                if (n == max) {
                    return n;
                }
                out[2 * n] = baseSeq + (int) (start - baseOffset);
                out[2 * n + 1] = baseSeq + (int) (end - baseOffset);
                n++;
            }
            start = s;
            end = en;
        }
        if (start >= 0 && n < max) {
            out[2 * n] = baseSeq + (int) (start - baseOffset);
            out[2 * n + 1] = baseSeq + (int) (end - baseOffset);
            n++;
        }
        return n;
    }

    /** Releases everything. */
    void clear() {
        for (ByteBuf b : ranges.values()) {
            b.release();
        }
        budget.uncharge(truesize);
        ranges.clear();
        bytes = 0;
        truesize = 0;
    }
}
