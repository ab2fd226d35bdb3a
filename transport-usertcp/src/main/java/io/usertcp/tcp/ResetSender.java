package io.usertcp.tcp;

import io.netty.buffer.ByteBuf;
import io.usertcp.ip.Route;
import io.usertcp.util.TokenBucket;
import io.usertcp.wire.Tcp;

/**
 * The RSTs a TCP layer sends for segments that match no connection (RFC 9293 §3.10.7.1), at most
 * {@value TcpLayer#CONTROL_PER_SECOND} a second with bursts of {@value TcpLayer#CONTROL_BURST} for the whole stack
 * (issue #10: a flood of stray or forged segments cannot turn the stack into a packet generator), through one route
 * object re-aimed for each peer.
 */
final class ResetSender {
    private final TcpLayer tcp;
    private final TokenBucket limit = new TokenBucket(TcpLayer.CONTROL_PER_SECOND, TcpLayer.CONTROL_BURST);
    private Route route;

    ResetSender(TcpLayer tcp) {
        this.tcp = tcp;
    }

    /** RFC 9293 §3.10.7.1: the reply to a segment for no connection. Never answers a RST. */
    void send(long srcHi, long srcLo, long dstHi, long dstLo, int srcPort, int dstPort, int seq, int ack,
              int flags, int dataLen) {
        if ((flags & Tcp.RST) != 0) {
            return;
        }
        if (!limit.tryTake(tcp.env.now())) {
            tcp.env.stats().tcpResetsRateLimited++;
            return;
        }
        int rseq;
        int rack;
        int rflags;
        if ((flags & Tcp.ACK) != 0) {
            rseq = ack;
            rack = 0;
            rflags = Tcp.RST;
        } else {
            rseq = 0;
            rack = seq + dataLen + ((flags & Tcp.SYN) != 0 ? 1 : 0) + ((flags & Tcp.FIN) != 0 ? 1 : 0);
            rflags = Tcp.RST | Tcp.ACK;
        }
        Route r = route;
        if (r == null || !r.matches(dstHi, dstLo, srcHi, srcLo)) {
            r = route = tcp.env.route(r, dstHi, dstLo, srcHi, srcLo);
        }
        ByteBuf f = r.newPacket(Tcp.MIN_HEADER_LENGTH);
        int ro = r.transportOffset();
        Tcp.writeHeader(f, ro, dstPort, srcPort, rseq, rack, Tcp.MIN_HEADER_LENGTH, rflags, 0);
        tcp.env.stats().tcpResetsOut++;
        SegmentWriter.transmit(tcp.env, r, f, ro, Tcp.MIN_HEADER_LENGTH);
    }
}
