package io.usertcp.stack;

import io.usertcp.stats.StackStats;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.usertcp.udp.UdpSocket;
import io.usertcp.wire.Checksum;
import io.usertcp.wire.Ethernet;
import io.usertcp.wire.Icmpv6;
import io.usertcp.wire.IpAddress;
import io.usertcp.wire.Ipv6;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.net.PortUnreachableException;
import java.util.ArrayList;
import java.util.List;

import static io.usertcp.stack.Ipv6InputTest.bytes;
import static io.usertcp.stack.Raw6Peer.ALL_NODES;
import static io.usertcp.stack.Raw6Peer.IP;
import static io.usertcp.stack.Raw6Peer.L4;
import static io.usertcp.stack.Raw6Peer.PEER6;
import static io.usertcp.stack.Raw6Peer.PREFIX_HI;
import static io.usertcp.stack.Raw6Peer.STACK6;
import static io.usertcp.stack.Raw6Peer.icmpv6;
import static io.usertcp.stack.Raw6Peer.ipBytes;
import static io.usertcp.stack.Raw6Peer.ipv6;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * ICMPv6 in a whole stack: echo (RFC 4443 §4), and errors received about what the stack sent (RFC 4443 §3) going to
 * UDP and to the path MTU (RFC 8201).
 */
@ExtendWith(StackLeakCheck.class)
class StackIcmpv6Test {
    private final Raw6Peer peer = new Raw6Peer().learnPeer();
    private final StackStats stats = peer.stack.stats();
    private final List<UdpSocket> sockets = new ArrayList<>();

    @AfterEach
    void close() {
        sockets.forEach(UdpSocket::close);
        peer.close();
    }

    private static final byte[] DATA = Raw6Peer.pattern(56, 3);

    private void echo(IpAddress src, IpAddress dst, int id, int seq, byte[] data) {
        byte[] m = icmpv6(src, dst, Icmpv6.ECHO_REQUEST, 0, id << 16 | seq, data);
        peer.inputIp(ipv6(src, dst, Ipv6.ICMPV6, 64, m));
    }

    /** Checks an echo reply field by field. */
    private void assertReply(ByteBuf f, IpAddress from, IpAddress to, int id, int seq, byte[] data) {
        assertThat(Ethernet.dst(f, 0)).isEqualTo(peer.peerMac);
        assertThat(Ipv6.nextHeader(f, IP)).isEqualTo(Ipv6.ICMPV6);
        assertThat(IpAddress.of(Ipv6.srcHi(f, IP), Ipv6.srcLo(f, IP))).as("source").isEqualTo(from);
        assertThat(IpAddress.of(Ipv6.dstHi(f, IP), Ipv6.dstLo(f, IP))).as("destination").isEqualTo(to);
        int len = Ipv6.payloadLength(f, IP);
        assertThat(len).isEqualTo(8 + data.length);
        assertThat(Icmpv6.type(f, L4)).isEqualTo(Icmpv6.ECHO_REPLY);
        assertThat(Icmpv6.code(f, L4)).isZero();
        assertThat(Icmpv6.echoId(f, L4)).isEqualTo(id);
        assertThat(Icmpv6.echoSequence(f, L4)).isEqualTo(seq);
        byte[] got = new byte[data.length];
        f.getBytes(L4 + 8, got);
        assertThat(got).isEqualTo(data);
        assertThat(Checksum.fold(Checksum.add(f, L4, len,
                Checksum.ipv6Pseudo(from.hi(), from.lo(), to.hi(), to.lo(), Ipv6.ICMPV6, len))))
                .as("ICMPv6 checksum").isEqualTo(0xffff);
    }

    // ------------------------------------------------------------------ echo

    @Test
    @DisplayName("RFC 4443 §4.2: an echo request gets a reply with the same identifier, sequence and data")
    void echoIsAnswered() {
        echo(PEER6, STACK6, 0x1234, 7, DATA);
        try (Raw6Peer.Frames out = peer.drain()) {
            assertThat(out).hasSize(1);
            assertReply(out.get(0), STACK6, PEER6, 0x1234, 7, DATA);
        }
        assertThat(stats.icmp6EchoReplies).isEqualTo(1);
    }

    @Test
    @DisplayName("RFC 4443 §4.2: an echo to ff02::1 is answered from a unicast address of ours")
    void multicastEchoIsAnsweredFromUnicast() {
        echo(PEER6, ALL_NODES, 1, 1, DATA);
        try (Raw6Peer.Frames out = peer.drain()) {
            assertThat(out).hasSize(1);
            assertReply(out.get(0), STACK6, PEER6, 1, 1, DATA);
        }
        // From a link-local source, the reply comes from the stack's link-local address (same scope, RFC 6724).
        echo(peer.peerLinkLocal, ALL_NODES, 1, 2, DATA);
        try (Raw6Peer.Frames out = peer.drainAnswering()) { // the stack resolves fe80:: of the peer first
            assertThat(out).hasSize(1);
            assertReply(out.get(0), peer.stackLinkLocal, peer.peerLinkLocal, 1, 2, DATA);
        }
    }

    @Test
    @DisplayName("RFC 4443 §4.2: an echo to the stack's link-local address is answered from it")
    void linkLocalEchoIsAnswered() {
        echo(peer.peerLinkLocal, peer.stackLinkLocal, 9, 9, new byte[0]);
        try (Raw6Peer.Frames out = peer.drainAnswering()) {
            assertThat(out).hasSize(1);
            assertReply(out.get(0), peer.stackLinkLocal, peer.peerLinkLocal, 9, 9, new byte[0]);
        }
    }

    @Test
    @DisplayName("RFC 4443 §2.3: an echo with a bad checksum gets no reply and is counted")
    void echoWithBadChecksumIsDropped() {
        byte[] m = icmpv6(PEER6, STACK6, Icmpv6.ECHO_REQUEST, 0, 0x00010001, DATA);
        m[10] ^= 0x40;
        peer.inputIp(ipv6(PEER6, STACK6, Ipv6.ICMPV6, 64, m));
        try (Raw6Peer.Frames out = peer.drain()) {
            assertThat(out).isEmpty();
        }
        assertThat(stats.dropIcmp6Malformed).isEqualTo(1);
        assertThat(stats.icmp6EchoReplies).isZero();
    }

    /** Fragments of an ICMPv6 message from the peer: {@code per} bytes (a multiple of 8) each. */
    private void inputFragmented(IpAddress src, IpAddress dst, byte[] message, int per, int id) {
        for (int off = 0; off < message.length; off += per) {
            int n = Math.min(per, message.length - off);
            byte[] fh = new byte[8];
            fh[0] = (byte) Ipv6.ICMPV6;
            Raw6Peer.putShort(fh, 2, off | (off + n < message.length ? 1 : 0));
            Raw6Peer.putInt(fh, 4, id);
            peer.inputIp(ipv6(src, dst, Ipv6.FRAGMENT, 64, Raw6Peer.concat(fh, Raw6Peer.slice(message, off, n))));
        }
    }

    @Test
    @DisplayName("RFC 4443 §4.2, §2.2: a fragmented echo to ff02::1 is still answered from a unicast address")
    void fragmentedMulticastEchoIsAnsweredFromUnicast() {
        byte[] data = Raw6Peer.pattern(200, 1);
        inputFragmented(PEER6, ALL_NODES, icmpv6(PEER6, ALL_NODES, Icmpv6.ECHO_REQUEST, 0, 0x00050006, data), 104, 99);
        try (Raw6Peer.Frames out = peer.drain()) {
            assertThat(out).hasSize(1);
            assertReply(out.get(0), STACK6, PEER6, 5, 6, data);
        }
    }

    @Test
    @DisplayName("RFC 4443 §4.2, RFC 8200 §4.5: an echo reply larger than the MTU leaves in fragments, its data whole")
    void largeEchoReplyIsFragmented() {
        byte[] data = Raw6Peer.pattern(3000, 4);
        inputFragmented(PEER6, STACK6, icmpv6(PEER6, STACK6, Icmpv6.ECHO_REQUEST, 0, 0x00070008, data), 1232, 100);
        assertThat(stats.icmp6EchoReplies).isEqualTo(1);
        byte[] reply = new byte[8 + data.length];
        int covered = 0;
        try (Raw6Peer.Frames out = peer.drain()) {
            assertThat(out).as("fragments of the reply").hasSizeGreaterThan(1);
            for (ByteBuf f : out) {
                assertThat(f.readableBytes() - IP).isLessThanOrEqualTo(1500);
                assertThat(Ipv6.nextHeader(f, IP)).isEqualTo(Ipv6.FRAGMENT);
                assertThat((int) f.getUnsignedByte(L4)).isEqualTo(Ipv6.ICMPV6);
                assertThat(IpAddress.of(Ipv6.srcHi(f, IP), Ipv6.srcLo(f, IP))).isEqualTo(STACK6);
                int off = f.getUnsignedShort(L4 + 2) & 0xfff8;
                int n = Ipv6.payloadLength(f, IP) - 8;
                assertThat(off).isEqualTo(covered);
                f.getBytes(L4 + 8, reply, off, n);
                covered += n;
            }
        }
        assertThat(covered).isEqualTo(reply.length);
        assertThat(reply[0] & 0xff).isEqualTo(Icmpv6.ECHO_REPLY);
        assertThat(Raw6Peer.slice(reply, 4, 4)).isEqualTo(new byte[] {0, 7, 0, 8});
        assertThat(Raw6Peer.slice(reply, 8, data.length)).isEqualTo(data);
        assertThat(Raw6Peer.checksum(reply, Checksum.ipv6Pseudo(STACK6.hi(), STACK6.lo(), PEER6.hi(), PEER6.lo(),
                Ipv6.ICMPV6, reply.length))).as("checksum over the whole reply").isZero();
    }

    // ------------------------------------------------------------------ errors to UDP and the path MTU

    private UdpSocket socket(int port) throws Exception {
        UdpSocket s = peer.stack.udp().open();
        sockets.add(s);
        s.bind(IpAddress.V6_ANY, port);
        return s;
    }

    /** Sends {@code len} bytes from the socket to the peer's port 7000 and returns the IP packets that left. */
    private List<byte[]> sendUdp(UdpSocket s, int len) throws Exception {
        ByteBuf data = Unpooled.wrappedBuffer(Raw6Peer.pattern(len, len));
        try {
            s.send(data, PEER6, 7000);
        } finally {
            data.release();
        }
        List<byte[]> packets = new ArrayList<>();
        try (Raw6Peer.Frames out = peer.drainAnswering()) {
            for (ByteBuf f : out) {
                packets.add(ipBytes(f));
            }
        }
        return packets;
    }

    private static int payloadLength(byte[] ip) {
        return (ip[4] & 0xff) << 8 | (ip[5] & 0xff);
    }

    private static byte[] quote(byte[] packet) {
        return Raw6Peer.slice(packet, 0, Math.min(packet.length, 1280 - 48));
    }

    private void packetTooBig(byte[] offending, int mtu) {
        IpAddress router = IpAddress.of(PREFIX_HI, 0xfe);
        peer.inputIp(ipv6(router, STACK6, Ipv6.ICMPV6, 64,
                icmpv6(router, STACK6, Icmpv6.PACKET_TOO_BIG, 0, mtu, quote(offending))));
    }

    private int pathMtu() {
        return peer.stack.pathMtu().mtu(true, PEER6.hi(), PEER6.lo(), 1500, peer.clock.nanoTime());
    }

    @Test
    @DisplayName("RFC 8201 §4-5: a Packet Too Big about a UDP datagram lowers the path MTU; later datagrams are fragmented to fit")
    void packetTooBigForUdpLowersThePathMtu() throws Exception {
        UdpSocket s = socket(5000);
        List<byte[]> first = sendUdp(s, 1400);
        assertThat(first).hasSize(1);
        assertThat(first.get(0)).hasSize(40 + 8 + 1400);
        packetTooBig(first.get(0), 1280);
        assertThat(stats.icmp6ErrorsIn).isEqualTo(1);
        assertThat(pathMtu()).isEqualTo(1280);
        List<byte[]> second = sendUdp(s, 1400);
        assertThat(second).as("fragments").hasSizeGreaterThan(1);
        for (byte[] p : second) {
            assertThat(p.length).as("every fragment fits the reported MTU").isLessThanOrEqualTo(1280);
            assertThat(p[6]).isEqualTo((byte) Ipv6.FRAGMENT);
            assertThat(payloadLength(p)).isEqualTo(p.length - 40);
        }
        // A report that the path is wider does not raise it (RFC 8201 §4).
        packetTooBig(second.get(0), 1400);
        assertThat(pathMtu()).isEqualTo(1280);
    }

    @Test
    @DisplayName("RFC 8201 §4, RFC 8200 §5: a Packet Too Big below 1280 lowers the path MTU only to 1280")
    void packetTooBigBelowTheMinimumStopsAt1280() throws Exception {
        UdpSocket s = socket(5000);
        packetTooBig(sendUdp(s, 1400).get(0), 600);
        assertThat(pathMtu()).isEqualTo(1280);
        List<byte[]> fragments = sendUdp(s, 1400);
        assertThat(fragments).hasSize(2);
        assertThat(fragments.get(0)).as("cut at 1280, not at 600").hasSize(1280);
        assertThat(fragments.get(1).length).isLessThan(1280);
    }

    @Test
    @DisplayName("RFC 4443 §3: an error quoting a packet that is not from one of our addresses is ignored")
    void errorAboutSomeoneElsesPacketIsIgnored() throws Exception {
        UdpSocket s = socket(5000);
        byte[] p = sendUdp(s, 1400).get(0);
        Raw6Peer.putAddress(p, Ipv6.SRC, IpAddress.of(PREFIX_HI, 0x77)); // not ours
        packetTooBig(p, 1280);
        assertThat(pathMtu()).isEqualTo(1500);
        assertThat(stats.dropIcmp6Malformed).isEqualTo(1);
    }

    @Test
    @DisplayName("RFC 4443 §3.1, RFC 1122 §4.1.3.3: port unreachable about a connected UDP socket's datagram fails its next send")
    void portUnreachableReachesTheConnectedUdpSocket() throws Exception {
        UdpSocket s = socket(5000);
        s.connect(PEER6, 7000);
        ByteBuf data = Unpooled.wrappedBuffer("hello".getBytes());
        try {
            s.send(data, (IpAddress) null, 0);
        } finally {
            data.release();
        }
        byte[] sent;
        try (Raw6Peer.Frames out = peer.drainAnswering()) {
            assertThat(out).hasSize(1);
            sent = ipBytes(out.get(0));
        }
        peer.inputIp(ipv6(PEER6, STACK6, Ipv6.ICMPV6, 64,
                icmpv6(PEER6, STACK6, Icmpv6.DEST_UNREACHABLE, Icmpv6.PORT_UNREACHABLE, 0, sent)));
        assertThat(s.hasError()).isTrue();
        ByteBuf again = Unpooled.wrappedBuffer("again".getBytes());
        try {
            assertThatThrownBy(() -> s.send(again, (IpAddress) null, 0)).isInstanceOf(PortUnreachableException.class);
        } finally {
            again.release();
        }
    }

    @Test
    @DisplayName("RFC 4443 §2.4 (e.1): errors the stack receives are never answered with errors")
    void receivedErrorsDrawNoError() {
        // An error about a datagram to a port that nobody sent from, and a Parameter Problem quoting garbage.
        byte[] quoted = bytes(ipv6(STACK6, PEER6, Ipv6.UDP, 64, Raw6Peer.udp(STACK6, PEER6, 1234, 7000,
                new byte[4], true)));
        peer.inputIp(ipv6(PEER6, STACK6, Ipv6.ICMPV6, 64,
                icmpv6(PEER6, STACK6, Icmpv6.DEST_UNREACHABLE, Icmpv6.PORT_UNREACHABLE, 0, quoted)));
        peer.inputIp(ipv6(PEER6, STACK6, Ipv6.ICMPV6, 64,
                icmpv6(PEER6, STACK6, Icmpv6.PARAMETER_PROBLEM, 0, 6, new byte[20])));
        try (Raw6Peer.Frames out = peer.drain()) {
            assertThat(out).isEmpty();
        }
        assertThat(stats.icmp6ErrorsIn).isEqualTo(2);
    }
}
