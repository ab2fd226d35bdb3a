package io.usertcp.stack;

import io.usertcp.stats.StackStats;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.usertcp.ip.NeighborCache;
import io.usertcp.tcp.TcpConnection;
import io.usertcp.tcp.TcpState;
import io.usertcp.udp.UdpSocket;
import io.usertcp.wire.Checksum;
import io.usertcp.wire.Ethernet;
import io.usertcp.wire.Icmpv6;
import io.usertcp.wire.IpAddress;
import io.usertcp.wire.Ipv6;
import io.usertcp.wire.MacAddress;
import io.usertcp.wire.Tcp;
import io.usertcp.wire.Udp;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.util.function.UnaryOperator;

import static io.usertcp.stack.Raw6Peer.ALL_NODES;
import static io.usertcp.stack.Raw6Peer.IP;
import static io.usertcp.stack.Raw6Peer.L4;
import static io.usertcp.stack.Raw6Peer.PEER6;
import static io.usertcp.stack.Raw6Peer.PREFIX_HI;
import static io.usertcp.stack.Raw6Peer.STACK6;
import static io.usertcp.stack.Raw6Peer.icmpv6;
import static io.usertcp.stack.Raw6Peer.ipv6;
import static io.usertcp.stack.Raw6Peer.neighborAdvertisement;
import static io.usertcp.stack.Raw6Peer.neighborSolicitation;
import static io.usertcp.stack.Raw6Peer.solicitedNode;
import static org.assertj.core.api.Assertions.assertThat;

/** Neighbour discovery (RFC 4861) in a whole stack: answering solicitations, and resolving before sending. */
@ExtendWith(StackLeakCheck.class)
class NdpTest {
    private static final long SEC = 1_000_000_000L;
    private static final long MS = 1_000_000L;

    private final Raw6Peer peer = new Raw6Peer();
    private final StackStats stats = peer.stack.stats();
    private UdpSocket socket;

    @AfterEach
    void close() {
        if (socket != null) {
            socket.close();
        }
        peer.close();
    }

    /** Sends an NS message (bytes with checksum 0) from src to dst at the given hop limit, checksum computed. */
    private void solicit(IpAddress src, IpAddress dst, int hopLimit, byte[] ns) {
        peer.inputIp(ipv6(src, dst, Ipv6.ICMPV6, hopLimit, icmpv6(src, dst, ns)));
    }

    /** Checks one neighbour advertisement sent by the stack, field by field. */
    private void assertAdvertisement(ByteBuf f, long dstMac, IpAddress src, IpAddress dst, IpAddress target,
                                     boolean solicited) {
        assertThat(Ethernet.dst(f, 0)).as("Ethernet destination").isEqualTo(dstMac);
        assertThat(Ethernet.src(f, 0)).isEqualTo(peer.stackMac);
        assertThat(Ethernet.type(f, 0)).isEqualTo(Ethernet.TYPE_IPV6);
        assertThat(Ipv6.version(f, IP)).isEqualTo(6);
        assertThat(Ipv6.nextHeader(f, IP)).isEqualTo(Ipv6.ICMPV6);
        assertThat(Ipv6.hopLimit(f, IP)).as("RFC 4861 §7.1.2: hop limit 255").isEqualTo(255);
        assertThat(IpAddress.of(Ipv6.srcHi(f, IP), Ipv6.srcLo(f, IP))).isEqualTo(src);
        assertThat(IpAddress.of(Ipv6.dstHi(f, IP), Ipv6.dstLo(f, IP))).isEqualTo(dst);
        int len = Ipv6.payloadLength(f, IP);
        assertThat(len).isEqualTo(Icmpv6.NS_NA_LENGTH + 8);
        assertThat(f.readableBytes()).isEqualTo(L4 + len);
        assertThat(Icmpv6.type(f, L4)).isEqualTo(Icmpv6.NEIGHBOR_ADVERT);
        assertThat(Icmpv6.code(f, L4)).isZero();
        assertThat(Checksum.fold(Checksum.add(f, L4, len,
                Checksum.ipv6Pseudo(src.hi(), src.lo(), dst.hi(), dst.lo(), Ipv6.ICMPV6, len))))
                .as("ICMPv6 checksum").isEqualTo(0xffff);
        int flags = Icmpv6.word(f, L4);
        assertThat(flags & Icmpv6.ROUTER).as("R").isZero();
        assertThat((flags & Icmpv6.SOLICITED) != 0).as("S").isEqualTo(solicited);
        assertThat(flags & Icmpv6.OVERRIDE).as("O").isNotZero();
        assertThat(flags & 0x1fff_ffff).as("reserved").isZero();
        assertThat(IpAddress.of(Icmpv6.targetHi(f, L4), Icmpv6.targetLo(f, L4))).isEqualTo(target);
        assertThat((int) f.getUnsignedByte(L4 + 24)).as("target link-layer option").isEqualTo(Icmpv6.TARGET_LL_ADDR);
        assertThat((int) f.getUnsignedByte(L4 + 25)).isEqualTo(1);
        assertThat(MacAddress.read(f, L4 + 26)).isEqualTo(peer.stackMac);
    }

    /** Checks one multicast neighbour solicitation the stack sent for {@code target}. */
    private void assertSolicitation(ByteBuf f, IpAddress target) {
        IpAddress group = solicitedNode(target);
        assertThat(Ethernet.dst(f, 0)).as("33:33:ff:xx:xx:xx").isEqualTo(0x3333_ff00_0000L | (target.lo() & 0xff_ffff));
        assertThat(Ethernet.src(f, 0)).isEqualTo(peer.stackMac);
        assertThat(Ethernet.type(f, 0)).isEqualTo(Ethernet.TYPE_IPV6);
        assertThat(Ipv6.hopLimit(f, IP)).isEqualTo(255);
        assertThat(Ipv6.nextHeader(f, IP)).isEqualTo(Ipv6.ICMPV6);
        IpAddress src = IpAddress.of(Ipv6.srcHi(f, IP), Ipv6.srcLo(f, IP));
        assertThat(src).isEqualTo(STACK6);
        assertThat(IpAddress.of(Ipv6.dstHi(f, IP), Ipv6.dstLo(f, IP))).isEqualTo(group);
        int len = Ipv6.payloadLength(f, IP);
        assertThat(Icmpv6.type(f, L4)).isEqualTo(Icmpv6.NEIGHBOR_SOLICIT);
        assertThat(Icmpv6.code(f, L4)).isZero();
        assertThat(Icmpv6.word(f, L4)).as("reserved").isZero();
        assertThat(Checksum.fold(Checksum.add(f, L4, len,
                Checksum.ipv6Pseudo(src.hi(), src.lo(), group.hi(), group.lo(), Ipv6.ICMPV6, len))))
                .isEqualTo(0xffff);
        assertThat(IpAddress.of(Icmpv6.targetHi(f, L4), Icmpv6.targetLo(f, L4))).isEqualTo(target);
        assertThat(Icmpv6.linkLayerOption(f, L4 + Icmpv6.NS_NA_LENGTH, len - Icmpv6.NS_NA_LENGTH,
                Icmpv6.SOURCE_LL_ADDR)).as("source link-layer option").isEqualTo(peer.stackMac);
    }

    private NeighborCache.State peerState() {
        return peer.stack.neighbors().state(PEER6.hi(), PEER6.lo(), peer.clock.nanoTime());
    }

    // ------------------------------------------------------------------ answering solicitations

    @Test
    @DisplayName("RFC 4861 §7.2.3-4: an NS for our address gets a solicited NA (S, O, target link-layer option) to the solicitor")
    void solicitationForOurAddressIsAnswered() {
        solicit(PEER6, solicitedNode(STACK6), 255, neighborSolicitation(STACK6, peer.peerMac));
        try (Raw6Peer.Frames out = peer.drain()) {
            assertThat(out).hasSize(1);
            assertAdvertisement(out.get(0), peer.peerMac, STACK6, PEER6, STACK6, true);
        }
        assertThat(stats.ndpAdvertisementsOut).isEqualTo(1);
        // §7.2.3: the solicitor's link-layer address was recorded (STALE), so a packet to it needs no resolution.
        assertThat(peerState()).isEqualTo(NeighborCache.State.STALE);
    }

    @Test
    @DisplayName("RFC 4861 §7.2.4: a unicast NS (unreachability detection) is answered unicast")
    void unicastSolicitationIsAnswered() {
        peer.inputIp(ipv6(PEER6, STACK6, Ipv6.ICMPV6, 255, icmpv6(PEER6, STACK6,
                neighborSolicitation(STACK6, peer.peerMac))), peer.stackMac);
        try (Raw6Peer.Frames out = peer.drain()) {
            assertThat(out).hasSize(1);
            assertAdvertisement(out.get(0), peer.peerMac, STACK6, PEER6, STACK6, true);
        }
    }

    private void assertDroppedAsMalformed(UnaryOperator<byte[]> corrupt, int hopLimit, IpAddress target) {
        IpAddress dst = solicitedNode(STACK6);
        byte[] msg = icmpv6(PEER6, dst, neighborSolicitation(target, peer.peerMac));
        peer.inputIp(ipv6(PEER6, dst, Ipv6.ICMPV6, hopLimit, corrupt.apply(msg)));
        try (Raw6Peer.Frames out = peer.drain()) {
            assertThat(out).as("no advertisement").isEmpty();
        }
        assertThat(stats.dropIcmp6Malformed).isEqualTo(1);
        assertThat(stats.ndpAdvertisementsOut).isZero();
        assertThat(peerState()).as("nothing learned from an invalid NS").isNull();
    }

    @Test
    @DisplayName("RFC 4861 §7.1.1: an NS with hop limit 64 (not 255: it may come from off-link) is dropped")
    void solicitationWithHopLimitBelow255IsDropped() {
        assertDroppedAsMalformed(m -> m, 64, STACK6);
    }

    @Test
    @DisplayName("RFC 4861 §4.6, §7.1.1: an NS with an option of length 0 is dropped")
    void solicitationWithZeroLengthOptionIsDropped() {
        assertDroppedAsMalformed(m -> {
            byte[] n = neighborSolicitation(STACK6, peer.peerMac);
            n[Icmpv6.NS_NA_LENGTH + 1] = 0;
            return icmpv6(PEER6, solicitedNode(STACK6), n);
        }, 255, STACK6);
    }

    @Test
    @DisplayName("RFC 4861 §7.1.1: an NS whose target is a multicast address is dropped")
    void solicitationForMulticastTargetIsDropped() {
        assertDroppedAsMalformed(m -> m, 255, ALL_NODES);
    }

    @Test
    @DisplayName("RFC 4861 §7.1.1, RFC 4443 §2.3: an NS with a bad checksum is dropped")
    void solicitationWithBadChecksumIsDropped() {
        assertDroppedAsMalformed(m -> {
            m[3] ^= 0x01;
            return m;
        }, 255, STACK6);
    }

    @Test
    @DisplayName("RFC 4861 §7.1.1: an NS with a non-zero ICMP code is dropped")
    void solicitationWithNonZeroCodeIsDropped() {
        assertDroppedAsMalformed(m -> {
            byte[] n = neighborSolicitation(STACK6, peer.peerMac);
            n[1] = 1;
            return icmpv6(PEER6, solicitedNode(STACK6), n);
        }, 255, STACK6);
    }

    @Test
    @DisplayName("RFC 4861 §7.2.3: an NS for an address that is not ours gets nothing (no proxying)")
    void solicitationForAnotherAddressIsIgnored() {
        // Same low 24 bits as the stack's address, so it arrives on the stack's solicited-node group ...
        IpAddress other = IpAddress.of(0xfd00_0199_0000_0000L, 2);
        solicit(PEER6, solicitedNode(STACK6), 255, neighborSolicitation(other, peer.peerMac));
        // ... and unicast to the stack, for a neighbour on its prefix.
        peer.inputIp(ipv6(PEER6, STACK6, Ipv6.ICMPV6, 255, icmpv6(PEER6, STACK6,
                neighborSolicitation(IpAddress.of(PREFIX_HI, 3), peer.peerMac))), peer.stackMac);
        try (Raw6Peer.Frames out = peer.drain()) {
            assertThat(out).isEmpty();
        }
        assertThat(stats.ndpAdvertisementsOut).isZero();
        assertThat(stats.dropIcmp6Malformed).as("valid, just not for us").isZero();
    }

    @Test
    @DisplayName("RFC 4861 §7.2.4, RFC 4862 §5.4.3: a DAD NS (unspecified source) gets an NA to ff02::1 with S clear")
    void duplicateAddressDetectionIsAnsweredToAllNodes() {
        IpAddress unspecified = IpAddress.of(0, 0);
        solicit(unspecified, solicitedNode(STACK6), 255, neighborSolicitation(STACK6, -1));
        try (Raw6Peer.Frames out = peer.drain()) {
            assertThat(out).hasSize(1);
            assertAdvertisement(out.get(0), 0x3333_0000_0001L, STACK6, ALL_NODES, STACK6, false);
        }
    }

    @Test
    @DisplayName("RFC 4861 §7.1.1: a DAD NS with a source link-layer option, or not to a solicited-node group, is dropped")
    void malformedDuplicateAddressDetectionIsDropped() {
        IpAddress unspecified = IpAddress.of(0, 0);
        solicit(unspecified, solicitedNode(STACK6), 255, neighborSolicitation(STACK6, peer.peerMac));
        peer.inputIp(ipv6(unspecified, STACK6, Ipv6.ICMPV6, 255, icmpv6(unspecified, STACK6,
                neighborSolicitation(STACK6, -1))), peer.stackMac);
        try (Raw6Peer.Frames out = peer.drain()) {
            assertThat(out).isEmpty();
        }
        assertThat(stats.dropIcmp6Malformed).isEqualTo(2);
    }

    @Test
    @DisplayName("RFC 4291 App. A, RFC 4862 §5.3: the stack's fe80::/64 EUI-64 address is answered from that address")
    void linkLocalAddressIsAnswered() {
        solicit(peer.peerLinkLocal, solicitedNode(peer.stackLinkLocal), 255,
                neighborSolicitation(peer.stackLinkLocal, peer.peerMac));
        try (Raw6Peer.Frames out = peer.drain()) {
            assertThat(out).hasSize(1);
            assertAdvertisement(out.get(0), peer.peerMac, peer.stackLinkLocal, peer.peerLinkLocal,
                    peer.stackLinkLocal, true);
        }
    }

    @Test
    @DisplayName("RFC 6980 §5: an NS in a fragment (atomic or not) is silently ignored")
    void fragmentedSolicitationIsIgnored() {
        IpAddress dst = solicitedNode(STACK6);
        byte[] ns = icmpv6(PEER6, dst, neighborSolicitation(STACK6, peer.peerMac));
        byte[] atomic = {(byte) Ipv6.ICMPV6, 0, 0, 0, 0, 0, 0, 1};
        peer.inputIp(ipv6(PEER6, dst, Ipv6.FRAGMENT, 255, Raw6Peer.concat(atomic, ns)));
        byte[] first = {(byte) Ipv6.ICMPV6, 0, 0, 1, 0, 0, 0, 2};
        byte[] second = {(byte) Ipv6.ICMPV6, 0, 0, 24, 0, 0, 0, 2};
        peer.inputIp(ipv6(PEER6, dst, Ipv6.FRAGMENT, 255, Raw6Peer.concat(first, Raw6Peer.slice(ns, 0, 24))));
        peer.inputIp(ipv6(PEER6, dst, Ipv6.FRAGMENT, 255, Raw6Peer.concat(second, Raw6Peer.slice(ns, 24, 8))));
        try (Raw6Peer.Frames out = peer.drain()) {
            assertThat(out).isEmpty();
        }
        assertThat(stats.ndpAdvertisementsOut).isZero();
        assertThat(peerState()).as("nothing learned").isNull();
    }

    @Test
    @DisplayName("RFC 6980 §5: an NA in a fragment does not resolve a neighbour")
    void fragmentedAdvertisementIsIgnored() throws Exception {
        ByteBuf data = Unpooled.wrappedBuffer("x".getBytes());
        udp().send(data, PEER6, 7000);
        data.release();
        peer.drain().close();
        byte[] na = icmpv6(PEER6, STACK6, neighborAdvertisement(PEER6, Icmpv6.SOLICITED | Icmpv6.OVERRIDE,
                peer.peerMac));
        byte[] atomic = {(byte) Ipv6.ICMPV6, 0, 0, 0, 0, 0, 0, 3};
        peer.inputIp(ipv6(PEER6, STACK6, Ipv6.FRAGMENT, 255, Raw6Peer.concat(atomic, na)), peer.stackMac);
        try (Raw6Peer.Frames out = peer.drain()) {
            assertThat(out).isEmpty();
        }
        assertThat(peerState()).isEqualTo(NeighborCache.State.INCOMPLETE);
    }

    // ------------------------------------------------------------------ resolving before sending

    private UdpSocket udp() throws Exception {
        socket = peer.stack.udp().open();
        socket.bind(IpAddress.V6_ANY, 5000);
        return socket;
    }

    @Test
    @DisplayName("RFC 4861 §7.2.2: a UDP send to an unknown neighbour solicits it and waits; its NA releases the packet")
    void udpSendResolvesThePeerFirst() throws Exception {
        ByteBuf data = Unpooled.wrappedBuffer("hello".getBytes());
        udp().send(data, PEER6, 7000);
        data.release();
        try (Raw6Peer.Frames out = peer.drain()) {
            assertThat(out).as("only the solicitation: the datagram is queued").hasSize(1);
            assertSolicitation(out.get(0), PEER6);
        }
        assertThat(peerState()).isEqualTo(NeighborCache.State.INCOMPLETE);
        peer.inputIp(ipv6(PEER6, STACK6, Ipv6.ICMPV6, 255, icmpv6(PEER6, STACK6,
                neighborAdvertisement(PEER6, Icmpv6.SOLICITED | Icmpv6.OVERRIDE, peer.peerMac))), peer.stackMac);
        try (Raw6Peer.Frames out = peer.drain()) {
            assertThat(out).hasSize(1);
            ByteBuf f = out.get(0);
            assertThat(Ethernet.dst(f, 0)).isEqualTo(peer.peerMac);
            assertThat(Ipv6.nextHeader(f, IP)).isEqualTo(Ipv6.UDP);
            assertThat(IpAddress.of(Ipv6.dstHi(f, IP), Ipv6.dstLo(f, IP))).isEqualTo(PEER6);
            assertThat(Udp.dstPort(f, L4)).isEqualTo(7000);
            assertThat(f.toString(L4 + 8, 5, java.nio.charset.StandardCharsets.US_ASCII)).isEqualTo("hello");
        }
        assertThat(peerState()).isEqualTo(NeighborCache.State.REACHABLE);
    }

    @Test
    @DisplayName("RFC 4861 §7.2.2, §7.2.5: a TCP connect to an unknown neighbour sends its SYN once the NA came")
    void tcpConnectResolvesThePeerFirst() throws Exception {
        TcpConnection c = peer.stack.tcp().connect(null, 0, PEER6, 7000, 0, 0);
        try (Raw6Peer.Frames out = peer.drain()) {
            assertThat(out).hasSize(1);
            assertSolicitation(out.get(0), PEER6);
        }
        // An unsolicited NA (S clear) to all-nodes also resolves an INCOMPLETE entry (§7.2.5): to STALE.
        IpAddress dst = ALL_NODES;
        peer.inputIp(ipv6(PEER6, dst, Ipv6.ICMPV6, 255, icmpv6(PEER6, dst,
                neighborAdvertisement(PEER6, Icmpv6.OVERRIDE, peer.peerMac))));
        try (Raw6Peer.Frames out = peer.drain()) {
            assertThat(out).hasSize(1);
            ByteBuf f = out.get(0);
            assertThat(Ethernet.dst(f, 0)).isEqualTo(peer.peerMac);
            assertThat(Ipv6.nextHeader(f, IP)).isEqualTo(Ipv6.TCP);
            assertThat(Tcp.flags(f, L4)).isEqualTo(Tcp.SYN);
            assertThat(Tcp.dstPort(f, L4)).isEqualTo(7000);
        }
        assertThat(c.state()).isEqualTo(TcpState.SYN_SENT);
        c.abort();
        peer.drain().close();
    }

    @Test
    @DisplayName("RFC 4861 §7.1.2: a multicast NA with S set is invalid and resolves nothing")
    void multicastSolicitedAdvertisementIsDropped() throws Exception {
        ByteBuf data = Unpooled.wrappedBuffer("x".getBytes());
        udp().send(data, PEER6, 7000);
        data.release();
        peer.drain().close();
        peer.inputIp(ipv6(PEER6, ALL_NODES, Ipv6.ICMPV6, 255, icmpv6(PEER6, ALL_NODES,
                neighborAdvertisement(PEER6, Icmpv6.SOLICITED | Icmpv6.OVERRIDE, peer.peerMac))));
        // Nor does one with hop limit 64.
        peer.inputIp(ipv6(PEER6, STACK6, Ipv6.ICMPV6, 64, icmpv6(PEER6, STACK6,
                neighborAdvertisement(PEER6, Icmpv6.SOLICITED | Icmpv6.OVERRIDE, peer.peerMac))), peer.stackMac);
        try (Raw6Peer.Frames out = peer.drain()) {
            assertThat(out).isEmpty();
        }
        assertThat(stats.dropIcmp6Malformed).isEqualTo(2);
        assertThat(peerState()).isEqualTo(NeighborCache.State.INCOMPLETE);
    }

    @Test
    @DisplayName("RFC 4861 §7.2.2, §7.3.3: 3 solicitations 1 s apart without answer, then the queued packets are dropped")
    void unansweredResolutionGivesUpAfterThreeSolicitations() throws Exception {
        UdpSocket s = udp();
        for (int i = 0; i < 2; i++) {
            ByteBuf data = Unpooled.wrappedBuffer(new byte[] {(byte) i});
            s.send(data, PEER6, 7000);
            data.release();
        }
        int solicitations = 0;
        for (int ms = 0; ms <= 5000; ms += 100) {
            if (ms > 0) {
                peer.advance(100 * MS);
            }
            try (Raw6Peer.Frames out = peer.drain()) {
                for (ByteBuf f : out) {
                    assertSolicitation(f, PEER6);
                    assertThat(ms).as("solicitation %d sent 1 s after the previous one", solicitations)
                            .isEqualTo(solicitations * 1000);
                    solicitations++;
                }
            }
            if (ms < 3000) {
                assertThat(stats.dropNdpUnresolved).as("still waiting at %d ms", ms).isZero();
            }
        }
        assertThat(solicitations).isEqualTo(NeighborCache.MAX_MULTICAST_SOLICIT);
        assertThat(stats.ndpSolicitationsOut).isEqualTo(3);
        assertThat(stats.dropNdpUnresolved).as("both queued datagrams").isEqualTo(2);
        assertThat(peerState()).as("entry deleted").isNull();
        // A later send starts over.
        ByteBuf data = Unpooled.wrappedBuffer(new byte[1]);
        s.send(data, PEER6, 7000);
        data.release();
        try (Raw6Peer.Frames out = peer.drain()) {
            assertThat(out).hasSize(1);
            assertSolicitation(out.get(0), PEER6);
        }
    }

    @Test
    @DisplayName("RFC 4861 §7.3.3: a STALE neighbour used for 5 s is probed by unicast NS; 3 unanswered probes delete it")
    void unreachabilityDetectionProbesByUnicast() throws Exception {
        solicit(PEER6, solicitedNode(STACK6), 255, neighborSolicitation(STACK6, peer.peerMac));
        peer.drain().close();
        assertThat(peerState()).isEqualTo(NeighborCache.State.STALE);
        ByteBuf data = Unpooled.wrappedBuffer("y".getBytes());
        udp().send(data, PEER6, 7000);
        data.release();
        try (Raw6Peer.Frames out = peer.drain()) {
            assertThat(out).as("sent at once to the STALE address").hasSize(1);
            assertThat(Ethernet.dst(out.get(0), 0)).isEqualTo(peer.peerMac);
        }
        assertThat(peerState()).isEqualTo(NeighborCache.State.DELAY);
        peer.advance(5 * SEC);
        for (int probe = 0; probe < 3; probe++) {
            if (probe > 0) {
                peer.advance(SEC);
            }
            try (Raw6Peer.Frames out = peer.drain()) {
                assertThat(out).as("probe %d", probe).hasSize(1);
                ByteBuf f = out.get(0);
                assertThat(Ethernet.dst(f, 0)).as("unicast to the cached MAC").isEqualTo(peer.peerMac);
                assertThat(IpAddress.of(Ipv6.dstHi(f, IP), Ipv6.dstLo(f, IP))).isEqualTo(PEER6);
                assertThat(Ipv6.hopLimit(f, IP)).isEqualTo(255);
                assertThat(Icmpv6.type(f, L4)).isEqualTo(Icmpv6.NEIGHBOR_SOLICIT);
                assertThat(IpAddress.of(Icmpv6.targetHi(f, L4), Icmpv6.targetLo(f, L4))).isEqualTo(PEER6);
                int len = Ipv6.payloadLength(f, IP);
                assertThat(Checksum.fold(Checksum.add(f, L4, len, Checksum.ipv6Pseudo(STACK6.hi(), STACK6.lo(),
                        PEER6.hi(), PEER6.lo(), Ipv6.ICMPV6, len)))).isEqualTo(0xffff);
            }
            assertThat(peerState()).isEqualTo(NeighborCache.State.PROBE);
        }
        peer.advance(SEC);
        assertThat(peerState()).as("deleted after MAX_UNICAST_SOLICIT probes").isNull();
        peer.drain().close();
    }
}
