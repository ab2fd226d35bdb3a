package io.usertcp.bench;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.util.internal.PlatformDependent;
import io.usertcp.link.Link;
import io.usertcp.stack.Stack;
import io.usertcp.stack.StackConfig;
import io.usertcp.tcp.TcpConnection;
import io.usertcp.tcp.TcpListener;
import io.usertcp.time.Clock;
import io.usertcp.wire.Checksum;
import io.usertcp.wire.Ethernet;
import io.usertcp.wire.IpAddress;
import io.usertcp.wire.Ipv4;
import io.usertcp.wire.MacAddress;
import io.usertcp.wire.Tcp;
import io.usertcp.wire.TcpOptions;

import java.io.IOException;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The TCP input path (issue #12): one in-window data segment of {@value #PAYLOAD} bytes (a full segment at MSS 1460
 * with timestamps) into an ESTABLISHED connection of a {@link Stack}, and the ACK it causes. The link hands the
 * stack one frame per operation the way a TAP device does (a buffer from the stack's allocator, or the one the stack
 * gave back, filled with one memory copy) and throws what the stack sends away, counting it; the operation is one
 * turn of the loop: {@code pollLink}, timers, events, the application reading the data, the flush that sends the
 * ACK. The peer's side (sequence number, timestamp, checksum) is patched into the frame incrementally. As
 * {@link SynFloodBenchmark}: the Java path without the TAP's system calls.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
// Leak detection off: its sampled stack traces would be measured as allocation; the unit tests check leaks.
@Fork(value = 1, jvmArgsAppend = {"-Dio.netty.leakDetection.level=disabled"})
public class TcpInputBenchmark {
    static final int STACK_IP = 0xc6122802; // 198.18.40.2
    static final int PEER_IP = 0xc6122801; // 198.18.40.1
    static final int PORT = 7000;
    static final int PEER_PORT = 40000;
    static final byte[] STACK_MAC = {0x02, 0, 0, 0, 0, 2};
    static final byte[] PEER_MAC = {0x02, 0, 0, 0, 0, 1};
    static final int PAYLOAD = 1448;
    static final int IP = Ethernet.HEADER_LENGTH;
    static final int TCP = IP + Ipv4.MIN_HEADER_LENGTH;
    static final int TCP_HEADER = Tcp.MIN_HEADER_LENGTH + TcpOptions.TIMESTAMP_LENGTH;
    static final int FRAME = TCP + TCP_HEADER + PAYLOAD;
    /** The timestamp value's offset in a data segment (after NOP, NOP, kind, length). */
    static final int TS_VAL = TCP + Tcp.MIN_HEADER_LENGTH + 4;

    Stack stack;
    PeerLink link;
    TcpConnection connection;
    ByteBuf read;
    /** The peer's next sequence number and timestamp. */
    int seq;
    int tsVal;

    @Setup(Level.Trial)
    public void start() throws Exception {
        ByteBufAllocator alloc = ByteBufAllocator.DEFAULT;
        link = new PeerLink();
        StackConfig cfg = StackConfig.builder().address("198.18.40.2/24").build();
        stack = new Stack(cfg, link, Clock.SYSTEM, alloc); // as UserTcpIoHandler
        TcpListener listener = stack.tcp().listen(IpAddress.v4(STACK_IP), PORT, 128);
        // The handshake: SYN (MSS, window scale, SACK-permitted, timestamps), the kernel's side answers the
        // stack's ARP request, the SYN-ACK goes out, then the final ACK.
        int iss = 1_000_000;
        tsVal = 1;
        link.deliver(handshake(alloc, Tcp.SYN, iss, 0, tsVal, 0));
        link.deliver(arpReply(alloc));
        turn();
        if (link.synAckSeq == 0 && link.synAckTsVal == 0) {
            throw new IllegalStateException("no SYN-ACK from the stack");
        }
        seq = iss + 1;
        link.deliver(handshake(alloc, Tcp.ACK, seq, link.synAckSeq + 1, ++tsVal, link.synAckTsVal));
        turn();
        connection = listener.accept();
        if (connection == null || !connection.isEstablished()) {
            throw new IllegalStateException("the connection did not establish: " + connection);
        }
        link.data(alloc, link.synAckSeq + 1, link.synAckTsVal);
        read = alloc.directBuffer(PAYLOAD, PAYLOAD);
        link.sent = 0;
        for (int i = 0; i < 1000; i++) {
            segment();
        }
        if (link.sent != 1000 || connection.readableBytes() != 0) {
            throw new IllegalStateException("expected one ACK per segment and every byte read: " + link.sent
                    + " frames sent, " + connection.readableBytes() + " bytes unread, " + connection);
        }
        link.sent = 0;
        summary(); // the first string concatenation of a call site costs ~700 KB of the JVM's: not in the figures
    }

    @TearDown(Level.Trial)
    public void stop() {
        String summary = summary();
        connection.abort();
        read.release();
        link.template.release();
        stack.close();
        System.out.println(summary);
    }

    private String summary() {
        return "\nframes sent by the stack (one ACK per segment): " + link.sent + "; the connection: "
                + connection.state();
    }

    /** One data segment in; the application reads it; its ACK out. */
    @Benchmark
    public int segment() throws IOException {
        link.next(seq, ++tsVal);
        seq += PAYLOAD;
        turn();
        return read.writerIndex();
    }

    /** One turn of the event loop, with the application reading what arrived. */
    private void turn() throws IOException {
        stack.pollLink(16);
        stack.runTimers();
        stack.dispatchEvents();
        if (connection != null) {
            read.clear();
            connection.read(read);
        }
        stack.flush();
    }

    /** A SYN or ACK of the handshake from the peer, with its options. */
    static ByteBuf handshake(ByteBufAllocator alloc, int flags, int seq, int ack, int tsVal, int tsEcr) {
        boolean syn = (flags & Tcp.SYN) != 0;
        int optionsLength = syn ? TcpOptions.synOptionsLength(true, true, true) : TcpOptions.TIMESTAMP_LENGTH;
        int len = Tcp.MIN_HEADER_LENGTH + optionsLength;
        ByteBuf f = alloc.directBuffer(TCP + len).writeZero(TCP + len);
        Ethernet.write(f, 0, MacAddress.of(STACK_MAC).toLong(), MacAddress.of(PEER_MAC).toLong(), Ethernet.TYPE_IPV4);
        Ipv4.write(f, IP, Ipv4.MIN_HEADER_LENGTH + len, 1, 64, Ipv4.PROTO_TCP, PEER_IP, STACK_IP, true);
        Tcp.writeHeader(f, TCP, PEER_PORT, PORT, seq, ack, len, flags, syn ? 64240 : 501);
        if (syn) {
            TcpOptions.writeSynOptions(f, TCP + Tcp.MIN_HEADER_LENGTH, 1460, 7, true, true, tsVal, tsEcr);
        } else {
            TcpOptions.writeTimestamps(f, TCP + Tcp.MIN_HEADER_LENGTH, tsVal, tsEcr);
        }
        Tcp.setChecksum(f, TCP, Checksum.finish(Checksum.add(f, TCP, len,
                Checksum.ipv4Pseudo(PEER_IP, STACK_IP, Ipv4.PROTO_TCP, len))));
        return f;
    }

    static ByteBuf arpReply(ByteBufAllocator alloc) {
        ByteBuf f = alloc.directBuffer(42);
        f.writeBytes(STACK_MAC).writeBytes(PEER_MAC).writeShort(0x0806);
        f.writeShort(1).writeShort(0x0800).writeByte(6).writeByte(4).writeShort(2)
                .writeBytes(PEER_MAC).writeInt(PEER_IP).writeBytes(STACK_MAC).writeInt(STACK_IP);
        return f;
    }

    /**
     * The peer's end of the cable: hands the stack the frames given to {@link #deliver}, then one data segment per
     * {@link #next}, as a TAP device would read it; counts what the stack sends and notes its SYN-ACK.
     */
    static final class PeerLink implements Link {
        private final TcpOptions options = new TcpOptions();
        private final java.util.ArrayDeque<ByteBuf> queued = new java.util.ArrayDeque<>();
        long sent;
        int synAckSeq;
        int synAckTsVal;
        /** The data segment with sequence number and timestamp 0 and no checksum. */
        ByteBuf template;
        /** The one's complement sum of the template's pseudo-header and segment. */
        long templateSum;
        private boolean pending;
        private int nextSeq;
        private int nextTsVal;
        private ByteBuf spare;

        void deliver(ByteBuf frame) {
            queued.add(frame);
        }

        /** Builds the data segment's template: ACK {@code ack}, echoing {@code tsEcr}. */
        void data(ByteBufAllocator alloc, int ack, int tsEcr) {
            template = alloc.directBuffer(FRAME, FRAME).writeZero(FRAME);
            Ethernet.write(template, 0, MacAddress.of(STACK_MAC).toLong(), MacAddress.of(PEER_MAC).toLong(),
                    Ethernet.TYPE_IPV4);
            int len = TCP_HEADER + PAYLOAD;
            Ipv4.write(template, IP, Ipv4.MIN_HEADER_LENGTH + len, 2, 64, Ipv4.PROTO_TCP, PEER_IP, STACK_IP, true);
            Tcp.writeHeader(template, TCP, PEER_PORT, PORT, 0, ack, TCP_HEADER, Tcp.ACK | Tcp.PSH, 501);
            TcpOptions.writeTimestamps(template, TCP + Tcp.MIN_HEADER_LENGTH, 0, tsEcr);
            for (int i = TCP + TCP_HEADER; i < FRAME; i++) {
                template.setByte(i, i * 31);
            }
            templateSum = Checksum.add(template, TCP, len, Checksum.ipv4Pseudo(PEER_IP, STACK_IP, Ipv4.PROTO_TCP,
                    len));
        }

        /** The next receive hands the stack the data segment {@code seq} with timestamp {@code tsVal}. */
        void next(int seq, int tsVal) {
            nextSeq = seq;
            nextTsVal = tsVal;
            pending = true;
        }

        @Override
        public ByteBuf receive(ByteBufAllocator alloc) {
            ByteBuf q = queued.poll();
            if (q != null || !pending) {
                return q;
            }
            pending = false;
            ByteBuf f = spare != null ? spare : alloc.directBuffer(FRAME, FRAME);
            spare = null;
            if (f.hasMemoryAddress() && template.hasMemoryAddress()) {
                PlatformDependent.copyMemory(template.memoryAddress(), f.memoryAddress(), FRAME);
            } else {
                f.setBytes(0, template, 0, FRAME);
            }
            f.setIndex(0, FRAME);
            f.setInt(TCP + 4, nextSeq);
            f.setInt(TS_VAL, nextTsVal);
            long sum = templateSum + (nextSeq >>> 16) + (nextSeq & 0xffff) + (nextTsVal >>> 16)
                    + (nextTsVal & 0xffff);
            Tcp.setChecksum(f, TCP, Checksum.finish(sum));
            return f;
        }

        @Override
        public void recycle(ByteBuf frame) {
            if (spare == null && frame.capacity() == FRAME && frame.refCnt() == 1) {
                spare = frame;
            } else {
                frame.release();
            }
        }

        @Override
        public boolean transmit(ByteBuf frame) {
            sent++;
            int e = frame.readerIndex();
            if (synAckSeq == 0 && frame.readableBytes() >= TCP + Tcp.MIN_HEADER_LENGTH
                    && Ethernet.type(frame, e) == Ethernet.TYPE_IPV4
                    && Ipv4.protocol(frame, e + IP) == Ipv4.PROTO_TCP
                    && Tcp.flags(frame, e + TCP) == (Tcp.SYN | Tcp.ACK)) {
                synAckSeq = Tcp.seq(frame, e + TCP);
                options.parse(frame, e + TCP, Tcp.headerLength(frame, e + TCP));
                synAckTsVal = options.tsVal();
            }
            return true;
        }

        @Override
        public int mtu() {
            return 1500;
        }

        @Override
        public MacAddress macAddress() {
            return MacAddress.of(STACK_MAC);
        }

        @Override
        public int fd() {
            return -1;
        }

        @Override
        public void close() {
            if (spare != null) {
                spare.release();
                spare = null;
            }
            ByteBuf q;
            while ((q = queued.poll()) != null) {
                q.release();
            }
        }
    }
}
