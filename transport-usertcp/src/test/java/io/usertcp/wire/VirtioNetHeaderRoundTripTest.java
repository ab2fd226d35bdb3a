package io.usertcp.wire;

import io.netty.buffer.ByteBuf;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/** {@link VirtioNetHeader}: the little-endian layout of {@code struct virtio_net_hdr}, written and read back. */
class VirtioNetHeaderRoundTripTest extends WireRoundTrip {

    @Test
    void partialHeaderOfATsoFrameHasTheKernelLayout() {
        // A TCP/IPv4 super-segment: checksum from byte 34 (14 + 20), field at +16, 1448-byte pieces, 66 bytes of
        // headers (14 + 20 + 32): flags 01, gso_type 01, then hdr_len, gso_size, csum_start, csum_offset LE.
        ByteBuf b = junk(VirtioNetHeader.LENGTH);
        VirtioNetHeader.writePartial(b, 0, 34, 16, VirtioNetHeader.GSO_TCPV4, 1448, 66);
        assertSameBytes(b, 0, frame("01014200a8052200" + "1000"), 0, VirtioNetHeader.LENGTH);
        assertThat(VirtioNetHeader.flags(b, 0)).isEqualTo(VirtioNetHeader.F_NEEDS_CSUM);
        assertThat(VirtioNetHeader.gsoType(b, 0)).isEqualTo(VirtioNetHeader.GSO_TCPV4);
        assertThat(VirtioNetHeader.hdrLen(b, 0)).isEqualTo(66);
        assertThat(VirtioNetHeader.gsoSize(b, 0)).isEqualTo(1448);
        assertThat(VirtioNetHeader.csumStart(b, 0)).isEqualTo(34);
        assertThat(VirtioNetHeader.csumOffset(b, 0)).isEqualTo(16);
        VirtioNetHeader.writeNone(b, 0);
        assertSameBytes(b, 0, frame("00000000000000000000"), 0, VirtioNetHeader.LENGTH);
    }

    @Test
    void randomFieldsSurviveEmitThenParse() {
        Random rnd = new Random(0x11_0010L);
        for (int i = 0; i < 1000; i++) {
            int start = rnd.nextInt(0x10000);
            int off = rnd.nextInt(0x10000);
            int type = rnd.nextInt(256);
            int size = rnd.nextInt(0x10000);
            int hdr = rnd.nextInt(0x10000);
            int o = rnd.nextInt(8);
            ByteBuf b = junk(o + VirtioNetHeader.LENGTH);
            VirtioNetHeader.writePartial(b, o, start, off, type, size, hdr);
            assertThat(VirtioNetHeader.flags(b, o)).isEqualTo(VirtioNetHeader.F_NEEDS_CSUM);
            assertThat(VirtioNetHeader.gsoType(b, o)).isEqualTo(type);
            assertThat(VirtioNetHeader.hdrLen(b, o)).isEqualTo(hdr);
            assertThat(VirtioNetHeader.gsoSize(b, o)).isEqualTo(size);
            assertThat(VirtioNetHeader.csumStart(b, o)).isEqualTo(start);
            assertThat(VirtioNetHeader.csumOffset(b, o)).isEqualTo(off);
        }
    }
}
