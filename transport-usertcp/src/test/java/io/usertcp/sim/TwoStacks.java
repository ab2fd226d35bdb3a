package io.usertcp.sim;

import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.PooledByteBufAllocator;
import io.usertcp.link.FaultModel;
import io.usertcp.link.MemoryLink;
import io.usertcp.stack.Stack;
import io.usertcp.stack.StackConfig;
import io.usertcp.wire.IpAddress;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.function.BooleanSupplier;

/**
 * Two stacks joined by an in-memory cable, run in virtual time by a single-threaded loop: the test bench
 * for TCP. Stack {@code a} is 198.18.0.1 and fd00:198::1, stack {@code b} is 198.18.0.2 and fd00:198::2.
 */
public final class TwoStacks implements AutoCloseable {
    public static final int A_IP = 0xC6120001;
    public static final int B_IP = 0xC6120002;
    public static final IpAddress A_IP6 = IpAddress.of(StackConfig.parseLiteral("fd00:198::1"));
    public static final IpAddress B_IP6 = IpAddress.of(StackConfig.parseLiteral("fd00:198::2"));

    public final VirtualClock clock = new VirtualClock();
    public final MemoryLink linkA;
    public final MemoryLink linkB;
    public final Stack a;
    public final Stack b;

    public TwoStacks(long oneWayDelayNanos, FaultModel aToB, FaultModel bToA) {
        this(oneWayDelayNanos, aToB, bToA, StackConfig.builder().minRto(Duration.ofMillis(200)));
    }

    public TwoStacks(long oneWayDelayNanos, FaultModel aToB, FaultModel bToA, StackConfig.Builder common) {
        MemoryLink[] pair = MemoryLink.pair(1500, clock);
        linkA = pair[0].delay(oneWayDelayNanos).faults(aToB);
        linkB = pair[1].delay(oneWayDelayNanos).faults(bToA);
        ByteBufAllocator alloc = PooledByteBufAllocator.DEFAULT;
        // Fixed seeds: ISNs, ports and timestamp offsets are the same on every run, so a seed replays exactly.
        a = new Stack(common.link(linkA.factory()).address("198.18.0.1/24").address("fd00:198::1/64").seed(1).build(), linkA, clock, alloc);
        b = new Stack(rebuild(common).link(linkB.factory()).address("198.18.0.2/24").address("fd00:198::2/64").seed(2).build(), linkB, clock,
                alloc);
    }

    private static StackConfig.Builder rebuild(StackConfig.Builder common) {
        // The builder accumulates addresses: take a fresh one with the same TCP settings for b.
        StackConfig c = common.build();
        return StackConfig.builder().minRto(c.minRto()).timeWait(c.timeWait())
                .defaultReceiveBuffer(c.defaultReceiveBuffer()).defaultSendBuffer(c.defaultSendBuffer())
                .maxHalfOpen(c.maxHalfOpen());
    }

    /** One turn of both stacks; returns the work done. */
    public int turn() {
        try {
            int w = 0;
            for (Stack s : new Stack[] {a, b}) {
                w += s.pollLink(64);
                w += s.runTimers();
                w += s.dispatchEvents();
                s.flush();
            }
            return w;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Runs until {@code done} holds or {@code limitNanos} of virtual time pass; returns whether done. Idle
     * turns jump the clock to the next timer or frame arrival.
     */
    public boolean runUntil(BooleanSupplier done, long limitNanos) {
        long end = clock.nanoTime() + limitNanos;
        while (!done.getAsBoolean()) {
            if (clock.nanoTime() - end > 0) {
                return false;
            }
            if (turn() == 0) {
                long next = Math.min(Math.min(a.nextDeadline(), b.nextDeadline()),
                        Math.min(linkA.nextArrival(), linkB.nextArrival()));
                if (next == Long.MAX_VALUE) {
                    return done.getAsBoolean(); // nothing will ever happen again
                }
                clock.advanceTo(next);
            }
        }
        return true;
    }

    /** Runs for {@code nanos} of virtual time. */
    public void runFor(long nanos) {
        runUntil(() -> false, nanos);
    }

    @Override
    public void close() {
        a.close();
        b.close();
    }
}
