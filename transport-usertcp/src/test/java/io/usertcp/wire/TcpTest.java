package io.usertcp.wire;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/** {@link Tcp}: the fixed header emitted and parsed back, at an offset, with every flag and extreme values. */
class TcpTest {

    @Test
    void headerRoundTrip() {
        ByteBuf b = Unpooled.buffer(80);
        try {
            b.writerIndex(80);
            for (int i = 0; i < 80; i++) {
                b.setByte(i, 0xa5); // what writeHeader must overwrite
            }
            int o = 7;
            Tcp.writeHeader(b, o, 65535, 1, 0xdeadbeef, 0x80000000, 32, Tcp.SYN | Tcp.ACK, 0xfedc);
            assertThat(Tcp.srcPort(b, o)).isEqualTo(65535);
            assertThat(Tcp.dstPort(b, o)).isEqualTo(1);
            assertThat(Tcp.seq(b, o)).isEqualTo(0xdeadbeef);
            assertThat(Tcp.ack(b, o)).isEqualTo(0x80000000);
            assertThat(Tcp.headerLength(b, o)).isEqualTo(32);
            assertThat(Tcp.flags(b, o)).isEqualTo(Tcp.SYN | Tcp.ACK);
            assertThat(Tcp.window(b, o)).isEqualTo(0xfedc);
            assertThat(Tcp.checksum(b, o)).isZero();
            assertThat(Tcp.urgentPointer(b, o)).isZero();
            assertThat((int) b.getUnsignedByte(o - 1)).isEqualTo(0xa5); // nothing outside the header
            assertThat((int) b.getUnsignedByte(o + Tcp.MIN_HEADER_LENGTH)).isEqualTo(0xa5);
            Tcp.setChecksum(b, o, 0xbeef);
            assertThat(Tcp.checksum(b, o)).isEqualTo(0xbeef);
            assertThat(b.getUnsignedShort(o + Tcp.CHECKSUM_OFFSET)).isEqualTo(0xbeef);
        } finally {
            b.release();
        }
    }

    @Test
    void everyFlagAndHeaderLengthSurvive() {
        ByteBuf b = Unpooled.buffer(Tcp.MAX_HEADER_LENGTH);
        try {
            b.writerIndex(Tcp.MAX_HEADER_LENGTH);
            for (int flags = 0; flags < 256; flags++) {
                for (int len = Tcp.MIN_HEADER_LENGTH; len <= Tcp.MAX_HEADER_LENGTH; len += 4) {
                    Tcp.writeHeader(b, 0, 1, 2, 3, 4, len, flags, 5);
                    assertThat(Tcp.flags(b, 0)).isEqualTo(flags);
                    assertThat(Tcp.headerLength(b, 0)).isEqualTo(len);
                }
            }
            assertThat(Tcp.flagsToString(Tcp.SYN | Tcp.ACK)).isEqualTo("S.");
            assertThat(Tcp.flagsToString(Tcp.FIN | Tcp.RST | Tcp.PSH)).isEqualTo("FRP");
        } finally {
            b.release();
        }
    }
}
