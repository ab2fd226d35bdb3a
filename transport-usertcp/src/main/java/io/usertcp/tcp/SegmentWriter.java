package io.usertcp.tcp;

import io.netty.buffer.ByteBuf;
import io.usertcp.ip.Route;
import io.usertcp.wire.IpAddress;
import io.usertcp.wire.Ipv4;
import io.usertcp.wire.Tcp;
import io.usertcp.wire.TcpOptions;

import static io.usertcp.tcp.Tcb.seqLt;
import static io.usertcp.tcp.Tcb.seqLe;
import static io.usertcp.tcp.Tcb.seqGt;

/**
 * Builds and sends every segment of one connection, header and options in one place: SYN and SYN-ACK, data, ACK
 * and RST; the window field to advertise (receiver-side SWS avoidance), the timestamps (RFC 7323) and SACK blocks
 * (RFC 2018) a segment carries. All sending of TCP happens here (through the connection's {@link Route}, or
 * {@link #transmit(TcpEnv, Route, ByteBuf, int, int)} for {@link PassiveOpen} and {@link TcpLayer}'s resets).
 */
final class SegmentWriter {
    /** The connection, the one field (its {@link Tcb} and environment are read through it: 8 bytes less each). */
    private final TcpConnection c;
    // The SACK blocks of the segment being built are in TcpLayer.sackOut: one array for the stack's connections (one
    // thread builds one segment at a time), not one per connection, nor a field here (issue #12: an idle
    // connection's heap).

    SegmentWriter(TcpConnection c) {
        this.c = c;
    }

    /**
     * Sends our SYN or (with {@code ack}) SYN-ACK: MSS, then NOP + window scale (3) and NOP, NOP + SACK-permitted
     * (2) and timestamps, in a SYN-ACK only if the SYN carried them (RFC 7323 §1.3, RFC 2018 §2).
     */
    void sendSyn(boolean ack) {
        Tcb tcb = c.tcb;
        boolean ws = !ack || tcb.windowScaleOk;
        boolean sp = !ack || tcb.sackOk;
        boolean ts = !ack || tcb.tsOk;
        int hdr = Tcp.MIN_HEADER_LENGTH + TcpOptions.synOptionsLength(ws, sp, ts);
        ByteBuf f = c.route.newPacket(hdr);
        int o = c.route.transportOffset();
        int flags = Tcp.SYN | (ack ? Tcp.ACK : 0);
        Tcp.writeHeader(f, o, c.localPort, c.remotePort, tcb.iss, ack ? tcb.rcvNxt : 0, hdr, flags,
                Math.min(tcb.receiveBufferSize, 65535));
        int announce = c.handshake.pathMss();
        int wscale = ack ? tcb.rcvWscale : Handshake.windowScaleFor(tcb.receiveBufferSize);
        TcpOptions.writeSynOptions(f, o + Tcp.MIN_HEADER_LENGTH,
                tcb.mssClamp > 0 ? Math.min(announce, tcb.mssClamp) : announce, ws ? wscale : -1, sp, ts,
                ts ? tsNow() : 0, ack ? tcb.tsRecent : 0);
        transmit(f, o, hdr);
    }

    /** Sends a segment of {@code len} bytes of the send buffer from {@code seq} (0 for a bare FIN) with ACK. */
    void sendData(int seq, int len, int flags) {
        Tcb tcb = c.tcb;
        int blocks = sackBlocksToSend();
        int hdr = Tcp.MIN_HEADER_LENGTH + (tcb.tsOk ? TcpOptions.TIMESTAMP_LENGTH : 0) + TcpOptions.sackLength(blocks);
        ByteBuf f = c.route.newPacket(hdr + len);
        int o = c.route.transportOffset();
        writeHeader(f, o, seq, tcb.rcvNxt, hdr, flags, receiveWindowField(), tcb.tsOk, blocks);
        tcb.lastAckSent = tcb.rcvNxt;
        if (len > 0) {
            tcb.sendBuffer.copy(seq - tcb.sndBufSeq, f, o + hdr, len);
        }
        if (tcb.sackOk) {
            // RFC 8985 §6.1; the segment size is the grid SACK blocks are matched to (as transmit() cuts it).
            tcb.rack.onTransmit(seq, seq + len + ((flags & Tcp.FIN) != 0 ? 1 : 0),
                    tcb.mss - (hdr - Tcp.MIN_HEADER_LENGTH), tcb.now);
        }
        transmit(f, o, hdr + len);
        tcb.ackPending = false;
    }

    /** Sends a segment with no data (ACK, RST; a RST carries no options and a zero window). */
    void sendControl(int seq, int ack, int flags) {
        Tcb tcb = c.tcb;
        boolean rst = (flags & Tcp.RST) != 0;
        int blocks = rst ? 0 : sackBlocksToSend();
        boolean ts = tcb.tsOk && !rst;
        int hdr = Tcp.MIN_HEADER_LENGTH + (ts ? TcpOptions.TIMESTAMP_LENGTH : 0) + TcpOptions.sackLength(blocks);
        ByteBuf f = c.route.newPacket(hdr);
        int o = c.route.transportOffset();
        writeHeader(f, o, seq, ack, hdr, flags, rst ? 0 : receiveWindowField(), ts, blocks);
        if ((flags & Tcp.ACK) != 0) {
            tcb.lastAckSent = ack;
        }
        transmit(f, o, hdr);
    }

    /** Sends &lt;SEQ=SND.MAX&gt;&lt;ACK=RCV.NXT&gt;&lt;CTL=ACK&gt;: the ACK owed is paid. */
    void sendAck() {
        Tcb tcb = c.tcb;
        // SND.MAX: never behind what the peer has seen, even after a go-back-N.
        sendControl(tcb.sndMax, tcb.rcvNxt, Tcp.ACK);
        tcb.ackPending = false;
    }

    /** The fixed header, then NOP, NOP, timestamps (if {@code ts}), then the first {@code blocks} SACK blocks. */
    private void writeHeader(ByteBuf f, int o, int seq, int ack, int hdr, int flags, int window, boolean ts,
                             int blocks) {
        Tcb tcb = c.tcb;
        Tcp.writeHeader(f, o, c.localPort, c.remotePort, seq, ack, hdr, flags, window);
        int p = o + Tcp.MIN_HEADER_LENGTH;
        if (ts) {
            p = TcpOptions.writeTimestamps(f, p, tsNow(), tcb.tsRecent);
        }
        TcpOptions.writeSack(f, p, c.tcp.sackOut, blocks);
    }

    /** Bytes of options (timestamps, SACK) the next segment will carry; they come out of the MSS. */
    int sackOptionLength() {
        Tcb tcb = c.tcb;
        int ts = tcb.tsOk ? TcpOptions.TIMESTAMP_LENGTH : 0;
        if (!tcb.sackOk || tcb.reassembly.isEmpty()) {
            return ts;
        }
        return ts + TcpOptions.sackLength(Math.min(maxSackBlocks(), tcb.reassembly.entries()));
    }

    /** SACK blocks that fit beside the other options in 40 bytes (RFC 2018 §3: 3 with timestamps). */
    private int maxSackBlocks() {
        Tcb tcb = c.tcb;
        return tcb.tsOk ? 3 : 4;
    }

    /** Our TSval clock: milliseconds (RFC 7323 §5.4 allows 1 ms to 1 s per tick) plus a random offset. */
    int tsNow() {
        Tcb tcb = c.tcb;
        return (int) (tcb.now / 1_000_000L) + tcb.tsOffset;
    }

    /**
     * Fills {@code sackOut} with the blocks of held out-of-order data (RFC 2018 §4: the block holding the
     * latest segment first) and returns how many to send, or 0.
     */
    private int sackBlocksToSend() {
        Tcb tcb = c.tcb;
        if (!tcb.sackOk || tcb.reassembly.isEmpty()) {
            return 0;
        }
        int[] sackOut = c.tcp.sackOut;
        int n = tcb.reassembly.sackBlocks(tcb.rcvNxtOffset, tcb.rcvNxt, sackOut, maxSackBlocks());
        if (tcb.lastOooOffset >= 0) {
            int latest = tcb.rcvNxt + (int) (tcb.lastOooOffset - tcb.rcvNxtOffset);
            for (int k = 1; k < n; k++) {
                if (seqLe(sackOut[2 * k], latest) && seqLt(latest, sackOut[2 * k + 1])) {
                    int l = sackOut[2 * k];
                    int r = sackOut[2 * k + 1];
                    System.arraycopy(sackOut, 0, sackOut, 2, 2 * k);
                    sackOut[0] = l;
                    sackOut[1] = r;
                    break;
                }
            }
        }
        return n;
    }

    /** Sends a segment of this connection: cut at the MSS less its options by TSO, with the IP_TOS byte. */
    void transmit(ByteBuf f, int o, int l4Length) {
        Tcb tcb = c.tcb;
        TcpEnv env = c.tcp.env;
        int hdr = Tcp.headerLength(f, o);
        env.stats().tcpSegmentsOut++;
        // The route fills the checksum field with the pseudo-header sum; the stack (or the kernel) completes it.
        c.route.send(f, Ipv4.PROTO_TCP, l4Length, Tcp.CHECKSUM_OFFSET, tcb.mss - (hdr - Tcp.MIN_HEADER_LENGTH), hdr,
                tcb.tos & 0xff);
    }

    /**
     * The window field to send: what the buffer has room for, never moving the right edge left (RFC 9293
     * §3.8.6.2.2 MUST-?: shrinking is discouraged) and growing it only in useful steps (receiver SWS).
     */
    private int receiveWindowField() {
        Tcb tcb = c.tcb;
        int avail = Math.max(0, tcb.receiveBufferSize - tcb.receiveQueue.size());
        int cur = tcb.rcvAdvEdge - tcb.rcvNxt;
        if (cur < 0) {
            cur = 0;
        }
        if (avail > cur && (avail - cur >= Math.min(tcb.receiveBufferSize / 2, tcb.mss) || cur == 0 && avail >= tcb.mss
                || avail == tcb.receiveBufferSize)) {
            cur = avail;
        }
        int field = Math.min(cur >>> tcb.rcvWscale, 65535);
        int edge = tcb.rcvNxt + (field << tcb.rcvWscale);
        if (seqGt(edge, tcb.rcvAdvEdge)) {
            tcb.rcvAdvEdge = edge;
        }
        return field;
    }

    // ------------------------------------------------------------------ for segments of no connection

    /**
     * Sends the segment of {@code l4Length} bytes (header only, no TSO) at {@code o} of {@code f}, made by
     * {@code route.newPacket}, taking ownership: the route fills in the pseudo-header sum, which the stack (or the
     * kernel, with offload) completes.
     */
    static void transmit(TcpEnv env, Route route, ByteBuf f, int o, int l4Length) {
        transmit(env, route, f, o, l4Length, 0);
    }

    /** As {@link #transmit(TcpEnv, Route, ByteBuf, int, int)}, with the IP_TOS byte {@code tos}. */
    static void transmit(TcpEnv env, Route route, ByteBuf f, int o, int l4Length, int tos) {
        env.stats().tcpSegmentsOut++;
        route.send(f, Ipv4.PROTO_TCP, l4Length, Tcp.CHECKSUM_OFFSET, 0, Tcp.headerLength(f, o), tos & 0xff);
    }
}
