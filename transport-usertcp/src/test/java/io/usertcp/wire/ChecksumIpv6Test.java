package io.usertcp.wire;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/** {@link Checksum#ipv6Pseudo}: the RFC 8200 §8.1 pseudo-header, against hand and byte-by-byte computations. */
class ChecksumIpv6Test {
    private static final long FE80 = 0xfe80_0000_0000_0000L;

    /** An ICMPv6 echo request fe80::1 -> fe80::2, id 0x1234, seq 1, with {@code data}; checksum filled in. */
    private static ByteBuf echo(byte[] data) {
        int icmpLen = Icmpv6.HEADER_LENGTH + data.length;
        ByteBuf b = Unpooled.buffer(Ipv6.HEADER_LENGTH + icmpLen);
        b.writerIndex(Ipv6.HEADER_LENGTH + icmpLen);
        Ipv6.write(b, 0, 0, icmpLen, Ipv6.ICMPV6, 64, FE80, 1, FE80, 2);
        int o = Ipv6.HEADER_LENGTH;
        Icmpv6.writeHeader(b, o, Icmpv6.ECHO_REQUEST, 0, 0x1234_0001);
        b.setBytes(o + Icmpv6.HEADER_LENGTH, data);
        long sum = Checksum.ipv6Pseudo(Ipv6.srcHi(b, 0), Ipv6.srcLo(b, 0), Ipv6.dstHi(b, 0), Ipv6.dstLo(b, 0),
                Ipv6.ICMPV6, icmpLen);
        b.setShort(o + 2, Checksum.finish(Checksum.add(b, o, icmpLen, sum)));
        return b;
    }

    @Test
    void echoRequestMatchesTheHandComputedChecksum() {
        // 16-bit words: fe80 + 0001 + fe80 + 0002 (addresses) + 0008 (length) + 003a (next header)
        //             + 8000 (type 128, code 0) + 1234 + 0001 = 0x28f7a -> folded 0x8f7c -> complement 0x7083.
        ByteBuf b = echo(new byte[0]);
        try {
            assertThat(Icmpv6.checksum(b, Ipv6.HEADER_LENGTH)).isEqualTo(0x7083);
            assertThat(Icmpv6.echoId(b, Ipv6.HEADER_LENGTH)).isEqualTo(0x1234);
            assertThat(Icmpv6.echoSequence(b, Ipv6.HEADER_LENGTH)).isEqualTo(1);
            // The receiver's check: pseudo-header plus message sums to 0xffff.
            long pseudo = Checksum.ipv6Pseudo(FE80, 1, FE80, 2, Ipv6.ICMPV6, 8);
            assertThat(Checksum.fold(Checksum.add(b, Ipv6.HEADER_LENGTH, 8, pseudo))).isEqualTo(0xffff);
            // Any other pseudo-header (wrong destination, protocol or length) does not verify.
            assertThat(Checksum.fold(Checksum.add(b, Ipv6.HEADER_LENGTH, 8,
                    Checksum.ipv6Pseudo(FE80, 1, FE80, 3, Ipv6.ICMPV6, 8)))).isNotEqualTo(0xffff);
            assertThat(Checksum.fold(Checksum.add(b, Ipv6.HEADER_LENGTH, 8,
                    Checksum.ipv6Pseudo(FE80, 1, FE80, 2, Ipv6.UDP, 8)))).isNotEqualTo(0xffff);
            assertThat(Checksum.fold(Checksum.add(b, Ipv6.HEADER_LENGTH, 8,
                    Checksum.ipv6Pseudo(FE80, 1, FE80, 2, Ipv6.ICMPV6, 9)))).isNotEqualTo(0xffff);
        } finally {
            b.release();
        }
    }

    @Test
    void echoWithOddLengthDataVerifies() {
        ByteBuf b = echo("hello, world!".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
        try {
            int len = Ipv6.payloadLength(b, 0);
            long pseudo = Checksum.ipv6Pseudo(FE80, 1, FE80, 2, Ipv6.ICMPV6, len);
            assertThat(Checksum.fold(Checksum.add(b, Ipv6.HEADER_LENGTH, len, pseudo))).isEqualTo(0xffff);
            assertThat(Icmpv6.checksum(b, Ipv6.HEADER_LENGTH))
                    .isEqualTo(naiveChecksum(FE80, 1, FE80, 2, Ipv6.ICMPV6, b, Ipv6.HEADER_LENGTH, len, true));
        } finally {
            b.release();
        }
    }

    @Test
    void matchesAByteByBytePseudoHeader() {
        Random rnd = new Random(8200);
        for (int n = 0; n < 5000; n++) {
            long sh = rnd.nextLong();
            long sl = rnd.nextLong();
            long dh = rnd.nextLong();
            long dl = rnd.nextLong();
            int nh = rnd.nextInt(256);
            // Upper-layer lengths up to and beyond 16 bits (the field is 32 bits, RFC 8200 §8.1).
            int len = n % 3 == 0 ? rnd.nextInt(0x10000) : rnd.nextInt() & 0x7fff_ffff;
            assertThat(Checksum.fold(Checksum.ipv6Pseudo(sh, sl, dh, dl, nh, len)))
                    .as("case %d", n)
                    .isEqualTo(foldNaive(sh, sl, dh, dl, nh, len));
        }
    }

    /** The folded sum of the 40-byte pseudo-header laid out as in RFC 8200 §8.1, word by word. */
    private static int foldNaive(long sh, long sl, long dh, long dl, int nh, int len) {
        byte[] p = new byte[40];
        System.arraycopy(Ipv6.toBytes(sh, sl), 0, p, 0, 16);
        System.arraycopy(Ipv6.toBytes(dh, dl), 0, p, 16, 16);
        p[32] = (byte) (len >>> 24);
        p[33] = (byte) (len >>> 16);
        p[34] = (byte) (len >>> 8);
        p[35] = (byte) len;
        p[39] = (byte) nh;
        long s = 0;
        for (int i = 0; i < 40; i += 2) {
            s += ((p[i] & 0xff) << 8) | (p[i + 1] & 0xff);
        }
        while ((s >>> 16) != 0) {
            s = (s & 0xffff) + (s >>> 16);
        }
        return (int) s;
    }

    /**
     * The checksum of pseudo-header and {@code len} bytes of {@code b}, summing 16-bit words one at a time (the
     * stored checksum field, if {@code skipChecksumField}, counts as zero).
     */
    private static int naiveChecksum(long sh, long sl, long dh, long dl, int nh, ByteBuf b, int o, int len,
                                     boolean skipChecksumField) {
        long s = foldNaive(sh, sl, dh, dl, nh, len);
        for (int i = 0; i < len; i += 2) {
            if (skipChecksumField && i == 2) {
                continue;
            }
            int hiByte = b.getUnsignedByte(o + i);
            int loByte = i + 1 < len ? b.getUnsignedByte(o + i + 1) : 0;
            s += (hiByte << 8) | loByte;
        }
        while ((s >>> 16) != 0) {
            s = (s & 0xffff) + (s >>> 16);
        }
        return ~(int) s & 0xffff;
    }
}
