package io.usertcp.sim;

import io.usertcp.link.FaultModel;
import io.usertcp.stack.Stack;
import io.usertcp.tcp.TcpConnection;
import io.usertcp.tcp.TcpListener;
import io.usertcp.tcp.TcpState;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.api.Test;

import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.LongStream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Bulk transfers both ways between two stacks in virtual time, through seeded faults; every byte is
 * checked, and so is the close: orderly (no RST either way, each end CLOSED or TIME-WAIT), and nothing left
 * behind once TIME-WAIT is over ({@link #assertCleanClose}). A failing seed is in the test's name and replays
 * alone.
 */
class SimulatedTransferTest {
    private static final long MS = 1_000_000L;
    private static final long SEC = 1_000 * MS;

    static boolean trace;
    /** A pcapng file stack a writes its link's frames into (ReplaySeed's -Dpcap), or null. */
    static java.nio.file.Path pcap;

    static void transfer(long seed, FaultModel aToB, FaultModel bToA, long bytes, long delay) throws Exception {
        transfer(seed, aToB, bToA, bytes, delay, false);
    }

    static void transfer(long seed, FaultModel aToB, FaultModel bToA, long bytes, long delay, boolean ipv6)
            throws Exception {
        try (TwoStacks net = pcap == null ? new TwoStacks(delay, aToB, bToA) : new TwoStacks(delay, aToB, bToA,
                io.usertcp.stack.StackConfig.builder().minRto(java.time.Duration.ofMillis(200)).capture(pcap))) {
            if (trace) {
                net.linkA.tap(f -> System.out.println(net.clock.nanoTime() / 1000 + "us A " + Trace.describe(f)));
                net.linkB.tap(f -> System.out.println(net.clock.nanoTime() / 1000 + "us B " + Trace.describe(f)));
            }
            TcpListener l = net.b.tcp().listen(null, 5000, 16);
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
            assertCleanClose(net, client, s, where);
            l.close();
            client.release();
            s.release();
        }
    }

    /**
     * Both ends shut their output down once they had sent everything, so the close is the orderly one of
     * RFC 9293 §3.6: both FINs sent and acknowledged, no RST either way, each end in CLOSED or TIME-WAIT (an
     * end whose FIN went first lingers there; both do after FINs that crossed). After TIME-WAIT (2 MSL) both
     * connections are gone: each owner was told (EV_CLOSED, without an error) and neither stack keeps an
     * entry in its demux table. Counters are per seed: each transfer has stacks of its own.
     */
    static void assertCleanClose(TwoStacks net, Transfer client, Transfer server, String where) {
        TcpConnection cc = client.connection();
        TcpConnection sc = server.connection();
        boolean closing = net.runUntil(() -> doneClosing(cc) && doneClosing(sc), 600 * SEC);
        String states = " (client " + cc.state() + ", server " + sc.state() + "); " + where;
        assertThat(closing).as("both ends CLOSED or TIME-WAIT within 600 virtual s" + states).isTrue();
        assertThat(cc.state() == TcpState.TIME_WAIT || sc.state() == TcpState.TIME_WAIT)
                .as("one end closed first and lingers in TIME-WAIT" + states).isTrue();
        // Past TIME-WAIT, and until nothing is left on the cable: a late duplicate would meet a closed port.
        net.runUntil(() -> cc.isClosed() && sc.isClosed() && net.linkA.nextArrival() == Long.MAX_VALUE
                && net.linkB.nextArrival() == Long.MAX_VALUE, 600 * SEC);
        states = " (client " + cc.state() + ", server " + sc.state() + "); " + where;
        assertThat(cc.isClosed() && sc.isClosed()).as("both ends CLOSED after TIME-WAIT" + states).isTrue();
        assertThat(cc.error()).as("client's close" + states).isNull();
        assertThat(sc.error()).as("server's close" + states).isNull();
        assertThat(client.closed()).as("the client was told its connection closed" + states).isTrue();
        assertThat(server.closed()).as("the server was told its connection closed" + states).isTrue();
        for (Stack st : new Stack[] {net.a, net.b}) {
            String which = (st == net.a ? "a" : "b") + " " + st.stats() + states;
            assertThat(st.stats().tcpResetsOut).as("RSTs sent by " + which).isZero();
            assertThat(st.stats().tcpResetsIn).as("RSTs received by " + which).isZero();
            assertThat(st.tcp().connectionCount()).as("connections left in the demux table of " + which).isZero();
        }
    }

    private static boolean doneClosing(TcpConnection c) {
        return c.state() == TcpState.CLOSED || c.state() == TcpState.TIME_WAIT;
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
