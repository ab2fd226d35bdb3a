package io.usertcp.wire;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import org.junit.jupiter.api.Test;

import java.net.Inet6Address;
import java.net.InetAddress;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** {@link Ipv6}: the fixed header, RFC 5952 text, and the address helpers of RFC 4291 and RFC 2464. */
class Ipv6Test {

    private static long hi(String text) throws Exception {
        return Ipv6.hi(InetAddress.getByName(text).getAddress());
    }

    private static long lo(String text) throws Exception {
        return Ipv6.lo(InetAddress.getByName(text).getAddress());
    }

    private static String text(String address) throws Exception {
        return Ipv6.toString(hi(address), lo(address));
    }

    @Test
    void headerRoundTrip() {
        ByteBuf b = Unpooled.buffer(64);
        try {
            b.writerIndex(64);
            int o = 3;
            Ipv6.writeHeader(b, o, 0xb8, 0xabcde, 1234, Ipv6.TCP, 64,
                    0xfd00_0198_0000_0000L, 2, 0xfe80_0000_0000_0000L, 0x5054_00ff_fe12_3456L);
            assertThat(Ipv6.version(b, o)).isEqualTo(6);
            assertThat(Ipv6.trafficClass(b, o)).isEqualTo(0xb8);
            assertThat(Ipv6.flowLabel(b, o)).isEqualTo(0xabcde);
            assertThat(Ipv6.payloadLength(b, o)).isEqualTo(1234);
            assertThat(Ipv6.nextHeader(b, o)).isEqualTo(Ipv6.TCP);
            assertThat(Ipv6.hopLimit(b, o)).isEqualTo(64);
            assertThat(Ipv6.srcHi(b, o)).isEqualTo(0xfd00_0198_0000_0000L);
            assertThat(Ipv6.srcLo(b, o)).isEqualTo(2);
            assertThat(Ipv6.dstHi(b, o)).isEqualTo(0xfe80_0000_0000_0000L);
            assertThat(Ipv6.dstLo(b, o)).isEqualTo(0x5054_00ff_fe12_3456L);
            // The first four bytes on the wire: version 6, traffic class b8, flow label abcde.
            assertThat(b.getInt(o)).isEqualTo(0x6b8a_bcde);
            assertThat(b.getByte(o - 1)).isZero(); // nothing written before the header
            assertThat(b.getByte(o + Ipv6.HEADER_LENGTH)).isZero(); // nor after it

            // The short writer: flow label 0, high bits of oversize arguments masked off.
            Ipv6.write(b, o, 0x1ff, 40000, Ipv6.ICMPV6, 255, -1L, -1L, 0, 1);
            assertThat(Ipv6.version(b, o)).isEqualTo(6);
            assertThat(Ipv6.trafficClass(b, o)).isEqualTo(0xff);
            assertThat(Ipv6.flowLabel(b, o)).isZero();
            assertThat(Ipv6.payloadLength(b, o)).isEqualTo(40000);
            assertThat(Ipv6.nextHeader(b, o)).isEqualTo(58);
            assertThat(Ipv6.hopLimit(b, o)).isEqualTo(255);
            assertThat(Ipv6.srcHi(b, o)).isEqualTo(-1L);
            assertThat(Ipv6.srcLo(b, o)).isEqualTo(-1L);
            assertThat(Ipv6.dstHi(b, o)).isZero();
            assertThat(Ipv6.dstLo(b, o)).isEqualTo(1);
        } finally {
            b.release();
        }
    }

    @Test
    void constants() {
        assertThat(Ipv6.HEADER_LENGTH).isEqualTo(40);
        assertThat(Ipv6.VERSION).isEqualTo(6);
        assertThat(new int[]{Ipv6.HOP_BY_HOP, Ipv6.TCP, Ipv6.UDP, Ipv6.ROUTING, Ipv6.FRAGMENT, Ipv6.ICMPV6,
                Ipv6.NO_NEXT_HEADER, Ipv6.DESTINATION_OPTIONS}).containsExactly(0, 6, 17, 43, 44, 58, 59, 60);
        assertThat(Ethernet.TYPE_IPV6).isEqualTo(0x86dd);
    }

    @Test
    void rfc5952Text() throws Exception {
        assertThat(Ipv6.toString(0xfd00_0198_0000_0000L, 2)).isEqualTo("fd00:198::2");
        assertThat(Ipv6.toString(0, 0)).isEqualTo("::");
        assertThat(Ipv6.toString(0, 1)).isEqualTo("::1");
        assertThat(Ipv6.toString(0x0001_0000_0000_0000L, 0)).isEqualTo("1::");
        // §4.1 no leading zeros, §4.3 lower case
        assertThat(text("2001:0DB8:000A:00BC:0DEF:0000:0001:0000")).isEqualTo("2001:db8:a:bc:def:0:1:0");
        // §4.2.2: a single zero group is not shortened
        assertThat(text("2001:db8:0:1:1:1:1:1")).isEqualTo("2001:db8:0:1:1:1:1:1");
        // §4.2.1: the longest run; §4.2.3: the first of equally long runs
        assertThat(text("2001:0:0:1:0:0:0:1")).isEqualTo("2001:0:0:1::1");
        assertThat(text("2001:db8:0:0:1:0:0:1")).isEqualTo("2001:db8::1:0:0:1");
        assertThat(text("2001:db8::1")).isEqualTo("2001:db8::1");
        assertThat(text("fe80::5054:ff:fe12:3456")).isEqualTo("fe80::5054:ff:fe12:3456");
        assertThat(text("ff02::1:ff0e:8c6c")).isEqualTo("ff02::1:ff0e:8c6c");
        assertThat(text("1:2:3:4:5:6:7:8")).isEqualTo("1:2:3:4:5:6:7:8");
        assertThat(text("1:0:0:0:0:0:0:8")).isEqualTo("1::8");
        assertThat(text("0:0:1:0:0:0:0:0")).isEqualTo("0:0:1::");
        assertThat(text("0:0:0:1:0:0:0:0")).isEqualTo("0:0:0:1::");
        assertThat(text("0:0:0:1:0:0:0:1")).isEqualTo("::1:0:0:0:1");
        assertThat(text("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"))
                .isEqualTo("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
        // §5: IPv4-mapped addresses in mixed notation
        assertThat(Ipv6.toString(0, 0xffff_c000_0201L)).isEqualTo("::ffff:192.0.2.1");
        assertThat(Ipv6.toString(0, 0xffff_0000_0000L)).isEqualTo("::ffff:0.0.0.0");
    }

    @Test
    void textParsesBackToTheSameAddress() throws Exception {
        Random rnd = new Random(6);
        for (int n = 0; n < 20_000; n++) {
            long hi = 0;
            long lo = 0;
            for (int i = 0; i < 4; i++) { // zero groups are frequent, to exercise the run choice
                hi = (hi << 16) | (rnd.nextInt(3) == 0 ? rnd.nextInt(0x10000) : 0);
                lo = (lo << 16) | (rnd.nextInt(3) == 0 ? rnd.nextInt(0x10000) : 0);
            }
            String s = Ipv6.toString(hi, lo);
            assertThat(s).doesNotContain(":::").isEqualTo(s.toLowerCase());
            assertThat(s.indexOf("::")).isEqualTo(s.lastIndexOf("::")); // at most one "::"
            assertThat(s).doesNotContainPattern("(^|:)0[0-9a-f]"); // no leading zeros
            byte[] back = InetAddress.getByName(s).getAddress();
            if (!Ipv6.isV4Mapped(hi, lo)) {
                assertThat(Ipv6.hi(back)).as(s).isEqualTo(hi);
                assertThat(Ipv6.lo(back)).as(s).isEqualTo(lo);
            }
        }
    }

    @Test
    void predicates() throws Exception {
        assertThat(Ipv6.isMulticast(hi("ff02::1"))).isTrue();
        assertThat(Ipv6.isMulticast(hi("ff05::2"))).isTrue();
        assertThat(Ipv6.isMulticast(hi("fe80::1"))).isFalse();
        assertThat(Ipv6.isMulticast(hi("2001:db8::1"))).isFalse();

        assertThat(Ipv6.isLinkLocal(hi("fe80::1"))).isTrue();
        assertThat(Ipv6.isLinkLocal(hi("febf:ffff::1"))).isTrue(); // fe80::/10 reaches febf
        assertThat(Ipv6.isLinkLocal(hi("fec0::1"))).isFalse();
        assertThat(Ipv6.isLinkLocal(hi("fe7f::1"))).isFalse();
        assertThat(Ipv6.isLinkLocal(hi("ff02::1"))).isFalse();

        assertThat(Ipv6.isUnspecified(0, 0)).isTrue();
        assertThat(Ipv6.isUnspecified(0, 1)).isFalse();
        assertThat(Ipv6.isUnspecified(1L << 63, 0)).isFalse();

        assertThat(Ipv6.isLoopback(0, 1)).isTrue();
        assertThat(Ipv6.isLoopback(0, 0)).isFalse();
        assertThat(Ipv6.isLoopback(1, 1)).isFalse();

        assertThat(Ipv6.isV4Mapped(0, 0xffff_7f00_0001L)).isTrue();
        assertThat(Ipv6.isV4Mapped(0, 0x0000_7f00_0001L)).isFalse(); // the deprecated "compatible" form
        assertThat(Ipv6.isV4Mapped(1, 0xffff_7f00_0001L)).isFalse();
        assertThat(Ipv6.isV4Mapped(0, 0x1_ffff_7f00_0001L)).isFalse();
    }

    @Test
    void solicitedNodeAndMulticastMac() throws Exception {
        // RFC 4291 §2.7.1's example: 4037::01:800:200E:8C6C -> FF02::1:FF0E:8C6C
        long lo = lo("4037::01:800:200E:8C6C");
        assertThat(Ipv6.solicitedNodeHi(lo)).isEqualTo(hi("ff02::1:ff0e:8c6c"));
        assertThat(Ipv6.solicitedNodeLo(lo)).isEqualTo(lo("ff02::1:ff0e:8c6c"));
        assertThat(Ipv6.toString(Ipv6.solicitedNodeHi(lo), Ipv6.solicitedNodeLo(lo))).isEqualTo("ff02::1:ff0e:8c6c");
        assertThat(Ipv6.isSolicitedNode(Ipv6.solicitedNodeHi(lo), Ipv6.solicitedNodeLo(lo))).isTrue();
        assertThat(Ipv6.isSolicitedNode(hi("ff02::1"), lo("ff02::1"))).isFalse();
        assertThat(Ipv6.isSolicitedNode(hi("ff05::1:ff0e:8c6c"), lo("ff05::1:ff0e:8c6c"))).isFalse();
        // Only the low 24 bits count.
        assertThat(Ipv6.solicitedNodeLo(-1L)).isEqualTo(lo("ff02::1:ffff:ffff"));
        assertThat(Ipv6.solicitedNodeLo(0)).isEqualTo(lo("ff02::1:ff00:0"));

        // RFC 2464 §7: 33:33 and the last four octets.
        assertThat(MacAddress.of(Ipv6.multicastMac(hi("ff02::1:ff0e:8c6c"), lo("ff02::1:ff0e:8c6c"))).toString())
                .isEqualTo("33:33:ff:0e:8c:6c");
        assertThat(MacAddress.of(Ipv6.multicastMac(hi("ff02::1"), lo("ff02::1"))).toString())
                .isEqualTo("33:33:00:00:00:01");
        assertThat(Ipv6.multicastMac(hi("ff02::fedc:ba98"), -1L)).isEqualTo(0x3333_ffff_ffffL);
        assertThat(Ipv6.LINK_SCOPE_MULTICAST_HI).isEqualTo(hi("ff02::1"));
        assertThat(Ipv6.ALL_NODES_LO).isEqualTo(lo("ff02::1"));
        assertThat(Ipv6.ALL_ROUTERS_LO).isEqualTo(lo("ff02::2"));
    }

    @Test
    void linkLocalFromMacIsModifiedEui64() throws Exception {
        long lo = Ipv6.linkLocalFromMac(MacAddress.parse("52:54:00:12:34:56").toLong());
        assertThat(Ipv6.toString(Ipv6.LINK_LOCAL_HI, lo)).isEqualTo("fe80::5054:ff:fe12:3456");
        assertThat(lo).isEqualTo(lo("fe80::5054:ff:fe12:3456"));
        // The universal/local bit is inverted, not set: 02:... (local) gives 00:...
        assertThat(Ipv6.toString(Ipv6.LINK_LOCAL_HI, Ipv6.linkLocalFromMac(MacAddress.parse("02:00:5e:10:00:01").toLong())))
                .isEqualTo("fe80::5eff:fe10:1");
        assertThat(Ipv6.toString(Ipv6.LINK_LOCAL_HI, Ipv6.linkLocalFromMac(0xffff_ffff_ffffL)))
                .isEqualTo("fe80::fdff:ffff:feff:ffff");
        // Bits above the 48 of the MAC are ignored.
        assertThat(Ipv6.linkLocalFromMac(0xabcd_0000_0000_0000L | 0x5254_0012_3456L)).isEqualTo(lo);
        assertThat(Ipv6.isLinkLocal(Ipv6.LINK_LOCAL_HI)).isTrue();
    }

    @Test
    void bytesAndInetAddressConversions() throws Exception {
        long hi = 0x2001_0db8_0000_0000L;
        long lo = 0x0000_0000_0000_0001L;
        Inet6Address a = Ipv6.toInet(hi, lo);
        assertThat(a).isEqualTo(InetAddress.getByName("2001:db8::1"));
        assertThat(a.getScopeId()).isZero();
        assertThat(Ipv6.hi(a)).isEqualTo(hi);
        assertThat(Ipv6.lo(a)).isEqualTo(lo);
        assertThat(Ipv6.hi(Ipv6.toBytes(hi, lo))).isEqualTo(hi);
        assertThat(Ipv6.lo(Ipv6.toBytes(hi, lo))).isEqualTo(lo);
        byte[] all = Ipv6.toBytes(0x0102_0304_0506_0708L, 0x090a_0b0c_0d0e_0f10L);
        for (int i = 0; i < 16; i++) {
            assertThat(all[i]).isEqualTo((byte) (i + 1));
        }
        // IPv4-mapped stays an Inet6Address.
        Inet6Address mapped = Ipv6.toInet(0, 0xffff_c000_0201L);
        assertThat(mapped.getAddress()).hasSize(16);
        assertThat(Ipv6.lo(mapped)).isEqualTo(0xffff_c000_0201L);
        assertThatThrownBy(() -> Ipv6.hi(new byte[4])).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> Ipv6.lo(new byte[17])).isInstanceOf(IllegalArgumentException.class);
    }
}
