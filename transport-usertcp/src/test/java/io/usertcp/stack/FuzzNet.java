package io.usertcp.stack;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.usertcp.link.FaultModel;
import io.usertcp.link.MemoryLink;
import io.usertcp.ip.ArpTable;
import io.usertcp.sim.VirtualClock;
import io.usertcp.wire.IpAddress;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;

/**
 * The bench of {@link MalformedFrameFuzzTest}: two dual-stack stacks joined by an in-memory cable in virtual time,
 * as {@link io.usertcp.sim.TwoStacks} (stack {@code a} is 198.18.0.1 and fd00:198::1, the victim {@code b} is
 * 198.18.0.2 and fd00:198::2), but on an allocator of the test's choosing, so that the test can count what the
 * stacks leave allocated, with small TCP limits on the victim, and with every frame each side sends copied out
 * (as bytes) to a listener.
 */
final class FuzzNet implements AutoCloseable {
    static final int A_IP = 0xC6120001;
    static final int B_IP = 0xC6120002;
    static final IpAddress A4 = IpAddress.v4(A_IP);
    static final IpAddress B4 = IpAddress.v4(B_IP);
    static final IpAddress A6 = IpAddress.of(StackConfig.parseLiteral("fd00:198::1"));
    static final IpAddress B6 = IpAddress.of(StackConfig.parseLiteral("fd00:198::2"));
    /** The victim's limits: few half-open connections, short TIME-WAIT, so the bounds are reached. */
    static final int MAX_HALF_OPEN = 64;
    static final Duration TIME_WAIT = Duration.ofSeconds(5);

    final VirtualClock clock = new VirtualClock();
    final MemoryLink linkA;
    final MemoryLink linkB;
    final Stack a;
    final Stack b;
    final long macA;
    final long macB;
    /** Receives a copy of every frame a sends (all of them are addressed to b, or broadcast). */
    Consumer<byte[]> fromA = f -> { };
    /** Receives a copy of every frame b sends. */
    Consumer<byte[]> fromB = f -> { };

    FuzzNet(ByteBufAllocator alloc, long oneWayDelayNanos, FaultModel aToB, FaultModel bToA) {
        MemoryLink[] pair = MemoryLink.pair(1500, clock);
        linkA = pair[0].delay(oneWayDelayNanos).faults(aToB).tap(f -> fromA.accept(bytes(f)));
        linkB = pair[1].delay(oneWayDelayNanos).faults(bToA).tap(f -> fromB.accept(bytes(f)));
        macA = linkA.macAddress().toLong();
        macB = linkB.macAddress().toLong();
        a = new Stack(StackConfig.builder().link(linkA.factory()).address("198.18.0.1/24").address("fd00:198::1/64")
                .minRto(Duration.ofMillis(200)).seed(1).build(), linkA, clock, alloc);
        b = new Stack(StackConfig.builder().link(linkB.factory()).address("198.18.0.2/24").address("fd00:198::2/64")
                .minRto(Duration.ofMillis(200)).timeWait(TIME_WAIT).maxHalfOpen(MAX_HALF_OPEN)
                .defaultReceiveBuffer(256 << 10).defaultSendBuffer(256 << 10).seed(2).build(), linkB, clock, alloc);
    }

    static byte[] bytes(ByteBuf f) {
        byte[] b = new byte[f.readableBytes()];
        f.getBytes(f.readerIndex(), b);
        return b;
    }

    /** One turn of both stacks (what their event loops do); returns the work done. */
    int turn() {
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

    /** Runs until {@code done} or {@code limitNanos} of virtual time pass; idle turns jump to the next event. */
    boolean runUntil(BooleanSupplier done, long limitNanos) {
        long end = clock.nanoTime() + limitNanos;
        while (!done.getAsBoolean()) {
            if (clock.nanoTime() - end > 0) {
                return false;
            }
            if (turn() == 0) {
                long next = Math.min(Math.min(a.nextDeadline(), b.nextDeadline()),
                        Math.min(linkA.nextArrival(), linkB.nextArrival()));
                if (next == Long.MAX_VALUE) {
                    return done.getAsBoolean();
                }
                clock.advanceTo(Math.min(next, end + 1));
            }
        }
        return true;
    }

    void runFor(long nanos) {
        runUntil(() -> false, nanos);
    }

    /** The victim's ARP table. */
    static ArpTable arp(Stack s) {
        return s.arp();
    }

    @Override
    public void close() {
        a.close();
        b.close();
    }
}
