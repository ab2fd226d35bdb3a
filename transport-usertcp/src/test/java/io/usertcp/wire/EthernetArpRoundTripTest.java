package io.usertcp.wire;

import io.netty.buffer.ByteBuf;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/** {@link Ethernet} and {@link Arp}: parse then emit reproduces real frames; emit then parse gives the fields. */
class EthernetArpRoundTripTest extends WireRoundTrip {

    @Test
    void arpRequestAndReplyReEmitByteForByte() {
        for (String hex : new String[]{ARP_REQUEST, ARP_REPLY}) {
            ByteBuf f = frame(hex);
            assertThat(Ethernet.type(f, 0)).isEqualTo(Ethernet.TYPE_ARP);
            assertThat(Arp.isEthernetIpv4(f, L3)).isTrue();
            ByteBuf out = junk(3 + f.readableBytes());
            Ethernet.write(out, 3, Ethernet.dst(f, 0), Ethernet.src(f, 0), Ethernet.type(f, 0));
            Arp.write(out, 3 + L3, Arp.op(f, L3), Arp.sha(f, L3), Arp.spa(f, L3), Arp.tha(f, L3), Arp.tpa(f, L3));
            assertSameBytes(out, 3, f, 0, f.readableBytes());
            assertThat((int) out.getUnsignedByte(2)).as("nothing written before the offset").isEqualTo(JUNK);
        }
    }

    @Test
    void arpFieldsOfTheRealFrames() {
        ByteBuf q = frame(ARP_REQUEST);
        assertThat(Ethernet.dst(q, 0)).isEqualTo(0xffff_ffff_ffffL);
        assertThat(Ethernet.src(q, 0)).isEqualTo(0x5254_0012_3456L);
        assertThat(Arp.op(q, L3)).isEqualTo(Arp.OP_REQUEST);
        assertThat(Arp.sha(q, L3)).isEqualTo(0x5254_0012_3456L);
        assertThat(Arp.spa(q, L3)).isEqualTo(0x0a00_0001);
        assertThat(Arp.tha(q, L3)).isZero();
        assertThat(Arp.tpa(q, L3)).isEqualTo(0x0a00_0002);
        ByteBuf r = frame(ARP_REPLY);
        assertThat(Arp.op(r, L3)).isEqualTo(Arp.OP_REPLY);
        assertThat(Arp.sha(r, L3)).isEqualTo(0x0200_5e10_0001L);
        assertThat(Arp.tha(r, L3)).isEqualTo(0x5254_0012_3456L);
    }

    @Test
    void randomFieldsSurviveEmitThenParse() {
        Random rnd = new Random(0x11_0005L);
        for (int i = 0; i < 500; i++) {
            long dst = rnd.nextLong() & 0xffff_ffff_ffffL;
            long src = rnd.nextLong() & 0xffff_ffff_ffffL;
            int type = rnd.nextInt(0x10000);
            int op = rnd.nextInt(0x10000);
            long sha = rnd.nextLong() & 0xffff_ffff_ffffL;
            long tha = rnd.nextLong() & 0xffff_ffff_ffffL;
            int spa = rnd.nextInt();
            int tpa = rnd.nextInt();
            int o = rnd.nextInt(16);
            ByteBuf b = junk(o + L3 + Arp.LENGTH);
            Ethernet.write(b, o, dst, src, type);
            Arp.write(b, o + L3, op, sha, spa, tha, tpa);
            assertThat(Ethernet.dst(b, o)).isEqualTo(dst);
            assertThat(Ethernet.src(b, o)).isEqualTo(src);
            assertThat(Ethernet.type(b, o)).isEqualTo(type);
            assertThat(Arp.isEthernetIpv4(b, o + L3)).isTrue();
            assertThat(Arp.op(b, o + L3)).isEqualTo(op);
            assertThat(Arp.sha(b, o + L3)).isEqualTo(sha);
            assertThat(Arp.spa(b, o + L3)).isEqualTo(spa);
            assertThat(Arp.tha(b, o + L3)).isEqualTo(tha);
            assertThat(Arp.tpa(b, o + L3)).isEqualTo(tpa);
        }
    }
}
