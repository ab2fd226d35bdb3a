package io.usertcp.channel;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelOption;
import io.usertcp.link.FaultModel;
import io.usertcp.sim.TwoStacks;
import io.usertcp.stack.Stack;
import io.usertcp.tcp.TcpConnection;
import io.usertcp.tcp.TcpListener;
import io.usertcp.tcp.TcpState;
import io.usertcp.wire.Ethernet;
import io.usertcp.wire.Ipv4;
import io.usertcp.wire.Tcp;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The TCP channel options that only show over time (issue #14): a {@link UserTcpChannelConfig} is filled through
 * {@code setOption}, as a bootstrap does, and applied to a connection between two stacks in virtual time the way
 * the channel applies it to its own ({@link UserTcpChannelConfig#applyTo}); then the segments on the cable and
 * the connection's fate show whether the option took effect: keep-alive probes and their defaults,
 * TIME_WAIT_MILLIS, TCP_USER_TIMEOUT and TCP_CONGESTION.
 */
class ChannelOptionsInVirtualTimeTest {
    private static final long MS = 1_000_000L;
    private static final long SEC = 1000 * MS;

    /** One TCP segment stack a sent: when, its flags, sequence number and payload length. */
    private record Seg(long at, int flags, int seq, int len) {
    }

    private static List<Seg> recordA(TwoStacks net) {
        List<Seg> out = new ArrayList<>();
        net.linkA.tap(f -> {
            int b = f.readerIndex();
            int ip = b + Ethernet.HEADER_LENGTH;
            if (Ethernet.type(f, b) == Ethernet.TYPE_IPV4 && Ipv4.protocol(f, ip) == Ipv4.PROTO_TCP) {
                int t = ip + Ipv4.headerLength(f, ip);
                int len = Ipv4.totalLength(f, ip) - Ipv4.headerLength(f, ip) - Tcp.headerLength(f, t);
                out.add(new Seg(net.clock.nanoTime(), Tcp.flags(f, t), Tcp.seq(f, t), len));
            }
        });
        return out;
    }

    /** A connection from stack a to b with {@code options} applied to a's end as a channel applies them. */
    private static TcpConnection[] connect(TwoStacks net, UserTcpChannelConfig options) throws IOException {
        TcpListener l = net.b.tcp().listen(null, 6000, 4);
        AtomicReference<TcpConnection> accepted = new AtomicReference<>();
        l.handler(ev -> accepted.compareAndSet(null, l.accept()));
        TcpConnection c = net.a.tcp().connect(0, 0, TwoStacks.B_IP, 6000);
        c.handler(ev -> { });
        options.applyTo(c);
        assertThat(net.runUntil(() -> accepted.get() != null && c.isEstablished(), 5 * SEC)).isTrue();
        accepted.get().handler(ev -> { });
        return new TcpConnection[] {c, accepted.get()};
    }

    /**
     * Runs exactly {@code nanos} of virtual time ({@link TwoStacks#runFor} may leave the clock at the next event
     * beyond its end, which would blur the timings asserted here). With {@code bIgnoresTcp} stack b's host stays
     * up (it answers ARP) but every TCP segment for it is lost: a peer behind a firewall that started to drop,
     * or whose process hangs, without the neighbour entry going stale in the meantime hiding a's segments.
     */
    private static void runFor(TwoStacks net, long nanos, boolean bIgnoresTcp) throws IOException {
        long end = net.clock.nanoTime() + nanos;
        while (true) {
            if (turn(net, bIgnoresTcp) == 0) {
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

    private static void runFor(TwoStacks net, long nanos) throws IOException {
        runFor(net, nanos, false);
    }

    private static int turn(TwoStacks net, boolean bIgnoresTcp) throws IOException {
        if (!bIgnoresTcp) {
            return net.turn();
        }
        Stack a = net.a;
        Stack b = net.b;
        int w = a.pollLink(64) + a.runTimers() + a.dispatchEvents();
        a.flush();
        ByteBuf f;
        while ((f = net.linkB.receive(b.alloc())) != null) {
            w++;
            try {
                int o = f.readerIndex();
                boolean tcp = Ethernet.type(f, o) == Ethernet.TYPE_IPV4
                        && Ipv4.protocol(f, o + Ethernet.HEADER_LENGTH) == Ipv4.PROTO_TCP;
                if (!tcp) {
                    b.input(f);
                }
            } finally {
                f.release();
            }
        }
        w += b.runTimers() + b.dispatchEvents();
        b.flush();
        return w;
    }

    private static UserTcpChannelConfig config() {
        return new UserTcpChannel().config();
    }

    private static List<Seg> probes(List<Seg> segs, long after) {
        return segs.stream().filter(s -> s.at > after && s.len == 0 && s.flags == Tcp.ACK).toList();
    }

    @Test
    void soKeepAliveWithTheDefaultTimingProbesAfterTwoHoursEvery75sAndGivesUpAfterNine() throws Exception {
        UserTcpChannelConfig cfg = config();
        cfg.setOption(ChannelOption.SO_KEEPALIVE, true); // TCP_KEEPIDLE 7200 s, TCP_KEEPINTVL 75 s, TCP_KEEPCNT 9
        try (TwoStacks net = new TwoStacks(MS, FaultModel.NONE, FaultModel.NONE)) {
            TcpConnection[] c = connect(net, cfg);
            List<Seg> segs = recordA(net);
            long t0 = net.clock.nanoTime();
            runFor(net, 7200 * SEC - 10 * MS);
            assertThat(segs).as("nothing is sent before two idle hours").isEmpty();
            runFor(net, 20 * MS);
            assertThat(probes(segs, t0)).as("the first probe after 7200 s").hasSize(1);
            Seg first = segs.get(0);
            runFor(net, 10 * MS);
            // Answered: the connection stays, and the next probe waits for another idle 7200 s.
            assertThat(c[0].isEstablished()).isTrue();
            long answered = net.clock.nanoTime();
            runFor(net, 7200 * SEC - 100 * MS, true);
            assertThat(probes(segs, first.at)).as("no probe within 7200 s of the answer").isEmpty();
            runFor(net, 9 * 75 * SEC + 200 * MS, true);
            List<Seg> unanswered = probes(segs, first.at);
            assertThat(unanswered).as("TCP_KEEPCNT 9 probes").hasSize(9);
            for (int i = 1; i < unanswered.size(); i++) {
                assertThat(unanswered.get(i).at - unanswered.get(i - 1).at).as("TCP_KEEPINTVL").isEqualTo(75 * SEC);
            }
            assertThat(unanswered.get(0).at - answered).isBetween(7199 * SEC, 7200 * SEC);
            Seg last = segs.get(segs.size() - 1);
            assertThat(last.flags & Tcp.RST).as("then the connection is reset").isNotZero();
            assertThat(last.at - unanswered.get(8).at).isEqualTo(75 * SEC);
            assertThat(c[0].isClosed()).isTrue();
            assertThat(c[0].error()).isInstanceOf(IOException.class).hasMessageContaining("timed out");
        }
    }

    @Test
    void keepAliveIsOffByDefault() throws Exception {
        try (TwoStacks net = new TwoStacks(MS, FaultModel.NONE, FaultModel.NONE)) {
            TcpConnection[] c = connect(net, config());
            List<Seg> segs = recordA(net);
            runFor(net, 5 * 3600 * SEC, true);
            assertThat(segs).as("no probe in five idle hours").isEmpty();
            assertThat(c[0].isEstablished()).isTrue();
        }
    }

    @Test
    void keepAliveKnobsSetTheProbeTiming() throws Exception {
        UserTcpChannelConfig cfg = config();
        cfg.setOption(ChannelOption.SO_KEEPALIVE, true);
        cfg.setOption(UserTcpChannelOption.TCP_KEEPIDLE, 30);
        cfg.setOption(UserTcpChannelOption.TCP_KEEPINTVL, 5);
        cfg.setOption(UserTcpChannelOption.TCP_KEEPCNT, 3);
        try (TwoStacks net = new TwoStacks(MS, FaultModel.NONE, FaultModel.NONE)) {
            TcpConnection[] c = connect(net, cfg);
            List<Seg> segs = recordA(net);
            long t0 = net.clock.nanoTime();
            runFor(net, 30 * SEC + 3 * 5 * SEC + 100 * MS, true);
            List<Seg> p = probes(segs, t0);
            assertThat(p).hasSize(3);
            assertThat(p.get(0).at - t0).isBetween(29 * SEC, 30 * SEC);
            assertThat(p.get(2).at - p.get(0).at).isEqualTo(10 * SEC);
            assertThat(c[0].isClosed()).isTrue();
            assertThat(c[0].error()).hasMessageContaining("keepalive");
        }
    }

    @Test
    void timeWaitMillisIsHowLongTheConnectionStaysInTimeWait() throws Exception {
        UserTcpChannelConfig cfg = config();
        cfg.setOption(UserTcpChannelOption.TIME_WAIT_MILLIS, 1500);
        try (TwoStacks net = new TwoStacks(MS, FaultModel.NONE, FaultModel.NONE)) {
            TcpConnection[] c = connect(net, cfg);
            c[0].close(); // the active close: this end goes through TIME-WAIT
            c[1].close();
            assertThat(net.runUntil(() -> c[0].state() == TcpState.TIME_WAIT, SEC)).isTrue();
            long entered = net.clock.nanoTime();
            int before = net.a.tcp().timeWaitCount();
            assertThat(before).isEqualTo(1);
            assertThat(net.runUntil(() -> c[0].state() != TcpState.TIME_WAIT, 120 * SEC)).isTrue();
            long stayed = net.clock.nanoTime() - entered;
            assertThat(stayed).as("TIME_WAIT_MILLIS 1500, not the stack's 60 s").isBetween(1490 * MS, 1510 * MS);
            assertThat(c[0].state()).isEqualTo(TcpState.CLOSED);
            assertThat(net.a.tcp().timeWaitCount()).isZero();
        }
        // Without the option the stack's default (60 s) holds.
        try (TwoStacks net = new TwoStacks(MS, FaultModel.NONE, FaultModel.NONE)) {
            TcpConnection[] c = connect(net, config());
            c[0].close();
            c[1].close();
            assertThat(net.runUntil(() -> c[0].state() == TcpState.TIME_WAIT, SEC)).isTrue();
            runFor(net, 59 * SEC);
            assertThat(c[0].state()).isEqualTo(TcpState.TIME_WAIT);
            runFor(net, 2 * SEC);
            assertThat(c[0].state()).isEqualTo(TcpState.CLOSED);
        }
    }

    @Test
    void tcpUserTimeoutClosesAConnectionWhosePeerStoppedAnsweringAfterThatTime() throws Exception {
        UserTcpChannelConfig cfg = config();
        cfg.setOption(UserTcpChannelOption.TCP_USER_TIMEOUT, 5000);
        try (TwoStacks net = new TwoStacks(MS, FaultModel.NONE, FaultModel.NONE)) {
            TcpConnection[] c = connect(net, cfg);
            runFor(net, 60 * SEC); // idle first: the user timeout counts from the unacknowledged data, not the handshake
            List<Seg> segs = recordA(net);
            long t0 = net.clock.nanoTime();
            c[0].write(Unpooled.wrappedBuffer(new byte[1000]));
            c[0].push();
            while (!c[0].isClosed() && net.clock.nanoTime() - t0 < 60 * SEC) {
                runFor(net, MS, true);
            }
            long lasted = net.clock.nanoTime() - t0;
            assertThat(lasted).as("closed after TCP_USER_TIMEOUT 5000 ms").isBetween(5000 * MS, 5010 * MS);
            assertThat(segs.stream().filter(s -> s.len == 1000).count()).as("retransmitted until then").isGreaterThan(2);
            assertThat(segs.get(segs.size() - 1).flags & Tcp.RST).as("and reset").isNotZero();
            assertThat(c[0].error()).isInstanceOf(IOException.class).hasMessage("Connection timed out");
            assertThat(c[0].unacknowledgedBytes()).isZero();
        }
    }

    /**
     * Bytes delivered to b in the second after a loss episode (every frame from a lost for 50 ms, so the
     * retransmission timer fires): the congestion control's multiplicative decrease sets where the sender
     * resumes (RFC 5681 §3.1: ssthresh = FlightSize/2 for NewReno, RFC 9438 §4.6: cwnd × 0.7 for CUBIC).
     */
    private static long deliveredAfterLoss(String congestion) throws Exception {
        UserTcpChannelConfig cfg = config();
        if (congestion != null) {
            cfg.setOption(UserTcpChannelOption.TCP_CONGESTION, congestion);
        }
        cfg.setOption(ChannelOption.SO_SNDBUF, 1 << 20);
        // 50 ms of RTT, 1 MiB windows: the loss comes in slow start, while cwnd (not the peer's window)
        // limits the flight, so the decrease shows in what is delivered afterwards.
        try (TwoStacks net = new TwoStacks(25 * MS, FaultModel.NONE, FaultModel.NONE)) {
            TcpConnection[] c = connect(net, cfg);
            ByteBuf chunk = Unpooled.wrappedBuffer(new byte[64 * 1024]);
            ByteBuf sink = Unpooled.buffer(256 * 1024);
            long[] received = {0};
            Runnable pump = () -> {
                try {
                    while (c[0].writableBytes() > 0) {
                        c[0].write(chunk.duplicate());
                    }
                    c[0].push();
                } catch (IOException e) {
                    throw new AssertionError(e);
                }
                int n;
                while ((n = c[1].read(sink.clear())) > 0) {
                    received[0] += n;
                }
            };
            net.runUntil(() -> {
                pump.run();
                return false;
            }, 220 * MS);
            net.linkA.faults(FaultModel.of(1.0, 0, 0, 0, 1));
            net.runUntil(() -> {
                pump.run();
                return false;
            }, 60 * MS);
            net.linkA.faults(FaultModel.NONE);
            // Until the timeout has fired and what was lost is repaired, then measure.
            net.runUntil(() -> {
                pump.run();
                return false;
            }, 800 * MS);
            long from = received[0];
            net.runUntil(() -> {
                pump.run();
                return false;
            }, SEC);
            assertThat(c[0].isEstablished()).isTrue();
            return received[0] - from;
        }
    }

    @Test
    void tcpCongestionChoosesTheAlgorithmThatRecoversFromLoss() throws Exception {
        long cubic = deliveredAfterLoss("cubic");
        long newreno = deliveredAfterLoss("newreno");
        long dflt = deliveredAfterLoss(null);
        assertThat(dflt).as("cubic is the default").isEqualTo(cubic);
        assertThat(cubic).as("CUBIC resumes at 0.7 of the window, NewReno at half: %d vs %d bytes", cubic, newreno).isGreaterThan(newreno * 6 / 5);
    }

    @Test
    void anUnknownCongestionControlFailsNamingTheChoices() {
        assertThatThrownBy(() -> config().setOption(UserTcpChannelOption.TCP_CONGESTION, "bbr"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("bbr")
                .hasMessageContaining("newreno").hasMessageContaining("cubic");
    }
}
