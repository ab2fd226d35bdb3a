package io.usertcp.wire;

import io.netty.buffer.ByteBuf;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@link Icmpv6} messages: echo request and reply, packet too big, destination unreachable, time exceeded and
 * parameter problem quoting the invoking packet, with the checksum over the pseudo-header (RFC 4443 §2.3).
 */
class Icmpv6RoundTripTest extends WireRoundTrip {
    private static final int I = L3 + Ipv6.HEADER_LENGTH;

    private static boolean checksumOk(ByteBuf f) {
        return Icmpv6.checksumOk(f, I, Ipv6.payloadLength(f, L3), Ipv6.srcHi(f, L3), Ipv6.srcLo(f, L3),
                Ipv6.dstHi(f, L3), Ipv6.dstLo(f, L3));
    }

    @Test
    void echoRequestReEmitsAndItsReplyVerifies() {
        ByteBuf f = frame(ICMP6_ECHO);
        int len = Ipv6.payloadLength(f, L3);
        assertThat(checksumOk(f)).isTrue();
        assertThat(Icmpv6.type(f, I)).isEqualTo(Icmpv6.ECHO_REQUEST);
        assertThat(Icmpv6.echoId(f, I)).isEqualTo(0x99);
        assertThat(Icmpv6.echoSequence(f, I)).isEqualTo(3);
        ByteBuf out = junk(6 + len);
        Icmpv6.writeHeader(out, 6, Icmpv6.type(f, I), Icmpv6.code(f, I),
                Icmpv6.echoWord(Icmpv6.echoId(f, I), Icmpv6.echoSequence(f, I)));
        out.setBytes(6 + Icmpv6.HEADER_LENGTH, f, I + Icmpv6.HEADER_LENGTH, len - Icmpv6.HEADER_LENGTH);
        Icmpv6.fillChecksum(out, 6, len, Ipv6.srcHi(f, L3), Ipv6.srcLo(f, L3), Ipv6.dstHi(f, L3), Ipv6.dstLo(f, L3));
        assertSameBytes(out, 6, f, I, len);

        // The reply goes from the request's destination back to its source.
        Icmpv6.writeEchoReply(out, 6, f, I, len, Ipv6.dstHi(f, L3), Ipv6.dstLo(f, L3), Ipv6.srcHi(f, L3),
                Ipv6.srcLo(f, L3));
        assertThat(Icmpv6.type(out, 6)).isEqualTo(Icmpv6.ECHO_REPLY);
        assertThat(Icmpv6.word(out, 6)).isEqualTo(Icmpv6.word(f, I));
        assertSameBytes(out, 6 + Icmpv6.HEADER_LENGTH, f, I + Icmpv6.HEADER_LENGTH, len - Icmpv6.HEADER_LENGTH);
        assertThat(Icmpv6.checksumOk(out, 6, len, Ipv6.dstHi(f, L3), Ipv6.dstLo(f, L3), Ipv6.srcHi(f, L3),
                Ipv6.srcLo(f, L3))).isTrue();
    }

    @Test
    void errorsQuotingThePacketReEmitByteForByte() {
        String[] frames = {ICMP6_TOO_BIG, ICMP6_UNREACHABLE, ICMP6_TIME_EXCEEDED, ICMP6_PARAM_PROBLEM};
        int[][] expected = {{Icmpv6.PACKET_TOO_BIG, 0, 1280}, {Icmpv6.DEST_UNREACHABLE, Icmpv6.PORT_UNREACHABLE, 0},
                {Icmpv6.TIME_EXCEEDED, Icmpv6.HOP_LIMIT_EXCEEDED, 0},
                {Icmpv6.PARAMETER_PROBLEM, Icmpv6.UNRECOGNIZED_NEXT_HEADER, 40}};
        for (int i = 0; i < frames.length; i++) {
            ByteBuf f = frame(frames[i]);
            int len = Ipv6.payloadLength(f, L3);
            assertThat(checksumOk(f)).isTrue();
            assertThat(Icmpv6.type(f, I)).isEqualTo(expected[i][0]);
            assertThat(Icmpv6.isError(Icmpv6.type(f, I))).isTrue();
            assertThat(Icmpv6.code(f, I)).isEqualTo(expected[i][1]);
            assertThat(Icmpv6.word(f, I)).isEqualTo(expected[i][2]);
            if (expected[i][0] == Icmpv6.PACKET_TOO_BIG) {
                assertThat(Icmpv6.mtu(f, I)).isEqualTo(1280);
            }
            if (expected[i][0] == Icmpv6.PARAMETER_PROBLEM) {
                assertThat(Icmpv6.pointer(f, I)).isEqualTo(40);
            }
            int q = I + Icmpv6.HEADER_LENGTH;
            assertThat(Ipv6.version(f, q)).isEqualTo(6);
            assertThat(Ipv6.nextHeader(f, q)).isEqualTo(Ipv6.UDP);
            ByteBuf out = junk(1 + len);
            int n = Icmpv6.writeError(out, 1, Icmpv6.type(f, I), Icmpv6.code(f, I), Icmpv6.word(f, I), f, q,
                    len - Icmpv6.HEADER_LENGTH, Ipv6.srcHi(f, L3), Ipv6.srcLo(f, L3), Ipv6.dstHi(f, L3),
                    Ipv6.dstLo(f, L3));
            assertThat(n).isEqualTo(len);
            assertSameBytes(out, 1, f, I, len);
        }
    }

    @Test
    void randomErrorsSurviveEmitThenParse() {
        Random rnd = new Random(0x11_4443L);
        ByteBuf packet = frame(IPV6_EXT_UDP);
        for (int i = 0; i < 1000; i++) {
            int type = rnd.nextInt(128);
            int code = rnd.nextInt(256);
            int word = rnd.nextInt();
            int quoted = rnd.nextInt(packet.readableBytes() - L3 + 1);
            long sh = rnd.nextLong();
            long sl = rnd.nextLong();
            long dh = rnd.nextLong();
            long dl = rnd.nextLong();
            int o = rnd.nextInt(8);
            ByteBuf b = junk(o + Icmpv6.HEADER_LENGTH + quoted);
            int len = Icmpv6.writeError(b, o, type, code, word, packet, L3, quoted, sh, sl, dh, dl);
            assertThat(Icmpv6.type(b, o)).isEqualTo(type);
            assertThat(Icmpv6.code(b, o)).isEqualTo(code);
            assertThat(Icmpv6.word(b, o)).isEqualTo(word);
            assertThat(Icmpv6.mtu(b, o)).isEqualTo(word & 0xffff_ffffL);
            assertThat(Icmpv6.checksumOk(b, o, len, sh, sl, dh, dl)).isTrue();
            assertThat(Icmpv6.checksumOk(b, o, len, sh, sl, dh, dl ^ 1)).as("another destination").isFalse();
            assertSameBytes(b, o + Icmpv6.HEADER_LENGTH, packet, L3, quoted);
        }
    }
}
