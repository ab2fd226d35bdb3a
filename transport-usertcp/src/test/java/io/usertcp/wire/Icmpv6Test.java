package io.usertcp.wire;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/** {@link Icmpv6}: types, the NS/NA target, and the bounded Neighbor Discovery option walk (RFC 4861 §4.6). */
class Icmpv6Test {
    private static final long MAC = 0x5254_0012_3456L;
    private static final long MAC2 = 0x0200_5e10_0001L;

    @Test
    void typesAndCodes() {
        assertThat(new int[]{Icmpv6.DEST_UNREACHABLE, Icmpv6.PACKET_TOO_BIG, Icmpv6.TIME_EXCEEDED,
                Icmpv6.PARAMETER_PROBLEM}).containsExactly(1, 2, 3, 4);
        assertThat(new int[]{Icmpv6.NO_ROUTE, Icmpv6.ADMIN, Icmpv6.BEYOND_SCOPE, Icmpv6.ADDRESS_UNREACHABLE,
                Icmpv6.PORT_UNREACHABLE}).containsExactly(0, 1, 2, 3, 4);
        assertThat(Icmpv6.REASSEMBLY).isEqualTo(1);
        assertThat(new int[]{Icmpv6.ERRONEOUS_HEADER, Icmpv6.UNRECOGNIZED_NEXT_HEADER,
                Icmpv6.UNRECOGNIZED_OPTION}).containsExactly(0, 1, 2);
        assertThat(new int[]{Icmpv6.ECHO_REQUEST, Icmpv6.ECHO_REPLY, Icmpv6.ROUTER_SOLICIT, Icmpv6.ROUTER_ADVERT,
                Icmpv6.NEIGHBOR_SOLICIT, Icmpv6.NEIGHBOR_ADVERT, Icmpv6.REDIRECT})
                .containsExactly(128, 129, 133, 134, 135, 136, 137);
        assertThat(new int[]{Icmpv6.SOURCE_LL_ADDR, Icmpv6.TARGET_LL_ADDR, Icmpv6.MTU}).containsExactly(1, 2, 5);
        assertThat(new int[]{Icmpv6.ROUTER, Icmpv6.SOLICITED, Icmpv6.OVERRIDE})
                .containsExactly(0x80000000, 0x40000000, 0x20000000);
        assertThat(Icmpv6.HEADER_LENGTH).isEqualTo(8);
    }

    @Test
    void errorsAreTheTypesBelow128() {
        for (int t = 0; t < 128; t++) {
            assertThat(Icmpv6.isError(t)).as("type %d", t).isTrue();
        }
        for (int t = 128; t < 256; t++) {
            assertThat(Icmpv6.isError(t)).as("type %d", t).isFalse();
        }
    }

    @Test
    void neighborAdvertisementFields() {
        ByteBuf b = Unpooled.buffer(64);
        try {
            int o = 5;
            Icmpv6.writeHeader(b, o, Icmpv6.NEIGHBOR_ADVERT, 0, Icmpv6.SOLICITED | Icmpv6.OVERRIDE);
            Ipv6.writeAddress(b, o + 8, 0xfe80_0000_0000_0000L, 0x5054_00ff_fe12_3456L);
            int n = Icmpv6.writeLinkLayerOption(b, o + Icmpv6.NS_NA_LENGTH, Icmpv6.TARGET_LL_ADDR, MAC);
            b.writerIndex(o + Icmpv6.NS_NA_LENGTH + n);
            assertThat(n).isEqualTo(8);
            assertThat(Icmpv6.type(b, o)).isEqualTo(136);
            assertThat(Icmpv6.code(b, o)).isZero();
            assertThat(Icmpv6.word(b, o)).isEqualTo(0x6000_0000);
            assertThat(Icmpv6.word(b, o) & Icmpv6.ROUTER).isZero();
            assertThat(Icmpv6.targetHi(b, o)).isEqualTo(0xfe80_0000_0000_0000L);
            assertThat(Icmpv6.targetLo(b, o)).isEqualTo(0x5054_00ff_fe12_3456L);
            assertThat((int) b.getUnsignedByte(o + 24)).isEqualTo(2);
            assertThat((int) b.getUnsignedByte(o + 25)).isEqualTo(1);
            assertThat(Icmpv6.linkLayerOption(b, o + 24, 8, Icmpv6.TARGET_LL_ADDR)).isEqualTo(MAC);
            assertThat(Icmpv6.linkLayerOption(b, o + 24, 8, Icmpv6.SOURCE_LL_ADDR)).isEqualTo(-1);
        } finally {
            b.release();
        }
    }

    /** A buffer holding {@code bytes} at offset 3, writer index at their end. */
    private static ByteBuf options(int... bytes) {
        ByteBuf b = Unpooled.buffer(3 + bytes.length);
        b.writeZero(3);
        for (int x : bytes) {
            b.writeByte(x);
        }
        return b;
    }

    private static long walk(ByteBuf b, int type) {
        return Icmpv6.linkLayerOption(b, 3, b.writerIndex() - 3, type);
    }

    @Test
    void findsTheOptionAmongOthers() {
        ByteBuf b = options(
                5, 1, 0, 0, 0, 0, 0x05, 0xdc,                       // MTU 1500
                3, 4, 64, 0xc0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, // prefix information (32 bytes)
                0, 0, 0, 0, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0,
                200, 1, 9, 9, 9, 9, 9, 9,                           // unknown option: skipped
                1, 1, 0x52, 0x54, 0x00, 0x12, 0x34, 0x56,           // source link-layer address
                1, 1, 0x02, 0x00, 0x5e, 0x10, 0x00, 0x01);          // a second one: the first counts
        try {
            assertThat(walk(b, Icmpv6.SOURCE_LL_ADDR)).isEqualTo(MAC);
            assertThat(walk(b, Icmpv6.TARGET_LL_ADDR)).isEqualTo(Icmpv6.OPTION_ABSENT);
            assertThat(Icmpv6.linkLayerOption(b, 3, 0, Icmpv6.SOURCE_LL_ADDR)).isEqualTo(-1); // no options
            // Starting at the second link-layer option.
            assertThat(Icmpv6.linkLayerOption(b, 3 + 56, 8, Icmpv6.SOURCE_LL_ADDR)).isEqualTo(MAC2);
        } finally {
            b.release();
        }
    }

    @Test
    void anOptionOfLengthZeroMakesTheMessageMalformed() {
        // Wherever it is: before the wanted option, after it, or with the wanted option absent.
        int[][] cases = {
                {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0x52, 0x54, 0x00, 0x12, 0x34, 0x56},
                {1, 1, 0x52, 0x54, 0x00, 0x12, 0x34, 0x56, 5, 0, 0, 0, 0, 0, 0, 0},
                {5, 0},
                {1, 0, 0x52, 0x54, 0x00, 0x12, 0x34, 0x56},
        };
        for (int[] c : cases) {
            ByteBuf b = options(c);
            try {
                assertThat(walk(b, Icmpv6.SOURCE_LL_ADDR)).isEqualTo(Icmpv6.OPTION_MALFORMED);
                assertThat(walk(b, Icmpv6.TARGET_LL_ADDR)).isEqualTo(-2);
            } finally {
                b.release();
            }
        }
    }

    @Test
    void optionsRunningPastTheEndAreMalformed() {
        ByteBuf b = options(
                1, 1, 0x52, 0x54, 0x00, 0x12, 0x34, 0x56,
                5, 2, 0, 0, 0, 0, 0, 0);                            // claims 16 bytes, has 8
        try {
            assertThat(walk(b, Icmpv6.SOURCE_LL_ADDR)).isEqualTo(-2);
            // The range itself past the buffer's data, or negative.
            assertThat(Icmpv6.linkLayerOption(b, 3, 64, Icmpv6.SOURCE_LL_ADDR)).isEqualTo(-2);
            assertThat(Icmpv6.linkLayerOption(b, 3, -1, Icmpv6.SOURCE_LL_ADDR)).isEqualTo(-2);
            assertThat(Icmpv6.linkLayerOption(b, -1, 8, Icmpv6.SOURCE_LL_ADDR)).isEqualTo(-2);
            assertThat(Icmpv6.linkLayerOption(b, Integer.MAX_VALUE, 8, Icmpv6.SOURCE_LL_ADDR)).isEqualTo(-2);
            assertThat(Icmpv6.linkLayerOption(b, 3, Integer.MAX_VALUE, Icmpv6.SOURCE_LL_ADDR)).isEqualTo(-2);
            // Only the first 8 bytes: well-formed.
            assertThat(Icmpv6.linkLayerOption(b, 3, 8, Icmpv6.SOURCE_LL_ADDR)).isEqualTo(MAC);
        } finally {
            b.release();
        }
    }

    @Test
    void aLinkLayerOptionOfTheWrongLengthIsMalformed() {
        ByteBuf b = options(1, 2, 0x52, 0x54, 0x00, 0x12, 0x34, 0x56, 0, 0, 0, 0, 0, 0, 0, 0);
        try {
            assertThat(walk(b, Icmpv6.SOURCE_LL_ADDR)).isEqualTo(-2);
            assertThat(walk(b, Icmpv6.TARGET_LL_ADDR)).isEqualTo(-1); // not the one asked for: just skipped
        } finally {
            b.release();
        }
    }

    @Test
    void everyTruncationIsReportedNeverThrown() {
        int[] full = {5, 1, 0, 0, 0, 0, 0x05, 0xdc, 1, 1, 0x52, 0x54, 0x00, 0x12, 0x34, 0x56};
        ByteBuf b = options(full);
        try {
            for (int len = 0; len <= full.length; len++) {
                long r = Icmpv6.linkLayerOption(b, 3, len, Icmpv6.SOURCE_LL_ADDR);
                if (len == 0 || len == 8) {
                    assertThat(r).as("length %d", len).isEqualTo(-1);
                } else if (len == 16) {
                    assertThat(r).isEqualTo(MAC);
                } else {
                    assertThat(r).as("length %d", len).isEqualTo(-2);
                }
            }
        } finally {
            b.release();
        }
    }

    @Test
    void randomOptionsNeverThrowOrReadOutside() {
        Random rnd = new Random(4861);
        for (int n = 0; n < 20_000; n++) {
            int len = rnd.nextInt(48);
            ByteBuf b = Unpooled.buffer(len, len); // capacity = data: reading past the range would throw
            for (int i = 0; i < len; i++) {
                b.writeByte(rnd.nextInt(4) == 0 ? rnd.nextInt(4) : rnd.nextInt(256));
            }
            long r = Icmpv6.linkLayerOption(b, 0, len, 1 + rnd.nextInt(2));
            assertThat(r).isBetween(-2L, 0xffff_ffff_ffffL);
            b.release();
        }
    }
}
