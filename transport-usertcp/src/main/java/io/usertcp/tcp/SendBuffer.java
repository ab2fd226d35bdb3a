package io.usertcp.tcp;

import io.netty.buffer.ByteBuf;
import io.netty.util.internal.PlatformDependent;
import io.netty.buffer.ByteBufAllocator;
import io.usertcp.stats.MemoryBudget;

/**
 * The bytes of a connection from SND.UNA on: sent but unacknowledged, then not yet sent. Stored in
 * fixed-size pooled chunks so that any offset is found in O(1) ({@code (head + offset) / CHUNK}), which
 * retransmission and segmentation need.
 *
 * <p>Data is copied in from the application's buffers: they are released as soon as Netty's outbound
 * buffer is done with them, and segments are copied out into frames, so the application never shares
 * memory with a retransmission.
 */
final class SendBuffer {
    static final int CHUNK = 16 * 1024;

    private final ByteBufAllocator alloc;
    private static final ByteBuf[] NONE = new ByteBuf[0];
    // A ring (a power of two long) of the chunks held; made on the first write and grown by doubling, so a connection
    // that has written a little holds one slot (issue #12: at most 2 KiB of heap per idle connection).
    private ByteBuf[] chunks = NONE;
    private int first;      // index in chunks of the chunk holding byte 0
    private int count;      // chunks in use
    private int head;       // offset of byte 0 within chunks[first]
    private int size;       // bytes held

    private final MemoryBudget budget;

    SendBuffer(ByteBufAllocator alloc, MemoryBudget budget) {
        this.alloc = alloc;
        this.budget = budget;
    }

    /** Bytes held. */
    int size() {
        return size;
    }

    /** Appends up to {@code max} readable bytes of {@code src} (advancing its reader index); returns how many. */
    int append(ByteBuf src, int max) {
        int todo = Math.min(src.readableBytes(), max);
        int done = 0;
        while (done < todo) {
            int tailFill = (head + size) - (count - 1) * CHUNK; // bytes used in the last chunk
            if (count == 0 || tailFill == CHUNK) {
                addChunk();
                tailFill = count == 1 ? head : 0;
            }
            ByteBuf tail = chunks[(first + count - 1) & (chunks.length - 1)];
            int n = Math.min(todo - done, CHUNK - tailFill);
            src.readBytes(tail, tailFill, n);
            done += n;
            size += n;
        }
        return done;
    }

    /** Copies {@code len} bytes from {@code offset} (relative to byte 0) into {@code dst} at {@code dstIndex}. */
    void copy(int offset, ByteBuf dst, int dstIndex, int len) {
        if (offset < 0 || len < 0 || offset + len > size) {
            throw new IndexOutOfBoundsException("offset " + offset + " len " + len + " size " + size);
        }
        int pos = head + offset;
        while (len > 0) {
            ByteBuf c = chunks[(first + pos / CHUNK) & (chunks.length - 1)];
            int in = pos % CHUNK;
            int n = Math.min(len, CHUNK - in);
            copy(c, in, dst, dstIndex, n);
            dstIndex += n;
            pos += n;
            len -= n;
        }
    }

    /**
     * One chunk's bytes into a segment. Between two buffers with native addresses this is one memory copy: Netty's
     * {@code setBytes} between two adaptive-allocator buffers goes through a new {@code ByteBuffer} duplicate per call
     * (issue #12: 7 KB per MiB sent in {@code LoopbackEchoBenchmark.bulk}).
     */
    private static void copy(ByteBuf src, int srcIndex, ByteBuf dst, int dstIndex, int n) {
        if (src.hasMemoryAddress() && dst.hasMemoryAddress()) {
            if (dstIndex < 0 || n > dst.capacity() - dstIndex || srcIndex < 0 || n > src.capacity() - srcIndex) {
                throw new IndexOutOfBoundsException("copy of " + n + " bytes from " + srcIndex + " (capacity "
                        + src.capacity() + ") to " + dstIndex + " (capacity " + dst.capacity() + ")");
            }
            PlatformDependent.copyMemory(src.memoryAddress() + srcIndex, dst.memoryAddress() + dstIndex, n);
        } else {
            dst.setBytes(dstIndex, src, srcIndex, n);
        }
    }

    /** Drops the first {@code n} bytes (they were acknowledged). */
    void discard(int n) {
        if (n > size) {
            throw new IllegalArgumentException("discard " + n + " of " + size);
        }
        size -= n;
        head += n;
        while (head >= CHUNK || (count > 0 && size == 0 && head > 0)) {
            if (size == 0) {
                // Empty: keep no chunk around longer than needed.
                releaseAll();
                return;
            }
            chunks[first].release();
            budget.uncharge(CHUNK);
            chunks[first] = null;
            first = (first + 1) & (chunks.length - 1);
            count--;
            head -= CHUNK;
        }
    }

    /** Releases all memory. */
    void releaseAll() {
        for (int i = 0; i < count; i++) {
            int idx = (first + i) & (chunks.length - 1);
            chunks[idx].release();
            chunks[idx] = null;
        }
        budget.uncharge((long) count * CHUNK);
        first = 0;
        count = 0;
        head = 0;
        size = 0;
    }

    private void addChunk() {
        if (count == chunks.length) {
            ByteBuf[] n = new ByteBuf[Math.max(1, chunks.length * 2)];
            for (int i = 0; i < count; i++) {
                n[i] = chunks[(first + i) & (chunks.length - 1)];
            }
            chunks = n;
            first = 0;
        }
        if (count == 0) {
            head = 0;
        }
        chunks[(first + count) & (chunks.length - 1)] = alloc.directBuffer(CHUNK, CHUNK);
        budget.charge(CHUNK); // counted, never refused: SO_SNDBUF bounds what the application writes
        count++;
    }
}
