package io.usertcp.wire;

import io.netty.buffer.ByteBuf;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/** {@link Ipv4} and {@link Udp} over IPv4: real datagrams re-emitted byte for byte, random fields round-trip. */
class Ipv4RoundTripTest extends WireRoundTrip {

    /** Re-emits the IPv4 header of {@code f} (options copied first) and checks the bytes and the checksum. */
    private void reEmitHeader(ByteBuf f) {
        int hl = Ipv4.headerLength(f, L3);
        ByteBuf out = junk(5 + hl);
        out.setBytes(5 + Ipv4.MIN_HEADER_LENGTH, f, L3 + Ipv4.MIN_HEADER_LENGTH, hl - Ipv4.MIN_HEADER_LENGTH);
        Ipv4.writeHeader(out, 5, hl, Ipv4.tos(f, L3), Ipv4.totalLength(f, L3), Ipv4.id(f, L3),
                Ipv4.flagsFragment(f, L3), Ipv4.ttl(f, L3), Ipv4.protocol(f, L3), Ipv4.src(f, L3), Ipv4.dst(f, L3));
        assertSameBytes(out, 5, f, L3, hl);
        assertThat(Ipv4.checksumOk(out, 5, hl)).isTrue();
        assertThat(Ipv4.checksum(out, 5)).isEqualTo(Ipv4.checksum(f, L3));
    }

    @Test
    void realHeadersReEmitByteForByte() {
        for (String hex : new String[]{ICMP4_ECHO, UDP4_OPTIONS, IPV4_FRAGMENT, ICMP4_FRAG_NEEDED}) {
            reEmitHeader(frame(hex));
        }
    }

    @Test
    void fieldsOfTheRealHeaders() {
        ByteBuf u = frame(UDP4_OPTIONS);
        assertThat(Ipv4.version(u, L3)).isEqualTo(4);
        assertThat(Ipv4.headerLength(u, L3)).isEqualTo(24);
        assertThat(Ipv4.tos(u, L3)).isEqualTo(0xb8);
        assertThat(Ipv4.totalLength(u, L3)).isEqualTo(41);
        assertThat(Ipv4.id(u, L3)).isEqualTo(0xbeef);
        assertThat(Ipv4.dontFragment(u, L3)).isFalse();
        assertThat(Ipv4.checksumOk(u, L3, 24)).isTrue();
        assertThat(Ipv4.checksum(u, L3)).isEqualTo(0x1216);
        ByteBuf fr = frame(IPV4_FRAGMENT);
        assertThat(Ipv4.moreFragments(fr, L3)).isTrue();
        assertThat(Ipv4.dontFragment(fr, L3)).isFalse();
        assertThat(Ipv4.fragmentOffset(fr, L3)).isEqualTo(1480);
        assertThat(Ipv4.flagsFragment(fr, L3)).isEqualTo(Ipv4.flagsFragment(false, true, 1480));
        assertThat(Ipv4.ttl(fr, L3)).isEqualTo(63);
        ByteBuf e = frame(ICMP4_ECHO);
        assertThat(Ipv4.dontFragment(e, L3)).isTrue();
        assertThat(Ipv4.flagsFragment(e, L3)).isEqualTo(Ipv4.flagsFragment(true, false, 0));
        assertThat(Ipv4.protocol(e, L3)).isEqualTo(Ipv4.PROTO_ICMP);
        assertThat(Ipv4.src(e, L3)).isEqualTo(0x0a00_0001);
        assertThat(Ipv4.dst(e, L3)).isEqualTo(0x0a00_0002);
    }

    @Test
    void theOptionLessWritersMatchTheGeneralOne() {
        ByteBuf e = frame(ICMP4_ECHO);
        ByteBuf out = junk(Ipv4.MIN_HEADER_LENGTH);
        Ipv4.write(out, 0, Ipv4.totalLength(e, L3), Ipv4.id(e, L3), Ipv4.ttl(e, L3), Ipv4.protocol(e, L3),
                Ipv4.src(e, L3), Ipv4.dst(e, L3), true);
        assertSameBytes(out, 0, e, L3, Ipv4.MIN_HEADER_LENGTH);
        ByteBuf fr = frame(IPV4_FRAGMENT);
        Ipv4.writeHeader(out, 0, 0, Ipv4.totalLength(fr, L3), Ipv4.id(fr, L3), Ipv4.flagsFragment(fr, L3),
                Ipv4.ttl(fr, L3), Ipv4.protocol(fr, L3), Ipv4.src(fr, L3), Ipv4.dst(fr, L3));
        assertSameBytes(out, 0, fr, L3, Ipv4.MIN_HEADER_LENGTH);
    }

    @Test
    void fillChecksumRepairsAChangedField() {
        ByteBuf u = frame(UDP4_OPTIONS);
        u.setShort(L3 + 6, Ipv4.FLAG_DF);
        assertThat(Ipv4.checksumOk(u, L3, 24)).isFalse();
        Ipv4.fillChecksum(u, L3);
        assertThat(Ipv4.checksumOk(u, L3, 24)).isTrue();
        assertThat(Ipv4.dontFragment(u, L3)).isTrue();
    }

    @Test
    void randomHeadersSurviveEmitThenParse() {
        Random rnd = new Random(0x11_0004L);
        for (int i = 0; i < 1000; i++) {
            int hl = Ipv4.MIN_HEADER_LENGTH + 4 * rnd.nextInt(11);
            int tos = rnd.nextInt(256);
            int total = hl + rnd.nextInt(65536 - hl);
            int id = rnd.nextInt(0x10000);
            boolean df = rnd.nextBoolean();
            boolean mf = rnd.nextBoolean();
            int offset = rnd.nextInt(Ipv4.FRAGMENT_OFFSET_MASK + 1) << 3;
            int ttl = rnd.nextInt(256);
            int proto = rnd.nextInt(256);
            int src = rnd.nextInt();
            int dst = rnd.nextInt();
            int o = rnd.nextInt(8);
            ByteBuf b = junk(o + hl);
            byte[] options = new byte[hl - Ipv4.MIN_HEADER_LENGTH];
            rnd.nextBytes(options);
            b.setBytes(o + Ipv4.MIN_HEADER_LENGTH, options);
            Ipv4.writeHeader(b, o, hl, tos, total, id, Ipv4.flagsFragment(df, mf, offset), ttl, proto, src, dst);
            assertThat(Ipv4.version(b, o)).isEqualTo(4);
            assertThat(Ipv4.headerLength(b, o)).isEqualTo(hl);
            assertThat(Ipv4.tos(b, o)).isEqualTo(tos);
            assertThat(Ipv4.totalLength(b, o)).isEqualTo(total);
            assertThat(Ipv4.id(b, o)).isEqualTo(id);
            assertThat(Ipv4.dontFragment(b, o)).isEqualTo(df);
            assertThat(Ipv4.moreFragments(b, o)).isEqualTo(mf);
            assertThat(Ipv4.fragmentOffset(b, o)).isEqualTo(offset);
            assertThat(Ipv4.ttl(b, o)).isEqualTo(ttl);
            assertThat(Ipv4.protocol(b, o)).isEqualTo(proto);
            assertThat(Ipv4.src(b, o)).isEqualTo(src);
            assertThat(Ipv4.dst(b, o)).isEqualTo(dst);
            assertThat(Ipv4.checksumOk(b, o, hl)).isTrue();
            byte[] back = new byte[options.length];
            b.getBytes(o + Ipv4.MIN_HEADER_LENGTH, back);
            assertThat(back).isEqualTo(options);
        }
    }

    @Test
    void udpOverIpv4ReEmitsWithItsChecksum() {
        ByteBuf f = frame(UDP4_OPTIONS);
        int u = L3 + Ipv4.headerLength(f, L3);
        int len = Udp.length(f, u);
        long pseudo = Checksum.ipv4Pseudo(Ipv4.src(f, L3), Ipv4.dst(f, L3), Ipv4.PROTO_UDP, len);
        assertThat(Udp.srcPort(f, u)).isEqualTo(40000);
        assertThat(Udp.dstPort(f, u)).isEqualTo(53);
        assertThat(len).isEqualTo(17);
        assertThat(Udp.checksumOk(f, u, len, pseudo)).isTrue();
        ByteBuf out = junk(2 + len);
        out.setBytes(2 + Udp.HEADER_LENGTH, f, u + Udp.HEADER_LENGTH, len - Udp.HEADER_LENGTH);
        Udp.writeHeaderWithChecksum(out, 2, Udp.srcPort(f, u), Udp.dstPort(f, u), len, pseudo);
        assertSameBytes(out, 2, f, u, len);
        // The partial form (pseudo-header sum in the field) completed later gives the same bytes.
        ByteBuf partial = junk(len);
        partial.setBytes(Udp.HEADER_LENGTH, f, u + Udp.HEADER_LENGTH, len - Udp.HEADER_LENGTH);
        Udp.writeHeader(partial, 0, 40000, 53, len, Checksum.fold(pseudo));
        Checksum.completePartial(partial, 0, len, Udp.CHECKSUM_OFFSET);
        assertSameBytes(partial, 0, f, u, len);
    }

    @Test
    void randomUdpDatagramsVerifyAndNeverCarryAZeroChecksum() {
        Random rnd = new Random(0x11_0017L);
        for (int i = 0; i < 1000; i++) {
            int n = rnd.nextInt(64);
            int len = Udp.HEADER_LENGTH + n;
            int sp = rnd.nextInt(0x10000);
            int dp = rnd.nextInt(0x10000);
            long pseudo = Checksum.ipv4Pseudo(rnd.nextInt(), rnd.nextInt(), Ipv4.PROTO_UDP, len);
            ByteBuf b = junk(len + 1);
            byte[] data = new byte[n];
            rnd.nextBytes(data);
            b.setBytes(1 + Udp.HEADER_LENGTH, data);
            Udp.writeHeaderWithChecksum(b, 1, sp, dp, len, pseudo);
            assertThat(Udp.srcPort(b, 1)).isEqualTo(sp);
            assertThat(Udp.dstPort(b, 1)).isEqualTo(dp);
            assertThat(Udp.length(b, 1)).isEqualTo(len);
            assertThat(Udp.checksum(b, 1)).isNotZero();
            assertThat(Udp.checksumOk(b, 1, len, pseudo)).isTrue();
            assertThat(Udp.checksumOk(b, 1, len, pseudo + 1)).as("a different pseudo-header fails").isFalse();
        }
    }
}
