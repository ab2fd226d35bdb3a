package io.usertcp.udp;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.usertcp.stack.StackConfig;
import io.usertcp.stats.MemoryBudget;
import io.usertcp.stats.StackStats;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * UDP's receive queues count against the stack's memory budget: a flood to many bound sockets whose application
 * never reads cannot pin more than the budget, however large their SO_RCVBUFs are together (issue #10).
 */
class UdpMemoryBudgetTest {
    private static final int SOCKETS = 16;
    private static final int RCVBUF = 16 << 10;
    private static final long LIMIT = 64 << 10; // a quarter of the sockets' SO_RCVBUFs together

    private final RawPeer peer = new RawPeer(1500, StackConfig.builder().memoryBudget(LIMIT)).learnArp();
    private final UdpLayer udp = peer.stack.udp();
    private final StackStats stats = peer.stack.stats();
    private final MemoryBudget budget = peer.stack.memory();
    private final List<UdpSocket> sockets = new ArrayList<>();

    @AfterEach
    void close() {
        sockets.forEach(UdpSocket::close);
        peer.close();
    }

    private int flood(int rounds) {
        int sent = 0;
        for (int r = 0; r < rounds; r++) {
            for (int i = 0; i < SOCKETS; i++) {
                // Large payloads are kept as slices of their frame, small ones copied: both are charged.
                int len = (r + i) % 2 == 0 ? 1000 : 100;
                peer.input(RawPeer.udpPacket(6000, 5000 + i, new byte[len]));
                sent++;
                assertThat(budget.used()).isLessThanOrEqualTo(LIMIT);
            }
        }
        return sent;
    }

    private int queued() {
        int n = 0;
        for (UdpSocket s : sockets) {
            n += s.queuedDatagrams();
        }
        return n;
    }

    private static void readAll(UdpSocket s) {
        ByteBuf b = Unpooled.buffer(2048);
        try {
            while (s.queuedDatagrams() > 0) {
                b.clear();
                s.receive(b);
            }
        } finally {
            b.release();
        }
    }

    @Test
    void datagramsNobodyReadsStayWithinTheBudgetAndAreCreditedWhenReadOrClosed() throws Exception {
        for (int i = 0; i < SOCKETS; i++) {
            UdpSocket s = udp.open();
            sockets.add(s);
            s.receiveBufferSize(RCVBUF);
            s.bind(0, 5000 + i);
        }
        assertThat(budget.used()).isZero();

        int sent = flood(20);

        assertThat(budget.used()).as("queued datagrams are charged").isGreaterThan(LIMIT / 2);
        assertThat(budget.peak()).isLessThanOrEqualTo(LIMIT);
        assertThat(stats.dropUdpReceiveBuffer).as("no socket reached its SO_RCVBUF").isZero();
        assertThat(stats.dropUdpMemory).isEqualTo(sent - queued()).isPositive();
        long socketDrops = 0;
        for (UdpSocket s : sockets) {
            socketDrops += s.drops();
        }
        assertThat(socketDrops).isEqualTo(stats.dropUdpMemory);

        // The first half reads everything: their memory comes back, and their new datagrams are taken again.
        long before = budget.used();
        for (int i = 0; i < SOCKETS / 2; i++) {
            readAll(sockets.get(i));
        }
        assertThat(budget.used()).isLessThan(before);
        long drops = stats.dropUdpMemory;
        peer.input(RawPeer.udpPacket(6000, 5000, new byte[1000]));
        assertThat(sockets.get(0).queuedDatagrams()).isEqualTo(1);
        assertThat(stats.dropUdpMemory).isEqualTo(drops);
        readAll(sockets.get(0));

        // The second half closes with its datagrams unread: closing credits them.
        for (int i = SOCKETS / 2; i < SOCKETS; i++) {
            sockets.get(i).close();
        }
        assertThat(budget.used()).isZero();
    }
}
