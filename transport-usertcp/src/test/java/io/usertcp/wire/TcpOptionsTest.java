package io.usertcp.wire;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/** {@link TcpOptions}: every option emitted, then parsed back from a whole header, and the parser's checks. */
class TcpOptionsTest {
    private static final int O = 5; // the TCP header starts at an offset, as in a frame

    /** A header at {@link #O} with room for 40 bytes of options, filled with a marker. */
    private static ByteBuf header() {
        ByteBuf b = Unpooled.buffer(O + Tcp.MAX_HEADER_LENGTH + 4);
        b.writerIndex(b.capacity());
        for (int i = 0; i < b.capacity(); i++) {
            b.setByte(i, 0xee);
        }
        return b;
    }

    /** Sets the header's data offset to end at {@code end} and parses its options. */
    private static TcpOptions parse(ByteBuf b, int end) {
        int len = end - O;
        assertThat(len % 4).as("options end on a word boundary").isZero();
        Tcp.writeHeader(b, O, 1, 2, 3, 4, len, Tcp.ACK, 5);
        TcpOptions opts = new TcpOptions().parse(b, O, Tcp.headerLength(b, O));
        assertThat(opts.malformed()).isFalse();
        return opts;
    }

    @Test
    void mss() {
        ByteBuf b = header();
        try {
            int end = TcpOptions.writeMss(b, O + 20, 65535);
            assertThat(end - (O + 20)).isEqualTo(TcpOptions.MSS_LENGTH);
            TcpOptions opts = parse(b, end);
            assertThat(opts.mss()).isEqualTo(65535);
            assertThat(opts.windowScale()).isEqualTo(-1);
            assertThat(opts.sackPermitted()).isFalse();
            assertThat(opts.hasTimestamp()).isFalse();
            assertThat(opts.sackCount()).isZero();
            assertThat((int) b.getUnsignedByte(end)).isEqualTo(0xee);
        } finally {
            b.release();
        }
    }

    @Test
    void windowScale() {
        ByteBuf b = header();
        try {
            int end = TcpOptions.writeWindowScale(b, O + 20, 14);
            assertThat(end - (O + 20)).isEqualTo(TcpOptions.WINDOW_SCALE_LENGTH);
            assertThat((int) b.getUnsignedByte(O + 20)).isEqualTo(Tcp.OPT_NOP);
            TcpOptions opts = parse(b, end);
            assertThat(opts.windowScale()).isEqualTo(14);
            assertThat(opts.mss()).isEqualTo(-1);
        } finally {
            b.release();
        }
    }

    @Test
    void sackPermitted() {
        ByteBuf b = header();
        try {
            int end = TcpOptions.writeSackPermitted(b, O + 20);
            assertThat(end - (O + 20)).isEqualTo(TcpOptions.SACK_PERMITTED_LENGTH);
            assertThat(parse(b, end).sackPermitted()).isTrue();
        } finally {
            b.release();
        }
    }

    @Test
    void timestamps() {
        ByteBuf b = header();
        try {
            int end = TcpOptions.writeTimestamps(b, O + 20, 0xffffffff, 0x80000001);
            assertThat(end - (O + 20)).isEqualTo(TcpOptions.TIMESTAMP_LENGTH);
            TcpOptions opts = parse(b, end);
            assertThat(opts.hasTimestamp()).isTrue();
            assertThat(opts.tsVal()).isEqualTo(0xffffffff);
            assertThat(opts.tsEcr()).isEqualTo(0x80000001);
        } finally {
            b.release();
        }
    }

    @Test
    void sackBlocksOneToFour() {
        for (int n = 1; n <= 4; n++) {
            ByteBuf b = header();
            try {
                int[] edges = new int[8];
                for (int k = 0; k < 2 * n; k++) {
                    edges[k] = 0x7ffffff0 + 100 * k; // across the sign bit
                }
                int end = TcpOptions.writeSack(b, O + 20, edges, n);
                assertThat(end - (O + 20)).isEqualTo(TcpOptions.sackLength(n)).isEqualTo(4 + 8 * n);
                TcpOptions opts = parse(b, end);
                assertThat(opts.sackCount()).isEqualTo(n);
                for (int k = 0; k < n; k++) {
                    assertThat(opts.sackLeft(k)).isEqualTo(edges[2 * k]);
                    assertThat(opts.sackRight(k)).isEqualTo(edges[2 * k + 1]);
                }
            } finally {
                b.release();
            }
        }
    }

    @Test
    void noSackBlocksWritesNothing() {
        ByteBuf b = header();
        try {
            assertThat(TcpOptions.writeSack(b, O + 20, new int[8], 0)).isEqualTo(O + 20);
            assertThat(TcpOptions.sackLength(0)).isZero();
            assertThat((int) b.getUnsignedByte(O + 20)).isEqualTo(0xee);
        } finally {
            b.release();
        }
    }

    @Test
    void timestampsWithThreeSackBlocksFillTheHeader() {
        ByteBuf b = header();
        try {
            int[] edges = {10, 20, 30, 40, 50, 60};
            int p = TcpOptions.writeTimestamps(b, O + 20, 7, 8);
            int end = TcpOptions.writeSack(b, p, edges, 3);
            assertThat(end - O).isEqualTo(Tcp.MAX_HEADER_LENGTH);
            TcpOptions opts = parse(b, end);
            assertThat(opts.tsVal()).isEqualTo(7);
            assertThat(opts.tsEcr()).isEqualTo(8);
            assertThat(opts.sackCount()).isEqualTo(3);
            assertThat(opts.sackLeft(2)).isEqualTo(50);
            assertThat(opts.sackRight(2)).isEqualTo(60);
        } finally {
            b.release();
        }
    }

    @Test
    void synOptionsEveryCombination() {
        for (int mask = 0; mask < 8; mask++) {
            boolean ws = (mask & 1) != 0;
            boolean sp = (mask & 2) != 0;
            boolean ts = (mask & 4) != 0;
            ByteBuf b = header();
            try {
                int end = TcpOptions.writeSynOptions(b, O + 20, 1460, ws ? 7 : -1, sp, ts, 123, 456);
                assertThat(end - (O + 20)).isEqualTo(TcpOptions.synOptionsLength(ws, sp, ts));
                TcpOptions opts = parse(b, end);
                assertThat(opts.mss()).isEqualTo(1460);
                assertThat(opts.windowScale()).isEqualTo(ws ? 7 : -1);
                assertThat(opts.sackPermitted()).isEqualTo(sp);
                assertThat(opts.hasTimestamp()).isEqualTo(ts);
                if (ts) {
                    assertThat(opts.tsVal()).isEqualTo(123);
                    assertThat(opts.tsEcr()).isEqualTo(456);
                }
            } finally {
                b.release();
            }
        }
        assertThat(TcpOptions.synOptionsLength(true, true, true)).isEqualTo(24);
    }

    @Test
    void nopsAndUnknownOptionsAreSkippedAndBadLengthsMarked() {
        ByteBuf b = header();
        try {
            int p = TcpOptions.writeNops(b, O + 20, 2);
            b.setByte(p, 30); // an unknown kind of 6 bytes, skipped by its length
            b.setByte(p + 1, 6);
            p = TcpOptions.writeMss(b, p + 6, 1000);
            TcpOptions opts = parse(b, p);
            assertThat(opts.mss()).isEqualTo(1000);

            b.setByte(O + 20, Tcp.OPT_MSS);
            b.setByte(O + 21, 1); // below 2
            Tcp.writeHeader(b, O, 1, 2, 3, 4, 24, Tcp.ACK, 5);
            assertThat(new TcpOptions().parse(b, O, 24).malformed()).isTrue();

            TcpOptions.writeTimestamps(b, O + 20, 1, 2); // 12 bytes in a header that has 8 of options
            Tcp.writeHeader(b, O, 1, 2, 3, 4, 28, Tcp.ACK, 5);
            TcpOptions cut = new TcpOptions().parse(b, O, 28);
            assertThat(cut.malformed()).isTrue();
            assertThat(cut.hasTimestamp()).isFalse();
        } finally {
            b.release();
        }
    }
}
