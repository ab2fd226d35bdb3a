package io.usertcp.link;

import io.usertcp.wire.SynFilter;
import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The receive ring's classic BPF program ({@link RingFilter}), run by a small interpreter of the instructions it
 * uses, with the kernel's semantics (linux/filter.h, Documentation/networking/filter.rst): unsigned comparisons,
 * a load beyond the frame's end returns 0. {@code TapDeviceTest} checks that the kernel takes the same programs.
 */
class RingFilterTest {
    static final int OUTGOING = 4;
    static final int HOST = 0;
    static final int SRC = 0xc6120001; // 198.18.0.1
    static final int OTHER = 0xc612ab07;
    static final long V6_HI = 0xfd00_0000_0000_0001L;
    static final long V6_KEPT = 0x42;

    @Test
    void withoutASynFilterOnlyTheKernelsOwnFramesPass() {
        long[] p = RingFilter.program(SynFilter.NONE);
        byte[] syn = tcp(SRC, 7000, 0x02, false);
        assertThat(run(p, syn, OUTGOING, 0)).isTrue();
        assertThat(run(p, syn, HOST, 0)).as("a frame we wrote").isFalse();
        assertThat(run(p, arp(), OUTGOING, 0)).isTrue();
    }

    @Test
    void aFilterDropsOnlyTheSynsItCoversAndOnlyAboveThePassProbability() {
        long pass = 1L << 30; // one in four
        long[] p = RingFilter.program(SynFilter.of(pass, new int[] {7000, 443}, new int[] {SRC},
                new int[] {SynFilter.fold(V6_HI, V6_KEPT)}));
        // Not covered: they pass whatever the random number.
        int never = 0xffff_ffff;
        assertThat(run(p, arp(), OUTGOING, never)).as("ARP").isTrue();
        assertThat(run(p, tcp6(V6_HI, 9, 7000, 0x12, 6), OUTGOING, never)).as("IPv6 SYN-ACK").isTrue();
        assertThat(run(p, tcp6(V6_HI, 9, 7000, 0x02, 0), OUTGOING, never)).as("behind an extension").isTrue();
        assertThat(run(p, tcp6(V6_HI, 9, 8080, 0x02, 6), OUTGOING, never)).as("IPv6, another port").isTrue();
        assertThat(run(p, tcp6(V6_HI, V6_KEPT, 7000, 0x02, 6), OUTGOING, never)).as("a kept IPv6 source").isTrue();
        assertThat(run(p, tcp6(V6_HI, 9, 7000, 0x02, 6), OUTGOING, never)).as("an IPv6 SYN").isFalse();
        assertThat(run(p, tcp6(V6_HI, 9, 443, 0x02, 6), OUTGOING, (int) pass - 1)).isTrue();
        assertThat(run(p, tcp(OTHER, 7000, 0x12, false), OUTGOING, never)).as("SYN-ACK").isTrue();
        assertThat(run(p, tcp(OTHER, 7000, 0x10, false), OUTGOING, never)).as("ACK").isTrue();
        assertThat(run(p, tcp(OTHER, 7000, 0x04, false), OUTGOING, never)).as("RST").isTrue();
        assertThat(run(p, tcp(OTHER, 7000, 0x02, true), OUTGOING, never)).as("a fragment").isTrue();
        assertThat(run(p, tcp(OTHER, 8080, 0x02, false), OUTGOING, never)).as("another port").isTrue();
        assertThat(run(p, tcp(SRC, 7000, 0x02, false), OUTGOING, never)).as("a kept source").isTrue();
        assertThat(run(p, udp(OTHER, 7000), OUTGOING, never)).as("UDP").isTrue();
        assertThat(run(p, tcp(OTHER, 7000, 0x02, false), HOST, 0)).as("our own SYN").isFalse();
        // Covered: drop when random >= pass (unsigned), else pass.
        assertThat(run(p, tcp(OTHER, 7000, 0x02, false), OUTGOING, (int) pass)).isFalse();
        assertThat(run(p, tcp(OTHER, 443, 0x02, false), OUTGOING, 0x8000_0000)).isFalse();
        assertThat(run(p, tcp(OTHER, 7000, 0x02 | 0x08, false), OUTGOING, never)).as("SYN with PSH").isFalse();
        assertThat(run(p, tcp(OTHER, 7000, 0x02, false), OUTGOING, (int) pass - 1)).isTrue();
        assertThat(run(p, tcp(OTHER, 7000, 0x02, false), OUTGOING, 0)).isTrue();
    }

    @Test
    void noPortsCoverEveryPortAndPassZeroDropsEveryCoveredSyn() {
        long[] p = RingFilter.program(SynFilter.of(0, new int[0], new int[0]));
        assertThat(run(p, tcp(OTHER, 1, 0x02, false), OUTGOING, 0)).isFalse();
        assertThat(run(p, tcp(SRC, 65535, 0x02, false), OUTGOING, 0)).isFalse();
        assertThat(run(p, tcp(SRC, 65535, 0x10, false), OUTGOING, 0)).isTrue();
    }

    @Test
    void aThousandKeptSourcesAreFoundByTheCompiledSearchAndAgreeWithTheSpec() {
        SplittableRandom r = new SplittableRandom(7);
        int[] keep = new int[RingFilter.MAX_KEEP];
        for (int i = 0; i < keep.length; i++) {
            keep[i] = r.nextInt(); // both halves of the unsigned range
        }
        SynFilter f = SynFilter.of(0, new int[] {7000}, keep);
        long[] p = RingFilter.program(f);
        assertThat(p.length).as("instructions").isLessThanOrEqualTo(RingFilter.MAX_INSNS);
        for (int a : keep) {
            assertThat(run(p, tcp(a, 7000, 0x02, false), OUTGOING, 0)).as("kept %08x", a).isTrue();
        }
        for (int i = 0; i < 20_000; i++) {
            int a = i < 2 ? (i == 0 ? 0 : -1) : r.nextInt();
            boolean passes = run(p, tcp(a, 7000, 0x02, false), OUTGOING, 0);
            assertThat(passes).as("source %08x", a).isEqualTo(!f.covers(a, 7000));
        }
    }

    @Test
    void everySizeOfSearchFindsWhatItKeepsInBothFamilies() {
        SplittableRandom r = new SplittableRandom(9);
        for (int n = 0; n <= 70; n++) {
            int[] keep = new int[n];
            long[] lo6 = new long[n];
            int[] folds = new int[n];
            for (int i = 0; i < n; i++) {
                keep[i] = r.nextInt();
                lo6[i] = r.nextLong();
                folds[i] = SynFilter.fold(V6_HI, lo6[i]);
            }
            SynFilter f = SynFilter.of(0, new int[0], keep, folds);
            long[] p = RingFilter.program(f);
            for (int i = 0; i < n; i++) {
                assertThat(run(p, tcp(keep[i], 80, 0x02, false), OUTGOING, 0)).as("n %d: kept %d", n, i).isTrue();
                assertThat(run(p, tcp6(V6_HI, lo6[i], 80, 0x02, 6), OUTGOING, 0)).as("n %d: v6 %d", n, i).isTrue();
            }
            for (int i = 0; i < 200; i++) {
                int a = r.nextInt();
                long lo = r.nextLong();
                assertThat(run(p, tcp(a, 80, 0x02, false), OUTGOING, 0)).isEqualTo(!f.covers(a, 80));
                assertThat(run(p, tcp6(V6_HI, lo, 80, 0x02, 6), OUTGOING, 0)).isEqualTo(!f.coversV6(V6_HI, lo, 80));
            }
        }
        int[] half = new int[RingFilter.MAX_KEEP / 2];
        for (int i = 0; i < half.length; i++) {
            half[i] = r.nextInt();
        }
        assertThat(RingFilter.program(SynFilter.of(1, new int[] {1, 2, 3, 4, 5, 6, 7, 8}, half, half)).length)
                .as("the largest program").isLessThanOrEqualTo(RingFilter.MAX_INSNS);
    }

    @Test
    void aBadSpecIsRefusedWithTheReason() {
        assertThatThrownBy(() -> SynFilter.of(-1, new int[0], new int[0])).hasMessageContaining("pass");
        assertThatThrownBy(() -> SynFilter.of(0, new int[] {0}, new int[0])).hasMessageContaining("port");
    }

    // ------------------------------------------------------------------ frames

    private static byte[] arp() {
        byte[] f = new byte[42];
        f[12] = 0x08;
        f[13] = 0x06;
        return f;
    }

    /** An IPv6 TCP segment from {@code hi:lo}, with {@code next} as the first next header. */
    private static byte[] tcp6(long hi, long lo, int dstPort, int flags, int next) {
        byte[] f = new byte[14 + 40 + 20];
        f[12] = (byte) 0x86;
        f[13] = (byte) 0xdd;
        f[14] = 0x60;
        f[14 + 6] = (byte) next;
        putInt(f, 14 + 8, (int) (hi >>> 32));
        putInt(f, 14 + 12, (int) hi);
        putInt(f, 14 + 16, (int) (lo >>> 32));
        putInt(f, 14 + 20, (int) lo);
        f[14 + 40 + 2] = (byte) (dstPort >>> 8);
        f[14 + 40 + 3] = (byte) dstPort;
        f[14 + 40 + 13] = (byte) flags;
        return f;
    }

    /** An IPv4 TCP segment with a 24-byte IPv4 header (one option word), so that the header length matters. */
    private static byte[] tcp(int src, int dstPort, int flags, boolean fragment) {
        int ihl = 24;
        byte[] f = new byte[14 + ihl + 20];
        f[12] = 0x08;
        f[14] = (byte) (0x40 | ihl / 4);
        if (fragment) {
            f[14 + 6] = 0x20; // MF
        }
        f[14 + 9] = 6;
        putInt(f, 14 + 12, src);
        putInt(f, 14 + 16, 0xc6120002);
        f[14 + ihl] = (byte) 0xc3;
        f[14 + ihl + 1] = 0x50;
        f[14 + ihl + 2] = (byte) (dstPort >>> 8);
        f[14 + ihl + 3] = (byte) dstPort;
        f[14 + ihl + 13] = (byte) flags;
        return f;
    }

    private static byte[] udp(int src, int dstPort) {
        byte[] f = tcp(src, dstPort, 0x02, false);
        f[14 + 9] = 17;
        return f;
    }

    private static void putInt(byte[] f, int at, int v) {
        f[at] = (byte) (v >>> 24);
        f[at + 1] = (byte) (v >>> 16);
        f[at + 2] = (byte) (v >>> 8);
        f[at + 3] = (byte) v;
    }

    // ------------------------------------------------------------------ the interpreter

    /** Runs {@code program} over {@code frame}; true if it keeps the frame (returns non-zero). */
    static boolean run(long[] program, byte[] frame, int pktType, int random) {
        int a = 0;
        int x = 0;
        int pc = 0;
        for (int steps = 0; steps < 100_000; steps++) {
            long insn = program[pc];
            int code = RingFilter.code(insn);
            int k = RingFilter.k(insn);
            int jt = RingFilter.jt(insn);
            int jf = RingFilter.jf(insn);
            pc++;
            switch (code) {
                case RingFilter.LD_W_ABS:
                    if (k == RingFilter.SKF_AD_OFF + RingFilter.SKF_AD_PKTTYPE) {
                        a = pktType;
                    } else if (k == RingFilter.SKF_AD_OFF + RingFilter.SKF_AD_RANDOM) {
                        a = random;
                    } else {
                        if (k < 0 || k + 4 > frame.length) {
                            return false;
                        }
                        a = (frame[k] & 0xff) << 24 | (frame[k + 1] & 0xff) << 16 | (frame[k + 2] & 0xff) << 8
                                | (frame[k + 3] & 0xff);
                    }
                    break;
                case RingFilter.LD_H_ABS:
                case RingFilter.LD_H_IND: {
                    int at = code == RingFilter.LD_H_IND ? x + k : k;
                    if (at + 2 > frame.length) {
                        return false;
                    }
                    a = (frame[at] & 0xff) << 8 | (frame[at + 1] & 0xff);
                    break;
                }
                case RingFilter.LD_B_ABS:
                case RingFilter.LD_B_IND: {
                    int at = code == RingFilter.LD_B_IND ? x + k : k;
                    if (at + 1 > frame.length) {
                        return false;
                    }
                    a = frame[at] & 0xff;
                    break;
                }
                case RingFilter.LDX_B_MSH:
                    if (k + 1 > frame.length) {
                        return false;
                    }
                    x = (frame[k] & 0xf) * 4;
                    break;
                case RingFilter.ALU_AND_K:
                    a &= k;
                    break;
                case RingFilter.ALU_XOR_X:
                    a ^= x;
                    break;
                case RingFilter.MISC_TAX:
                    x = a;
                    break;
                case RingFilter.JA:
                    pc += k;
                    break;
                case RingFilter.JEQ_K:
                    pc += a == k ? jt : jf;
                    break;
                case RingFilter.JGE_K:
                    pc += Integer.compareUnsigned(a, k) >= 0 ? jt : jf;
                    break;
                case RingFilter.JSET_K:
                    pc += (a & k) != 0 ? jt : jf;
                    break;
                case RingFilter.RET_K:
                    return k != 0;
                default:
                    throw new AssertionError("an instruction the interpreter does not know: " + Integer.toHexString(code));
            }
        }
        throw new AssertionError("the program did not end");
    }
}
