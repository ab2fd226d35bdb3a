package io.usertcp.wire;

import io.netty.buffer.ByteBuf;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@link Ipv6}, {@link Ipv6Fragment}, {@link Ipv6ExtensionHeader} (read back by {@link Ipv6Extensions#walk}) and
 * {@link Udp} over IPv6: real packets re-emitted byte for byte, random fields and chains round-trip.
 */
class Ipv6RoundTripTest extends WireRoundTrip {
    private static final int X = L3 + Ipv6.HEADER_LENGTH;

    private void reEmitFixedHeader(ByteBuf f) {
        ByteBuf out = junk(7 + Ipv6.HEADER_LENGTH);
        Ipv6.writeHeader(out, 7, Ipv6.trafficClass(f, L3), Ipv6.flowLabel(f, L3), Ipv6.payloadLength(f, L3),
                Ipv6.nextHeader(f, L3), Ipv6.hopLimit(f, L3), Ipv6.srcHi(f, L3), Ipv6.srcLo(f, L3),
                Ipv6.dstHi(f, L3), Ipv6.dstLo(f, L3));
        assertSameBytes(out, 7, f, L3, Ipv6.HEADER_LENGTH);
    }

    @Test
    void realFixedHeadersReEmitByteForByte() {
        for (String hex : new String[]{ICMP6_ECHO, IPV6_EXT_UDP, IPV6_FRAGMENT, NS, RA}) {
            reEmitFixedHeader(frame(hex));
        }
        ByteBuf f = frame(IPV6_EXT_UDP);
        assertThat(Ipv6.trafficClass(f, L3)).isEqualTo(0x2e);
        assertThat(Ipv6.flowLabel(f, L3)).isEqualTo(0x12345);
        assertThat(Ipv6.nextHeader(f, L3)).isEqualTo(Ipv6.HOP_BY_HOP);
        assertThat(Ipv6.toString(Ipv6.srcHi(f, L3), Ipv6.srcLo(f, L3))).isEqualTo("2001:db8::1");
    }

    @Test
    void randomFixedHeadersSurviveEmitThenParse() {
        Random rnd = new Random(0x11_8200L);
        for (int i = 0; i < 1000; i++) {
            int tc = rnd.nextInt(256);
            int flow = rnd.nextInt(1 << 20);
            int pl = rnd.nextInt(0x10000);
            int nh = rnd.nextInt(256);
            int hl = rnd.nextInt(256);
            long sh = rnd.nextLong();
            long sl = rnd.nextLong();
            long dh = rnd.nextLong();
            long dl = rnd.nextLong();
            int o = rnd.nextInt(8);
            ByteBuf b = junk(o + Ipv6.HEADER_LENGTH);
            Ipv6.writeHeader(b, o, tc, flow, pl, nh, hl, sh, sl, dh, dl);
            assertThat(Ipv6.version(b, o)).isEqualTo(6);
            assertThat(Ipv6.trafficClass(b, o)).isEqualTo(tc);
            assertThat(Ipv6.flowLabel(b, o)).isEqualTo(flow);
            assertThat(Ipv6.payloadLength(b, o)).isEqualTo(pl);
            assertThat(Ipv6.nextHeader(b, o)).isEqualTo(nh);
            assertThat(Ipv6.hopLimit(b, o)).isEqualTo(hl);
            assertThat(new long[]{Ipv6.srcHi(b, o), Ipv6.srcLo(b, o), Ipv6.dstHi(b, o), Ipv6.dstLo(b, o)})
                    .containsExactly(sh, sl, dh, dl);
        }
    }

    @Test
    void fragmentHeaderReEmitsAndRoundTrips() {
        ByteBuf f = frame(IPV6_FRAGMENT);
        assertThat(Ipv6Fragment.nextHeader(f, X)).isEqualTo(Ipv6.UDP);
        assertThat(Ipv6Fragment.fragmentOffset(f, X)).isEqualTo(1232);
        assertThat(Ipv6Fragment.moreFragments(f, X)).isTrue();
        assertThat(Ipv6Fragment.isFirst(f, X)).isFalse();
        assertThat(Ipv6Fragment.identification(f, X)).isEqualTo(0xdeadbeef);
        Ipv6Extensions.Walk w = new Ipv6Extensions.Walk();
        assertThat(Ipv6Extensions.walk(f, L3, Ipv6.payloadLength(f, L3), w)).isTrue();
        assertThat(w.upperProtocol).isEqualTo(Ipv6.FRAGMENT);
        assertThat(w.fragmentOffset).isEqualTo(X);
        ByteBuf out = junk(2 + Ipv6Fragment.LENGTH);
        Ipv6Fragment.write(out, 2, Ipv6Fragment.nextHeader(f, X), Ipv6Fragment.fragmentOffset(f, X),
                Ipv6Fragment.moreFragments(f, X), Ipv6Fragment.identification(f, X));
        assertSameBytes(out, 2, f, X, Ipv6Fragment.LENGTH);

        Random rnd = new Random(0x11_0044L);
        for (int i = 0; i < 1000; i++) {
            int nh = rnd.nextInt(256);
            int off = rnd.nextInt(8192) << 3;
            boolean more = rnd.nextBoolean();
            int id = rnd.nextInt();
            Ipv6Fragment.write(out, 1, nh, off, more, id);
            assertThat(Ipv6Fragment.nextHeader(out, 1)).isEqualTo(nh);
            assertThat(Ipv6Fragment.fragmentOffset(out, 1)).isEqualTo(off);
            assertThat(Ipv6Fragment.moreFragments(out, 1)).isEqualTo(more);
            assertThat(Ipv6Fragment.isFirst(out, 1)).isEqualTo(off == 0);
            assertThat(Ipv6Fragment.identification(out, 1)).isEqualTo(id);
            assertThat(Ipv6Fragment.offsetFlags(out, 1) & 0x6).as("reserved bits").isZero();
            assertThat((int) out.getUnsignedByte(2)).as("reserved byte").isZero();
        }
    }

    @Test
    void optionsAndRoutingHeadersReEmitByteForByte() {
        ByteBuf f = frame(IPV6_EXT_UDP);
        Ipv6Extensions.Walk w = new Ipv6Extensions.Walk();
        assertThat(Ipv6Extensions.walk(f, L3, Ipv6.payloadLength(f, L3), w)).isTrue();
        assertThat(w.upperProtocol).isEqualTo(Ipv6.UDP);
        assertThat(w.headers).isEqualTo(2);
        int hbh = X;
        int dst = hbh + Ipv6ExtensionHeader.length(f, hbh);
        assertThat(Ipv6ExtensionHeader.nextHeader(f, hbh)).isEqualTo(Ipv6.DESTINATION_OPTIONS);
        assertThat(Ipv6ExtensionHeader.length(f, hbh)).isEqualTo(8);
        assertThat(Ipv6ExtensionHeader.optionType(f, hbh + 2)).isEqualTo(5); // router alert
        assertThat(Ipv6ExtensionHeader.optionDataLength(f, hbh + 2)).isEqualTo(2);
        assertThat(Ipv6ExtensionHeader.nextHeader(f, dst)).isEqualTo(Ipv6.UDP);
        assertThat(Ipv6ExtensionHeader.length(f, dst)).isEqualTo(16);
        assertThat(w.upperOffset).isEqualTo(dst + 16);

        ByteBuf out = junk(24);
        Ipv6ExtensionHeader.writeOptionsHeader(out, 0, Ipv6.DESTINATION_OPTIONS, 8);
        int p = Ipv6ExtensionHeader.writeOption(out, 2, 5, f, hbh + 4, 2);
        Ipv6ExtensionHeader.writePadding(out, p, 8 - p);
        Ipv6ExtensionHeader.writeOptionsHeader(out, 8, Ipv6.UDP, 16);
        p = Ipv6ExtensionHeader.writeOption(out, 10, 0x1e, f, dst + 4, 4);
        Ipv6ExtensionHeader.writePadding(out, p, 24 - p);
        assertSameBytes(out, 0, f, X, 24);

        ByteBuf r = frame(IPV6_ROUTING_UDP);
        assertThat(Ipv6ExtensionHeader.routingType(r, X)).isZero();
        assertThat(Ipv6ExtensionHeader.segmentsLeft(r, X)).isZero();
        Ipv6ExtensionHeader.writeRouting(out, 1, Ipv6ExtensionHeader.nextHeader(r, X),
                Ipv6ExtensionHeader.length(r, X), Ipv6ExtensionHeader.routingType(r, X),
                Ipv6ExtensionHeader.segmentsLeft(r, X));
        assertSameBytes(out, 1, r, X, 8);
    }

    @Test
    void randomChainsWalkToTheUpperLayer() {
        Random rnd = new Random(0x11_0060L);
        Ipv6Extensions.Walk w = new Ipv6Extensions.Walk();
        for (int i = 0; i < 500; i++) {
            int count = rnd.nextInt(Ipv6Extensions.MAX_HEADERS + 1);
            int[] types = new int[count];
            int[] lengths = new int[count];
            int total = 0;
            for (int k = 0; k < count; k++) {
                types[k] = k == 0 && rnd.nextBoolean() ? Ipv6.HOP_BY_HOP
                        : rnd.nextBoolean() ? Ipv6.DESTINATION_OPTIONS : Ipv6.ROUTING;
                lengths[k] = 8 * (1 + rnd.nextInt(rnd.nextInt(4) == 0 ? 256 : 4));
                total += lengths[k];
            }
            int upper = rnd.nextInt(2) == 0 ? Ipv6.UDP : Ipv6.ICMPV6;
            int payload = total + 8;
            ByteBuf b = junk(Ipv6.HEADER_LENGTH + payload);
            Ipv6.write(b, 0, 0, payload, count == 0 ? upper : types[0], 64, 1, 2, 3, 4);
            int off = Ipv6.HEADER_LENGTH;
            for (int k = 0; k < count; k++) {
                int next = k + 1 < count ? types[k + 1] : upper;
                if (types[k] == Ipv6.ROUTING) {
                    Ipv6ExtensionHeader.writeRouting(b, off, next, lengths[k], rnd.nextInt(256), 0);
                } else {
                    Ipv6ExtensionHeader.writeOptionsHeader(b, off, next, lengths[k]);
                    if (lengths[k] >= 8 && rnd.nextBoolean()) { // a skippable option (action bits 00) first
                        int n = rnd.nextInt(Math.min(lengths[k] - 3, 256));
                        int p = Ipv6ExtensionHeader.writeOption(b, off + 2, rnd.nextInt(64) | 2, b, 0, n);
                        Ipv6ExtensionHeader.writePadding(b, p, off + lengths[k] - p);
                    }
                }
                assertThat(Ipv6ExtensionHeader.length(b, off)).isEqualTo(lengths[k]);
                off += lengths[k];
            }
            assertThat(Ipv6Extensions.walk(b, 0, payload, w)).as("chain %d", i).isTrue();
            assertThat(w.upperProtocol).isEqualTo(upper);
            assertThat(w.upperOffset).isEqualTo(Ipv6.HEADER_LENGTH + total);
            assertThat(w.upperLength).isEqualTo(8);
            assertThat(w.headers).isEqualTo(count);
        }
    }

    @Test
    void udpOverIpv6ReEmitsWithItsChecksum() {
        ByteBuf f = frame(IPV6_EXT_UDP);
        Ipv6Extensions.Walk w = new Ipv6Extensions.Walk();
        Ipv6Extensions.walk(f, L3, Ipv6.payloadLength(f, L3), w);
        int u = w.upperOffset;
        int len = Udp.length(f, u);
        assertThat(len).isEqualTo(w.upperLength);
        long pseudo = Checksum.ipv6Pseudo(Ipv6.srcHi(f, L3), Ipv6.srcLo(f, L3), Ipv6.dstHi(f, L3),
                Ipv6.dstLo(f, L3), Ipv6.UDP, len);
        assertThat(Udp.checksumOk(f, u, len, pseudo)).isTrue();
        ByteBuf out = junk(len);
        out.setBytes(Udp.HEADER_LENGTH, f, u + Udp.HEADER_LENGTH, len - Udp.HEADER_LENGTH);
        Udp.writeHeaderWithChecksum(out, 0, Udp.srcPort(f, u), Udp.dstPort(f, u), len, pseudo);
        assertSameBytes(out, 0, f, u, len);
    }
}
