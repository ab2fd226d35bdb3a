package io.usertcp.tcp;

import io.usertcp.util.SipHash;

import io.netty.buffer.UnpooledByteBufAllocator;
import io.usertcp.time.Clock;
import io.usertcp.stack.Stack;
import io.usertcp.stack.StackConfig;
import io.usertcp.time.TimerQueue;
import io.usertcp.wire.IpAddress;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;

/** The SYN queue's table and its one-timer retransmission schedule. */
class SynQueueTest {
    private static final long SEC = 1_000_000_000L;

    @Test
    void everyRecordIsRetriedAt1_3_7_15_31sAndDroppedAt63sUnlessRemoved() throws Exception {
        long[] now = {0};
        Clock clock = () -> now[0];
        try (Stack stack = new Stack(StackConfig.builder().build(), null, clock, UnpooledByteBufAllocator.DEFAULT)) {
            TcpListener l = stack.tcp().listen(null, 80, 16);
            TimerQueue timers = new TimerQueue();
            Map<SynReceived, List<Long>> events = new HashMap<>();
            List<SynReceived> exhausted = new ArrayList<>();
            SynQueue q = new SynQueue(timers, new SipHash(7, 8), new SynQueue.Expiry() {
                @Override
                public void retransmit(SynReceived r) {
                    events.get(r).add(now[0]);
                }

                @Override
                public void exhausted(SynReceived r) {
                    events.get(r).add(-now[0]);
                    exhausted.add(r);
                }
            });
            SplittableRandom rnd = new SplittableRandom(3);
            List<SynReceived> all = new ArrayList<>();
            Map<SynReceived, Long> added = new HashMap<>();
            List<SynReceived> removed = new ArrayList<>();
            // 3000 records over 10 s; a third are removed (completed, reset) at random times.
            for (int i = 0; i < 3000; i++) {
                long next = now[0] + rnd.nextLong(SEC / 300);
                while (timers.nextDeadline() - next <= 0) { // every timer at its deadline
                    now[0] = timers.nextDeadline();
                    timers.runExpired(now[0]);
                }
                now[0] = next;
                long rLo = IpAddress.mappedLo(0xC6130000 | i);
                SynReceived r = new SynReceived(0, IpAddress.mappedLo(0xC6120002), 80, 0, rLo, 1000 + i,
                        q.hash(0, IpAddress.mappedLo(0xC6120002), 80, 0, rLo, 1000 + i), l, i, i, 65535, 1460, -1,
                        false, false, 0);
                events.put(r, new ArrayList<>());
                q.add(r, now[0]);
                added.put(r, now[0]);
                all.add(r);
                if (rnd.nextInt(3) == 0) {
                    SynReceived victim = all.get(rnd.nextInt(all.size()));
                    if (!removed.contains(victim) && !exhausted.contains(victim)) {
                        q.remove(victim);
                        removed.add(victim);
                    }
                }
            }
            assertThat(q.size()).isEqualTo(l.halfOpen()).isEqualTo(3000 - removed.size());
            for (SynReceived r : all) {
                assertThat(q.find(r.localHi, r.localLo, r.localPort, r.remoteHi, r.remoteLo, r.remotePort, r.hash))
                        .isSameAs(removed.contains(r) ? null : r);
            }
            // Run the timer to the end, one step at a time.
            while (timers.nextDeadline() != TimerQueue.NONE) {
                now[0] = timers.nextDeadline();
                timers.runExpired(now[0]);
            }
            assertThat(q.size()).isZero();
            assertThat(l.halfOpen()).isZero();
            for (SynReceived r : all) {
                long t = added.get(r);
                if (removed.contains(r)) {
                    // Nothing after its removal (it may have been retried before).
                    assertThat(events.get(r)).allMatch(e -> e > 0);
                    continue;
                }
                assertThat(events.get(r)).containsExactly(t + SEC, t + 3 * SEC, t + 7 * SEC, t + 15 * SEC,
                        t + 31 * SEC, -(t + 63 * SEC));
            }
        }
    }
}
