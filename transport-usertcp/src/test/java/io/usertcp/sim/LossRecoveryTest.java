package io.usertcp.sim;

import io.usertcp.link.FaultModel;
import io.usertcp.tcp.TcpConnection;
import io.usertcp.tcp.TcpListener;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.concurrent.atomic.AtomicReference;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Loss recovery under heavy loss: 4 MiB each way through 5% drop and 2% reordering in both directions, in
 * virtual time. Every byte is checked; the virtual duration and the number of retransmission timeouts are
 * printed (they measure RACK-TLP, RFC 8985, against waiting for the RTO), not asserted.
 */
class LossRecoveryTest {
    private static final long MS = 1_000_000L;
    private static final long SEC = 1_000 * MS;
    private static final long BYTES = 4 << 20;
    private static final long ONE_WAY_DELAY = 10 * MS;

    @ParameterizedTest(name = "seed {0}")
    @ValueSource(longs = {1, 2, 3, 4, 5, 6, 7, 8})
    void fourMegabytesEachWayThroughFivePercentLossAndReordering(long seed) throws Exception {
        FaultModel aToB = FaultModel.of(0.05, 0, 0.02, 0, seed * 2);
        FaultModel bToA = FaultModel.of(0.05, 0, 0.02, 0, seed * 2 + 1);
        try (TwoStacks net = new TwoStacks(ONE_WAY_DELAY, aToB, bToA)) {
            TcpListener l = net.b.tcp().listen(0, 5000, 16);
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
            System.out.printf("LossRecoveryTest seed %d: %.3f virtual s, RTO timeouts a=%d b=%d, retransmits a=%d b=%d%n",
                    seed, took / 1e9, net.a.stats().tcpTimeouts, net.b.stats().tcpTimeouts,
                    net.a.stats().tcpRetransmits, net.b.stats().tcpRetransmits);
            client.release();
            s.release();
        }
    }
}
