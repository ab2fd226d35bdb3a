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
 * The heap an idle ESTABLISHED connection holds (issue #12: at most 2 KiB per idle connection, Netty's channel
 * included), on each of two simulated stacks, each connection having echoed one small message (so its buffers were
 * used and emptied and its RACK flight given back): a regression guard, always run, that counts the live objects of
 * {@value #GUARD_N} connections per stack from class histograms before they open and after and holds them to
 * {@value #BOUND} bytes each; and a measurement on request from the JVM's used heap, {@code -Dusertcp.measure=true
 * -Dtest=IdleConnectionFootprintTest} ({@code -Dusertcp.measure.connections=100000} for the 100,000 of issue #12,
 * {@code -Dusertcp.measure.histogram=true} for the classes it is made of).
 */
class IdleConnectionFootprintTest {
    /**
     * The bound on the stack's heap per idle connection, in the simulation (no Netty channel; the test's handler
     * lambdas, ~20 bytes, included; the stacks' spare RACK flights are in the baseline): 1,164 bytes when it was set
     * (5,000 connections per stack, class histograms), from 1,401 with seven timer objects per connection and ~2,060
     * before issue #12's work on it.
     */
    static final long BOUND = 1216;
    /** Connections per stack in the guard. */
    static final int GUARD_N = 5_000;
    /** Connections per stack in the measurement: {@code -Dusertcp.measure.connections=100000} for issue #12's. */
    private static final int N = Integer.getInteger("usertcp.measure.connections", 10_000);
    private static final long MS = 1_000_000L;
    private static final long SEC = 1000 * MS;

    /** What is measured when the connections are about to open and when they are idle. */
    private interface Probe {
        void at(boolean idle) throws Exception;
    }

    @Test
    void anIdleConnectionHoldsAtMostTheBound() throws Exception {
        HeapHistogram[] h = new HeapHistogram[2];
        openIdle(GUARD_N, idle -> h[idle ? 1 : 0] = HeapHistogram.take());
        long perConnection = h[1].grewSince(h[0]) / (2L * GUARD_N);
        System.out.printf("ESTABLISHED, idle: %d connections on each of two stacks, %d bytes of live objects each%n",
                GUARD_N, perConnection);
        assertThat(perConnection).as("bytes per idle connection (what grew:%n%s)", h[1].since(h[0], 2L * GUARD_N, 30))
                .isPositive().isLessThanOrEqualTo(BOUND);
    }

    @Test
    @EnabledIfSystemProperty(named = "usertcp.measure", matches = "true", disabledReason = "a measurement: on request")
    void heapOfAnIdleEstablishedConnection() throws Exception {
        boolean histogram = Boolean.getBoolean("usertcp.measure.histogram");
        HeapHistogram[] h = new HeapHistogram[2];
        long[] heap = new long[2];
        long echoNanos = openIdle(N, idle -> {
            if (histogram) {
                h[idle ? 1 : 0] = HeapHistogram.take();
            }
            heap[idle ? 1 : 0] = TimeWaitFootprintTest.usedHeap();
        });
        if (histogram) {
            System.out.println("per connection (" + 2 * N + " connections):\n" + h[1].since(h[0], 2L * N, 45));
        }
        long perConnection = (heap[1] - heap[0]) / (2L * N);
        System.out.printf("ESTABLISHED, idle: %d connections on each of two stacks held %d bytes of heap, "
                + "%d bytes each; one 4-byte echo on every connection took %d ms of wall time%n", N,
                heap[1] - heap[0], perConnection, echoNanos / 1_000_000);
        assertThat(perConnection).isPositive().isLessThanOrEqualTo(BOUND);
    }

    /**
     * Opens {@code n} connections from one stack to the other, 200 at a time, echoes four bytes on each and lets them
     * go idle; {@code probe} runs before they open and once they are idle. Returns the wall time of the echoes.
     */
    private static long openIdle(int n, Probe probe) throws Exception {
        int ports = (n + 19_999) / 20_000; // the client has one address and ~28,000 ephemeral ports towards each
        StackConfig.Builder config = StackConfig.builder().minRto(Duration.ofMillis(200));
        try (TwoStacks net = new TwoStacks(MS, FaultModel.NONE, FaultModel.NONE, config)) {
            List<TcpConnection> clients = new ArrayList<>();
            List<TcpConnection> servers = new ArrayList<>();
            long[] echoed = {0};
            for (int p = 0; p < ports; p++) {
                echoOn(net.b.tcp().listen(null, 80 + p, 1024), servers);
            }
            net.runFor(SEC); // ARP and the first timers, before the baseline
            warmUp(net, ports, servers);
            probe.at(false);
            for (int i = 0; i < n; i += 200) {
                for (int j = 0; j < 200; j++) {
                    TcpConnection c = net.a.tcp().connect(0, 0, TwoStacks.B_IP, 80 + (i + j) % ports);
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
                assertThat(net.runUntil(() -> servers.size() == want, 10 * SEC))
                        .as("accepted %d of %d", servers.size(), want).isTrue();
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
            assertThat(net.runUntil(() -> echoed[0] == n, 30 * SEC)).as("echoed %d", echoed[0]).isTrue();
            long echoNanos = System.nanoTime() - t0;
            net.runFor(5 * SEC); // delayed ACKs, RTO timers settle; nothing in flight
            probe.at(true);
            assertThat(clients).allMatch(c -> !c.isClosed());
            assertThat(servers).allMatch(c -> !c.isClosed());
            return echoNanos;
        }
    }

    /**
     * Connections that echo and close before the baseline, so that what a stack keeps once (its spare RACK flights,
     * the first growth of its tables) is in it; returns when they are all gone (TIME-WAIT included).
     */
    private static void warmUp(TwoStacks net, int ports, List<TcpConnection> servers) throws Exception {
        List<TcpConnection> warm = new ArrayList<>();
        for (int i = 0; i < 1200; i++) {
            TcpConnection c = net.a.tcp().connect(0, 0, TwoStacks.B_IP, 80 + i % ports);
            c.handler(ev -> {
                io.netty.buffer.ByteBuf b = Unpooled.directBuffer(64);
                try {
                    if (c.read(b) > 0) {
                        c.close();
                    }
                } finally {
                    b.release();
                }
            });
            warm.add(c);
            if (i % 200 == 199) {
                net.runFor(SEC / 10);
            }
        }
        assertThat(net.runUntil(() -> warm.stream().allMatch(TcpConnection::isEstablished), 10 * SEC)).isTrue();
        for (TcpConnection c : warm) {
            io.netty.buffer.ByteBuf b = Unpooled.directBuffer(4).writeInt(0x01020304);
            try {
                c.write(b);
                c.push();
            } finally {
                b.release();
            }
        }
        net.runFor(150 * SEC); // echoed, closed on both sides, TIME-WAIT over
        assertThat(warm).allMatch(TcpConnection::isClosed);
        assertThat(servers).allMatch(TcpConnection::isClosed);
        servers.clear();
    }

    /** Accepts every connection on {@code l} into {@code servers}, each echoing what it reads and closing after. */
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
                        if (s.isInputEnded()) {
                            s.close();
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
