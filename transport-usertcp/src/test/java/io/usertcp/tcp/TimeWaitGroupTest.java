package io.usertcp.tcp;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.usertcp.sim.VirtualClock;
import io.usertcp.stack.Stack;
import io.usertcp.stack.StackConfig;
import io.usertcp.stack.StackGroup;
import io.usertcp.wire.IpAddress;
import io.usertcp.wire.Tcp;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * TIME-WAIT in a group of stacks (issue #12): while its TIME-WAIT entry lives, a flow stays directed to the stack
 * that holds it, so a retransmitted FIN that reaches another stack's queue is handed over and answered there; when
 * the entry expires, the group's directory forgets the flow. Segments are made by hand and given to the stacks'
 * TCP layers, in virtual time.
 */
class TimeWaitGroupTest {
    private static final long SEC = 1_000_000_000L;
    private static final IpAddress PEER = IpAddress.of(0, IpAddress.mappedLo(0xc6120001));
    private static final long US_LO = IpAddress.mappedLo(0xc6120002);
    private static final int PEER_ISN = 5000;

    private final VirtualClock clock = new VirtualClock();
    private final List<Stack> stacks = new ArrayList<>();

    @AfterEach
    void close() {
        stacks.forEach(Stack::close);
    }

    private StackGroup group(int n) {
        StackGroup g = new StackGroup(n);
        for (int i = 0; i < n; i++) {
            Stack s = new Stack(StackConfig.builder().address("198.18.0.2/24").timeWait(Duration.ofSeconds(10))
                    .build(), null, clock, ByteBufAllocator.DEFAULT);
            stacks.add(s);
            g.join(s, () -> { });
        }
        return g;
    }

    private static void deliver(Stack s, int localPort, int seq, int ack, int flags) {
        ByteBuf b = Unpooled.directBuffer(Tcp.MIN_HEADER_LENGTH).writeZero(Tcp.MIN_HEADER_LENGTH);
        Tcp.writeHeader(b, 0, 80, localPort, seq, ack, Tcp.MIN_HEADER_LENGTH, flags, 65535);
        try {
            s.tcp().input(b, 0, b.readableBytes(), 0, PEER.lo(), 0, US_LO, true);
        } finally {
            b.release();
        }
    }

    @Test
    void aFlowInTimeWaitStaysWithItsStackUntilItsEntryExpires() throws Exception {
        StackGroup g = group(2);
        Stack s0 = stacks.get(0);
        Stack s1 = stacks.get(1);
        TcpConnection c = s0.tcp().connect(null, 0, PEER, 80, 0, 0, 0);
        int port = c.localAddress().getPort();
        int iss = c.tcb.iss;
        // The SYN-ACK reaches stack 1's queue and is handed to stack 0.
        deliver(s1, port, PEER_ISN, iss + 1, Tcp.SYN | Tcp.ACK);
        s0.pollLink(16);
        s0.flush();
        assertThat(c.state()).isEqualTo(TcpState.ESTABLISHED);
        // The application closes; the peer acknowledges our FIN and sends its own: TIME-WAIT.
        c.close();
        deliver(s0, port, PEER_ISN + 1, iss + 2, Tcp.FIN | Tcp.ACK);
        s0.flush();
        assertThat(c.state()).isEqualTo(TcpState.TIME_WAIT);
        assertThat(s0.tcp().timeWaitCount()).isEqualTo(1);
        assertThat(g.directorySize()).as("the flow is still directed to stack 0").isEqualTo(1);
        assertThat(s0.tcp().timeWait.size()).as("held by a record").isEqualTo(1);
        assertThat(s0.tcp().connections).isEmpty();
        // 6 s later the FIN comes again, to stack 1's queue: handed over, acknowledged by stack 0, timer restarted.
        clock.advance(6 * SEC);
        s0.runTimers();
        long forwarded = s1.stats().groupForwarded;
        long out = s0.stats().tcpSegmentsOut;
        deliver(s1, port, PEER_ISN + 1, iss + 2, Tcp.FIN | Tcp.ACK);
        assertThat(s1.stats().groupForwarded).isEqualTo(forwarded + 1);
        assertThat(s1.stats().tcpResetsOut).isZero();
        s0.pollLink(16);
        s0.flush();
        assertThat(s0.stats().tcpSegmentsOut).as("the FIN is acknowledged again").isEqualTo(out + 1);
        // 10 s after the first FIN the entry is still there (restarted at 6 s), 10 s after the second it is gone.
        clock.advance(4 * SEC);
        s0.runTimers();
        assertThat(c.state()).isEqualTo(TcpState.TIME_WAIT);
        assertThat(g.directorySize()).isEqualTo(1);
        clock.advance(6 * SEC);
        s0.runTimers();
        assertThat(c.state()).isEqualTo(TcpState.CLOSED);
        assertThat(s0.tcp().timeWaitCount()).isZero();
        assertThat(s0.tcp().connectionCount()).isZero();
        assertThat(g.directorySize()).as("expired: the directory forgot the flow").isZero();
        // Now a segment of that flow at stack 1 is stack 1's own: a RST for nothing, no hand-over.
        deliver(s1, port, PEER_ISN + 1, iss + 2, Tcp.ACK);
        assertThat(s1.stats().groupForwarded).isEqualTo(forwarded + 1);
        assertThat(s1.stats().dropTcpNoListener).isEqualTo(1);
    }
}
