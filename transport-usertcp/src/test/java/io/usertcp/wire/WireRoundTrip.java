package io.usertcp.wire;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import org.junit.jupiter.api.AfterEach;

import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Real frames for the round-trip tests, as hex (Ethernet first, no virtio header), and buffers released after
 * each test. The frames were built from the RFC layouts and each was checked with Wireshark's dissectors: every
 * IPv4 header, ICMP, ICMPv6 and UDP checksum in them is correct, and they decode as named.
 * Addresses: 52:54:00:12:34:56 and 02:00:5e:10:00:01; 10.0.0.1, 10.0.0.2, 192.0.2.254 (a router);
 * 2001:db8::1, 2001:db8::2, fe80::5054:ff:fe12:3456, fe80::200:5eff:fe10:1.
 */
abstract class WireRoundTrip {
    static final int L3 = Ethernet.HEADER_LENGTH;
    /** Byte every emit buffer starts filled with, so that a field an emitter forgets shows. */
    static final int JUNK = 0xa5;

    /** Who has 10.0.0.2? Tell 10.0.0.1 (broadcast). */
    static final String ARP_REQUEST =
            "ffffffffffff525400123456080600010800060400015254001234560a0000010000000000000a000002";

    /** 10.0.0.2 is at 02:00:5e:10:00:01. */
    static final String ARP_REPLY =
            "52540012345602005e1000010806000108000604000202005e1000010a0000025254001234560a000001";

    /** ICMP echo request id 0x1234 seq 7, 16 data bytes, DF. */
    static final String ICMP4_ECHO =
            "02005e10000152540012345608004500002c1c46400040010a890a0000010a0000020800875e12340007616263646566"
            + "67683031323334353637";

    /** UDP 40000 → 53 over IPv4 with a 4-byte router alert option (IHL 6), TOS 0xb8, DF clear. */
    static final String UDP4_OPTIONS =
            "02005e100001525400123456080046b80029beef0000401112160a0000010a000002940400009c400035001125fd6865"
            + "6c6c6f20756470";

    /** A non-first fragment of UDP: MF, offset 1480, TTL 63, id 0x4242. */
    static final String IPV4_FRAGMENT =
            "02005e10000152540012345608004500002c424220b93f1104c40a0000010a0000024646464646464646464646464646"
            + "46464646464646464646";

    /** Fragmentation needed, next-hop MTU 1400, quoting an IPv4/UDP header and 8 bytes. */
    static final String ICMP4_FRAG_NEEDED =
            "02005e10000152540012345608004500003800000000ff01eec4c00002fe0a00000203042d3a00000578450000440101"
            + "400040116d9d0a000002c00002091388177000309f21";

    /** Time to live exceeded in transit, quoting the same datagram. */
    static final String ICMP4_TIME_EXCEEDED =
            "02005e10000152540012345608004500003800000000ff01eec4c00002fe0a0000020b002ab600000000450000440101"
            + "400040116d9d0a000002c00002091388177000309f21";

    /** ICMPv6 echo request id 0x99 seq 3, 13 data bytes. */
    static final String ICMP6_ECHO =
            "02005e10000152540012345686dd6000000000153a4020010db800000000000000000000000120010db8000000000000"
            + "0000000000028000fda20099000370696e67206461746120313233";

    /** Packet too big, MTU 1280, quoting a whole IPv6/UDP packet. */
    static final String ICMP6_TOO_BIG =
            "02005e10000152540012345686dd6000000000603a4020010db800000000000000000000000120010db8000000000000"
            + "00000000000202002bc100000500600000000030114020010db800000000000000000000000220010db8000100000000"
            + "000000000009138817700030fb9a79797979797979797979797979797979797979797979797979797979797979797979"
            + "797979797979";

    /** Destination unreachable, port unreachable, quoting it. */
    static final String ICMP6_UNREACHABLE =
            "02005e10000152540012345686dd6000000000603a4020010db800000000000000000000000120010db8000000000000"
            + "000000000002010431bd00000000600000000030114020010db800000000000000000000000220010db8000100000000"
            + "000000000009138817700030fb9a79797979797979797979797979797979797979797979797979797979797979797979"
            + "797979797979";

    /** Time exceeded, hop limit exceeded in transit, quoting it. */
    static final String ICMP6_TIME_EXCEEDED =
            "02005e10000152540012345686dd6000000000603a4020010db800000000000000000000000120010db8000000000000"
            + "00000000000203002fc100000000600000000030114020010db800000000000000000000000220010db8000100000000"
            + "000000000009138817700030fb9a79797979797979797979797979797979797979797979797979797979797979797979"
            + "797979797979";

    /** Parameter problem, unrecognized next header, pointer 40, quoting it. */
    static final String ICMP6_PARAM_PROBLEM =
            "02005e10000152540012345686dd6000000000603a4020010db800000000000000000000000120010db8000000000000"
            + "00000000000204012e9800000028600000000030114020010db800000000000000000000000220010db8000100000000"
            + "000000000009138817700030fb9a79797979797979797979797979797979797979797979797979797979797979797979"
            + "797979797979";

    /** Neighbor solicitation for fe80::200:5eff:fe10:1 to its solicited-node group, with the source link-layer option. */
    static final String NS =
            "3333ff10000152540012345686dd6000000000203afffe80000000000000505400fffe123456ff020000000000000000"
            + "0001ff1000018700130200000000fe8000000000000002005efffe1000010101525400123456";

    /** Solicited neighbor advertisement (S, O) with the target link-layer option. */
    static final String NA =
            "52540012345602005e10000186dd6000000000203afffe8000000000000002005efffe100001fe800000000000005054"
            + "00fffe1234568800783060000000fe8000000000000002005efffe100001020102005e100001";

    /** Router solicitation to ff02::2 with the source link-layer option. */
    static final String RS =
            "33330000000252540012345686dd6000000000103afffe80000000000000505400fffe123456ff020000000000000000"
            + "000000000002850071b5000000000101525400123456";

    /** Router advertisement: hop limit 64, O, lifetime 1800 s, reachable 30000 ms, retrans 1000 ms; source link-layer, MTU 1500 and prefix 2001:db8::/64 (L, A; valid 2592000 s, preferred 604800 s) options. */
    static final String RA =
            "33330000000102005e10000186dd6000000000403afffe8000000000000002005efffe100001ff020000000000000000"
            + "0000000000018600b7704040070800007530000003e8010102005e10000105010000000005dc030440c000278d000009"
            + "3a800000000020010db8000000000000000000000000";

    /** Redirect: first hop fe80::1 for 2001:db8:5::1, with the target link-layer option. */
    static final String REDIRECT =
            "52540012345602005e10000186dd6000000000303afffe8000000000000002005efffe100001fe800000000000005054"
            + "00fffe1234568900087200000000fe80000000000000000000000000000120010db80005000000000000000000010201"
            + "02005e100001";

    /** IPv6 Fragment header: next header UDP, offset 1232, M, id 0xdeadbeef, 16 bytes of data. */
    static final String IPV6_FRAGMENT =
            "02005e10000152540012345686dd6000000000182c4020010db800000000000000000000000120010db8000000000000"
            + "000000000002110004d1deadbeef5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a";

    /** Traffic class 0x2e, flow label 0x12345; Hop-by-Hop (router alert, PadN) and Destination Options (a skippable option 0x1e, PadN) before UDP 1234 → 5678. */
    static final String IPV6_EXT_UDP =
            "02005e10000152540012345686dd62e123450028004020010db800000000000000000000000120010db8000000000000"
            + "0000000000023c0005020000010011011e0461626364010600000000000004d2162e00102a856f76657220736978";

    /** A Routing header (type 0, segments left 0) before the same UDP datagram. */
    static final String IPV6_ROUTING_UDP =
            "02005e10000152540012345686dd6000000000182b4020010db800000000000000000000000120010db8000000000000"
            + "000000000002110000000000000004d2162e00102a856f76657220736978";

    private final List<ByteBuf> buffers = new ArrayList<>();

    /** A buffer holding the bytes of {@code hex}. */
    ByteBuf frame(String hex) {
        return track(Unpooled.wrappedBuffer(ByteBufUtil.decodeHexDump(hex)));
    }

    /** A buffer of {@code n} bytes, all {@link #JUNK}, writer index at the end. */
    ByteBuf junk(int n) {
        ByteBuf b = Unpooled.buffer(n, n);
        for (int i = 0; i < n; i++) {
            b.writeByte(JUNK);
        }
        return track(b);
    }

    private ByteBuf track(ByteBuf b) {
        buffers.add(b);
        return b;
    }

    @AfterEach
    void releaseBuffers() {
        for (ByteBuf b : buffers) {
            b.release();
        }
        buffers.clear();
    }

    /** Asserts that {@code len} bytes of {@code actual} from {@code ao} equal those of {@code expected} from {@code eo}. */
    static void assertSameBytes(ByteBuf actual, int ao, ByteBuf expected, int eo, int len) {
        assertThat(ByteBufUtil.hexDump(actual, ao, len)).isEqualTo(ByteBufUtil.hexDump(expected, eo, len));
    }
}
