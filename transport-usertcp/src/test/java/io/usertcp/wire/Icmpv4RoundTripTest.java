package io.usertcp.wire;

import io.netty.buffer.ByteBuf;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@link Icmpv4}: echo request and reply, destination unreachable with the next-hop MTU (RFC 1191), time
 * exceeded and parameter problem, each quoting the offending datagram; real messages re-emitted byte for byte.
 */
class Icmpv4RoundTripTest extends WireRoundTrip {

    private static int icmp(ByteBuf f) {
        return L3 + Ipv4.headerLength(f, L3);
    }

    private static int icmpLength(ByteBuf f) {
        return Ipv4.totalLength(f, L3) - Ipv4.headerLength(f, L3);
    }

    @Test
    void echoRequestFieldsAndReEmit() {
        ByteBuf f = frame(ICMP4_ECHO);
        int o = icmp(f);
        int len = icmpLength(f);
        assertThat(Icmpv4.type(f, o)).isEqualTo(Icmpv4.ECHO_REQUEST);
        assertThat(Icmpv4.code(f, o)).isZero();
        assertThat(Icmpv4.echoId(f, o)).isEqualTo(0x1234);
        assertThat(Icmpv4.echoSequence(f, o)).isEqualTo(7);
        assertThat(Icmpv4.checksum(f, o)).isEqualTo(0x875e);
        assertThat(Icmpv4.checksumOk(f, o, len)).isTrue();
        ByteBuf out = junk(4 + len);
        Icmpv4.writeHeader(out, 4, Icmpv4.type(f, o), Icmpv4.code(f, o),
                Icmpv4.echoWord(Icmpv4.echoId(f, o), Icmpv4.echoSequence(f, o)));
        out.setBytes(Icmpv4.dataOffset(4), f, Icmpv4.dataOffset(o), len - Icmpv4.HEADER_LENGTH);
        Icmpv4.fillChecksum(out, 4, len);
        assertSameBytes(out, 4, f, o, len);
    }

    @Test
    void echoReplyKeepsIdSequenceAndDataAndVerifies() {
        ByteBuf f = frame(ICMP4_ECHO);
        int o = icmp(f);
        int len = icmpLength(f);
        ByteBuf r = junk(1 + len);
        Icmpv4.writeEchoReply(r, 1, f, o, len);
        assertThat(Icmpv4.type(r, 1)).isEqualTo(Icmpv4.ECHO_REPLY);
        assertThat(Icmpv4.code(r, 1)).isZero();
        assertThat(Icmpv4.word(r, 1)).isEqualTo(Icmpv4.word(f, o));
        assertSameBytes(r, 1 + Icmpv4.HEADER_LENGTH, f, o + Icmpv4.HEADER_LENGTH, len - Icmpv4.HEADER_LENGTH);
        assertThat(Icmpv4.checksumOk(r, 1, len)).isTrue();
        // Only the type changed: the checksum moves by exactly 8 << 8 (RFC 1624 incremental update).
        assertThat(Icmpv4.checksum(r, 1)).isEqualTo(Icmpv4.checksum(f, o) + 0x0800);
    }

    @Test
    void errorsQuotingTheDatagramReEmitByteForByte() {
        ByteBuf need = frame(ICMP4_FRAG_NEEDED);
        int o = icmp(need);
        assertThat(Icmpv4.type(need, o)).isEqualTo(Icmpv4.DEST_UNREACHABLE);
        assertThat(Icmpv4.code(need, o)).isEqualTo(Icmpv4.CODE_FRAG_NEEDED);
        assertThat(Icmpv4.nextHopMtu(need, o)).isEqualTo(1400);
        int q = Icmpv4.dataOffset(o);
        assertThat(Ipv4.src(need, q)).isEqualTo(0x0a00_0002);
        assertThat(Ipv4.dontFragment(need, q)).isTrue();
        assertThat(Udp.dstPort(need, q + Ipv4.headerLength(need, q))).isEqualTo(6000);
        int quoted = icmpLength(need) - Icmpv4.HEADER_LENGTH;
        ByteBuf out = junk(3 + Icmpv4.HEADER_LENGTH + quoted);
        int len = Icmpv4.writeError(out, 3, Icmpv4.DEST_UNREACHABLE, Icmpv4.CODE_FRAG_NEEDED,
                Icmpv4.fragNeededWord(Icmpv4.nextHopMtu(need, o)), need, q, quoted);
        assertThat(len).isEqualTo(icmpLength(need));
        assertSameBytes(out, 3, need, o, len);

        ByteBuf ttl = frame(ICMP4_TIME_EXCEEDED);
        o = icmp(ttl);
        assertThat(Icmpv4.type(ttl, o)).isEqualTo(Icmpv4.TIME_EXCEEDED);
        assertThat(Icmpv4.code(ttl, o)).isEqualTo(Icmpv4.CODE_TTL_EXCEEDED);
        assertThat(Icmpv4.word(ttl, o)).isZero();
        len = Icmpv4.writeError(out, 3, Icmpv4.TIME_EXCEEDED, Icmpv4.CODE_TTL_EXCEEDED, 0, ttl,
                Icmpv4.dataOffset(o), quoted);
        assertSameBytes(out, 3, ttl, o, len);
        assertThat(Icmpv4.checksumOk(out, 3, len)).isTrue();
    }

    @Test
    void randomErrorsSurviveEmitThenParse() {
        Random rnd = new Random(0x11_0792L);
        ByteBuf datagram = frame(UDP4_OPTIONS);
        for (int i = 0; i < 1000; i++) {
            int type = rnd.nextInt(256);
            int code = rnd.nextInt(256);
            int mtu = rnd.nextInt(0x10000);
            int pointer = rnd.nextInt(256);
            int id = rnd.nextInt(0x10000);
            int seq = rnd.nextInt(0x10000);
            int quoted = rnd.nextInt(datagram.readableBytes() - L3 + 1);
            int o = rnd.nextInt(8);
            ByteBuf b = junk(o + Icmpv4.HEADER_LENGTH + quoted);
            int word = switch (i % 3) {
                case 0 -> Icmpv4.fragNeededWord(mtu);
                case 1 -> Icmpv4.pointerWord(pointer);
                default -> Icmpv4.echoWord(id, seq);
            };
            int len = Icmpv4.writeError(b, o, type, code, word, datagram, L3, quoted);
            assertThat(len).isEqualTo(Icmpv4.HEADER_LENGTH + quoted);
            assertThat(Icmpv4.type(b, o)).isEqualTo(type);
            assertThat(Icmpv4.code(b, o)).isEqualTo(code);
            assertThat(Icmpv4.checksumOk(b, o, len)).isTrue();
            switch (i % 3) {
                case 0 -> assertThat(Icmpv4.nextHopMtu(b, o)).isEqualTo(mtu);
                case 1 -> assertThat(Icmpv4.pointer(b, o)).isEqualTo(pointer);
                default -> {
                    assertThat(Icmpv4.echoId(b, o)).isEqualTo(id);
                    assertThat(Icmpv4.echoSequence(b, o)).isEqualTo(seq);
                }
            }
            assertSameBytes(b, Icmpv4.dataOffset(o), datagram, L3, quoted);
        }
    }
}
