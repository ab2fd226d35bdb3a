package io.usertcp.stack;

import io.usertcp.stats.StackStats;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.usertcp.wire.Arp;
import io.usertcp.wire.Ethernet;
import io.usertcp.wire.Icmpv4;
import io.usertcp.wire.Icmpv6;
import io.usertcp.wire.IpAddress;
import io.usertcp.wire.Ipv4;
import io.usertcp.wire.Ipv6;
import io.usertcp.wire.MacAddress;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import static io.usertcp.stack.Raw6Peer.PEER6;
import static io.usertcp.stack.Raw6Peer.PEER_IP;
import static io.usertcp.stack.Raw6Peer.STACK6;
import static io.usertcp.stack.Raw6Peer.STACK_IP;
import static io.usertcp.stack.Raw6Peer.icmpv4;
import static io.usertcp.stack.Raw6Peer.icmpv6;
import static io.usertcp.stack.Raw6Peer.ipv4;
import static io.usertcp.stack.Raw6Peer.ipv6;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Martian addresses from the wire (issue #10): loopback destinations, our own addresses as source, and ARP for or
 * from them are dropped and counted, never answered. Each case has a control that is answered, so the test fails
 * if nothing answers at all.
 */
@ExtendWith(StackLeakCheck.class)
class MartianTest {
    private static final int LOOPBACK = 0x7f000001;
    private static final byte[] DATA = Raw6Peer.pattern(24, 1);
    private final Raw6Peer peer = new Raw6Peer().learnPeer();
    private final StackStats stats = peer.stack.stats();

    @AfterEach
    void close() {
        peer.close();
    }

    private int answers() {
        try (Raw6Peer.Frames out = peer.drain()) {
            return out.size();
        }
    }

    private void ping4(int src, int dst) {
        peer.inputIp(ipv4(src, dst, Ipv4.PROTO_ICMP, icmpv4(Icmpv4.ECHO_REQUEST, 0, 0x0001_0001, DATA)));
    }

    private void ping6(IpAddress src, IpAddress dst) {
        peer.inputIp(ipv6(src, dst, Ipv6.ICMPV6, 64, icmpv6(src, dst, Icmpv6.ECHO_REQUEST, 0, 0x0001_0001, DATA)));
    }

    @Test
    @DisplayName("RFC 1122 §3.2.1.3 (g): a datagram to 127/8 from the link is dropped, not answered from 127.x")
    void loopbackDestinationFromTheLinkIsDropped() {
        ping4(PEER_IP, STACK_IP);
        assertThat(answers()).as("control: a ping to our address").isEqualTo(1);

        ping4(PEER_IP, LOOPBACK);
        ping4(PEER_IP, 0x7f000102);

        assertThat(answers()).isZero();
        assertThat(stats.dropIpMartian).isEqualTo(2);
    }

    @Test
    @DisplayName("A datagram from the link with our own address as source is dropped (a spoof or a loop)")
    void ourOwnAddressAsSourceIsDropped() {
        ping4(STACK_IP, STACK_IP);
        ping6(STACK6, STACK6);
        ping6(peer.stackLinkLocal, STACK6);

        assertThat(answers()).isZero();
        assertThat(stats.dropIpMartian).isEqualTo(1);
        assertThat(stats.dropIp6Martian).isEqualTo(2);

        ping6(PEER6, STACK6);
        assertThat(answers()).as("control: a ping from the peer").isEqualTo(1);
    }

    @Test
    @DisplayName("RFC 4291 §2.5.3: ::1 never comes from a link")
    void ipv6LoopbackFromTheLinkIsDropped() {
        ping6(PEER6, IpAddress.of(0, 1));
        assertThat(answers()).isZero();
        assertThat(stats.dropIp6Malformed).isEqualTo(1);
    }

    private void arp(int op, long sha, int spa, int tpa) {
        ByteBuf f = Unpooled.buffer(Ethernet.HEADER_LENGTH + Arp.LENGTH);
        f.writerIndex(Ethernet.HEADER_LENGTH + Arp.LENGTH);
        Ethernet.write(f, 0, MacAddress.BROADCAST.toLong(), sha, Ethernet.TYPE_ARP);
        Arp.write(f, Ethernet.HEADER_LENGTH, op, sha, spa, 0, tpa);
        peer.inputFrame(f);
    }

    @Test
    @DisplayName("RFC 1122 §3.2.1.3 (g): ARP for 127/8 is not answered, and no sender may claim 127/8 or our address")
    void arpForOrFromMartiansIsIgnored() {
        arp(Arp.OP_REQUEST, peer.peerMac, PEER_IP, STACK_IP);
        assertThat(answers()).as("control: ARP for our address").isEqualTo(1);

        arp(Arp.OP_REQUEST, peer.peerMac, PEER_IP, LOOPBACK);
        assertThat(answers()).as("ARP for 127.0.0.1").isZero();

        // A sender claiming our own address or 127/8 teaches nothing: our ping reply still goes to the peer's MAC.
        long attacker = 0x02_66_66_66_66_66L;
        arp(Arp.OP_REQUEST, attacker, LOOPBACK, STACK_IP);
        arp(Arp.OP_REQUEST, attacker, STACK_IP, STACK_IP);
        assertThat(answers()).isZero();
        assertThat(stats.dropArpMartian).isEqualTo(2);
    }
}
