package io.usertcp.sim;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.usertcp.link.FaultModel;
import io.usertcp.tcp.TcpConnection;
import io.usertcp.tcp.TcpListener;
import io.usertcp.tcp.TcpSocket;
import io.usertcp.tcp.TcpState;
import io.usertcp.wire.Ethernet;
import io.usertcp.wire.Ipv4;
import io.usertcp.wire.Tcp;
import org.junit.jupiter.api.Test;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import static org.assertj.core.api.Assertions.assertThat;

/** Keepalive (RFC 9293 §3.8.4), the user timeout (§3.8.3, RFC 5482) and Nagle (§3.7.4), in virtual time. */
class TimeoutsTest {
    private static final long MS = 1_000_000L;
    private static final long SEC = 1000 * MS;

    private static TcpConnection[] connect(TwoStacks net) throws Exception {
        TcpListener l = net.b.tcp().listen(null, 6000, 4);
        AtomicReference<TcpConnection> accepted = new AtomicReference<>();
        l.handler(ev -> accepted.compareAndSet(null, l.accept()));
        TcpConnection c = net.a.tcp().connect(0, 0, TwoStacks.B_IP, 6000);
        c.handler(ev -> { });
        assertThat(net.runUntil(() -> accepted.get() != null && c.isEstablished(), 5 * SEC)).isTrue();
        accepted.get().handler(ev -> { });
        return new TcpConnection[] {c, accepted.get()};
    }

    @Test
    void keepaliveResetsAConnectionWhosePeerVanished() throws Exception {
        try (TwoStacks net = new TwoStacks(MS, FaultModel.NONE, FaultModel.NONE)) {
            TcpConnection[] c = connect(net);
            c[0].keepAlive(10 * SEC, 2 * SEC, 3);
            // Idle but alive: probes are answered, the connection stays.
            net.runFor(60 * SEC);
            assertThat(c[0].isEstablished()).isTrue();
            // The peer vanishes: every frame from a to b (and back) is lost.
            net.linkA.faults(FaultModel.of(1.0, 0, 0, 0, 1));
            net.linkB.faults(FaultModel.of(1.0, 0, 0, 0, 2));
            net.runFor(10 * SEC + 3 * 2 * SEC + SEC);
            assertThat(c[0].isClosed()).isTrue();
            assertThat(c[0].error()).hasMessageContaining("keepalive");
        }
    }

    @Test
    void userTimeoutEndsRetransmissionToAVanishedPeer() throws Exception {
        try (TwoStacks net = new TwoStacks(MS, FaultModel.NONE, FaultModel.NONE)) {
            TcpConnection[] c = connect(net);
            c[0].userTimeout(5 * SEC);
            net.linkA.faults(FaultModel.of(1.0, 0, 0, 0, 1));
            ByteBuf data = Unpooled.wrappedBuffer(new byte[1000]);
            c[0].write(data);
            c[0].push();
            net.runFor(4 * SEC);
            assertThat(c[0].isClosed()).as("still retrying before the user timeout").isFalse();
            net.runFor(4 * SEC); // the next RTO after 5 s of no progress gives up
            assertThat(c[0].isClosed()).isTrue();
            assertThat(c[0].error()).hasMessageContaining("timed out");
            assertThat(c[0].unacknowledgedBytes()).as("buffers freed").isZero();
        }
    }

    @Test
    void nagleCoalescesSmallWritesWhileDataIsUnacknowledged() throws Exception {
        try (TwoStacks net = new TwoStacks(10 * MS, FaultModel.NONE, FaultModel.NONE)) {
            TcpConnection[] c = connect(net);
            AtomicInteger dataSegments = new AtomicInteger();
            net.linkA.tap(f -> {
                int ip = f.readerIndex() + Ethernet.HEADER_LENGTH;
                if (Ethernet.type(f, f.readerIndex()) == Ethernet.TYPE_IPV4 && Ipv4.protocol(f, ip) == Ipv4.PROTO_TCP) {
                    int t = ip + Ipv4.headerLength(f, ip);
                    if (Ipv4.totalLength(f, ip) - Ipv4.headerLength(f, ip) - Tcp.headerLength(f, t) > 0) {
                        dataSegments.incrementAndGet();
                    }
                }
            });
            c[0].noDelay(false);
            for (int i = 0; i < 10; i++) {
                c[0].write(Unpooled.wrappedBuffer(new byte[10]));
                c[0].push();
            }
            // One small segment goes at once; the other nine wait for its ACK and then go as one.
            assertThat(dataSegments.get()).isEqualTo(1);
            net.runUntil(() -> c[1].readableBytes() == 100, SEC);
            assertThat(c[1].readableBytes()).isEqualTo(100);
            assertThat(dataSegments.get()).isEqualTo(2);
            assertThat(c[0].state()).isEqualTo(TcpState.ESTABLISHED);
            // With TCP_NODELAY each write is its own segment.
            c[0].noDelay(true);
            dataSegments.set(0);
            for (int i = 0; i < 5; i++) {
                c[0].write(Unpooled.wrappedBuffer(new byte[10]));
                c[0].push();
            }
            assertThat(dataSegments.get()).isEqualTo(5);
            ByteBuf sink = Unpooled.buffer(1000);
            net.runUntil(() -> c[1].readableBytes() == 150, SEC);
            c[1].read(sink);
            sink.release();
        }
    }
}
