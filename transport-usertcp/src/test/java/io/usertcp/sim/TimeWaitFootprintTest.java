package io.usertcp.sim;

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
 * A measurement, not a timed test: the heap a connection in TIME-WAIT holds, estimated from the JVM's used heap
 * with {@value #N} connections in TIME-WAIT and after they expired (no JOL offline): at most 256 bytes each, as
 * their application closed them and so the stack holds compact records (issue #10). Run on request only, as it
 * takes a few seconds and a quiet machine: {@code -Dusertcp.measure=true -Dtest=TimeWaitFootprintTest}.
 */
@EnabledIfSystemProperty(named = "usertcp.measure", matches = "true", disabledReason = "a measurement: run on request")
class TimeWaitFootprintTest {
    private static final int N = 10_000;
    private static final long MS = 1_000_000L;
    private static final long SEC = 1000 * MS;

    static long usedHeap() throws InterruptedException {
        Runtime rt = Runtime.getRuntime();
        long best = Long.MAX_VALUE;
        for (int i = 0; i < 5; i++) {
            System.gc();
            Thread.sleep(50);
            best = Math.min(best, rt.totalMemory() - rt.freeMemory());
        }
        return best;
    }

    /** The JVM's class histogram (live objects), as {@code jcmd GC.class_histogram} prints it. */
    static String histogram() throws Exception {
        return (String) java.lang.management.ManagementFactory.getPlatformMBeanServer().invoke(
                new javax.management.ObjectName("com.sun.management:type=DiagnosticCommand"), "gcClassHistogram",
                new Object[] {null}, new String[] {String[].class.getName()});
    }

    @Test
    void heapOfATimeWaitConnection() throws Exception {
        StackConfig.Builder config = StackConfig.builder().minRto(Duration.ofMillis(200))
                .timeWait(Duration.ofSeconds(60));
        try (TwoStacks net = new TwoStacks(MS, FaultModel.NONE, FaultModel.NONE, config)) {
            List<TcpConnection> clients = new ArrayList<>();
            int[] accepted = {0};
            TcpListener l = net.b.tcp().listen(null, 80, 1024);
            l.handler(ev -> {
                TcpConnection c;
                while ((c = l.accept()) != null) {
                    TcpConnection s = c;
                    accepted[0]++;
                    // The server closes when the client has: the client is the one left in TIME-WAIT.
                    s.handler(e -> {
                        if (s.isInputEnded() && !s.isClosed()) {
                            s.close();
                        }
                    });
                }
            });
            for (int i = 0; i < N; i += 200) {
                for (int j = 0; j < 200; j++) {
                    TcpConnection c = net.a.tcp().connect(0, 0, TwoStacks.B_IP, 80);
                    c.handler(ev -> { });
                    clients.add(c);
                }
                int want = clients.size();
                assertThat(net.runUntil(() -> accepted[0] == want, 10 * SEC)).isTrue();
            }
            clients.forEach(TcpConnection::close);
            clients.clear();
            assertThat(net.runUntil(() -> net.a.tcp().timeWaitCount() == N && net.b.tcp().connectionCount() == 0,
                    30 * SEC)).isTrue();
            long withTimeWait = usedHeap();
            if (Boolean.getBoolean("usertcp.measure.histogram")) {
                System.out.println(histogram().lines().limit(45).collect(java.util.stream.Collectors.joining("\n")));
            }

            net.runFor(61 * SEC);
            assertThat(net.a.tcp().timeWaitCount()).isZero();
            assertThat(net.a.tcp().connectionCount()).isZero();
            long without = usedHeap();

            long perConnection = (withTimeWait - without) / N;
            System.out.printf("TIME-WAIT: %d connections held %d bytes of heap, %d bytes each%n", N,
                    withTimeWait - without, perConnection);
            assertThat(perConnection).isPositive();
            // Issue #10: a connection its application closed waits in TIME-WAIT as a compact record.
            assertThat(perConnection).as("bytes of heap per TIME-WAIT entry").isLessThanOrEqualTo(256);
        }
    }
}
