package io.usertcp.stack;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.usertcp.link.FaultModel;
import io.usertcp.sim.TwoStacks;
import io.usertcp.tcp.TcpConnection;
import io.usertcp.tcp.TcpListener;
import io.usertcp.wire.IpAddress;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * RFC 4861 §7.3.1: forward progress of a TCP connection confirms its neighbour's reachability, so a busy IPv6
 * connection costs no neighbour unreachability probes (without it, each side's entry goes STALE every 30 s and is
 * probed with unicast solicitations).
 */
class NdpReachabilityConfirmationTest {
    private static final long SEC = 1_000_000_000L;

    @Test
    @DisplayName("RFC 4861 §7.3.1: two minutes of echo traffic over IPv6 send no neighbour solicitation after the first")
    void busyConnectionNeedsNoProbes() throws Exception {
        try (TwoStacks net = new TwoStacks(1_000_000, FaultModel.NONE, FaultModel.NONE)) {
            TcpListener l = net.b.tcp().listen((IpAddress) null, 5000, 4);
            AtomicLong echoed = new AtomicLong();
            l.handler(ev -> {
                TcpConnection s;
                while ((s = l.accept()) != null) {
                    TcpConnection sc = s;
                    sc.handler(e -> echo(sc, null));
                }
            });
            TcpConnection c = net.a.tcp().connect(null, 0, TwoStacks.B_IP6, 5000, 0, 0);
            c.handler(e -> echo(c, echoed));
            assertThat(net.runUntil(c::isEstablished, 5 * SEC)).isTrue();
            long before = net.a.stats().ndpSolicitationsOut + net.b.stats().ndpSolicitationsOut;
            assertThat(before).as("address resolution took solicitations").isPositive();
            for (int i = 0; i < 120; i++) {
                ByteBuf b = Unpooled.wrappedBuffer(new byte[100]);
                try {
                    c.write(b);
                } finally {
                    b.release();
                }
                c.push();
                net.runUntil(() -> false, SEC);
            }
            assertThat(echoed.get()).as("all 12,000 bytes came back").isEqualTo(12_000);
            assertThat(net.a.stats().ndpSolicitationsOut + net.b.stats().ndpSolicitationsOut)
                    .as("no unreachability probe while the connection makes progress").isEqualTo(before);
            c.abort();
        }
    }

    /** Reads what is there; echoes it back, or (client, counting) discards it. */
    private static void echo(TcpConnection c, AtomicLong count) {
        int n = c.readableBytes();
        if (n == 0) {
            return;
        }
        ByteBuf b = Unpooled.buffer(n);
        try {
            c.read(b);
            if (count != null) {
                count.addAndGet(b.readableBytes());
            } else {
                c.write(b);
                c.push();
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } finally {
            b.release();
        }
    }
}
