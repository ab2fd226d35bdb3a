package io.usertcp.ip;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.usertcp.link.FaultModel;
import io.usertcp.sim.TwoStacks;
import io.usertcp.udp.RawPeer;
import io.usertcp.udp.UdpSocket;
import io.usertcp.wire.Checksum;
import io.usertcp.wire.Icmpv4;
import io.usertcp.wire.Ipv4;
import io.usertcp.wire.Tcp;
import io.usertcp.wire.Udp;
import org.junit.jupiter.api.Test;

import java.util.List;

import static io.usertcp.udp.RawPeer.IP;
import static io.usertcp.udp.RawPeer.PEER_IP;
import static io.usertcp.udp.RawPeer.STACK_IP;
import static org.assertj.core.api.Assertions.assertThat;

/** IPv4 fragmentation on send and reassembly on receive, through whole stacks. */
class FragmentationTest {

    @Test
    void largeDatagramLeavesAsFragments() throws Exception {
        try (RawPeer peer = new RawPeer().learnArp()) {
            UdpSocket s = peer.stack.udp().open();
            s.bind(0, 5000);
            byte[] data = RawPeer.pattern(8000, 11);
            s.send(Unpooled.wrappedBuffer(data), PEER_IP, 7000);
            List<ByteBuf> out = peer.drain();
            try {
                assertThat(out).hasSize(6); // 8008 bytes of UDP in 1480-byte pieces
                int id = Ipv4.id(out.get(0), IP);
                ByteBuf whole = Unpooled.buffer(8008);
                for (int i = 0; i < out.size(); i++) {
                    ByteBuf f = out.get(i);
                    int ff = Ipv4.flagsFragment(f, IP);
                    int len = Ipv4.totalLength(f, IP) - Ipv4.MIN_HEADER_LENGTH;
                    assertThat(Ipv4.id(f, IP)).isEqualTo(id);
                    assertThat(ff & Ipv4.FLAG_DF).isZero();
                    assertThat((ff & Ipv4.FLAG_MF) != 0).isEqualTo(i < 5);
                    assertThat(Ipv4.fragmentOffset(f, IP)).isEqualTo(i * 1480);
                    assertThat(len).isEqualTo(i < 5 ? 1480 : 8008 - 5 * 1480);
                    assertThat(Checksum.fold(Checksum.add(f, IP, Ipv4.MIN_HEADER_LENGTH, 0))).isEqualTo(0xffff);
                    whole.writeBytes(f, IP + Ipv4.MIN_HEADER_LENGTH, len);
                }
                assertThat(Udp.length(whole, 0)).isEqualTo(8008);
                assertThat(Checksum.fold(Checksum.add(whole, 0, 8008,
                        Checksum.ipv4Pseudo(STACK_IP, PEER_IP, Ipv4.PROTO_UDP, 8008)))).isEqualTo(0xffff);
                byte[] got = new byte[8000];
                whole.getBytes(8, got);
                assertThat(got).isEqualTo(data);
                whole.release();
            } finally {
                out.forEach(ByteBuf::release);
            }
            assertThat(peer.stack.stats().ipFragmented).isEqualTo(1);
            assertThat(peer.stack.stats().ipFragmentsOut).isEqualTo(6);
        }
    }

    @Test
    void fragmentsFromTheWireAreReassembledForUdp() throws Exception {
        try (RawPeer peer = new RawPeer().learnArp()) {
            UdpSocket s = peer.stack.udp().open();
            s.bind(0, 5000);
            byte[] data = RawPeer.pattern(8000, 12);
            byte[] udp = RawPeer.udp(PEER_IP, STACK_IP, 7000, 5000, data, true);
            for (int off : new int[] {4440, 0, 7400, 1480, 5920, 2960}) { // out of order
                int len = Math.min(1480, udp.length - off);
                peer.input(RawPeer.ipv4(PEER_IP, STACK_IP, Ipv4.PROTO_UDP, 77,
                        (off + len < udp.length ? Ipv4.FLAG_MF : 0) | off >>> 3, udp, off, len));
            }
            assertThat(s.queuedDatagrams()).isEqualTo(1);
            ByteBuf b = Unpooled.buffer(65536);
            s.receive(b);
            byte[] got = new byte[b.readableBytes()];
            b.readBytes(got);
            b.release();
            assertThat(got).isEqualTo(data);
            assertThat(peer.stack.stats().ipReassembled).isEqualTo(1);
            assertThat(peer.stack.reassembly().memory()).isZero();
            s.close();
        }
    }

    @Test
    void largeEchoRequestInFragmentsIsAnsweredInFragments() {
        try (RawPeer peer = new RawPeer().learnArp()) {
            // A 3000-byte echo request (ping -s 2992) in three fragments: the reply carries the same data back,
            // so it is larger than the MTU and must leave in fragments (DF clear) that reassemble to it.
            byte[] icmp = RawPeer.pattern(3000, 5);
            icmp[0] = (byte) Icmpv4.ECHO_REQUEST;
            icmp[1] = 0;
            icmp[2] = 0;
            icmp[3] = 0;
            ByteBuf c = Unpooled.wrappedBuffer(icmp);
            int sum = Checksum.compute(c, 0, icmp.length);
            icmp[2] = (byte) (sum >>> 8);
            icmp[3] = (byte) sum;
            for (int off = 0; off < icmp.length; off += 1480) {
                int len = Math.min(1480, icmp.length - off);
                peer.input(RawPeer.ipv4(PEER_IP, STACK_IP, Ipv4.PROTO_ICMP, 91,
                        (off + len < icmp.length ? Ipv4.FLAG_MF : 0) | off >>> 3, icmp, off, len));
            }
            List<ByteBuf> out = peer.drain();
            byte[] reply = new byte[icmp.length];
            int got = 0;
            try {
                assertThat(out).hasSizeGreaterThan(1);
                for (ByteBuf f : out) {
                    assertThat(f.readableBytes()).isLessThanOrEqualTo(14 + 1500);
                    assertThat(Ipv4.protocol(f, IP)).isEqualTo(Ipv4.PROTO_ICMP);
                    assertThat(Ipv4.flagsFragment(f, IP) & Ipv4.FLAG_DF).isZero();
                    int off = (Ipv4.flagsFragment(f, IP) & Ipv4.FRAGMENT_OFFSET_MASK) << 3;
                    int len = Ipv4.totalLength(f, IP) - Ipv4.headerLength(f, IP);
                    f.getBytes(IP + Ipv4.headerLength(f, IP), reply, off, len);
                    got += len;
                }
            } finally {
                out.forEach(ByteBuf::release);
            }
            assertThat(got).isEqualTo(icmp.length);
            assertThat(reply[0]).isEqualTo((byte) Icmpv4.ECHO_REPLY);
            assertThat(Checksum.compute(Unpooled.wrappedBuffer(reply), 0, reply.length)).isZero();
            assertThat(java.util.Arrays.copyOfRange(reply, 4, reply.length))
                    .isEqualTo(java.util.Arrays.copyOfRange(icmp, 4, icmp.length));
        }
    }

    @Test
    void reassembledTcpGoesToTcp() {
        try (RawPeer peer = new RawPeer().learnArp()) {
            // A 20-byte TCP header (ACK) and 12 data bytes to a closed port, in two fragments: a RST must come back.
            byte[] tcp = new byte[32];
            ByteBuf t = Unpooled.wrappedBuffer(tcp);
            t.setShort(0, 40000);
            t.setShort(2, 9);
            t.setInt(4, 1000);
            t.setInt(8, 5000);
            t.setByte(12, 5 << 4);
            t.setByte(13, Tcp.ACK);
            t.setShort(14, 1000);
            t.setShort(16, Checksum.finish(Checksum.add(t, 0, 32,
                    Checksum.ipv4Pseudo(PEER_IP, STACK_IP, Ipv4.PROTO_TCP, 32))));
            peer.input(RawPeer.ipv4(PEER_IP, STACK_IP, Ipv4.PROTO_TCP, 5, 24 >>> 3, tcp, 24, 8));
            peer.input(RawPeer.ipv4(PEER_IP, STACK_IP, Ipv4.PROTO_TCP, 5, Ipv4.FLAG_MF, tcp, 0, 24));
            List<ByteBuf> out = peer.drain();
            try {
                assertThat(out).hasSize(1);
                ByteBuf f = out.get(0);
                assertThat(Ipv4.protocol(f, IP)).isEqualTo(Ipv4.PROTO_TCP);
                assertThat(Tcp.flags(f, IP + 20) & Tcp.RST).isNotZero();
                assertThat(Tcp.seq(f, IP + 20)).isEqualTo(5000); // RST with SEQ = the segment's ACK
            } finally {
                out.forEach(ByteBuf::release);
            }
        }
    }

    @Test
    void reassemblyTimeoutSendsTimeExceeded() {
        try (RawPeer peer = new RawPeer().learnArp()) {
            byte[] udp = RawPeer.udp(PEER_IP, STACK_IP, 7000, 5000, new byte[3000], true);
            peer.input(RawPeer.ipv4(PEER_IP, STACK_IP, Ipv4.PROTO_UDP, 88, Ipv4.FLAG_MF, udp, 0, 1480));
            peer.advance(31_000_000_000L);
            List<ByteBuf> out = peer.drain();
            try {
                assertThat(out).hasSize(1);
                ByteBuf f = out.get(0);
                int icmp = IP + Ipv4.MIN_HEADER_LENGTH;
                assertThat((int) f.getUnsignedByte(icmp)).isEqualTo(Icmpv4.TIME_EXCEEDED);
                assertThat((int) f.getUnsignedByte(icmp + 1)).isEqualTo(Icmpv4.CODE_REASSEMBLY_TIME_EXCEEDED);
                assertThat(Ipv4.id(f, icmp + Icmpv4.HEADER_LENGTH)).isEqualTo(88);
            } finally {
                out.forEach(ByteBuf::release);
            }
            assertThat(peer.stack.stats().dropIpReassemblyTimeout).isEqualTo(1);
            assertThat(peer.stack.reassembly().pending()).isZero();
        }
    }

    @Test
    void twoStacksExchangeDatagramsOfEverySize() throws Exception {
        try (TwoStacks net = new TwoStacks(100_000, FaultModel.NONE, FaultModel.NONE)) {
            UdpSocket a = net.a.udp().open();
            UdpSocket b = net.b.udp().open();
            a.bind(0, 1111);
            b.bind(0, 2222);
            b.receiveBufferSize(1 << 20);
            // Resolve ARP first: a 65507-byte datagram alone is 45 fragments, more than the ARP queue holds.
            a.send(Unpooled.wrappedBuffer(new byte[1]), TwoStacks.B_IP, 2222);
            assertThat(net.runUntil(() -> b.queuedDatagrams() == 1, 1_000_000_000L)).isTrue();
            b.receive(Unpooled.buffer(1));
            int[] sizes = {0, 1, 1471, 1472, 1473, 2960, 8000, 30_000, Udp.MAX_IPV4_PAYLOAD};
            for (int size : sizes) {
                a.send(Unpooled.wrappedBuffer(RawPeer.pattern(size, size)), TwoStacks.B_IP, 2222);
            }
            assertThat(net.runUntil(() -> b.queuedDatagrams() == sizes.length, 1_000_000_000L)).isTrue();
            ByteBuf buf = Unpooled.buffer(65536);
            for (int size : sizes) {
                assertThat(b.peekSourcePort()).isEqualTo(1111);
                buf.clear();
                b.receive(buf);
                byte[] got = new byte[buf.readableBytes()];
                buf.readBytes(got);
                assertThat(got).isEqualTo(RawPeer.pattern(size, size));
            }
            buf.release();
            assertThat(net.a.stats().ipFragmented).isEqualTo(5); // 1473 bytes and up
            assertThat(net.b.stats().ipReassembled).isEqualTo(5);
            assertThat(net.b.reassembly().memory()).isZero();
        }
    }
}
