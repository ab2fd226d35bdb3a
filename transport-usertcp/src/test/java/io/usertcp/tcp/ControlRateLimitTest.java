package io.usertcp.tcp;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.usertcp.link.FaultModel;
import io.usertcp.sim.TwoStacks;
import io.usertcp.wire.Checksum;
import io.usertcp.wire.Ethernet;
import io.usertcp.wire.Ipv4;
import io.usertcp.wire.Tcp;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The stack-wide buckets of {@link TcpLayer} for challenge ACKs (RFC 5961 §7) and RSTs for segments that match
 * nothing (RFC 9293 §3.10.7.1): {@value TcpLayer#CONTROL_PER_SECOND} a second with bursts of
 * {@value TcpLayer#CONTROL_BURST} for the whole stack, whatever the number of connections, in virtual time. (The
 * scripts {@code challenge_ack_rate_limit.pkt} and {@code rst_rate_limit.pkt} hold one connection's view.)
 */
class ControlRateLimitTest {
    private static final long MS = 1_000_000L;
    private static final int CONNECTIONS = 20;
    private static final int PORT = 80;

    /** Stack b's listener with {@link #CONNECTIONS} established connections from stack a. */
    private static final class Bench implements AutoCloseable {
        final TwoStacks net = new TwoStacks(MS, FaultModel.NONE, FaultModel.NONE);
        final List<TcpConnection> clients = new ArrayList<>();
        final List<TcpConnection> servers = new ArrayList<>();
        /** a's port -> the sequence number after the last one a sent (b's RCV.NXT for that connection). */
        final Map<Integer, Integer> rcvNxt = new HashMap<>();
        /** Pure ACKs b sent since {@link #count} was last reset. */
        int acks;
        /** RSTs b sent since {@link #count} was last reset. */
        int resets;

        Bench() throws Exception {
            net.linkA.tap(f -> {
                if (!isTcp(f)) {
                    return;
                }
                int l4 = Ethernet.HEADER_LENGTH + Ipv4.MIN_HEADER_LENGTH;
                rcvNxt.put(Tcp.srcPort(f, l4), Tcp.seq(f, l4) + ((Tcp.flags(f, l4) & Tcp.SYN) != 0 ? 1 : 0));
            });
            net.linkB.tap(f -> {
                if (!isTcp(f)) {
                    return;
                }
                int l4 = Ethernet.HEADER_LENGTH + Ipv4.MIN_HEADER_LENGTH;
                int flags = Tcp.flags(f, l4);
                if ((flags & Tcp.RST) != 0) {
                    resets++;
                } else if (flags == Tcp.ACK && f.readableBytes() == l4 + Tcp.headerLength(f, l4)) {
                    acks++;
                }
            });
            TcpListener l = net.b.tcp().listen(null, PORT, CONNECTIONS);
            l.handler(ev -> {
                TcpConnection c;
                while ((c = l.accept()) != null) {
                    c.handler(e -> { });
                    servers.add(c);
                }
            });
            for (int i = 0; i < CONNECTIONS; i++) {
                TcpConnection c = net.a.tcp().connect(0, 0, TwoStacks.B_IP, PORT);
                c.handler(ev -> { });
                clients.add(c);
            }
            assertThat(net.runUntil(() -> servers.size() == CONNECTIONS, 1000 * MS)).isTrue();
            net.runFor(50 * MS); // nothing left in flight
            assertThat(rcvNxt).hasSize(CONNECTIONS);
        }

        private static boolean isTcp(ByteBuf f) {
            return f.getUnsignedShort(12) == Ethernet.TYPE_IPV4
                    && f.getUnsignedByte(Ethernet.HEADER_LENGTH + 9) == Ipv4.PROTO_TCP;
        }

        void count() {
            acks = 0;
            resets = 0;
        }

        /** One segment from a's address and {@code port} to b's port {@code dport}, into b now. */
        void forge(int port, int dport, int seq, int flags) {
            int tcpLen = Tcp.MIN_HEADER_LENGTH;
            int ipLen = Ipv4.MIN_HEADER_LENGTH + tcpLen;
            ByteBuf f = Unpooled.buffer(Ethernet.HEADER_LENGTH + ipLen);
            f.writerIndex(Ethernet.HEADER_LENGTH + ipLen);
            Ethernet.write(f, 0, net.linkB.macAddress().toLong(), net.linkA.macAddress().toLong(),
                    Ethernet.TYPE_IPV4);
            int ip = Ethernet.HEADER_LENGTH;
            Ipv4.writeHeader(f, ip, 0, ipLen, 1, 0, 64, Ipv4.PROTO_TCP, TwoStacks.A_IP, TwoStacks.B_IP);
            int l4 = ip + Ipv4.MIN_HEADER_LENGTH;
            Tcp.writeHeader(f, l4, port, dport, seq, 0, tcpLen, flags, 65535);
            Tcp.setChecksum(f, l4, Checksum.finish(Checksum.add(f, l4, tcpLen,
                    Checksum.ipv4Pseudo(TwoStacks.A_IP, TwoStacks.B_IP, Ipv4.PROTO_TCP, tcpLen))));
            try {
                net.b.input(f);
            } finally {
                f.release();
            }
        }

        /**
         * {@code perConnection} segments to every connection in this instant, round robin, alternating an
         * in-window RST that is not exact and an in-window SYN: each asks for a challenge ACK (RFC 5961 §3.2, §4.2).
         */
        void challengeAll(int perConnection) {
            for (int i = 0; i < perConnection; i++) {
                for (TcpConnection c : clients) {
                    int port = c.localAddress().getPort();
                    int nxt = rcvNxt.get(port);
                    if (i % 2 == 0) {
                        forge(port, PORT, nxt + 1, Tcp.RST);
                    } else {
                        forge(port, PORT, nxt, Tcp.SYN);
                    }
                }
            }
            net.turn();
        }

        /** {@code n} ACKs for no connection (to a port nobody listens on) in this instant: each asks for a RST. */
        void strays(int n) {
            for (int i = 0; i < n; i++) {
                forge(40000 + i, PORT + 1, 1000, Tcp.ACK);
            }
            net.turn();
        }

        @Override
        public void close() {
            net.close();
        }
    }

    @Test
    void challengeAcksAreLimitedForTheWholeStackAndRefillInTime() throws Exception {
        try (Bench b = new Bench()) {
            b.count();
            // 20 connections, 10 each: within every connection's own 10 a second, but 200 for the stack.
            b.challengeAll(10);
            assertThat(b.acks).isEqualTo(TcpLayer.CONTROL_BURST);
            assertThat(b.net.b.stats().tcpChallengeAcksLimited).isEqualTo(CONNECTIONS * 10 - TcpLayer.CONTROL_BURST);
            for (TcpConnection c : b.servers) {
                assertThat(c.isEstablished()).as("no forged segment reset %s", c).isTrue();
            }

            // 50 ms later the bucket holds 50 tokens (1000/s): no more, although the connections' own limits
            // (5 of their 10 used, round robin) would allow 100.
            b.net.clock.advance(50 * MS);
            b.count();
            b.challengeAll(10);
            assertThat(b.acks).isEqualTo(50);

            // Over a second later both the bucket and every connection's window are full again: the burst once more.
            b.net.clock.advance(1100 * MS);
            b.count();
            b.challengeAll(10);
            assertThat(b.acks).isEqualTo(TcpLayer.CONTROL_BURST);
        }
    }

    @Test
    void resetsForNothingHaveTheirOwnStackWideBucket() throws Exception {
        try (Bench b = new Bench()) {
            b.count();
            b.challengeAll(10); // empties the challenge-ACK bucket: RSTs do not draw on it
            b.count();
            b.strays(3 * TcpLayer.CONTROL_BURST);
            assertThat(b.resets).isEqualTo(TcpLayer.CONTROL_BURST);
            assertThat(b.net.b.stats().tcpResetsRateLimited).isEqualTo(2L * TcpLayer.CONTROL_BURST);

            b.net.clock.advance(20 * MS); // 20 tokens
            b.count();
            b.strays(3 * TcpLayer.CONTROL_BURST);
            assertThat(b.resets).isEqualTo(20);

            b.net.clock.advance(1000 * MS); // full again, and no more than full
            b.count();
            b.strays(3 * TcpLayer.CONTROL_BURST);
            assertThat(b.resets).isEqualTo(TcpLayer.CONTROL_BURST);
        }
    }
}
