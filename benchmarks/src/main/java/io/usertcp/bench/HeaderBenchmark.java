package io.usertcp.bench;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.usertcp.wire.Checksum;
import io.usertcp.wire.Ethernet;
import io.usertcp.wire.Ipv4;
import io.usertcp.wire.Ipv6;
import io.usertcp.wire.Tcp;
import io.usertcp.wire.TcpOptions;
import io.usertcp.wire.Udp;

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
 * The header views of the {@code wire} package, parse and emit (issue #12). One operation parses a received frame
 * as the stack does (Ethernet, the IP header with its checks, the transport header, its checksum over the
 * {@value #PAYLOAD}-byte payload, TCP's options) and emits the answer into a buffer of its own: for TCP an ACK with
 * timestamps and two SACK blocks (IP header, TCP header, options, both checksums), for UDP a datagram of the same
 * payload back (already in place, as a segment writer fills it first; the checksum covers it). Direct buffers from
 * the pooled allocator, as a TAP device's frames. Frames: IPv4 and IPv6, TCP and UDP.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
// Leak detection off: its sampled stack traces would be measured as allocation; the unit tests check leaks.
@Fork(value = 1, jvmArgsAppend = {"-Dio.netty.leakDetection.level=disabled"})
public class HeaderBenchmark {
    static final int PAYLOAD = 64;
    static final long MAC_A = 0x02_00_00_00_00_01L;
    static final long MAC_B = 0x02_00_00_00_00_02L;
    static final int IP4_A = 0xc6120001; // 198.18.0.1
    static final int IP4_B = 0xc6120002;
    static final long IP6_HI = 0xfd00_0198_0000_0000L; // fd00:198::/64
    static final int ETH = Ethernet.HEADER_LENGTH;
    /** The TCP header of the received segments: 20 bytes, MSS-less data segment options: timestamps, SACK 1. */
    static final int TCP_IN_HEADER = Tcp.MIN_HEADER_LENGTH + TcpOptions.TIMESTAMP_LENGTH + TcpOptions.sackLength(1);
    /** The TCP header of the ACK sent: timestamps and two SACK blocks. */
    static final int TCP_OUT_HEADER = Tcp.MIN_HEADER_LENGTH + TcpOptions.TIMESTAMP_LENGTH + TcpOptions.sackLength(2);

    final TcpOptions options = new TcpOptions();
    final int[] sack = new int[4];
    ByteBuf tcp4;
    ByteBuf tcp6;
    ByteBuf udp4;
    ByteBuf udp6;
    ByteBuf out;
    int id;

    @Setup(Level.Trial)
    public void setUp() {
        PooledByteBufAllocator alloc = PooledByteBufAllocator.DEFAULT;
        tcp4 = alloc.directBuffer(2048);
        tcp6 = alloc.directBuffer(2048);
        udp4 = alloc.directBuffer(2048);
        udp6 = alloc.directBuffer(2048);
        out = alloc.directBuffer(2048);
        for (int i = 0; i < 2048; i++) {
            byte b = (byte) (i * 7 + 3);
            tcp4.setByte(i, b);
            tcp6.setByte(i, b);
            udp4.setByte(i, b);
            udp6.setByte(i, b);
            out.setByte(i, b);
        }
        tcp4.writerIndex(tcpFrame(tcp4, false));
        tcp6.writerIndex(tcpFrame(tcp6, true));
        udp4.writerIndex(udpFrame(udp4, false));
        udp6.writerIndex(udpFrame(udp6, true));
        // Each must parse (a frame the checks refuse would make the benchmark measure the early exit).
        if (tcp4() < 0 || tcp6() < 0 || udp4() < 0 || udp6() < 0) {
            throw new IllegalStateException("a frame of the benchmark does not parse");
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        tcp4.release();
        tcp6.release();
        udp4.release();
        udp6.release();
        out.release();
    }

    /** A TCP segment over IPv4: parse, then an ACK with timestamps and SACK back. */
    @Benchmark
    public int tcp4() {
        ByteBuf f = tcp4;
        if (Ethernet.type(f, 0) != Ethernet.TYPE_IPV4) {
            return -1;
        }
        long peerMac = Ethernet.src(f, 0);
        long ourMac = Ethernet.dst(f, 0);
        int ip = ETH;
        int hl = Ipv4.headerLength(f, ip);
        int total = Ipv4.totalLength(f, ip);
        if (Ipv4.version(f, ip) != 4 || hl < Ipv4.MIN_HEADER_LENGTH || total > f.writerIndex() - ip
                || !Ipv4.checksumOk(f, ip, hl) || Ipv4.protocol(f, ip) != Ipv4.PROTO_TCP
                || (Ipv4.flagsFragment(f, ip) & 0x3fff) != 0) {
            return -1;
        }
        int src = Ipv4.src(f, ip);
        int dst = Ipv4.dst(f, ip);
        int t = ip + hl;
        int len = total - hl;
        if (Checksum.fold(Checksum.add(f, t, len, Checksum.ipv4Pseudo(src, dst, Ipv4.PROTO_TCP, len))) != 0xffff) {
            return -2;
        }
        int thl = parseTcp(f, t, len);
        if (thl < 0) {
            return -3;
        }
        int o = ETH + Ipv4.MIN_HEADER_LENGTH;
        int n = emitAck(f, t, len - thl, o);
        Ethernet.write(out, 0, peerMac, ourMac, Ethernet.TYPE_IPV4);
        Ipv4.write(out, ETH, Ipv4.MIN_HEADER_LENGTH + n, ++id & 0xffff, 64, Ipv4.PROTO_TCP, dst, src, true);
        Tcp.setChecksum(out, o, Checksum.finish(Checksum.add(out, o, n, Checksum.ipv4Pseudo(dst, src,
                Ipv4.PROTO_TCP, n))));
        out.setIndex(0, o + n);
        return Tcp.checksum(out, o);
    }

    /** A TCP segment over IPv6: parse, then an ACK with timestamps and SACK back. */
    @Benchmark
    public int tcp6() {
        ByteBuf f = tcp6;
        if (Ethernet.type(f, 0) != Ethernet.TYPE_IPV6) {
            return -1;
        }
        long peerMac = Ethernet.src(f, 0);
        long ourMac = Ethernet.dst(f, 0);
        int ip = ETH;
        int len = Ipv6.payloadLength(f, ip);
        if (Ipv6.version(f, ip) != 6 || len > f.writerIndex() - ip - Ipv6.HEADER_LENGTH
                || Ipv6.nextHeader(f, ip) != Ipv6.TCP || Ipv6.hopLimit(f, ip) == 0) {
            return -1;
        }
        long sHi = Ipv6.srcHi(f, ip);
        long sLo = Ipv6.srcLo(f, ip);
        long dHi = Ipv6.dstHi(f, ip);
        long dLo = Ipv6.dstLo(f, ip);
        int t = ip + Ipv6.HEADER_LENGTH;
        if (Checksum.fold(Checksum.add(f, t, len, Checksum.ipv6Pseudo(sHi, sLo, dHi, dLo, Ipv6.TCP, len)))
                != 0xffff) {
            return -2;
        }
        int thl = parseTcp(f, t, len);
        if (thl < 0) {
            return -3;
        }
        int o = ETH + Ipv6.HEADER_LENGTH;
        int n = emitAck(f, t, len - thl, o);
        Ethernet.write(out, 0, peerMac, ourMac, Ethernet.TYPE_IPV6);
        Ipv6.write(out, ETH, 0, n, Ipv6.TCP, 64, dHi, dLo, sHi, sLo);
        Tcp.setChecksum(out, o, Checksum.finish(Checksum.add(out, o, n, Checksum.ipv6Pseudo(dHi, dLo, sHi, sLo,
                Ipv6.TCP, n))));
        out.setIndex(0, o + n);
        return Tcp.checksum(out, o);
    }

    /** A UDP datagram over IPv4: parse, then a datagram of the same length back. */
    @Benchmark
    public int udp4() {
        ByteBuf f = udp4;
        if (Ethernet.type(f, 0) != Ethernet.TYPE_IPV4) {
            return -1;
        }
        long peerMac = Ethernet.src(f, 0);
        long ourMac = Ethernet.dst(f, 0);
        int ip = ETH;
        int hl = Ipv4.headerLength(f, ip);
        int total = Ipv4.totalLength(f, ip);
        if (Ipv4.version(f, ip) != 4 || hl < Ipv4.MIN_HEADER_LENGTH || total > f.writerIndex() - ip
                || !Ipv4.checksumOk(f, ip, hl) || Ipv4.protocol(f, ip) != Ipv4.PROTO_UDP
                || (Ipv4.flagsFragment(f, ip) & 0x3fff) != 0) {
            return -1;
        }
        int src = Ipv4.src(f, ip);
        int dst = Ipv4.dst(f, ip);
        int u = ip + hl;
        int len = Udp.length(f, u);
        if (len < Udp.HEADER_LENGTH || len > total - hl
                || Udp.checksum(f, u) != 0 && !Udp.checksumOk(f, u, len, Checksum.ipv4Pseudo(src, dst,
                Ipv4.PROTO_UDP, len))) {
            return -2;
        }
        int sport = Udp.srcPort(f, u);
        int dport = Udp.dstPort(f, u);
        int o = ETH + Ipv4.MIN_HEADER_LENGTH;
        Ethernet.write(out, 0, peerMac, ourMac, Ethernet.TYPE_IPV4);
        Ipv4.writeHeader(out, ETH, 0, Ipv4.MIN_HEADER_LENGTH + len, ++id & 0xffff, 0, 64, Ipv4.PROTO_UDP, dst, src);
        Udp.writeHeaderWithChecksum(out, o, dport, sport, len, Checksum.ipv4Pseudo(dst, src, Ipv4.PROTO_UDP, len));
        out.setIndex(0, o + len);
        return Udp.checksum(out, o);
    }

    /** A UDP datagram over IPv6: parse, then a datagram of the same length back. */
    @Benchmark
    public int udp6() {
        ByteBuf f = udp6;
        if (Ethernet.type(f, 0) != Ethernet.TYPE_IPV6) {
            return -1;
        }
        long peerMac = Ethernet.src(f, 0);
        long ourMac = Ethernet.dst(f, 0);
        int ip = ETH;
        int plen = Ipv6.payloadLength(f, ip);
        if (Ipv6.version(f, ip) != 6 || plen > f.writerIndex() - ip - Ipv6.HEADER_LENGTH
                || Ipv6.nextHeader(f, ip) != Ipv6.UDP || Ipv6.hopLimit(f, ip) == 0) {
            return -1;
        }
        long sHi = Ipv6.srcHi(f, ip);
        long sLo = Ipv6.srcLo(f, ip);
        long dHi = Ipv6.dstHi(f, ip);
        long dLo = Ipv6.dstLo(f, ip);
        int u = ip + Ipv6.HEADER_LENGTH;
        int len = Udp.length(f, u);
        if (len < Udp.HEADER_LENGTH || len > plen
                || !Udp.checksumOk(f, u, len, Checksum.ipv6Pseudo(sHi, sLo, dHi, dLo, Ipv6.UDP, len))) {
            return -2;
        }
        int sport = Udp.srcPort(f, u);
        int dport = Udp.dstPort(f, u);
        int o = ETH + Ipv6.HEADER_LENGTH;
        Ethernet.write(out, 0, peerMac, ourMac, Ethernet.TYPE_IPV6);
        Ipv6.write(out, ETH, 0, len, Ipv6.UDP, 64, dHi, dLo, sHi, sLo);
        Udp.writeHeaderWithChecksum(out, o, dport, sport, len, Checksum.ipv6Pseudo(dHi, dLo, sHi, sLo, Ipv6.UDP, len));
        out.setIndex(0, o + len);
        return Udp.checksum(out, o);
    }

    /** The TCP header at {@code t} ({@code len} bytes with data) and its options; its length, or -1. */
    private int parseTcp(ByteBuf f, int t, int len) {
        if (len < Tcp.MIN_HEADER_LENGTH) {
            return -1;
        }
        int thl = Tcp.headerLength(f, t);
        if (thl < Tcp.MIN_HEADER_LENGTH || thl > len) {
            return -1;
        }
        options.parse(f, t, thl);
        if (options.malformed()) {
            return -1;
        }
        return thl;
    }

    /**
     * The ACK of the segment at {@code t} (with {@code dataLength} bytes of data, options just parsed) at {@code o}
     * of {@link #out}: ports swapped, timestamps echoed, two SACK blocks; returns its length.
     */
    private int emitAck(ByteBuf f, int t, int dataLength, int o) {
        int seq = Tcp.seq(f, t);
        int ack = Tcp.ack(f, t);
        sack[0] = seq + 2 * dataLength;
        sack[1] = sack[0] + dataLength;
        sack[2] = options.sackCount() > 0 ? options.sackLeft(0) : seq;
        sack[3] = options.sackCount() > 0 ? options.sackRight(0) : seq;
        Tcp.writeHeader(out, o, Tcp.dstPort(f, t), Tcp.srcPort(f, t), ack, seq + dataLength, TCP_OUT_HEADER,
                Tcp.ACK, Tcp.window(f, t));
        int p = TcpOptions.writeTimestamps(out, o + Tcp.MIN_HEADER_LENGTH, options.tsEcr() + 1, options.tsVal());
        p = TcpOptions.writeSack(out, p, sack, 2);
        return p - o;
    }

    /** Writes a TCP data segment (timestamps and one SACK block, {@value #PAYLOAD} bytes) into {@code f}. */
    private static int tcpFrame(ByteBuf f, boolean v6) {
        int ip = ETH;
        int t = ip + (v6 ? Ipv6.HEADER_LENGTH : Ipv4.MIN_HEADER_LENGTH);
        int len = TCP_IN_HEADER + PAYLOAD;
        Ethernet.write(f, 0, MAC_B, MAC_A, v6 ? Ethernet.TYPE_IPV6 : Ethernet.TYPE_IPV4);
        Tcp.writeHeader(f, t, 40000, 7, 1_000_000, 2_000_000, TCP_IN_HEADER, Tcp.ACK | Tcp.PSH, 501);
        int p = TcpOptions.writeTimestamps(f, t + Tcp.MIN_HEADER_LENGTH, 123456, 654321);
        TcpOptions.writeSack(f, p, new int[] {2_000_100, 2_000_200}, 1);
        long pseudo;
        if (v6) {
            Ipv6.write(f, ip, 0, len, Ipv6.TCP, 64, IP6_HI, 1, IP6_HI, 2);
            pseudo = Checksum.ipv6Pseudo(IP6_HI, 1, IP6_HI, 2, Ipv6.TCP, len);
        } else {
            Ipv4.write(f, ip, Ipv4.MIN_HEADER_LENGTH + len, 1, 64, Ipv4.PROTO_TCP, IP4_A, IP4_B, true);
            pseudo = Checksum.ipv4Pseudo(IP4_A, IP4_B, Ipv4.PROTO_TCP, len);
        }
        Tcp.setChecksum(f, t, Checksum.finish(Checksum.add(f, t, len, pseudo)));
        return t + len;
    }

    /** Writes a UDP datagram of {@value #PAYLOAD} bytes into {@code f}. */
    private static int udpFrame(ByteBuf f, boolean v6) {
        int ip = ETH;
        int u = ip + (v6 ? Ipv6.HEADER_LENGTH : Ipv4.MIN_HEADER_LENGTH);
        int len = Udp.HEADER_LENGTH + PAYLOAD;
        Ethernet.write(f, 0, MAC_B, MAC_A, v6 ? Ethernet.TYPE_IPV6 : Ethernet.TYPE_IPV4);
        long pseudo;
        if (v6) {
            Ipv6.write(f, ip, 0, len, Ipv6.UDP, 64, IP6_HI, 1, IP6_HI, 2);
            pseudo = Checksum.ipv6Pseudo(IP6_HI, 1, IP6_HI, 2, Ipv6.UDP, len);
        } else {
            Ipv4.writeHeader(f, ip, 0, Ipv4.MIN_HEADER_LENGTH + len, 1, 0, 64, Ipv4.PROTO_UDP, IP4_A, IP4_B);
            pseudo = Checksum.ipv4Pseudo(IP4_A, IP4_B, Ipv4.PROTO_UDP, len);
        }
        Udp.writeHeaderWithChecksum(f, u, 40000, 7, len, pseudo);
        return u + len;
    }
}
