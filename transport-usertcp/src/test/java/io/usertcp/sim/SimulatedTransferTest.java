package io.usertcp.sim;

import io.usertcp.link.FaultModel;
import io.usertcp.tcp.TcpConnection;
import io.usertcp.tcp.TcpListener;
import io.usertcp.tcp.TcpSocket;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.api.Test;

import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.LongStream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Bulk transfers both ways between two stacks in virtual time, through seeded faults; every byte is
 * checked. A failing seed is in the test's name and replays alone.
 */
class SimulatedTransferTest {
    private static final long MS = 1_000_000L;
    private static final long SEC = 1_000 * MS;

    static boolean trace;

    static void transfer(long seed, FaultModel aToB, FaultModel bToA, long bytes, long delay) throws Exception {
        transfer(seed, aToB, bToA, bytes, delay, false);
    }

    static void transfer(long seed, FaultModel aToB, FaultModel bToA, long bytes, long delay, boolean ipv6)
            throws Exception {
        try (TwoStacks net = new TwoStacks(delay, aToB, bToA)) {
            if (trace) {
                net.linkA.tap(f -> System.out.println(net.clock.nanoTime() / 1000 + "us A " + Trace.describe(f)));
                net.linkB.tap(f -> System.out.println(net.clock.nanoTime() / 1000 + "us B " + Trace.describe(f)));
            }
            TcpListener l = net.b.tcp().listen(0, 5000, 16);
            AtomicReference<Transfer> server = new AtomicReference<>();
            l.handler(ev -> {
                TcpConnection c;
                while ((c = l.accept()) != null) {
                    Transfer t = new Transfer(c, bytes);
                    server.set(t);
                    t.pump();
                    t.drain();
                }
            });
            TcpConnection cc = ipv6 ? net.a.tcp().connect(null, 0, TwoStacks.B_IP6, 5000, 0, 0)
                    : net.a.tcp().connect(0, 0, TwoStacks.B_IP, 5000);
            Transfer client = new Transfer(cc, bytes);
            boolean done = net.runUntil(() -> server.get() != null && client.finSeen() && server.get().finSeen(),
                    600 * SEC);
            Transfer s = server.get();
            String where = "seed " + seed + (ipv6 ? " (IPv6)" : "") + " faults a->b " + aToB + " b->a " + bToA + ": client sent "
                    + client.sent() + " got " + client.received() + ", server "
                    + (s == null ? "none" : "sent " + s.sent() + " got " + s.received())
                    + ", a " + net.a.stats() + ", b " + net.b.stats();
            assertThat(done).as("transfer finished in 600 virtual s; " + where).isTrue();
            assertThat(client.firstBadOffset()).as(where).isEqualTo(-1);
            assertThat(s.firstBadOffset()).as(where).isEqualTo(-1);
            assertThat(client.received()).as(where).isEqualTo(bytes);
            assertThat(s.received()).as(where).isEqualTo(bytes);
            client.release();
            s.release();
        }
    }

    @Test
    void cleanLinkMovesFourMegabytesEachWay() throws Exception {
        transfer(0, FaultModel.NONE, FaultModel.NONE, 4 << 20, 50_000);
    }

    @Test
    void fivePercentLossBothWays() throws Exception {
        transfer(1, FaultModel.of(0.05, 0, 0, 0, 1), FaultModel.of(0.05, 0, 0, 0, 2), 1 << 20, 100_000);
    }

    static LongStream seeds() {
        return LongStream.range(0, 2000);
    }

    @Test
    void cleanLinkMovesFourMegabytesEachWayOverIpv6() throws Exception {
        transfer(0, FaultModel.NONE, FaultModel.NONE, 4 << 20, 50_000, true);
    }

    static LongStream ipv6Seeds() {
        return LongStream.range(0, 500);
    }

    /**
     * The same faults over IPv6, which has no header checksum: a corrupted header must be caught by the
     * transport checksum's pseudo-header or the length checks, never delivered.
     */
    @ParameterizedTest(name = "IPv6 seed {0}")
    @MethodSource("ipv6Seeds")
    void seededFaultsOverIpv6(long seed) throws Exception {
        seeded(seed, true);
    }

    @ParameterizedTest(name = "seed {0}")
    @MethodSource("seeds")
    void seededFaults(long seed) throws Exception {
        seeded(seed, false);
    }

    static void seeded(long seed, boolean ipv6) throws Exception {
        java.util.SplittableRandom r = new java.util.SplittableRandom(seed);
        FaultModel ab = FaultModel.of(r.nextDouble() * 0.1, r.nextDouble() * 0.05, r.nextDouble() * 0.05,
                r.nextDouble() * 0.02, r.nextLong());
        FaultModel ba = FaultModel.of(r.nextDouble() * 0.1, r.nextDouble() * 0.05, r.nextDouble() * 0.05,
                r.nextDouble() * 0.02, r.nextLong());
        long bytes = 16_384 + r.nextInt(200_000);
        transfer(seed, ab, ba, bytes, 10_000 + r.nextInt(5_000_000), ipv6);
    }
}
