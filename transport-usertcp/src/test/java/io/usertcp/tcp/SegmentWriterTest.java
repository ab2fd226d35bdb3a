package io.usertcp.tcp;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.netty.buffer.UnpooledByteBufAllocator;
import io.usertcp.stats.MemoryBudget;
import io.usertcp.stats.StackStats;
import io.usertcp.time.TimerQueue;
import io.usertcp.wire.Checksum;
import io.usertcp.ip.IpLayer;
import io.usertcp.ip.Route;
import io.usertcp.wire.IpAddress;
import io.usertcp.wire.Ipv4;
import io.usertcp.wire.Tcp;
import io.usertcp.wire.TcpOptions;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@link SegmentWriter} (with {@link Handshake}) alone, over a {@link TcpEnv} that only records what is sent: the
 * segments of an active open, header and options parsed back with {@link Tcp} and {@link TcpOptions}.
 */
class SegmentWriterTest {
    private static final IpAddress LOCAL = IpAddress.v4(0x0a000001);
    private static final IpAddress REMOTE = IpAddress.v4(0x0a000002);
    private static final int MTU = 1500;
    private static final int RCVBUF = 256 * 1024; // needs a window scale of 3

    private final RecordingEnv env = new RecordingEnv();
    private final TcpLayer layer = new TcpLayer(env, RCVBUF, 64 * 1024, 200_000_000L, 1_000_000_000L, 16, 1);
    private final TcpOptions opts = new TcpOptions();

    @AfterEach
    void release() {
        for (Sent s : env.sent) {
            s.frame.release();
        }
    }

    @Test
    void synCarriesEveryOptionAndThePseudoHeaderSum() throws Exception {
        TcpConnection c = layer.connect(LOCAL, 40000, REMOTE, 80, 0, 0, 0x28);
        assertThat(env.sent).hasSize(1);
        Sent syn = env.sent.get(0);
        ByteBuf f = syn.frame;
        int o = syn.o;
        assertThat(Tcp.flags(f, o)).isEqualTo(Tcp.SYN);
        assertThat(Tcp.srcPort(f, o)).isEqualTo(40000);
        assertThat(Tcp.dstPort(f, o)).isEqualTo(80);
        assertThat(Tcp.ack(f, o)).isZero();
        assertThat(Tcp.window(f, o)).isEqualTo(65535); // a SYN's window is never scaled
        assertThat(Tcp.headerLength(f, o)).isEqualTo(Tcp.MIN_HEADER_LENGTH
                + TcpOptions.synOptionsLength(true, true, true)).isEqualTo(syn.l4Length);
        opts.parse(f, o, Tcp.headerLength(f, o));
        assertThat(opts.malformed()).isFalse();
        assertThat(opts.mss()).isEqualTo(MTU - 20 - 20);
        assertThat(opts.windowScale()).isEqualTo(Handshake.windowScaleFor(RCVBUF)).isEqualTo(3);
        assertThat(opts.sackPermitted()).isTrue();
        assertThat(opts.hasTimestamp()).isTrue();
        assertThat(opts.tsEcr()).isZero();
        assertThat(Tcp.checksum(f, o)).isEqualTo(
                Checksum.fold(IpAddress.pseudoHeaderSum(LOCAL, REMOTE, Ipv4.PROTO_TCP, syn.l4Length)));
        assertThat(syn.csumOffset).isEqualTo(Tcp.CHECKSUM_OFFSET);
        assertThat(syn.tos).isEqualTo(0x28);
        assertThat(syn.src).isEqualTo(LOCAL);
        assertThat(syn.dst).isEqualTo(REMOTE);
        assertThat(c.state()).isEqualTo(TcpState.SYN_SENT);
        c.abort(); // SYN-SENT: gone without a RST
        assertThat(env.sent).hasSize(1);
    }

    @Test
    void dataAckAndResetAfterTheHandshake() throws Exception {
        TcpConnection c = layer.connect(LOCAL, 40001, REMOTE, 80, 0, 0, 0);
        Sent syn = env.sent.get(0);
        int iss = Tcp.seq(syn.frame, syn.o);
        int synTsVal = opts.parse(syn.frame, syn.o, Tcp.headerLength(syn.frame, syn.o)).tsVal();

        // The peer's SYN-ACK: MSS 1000, window scale 2, SACK-permitted, timestamps.
        ByteBuf synAck = Unpooled.buffer(64);
        int hdr = Tcp.MIN_HEADER_LENGTH + TcpOptions.synOptionsLength(true, true, true);
        synAck.writerIndex(hdr);
        Tcp.writeHeader(synAck, 0, 80, 40001, 7000, iss + 1, hdr, Tcp.SYN | Tcp.ACK, 30000);
        TcpOptions.writeSynOptions(synAck, Tcp.MIN_HEADER_LENGTH, 1000, 2, true, true, 123456, synTsVal);
        env.now += 3_000_000L;
        layer.input(synAck, 0, hdr, 0x0a000002, 0x0a000001, true);
        synAck.release();
        assertThat(c.state()).isEqualTo(TcpState.ESTABLISHED);
        assertThat(c.mss()).isEqualTo(1000);
        assertThat(c.srttNanos()).isEqualTo(3_000_000L);

        Sent ack = env.sent.get(env.sent.size() - 1);
        assertThat(Tcp.flags(ack.frame, ack.o)).isEqualTo(Tcp.ACK);
        assertThat(Tcp.seq(ack.frame, ack.o)).isEqualTo(iss + 1);
        assertThat(Tcp.ack(ack.frame, ack.o)).isEqualTo(7001);
        assertThat(Tcp.headerLength(ack.frame, ack.o)).isEqualTo(Tcp.MIN_HEADER_LENGTH + TcpOptions.TIMESTAMP_LENGTH);
        opts.parse(ack.frame, ack.o, Tcp.headerLength(ack.frame, ack.o));
        assertThat(opts.tsEcr()).isEqualTo(123456);
        assertThat(opts.tsVal()).isEqualTo(synTsVal + 3); // our clock ticks in milliseconds
        assertThat(Tcp.window(ack.frame, ack.o) << 3).isLessThanOrEqualTo(RCVBUF).isGreaterThan(RCVBUF - 8);

        int before = env.sent.size();
        ByteBuf data = Unpooled.copiedBuffer("hello", StandardCharsets.US_ASCII);
        assertThat(c.write(data)).isEqualTo(5);
        data.release();
        c.push();
        assertThat(env.sent).hasSize(before + 1);
        Sent seg = env.sent.get(before);
        int dataOff = seg.o + Tcp.headerLength(seg.frame, seg.o);
        assertThat(Tcp.flags(seg.frame, seg.o)).isEqualTo(Tcp.ACK | Tcp.PSH);
        assertThat(seg.l4Length - Tcp.headerLength(seg.frame, seg.o)).isEqualTo(5);
        assertThat(seg.frame.toString(dataOff, 5, StandardCharsets.US_ASCII)).isEqualTo("hello");
        assertThat(seg.gso).isEqualTo(1000 - TcpOptions.TIMESTAMP_LENGTH); // options come out of the MSS

        c.abort();
        Sent rst = env.sent.get(env.sent.size() - 1);
        assertThat(Tcp.flags(rst.frame, rst.o)).isEqualTo(Tcp.RST);
        assertThat(Tcp.seq(rst.frame, rst.o)).isEqualTo(iss + 1 + 5);
        assertThat(Tcp.headerLength(rst.frame, rst.o)).isEqualTo(Tcp.MIN_HEADER_LENGTH); // no options on a RST
        assertThat(Tcp.window(rst.frame, rst.o)).isZero();
        assertThat(c.isClosed()).isTrue();
    }

    /** One segment handed to {@link TcpEnv#send}. */
    private record Sent(ByteBuf frame, int o, IpAddress src, IpAddress dst, int l4Length, int csumOffset, int gso,
                        int tos) {
    }

    /** A TCP environment that records what is sent and does nothing else. */
    private static final class RecordingEnv implements TcpEnv {
        private static final int HEADROOM = 14 + 20;
        final List<Sent> sent = new ArrayList<>();
        final RecordingLayer layer = new RecordingLayer(this);
        final TimerQueue timers = new TimerQueue();
        final StackStats stats = new StackStats();
        final MemoryBudget memory = new MemoryBudget(1L << 30);
        long now = 1_000_000_000L;

        @Override
        public long now() {
            return now;
        }

        @Override
        public TimerQueue timers() {
            return timers;
        }

        @Override
        public ByteBufAllocator alloc() {
            return UnpooledByteBufAllocator.DEFAULT;
        }

        @Override
        public StackStats stats() {
            return stats;
        }

        @Override
        public MemoryBudget memory() {
            return memory;
        }

        @Override
        public Route route(Route reuse, IpAddress local, IpAddress remote) {
            Route r = reuse != null ? reuse : new Route();
            layer.bind(r, local.hi(), local.lo(), remote.hi(), remote.lo());
            return r;
        }

        @Override
        public int reportPathMtu(IpAddress dst, int mtu) {
            return mtu;
        }

        @Override
        public void confirmReachable(IpAddress dst) {
        }

        @Override
        public IpAddress sourceAddressFor(IpAddress dst) {
            return LOCAL;
        }

        @Override
        public boolean isBroadcastOrMulticast(IpAddress ip) {
            return false;
        }

        @Override
        public boolean isLocalAddress(IpAddress ip) {
            return ip.equals(LOCAL);
        }

        @Override
        public void ready(TcpSocket s) {
        }

        @Override
        public void ackLater(TcpConnection c) {
        }
    }

    /** The IPv4 layer below {@link RecordingEnv}: frames with room for Ethernet and IPv4, and every send recorded. */
    private static final class RecordingLayer implements IpLayer {
        private final RecordingEnv env;

        RecordingLayer(RecordingEnv env) {
            this.env = env;
        }

        @Override
        public boolean isV6() {
            return false;
        }

        @Override
        public int transportOffset() {
            return RecordingEnv.HEADROOM;
        }

        @Override
        public ByteBuf newPacket(int transportLength) {
            ByteBuf f = Unpooled.buffer(RecordingEnv.HEADROOM + transportLength);
            return f.writerIndex(RecordingEnv.HEADROOM + transportLength);
        }

        @Override
        public void bind(Route route, long localHi, long localLo, long remoteHi, long remoteLo) {
            route.setUp(this, IpAddress.of(localHi, localLo), IpAddress.of(remoteHi, remoteLo), false, false);
        }

        @Override
        public void send(Route route, ByteBuf packet, int protocol, int transportLength, int csumOffset, int gsoSize,
                         int transportHeaderLength, int tos) {
            assertThat(protocol).isEqualTo(Ipv4.PROTO_TCP);
            env.sent.add(new Sent(packet, RecordingEnv.HEADROOM, route.local(), route.remote(), transportLength,
                    csumOffset, gsoSize, tos));
        }

        @Override
        public void sendDatagram(Route route, ByteBuf packet, int protocol, int transportLength, int csumOffset,
                                 int tos) {
            throw new AssertionError("TCP sends no datagrams");
        }

        @Override
        public int mtuTo(IpAddress dst) {
            return MTU;
        }

        @Override
        public int reportPathMtu(IpAddress dst, int mtu) {
            return mtu;
        }

        @Override
        public int maxTransportLength() {
            return 65535 - 20;
        }

        @Override
        public boolean segmentationOffload() {
            return false;
        }

        @Override
        public IpAddress sourceFor(IpAddress dst) {
            return null;
        }

        @Override
        public boolean isLocal(IpAddress ip) {
            return false;
        }

        @Override
        public void confirmReachable(IpAddress dst, long now) {
        }

        @Override
        public void clear() {
        }
    }
}
