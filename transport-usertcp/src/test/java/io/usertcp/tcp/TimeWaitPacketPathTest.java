package io.usertcp.tcp;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.usertcp.sim.VirtualClock;
import io.usertcp.stack.Stack;
import io.usertcp.stack.StackConfig;
import io.usertcp.wire.IpAddress;
import io.usertcp.wire.Tcp;
import org.junit.jupiter.api.Test;

import java.lang.management.ManagementFactory;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The packet path of a TIME-WAIT record allocates nothing per segment (ARCHITECTURE.md, "Nothing allocated per
 * packet"): segments that find a record and need no answer (an ACK of what was sent; an out-of-window ACK whose
 * answer the rate limit holds back) are counted with the JVM's per-thread allocation counter.
 */
class TimeWaitPacketPathTest {
    private static final IpAddress PEER = IpAddress.of(0, IpAddress.mappedLo(0xc6120001));
    private static final long US_LO = IpAddress.mappedLo(0xc6120002);
    private static final int PEER_ISN = 5000;
    private static final int SEGMENTS = 20_000;

    private static ByteBuf segment(int localPort, int seq, int ack, int flags) {
        ByteBuf b = Unpooled.directBuffer(Tcp.MIN_HEADER_LENGTH).writeZero(Tcp.MIN_HEADER_LENGTH);
        Tcp.writeHeader(b, 0, 80, localPort, seq, ack, Tcp.MIN_HEADER_LENGTH, flags, 65535);
        return b;
    }

    private static void deliver(Stack s, ByteBuf b) {
        s.tcp().input(b, 0, b.readableBytes(), 0, PEER.lo(), 0, US_LO, true);
    }

    private static long allocatedBytes() {
        return ((com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean()).getCurrentThreadAllocatedBytes();
    }

    @Test
    void segmentsForARecordAllocateNothing() throws Exception {
        VirtualClock clock = new VirtualClock();
        Stack s = new Stack(StackConfig.builder().address("198.18.0.2/24").build(), null, clock,
                ByteBufAllocator.DEFAULT);
        ByteBuf inWindow = null;
        ByteBuf tooFar = null;
        try {
            TcpConnection c = s.tcp().connect(null, 0, PEER, 80, 0, 0, 0);
            int port = c.localAddress().getPort();
            int iss = c.tcb.iss;
            ByteBuf b = segment(port, PEER_ISN, iss + 1, Tcp.SYN | Tcp.ACK);
            deliver(s, b);
            b.release();
            s.flush();
            c.close();
            b = segment(port, PEER_ISN + 1, iss + 2, Tcp.FIN | Tcp.ACK);
            deliver(s, b);
            b.release();
            s.flush();
            assertThat(s.tcp().timeWait.size()).isEqualTo(1);
            inWindow = segment(port, PEER_ISN + 2, iss + 2, Tcp.ACK);
            tooFar = segment(port, PEER_ISN + 2, iss + 1000, Tcp.ACK);
            deliver(s, tooFar); // answered once; the rate limit holds back the answers to the ones below
            long out = s.stats().tcpSegmentsOut;
            for (int round = 0; round < 3; round++) { // the last round is measured, after the JIT compiled the path
                long before = allocatedBytes();
                for (int i = 0; i < SEGMENTS; i++) {
                    deliver(s, inWindow);
                    deliver(s, tooFar);
                }
                long allocated = allocatedBytes() - before;
                if (round == 2) {
                    assertThat(allocated).as("bytes allocated for %d segments", 2 * SEGMENTS).isLessThan(1024);
                }
            }
            assertThat(s.stats().tcpSegmentsOut).as("nothing answered").isEqualTo(out);
            assertThat(s.stats().tcpOutOfWindowAcksLimited).isEqualTo(3L * SEGMENTS);
            assertThat(s.tcp().timeWaitCount()).isEqualTo(1);
        } finally {
            if (inWindow != null) {
                inWindow.release();
                tooFar.release();
            }
            s.close();
        }
    }
}
