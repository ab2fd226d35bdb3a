package io.usertcp.sim;

import io.usertcp.link.FaultModel;
import io.usertcp.stack.Stack;
import io.usertcp.tcp.TcpConnection;
import io.usertcp.tcp.TcpListener;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.concurrent.atomic.AtomicReference;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Loss recovery under heavy loss: 4 MiB each way through 5% drop and 2% reordering in both directions, in
 * virtual time. Every byte is checked, and so is how the losses were repaired (RACK-TLP, RFC 8985): about 144
 * of each direction's 2873 data segments are lost, and nearly all of them must be found by RACK and the tail
 * loss probe rather than by waiting for the retransmission timer.
 *
 * <p>The bounds are the figures of the eight seeds when they were set (0-2 RTO timeouts per stack, 219-283
 * retransmissions per stack, 12.9-15.6 virtual s) with a margin, and what RFC 8985 leads to expect: RTO
 * recovery only when a retransmission and its probe are lost too (a few per run, not one per loss); every
 * lost segment resent, spurious retransmissions for reordering kept low by RACK's reordering window (§6.2)
 * and D-SACK (§6.2 step 4); a completion time near what loss-limited throughput allows (about
 * 1.22 * MSS / (RTT * sqrt(p)), 400 KB/s here, so 10.5 s) rather than one RTO stall per loss (29 s of
 * 200 ms stalls for 144 losses, on top of the transfer).
 */
class LossRecoveryTest {
    private static final long MS = 1_000_000L;
    private static final long SEC = 1_000 * MS;
    private static final long BYTES = 4 << 20;
    private static final long ONE_WAY_DELAY = 10 * MS;
    /** Data segments each way: 4 MiB in 1460-byte segments. */
    private static final long SEGMENTS = (BYTES + 1459) / 1460;
    /** RTO timeouts per stack: a few at most (the eight seeds had 0-2). */
    private static final long MAX_RTO_TIMEOUTS = 4;
    /** At least the 5% that was dropped, less a margin for the luck of the draw (143 expected, 100 here). */
    private static final long MIN_RETRANSMITS = 100;
    /** 12% of the segments: the 5% lost, their own losses, the spurious ones (the eight seeds: 7.6-9.9%). */
    private static final long MAX_RETRANSMITS = SEGMENTS * 12 / 100;
    /** Virtual time for the whole transfer (the eight seeds: 12.9-15.6 s). */
    private static final long MAX_DURATION = 20 * SEC;

    @ParameterizedTest(name = "seed {0}")
    @ValueSource(longs = {1, 2, 3, 4, 5, 6, 7, 8})
    void fourMegabytesEachWayThroughFivePercentLossAndReordering(long seed) throws Exception {
        FaultModel aToB = FaultModel.of(0.05, 0, 0.02, 0, seed * 2);
        FaultModel bToA = FaultModel.of(0.05, 0, 0.02, 0, seed * 2 + 1);
        try (TwoStacks net = new TwoStacks(ONE_WAY_DELAY, aToB, bToA)) {
            TcpListener l = net.b.tcp().listen(null, 5000, 16);
            AtomicReference<Transfer> server = new AtomicReference<>();
            l.handler(ev -> {
                TcpConnection c;
                while ((c = l.accept()) != null) {
                    Transfer t = new Transfer(c, BYTES);
                    server.set(t);
                    t.pump();
                    t.drain();
                }
            });
            long start = net.clock.nanoTime();
            Transfer client = new Transfer(net.a.tcp().connect(0, 0, TwoStacks.B_IP, 5000), BYTES);
            boolean done = net.runUntil(() -> server.get() != null && client.finSeen() && server.get().finSeen(),
                    600 * SEC);
            long took = net.clock.nanoTime() - start;
            Transfer s = server.get();
            String where = "seed " + seed + ": a " + net.a.stats() + ", b " + net.b.stats();
            assertThat(done).as("finished in 600 virtual s; " + where).isTrue();
            assertThat(client.firstBadOffset()).as(where).isEqualTo(-1);
            assertThat(s.firstBadOffset()).as(where).isEqualTo(-1);
            assertThat(client.received()).as(where).isEqualTo(BYTES);
            assertThat(s.received()).as(where).isEqualTo(BYTES);
            String figures = String.format("seed %d: %.3f virtual s, RTO timeouts a=%d b=%d, retransmits a=%d b=%d",
                    seed, took / 1e9, net.a.stats().tcpTimeouts, net.b.stats().tcpTimeouts,
                    net.a.stats().tcpRetransmits, net.b.stats().tcpRetransmits);
            System.out.println("LossRecoveryTest " + figures);
            for (Stack st : new Stack[] {net.a, net.b}) {
                String which = (st == net.a ? "a, " : "b, ") + figures + "; " + where;
                assertThat(st.stats().tcpTimeouts).as("RTO timeouts of " + which).isLessThanOrEqualTo(MAX_RTO_TIMEOUTS);
                assertThat(st.stats().tcpRetransmits).as("retransmissions of " + which)
                        .isBetween(MIN_RETRANSMITS, MAX_RETRANSMITS);
            }
            assertThat(took).as("virtual nanoseconds for the transfer, " + figures).isLessThanOrEqualTo(MAX_DURATION);
            client.release();
            s.release();
        }
    }
}
