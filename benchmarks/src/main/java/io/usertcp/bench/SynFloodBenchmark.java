package io.usertcp.bench;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.usertcp.link.Link;
import io.usertcp.stack.Stack;
import io.usertcp.stack.StackConfig;
import io.usertcp.time.Clock;
import io.usertcp.wire.IpAddress;
import io.usertcp.wire.MacAddress;

import java.util.SplittableRandom;
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
 * The stack's own cost of one spoofed SYN in a flood (issue #10): a listener whose SYN queue is full, so every SYN
 * from a new random source is answered with a SYN-cookie SYN-ACK through the default gateway. The link hands the
 * stack nothing and throws what it sends away, so what is measured is the Java path from Ethernet frame in to
 * SYN-ACK frame out, without the two system calls a TAP device adds per SYN. {@code bench/synflood.sh} measures the
 * whole thing over a TAP device; this benchmark tells how much of it is ours.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"-Dio.netty.leakDetection.level=disabled"})
public class SynFloodBenchmark {
    static final int STACK_IP = 0xc6121e02; // 198.18.30.2
    static final int GATEWAY_IP = 0xc6121e01; // 198.18.30.1
    static final int PORT = 7000;
    static final byte[] STACK_MAC = {0x02, 0, 0, 0, 0, 2};
    static final byte[] GATEWAY_MAC = {0x02, 0, 0, 0, 0, 1};
    /** Distinct SYNs cycled through (sources in 198.18.0.0/15 outside 198.18.30.0/24, as bench/synflood.c). */
    static final int FRAMES = 1 << 16;

    Stack stack;
    SinkLink link;
    ByteBuf[] frames;
    int next;

    @Setup(Level.Trial)
    public void start() throws Exception {
        link = new SinkLink();
        StackConfig cfg = StackConfig.builder().address("198.18.30.2/24").gateway("198.18.30.1").build();
        stack = new Stack(cfg, link, Clock.SYSTEM, ByteBufAllocator.DEFAULT); // as UserTcpIoHandler
        stack.tcp().listen(IpAddress.v4(STACK_IP), PORT, 128);
        ByteBufAllocator alloc = ByteBufAllocator.DEFAULT;
        frames = new ByteBuf[FRAMES];
        SplittableRandom rnd = new SplittableRandom(1);
        for (int i = 0; i < FRAMES; i++) {
            int src;
            do {
                src = 0xc6120000 | rnd.nextInt(1 << 17);
            } while ((src & 0xffffff00) == (STACK_IP & 0xffffff00));
            frames[i] = syn(alloc, src, 1024 + rnd.nextInt(64000), rnd.nextInt());
        }
        // The gateway answers the stack's ARP request, as the kernel side of a TAP does.
        for (int i = 0; i < 8; i++) {
            input(frames[i]);
        }
        ByteBuf arp = arpReply(alloc);
        stack.input(arp);
        arp.release();
        stack.flush();
        if (link.sent == 0) {
            throw new IllegalStateException("the stack answered nothing: check the benchmark's frames");
        }
    }

    @TearDown(Level.Trial)
    public void stop() {
        long answered = link.sent;
        for (ByteBuf f : frames) {
            f.release();
        }
        stack.close();
        System.out.println("\nframes sent by the stack: " + answered + "; counters: "
                + stack.stats().tcpSynCookiesSent + " cookies sent");
    }

    /** One spoofed SYN in, one SYN-ACK (a cookie once the queue is full) out. */
    @Benchmark
    public void syn() {
        input(frames[next]);
        next = (next + 1) & (FRAMES - 1);
    }

    private void input(ByteBuf f) {
        f.readerIndex(0);
        stack.input(f);
        stack.runTimers();
        stack.flush();
    }

    /** An Ethernet frame with an IPv4 SYN from {@code src} to the listener, with an MSS option (44 bytes of IP). */
    static ByteBuf syn(ByteBufAllocator alloc, int src, int sport, int seq) {
        ByteBuf f = alloc.directBuffer(14 + 44);
        f.writeBytes(STACK_MAC).writeBytes(GATEWAY_MAC).writeShort(0x0800);
        int ip = f.writerIndex();
        f.writeByte(0x45).writeByte(0).writeShort(44).writeShort(sport).writeShort(0x4000).writeByte(64).writeByte(6)
                .writeShort(0).writeInt(src).writeInt(STACK_IP);
        f.setShort(ip + 10, ~sum(f, ip, 20, 0) & 0xffff);
        int tcp = f.writerIndex();
        f.writeShort(sport).writeShort(PORT).writeInt(seq).writeInt(0).writeByte(6 << 4).writeByte(0x02)
                .writeShort(64240).writeShort(0).writeShort(0).writeByte(2).writeByte(4).writeShort(1460);
        int pseudo = (src >>> 16) + (src & 0xffff) + (STACK_IP >>> 16) + (STACK_IP & 0xffff) + 6 + 24;
        f.setShort(tcp + 16, ~sum(f, tcp, 24, pseudo) & 0xffff);
        return f;
    }

    static ByteBuf arpReply(ByteBufAllocator alloc) {
        ByteBuf f = alloc.directBuffer(42);
        f.writeBytes(STACK_MAC).writeBytes(GATEWAY_MAC).writeShort(0x0806);
        f.writeShort(1).writeShort(0x0800).writeByte(6).writeByte(4).writeShort(2)
                .writeBytes(GATEWAY_MAC).writeInt(GATEWAY_IP).writeBytes(STACK_MAC).writeInt(STACK_IP);
        return f;
    }

    static int sum(ByteBuf f, int off, int len, int sum) {
        for (int i = 0; i < len; i += 2) {
            sum += f.getUnsignedShort(off + i);
        }
        while ((sum >>> 16) != 0) {
            sum = (sum & 0xffff) + (sum >>> 16);
        }
        return sum;
    }

    /** A link that receives nothing and counts, then drops, what the stack sends. */
    static final class SinkLink implements Link {
        long sent;

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
        public ByteBuf receive(ByteBufAllocator alloc) {
            return null;
        }

        @Override
        public boolean transmit(ByteBuf frame) {
            sent++;
            return true;
        }

        @Override
        public void close() {
        }
    }
}
