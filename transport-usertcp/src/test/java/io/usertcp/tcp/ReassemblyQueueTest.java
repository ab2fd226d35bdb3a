package io.usertcp.tcp;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.buffer.Unpooled;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/** RFC 9293 §3.10.7.4 segment queueing: overlaps, holes, bounds. */
class ReassemblyQueueTest {
    private final ReassemblyQueue q = new ReassemblyQueue(PooledByteBufAllocator.DEFAULT);
    private final ReceiveQueue out = new ReceiveQueue(PooledByteBufAllocator.DEFAULT);
    private final ByteBuf stream = Unpooled.buffer(70_000);

    ReassemblyQueueTest() {
        for (int i = 0; i < stream.capacity(); i++) {
            stream.writeByte(i * 7 + (i >> 8));
        }
    }

    @AfterEach
    void release() {
        q.clear();
        out.clear();
        stream.release();
    }

    private void offer(int from, int to) {
        q.insert(from, stream, from, to - from);
    }

    private byte[] drainAll() {
        ByteBuf b = Unpooled.buffer(out.size());
        out.read(b);
        byte[] a = new byte[b.readableBytes()];
        b.readBytes(a);
        b.release();
        return a;
    }

    private byte[] expected(int from, int to) {
        byte[] a = new byte[to - from];
        stream.getBytes(from, a);
        return a;
    }

    @Test
    void overlappingSegmentsYieldEachByteOnceInOrder() {
        offer(100, 300);
        offer(50, 150);   // overlaps the left edge
        offer(250, 400);  // overlaps the right edge
        offer(120, 130);  // inside
        offer(10, 500);   // covers all
        assertThat(q.entries()).isEqualTo(1);
        assertThat(q.pull(0, out)).isZero(); // hole at 0..10
        assertThat(q.pull(10, out)).isEqualTo(490);
        assertThat(drainAll()).isEqualTo(expected(10, 500));
        assertThat(q.isEmpty()).isTrue();
    }

    @Test
    void pullTrimsDataAlreadyInOrder() {
        offer(100, 200);
        assertThat(q.pull(150, out)).isEqualTo(50);
        assertThat(drainAll()).isEqualTo(expected(150, 200));
    }

    @Test
    void thousandsOfOneByteSegmentsStayBoundedAndRetransmissionCompletesTheStream() {
        // A peer sends 20,000 one-byte segments backwards: everything is out of order.
        for (int i = 20_000; i > 0; i--) {
            offer(i, i + 1);
        }
        assertThat(q.entries()).isLessThanOrEqualTo(ReassemblyQueue.MAX_ENTRIES);
        // Then it retransmits forwards from the hole at 0, as a sender does; in-order bytes bypass the queue.
        long next = 0;
        for (int i = 0; i <= 20_000; i++) {
            if (i == next) {
                out.append(stream, i, 1);
                next = i + 1;
                next += q.pull(next, out);
            } else if (i > next) {
                offer(i, i + 1);
            }
        }
        assertThat(next).isEqualTo(20_001);
        assertThat(drainAll()).isEqualTo(expected(0, 20_001));
        assertThat(q.isEmpty()).isTrue();
    }

    @Test
    void isolatedOneByteSegmentsAreChargedAtTheirBufferSizeAndBounded() {
        // Issue #10: each isolated byte pins a small buffer; the charge, not the byte count, meets the limit.
        int chunk = ReassemblyQueue.MERGE_CHUNK;
        q.memoryLimit(16 * chunk);
        int refused = 0;
        for (int i = 1; i < 2000; i += 2) {
            if (!q.insert(i, stream, i, 1)) {
                refused++;
            }
        }
        assertThat(q.truesize()).isEqualTo(16L * chunk);
        assertThat(q.entries()).isEqualTo(16);
        assertThat(q.bytes()).isEqualTo(16);
        assertThat(refused).isEqualTo(1000 - 16);
        // Data nearer the hole displaces the furthest range (as Linux prunes its out-of-order queue).
        assertThat(q.insert(0, stream, 0, 1)).isTrue();
        assertThat(q.entries()).isEqualTo(16);
        assertThat(q.pull(0, out)).isEqualTo(2); // bytes 0 and 1 are now in order
        assertThat(q.truesize()).isEqualTo(14L * chunk);
    }

    @Test
    void theMemoryBudgetTurnsAwayWhatWouldNotFit() {
        io.usertcp.stats.MemoryBudget budget = new io.usertcp.stats.MemoryBudget(3L * ReassemblyQueue.MERGE_CHUNK);
        ReassemblyQueue limited = new ReassemblyQueue(PooledByteBufAllocator.DEFAULT, budget);
        try {
            assertThat(limited.insert(10, stream, 10, 1)).isTrue();
            assertThat(limited.insert(20, stream, 20, 1)).isTrue();
            assertThat(limited.insert(30, stream, 30, 1)).isTrue();
            assertThat(budget.used()).isEqualTo(3L * ReassemblyQueue.MERGE_CHUNK);
            assertThat(limited.insert(40, stream, 40, 1)).as("over the stack's budget").isFalse();
            assertThat(limited.pull(10, out)).isEqualTo(1);
            assertThat(budget.used()).isEqualTo(2L * ReassemblyQueue.MERGE_CHUNK);
        } finally {
            limited.clear();
        }
        assertThat(budget.used()).isZero();
    }

    @Test
    void fullSizedSegmentsAreChargedTheFrameTheyPin() {
        ByteBuf frame = Unpooled.directBuffer(1600, 1600);
        frame.writeZero(1600);
        try {
            q.insert(100, frame, 54, 1460); // most of the frame: held as a slice of it
            assertThat(q.truesize()).isEqualTo(1600);
            q.memoryLimit(3000);
            assertThat(q.insert(5000, frame, 54, 1460)).as("a second frame exceeds the limit").isFalse();
            assertThat(q.pull(100, out)).isEqualTo(1460);
            assertThat(q.truesize()).isZero();
        } finally {
            frame.release();
        }
    }

    @Test
    void sackBlocksDescribeHeldRanges() {
        offer(100, 200);
        offer(200, 250); // adjacent: one block
        offer(400, 500);
        int[] blocks = new int[8];
        int n = q.sackBlocks(0, 1000, blocks, 4);
        assertThat(n).isEqualTo(2);
        assertThat(blocks[0]).isEqualTo(1100);
        assertThat(blocks[1]).isEqualTo(1250);
        assertThat(blocks[2]).isEqualTo(1400);
        assertThat(blocks[3]).isEqualTo(1500);
    }
}
