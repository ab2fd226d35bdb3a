package io.usertcp.sim;

import io.usertcp.link.FaultModel;
import io.usertcp.stack.ConnectionSnapshot;
import io.usertcp.stack.StackLeakCheck;
import io.usertcp.stats.ConnectionInfo;
import io.usertcp.tcp.TcpConnection;
import io.usertcp.tcp.TcpListener;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The connection table in virtual time, where its timers and half-open records can be pinned down exactly: a full
 * accept queue keeps a SYN-RECEIVED record, a client's SYN waits for its retransmission.
 */
@ExtendWith(StackLeakCheck.class)
class ConnectionTableSimTest {
    private static final long MS = 1_000_000L;

    /** Runs both stacks for exactly {@code nanos} of virtual time (TwoStacks.runFor may jump past its end). */
    private static void run(TwoStacks net, long nanos) {
        long end = net.clock.nanoTime() + nanos;
        while (true) {
            if (net.turn() > 0) {
                continue;
            }
            if (net.clock.nanoTime() - end >= 0) {
                return;
            }
            long next = Math.min(Math.min(net.a.nextDeadline(), net.b.nextDeadline()),
                    Math.min(net.linkA.nextArrival(), net.linkB.nextArrival()));
            net.clock.advanceTo(Math.min(next, end));
        }
    }

    private static ConnectionInfo only(List<ConnectionInfo> rows, String state) {
        List<ConnectionInfo> r = rows.stream().filter(x -> x.state().equals(state)).toList();
        assertThat(r).as("one %s row in%n%s", state, rows).hasSize(1);
        return r.get(0);
    }

    @Test
    void halfOpenRecordsAndSynRetransmissionsShowWithTheirTimers() throws Exception {
        try (TwoStacks net = new TwoStacks(MS, FaultModel.NONE, FaultModel.NONE)) {
            TcpListener l = net.b.tcp().listen(null, 7000, 1);
            TcpConnection c1 = net.a.tcp().connect(0, 0, TwoStacks.B_IP, 7000);
            TcpConnection c2 = net.a.tcp().connect(0, 0, TwoStacks.B_IP, 7000);
            c1.handler(ev -> { });
            c2.handler(ev -> { });
            run(net, 20 * MS);
            // The second final ACK found the accept queue full: its record stays; a third SYN is dropped.
            TcpConnection c3 = net.a.tcp().connect(0, 0, TwoStacks.B_IP, 7000);
            c3.handler(ev -> { });
            long synSent = net.clock.nanoTime();
            run(net, 20 * MS);
            long now = net.clock.nanoTime();

            List<ConnectionInfo> b = ConnectionSnapshot.take(net.b);
            ConnectionInfo listener = b.get(0);
            assertThat(listener.state()).isEqualTo("LISTEN");
            assertThat(listener.receiveQueue()).as("one connection waits to be accepted").isEqualTo(1);
            assertThat(listener.sendQueue()).as("the backlog").isEqualTo(1);
            ConnectionInfo half = b.get(1);
            assertThat(half.state()).isEqualTo("SYN-RECEIVED");
            assertThat(half.localAddress().getPort()).isEqualTo(7000);
            assertThat(half.timer()).isEqualTo("synack");
            assertThat(half.timerNanos()).isPositive().isLessThanOrEqualTo(1000 * MS);
            assertThat(half.sack()).isTrue();
            assertThat(half.mss()).isPositive();
            assertThat(only(b, "ESTABLISHED").localAddress().getPort()).isEqualTo(7000);
            assertThat(b).hasSize(3);

            List<ConnectionInfo> a = ConnectionSnapshot.take(net.a);
            ConnectionInfo syn = only(a, "SYN-SENT");
            assertThat(syn.remoteAddress().getPort()).isEqualTo(7000);
            assertThat(syn.timer()).isEqualTo("retransmit");
            assertThat(syn.timerNanos()).as("RFC 6298: the SYN's RTO is 1 s").isEqualTo(synSent + 1000 * MS - now);
            assertThat(syn.retries()).isZero();
            assertThat(syn.srttNanos()).isEqualTo(-1);
            assertThat(a).filteredOn(r -> r.state().equals("ESTABLISHED")).hasSize(2)
                    .allSatisfy(r -> assertThat(r.srttNanos()).as("two round trips of 2 ms: ARP, then the handshake")
                            .isEqualTo(4 * MS));

            // The SYN's first retransmission: one timeout, one segment resent, the RTO doubled.
            run(net, 1000 * MS);
            syn = only(ConnectionSnapshot.take(net.a), "SYN-SENT");
            assertThat(syn.retries()).isEqualTo(1);
            assertThat(syn.retransmits()).isEqualTo(1);
            assertThat(syn.rtoNanos()).isEqualTo(2000 * MS);
            c1.abort();
            c2.abort();
            c3.abort();
            l.close();
            run(net, 100 * MS);
        }
    }
}
