package io.usertcp.fuzz;

/**
 * The input format of the {@code frames} target: raw Ethernet frames for the {@link Victim}, each with a control
 * byte that lets the fuzzer past the checks a blind mutation cannot pass.
 *
 * <pre>
 *   input  = options:u8 record*          options: Victim.OPT_* bits (virtio header, TSO)
 *   record = control:u8 length:u16 frame[length]   (the last frame is cut to what is left)
 *   control bit 0: recompute the checksums ({@link Frames#fixChecksums})
 *           bit 1: relative numbers: a TCP segment's acknowledgment number, and the sequence number of a TCP
 *                  segment quoted by an ICMP or ICMPv6 error, are offsets from the victim's initial sequence
 *                  number on that flow (so seeds stay valid whatever ISNs the stack picks)
 *           bit 2: with a virtio header, its flags say the checksum was verified (DATA_VALID)
 *           bit 3: no turn of the loop after this frame (frames arrive in one batch)
 *           bits 4-7: then let {@link Victim#STEPS}[n] of virtual time pass
 * </pre>
 */
final class RawFrames {
    static final int FIX_CHECKSUMS = 1;
    static final int RELATIVE = 2;
    static final int TRUSTED = 4;
    static final int BATCH = 8;

    private RawFrames() {
    }

    /** Runs one input against a fresh victim and checks it; throws on any finding. */
    static void run(byte[] data) {
        try (Victim v = replay(data)) {
            v.check();
        }
    }

    /** A fresh victim after the input (not checked, not closed). */
    static Victim replay(byte[] data) {
        FuzzInput in = new FuzzInput(data);
        Victim v = new Victim(in.u8());
        while (in.hasMore()) {
            int control = in.u8();
            byte[] frame = in.bytes(in.u16());
            if ((control & RELATIVE) != 0) {
                relative(v, frame);
            }
            if ((control & FIX_CHECKSUMS) != 0) {
                Frames.fixChecksums(frame, 0);
            }
            v.input(frame, (control & TRUSTED) != 0);
            if ((control & BATCH) == 0) {
                v.pump();
            }
            if ((control >>> 4) != 0) {
                v.advance(Victim.STEPS[control >>> 4]);
            }
        }
        return v;
    }

    /** Applies the relative numbering of control bit 1 to a frame from the peer, in place. */
    static void relative(Victim v, byte[] f) {
        int[] l4 = transport(f, 0);
        if (l4 == null) {
            return;
        }
        boolean v6 = l4[2] == 6;
        int p = l4[0];
        if (l4[1] == Frames.TCP && f.length >= p + 12) {
            Victim.Flow fl = v.existing(v6, Frames.u16(f, p + 2), Frames.u16(f, p));
            if (fl != null && fl.issKnown) {
                Frames.put32(f, p + 8, Frames.i32(f, p + 8) + fl.victimIss);
            }
        } else if ((l4[1] == Frames.ICMP && isIcmp4Error(Frames.u8(f, p)))
                || (l4[1] == Frames.ICMPV6 && Frames.u8(f, p) >= 0 && Frames.u8(f, p) < 128)) {
            int[] q = transport(f, p + 8 - Frames.ETH);
            if (q != null && q[1] == Frames.TCP && q[2] == l4[2] && f.length >= q[0] + 8) {
                Victim.Flow fl = v.existing(v6, Frames.u16(f, q[0]), Frames.u16(f, q[0] + 2));
                if (fl != null && fl.issKnown) {
                    Frames.put32(f, q[0] + 4, Frames.i32(f, q[0] + 4) + fl.victimIss);
                }
            }
        }
    }

    static boolean isIcmp4Error(int type) {
        return type == 3 || type == 4 || type == 5 || type == 11 || type == 12;
    }

    /**
     * Where the transport header of the (first fragment of the) IP packet after the Ethernet header at
     * {@code base} starts: {offset, protocol, IP version}, or null. A lenient parse for the fixups.
     */
    static int[] transport(byte[] f, int base) {
        int o = base + Frames.ETH;
        if (base == 0) {
            int type = Frames.u16(f, 12);
            if (type == Frames.TYPE_IPV4 && (Frames.u8(f, o) >>> 4) != 4
                    || type == Frames.TYPE_IPV6 && (Frames.u8(f, o) >>> 4) != 6
                    || type != Frames.TYPE_IPV4 && type != Frames.TYPE_IPV6) {
                return null;
            }
        }
        int version = Frames.u8(f, o) >>> 4;
        if (version == 4 && f.length >= o + 20) {
            if ((Frames.u16(f, o + 6) & 0x1fff) != 0) {
                return null;
            }
            return new int[] {o + (f[o] & 0xf) * 4, f[o + 9] & 0xff, 4};
        }
        if (version == 6 && f.length >= o + 40) {
            int nh = f[o + 6] & 0xff;
            int p = o + 40;
            for (int n = 0; n < 16 && p + 8 <= f.length; n++) {
                if (nh == Frames.HOP_BY_HOP || nh == Frames.DEST_OPTIONS || nh == Frames.ROUTING) {
                    nh = f[p] & 0xff;
                    p += ((f[p + 1] & 0xff) + 1) * 8;
                } else if (nh == Frames.FRAGMENT) {
                    if ((Frames.u16(f, p + 2) & 0xfff8) != 0) {
                        return null;
                    }
                    nh = f[p] & 0xff;
                    p += 8;
                } else {
                    break;
                }
            }
            return new int[] {p, nh, 6};
        }
        return null;
    }
}
