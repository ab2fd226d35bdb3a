package io.usertcp.tcp;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.usertcp.stats.MemoryBudget;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/** The in-order receive queue against the stack's memory budget (issue #10). */
class ReceiveQueueTest {
    @Test
    void heldBuffersCountAgainstTheBudgetAndAConnectionWithDataIsTurnedAwayWhenItIsUsedUp() {
        MemoryBudget budget = new MemoryBudget(40_000);
        ReceiveQueue q = new ReceiveQueue(PooledByteBufAllocator.DEFAULT, budget);
        ReceiveQueue other = new ReceiveQueue(PooledByteBufAllocator.DEFAULT, budget);
        ByteBuf frame = Unpooled.directBuffer(1500, 1500).writeZero(1500);
        ByteBuf out = Unpooled.buffer(100_000);
        try {
            assertThat(q.admits(1400)).isTrue();
            for (int i = 0; i < 26; i++) {
                q.append(frame, 100, 1400); // most of the frame: held as a slice that pins all 1500 bytes
            }
            assertThat(budget.used()).isEqualTo(26 * 1500);
            assertThat(q.admits(1400)).as("26 * 1500 + 1400 > 40000").isFalse();
            assertThat(other.admits(1400)).as("an empty queue may always take one segment").isTrue();
            other.append(frame, 100, 10); // a small payload: copied into a 16 KiB chunk
            assertThat(budget.used()).isEqualTo(26 * 1500 + 16384);
            assertThat(q.read(out)).isEqualTo(26 * 1400);
            other.clear();
            assertThat(budget.used()).isZero();
            assertThat(budget.peak()).isEqualTo(26 * 1500 + 16384);
        } finally {
            q.clear();
            other.clear();
            frame.release();
            out.release();
        }
    }
}
