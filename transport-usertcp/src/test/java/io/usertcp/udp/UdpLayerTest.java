package io.usertcp.udp;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.usertcp.stats.StackStats;
import io.usertcp.wire.Checksum;
import io.usertcp.wire.Ethernet;
import io.usertcp.wire.Icmpv4;
import io.usertcp.wire.Ipv4;
import io.usertcp.wire.MacAddress;
import io.usertcp.wire.Udp;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.net.BindException;
import java.net.PortUnreachableException;
import java.net.SocketException;
import java.util.ArrayList;
import java.util.List;

import static io.usertcp.udp.RawPeer.IP;
import static io.usertcp.udp.RawPeer.PEER_IP;
import static io.usertcp.udp.RawPeer.STACK_IP;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** UDP in one stack against a raw peer: checksums, demultiplexing, buffers, ICMP errors both ways. */
class UdpLayerTest {
    private final RawPeer peer = new RawPeer().learnArp();
    private final UdpLayer udp = peer.stack.udp();
    private final StackStats stats = peer.stack.stats();
    private final List<UdpSocket> opened = new ArrayList<>();

    @AfterEach
    void close() {
        opened.forEach(UdpSocket::close);
        peer.close();
    }

    private UdpSocket bound(int ip, int port) throws Exception {
        UdpSocket s = udp.open();
        opened.add(s);
        s.bind(ip, port);
        return s;
    }

    private static byte[] read(UdpSocket s) {
        ByteBuf b = Unpooled.buffer(65536);
        try {
            s.receive(b);
            byte[] a = new byte[b.readableBytes()];
            b.readBytes(a);
            return a;
        } finally {
            b.release();
        }
    }

    // ------------------------------------------------------------------ checksum

    @Test
    void acceptsGoodChecksumAndZeroChecksumDropsBadOne() throws Exception {
        UdpSocket s = bound(0, 5000);
        peer.input(RawPeer.udpPacket(6000, 5000, "good".getBytes()));
        peer.input(RawPeer.ipv4(PEER_IP, STACK_IP, Ipv4.PROTO_UDP, 2, 0,
                RawPeer.udp(PEER_IP, STACK_IP, 6000, 5000, "none".getBytes(), false)));
        byte[] bad = RawPeer.udp(PEER_IP, STACK_IP, 6000, 5000, "bad!".getBytes(), true);
        bad[9] ^= 1; // one data bit flipped
        peer.input(RawPeer.ipv4(PEER_IP, STACK_IP, Ipv4.PROTO_UDP, 3, 0, bad));

        assertThat(s.queuedDatagrams()).isEqualTo(2);
        assertThat(read(s)).isEqualTo("good".getBytes());
        assertThat(read(s)).isEqualTo("none".getBytes());
        assertThat(stats.dropUdpChecksum).isEqualTo(1);
        assertThat(peer.drain()).isEmpty(); // no ICMP for a corrupt datagram
    }

    @Test
    void sentChecksumIsCorrectAndZeroIsSentAsAllOnes() throws Exception {
        UdpSocket s = bound(0, 5000);
        // Two data bytes that make the one's complement sum 0xffff, so the checksum would compute to 0.
        int udpLen = Udp.HEADER_LENGTH + 2;
        long sum = Checksum.ipv4Pseudo(STACK_IP, PEER_IP, Ipv4.PROTO_UDP, udpLen) + 5000 + 7000 + udpLen;
        int x = ~Checksum.fold(sum) & 0xffff;
        s.send(Unpooled.wrappedBuffer(new byte[] {(byte) (x >>> 8), (byte) x}), PEER_IP, 7000);
        s.send(Unpooled.wrappedBuffer("hello".getBytes()), PEER_IP, 7000);

        List<ByteBuf> out = peer.drain();
        try {
            assertThat(out).hasSize(2);
            for (ByteBuf f : out) {
                int l4 = IP + Ipv4.MIN_HEADER_LENGTH;
                int len = Udp.length(f, l4);
                assertThat(Checksum.fold(Checksum.add(f, l4, len, Checksum.ipv4Pseudo(STACK_IP, PEER_IP,
                        Ipv4.PROTO_UDP, len)))).isEqualTo(0xffff);
                assertThat(Ipv4.flagsFragment(f, IP) & Ipv4.FLAG_DF).isZero();
            }
            assertThat(Udp.checksum(out.get(0), IP + Ipv4.MIN_HEADER_LENGTH)).isEqualTo(0xffff);
        } finally {
            out.forEach(ByteBuf::release);
        }
    }

    // ------------------------------------------------------------------ demultiplexing

    @Test
    void mostSpecificSocketWins() throws Exception {
        UdpSocket wildcard = udp.open();
        UdpSocket specific = udp.open();
        UdpSocket connected = udp.open();
        for (UdpSocket s : List.of(wildcard, specific, connected)) {
            opened.add(s);
            s.reuseAddress(true);
        }
        wildcard.bind(0, 5000);
        specific.bind(STACK_IP, 5000);
        connected.bind(0, 5000);
        connected.connect(PEER_IP, 6000);

        peer.input(RawPeer.udpPacket(6000, 5000, "to-connected".getBytes()));
        peer.input(RawPeer.udpPacket(6001, 5000, "to-specific".getBytes()));
        assertThat(read(connected)).isEqualTo("to-connected".getBytes());
        assertThat(read(specific)).isEqualTo("to-specific".getBytes());
        assertThat(wildcard.queuedDatagrams()).isZero();

        specific.close();
        peer.input(RawPeer.udpPacket(6001, 5000, "to-wildcard".getBytes()));
        assertThat(read(wildcard)).isEqualTo("to-wildcard".getBytes());
        assertThat(wildcard.queuedDatagrams()).isZero();
    }

    @Test
    void bindConflictsAndEphemeralPorts() throws Exception {
        bound(0, 5000);
        assertThatThrownBy(() -> bound(0, 5000)).isInstanceOf(BindException.class).hasMessageContaining("in use");
        assertThatThrownBy(() -> bound(STACK_IP, 5000)).isInstanceOf(BindException.class);
        assertThatThrownBy(() -> bound(0x0a000001, 5001)).isInstanceOf(BindException.class)
                .hasMessageContaining("not an address of this stack");
        bound(STACK_IP, 5002);
        bound(0x7f000001, 5002); // different specific addresses share a port

        UdpSocket e = bound(0, 0);
        assertThat(e.localPort()).isBetween(UdpLayer.EPHEMERAL_LOW, UdpLayer.EPHEMERAL_HIGH);
        UdpSocket auto = udp.open();
        opened.add(auto);
        auto.send(Unpooled.wrappedBuffer(new byte[] {1}), PEER_IP, 9); // the first send binds
        assertThat(auto.localPort()).isBetween(UdpLayer.EPHEMERAL_LOW, UdpLayer.EPHEMERAL_HIGH);
        peer.drain().forEach(ByteBuf::release);
    }

    @Test
    void connectedSocketFiltersAndDisconnectRestores() throws Exception {
        UdpSocket s = bound(0, 5000);
        s.connect(PEER_IP, 6000);
        assertThat(s.localIp()).isEqualTo(STACK_IP);
        peer.input(RawPeer.udpPacket(6001, 5000, "other".getBytes()));
        assertThat(s.queuedDatagrams()).isZero();
        assertThat(stats.dropUdpNoPort).isEqualTo(1);
        peer.drain().forEach(ByteBuf::release); // the port unreachable for it
        s.disconnect();
        assertThat(s.localIp()).isZero();
        peer.input(RawPeer.udpPacket(6001, 5000, "other".getBytes()));
        assertThat(s.queuedDatagrams()).isEqualTo(1);
    }

    @Test
    void receiveQueueIsBoundedInBytesAndCountsDrops() throws Exception {
        UdpSocket s = bound(0, 5000);
        s.receiveBufferSize(1000);
        List<Integer> events = new ArrayList<>();
        s.handler(events::add);
        for (int i = 0; i < 3; i++) {
            peer.input(RawPeer.udpPacket(6000, 5000, new byte[400]));
        }
        assertThat(s.queuedDatagrams()).isEqualTo(2); // 2 × (400 + 64) fit in 1000, a third does not
        assertThat(s.drops()).isEqualTo(1);
        assertThat(stats.dropUdpReceiveBuffer).isEqualTo(1);
        assertThat(events).containsOnly(UdpSocket.EV_READABLE);
        read(s);
        peer.input(RawPeer.udpPacket(6000, 5000, new byte[400]));
        assertThat(s.queuedDatagrams()).isEqualTo(2);
    }

    @Test
    void malformedDatagramsAreCountedNeverThrown() throws Exception {
        bound(0, 5000);
        byte[] shortLen = RawPeer.udp(PEER_IP, STACK_IP, 6000, 5000, new byte[8], false);
        shortLen[4] = 0;
        shortLen[5] = 4; // length 4 < 8
        byte[] longLen = RawPeer.udp(PEER_IP, STACK_IP, 6000, 5000, new byte[8], false);
        longLen[5] = 100; // longer than the packet
        byte[] port0 = RawPeer.udp(PEER_IP, STACK_IP, 6000, 0, new byte[8], true);
        peer.input(RawPeer.ipv4(PEER_IP, STACK_IP, Ipv4.PROTO_UDP, 1, 0, new byte[5]));
        peer.input(RawPeer.ipv4(PEER_IP, STACK_IP, Ipv4.PROTO_UDP, 2, 0, shortLen));
        peer.input(RawPeer.ipv4(PEER_IP, STACK_IP, Ipv4.PROTO_UDP, 3, 0, longLen));
        peer.input(RawPeer.ipv4(PEER_IP, STACK_IP, Ipv4.PROTO_UDP, 4, 0, port0));
        assertThat(stats.dropUdpMalformed).isEqualTo(4);
        assertThat(peer.drain()).isEmpty();
    }

    // ------------------------------------------------------------------ ICMP port unreachable

    @Test
    void unboundPortGetsPortUnreachableQuotingHeaderAndEightBytes() {
        ByteBuf sent = RawPeer.udpPacket(6000, 4444, "0123456789abcdef".getBytes());
        byte[] original = new byte[28];
        sent.getBytes(0, original);
        peer.input(sent);

        List<ByteBuf> out = peer.drain();
        try {
            assertThat(out).hasSize(1);
            ByteBuf f = out.get(0);
            assertThat(Ipv4.protocol(f, IP)).isEqualTo(Ipv4.PROTO_ICMP);
            assertThat(Ipv4.src(f, IP)).isEqualTo(STACK_IP);
            assertThat(Ipv4.dst(f, IP)).isEqualTo(PEER_IP);
            int icmp = IP + Ipv4.MIN_HEADER_LENGTH;
            int len = Ipv4.totalLength(f, IP) - Ipv4.MIN_HEADER_LENGTH;
            assertThat(len).isEqualTo(Icmpv4.HEADER_LENGTH + 28);
            assertThat((int) f.getUnsignedByte(icmp)).isEqualTo(Icmpv4.DEST_UNREACHABLE);
            assertThat((int) f.getUnsignedByte(icmp + 1)).isEqualTo(Icmpv4.CODE_PORT_UNREACHABLE);
            assertThat(Checksum.fold(Checksum.add(f, icmp, len, 0))).isEqualTo(0xffff);
            byte[] quoted = new byte[28];
            f.getBytes(icmp + Icmpv4.HEADER_LENGTH, quoted);
            assertThat(quoted).isEqualTo(original);
        } finally {
            out.forEach(ByteBuf::release);
        }
        assertThat(stats.icmpErrorsOut).isEqualTo(1);
    }

    @Test
    void portUnreachableIsRateLimitedByATokenBucket() {
        for (int i = 0; i < 200; i++) {
            peer.input(RawPeer.udpPacket(6000, 4444, new byte[] {(byte) i}));
        }
        assertThat(release(peer.drain())).isEqualTo(50); // the burst
        assertThat(stats.icmpErrorsRateLimited).isEqualTo(150);
        peer.advance(100_000_000L); // 100 ms at 100/s: 10 more
        for (int i = 0; i < 200; i++) {
            peer.input(RawPeer.udpPacket(6000, 4444, new byte[] {(byte) i}));
        }
        assertThat(release(peer.drain())).isEqualTo(10);
        peer.advance(10_000_000_000L); // refills to the burst, no more
        for (int i = 0; i < 200; i++) {
            peer.input(RawPeer.udpPacket(6000, 4444, new byte[] {(byte) i}));
        }
        assertThat(release(peer.drain())).isEqualTo(50);
    }

    @Test
    void noPortUnreachableForBroadcasts() throws Exception {
        peer.input(RawPeer.ipv4(PEER_IP, RawPeer.SUBNET_BROADCAST, Ipv4.PROTO_UDP, 1, 0,
                RawPeer.udp(PEER_IP, RawPeer.SUBNET_BROADCAST, 6000, 4444, new byte[4], true)),
                MacAddress.BROADCAST.toLong());
        peer.input(RawPeer.ipv4(PEER_IP, -1, Ipv4.PROTO_UDP, 2, 0,
                RawPeer.udp(PEER_IP, -1, 6000, 4444, new byte[4], true)), MacAddress.BROADCAST.toLong());
        // A unicast IP datagram in a link-layer broadcast frame (RFC 1122 §3.2.2) gets none either.
        peer.input(RawPeer.udpPacket(6000, 4444, new byte[4]), MacAddress.BROADCAST.toLong());
        assertThat(peer.drain()).isEmpty();

        UdpSocket s = bound(0, 4444); // but a wildcard socket receives broadcasts
        peer.input(RawPeer.ipv4(PEER_IP, RawPeer.SUBNET_BROADCAST, Ipv4.PROTO_UDP, 3, 0,
                RawPeer.udp(PEER_IP, RawPeer.SUBNET_BROADCAST, 6000, 4444, "all".getBytes(), true)),
                MacAddress.BROADCAST.toLong());
        assertThat(s.peekDestination()).isEqualTo(io.usertcp.wire.IpAddress.v4(RawPeer.SUBNET_BROADCAST));
        assertThat(read(s)).isEqualTo("all".getBytes());
    }

    @Test
    void sendingToBroadcastNeedsSoBroadcastAndGoesToTheBroadcastMac() throws Exception {
        UdpSocket s = bound(0, 5000);
        assertThatThrownBy(() -> s.send(Unpooled.wrappedBuffer(new byte[1]), RawPeer.SUBNET_BROADCAST, 9))
                .isInstanceOf(SocketException.class).hasMessageContaining("SO_BROADCAST");
        s.broadcast(true);
        s.send(Unpooled.wrappedBuffer(new byte[1]), RawPeer.SUBNET_BROADCAST, 9);
        List<ByteBuf> out = peer.drain();
        try {
            assertThat(out).hasSize(1);
            assertThat(Ethernet.dst(out.get(0), 0)).isEqualTo(MacAddress.BROADCAST.toLong());
        } finally {
            out.forEach(ByteBuf::release);
        }
    }

    // ------------------------------------------------------------------ ICMP errors to sockets

    @Test
    void portUnreachableReachesTheConnectedSocketOnce() throws Exception {
        UdpSocket s = bound(0, 5000);
        s.connect(PEER_IP, 9999);
        List<Integer> events = new ArrayList<>();
        s.handler(events::add);
        s.send(Unpooled.wrappedBuffer("ping".getBytes()), 0, 0);
        List<ByteBuf> out = peer.drain();
        assertThat(out).hasSize(1);
        // The peer answers with a port unreachable quoting our datagram.
        ByteBuf f = out.get(0);
        int quoted = Ipv4.MIN_HEADER_LENGTH + 8;
        byte[] icmp = new byte[Icmpv4.HEADER_LENGTH + quoted];
        icmp[0] = Icmpv4.DEST_UNREACHABLE;
        icmp[1] = Icmpv4.CODE_PORT_UNREACHABLE;
        f.getBytes(IP, icmp, Icmpv4.HEADER_LENGTH, quoted);
        f.release();
        int c = Checksum.compute(Unpooled.wrappedBuffer(icmp), 0, icmp.length);
        icmp[2] = (byte) (c >>> 8);
        icmp[3] = (byte) c;
        peer.input(RawPeer.ipv4(PEER_IP, STACK_IP, Ipv4.PROTO_ICMP, 9, 0, icmp));

        assertThat(events).containsExactly(UdpSocket.EV_ERROR);
        assertThatThrownBy(() -> s.send(Unpooled.wrappedBuffer("again".getBytes()), 0, 0))
                .isInstanceOf(PortUnreachableException.class);
        s.send(Unpooled.wrappedBuffer("again".getBytes()), 0, 0); // reported once
        assertThat(release(peer.drain())).isEqualTo(1);
        assertThat(s.hasError()).isFalse();
    }

    /** An ICMP port unreachable from the peer quoting a UDP datagram {@code STACK_IP:sport -> PEER_IP:dport}. */
    private void portUnreachableQuoting(int sport, int dport) {
        byte[] quote = new byte[Ipv4.MIN_HEADER_LENGTH + 8];
        ByteBuf q = RawPeer.ipv4(STACK_IP, PEER_IP, Ipv4.PROTO_UDP, 1, 0, RawPeer.udp(STACK_IP, PEER_IP, sport, dport,
                new byte[0], true));
        q.getBytes(0, quote);
        q.release();
        byte[] icmp = new byte[Icmpv4.HEADER_LENGTH + quote.length];
        icmp[0] = Icmpv4.DEST_UNREACHABLE;
        icmp[1] = Icmpv4.CODE_PORT_UNREACHABLE;
        System.arraycopy(quote, 0, icmp, Icmpv4.HEADER_LENGTH, quote.length);
        int c = Checksum.compute(Unpooled.wrappedBuffer(icmp), 0, icmp.length);
        icmp[2] = (byte) (c >>> 8);
        icmp[3] = (byte) c;
        peer.input(RawPeer.ipv4(PEER_IP, STACK_IP, Ipv4.PROTO_ICMP, 9, 0, icmp));
    }

    @Test
    void portUnreachableQuotingPortZeroOrAnUnconnectedSocketIsIgnored() throws Exception {
        // Issue #10: this quote (bound port as source, destination port 0) threw NullPointerException out of
        // Stack.input and ended the event loop, because the unconnected socket has no remote address.
        UdpSocket s = bound(0, 7000);
        List<Integer> events = new ArrayList<>();
        s.handler(events::add);
        portUnreachableQuoting(7000, 0);
        portUnreachableQuoting(7000, 9999); // RFC 1122 §4.1.3.3 errors go to the socket that names that peer
        assertThat(events).isEmpty();
        assertThat(s.hasError()).isFalse();
        assertThat(stats.udpIcmpIgnored).isEqualTo(2);
    }

    private static int release(List<ByteBuf> frames) {
        frames.forEach(ByteBuf::release);
        return frames.size();
    }
}
