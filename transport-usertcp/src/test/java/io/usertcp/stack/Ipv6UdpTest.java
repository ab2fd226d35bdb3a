package io.usertcp.stack;

import io.usertcp.stats.StackStats;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.usertcp.udp.UdpSocket;
import io.usertcp.wire.Checksum;
import io.usertcp.wire.Ethernet;
import io.usertcp.wire.IpAddress;
import io.usertcp.wire.Ipv6;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;

import static io.usertcp.stack.Raw6Peer.IP;
import static io.usertcp.stack.Raw6Peer.L4;
import static io.usertcp.stack.Raw6Peer.PEER6;
import static io.usertcp.stack.Raw6Peer.STACK6;
import static io.usertcp.stack.Raw6Peer.concat;
import static io.usertcp.stack.Raw6Peer.ipv6;
import static io.usertcp.stack.Raw6Peer.udp;
import static org.assertj.core.api.Assertions.assertThat;

/** UDP over IPv6 in a whole stack: the mandatory checksum (RFC 8200 §8.1), fragmentation both ways (§4.5). */
@ExtendWith(StackLeakCheck.class)
class Ipv6UdpTest {
    private final Raw6Peer peer = new Raw6Peer().learnPeer();
    private final StackStats stats = peer.stack.stats();
    private final List<UdpSocket> sockets = new ArrayList<>();

    @AfterEach
    void close() {
        sockets.forEach(UdpSocket::close);
        peer.close();
    }

    private UdpSocket socket(IpAddress local, int port) throws Exception {
        UdpSocket s = peer.stack.udp().open();
        sockets.add(s);
        s.bind(local, port);
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

    @Test
    @DisplayName("RFC 8200 §8.1: a datagram with a correct checksum is delivered, with its source")
    void datagramIsDelivered() throws Exception {
        UdpSocket s = socket(STACK6, 5000);
        peer.inputIp(ipv6(PEER6, STACK6, Ipv6.UDP, 64, udp(PEER6, STACK6, 6000, 5000, "six".getBytes(), true)));
        assertThat(s.queuedDatagrams()).isEqualTo(1);
        assertThat(IpAddress.of(s.peekSourceHi(), s.peekSourceLo())).isEqualTo(PEER6);
        assertThat(s.peekSourcePort()).isEqualTo(6000);
        assertThat(read(s)).isEqualTo("six".getBytes());
    }

    @Test
    @DisplayName("RFC 8200 §8.1: a UDP datagram with a zero checksum is dropped and counted, with no ICMP error")
    void zeroChecksumIsDropped() throws Exception {
        UdpSocket s = socket(IpAddress.V6_ANY, 5000);
        peer.inputIp(ipv6(PEER6, STACK6, Ipv6.UDP, 64, udp(PEER6, STACK6, 6000, 5000, "none".getBytes(), false)));
        byte[] bad = udp(PEER6, STACK6, 6000, 5000, "bad!".getBytes(), true);
        bad[9] ^= 1;
        peer.inputIp(ipv6(PEER6, STACK6, Ipv6.UDP, 64, bad));
        // To a closed port it is dropped as well, not answered with port unreachable.
        peer.inputIp(ipv6(PEER6, STACK6, Ipv6.UDP, 64, udp(PEER6, STACK6, 6000, 5001, "none".getBytes(), false)));
        assertThat(s.queuedDatagrams()).isZero();
        assertThat(stats.dropUdpChecksum).isEqualTo(3);
        assertThat(stats.dropUdpNoPort).isZero();
        try (Raw6Peer.Frames out = peer.drain()) {
            assertThat(out).as("no ICMPv6 error").isEmpty();
        }
    }

    // ------------------------------------------------------------------ fragmentation by the stack

    @Test
    @DisplayName("RFC 8200 §4.5: an 8000-byte datagram leaves as fragments that fit the MTU and reassemble to it")
    void largeDatagramIsFragmented() throws Exception {
        UdpSocket s = socket(IpAddress.V6_ANY, 5000);
        byte[] data = Raw6Peer.pattern(8000, 11);
        ByteBuf b = Unpooled.wrappedBuffer(data);
        try {
            s.send(b, PEER6, 7000);
        } finally {
            b.release();
        }
        assertThat(stats.ip6Fragmented).isEqualTo(1);
        byte[] whole = new byte[8 + data.length];
        Set<Integer> ids = new HashSet<>();
        int covered = 0;
        try (Raw6Peer.Frames out = peer.drain()) {
            assertThat(out).hasSizeGreaterThan(5);
            for (int i = 0; i < out.size(); i++) {
                ByteBuf f = out.get(i);
                boolean last = i == out.size() - 1;
                assertThat(f.readableBytes() - IP).as("fragment %d fits 1500", i).isLessThanOrEqualTo(1500);
                assertThat(Ethernet.dst(f, 0)).isEqualTo(peer.peerMac);
                assertThat(Ipv6.nextHeader(f, IP)).isEqualTo(Ipv6.FRAGMENT);
                assertThat(IpAddress.of(Ipv6.srcHi(f, IP), Ipv6.srcLo(f, IP))).isEqualTo(STACK6);
                assertThat(IpAddress.of(Ipv6.dstHi(f, IP), Ipv6.dstLo(f, IP))).isEqualTo(PEER6);
                int pl = Ipv6.payloadLength(f, IP);
                assertThat(f.readableBytes()).isEqualTo(L4 + pl);
                int n = pl - 8;
                assertThat((int) f.getUnsignedByte(L4)).as("fragment header: next header").isEqualTo(Ipv6.UDP);
                assertThat((int) f.getUnsignedByte(L4 + 1)).as("reserved").isZero();
                int field = f.getUnsignedShort(L4 + 2);
                int offset = field & 0xfff8;
                assertThat(field & 0x6).as("reserved bits").isZero();
                assertThat((field & 1) == 1).as("M flag of fragment %d", i).isEqualTo(!last);
                if (!last) {
                    assertThat(n % 8).as("a non-last fragment carries a multiple of 8 bytes").isZero();
                }
                assertThat(offset).as("fragments in order, without gap or overlap").isEqualTo(covered);
                ids.add(f.getInt(L4 + 4));
                f.getBytes(L4 + 8, whole, offset, n);
                covered += n;
            }
        }
        assertThat(ids).as("one identification").hasSize(1);
        assertThat(covered).isEqualTo(whole.length);
        ByteBuf w = Unpooled.wrappedBuffer(whole);
        try {
            assertThat(w.getUnsignedShort(0)).isEqualTo(5000);
            assertThat(w.getUnsignedShort(2)).isEqualTo(7000);
            assertThat(w.getUnsignedShort(4)).isEqualTo(whole.length);
            assertThat(Checksum.fold(Checksum.add(w, 0, whole.length, Checksum.ipv6Pseudo(STACK6.hi(), STACK6.lo(),
                    PEER6.hi(), PEER6.lo(), Ipv6.UDP, whole.length)))).as("UDP checksum over the whole datagram")
                    .isEqualTo(0xffff);
        } finally {
            w.release();
        }
        assertThat(Raw6Peer.slice(whole, 8, data.length)).isEqualTo(data);
    }

    @Test
    @DisplayName("RFC 8200 §4.5: successive fragmented datagrams use different identifications")
    void fragmentIdentificationsDiffer() throws Exception {
        UdpSocket s = socket(IpAddress.V6_ANY, 5000);
        Set<Integer> ids = new HashSet<>();
        for (int k = 0; k < 3; k++) {
            ByteBuf b = Unpooled.wrappedBuffer(new byte[3000]);
            try {
                s.send(b, PEER6, 7000);
            } finally {
                b.release();
            }
            try (Raw6Peer.Frames out = peer.drain()) {
                for (ByteBuf f : out) {
                    ids.add(f.getInt(L4 + 4));
                }
            }
        }
        assertThat(ids).hasSize(3);
    }

    // ------------------------------------------------------------------ reassembly of the peer's fragments

    /** The fragments of a UDP datagram from the peer, each carrying at most {@code per} bytes (a multiple of 8). */
    private static List<byte[]> fragments(byte[] udp, int per, int id) {
        List<byte[]> out = new ArrayList<>();
        for (int off = 0; off < udp.length; off += per) {
            int n = Math.min(per, udp.length - off);
            boolean more = off + n < udp.length;
            byte[] fh = new byte[8];
            fh[0] = (byte) Ipv6.UDP;
            Raw6Peer.putShort(fh, 2, off | (more ? 1 : 0));
            Raw6Peer.putInt(fh, 4, id);
            out.add(concat(fh, Raw6Peer.slice(udp, off, n)));
        }
        return out;
    }

    private void inputFragments(List<byte[]> fragments) {
        for (byte[] fr : fragments) {
            peer.inputIp(ipv6(PEER6, STACK6, Ipv6.FRAGMENT, 64, fr));
        }
    }

    @Test
    @DisplayName("RFC 8200 §4.5: the peer's fragments, in order, are reassembled and delivered")
    void fragmentsInOrderAreReassembled() throws Exception {
        UdpSocket s = socket(IpAddress.V6_ANY, 5000);
        byte[] data = Raw6Peer.pattern(5000, 5);
        inputFragments(fragments(udp(PEER6, STACK6, 6000, 5000, data, true), 1232, 0x01020304));
        assertThat(s.queuedDatagrams()).isEqualTo(1);
        assertThat(read(s)).isEqualTo(data);
        assertThat(stats.ip6Reassembled).isEqualTo(1);
    }

    @Test
    @DisplayName("RFC 8200 §4.5: the peer's fragments, shuffled, are reassembled and delivered once")
    void shuffledFragmentsAreReassembled() throws Exception {
        UdpSocket s = socket(IpAddress.V6_ANY, 5000);
        byte[] data = Raw6Peer.pattern(9000, 9);
        List<byte[]> frags = fragments(udp(PEER6, STACK6, 6000, 5000, data, true), 1000, 0x0a0b0c0d);
        Collections.shuffle(frags, new Random(42));
        List<byte[]> firstHalf = frags.subList(0, frags.size() - 1);
        inputFragments(firstHalf);
        assertThat(s.queuedDatagrams()).as("not before the last fragment came").isZero();
        inputFragments(frags.subList(frags.size() - 1, frags.size()));
        assertThat(s.queuedDatagrams()).isEqualTo(1);
        assertThat(read(s)).isEqualTo(data);
        try (Raw6Peer.Frames out = peer.drain()) {
            assertThat(out).isEmpty();
        }
    }

    @Test
    @DisplayName("RFC 6946: an atomic fragment (offset 0, M clear) is delivered on its own")
    void atomicFragmentIsDelivered() throws Exception {
        UdpSocket s = socket(IpAddress.V6_ANY, 5000);
        byte[] data = "atomic".getBytes();
        inputFragments(fragments(udp(PEER6, STACK6, 6000, 5000, data, true), 1232, 7));
        assertThat(read(s)).isEqualTo(data);
    }
}
