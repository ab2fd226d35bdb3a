package io.usertcp.stack;

import io.usertcp.stats.StackStats;

import io.netty.buffer.ByteBuf;
import io.usertcp.wire.Checksum;
import io.usertcp.wire.Ethernet;
import io.usertcp.wire.Icmpv4;
import io.usertcp.wire.Icmpv6;
import io.usertcp.wire.IpAddress;
import io.usertcp.wire.Ipv4;
import io.usertcp.wire.Ipv6;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import static io.usertcp.stack.Raw6Peer.ALL_NODES;
import static io.usertcp.stack.Raw6Peer.IP;
import static io.usertcp.stack.Raw6Peer.L4;
import static io.usertcp.stack.Raw6Peer.PEER6;
import static io.usertcp.stack.Raw6Peer.PEER_IP;
import static io.usertcp.stack.Raw6Peer.PREFIX_HI;
import static io.usertcp.stack.Raw6Peer.STACK6;
import static io.usertcp.stack.Raw6Peer.STACK_IP;
import static io.usertcp.stack.Raw6Peer.concat;
import static io.usertcp.stack.Raw6Peer.icmpv6;
import static io.usertcp.stack.Raw6Peer.ipv6;
import static io.usertcp.stack.Raw6Peer.udp;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * IPv6 input (RFC 8200, RFC 4291) and the ICMPv6 errors it draws (RFC 4443 §2.4, §3): what is dropped, what is
 * answered with which error pointing where, and when no error may be sent.
 */
@ExtendWith(StackLeakCheck.class)
class Ipv6InputTest {
    private static final long SEC = 1_000_000_000L;

    private final Raw6Peer peer = new Raw6Peer().learnPeer();
    private final StackStats stats = peer.stack.stats();

    @AfterEach
    void close() {
        peer.close();
    }

    private static byte[] echoRequest(IpAddress src, IpAddress dst) {
        return icmpv6(src, dst, Icmpv6.ECHO_REQUEST, 0, 0x4242_0001, "ping".getBytes());
    }

    /** A packet as bytes (for comparing with the quote of an error); releases {@code ip}. */
    static byte[] bytes(ByteBuf ip) {
        try {
            byte[] b = new byte[ip.readableBytes()];
            ip.getBytes(ip.readerIndex(), b);
            return b;
        } finally {
            ip.release();
        }
    }

    private void send(byte[] packet) {
        peer.inputIp(io.netty.buffer.Unpooled.wrappedBuffer(packet.clone()));
    }

    private void send(byte[] packet, long dstMac) {
        peer.inputIp(io.netty.buffer.Unpooled.wrappedBuffer(packet.clone()), dstMac);
    }

    private void assertNothingSent() {
        try (Raw6Peer.Frames out = peer.drain()) {
            assertThat(out).isEmpty();
        }
    }

    /** Destination options header: next header, 8 bytes long, holding one option of {@code type} with 4 data bytes. */
    private static byte[] destinationOptions(int nextHeader, int optionType) {
        return new byte[] {(byte) nextHeader, 0, (byte) optionType, 4, 0, 0, 0, 0};
    }

    /** A type-0 routing header with one address (24 bytes). */
    private static byte[] routingType0(int nextHeader, int segmentsLeft) {
        byte[] h = new byte[24];
        h[0] = (byte) nextHeader;
        h[1] = 2;
        h[2] = 0;
        h[3] = (byte) segmentsLeft;
        Raw6Peer.putAddress(h, 8, IpAddress.of(PREFIX_HI, 0x99));
        return h;
    }

    /**
     * Checks that {@code f} is an ICMPv6 error from the stack to the peer with this type, code and 32-bit word,
     * a valid checksum, quoting {@code offending} whole.
     */
    private void assertError(ByteBuf f, IpAddress from, int type, int code, int word, byte[] offending) {
        assertThat(Ethernet.dst(f, 0)).isEqualTo(peer.peerMac);
        assertThat(Ipv6.nextHeader(f, IP)).isEqualTo(Ipv6.ICMPV6);
        IpAddress src = IpAddress.of(Ipv6.srcHi(f, IP), Ipv6.srcLo(f, IP));
        assertThat(src).as("error source (a unicast address of ours)").isEqualTo(from);
        assertThat(IpAddress.of(Ipv6.dstHi(f, IP), Ipv6.dstLo(f, IP))).isEqualTo(PEER6);
        int len = Ipv6.payloadLength(f, IP);
        assertThat(Checksum.fold(Checksum.add(f, L4, len,
                Checksum.ipv6Pseudo(src.hi(), src.lo(), PEER6.hi(), PEER6.lo(), Ipv6.ICMPV6, len))))
                .as("ICMPv6 checksum").isEqualTo(0xffff);
        assertThat(Icmpv6.type(f, L4)).as("type").isEqualTo(type);
        assertThat(Icmpv6.code(f, L4)).as("code").isEqualTo(code);
        assertThat(Icmpv6.word(f, L4)).as("pointer / unused word").isEqualTo(word);
        byte[] quote = new byte[len - Icmpv6.HEADER_LENGTH];
        f.getBytes(L4 + Icmpv6.HEADER_LENGTH, quote);
        assertThat(quote).as("the offending packet, quoted whole").isEqualTo(offending);
    }

    private void assertOneError(IpAddress from, int type, int code, int word, byte[] offending) {
        try (Raw6Peer.Frames out = peer.drain()) {
            assertThat(out).hasSize(1);
            assertError(out.get(0), from, type, code, word, offending);
        }
    }

    // ------------------------------------------------------------------ addresses

    @Test
    @DisplayName("RFC 4291 §2.5.5.2: IPv4-mapped addresses never appear on the wire: source or destination, dropped")
    void v4MappedAddressesAreDropped() {
        IpAddress mappedPeer = IpAddress.v4(PEER_IP);
        send(bytes(ipv6(mappedPeer, STACK6, Ipv6.ICMPV6, 64, echoRequest(mappedPeer, STACK6))));
        IpAddress mappedStack = IpAddress.v4(STACK_IP);
        send(bytes(ipv6(PEER6, mappedStack, Ipv6.ICMPV6, 64, echoRequest(PEER6, mappedStack))), peer.stackMac);
        assertNothingSent();
        assertThat(stats.dropIp6Malformed).isEqualTo(2);
        assertThat(stats.icmp6EchoReplies).isZero();
    }

    @Test
    @DisplayName("RFC 4291 §2.7: a multicast source address is invalid: dropped, no reply, no error")
    void multicastSourceIsDropped() {
        send(bytes(ipv6(ALL_NODES, STACK6, Ipv6.ICMPV6, 64, echoRequest(ALL_NODES, STACK6))), peer.stackMac);
        send(bytes(ipv6(ALL_NODES, STACK6, Ipv6.UDP, 64, udp(ALL_NODES, STACK6, 1, 9, new byte[4], true))),
                peer.stackMac);
        assertNothingSent();
        assertThat(stats.dropIp6Malformed).isEqualTo(2);
    }

    @Test
    @DisplayName("RFC 8200: a packet for an address (or a group) that is not ours is dropped and counted")
    void packetForAnotherAddressIsDropped() {
        IpAddress other = IpAddress.of(PREFIX_HI, 0x99);
        send(bytes(ipv6(PEER6, other, Ipv6.ICMPV6, 64, echoRequest(PEER6, other))), peer.stackMac);
        IpAddress otherGroup = Raw6Peer.solicitedNode(other);
        send(bytes(ipv6(PEER6, otherGroup, Ipv6.ICMPV6, 64, echoRequest(PEER6, otherGroup))));
        assertNothingSent();
        assertThat(stats.dropIp6NotForUs).isEqualTo(2);
    }

    // ------------------------------------------------------------------ lengths

    @Test
    @DisplayName("RFC 8200 §3: a payload length beyond the frame (truncation) is dropped; a short header too")
    void truncatedPacketsAreDropped() {
        byte[] p = bytes(ipv6(PEER6, STACK6, Ipv6.ICMPV6, 64, echoRequest(PEER6, STACK6)));
        Raw6Peer.putShort(p, Ipv6.PAYLOAD_LENGTH, p.length - Ipv6.HEADER_LENGTH + 1);
        send(p);
        send(Raw6Peer.slice(p, 0, 30), peer.stackMac);
        assertNothingSent();
        assertThat(stats.dropIp6Malformed).isEqualTo(2);
    }

    @Test
    @DisplayName("RFC 8200 §3: bytes after the payload length are link padding, ignored")
    void bytesBeyondThePayloadLengthAreIgnored() {
        byte[] p = concat(bytes(ipv6(PEER6, STACK6, Ipv6.ICMPV6, 64, echoRequest(PEER6, STACK6))), new byte[10]);
        send(p);
        try (Raw6Peer.Frames out = peer.drain()) {
            assertThat(out).hasSize(1);
            assertThat(Icmpv6.type(out.get(0), L4)).isEqualTo(Icmpv6.ECHO_REPLY);
            assertThat(Ipv6.payloadLength(out.get(0), IP)).as("the padding is not echoed").isEqualTo(12);
        }
    }

    // ------------------------------------------------------------------ errors

    @Test
    @DisplayName("RFC 8200 §4, RFC 4443 §3.4: an unknown next header draws Parameter Problem code 1 pointing at it (6)")
    void unknownNextHeaderDrawsParameterProblem() {
        byte[] p = bytes(ipv6(PEER6, STACK6, 253, 64, new byte[16]));
        send(p);
        assertOneError(STACK6, Icmpv6.PARAMETER_PROBLEM, Icmpv6.UNRECOGNIZED_NEXT_HEADER, 6, p);
        assertThat(stats.dropIp6UnknownProtocol).isEqualTo(1);
        assertThat(stats.icmp6ErrorsOut).isEqualTo(1);
    }

    @Test
    @DisplayName("RFC 8200 §4: behind a destination options header the pointer is that header's next header field (40)")
    void unknownNextHeaderAfterAnExtensionHeaderPointsIntoIt() {
        byte[] p = bytes(ipv6(PEER6, STACK6, Ipv6.DESTINATION_OPTIONS, 64,
                concat(destinationOptions(253, 0x00 /* skippable */), new byte[8])));
        send(p);
        assertOneError(STACK6, Icmpv6.PARAMETER_PROBLEM, Icmpv6.UNRECOGNIZED_NEXT_HEADER, 40, p);
    }

    @Test
    @DisplayName("RFC 8200 §4.4, RFC 5095: routing type 0 with segments left > 0 draws Parameter Problem code 0 at the type (42)")
    void routingHeaderType0IsRefused() {
        byte[] p = bytes(ipv6(PEER6, STACK6, Ipv6.ROUTING, 64, routingType0(Ipv6.NO_NEXT_HEADER, 1)));
        send(p);
        assertOneError(STACK6, Icmpv6.PARAMETER_PROBLEM, Icmpv6.ERRONEOUS_HEADER, 42, p);
        assertThat(stats.dropIp6Malformed).isEqualTo(1);
    }

    @Test
    @DisplayName("RFC 8200 §4.4: an unknown routing header with segments left 0 is skipped")
    void routingHeaderWithNoSegmentsLeftIsIgnored() {
        send(bytes(ipv6(PEER6, STACK6, Ipv6.ROUTING, 64,
                concat(routingType0(Ipv6.ICMPV6, 0), echoRequest(PEER6, STACK6)))));
        try (Raw6Peer.Frames out = peer.drain()) {
            assertThat(out).hasSize(1);
            assertThat(Icmpv6.type(out.get(0), L4)).isEqualTo(Icmpv6.ECHO_REPLY);
        }
    }

    @Test
    @DisplayName("RFC 4443 §3.1: UDP to a closed port draws Destination Unreachable code 4 quoting the datagram")
    void udpToClosedPortDrawsPortUnreachable() {
        byte[] p = bytes(ipv6(PEER6, STACK6, Ipv6.UDP, 64, udp(PEER6, STACK6, 6000, 9, "knock".getBytes(), true)));
        send(p);
        assertOneError(STACK6, Icmpv6.DEST_UNREACHABLE, Icmpv6.PORT_UNREACHABLE, 0, p);
        assertThat(stats.dropUdpNoPort).isEqualTo(1);
    }

    @Test
    @DisplayName("RFC 4443 §2.4 (c): an error quotes as much of the packet as fits in 1280 bytes")
    void errorQuoteIsCutToTheMinimumMtu() {
        byte[] p = bytes(ipv6(PEER6, STACK6, Ipv6.UDP, 64, udp(PEER6, STACK6, 6000, 9, new byte[1400], true)));
        send(p);
        try (Raw6Peer.Frames out = peer.drain()) {
            assertThat(out).hasSize(1);
            ByteBuf f = out.get(0);
            assertThat(f.readableBytes() - IP).as("the whole error packet").isEqualTo(1280);
            byte[] quote = new byte[1280 - 48];
            f.getBytes(L4 + 8, quote);
            assertThat(quote).isEqualTo(Raw6Peer.slice(p, 0, quote.length));
        }
    }

    @Test
    @DisplayName("RFC 4443 §2.4 (e.3): no error about a packet to a multicast address (unknown next header, bad routing header)")
    void noErrorForMulticastDestination() {
        send(bytes(ipv6(PEER6, ALL_NODES, 253, 64, new byte[16])));
        send(bytes(ipv6(PEER6, ALL_NODES, Ipv6.ROUTING, 64, routingType0(Ipv6.NO_NEXT_HEADER, 1))));
        send(bytes(ipv6(PEER6, ALL_NODES, Ipv6.DESTINATION_OPTIONS, 64,
                concat(destinationOptions(Ipv6.NO_NEXT_HEADER, 0xC0), new byte[8]))));
        assertNothingSent();
        assertThat(stats.dropIp6UnknownProtocol).isEqualTo(1);
        assertThat(stats.dropIp6Malformed).isEqualTo(2);
        assertThat(stats.icmp6ErrorsOut).isZero();
    }

    @Test
    @DisplayName("RFC 8200 §4.2, RFC 4443 §2.4 (e.3): an unrecognized option of action 10 is reported even to multicast")
    void unrecognizedOptionActionTenIsReportedEvenForMulticast() {
        byte[] unicast = bytes(ipv6(PEER6, STACK6, Ipv6.DESTINATION_OPTIONS, 64,
                concat(destinationOptions(Ipv6.NO_NEXT_HEADER, 0xC0), new byte[8])));
        send(unicast);
        assertOneError(STACK6, Icmpv6.PARAMETER_PROBLEM, Icmpv6.UNRECOGNIZED_OPTION, 42, unicast);
        byte[] multicast = bytes(ipv6(PEER6, ALL_NODES, Ipv6.DESTINATION_OPTIONS, 64,
                concat(destinationOptions(Ipv6.NO_NEXT_HEADER, 0x80), new byte[8])));
        send(multicast);
        // Sent from a unicast address of ours (RFC 4443 §2.2), never from the group.
        assertOneError(STACK6, Icmpv6.PARAMETER_PROBLEM, Icmpv6.UNRECOGNIZED_OPTION, 42, multicast);
        // Action 01: discard silently.
        send(bytes(ipv6(PEER6, STACK6, Ipv6.DESTINATION_OPTIONS, 64,
                concat(destinationOptions(Ipv6.NO_NEXT_HEADER, 0x40), new byte[8]))));
        assertNothingSent();
    }

    @Test
    @DisplayName("RFC 4443 §2.4 (e.1): no error about an ICMPv6 error message, even behind extension headers")
    void noErrorAboutAnIcmpv6Error() {
        // An ICMPv6 error (destination unreachable quoting some packet) behind a destination options header with
        // an option whose action (11) asks for a Parameter Problem.
        byte[] error = icmpv6(PEER6, STACK6, Icmpv6.DEST_UNREACHABLE, 0, 0,
                bytes(ipv6(STACK6, IpAddress.of(PREFIX_HI, 0x99), Ipv6.UDP, 64, new byte[8])));
        send(bytes(ipv6(PEER6, STACK6, Ipv6.DESTINATION_OPTIONS, 64,
                concat(destinationOptions(Ipv6.ICMPV6, 0xC0), error))));
        // The same error behind a routing header of type 0 with segments left.
        send(bytes(ipv6(PEER6, STACK6, Ipv6.ROUTING, 64, concat(routingType0(Ipv6.ICMPV6, 1), error))));
        assertNothingSent();
        assertThat(stats.icmp6ErrorsOut).isZero();

        // An informational message in the same place does draw the error: the rule is about errors only.
        byte[] echo = bytes(ipv6(PEER6, STACK6, Ipv6.DESTINATION_OPTIONS, 64,
                concat(destinationOptions(Ipv6.ICMPV6, 0xC0), echoRequest(PEER6, STACK6))));
        send(echo);
        assertOneError(STACK6, Icmpv6.PARAMETER_PROBLEM, Icmpv6.UNRECOGNIZED_OPTION, 42, echo);
    }

    @Test
    @DisplayName("RFC 4443 §2.4 (e.1): no error about a fragment of an ICMPv6 error message")
    void noErrorAboutAFragmentOfAnIcmpv6Error() {
        byte[] error = icmpv6(PEER6, STACK6, Icmpv6.DEST_UNREACHABLE, 0, 0,
                bytes(ipv6(STACK6, IpAddress.of(PREFIX_HI, 0x99), Ipv6.UDP, 64, new byte[40])));
        // A first fragment (M set) whose length is not a multiple of 8: RFC 8200 §4.5 would answer it with a
        // Parameter Problem code 0, but it carries an ICMPv6 error.
        byte[] frag = {(byte) Ipv6.ICMPV6, 0, 0, 1, 0, 0, 0x12, 0x34};
        send(bytes(ipv6(PEER6, STACK6, Ipv6.FRAGMENT, 64, concat(frag, Raw6Peer.slice(error, 0, 61)))));
        // A first fragment that never gets the rest: RFC 8200 §4.5 would send Time Exceeded code 1 after 60 s.
        frag[7] = 0x35;
        send(bytes(ipv6(PEER6, STACK6, Ipv6.FRAGMENT, 64, concat(frag, Raw6Peer.slice(error, 0, 56)))));
        peer.advance(61 * SEC);
        assertNothingSent();
        assertThat(stats.icmp6ErrorsOut).isZero();
        assertThat(stats.ip6FragTimeouts).as("the datagram did time out").isEqualTo(1);
    }

    @Test
    @DisplayName("RFC 8200 §4.5: a first fragment that never completes draws Time Exceeded code 1 after 60 s")
    void reassemblyTimeoutDrawsTimeExceeded() {
        byte[] udp = udp(PEER6, STACK6, 6000, 9, new byte[100], true);
        byte[] frag = {(byte) Ipv6.UDP, 0, 0, 1, 0, 0, 0x56, 0x78};
        byte[] p = bytes(ipv6(PEER6, STACK6, Ipv6.FRAGMENT, 64, concat(frag, Raw6Peer.slice(udp, 0, 56))));
        send(p);
        peer.advance(59 * SEC);
        assertNothingSent();
        peer.advance(2 * SEC);
        assertOneError(STACK6, Icmpv6.TIME_EXCEEDED, Icmpv6.REASSEMBLY, 0, p);
    }

    @Test
    @DisplayName("RFC 8200 §4.3: a hop-by-hop options header right after the fixed header is processed (skippable option)")
    void hopByHopOptionsAreSkipped() {
        send(bytes(ipv6(PEER6, STACK6, Ipv6.HOP_BY_HOP, 64,
                concat(destinationOptions(Ipv6.ICMPV6, 0x1e), echoRequest(PEER6, STACK6)))));
        try (Raw6Peer.Frames out = peer.drain()) {
            assertThat(out).hasSize(1);
            assertThat(Icmpv6.type(out.get(0), L4)).isEqualTo(Icmpv6.ECHO_REPLY);
        }
    }

    @Test
    @DisplayName("RFC 8200 §4.1, RFC 2460 §4: a hop-by-hop header anywhere else draws Parameter Problem code 1 at the field naming it")
    void hopByHopNotFirstIsRefused() {
        byte[] p = bytes(ipv6(PEER6, STACK6, Ipv6.DESTINATION_OPTIONS, 64,
                concat(destinationOptions(Ipv6.HOP_BY_HOP, 0x1e), destinationOptions(Ipv6.NO_NEXT_HEADER, 0x1e))));
        send(p);
        assertOneError(STACK6, Icmpv6.PARAMETER_PROBLEM, Icmpv6.UNRECOGNIZED_NEXT_HEADER, 40, p);
    }

    @Test
    @DisplayName("RFC 4443 §2.4 (e.4, e.5): no error about a packet that came as a link-layer broadcast or multicast")
    void noErrorForLinkLayerBroadcastOrMulticast() {
        byte[] udp = bytes(ipv6(PEER6, STACK6, Ipv6.UDP, 64, udp(PEER6, STACK6, 6000, 9, new byte[4], true)));
        send(udp, 0xffff_ffff_ffffL);
        send(udp, 0x3333_0000_0001L);
        send(bytes(ipv6(PEER6, STACK6, 253, 64, new byte[16])), 0xffff_ffff_ffffL);
        send(bytes(ipv6(PEER6, STACK6, Ipv6.ROUTING, 64, routingType0(Ipv6.NO_NEXT_HEADER, 1))), 0x3333_0000_0001L);
        assertNothingSent();
        assertThat(stats.icmp6ErrorsOut).isZero();
        assertThat(stats.dropUdpNoPort).as("the datagrams did reach UDP").isEqualTo(2);
        // The same datagram sent to the stack's own MAC draws the error.
        send(udp);
        assertOneError(STACK6, Icmpv6.DEST_UNREACHABLE, Icmpv6.PORT_UNREACHABLE, 0, udp);
    }

    /** Two fragments (the first carrying {@code firstLen} bytes, a multiple of 8) of an upper-layer payload. */
    private static byte[][] twoFragments(int nextHeader, byte[] payload, int firstLen, int id) {
        byte[] f1 = {(byte) nextHeader, 0, 0, 1, 0, 0, 0, 0};
        byte[] f2 = {(byte) nextHeader, 0, (byte) (firstLen >>> 8), (byte) firstLen, 0, 0, 0, 0};
        Raw6Peer.putInt(f1, 4, id);
        Raw6Peer.putInt(f2, 4, id);
        return new byte[][] {concat(f1, Raw6Peer.slice(payload, 0, firstLen)),
            concat(f2, Raw6Peer.slice(payload, firstLen, payload.length - firstLen))};
    }

    @Test
    @DisplayName("RFC 4443 §2.4 (e.3): reassembly keeps a multicast destination multicast: no error about it")
    void noErrorForFragmentedPacketToMulticast() throws Exception {
        io.usertcp.udp.UdpSocket s = peer.stack.udp().open();
        try {
            s.bind(IpAddress.V6_ANY, 5000);
            byte[] u = udp(PEER6, ALL_NODES, 6000, 9, new byte[100], true);
            for (byte[] fr : twoFragments(Ipv6.UDP, u, 56, 0x1111)) {
                send(bytes(ipv6(PEER6, ALL_NODES, Ipv6.FRAGMENT, 64, fr)));
            }
            for (byte[] fr : twoFragments(253, new byte[100], 56, 0x2222)) {
                send(bytes(ipv6(PEER6, ALL_NODES, Ipv6.FRAGMENT, 64, fr)));
            }
            // Multicast UDP is not taken unfragmented; fragmented, it is not either.
            byte[] u5000 = udp(PEER6, ALL_NODES, 6000, 5000, new byte[100], true);
            for (byte[] fr : twoFragments(Ipv6.UDP, u5000, 56, 0x3333)) {
                send(bytes(ipv6(PEER6, ALL_NODES, Ipv6.FRAGMENT, 64, fr)));
            }
            assertThat(stats.ip6Reassembled).isEqualTo(3);
            assertNothingSent();
            assertThat(stats.icmp6ErrorsOut).isZero();
            assertThat(s.queuedDatagrams()).isZero();
        } finally {
            s.close();
        }
    }

    // ------------------------------------------------------------------ rate limit

    private int errorsOut() {
        try (Raw6Peer.Frames out = peer.drain()) {
            int n = 0;
            for (ByteBuf f : out) {
                int type = Ethernet.type(f, 0);
                if (type == Ethernet.TYPE_IPV6 && Ipv6.nextHeader(f, IP) == Ipv6.ICMPV6
                        && Icmpv6.isError(Icmpv6.type(f, L4))) {
                    n++;
                } else if (type == Ethernet.TYPE_IPV4 && Ipv4.protocol(f, IP) == Ipv4.PROTO_ICMP
                        && Icmpv4.isError(f.getUnsignedByte(IP + 20))) {
                    n++;
                }
            }
            return n;
        }
    }

    @Test
    @DisplayName("RFC 4443 §2.4 (f): ICMPv6 errors are rate-limited (a burst of 50, shared with ICMPv4)")
    void errorsAreRateLimited() {
        for (int i = 0; i < 500; i++) {
            send(bytes(ipv6(PEER6, STACK6, Ipv6.UDP, 64, udp(PEER6, STACK6, 6000, 9, new byte[] {(byte) i}, true))));
        }
        assertThat(errorsOut()).as("at most the bucket's burst").isEqualTo(50);
        assertThat(stats.icmpErrorsRateLimited).isEqualTo(450);
        // The bucket is shared with ICMPv4: an IPv4 datagram to a closed port gets nothing either.
        send(bytes(Raw6Peer.ipv4(PEER_IP, STACK_IP, Ipv4.PROTO_UDP,
                udp(IpAddress.v4(PEER_IP), IpAddress.v4(STACK_IP), 6000, 9, new byte[1], true))));
        assertThat(errorsOut()).isZero();
        // A second later the bucket is full again (100/s, held to the burst of 50).
        peer.advance(SEC);
        for (int i = 0; i < 500; i++) {
            send(bytes(ipv6(PEER6, STACK6, Ipv6.UDP, 64, udp(PEER6, STACK6, 6000, 9, new byte[] {(byte) i}, true))));
        }
        assertThat(errorsOut()).isEqualTo(50);
    }
}
