package io.usertcp.sim;

import io.netty.buffer.Unpooled;
import io.usertcp.link.FaultModel;
import io.usertcp.stack.StackConfig;
import io.usertcp.tcp.TcpConnection;
import io.usertcp.tcp.TcpListener;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A measurement, not a timed test (issue #12: at most 2 KiB of heap per idle established connection): the heap that
 * {@value #N} idle ESTABLISHED connections hold on each of two simulated stacks, each having echoed one small
 * message (so their buffers were used and emptied), from the JVM's used heap before they open and after. Run on
 * request only: {@code -Dusertcp.measure=true -Dtest=IdleConnectionFootprintTest}; add
 * {@code -Dusertcp.measure.histogram=true} for the class histogram.
 */
@EnabledIfSystemProperty(named = "usertcp.measure", matches = "true", disabledReason = "a measurement: run on request")
class IdleConnectionFootprintTest {
    /** Connections per stack: {@code -Dusertcp.measure.connections=100000} for the 100,000 of issue #12. */
    private static final int N = Integer.getInteger("usertcp.measure.connections", 10_000);
    /** Server ports: the client has one address and about 28,000 ephemeral ports towards each. */
    private static final int PORTS = (N + 19_999) / 20_000;
    private static final long MS = 1_000_000L;
    private static final long SEC = 1000 * MS;

    @Test
    void heapOfAnIdleEstablishedConnection() throws Exception {
        StackConfig.Builder config = StackConfig.builder().minRto(Duration.ofMillis(200));
        try (TwoStacks net = new TwoStacks(MS, FaultModel.NONE, FaultModel.NONE, config)) {
            List<TcpConnection> clients = new ArrayList<>();
            List<TcpConnection> servers = new ArrayList<>();
            long[] echoed = {0};
            for (int p = 0; p < PORTS; p++) {
                echoOn(net.b.tcp().listen(null, 80 + p, 1024), servers);
            }
            net.runFor(SEC); // ARP and the first timers, before the baseline
            boolean histogram = Boolean.getBoolean("usertcp.measure.histogram");
            HeapHistogram baseline = histogram ? HeapHistogram.take() : null;
            long before = TimeWaitFootprintTest.usedHeap();
            for (int i = 0; i < N; i += 200) {
                for (int j = 0; j < 200; j++) {
                    TcpConnection c = net.a.tcp().connect(0, 0, TwoStacks.B_IP, 80 + (i + j) % PORTS);
                    c.handler(ev -> {
                        io.netty.buffer.ByteBuf b = Unpooled.directBuffer(64);
                        try {
                            if (c.read(b) > 0) {
                                echoed[0]++;
                            }
                        } finally {
                            b.release();
                        }
                    });
                    clients.add(c);
                }
                int want = clients.size();
                assertThat(net.runUntil(() -> servers.size() == want, 10 * SEC)).as("accepted %d of %d", servers.size(), want).isTrue();
            }
            for (TcpConnection c : clients) {
                io.netty.buffer.ByteBuf b = Unpooled.directBuffer(4).writeInt(0x01020304);
                try {
                    c.write(b);
                    c.push();
                } finally {
                    b.release();
                }
            }
            long t0 = System.nanoTime();
            assertThat(net.runUntil(() -> echoed[0] == N, 30 * SEC)).as("echoed %d", echoed[0]).isTrue();
            long echoNanos = System.nanoTime() - t0;
            net.runFor(5 * SEC); // delayed ACKs, RTO timers settle; nothing in flight
            long after = TimeWaitFootprintTest.usedHeap();
            if (histogram) {
                System.out.println("per connection (" + 2 * N + " connections):\n"
                        + HeapHistogram.take().since(baseline, 2L * N, 45));
            }
            long perConnection = (after - before) / (2L * N);
            System.out.printf("ESTABLISHED, idle: %d connections on each of two stacks held %d bytes of heap, "
                    + "%d bytes each; one 4-byte echo on every connection took %d ms of wall time%n", N,
                    after - before, perConnection, echoNanos / 1_000_000);
            assertThat(perConnection).isPositive();
            assertThat(clients).allMatch(c -> !c.isClosed());
        }
    }

    /** Accepts every connection on {@code l} into {@code servers}, each echoing what it reads. */
    private static void echoOn(TcpListener l, List<TcpConnection> servers) {
        l.handler(ev -> {
            TcpConnection c;
            while ((c = l.accept()) != null) {
                TcpConnection s = c;
                servers.add(s);
                s.handler(e -> {
                    io.netty.buffer.ByteBuf b = Unpooled.directBuffer(64);
                    try {
                        if (s.read(b) > 0) {
                            s.write(b);
                            s.push();
                        }
                    } catch (java.io.IOException ex) {
                        throw new java.io.UncheckedIOException(ex);
                    } finally {
                        b.release();
                    }
                });
            }
        });
    }
}
