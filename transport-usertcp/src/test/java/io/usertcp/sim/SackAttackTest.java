package io.usertcp.sim;

import io.netty.buffer.ByteBuf;
import io.usertcp.link.FaultModel;
import io.usertcp.tcp.TcpConnection;
import io.usertcp.tcp.TcpListener;
import io.usertcp.wire.Checksum;
import io.usertcp.wire.Ethernet;
import io.usertcp.wire.Ipv4;
import io.usertcp.wire.Tcp;
import org.junit.jupiter.api.Test;

import java.util.concurrent.atomic.AtomicReference;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The SACK-panic class end to end: while stack a sends 2 MiB to stack b, every ACK b sends is followed by
 * four forged ones (same ACK number, window and timestamps) whose SACK blocks claim single bytes, every other
 * byte above the cumulative ACK. Before the bound, a split its RACK entries at each of them, took the bytes
 * between for lost and resent them a byte or two at a time. Now the blocks are rounded off to whole segments
 * (counted), nothing is resent, and the transfer completes intact.
 */
class SackAttackTest {
    private static final long MS = 1_000_000L;
    private static final long SEC = 1_000 * MS;
    private static final long BYTES = 2 << 20;

    @Test
    void byteGranularForgedSacksNeitherFragmentNorSlowTheTransfer() throws Exception {
        try (TwoStacks net = new TwoStacks(5 * MS, FaultModel.NONE, FaultModel.NONE)) {
            Forger forger = new Forger(net);
            net.linkB.tap(forger::onFrameFromB);
            RetransmissionWatch watch = new RetransmissionWatch();
            net.linkA.tap(watch::onFrameFromA);
            TcpListener l = net.b.tcp().listen(null, 5000, 16);
            AtomicReference<Transfer> server = new AtomicReference<>();
            l.handler(ev -> {
                TcpConnection c;
                while ((c = l.accept()) != null) {
                    Transfer t = new Transfer(c, 0);
                    server.set(t);
                    t.pump();
                    t.drain();
                }
            });
            Transfer client = new Transfer(net.a.tcp().connect(0, 0, TwoStacks.B_IP, 5000), BYTES);
            boolean done = net.runUntil(() -> server.get() != null && server.get().finSeen(), 60 * SEC);
            String where = "forged " + forger.forged + ", a " + net.a.stats();
            System.out.printf("SackAttackTest: %d forged ACKs, retransmissions %d (%d under 1000 bytes, the "
                            + "shortest %d), a: %s%n", forger.forged, watch.retransmissions, watch.small,
                    watch.shortest, net.a.stats());
            assertThat(done).as(where).isTrue();
            assertThat(server.get().received()).isEqualTo(BYTES);
            assertThat(server.get().firstBadOffset()).isEqualTo(-1);
            assertThat(forger.forged).isGreaterThan(1000);
            assertThat(watch.small).as("retransmissions under 1000 bytes; " + where).isZero();
            assertThat(net.a.stats().tcpSackRoundedOff).as(where).isPositive();
            client.release();
            server.get().release();
        }
    }

    /** Follows each pure ACK from b with forged ones that SACK single bytes, every other byte above the ACK. */
    private static final class Forger {
        final TwoStacks net;
        boolean forging;
        int forged;
        int next; // the next byte offset above the ACK to claim, cycling over 64 KiB

        Forger(TwoStacks net) {
            this.net = net;
        }

        void onFrameFromB(ByteBuf f) {
            int b = f.readerIndex();
            if (forging || f.readableBytes() < Ethernet.HEADER_LENGTH + 40
                    || Ethernet.type(f, b) != Ethernet.TYPE_IPV4) {
                return;
            }
            int o = b + Ethernet.HEADER_LENGTH;
            int hl = Ipv4.headerLength(f, o);
            if (Ipv4.protocol(f, o) != Ipv4.PROTO_TCP) {
                return;
            }
            int t = o + hl;
            int th = Tcp.headerLength(f, t);
            int payload = Ipv4.totalLength(f, o) - hl - th;
            if (payload != 0 || (Tcp.flags(f, t) & (Tcp.SYN | Tcp.FIN | Tcp.RST)) != 0
                    || (Tcp.flags(f, t) & Tcp.ACK) == 0) {
                return;
            }
            int tsOffset = findTimestamp(f, t, th);
            forging = true;
            try {
                for (int k = 0; k < 4; k++) {
                    forge(f, b, o, hl, t, tsOffset);
                }
            } finally {
                forging = false;
            }
        }

        private void forge(ByteBuf f, int b, int o, int hl, int t, int tsOffset) {
            int ack = Tcp.ack(f, t);
            int th = 60; // NOP NOP TS, NOP NOP SACK with three blocks
            int len = Ethernet.HEADER_LENGTH + hl + th;
            ByteBuf g = f.alloc().buffer(len);
            try {
                g.writeZero(len);
                g.setBytes(0, f, b, Ethernet.HEADER_LENGTH + hl);
                int go = Ethernet.HEADER_LENGTH;
                int gt = go + hl;
                g.setShort(go + 2, hl + th);
                g.setShort(go + 10, 0);
                g.setShort(go + 10, Checksum.compute(g, go, hl));
                Tcp.writeHeader(g, gt, Tcp.srcPort(f, t), Tcp.dstPort(f, t), Tcp.seq(f, t), ack, th, Tcp.ACK,
                        Tcp.window(f, t));
                int p = gt + 20;
                g.setByte(p, Tcp.OPT_NOP);
                g.setByte(p + 1, Tcp.OPT_NOP);
                g.setByte(p + 2, Tcp.OPT_TIMESTAMP);
                g.setByte(p + 3, 10);
                if (tsOffset >= 0) {
                    g.setBytes(p + 4, f, tsOffset + 2, 8);
                }
                g.setByte(p + 12, Tcp.OPT_NOP);
                g.setByte(p + 13, Tcp.OPT_NOP);
                g.setByte(p + 14, Tcp.OPT_SACK);
                g.setByte(p + 15, 26);
                for (int k = 0; k < 3; k++) {
                    int left = ack + 2 * next + 1;
                    next = (next + 1) % 32768;
                    g.setInt(p + 16 + 8 * k, left);
                    g.setInt(p + 20 + 8 * k, left + 1);
                }
                int src = Ipv4.src(g, go);
                int dst = Ipv4.dst(g, go);
                g.setShort(gt + 16, Checksum.finish(Checksum.add(g, gt, th,
                        Checksum.ipv4Pseudo(src, dst, Ipv4.PROTO_TCP, th))));
                forged++;
                net.linkB.transmit(g);
            } finally {
                g.release();
            }
        }

        /** Offset of the timestamp option in the header at {@code t}, or -1. */
        private static int findTimestamp(ByteBuf f, int t, int th) {
            int p = t + 20;
            while (p < t + th) {
                int kind = f.getUnsignedByte(p);
                if (kind == Tcp.OPT_EOL) {
                    break;
                }
                if (kind == Tcp.OPT_NOP) {
                    p++;
                    continue;
                }
                int l = f.getUnsignedByte(p + 1);
                if (kind == Tcp.OPT_TIMESTAMP) {
                    return p;
                }
                p += Math.max(l, 2);
            }
            return -1;
        }
    }

    /** Counts a's data segments that resend bytes sent before, and how short they are. */
    private static final class RetransmissionWatch {
        boolean started;
        int highest;
        int retransmissions;
        int small;
        int shortest = Integer.MAX_VALUE;

        void onFrameFromA(ByteBuf f) {
            int b = f.readerIndex();
            if (f.readableBytes() < Ethernet.HEADER_LENGTH + 40 || Ethernet.type(f, b) != Ethernet.TYPE_IPV4) {
                return;
            }
            int o = b + Ethernet.HEADER_LENGTH;
            int hl = Ipv4.headerLength(f, o);
            if (Ipv4.protocol(f, o) != Ipv4.PROTO_TCP) {
                return;
            }
            int t = o + hl;
            int payload = Ipv4.totalLength(f, o) - hl - Tcp.headerLength(f, t);
            if (payload <= 0) {
                return;
            }
            int seq = Tcp.seq(f, t);
            if (started && seq - highest < 0) {
                retransmissions++;
                shortest = Math.min(shortest, payload);
                if (payload < 1000 && seq + payload - highest < 0) {
                    small++; // not the short last segment of the data
                }
            }
            if (!started || seq + payload - highest > 0) {
                highest = seq + payload;
                started = true;
            }
        }
    }
}
