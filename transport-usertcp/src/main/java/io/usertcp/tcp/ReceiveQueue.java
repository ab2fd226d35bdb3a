package io.usertcp.tcp;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.usertcp.stats.MemoryBudget;

/**
 * In-order bytes received and not yet read by the application. Large payloads are kept as retained slices
 * of the frames they arrived in (no copy); small ones are copied into the tail buffer so that a peer
 * sending many tiny segments cannot pin a whole frame buffer per byte.
 */
final class ReceiveQueue {
    /**
     * Payloads smaller than this, or filling less than half of the buffer they arrived in (a small segment
     * in a 64 KiB offload buffer), are copied rather than sliced, so held memory stays within about twice
     * the bytes held.
     */
    static final int COPY_BELOW = 512;
    private static final int COPY_CHUNK = 16384;

    // The buffers held, oldest first: the only one in a field, more in a ring made when a second one is queued and
    // kept (a power of two, grows as needed). An idle connection, or one whose reads keep up, holds no array
    // (issue #12: at most 2 KiB of heap per idle connection).
    private ByteBuf single;
    private ByteBuf[] ring;
    private int head;
    private int count;
    private final ByteBufAllocator alloc;
    private int size;
    private ByteBuf copyTail; // our own buffer, the last one held, with room for small payloads

    private final MemoryBudget budget;

    ReceiveQueue(ByteBufAllocator alloc) {
        this(alloc, MemoryBudget.unlimited());
    }

    ReceiveQueue(ByteBufAllocator alloc, MemoryBudget budget) {
        this.alloc = alloc;
        this.budget = budget;
    }

    /**
     * Whether {@code len} more bytes may be appended now: always while the queue is empty (so every connection can
     * make progress), otherwise only while the stack's memory budget has room for them.
     */
    boolean admits(int len) {
        return size == 0 || budget.allows(len);
    }

    /** Bytes held. */
    int size() {
        return size;
    }

    /**
     * Appends {@code len} bytes of {@code frame} at {@code index}; does not take ownership of {@code frame} (it may
     * retain it, and then narrows its reader and writer index to those bytes).
     */
    void append(ByteBuf frame, int index, int len) {
        if (len <= 0) {
            return;
        }
        if (len < COPY_BELOW || len < frame.capacity() / 2) {
            if (copyTail == null || copyTail.writableBytes() < len || last() != copyTail) {
                int cap = Math.max(COPY_CHUNK, len);
                copyTail = alloc.directBuffer(cap, cap);
                budget.charge(cap);
                add(copyTail);
            }
            copyTail.writeBytes(frame, index, len);
        } else {
            // A frame nobody else holds is kept whole with its indices narrowed to the payload: no slice object per
            // segment (Netty's adaptive allocator makes a new one for every retainedSlice) (issue #12). The layers
            // below read a frame's indices only before they hand it up, so narrowing them here is safe.
            ByteBuf held = frame.refCnt() == 1 ? frame.retain().setIndex(index, index + len)
                    : frame.retainedSlice(index, len);
            budget.charge(MemoryBudget.footprint(held));
            add(held);
            copyTail = null;
        }
        size += len;
    }

    /** Moves up to {@code dst.writableBytes()} bytes into {@code dst}; returns how many. */
    int read(ByteBuf dst) {
        return read(dst, Integer.MAX_VALUE);
    }

    /** Moves up to {@code max} bytes, and at most {@code dst.writableBytes()}, into {@code dst}; returns how many. */
    int read(ByteBuf dst, int max) {
        int done = 0;
        while (size > 0 && dst.isWritable() && done < max) {
            ByteBuf b = first();
            int n = Math.min(Math.min(b.readableBytes(), dst.writableBytes()), max - done);
            dst.writeBytes(b, n);
            done += n;
            size -= n;
            if (!b.isReadable()) {
                removeFirst();
                if (b == copyTail) {
                    copyTail = null;
                }
                budget.uncharge(MemoryBudget.footprint(b));
                b.release();
            }
        }
        return done;
    }

    /** Discards everything (input shut down, or the connection closed). */
    void clear() {
        while (count > 0) {
            ByteBuf b = removeFirst();
            budget.uncharge(MemoryBudget.footprint(b));
            b.release();
        }
        copyTail = null;
        size = 0;
    }

    // ------------------------------------------------------------------ the buffers held

    private void add(ByteBuf b) {
        if (ring == null) {
            if (count == 0) {
                single = b;
                count = 1;
                return;
            }
            ring = new ByteBuf[4];
            ring[0] = single;
            single = null;
            head = 0;
        } else if (count == ring.length) {
            ByteBuf[] bigger = new ByteBuf[2 * count];
            for (int i = 0; i < count; i++) {
                bigger[i] = ring[(head + i) & (count - 1)];
            }
            ring = bigger;
            head = 0;
        }
        ring[(head + count) & (ring.length - 1)] = b;
        count++;
    }

    private ByteBuf first() {
        return count == 0 ? null : ring == null ? single : ring[head];
    }

    private ByteBuf last() {
        return count == 0 ? null : ring == null ? single : ring[(head + count - 1) & (ring.length - 1)];
    }

    private ByteBuf removeFirst() {
        ByteBuf b;
        if (ring == null) {
            b = single;
            single = null;
        } else {
            b = ring[head];
            ring[head] = null;
            head = (head + 1) & (ring.length - 1);
        }
        count--;
        return b;
    }
}
