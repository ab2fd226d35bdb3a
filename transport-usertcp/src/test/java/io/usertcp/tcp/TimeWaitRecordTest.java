package io.usertcp.tcp;

import io.usertcp.link.FaultModel;
import io.usertcp.sim.TwoStacks;
import io.usertcp.stack.StackConfig;
import io.usertcp.stats.ConnectionInfo;
import org.junit.jupiter.api.Test;

import java.lang.ref.WeakReference;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * TIME-WAIT of connections their application has closed (issue #10): the stack keeps a compact record instead of
 * the connection, and the record behaves as the connection did. Here, in virtual time over two stacks: the
 * connection object is released, the count and bound of TIME-WAIT entries, the expiry of records of different
 * lengths of TIME-WAIT in deadline order, and the connection table's row. (The answers to segments are the
 * scripts' {@code time_wait_*.pkt}; the hand-over in a group of stacks is {@link TimeWaitGroupTest}.)
 */
class TimeWaitRecordTest {
    private static final long MS = 1_000_000L;
    private static final long SEC = 1000 * MS;

    /** Stack b serves port 80 and closes each connection once its peer has (so the client is in TIME-WAIT). */
    private static void serve(TwoStacks net) throws Exception {
        TcpListener l = net.b.tcp().listen(null, 80, 64);
        l.handler(ev -> {
            TcpConnection c;
            while ((c = l.accept()) != null) {
                TcpConnection s = c;
                TcpSocket.Handler closeOnEnd = e -> {
                    if (s.isInputEnded() && !s.isClosed()) {
                        s.close();
                    }
                };
                s.handler(closeOnEnd);
                closeOnEnd.onTcpEvents(0); // the FIN may have come with the handshake's last ACK
            }
        });
    }

    /** Opens a connection from a to b, waits for ESTABLISHED, and returns it. */
    private static TcpConnection open(TwoStacks net, long timeWaitNanos) throws Exception {
        TcpConnection c = net.a.tcp().connect(0, 0, TwoStacks.B_IP, 80);
        c.handler(ev -> { });
        c.timeWait(timeWaitNanos);
        assertThat(net.runUntil(c::isEstablished, 10 * SEC)).isTrue();
        return c;
    }

    /** A connection of a, closed by its application; only a weak reference is kept. */
    private static WeakReference<TcpConnection> openAndClose(TwoStacks net) throws Exception {
        TcpConnection c = open(net, -1);
        c.close();
        return new WeakReference<>(c);
    }

    /**
     * Runs exactly {@code nanos} of virtual time ({@link TwoStacks#runFor} may leave the clock at the next event
     * past the end), calling {@code watch} after every turn.
     */
    private static void runFor(TwoStacks net, long nanos, Runnable watch) {
        long end = net.clock.nanoTime() + nanos;
        while (true) {
            int work = net.turn();
            watch.run();
            if (work == 0) {
                long next = Math.min(Math.min(net.a.nextDeadline(), net.b.nextDeadline()),
                        Math.min(net.linkA.nextArrival(), net.linkB.nextArrival()));
                if (next - end > 0) {
                    net.clock.advanceTo(end);
                    return;
                }
                net.clock.advanceTo(next);
            }
        }
    }

    private static void runFor(TwoStacks net, long nanos) {
        runFor(net, nanos, () -> { });
    }

    private static boolean collected(WeakReference<?> ref) throws InterruptedException {
        for (int i = 0; i < 50 && ref.get() != null; i++) {
            System.gc();
            Thread.sleep(10);
        }
        return ref.get() == null;
    }

    @Test
    void aConnectionItsApplicationClosedIsReleasedInTimeWait() throws Exception {
        try (TwoStacks net = new TwoStacks(MS, FaultModel.NONE, FaultModel.NONE)) {
            serve(net);
            WeakReference<TcpConnection> ref = openAndClose(net);
            assertThat(net.runUntil(() -> net.a.tcp().timeWaitCount() == 1 && net.b.tcp().connectionCount() == 0,
                    10 * SEC)).isTrue();
            runFor(net, SEC);
            assertThat(collected(ref)).as("the TcpConnection in TIME-WAIT is garbage once its application let go")
                    .isTrue();
            assertThat(net.a.tcp().timeWaitCount()).isEqualTo(1);
            assertThat(net.a.tcp().connectionCount()).as("its record is in the table").isEqualTo(1);
            assertThat(net.a.tcp().connections).isEmpty();
            assertThat(net.a.tcp().timeWait.size()).isEqualTo(1);
            runFor(net, 60 * SEC);
            assertThat(net.a.tcp().timeWaitCount()).isZero();
            assertThat(net.a.tcp().connectionCount()).isZero();
        }
    }

    @Test
    void aConnectionItsApplicationStillHoldsStaysWholeAndIsToldOfTheEnd() throws Exception {
        try (TwoStacks net = new TwoStacks(MS, FaultModel.NONE, FaultModel.NONE)) {
            serve(net);
            TcpConnection c = net.a.tcp().connect(0, 0, TwoStacks.B_IP, 80);
            int[] closedEvents = {0};
            c.handler(ev -> closedEvents[0] += (ev & TcpSocket.EV_CLOSED) != 0 ? 1 : 0);
            assertThat(net.runUntil(c::isEstablished, 10 * SEC)).isTrue();
            c.shutdownOutput(); // not closed: the application may still read
            assertThat(net.runUntil(() -> c.state() == TcpState.TIME_WAIT, 10 * SEC)).isTrue();
            assertThat(c.isInputEnded()).isTrue();
            runFor(net, 59 * SEC);
            assertThat(c.state()).isEqualTo(TcpState.TIME_WAIT);
            assertThat(closedEvents[0]).isZero();
            runFor(net, 2 * SEC);
            assertThat(c.state()).isEqualTo(TcpState.CLOSED);
            assertThat(closedEvents[0]).as("EV_CLOSED at the end of TIME-WAIT").isEqualTo(1);
            assertThat(net.a.tcp().timeWaitCount()).isZero();
        }
    }

    /**
     * Per-connection lengths of TIME-WAIT (UserTcpChannelOption.TIME_WAIT_MILLIS) of 0 to 3 s and the default,
     * entered one after the other, and one connection that entered TIME-WAIT while its application held it and
     * was closed later: each entry leaves TIME-WAIT exactly its own length after it entered, whatever the order.
     */
    @Test
    void entriesOfMixedLengthsExpireEachAfterItsOwnLength() throws Exception {
        try (TwoStacks net = new TwoStacks(MS, FaultModel.NONE, FaultModel.NONE)) {
            serve(net);
            long[] lengths = {3 * SEC, 1 * SEC, 2 * SEC, -1, 0, 1 * SEC, 2 * SEC};
            List<TcpConnection> cs = new ArrayList<>();
            for (long length : lengths) {
                cs.add(open(net, length));
            }
            TcpConnection held = cs.get(6);
            long[] entered = new long[lengths.length];
            long[] left = new long[lengths.length];
            Runnable watch = () -> {
                long now = net.clock.nanoTime();
                for (int i = 0; i < cs.size(); i++) {
                    TcpState s = cs.get(i).state();
                    if (s == TcpState.TIME_WAIT && entered[i] == 0) {
                        entered[i] = now;
                    } else if (s == TcpState.CLOSED && entered[i] != 0 && left[i] == 0) {
                        left[i] = now;
                    }
                }
            };
            held.shutdownOutput(); // TIME-WAIT first while held, closed by the application only later
            runFor(net, 100 * MS, watch);
            for (int i = 0; i < 6; i++) {
                cs.get(i).close();
                runFor(net, 100 * MS, watch);
            }
            assertThat(entered[6]).isPositive();
            runFor(net, entered[6] + 1200 * MS - net.clock.nanoTime(), watch);
            assertThat(cs.get(2).state()).isEqualTo(TcpState.TIME_WAIT);
            held.close(); // into the same list as connection 2, whose entry expires after this one's
            runFor(net, 5 * SEC, watch);
            assertThat(cs.get(4).state()).as("0 ms: TIME-WAIT ends in the turn it began").isEqualTo(TcpState.CLOSED);
            for (int i = 0; i < lengths.length; i++) {
                if (lengths[i] > 0) {
                    assertThat(left[i]).as("connection %d left TIME-WAIT", i).isPositive();
                    assertThat(left[i] - entered[i]).as("connection %d, TIME-WAIT of %d ms", i, lengths[i] / MS)
                            .isEqualTo(lengths[i]);
                }
            }
            assertThat(net.a.tcp().timeWaitCount()).as("the one with the stack's 60 s").isEqualTo(1);
            assertThat(cs.get(3).state()).isEqualTo(TcpState.TIME_WAIT);
            runFor(net, 60 * SEC);
            assertThat(cs.get(3).state()).isEqualTo(TcpState.CLOSED);
            assertThat(net.a.tcp().timeWaitCount()).isZero();
            assertThat(net.a.tcp().connectionCount()).isZero();
        }
    }

    @Test
    void maxTimeWaitBoundsTheRecordsAndCountsTheOverflow() throws Exception {
        StackConfig.Builder config = StackConfig.builder().minRto(Duration.ofMillis(200)).maxTimeWait(2);
        try (TwoStacks net = new TwoStacks(MS, FaultModel.NONE, FaultModel.NONE, config)) {
            serve(net);
            List<TcpConnection> cs = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                cs.add(open(net, -1));
            }
            for (TcpConnection c : cs) {
                c.close();
                runFor(net, 100 * MS);
            }
            assertThat(net.runUntil(() -> cs.stream().noneMatch(c -> c.state() == TcpState.LAST_ACK
                    || c.state() == TcpState.FIN_WAIT_1 || c.state() == TcpState.FIN_WAIT_2), 10 * SEC)).isTrue();
            assertThat(net.a.tcp().timeWaitCount()).isEqualTo(2);
            assertThat(net.a.stats().tcpTimeWaitOverflows).isEqualTo(1);
            assertThat(cs.get(2).state()).as("no room: closed at once").isEqualTo(TcpState.CLOSED);
            assertThat(net.a.tcp().connectionCount()).isEqualTo(2);
            runFor(net, 61 * SEC);
            assertThat(net.a.tcp().timeWaitCount()).isZero();
            assertThat(net.a.tcp().connectionCount()).isZero();
            // Room again: the next one waits in TIME-WAIT.
            TcpConnection next = open(net, -1);
            next.close();
            assertThat(net.runUntil(() -> next.state() == TcpState.TIME_WAIT, 10 * SEC)).isTrue();
            assertThat(net.a.tcp().timeWaitCount()).isEqualTo(1);
            assertThat(net.a.stats().tcpTimeWaitOverflows).isEqualTo(1);
        }
    }

    @Test
    void theConnectionTableListsTheEntryWithItsTimer() throws Exception {
        try (TwoStacks net = new TwoStacks(MS, FaultModel.NONE, FaultModel.NONE)) {
            serve(net);
            TcpConnection c = open(net, -1);
            int port = c.localAddress().getPort();
            c.close();
            assertThat(net.runUntil(() -> c.state() == TcpState.TIME_WAIT, 10 * SEC)).isTrue();
            long entered = net.clock.nanoTime();
            runFor(net, 10 * SEC);
            List<ConnectionInfo> rows = TcpTable.rows(net.a.tcp());
            assertThat(rows).hasSize(1);
            ConnectionInfo tw = rows.get(0);
            assertThat(tw.state()).isEqualTo("TIME-WAIT");
            assertThat(tw.localAddress().getPort()).isEqualTo(port);
            assertThat(tw.remoteAddress().getPort()).isEqualTo(80);
            assertThat(tw.remoteAddress().getAddress().getHostAddress()).isEqualTo("198.18.0.2");
            assertThat(tw.timer()).isEqualTo("timewait");
            assertThat(tw.timerNanos()).isEqualTo(entered + 60 * SEC - net.clock.nanoTime());
            assertThat(tw.sendQueue()).isZero();
            assertThat(tw.receiveQueue()).isZero();
            assertThat(TcpTable.row(c).state()).as("the application's own view").isEqualTo("TIME-WAIT");
            runFor(net, 51 * SEC);
            assertThat(TcpTable.rows(net.a.tcp())).isEmpty();
        }
    }
}
