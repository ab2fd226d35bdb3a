package io.usertcp.link;

import io.usertcp.wire.SynFilter;

import java.util.Arrays;

/**
 * The classic BPF program on the receive ring's packet socket ({@link PacketRing}): it runs in the kernel, in the
 * context of whoever sends the frame, before the frame is copied into the ring.
 *
 * <p>It always keeps only the frames the kernel sends out of the device ({@code PACKET_OUTGOING}): the frames we
 * write are "incoming" there. While a {@link SynFilter} is on it also drops the SYNs the filter covers (issue #10):
 * a spoofed SYN flood is then thinned at the flooder's cost, as the kernel's own SYN handling is on a veth pair,
 * and the event loop reads only a sample of it. The sources the stack knows are found by a binary search over
 * their sorted addresses (IPv6: their {@link SynFilter#fold}), compiled into the program as a tree of
 * comparisons.
 *
 * <p>Instructions are {@code struct sock_filter}, encoded in a long each: code (16 bits), jt, jf (8 bits each),
 * k (32 bits), from the most significant end. Offsets are from the Ethernet header (a packet socket of type
 * SOCK_RAW sees the frame from its link-layer header). A load beyond the frame's end ends the program with 0,
 * which drops the frame: only a truncated IPv4 SYN can get there.
 */
final class RingFilter {
    /** linux/filter.h: BPF_MAXINSNS. */
    static final int MAX_INSNS = 4096;
    /** Source addresses compiled into the trees at most, both families (about 2.8 instructions each). */
    static final int MAX_KEEP = 1024;

    static final int LD_W_ABS = 0x20;
    static final int LD_H_ABS = 0x28;
    static final int LD_B_ABS = 0x30;
    static final int LD_H_IND = 0x48;
    static final int LD_B_IND = 0x50;
    static final int LDX_B_MSH = 0xb1;
    static final int ALU_AND_K = 0x54;
    static final int JA = 0x05;
    static final int JEQ_K = 0x15;
    static final int JGE_K = 0x35;
    static final int JSET_K = 0x45;
    static final int RET_K = 0x06;
    static final int MISC_TAX = 0x07;
    static final int ALU_XOR_X = 0xac;

    /** linux/filter.h: SKF_AD_OFF, and the ancillary loads of the packet type and of a random number. */
    static final int SKF_AD_OFF = -0x1000;
    static final int SKF_AD_PKTTYPE = 4;
    static final int SKF_AD_RANDOM = 56;
    static final int PACKET_OUTGOING = 4;

    /** Keeps the whole frame (a frame is at most 64 KiB with offload, plus its headers). */
    static final int ACCEPT = 0x40000;
    static final int DROP = 0;

    private long[] insns = new long[64];
    private int size;

    private RingFilter() {
    }

    /** The program for {@code f}: only outgoing frames, less the SYNs {@code f} drops. */
    static long[] program(SynFilter f) {
        RingFilter p = new RingFilter();
        p.add(LD_W_ABS, 0, 0, SKF_AD_OFF + SKF_AD_PKTTYPE);
        p.add(JEQ_K, 1, 0, PACKET_OUTGOING);
        p.add(RET_K, 0, 0, DROP);
        if (f.isNone()) {
            p.add(RET_K, 0, 0, ACCEPT);
            return p.done();
        }
        int[] keep = f.keep();
        int[] keepV6 = f.keepV6();
        if (keep.length + keepV6.length > MAX_KEEP) {
            // Which sources to keep is the caller's choice (the most recent); here the lowest addresses win.
            keep = Arrays.copyOf(keep, Math.min(keep.length, MAX_KEEP));
            keepV6 = Arrays.copyOf(keepV6, MAX_KEEP - keep.length);
        }
        p.add(LD_H_ABS, 0, 0, 12);
        p.add(JEQ_K, 1, 0, 0x0800);
        int toV6 = p.add(JA, 0, 0, 0);
        // IPv4 (RFC 894, RFC 791): protocol TCP, not a fragment (offset and MF zero).
        p.add(LD_B_ABS, 0, 0, 14 + 9);
        p.add(JEQ_K, 1, 0, 6);
        p.add(RET_K, 0, 0, ACCEPT);
        p.add(LD_H_ABS, 0, 0, 14 + 6);
        p.add(JSET_K, 0, 1, 0x3fff);
        p.add(RET_K, 0, 0, ACCEPT);
        // X = the IPv4 header's length; the TCP flags are byte 13 of the TCP header: SYN set, ACK clear.
        p.add(LDX_B_MSH, 0, 0, 14);
        p.add(LD_B_IND, 0, 0, 14 + 13);
        p.add(ALU_AND_K, 0, 0, 0x12);
        p.add(JEQ_K, 1, 0, 0x02);
        p.add(RET_K, 0, 0, ACCEPT);
        p.ports(f.ports(), LD_H_IND, 14 + 2);
        p.add(LD_W_ABS, 0, 0, 14 + 12);
        p.search(keep);
        p.dropAtRandom(f.pass());
        // IPv6 (RFC 2464, RFC 8200): TCP as the first next header (a SYN behind extension headers passes).
        p.patchJa(toV6, p.size);
        p.add(JEQ_K, 1, 0, 0x86dd);
        p.add(RET_K, 0, 0, ACCEPT);
        p.add(LD_B_ABS, 0, 0, 14 + 6);
        p.add(JEQ_K, 1, 0, 6);
        p.add(RET_K, 0, 0, ACCEPT);
        p.add(LD_B_ABS, 0, 0, 14 + 40 + 13);
        p.add(ALU_AND_K, 0, 0, 0x12);
        p.add(JEQ_K, 1, 0, 0x02);
        p.add(RET_K, 0, 0, ACCEPT);
        p.ports(f.ports(), LD_H_ABS, 14 + 40 + 2);
        // A = the source address's four words XORed (SynFilter.fold).
        p.add(LD_W_ABS, 0, 0, 14 + 8);
        for (int w = 1; w < 4; w++) {
            p.add(MISC_TAX, 0, 0, 0);
            p.add(LD_W_ABS, 0, 0, 14 + 8 + 4 * w);
            p.add(ALU_XOR_X, 0, 0, 0);
        }
        p.search(keepV6);
        p.dropAtRandom(f.pass());
        return p.done();
    }

    /** Accepts the frame unless the port loaded by {@code load} at {@code offset} is one of {@code ports}. */
    private void ports(int[] ports, int load, int offset) {
        if (ports.length == 0) {
            return;
        }
        add(load, 0, 0, offset);
        for (int i = 0; i < ports.length; i++) {
            add(JEQ_K, ports.length - i, 0, ports[i]); // to the first instruction after the RET below
        }
        add(RET_K, 0, 0, ACCEPT);
    }

    /** Accepts the frame if A is in {@code keep}; else goes on after the search. */
    private void search(int[] keep) {
        if (keep.length == 0) {
            return;
        }
        int[] toEnd = new int[keep.length / 2 + 2]; // leaves hold 2 to 4 sources (1 when there is only 1)
        int jumps = tree(keep, 0, keep.length, toEnd, 0);
        for (int i = 0; i < jumps; i++) {
            patchJa(toEnd[i], size);
        }
    }

    /** Returns: accepts the frame with probability {@code pass} / 2^32, else drops it. */
    private void dropAtRandom(long pass) {
        if (pass == 0) {
            add(RET_K, 0, 0, DROP);
            return;
        }
        add(LD_W_ABS, 0, 0, SKF_AD_OFF + SKF_AD_RANDOM);
        add(JGE_K, 1, 0, (int) Math.min(pass, 0xffff_ffffL)); // random >= pass: drop
        add(RET_K, 0, 0, ACCEPT);
        add(RET_K, 0, 0, DROP);
    }

    /**
     * Emits the search for the source address (in A) among {@code keep[lo, hi)}: a match returns ACCEPT, a miss
     * jumps past the search; the jumps to patch go to {@code toRandom} from index {@code n}. Returns the new n.
     */
    private int tree(int[] keep, int lo, int hi, int[] toRandom, int n) {
        if (hi - lo <= 4) {
            for (int i = lo; i < hi; i++) {
                add(JEQ_K, 0, 1, keep[i]);
                add(RET_K, 0, 0, ACCEPT);
            }
            toRandom[n] = add(JA, 0, 0, 0);
            return n + 1;
        }
        int mid = (lo + hi) >>> 1;
        add(JGE_K, 0, 1, keep[mid]); // A >= keep[mid]: the next instruction, a jump to the upper half
        int toUpper = add(JA, 0, 0, 0);
        n = tree(keep, lo, mid, toRandom, n);
        patchJa(toUpper, size);
        return tree(keep, mid, hi, toRandom, n);
    }

    private int add(int code, int jt, int jf, int k) {
        if (jt > 255 || jf > 255) {
            throw new IllegalStateException("a conditional jump of more than 255 instructions");
        }
        if (size == insns.length) {
            insns = Arrays.copyOf(insns, size * 2);
        }
        insns[size] = encode(code, jt, jf, k);
        return size++;
    }

    private void patchJa(int at, int target) {
        insns[at] = encode(JA, 0, 0, target - at - 1);
    }

    private long[] done() {
        if (size > MAX_INSNS) {
            throw new IllegalStateException("a filter of " + size + " instructions (the kernel takes " + MAX_INSNS + ")");
        }
        return Arrays.copyOf(insns, size);
    }

    static long encode(int code, int jt, int jf, int k) {
        return ((long) code << 48) | ((long) jt << 40) | ((long) jf << 32) | (k & 0xffff_ffffL);
    }

    static int code(long insn) {
        return (int) (insn >>> 48) & 0xffff;
    }

    static int jt(long insn) {
        return (int) (insn >>> 40) & 0xff;
    }

    static int jf(long insn) {
        return (int) (insn >>> 32) & 0xff;
    }

    static int k(long insn) {
        return (int) insn;
    }
}
