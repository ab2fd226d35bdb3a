package io.usertcp.wire;

import io.netty.buffer.ByteBuf;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@link Ndp} (RFC 4861): router solicitation and advertisement, neighbor solicitation and advertisement, redirect,
 * and the link-layer address, MTU and prefix information options; real messages re-emitted byte for byte.
 */
class NdpRoundTripTest extends WireRoundTrip {
    private static final int I = L3 + Ipv6.HEADER_LENGTH;
    private static final long MAC_A = 0x5254_0012_3456L;
    private static final long MAC_B = 0x0200_5e10_0001L;

    /** Fills the checksum of the message in {@code out} at {@code o} for the addresses of {@code f}. */
    private static void fillChecksum(ByteBuf out, int o, int len, ByteBuf f) {
        Icmpv6.fillChecksum(out, o, len, Ipv6.srcHi(f, L3), Ipv6.srcLo(f, L3), Ipv6.dstHi(f, L3), Ipv6.dstLo(f, L3));
    }

    private static int length(ByteBuf f) {
        return Ipv6.payloadLength(f, L3);
    }

    @Test
    void neighborSolicitationAndAdvertisement() {
        ByteBuf ns = frame(NS);
        assertThat(Icmpv6.type(ns, I)).isEqualTo(Icmpv6.NEIGHBOR_SOLICIT);
        assertThat(Icmpv6.linkLayerOption(ns, I + Icmpv6.NS_NA_LENGTH, length(ns) - Icmpv6.NS_NA_LENGTH,
                Icmpv6.SOURCE_LL_ADDR)).isEqualTo(MAC_A);
        ByteBuf out = junk(2 + length(ns));
        int n = Ndp.writeNeighborSolicitation(out, 2, Icmpv6.targetHi(ns, I), Icmpv6.targetLo(ns, I), MAC_A);
        assertThat(n).isEqualTo(length(ns));
        fillChecksum(out, 2, n, ns);
        assertSameBytes(out, 2, ns, I, n);

        ByteBuf na = frame(NA);
        int flags = Ndp.advertisementFlags(na, I);
        assertThat(flags).isEqualTo(Icmpv6.SOLICITED | Icmpv6.OVERRIDE);
        long tlla = Icmpv6.linkLayerOption(na, I + Icmpv6.NS_NA_LENGTH, length(na) - Icmpv6.NS_NA_LENGTH,
                Icmpv6.TARGET_LL_ADDR);
        assertThat(tlla).isEqualTo(MAC_B);
        n = Ndp.writeNeighborAdvertisement(out, 2, flags, Icmpv6.targetHi(na, I), Icmpv6.targetLo(na, I), tlla);
        fillChecksum(out, 2, n, na);
        assertSameBytes(out, 2, na, I, n);

        assertThat(Ndp.writeNeighborSolicitation(out, 0, 1, 2, -1)).as("no option without a MAC")
                .isEqualTo(Icmpv6.NS_NA_LENGTH);
    }

    @Test
    void routerSolicitation() {
        ByteBuf rs = frame(RS);
        int p = Ndp.findOption(rs, I + Icmpv6.RS_LENGTH, length(rs) - Icmpv6.RS_LENGTH, Icmpv6.SOURCE_LL_ADDR);
        assertThat(p).isEqualTo(I + Icmpv6.RS_LENGTH);
        assertThat(Ndp.linkLayerAddress(rs, p)).isEqualTo(MAC_A);
        ByteBuf out = junk(length(rs));
        int n = Ndp.writeRouterSolicitation(out, 0, Ndp.linkLayerAddress(rs, p));
        fillChecksum(out, 0, n, rs);
        assertSameBytes(out, 0, rs, I, n);
        assertThat(Ndp.writeRouterSolicitation(out, 0, -1)).isEqualTo(Icmpv6.RS_LENGTH);
    }

    @Test
    void routerAdvertisementWithItsOptions() {
        ByteBuf ra = frame(RA);
        int len = length(ra);
        assertThat(Icmpv6.type(ra, I)).isEqualTo(Icmpv6.ROUTER_ADVERT);
        assertThat(Ndp.curHopLimit(ra, I)).isEqualTo(64);
        assertThat(Ndp.routerFlags(ra, I)).isEqualTo(Ndp.RA_OTHER);
        assertThat(Ndp.routerLifetime(ra, I)).isEqualTo(1800);
        assertThat(Ndp.reachableTime(ra, I)).isEqualTo(30000);
        assertThat(Ndp.retransTimer(ra, I)).isEqualTo(1000);
        int opts = I + Icmpv6.RA_LENGTH;
        int optsLen = len - Icmpv6.RA_LENGTH;
        int sll = Ndp.findOption(ra, opts, optsLen, Icmpv6.SOURCE_LL_ADDR);
        int mtu = Ndp.findOption(ra, opts, optsLen, Icmpv6.MTU);
        int pi = Ndp.findOption(ra, opts, optsLen, Icmpv6.PREFIX_INFO);
        assertThat(new int[]{sll, mtu, pi}).containsExactly(opts, opts + 8, opts + 16);
        assertThat(Ndp.findOption(ra, opts, optsLen, Icmpv6.REDIRECTED_HEADER)).isEqualTo(Ndp.ABSENT);
        assertThat(Ndp.optionLength(ra, pi)).isEqualTo(Ndp.PREFIX_INFO_LENGTH);
        assertThat(Ndp.mtu(ra, mtu)).isEqualTo(1500);
        assertThat(Ndp.prefixLength(ra, pi)).isEqualTo(64);
        assertThat(Ndp.prefixFlags(ra, pi)).isEqualTo(Ndp.PREFIX_ON_LINK | Ndp.PREFIX_AUTONOMOUS);
        assertThat(Ndp.validLifetime(ra, pi)).isEqualTo(2592000);
        assertThat(Ndp.preferredLifetime(ra, pi)).isEqualTo(604800);
        assertThat(Ipv6.toString(Ndp.prefixHi(ra, pi), Ndp.prefixLo(ra, pi))).isEqualTo("2001:db8::");

        ByteBuf out = junk(3 + len);
        int p = 3 + Ndp.writeRouterAdvertisement(out, 3, Ndp.curHopLimit(ra, I), Ndp.routerFlags(ra, I),
                Ndp.routerLifetime(ra, I), Ndp.reachableTime(ra, I), Ndp.retransTimer(ra, I));
        p += Icmpv6.writeLinkLayerOption(out, p, Icmpv6.SOURCE_LL_ADDR, Ndp.linkLayerAddress(ra, sll));
        p += Ndp.writeMtuOption(out, p, Ndp.mtu(ra, mtu));
        p += Ndp.writePrefixInformation(out, p, Ndp.prefixLength(ra, pi), Ndp.prefixFlags(ra, pi),
                Ndp.validLifetime(ra, pi), Ndp.preferredLifetime(ra, pi), Ndp.prefixHi(ra, pi), Ndp.prefixLo(ra, pi));
        assertThat(p - 3).isEqualTo(len);
        fillChecksum(out, 3, len, ra);
        assertSameBytes(out, 3, ra, I, len);
    }

    @Test
    void redirect() {
        ByteBuf rd = frame(REDIRECT);
        int len = length(rd);
        assertThat(Icmpv6.type(rd, I)).isEqualTo(Icmpv6.REDIRECT);
        assertThat(Ipv6.toString(Icmpv6.targetHi(rd, I), Icmpv6.targetLo(rd, I))).isEqualTo("fe80::1");
        assertThat(Ipv6.toString(Ndp.redirectDestinationHi(rd, I), Ndp.redirectDestinationLo(rd, I)))
                .isEqualTo("2001:db8:5::1");
        ByteBuf out = junk(len);
        int p = Ndp.writeRedirect(out, 0, Icmpv6.targetHi(rd, I), Icmpv6.targetLo(rd, I),
                Ndp.redirectDestinationHi(rd, I), Ndp.redirectDestinationLo(rd, I));
        p += Icmpv6.writeLinkLayerOption(out, p, Icmpv6.TARGET_LL_ADDR, MAC_B);
        fillChecksum(out, 0, p, rd);
        assertSameBytes(out, 0, rd, I, len);
    }

    @Test
    void findOptionRejectsWhatTheLinkLayerWalkRejects() {
        ByteBuf b = junk(32);
        Icmpv6.writeLinkLayerOption(b, 0, Icmpv6.SOURCE_LL_ADDR, MAC_A);
        Ndp.writeMtuOption(b, 8, 1280);
        b.setByte(16, 9);
        b.setByte(17, 0); // length zero: RFC 4861 §4.6, the whole message is discarded
        assertThat(Ndp.findOption(b, 0, 16, Icmpv6.MTU)).isEqualTo(8);
        assertThat(Ndp.findOption(b, 0, 18, Icmpv6.MTU)).isEqualTo(Ndp.MALFORMED);
        assertThat(Ndp.findOption(b, 0, 12, Icmpv6.SOURCE_LL_ADDR)).as("runs past the end")
                .isEqualTo(Ndp.MALFORMED);
        assertThat(Ndp.findOption(b, 30, 8, Icmpv6.MTU)).as("past the writer index").isEqualTo(Ndp.MALFORMED);
        assertThat(Ndp.findOption(b, 0, 0, Icmpv6.MTU)).isEqualTo(Ndp.ABSENT);
    }

    @Test
    void randomMessagesSurviveEmitThenParse() {
        Random rnd = new Random(0x11_4861L);
        for (int i = 0; i < 1000; i++) {
            long th = rnd.nextLong();
            long tl = rnd.nextLong();
            long mac = rnd.nextLong() & 0xffff_ffff_ffffL;
            int flags = rnd.nextInt() & (Icmpv6.ROUTER | Icmpv6.SOLICITED | Icmpv6.OVERRIDE);
            int hop = rnd.nextInt(256);
            int raFlags = rnd.nextInt(256);
            int lifetime = rnd.nextInt(0x10000);
            long reachable = rnd.nextLong() & 0xffff_ffffL;
            long retrans = rnd.nextLong() & 0xffff_ffffL;
            long mtu = rnd.nextLong() & 0xffff_ffffL;
            int plen = rnd.nextInt(129);
            int pflags = rnd.nextInt(256);
            long valid = rnd.nextLong() & 0xffff_ffffL;
            long preferred = rnd.nextLong() & 0xffff_ffffL;
            ByteBuf b = junk(96);

            int n = Ndp.writeNeighborAdvertisement(b, 1, flags, th, tl, mac);
            b.writerIndex(1 + n);
            assertThat(Icmpv6.type(b, 1)).isEqualTo(Icmpv6.NEIGHBOR_ADVERT);
            assertThat(Icmpv6.code(b, 1)).isZero();
            assertThat(Ndp.advertisementFlags(b, 1)).isEqualTo(flags);
            assertThat(Icmpv6.targetHi(b, 1)).isEqualTo(th);
            assertThat(Icmpv6.targetLo(b, 1)).isEqualTo(tl);
            assertThat(Icmpv6.linkLayerOption(b, 1 + Icmpv6.NS_NA_LENGTH, n - Icmpv6.NS_NA_LENGTH,
                    Icmpv6.TARGET_LL_ADDR)).isEqualTo(mac);

            b.writerIndex(96);
            int p = Ndp.writeRouterAdvertisement(b, 0, hop, raFlags, lifetime, reachable, retrans);
            p += Ndp.writeMtuOption(b, p, mtu);
            p += Ndp.writePrefixInformation(b, p, plen, pflags, valid, preferred, th, tl);
            assertThat(Ndp.curHopLimit(b, 0)).isEqualTo(hop);
            assertThat(Ndp.routerFlags(b, 0)).isEqualTo(raFlags);
            assertThat(Ndp.routerLifetime(b, 0)).isEqualTo(lifetime);
            assertThat(Ndp.reachableTime(b, 0)).isEqualTo(reachable);
            assertThat(Ndp.retransTimer(b, 0)).isEqualTo(retrans);
            int m = Ndp.findOption(b, Icmpv6.RA_LENGTH, p - Icmpv6.RA_LENGTH, Icmpv6.MTU);
            int pi = Ndp.findOption(b, Icmpv6.RA_LENGTH, p - Icmpv6.RA_LENGTH, Icmpv6.PREFIX_INFO);
            assertThat(Ndp.mtu(b, m)).isEqualTo(mtu);
            assertThat(Ndp.prefixLength(b, pi)).isEqualTo(plen);
            assertThat(Ndp.prefixFlags(b, pi)).isEqualTo(pflags);
            assertThat(Ndp.validLifetime(b, pi)).isEqualTo(valid);
            assertThat(Ndp.preferredLifetime(b, pi)).isEqualTo(preferred);
            assertThat(Ndp.prefixHi(b, pi)).isEqualTo(th);
            assertThat(Ndp.prefixLo(b, pi)).isEqualTo(tl);
        }
    }
}
