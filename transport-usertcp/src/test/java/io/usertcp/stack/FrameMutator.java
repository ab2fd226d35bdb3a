package io.usertcp.stack;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Seeded mutations of Ethernet frames for {@link MalformedFrameFuzzTest}: bit flips, bytes set to interesting
 * values, truncation, extension, and overwrites of the length-like fields a parser trusts (IPv4 IHL, total
 * length and fragment field, IPv6 payload length and extension header lengths, TCP data offset and option
 * lengths, UDP length, ICMP quoted headers, NDP option lengths, fragment offsets and identifications, ARP
 * lengths), found by parsing the frame before mutating it. Afterwards, on request, the IPv4 header checksum and
 * the TCP, UDP, ICMP and ICMPv6 checksums (with the pseudo-header of the packet's family) are recomputed, so the
 * mutation gets past the checksum checks into the code behind them.
 *
 * <p>Every choice comes from the {@link SplittableRandom} given, so a seed replays the same mutations.
 */
final class FrameMutator {
    private static final int[] INTERESTING8 = {0, 1, 0x7f, 0x80, 0xff, 0xfe};
    private static final int ETH = 14;

    private final SplittableRandom r;
    /** What the last {@link #mutate} did, for the failure message. */
    final StringBuilder what = new StringBuilder();

    FrameMutator(SplittableRandom r) {
        this.r = r;
    }

    /** A mutated copy of {@code in}; {@link #what} says how. */
    byte[] mutate(byte[] in) {
        what.setLength(0);
        byte[] f = in.clone();
        List<int[]> fields = fields(f);
        int ops = 1 + (r.nextInt(4) == 0 ? r.nextInt(3) : 0);
        for (int k = 0; k < ops; k++) {
            int op = r.nextInt(100);
            if (op < 20) {
                f = bitFlips(f);
            } else if (op < 35) {
                f = interesting(f);
            } else if (op < 75 && !fields.isEmpty()) {
                f = lengthField(f, fields.get(r.nextInt(fields.size())));
            } else if (op < 85) {
                f = truncate(f);
            } else if (op < 93) {
                f = extend(f);
            } else {
                f = lengthField(f, fields.isEmpty() ? new int[] {ETH, 2} : fields.get(r.nextInt(fields.size())));
            }
        }
        if (r.nextBoolean()) {
            fixChecksums(f);
            what.append(" +checksums");
        }
        return f;
    }

    private byte[] bitFlips(byte[] f) {
        if (f.length == 0) {
            return f;
        }
        int n = 1 + r.nextInt(8);
        what.append("flip");
        for (int i = 0; i < n; i++) {
            // Mostly in the headers, where the parsers look.
            int bit = r.nextInt(Math.min(f.length, r.nextBoolean() ? 120 : f.length) * 8);
            f[bit >>> 3] ^= (byte) (1 << (bit & 7));
            what.append(' ').append(bit >>> 3).append('.').append(bit & 7);
        }
        what.append("; ");
        return f;
    }

    private byte[] interesting(byte[] f) {
        if (f.length == 0) {
            return f;
        }
        int n = 1 + r.nextInt(4);
        what.append("set");
        for (int i = 0; i < n; i++) {
            int at = r.nextInt(Math.min(f.length, r.nextBoolean() ? 120 : f.length));
            int v = INTERESTING8[r.nextInt(INTERESTING8.length)];
            f[at] = (byte) v;
            what.append(' ').append(at).append('=').append(Integer.toHexString(v));
        }
        what.append("; ");
        return f;
    }

    private byte[] truncate(byte[] f) {
        int len = r.nextInt(f.length + 1);
        what.append("truncate ").append(len).append("; ");
        return Arrays.copyOf(f, len);
    }

    private byte[] extend(byte[] f) {
        int add = r.nextInt(4) == 0 ? r.nextInt(1, 9000) : r.nextInt(1, 64);
        byte[] g = Arrays.copyOf(f, f.length + add);
        int fill = r.nextInt(3);
        for (int i = f.length; i < g.length; i++) {
            g[i] = fill == 0 ? 0 : fill == 1 ? (byte) 0xff : (byte) r.nextInt(256);
        }
        what.append("extend ").append(add).append("; ");
        return g;
    }

    /** Overwrites a 1- or 2-byte field with a value a length check must survive. */
    private byte[] lengthField(byte[] f, int[] field) {
        int at = field[0];
        int width = field[1];
        if (at + width > f.length) {
            return f;
        }
        int old = width == 1 ? f[at] & 0xff : ((f[at] & 0xff) << 8) | (f[at + 1] & 0xff);
        int v;
        if (width == 1) {
            int[] c = {0, 1, 2, 3, 4, 5, 7, 8, 0x0f, 0x10, 0x3f, 0x40, 0x7f, 0x80, 0xfe, 0xff,
                (old + 1) & 0xff, (old - 1) & 0xff, old ^ 0x0f, old ^ 0xf0, r.nextInt(256)};
            v = c[r.nextInt(c.length)];
        } else if (width == 4) {
            v = r.nextInt();
        } else {
            int rest = f.length - ETH;
            int[] c = {0, 1, 7, 8, 19, 20, 21, 39, 40, 41, 48, rest - 1, rest, rest + 1, rest - 40, rest - 20,
                rest - 8, 1280, 1500, 0x7fff, 0x8000, 0xfff8, 0xfffe, 0xffff, old + 1, old - 1, old + 8, old - 8,
                old ^ 0x1fff, old | 0x2000, old ^ 0x0001, r.nextInt(65536)};
            v = c[r.nextInt(c.length)] & 0xffff;
        }
        if (width == 1) {
            f[at] = (byte) v;
        } else {
            f[at] = (byte) (v >>> 8);
            f[at + 1] = (byte) v;
        }
        what.append("field@").append(at).append('/').append(width).append(' ').append(Integer.toHexString(old))
                .append("->").append(Integer.toHexString(v)).append("; ");
        return f;
    }

    // ------------------------------------------------------------------ frame layout

    private static int u8(byte[] f, int i) {
        return i >= 0 && i < f.length ? f[i] & 0xff : -1;
    }

    private static int u16(byte[] f, int i) {
        return i >= 0 && i + 1 < f.length ? ((f[i] & 0xff) << 8) | (f[i + 1] & 0xff) : -1;
    }

    /**
     * The length-like fields of a frame as {offset, width} pairs (width 1 or 2), found by a lenient parse of
     * the original: what the mutator aims at.
     */
    static List<int[]> fields(byte[] f) {
        List<int[]> out = new ArrayList<>();
        int type = u16(f, 12);
        out.add(new int[] {12, 2});
        if (type == 0x0806) {
            for (int i : new int[] {0, 2, 6}) {
                out.add(new int[] {ETH + i, 2});
            }
            out.add(new int[] {ETH + 4, 1});
            out.add(new int[] {ETH + 5, 1});
        } else if (type == 0x0800) {
            ipv4Fields(f, ETH, out, true);
        } else if (type == 0x86dd) {
            ipv6Fields(f, ETH, out, true);
        }
        out.removeIf(x -> x[0] + x[1] > f.length);
        return out;
    }

    private static void ipv4Fields(byte[] f, int o, List<int[]> out, boolean deep) {
        out.add(new int[] {o, 1}); // version and IHL
        out.add(new int[] {o + 2, 2}); // total length
        out.add(new int[] {o + 4, 2}); // identification
        out.add(new int[] {o + 6, 2}); // flags and fragment offset
        out.add(new int[] {o + 9, 1}); // protocol
        int ihl = (u8(f, o) & 0xf) * 4;
        if (ihl < 20) {
            return;
        }
        for (int i = o + 20; i < o + ihl && i < f.length; ) { // IPv4 options: type, length
            int t = u8(f, i);
            if (t == 0 || t == 1) {
                i++;
                continue;
            }
            out.add(new int[] {i + 1, 1});
            int l = u8(f, i + 1);
            if (l < 2) {
                break;
            }
            if (l > 2) {
                out.add(new int[] {i + 2, 1}); // record-route pointer
            }
            i += l;
        }
        if ((u16(f, o + 6) & 0x1fff) != 0) {
            return;
        }
        upperFields(f, o + ihl, u8(f, o + 9), false, out, deep);
    }

    private static void ipv6Fields(byte[] f, int o, List<int[]> out, boolean deep) {
        out.add(new int[] {o + 4, 2}); // payload length
        out.add(new int[] {o + 6, 1}); // next header
        out.add(new int[] {o + 7, 1}); // hop limit (NDP wants 255)
        int nh = u8(f, o + 6);
        int p = o + 40;
        for (int n = 0; n < 12 && p < f.length; n++) {
            if (nh == 0 || nh == 60 || nh == 43) {
                out.add(new int[] {p, 1});
                out.add(new int[] {p + 1, 1});
                int len = (u8(f, p + 1) + 1) * 8;
                if (nh == 43) {
                    out.add(new int[] {p + 2, 1}); // routing type
                    out.add(new int[] {p + 3, 1}); // segments left
                } else {
                    for (int i = p + 2; i < p + len && i < f.length; ) { // options: type, length
                        int t = u8(f, i);
                        if (t == 0) {
                            i++;
                            continue;
                        }
                        out.add(new int[] {i, 1});
                        out.add(new int[] {i + 1, 1});
                        int l = u8(f, i + 1);
                        if (l < 0) {
                            break;
                        }
                        i += 2 + l;
                    }
                }
                nh = u8(f, p);
                p += len;
            } else if (nh == 44) {
                out.add(new int[] {p, 1});
                out.add(new int[] {p + 2, 2}); // offset and M
                out.add(new int[] {p + 4, 2}); // identification
                out.add(new int[] {p + 6, 2});
                if ((u16(f, p + 2) & 0xfff8) != 0) {
                    return;
                }
                nh = u8(f, p);
                p += 8;
            } else {
                break;
            }
        }
        upperFields(f, p, nh, true, out, deep);
    }

    private static void upperFields(byte[] f, int l4, int proto, boolean v6, List<int[]> out, boolean deep) {
        if (l4 >= f.length) {
            return;
        }
        if (proto == 6) {
            out.add(new int[] {l4 + 12, 1}); // data offset
            out.add(new int[] {l4 + 13, 1}); // flags
            out.add(new int[] {l4 + 14, 2}); // window
            out.add(new int[] {l4 + 18, 2}); // urgent pointer
            int doff = (u8(f, l4 + 12) >>> 4) * 4;
            for (int i = l4 + 20; i < l4 + doff && i < f.length; ) {
                int k = u8(f, i);
                if (k == 0 || k == 1) {
                    i++;
                    continue;
                }
                out.add(new int[] {i, 1}); // option kind
                out.add(new int[] {i + 1, 1}); // option length
                int l = u8(f, i + 1);
                if (k == 5 && l >= 10) {
                    out.add(new int[] {i + 2, 2}); // SACK block edges
                    out.add(new int[] {i + 6, 2});
                }
                if (l < 2) {
                    break;
                }
                i += l;
            }
        } else if (proto == 17) {
            out.add(new int[] {l4 + 4, 2}); // UDP length
            out.add(new int[] {l4 + 2, 2}); // destination port
        } else if (proto == 1 && !v6) {
            out.add(new int[] {l4, 1});
            out.add(new int[] {l4 + 1, 1});
            out.add(new int[] {l4 + 6, 2}); // next-hop MTU of fragmentation needed
            int t = u8(f, l4);
            if (deep && (t == 3 || t == 11 || t == 12) && u8(f, l4 + 8) >>> 4 == 4) {
                ipv4Fields(f, l4 + 8, out, false); // the quoted header
            }
        } else if (proto == 58 && v6) {
            out.add(new int[] {l4, 1});
            out.add(new int[] {l4 + 1, 1});
            out.add(new int[] {l4 + 4, 2}); // MTU of packet too big, pointer of parameter problem
            out.add(new int[] {l4 + 6, 2});
            int t = u8(f, l4);
            if (t == 135 || t == 136) {
                for (int i = l4 + 24; i < f.length; ) { // NDP options: type, length in units of 8
                    out.add(new int[] {i, 1});
                    out.add(new int[] {i + 1, 1});
                    int l = u8(f, i + 1);
                    if (l <= 0) {
                        break;
                    }
                    i += l * 8;
                }
            } else if (deep && t < 128 && u8(f, l4 + 8) >>> 4 == 6) {
                ipv6Fields(f, l4 + 8, out, false); // the quoted packet
            }
        }
    }

    // ------------------------------------------------------------------ checksums

    /** The Internet checksum of {@code len} bytes of {@code b} from {@code off} on top of {@code sum}. */
    static int checksum(byte[] b, int off, int len, long sum) {
        int end = off + len;
        int i = off;
        for (; i + 1 < end; i += 2) {
            sum += ((b[i] & 0xff) << 8) | (b[i + 1] & 0xff);
        }
        if (i < end) {
            sum += (b[i] & 0xff) << 8;
        }
        while ((sum >>> 16) != 0) {
            sum = (sum & 0xffff) + (sum >>> 16);
        }
        return (int) (~sum & 0xffff);
    }

    private static long sum(byte[] b, int off, int len) {
        long s = 0;
        for (int i = off; i + 1 < off + len; i += 2) {
            s += ((b[i] & 0xff) << 8) | (b[i + 1] & 0xff);
        }
        return s;
    }

    /**
     * Recomputes the checksums of a (possibly mutated) frame where its headers still say where they are: the
     * IPv4 header checksum, then, for an unfragmented packet (or an atomic IPv6 fragment), the transport
     * checksum over the length the IP header gives, with the pseudo-header of RFC 9293 §3.1 / RFC 8200 §8.1.
     */
    static void fixChecksums(byte[] f) {
        int type = u16(f, 12);
        if (type == 0x0800) {
            int o = ETH;
            if (f.length < o + 20) {
                return;
            }
            int ihl = (f[o] & 0xf) * 4;
            if (ihl < 20 || o + ihl > f.length) {
                return;
            }
            f[o + 10] = 0;
            f[o + 11] = 0;
            Raw6Peer.putShort(f, o + 10, checksum(f, o, ihl, 0));
            int total = Math.min(u16(f, o + 2), f.length - o);
            if (total < ihl || (u16(f, o + 6) & 0x3fff) != 0) {
                return; // a fragment: the transport checksum covers the whole datagram
            }
            int l4 = o + ihl;
            int l4len = total - ihl;
            long pseudo = sum(f, o + 12, 8) + (f[o + 9] & 0xff);
            transport(f, f[o + 9] & 0xff, l4, l4len, pseudo, false);
        } else if (type == 0x86dd) {
            int o = ETH;
            if (f.length < o + 40) {
                return;
            }
            int end = o + 40 + Math.min(u16(f, o + 4), f.length - o - 40);
            int nh = f[o + 6] & 0xff;
            int p = o + 40;
            for (int n = 0; n < 12; n++) {
                if (nh == 0 || nh == 60 || nh == 43) {
                    if (p + 2 > end) {
                        return;
                    }
                    nh = f[p] & 0xff;
                    p += ((f[p + 1] & 0xff) + 1) * 8;
                } else if (nh == 44) {
                    if (p + 8 > end || (u16(f, p + 2) & 0xfff9) != 0) {
                        return;
                    }
                    nh = f[p] & 0xff;
                    p += 8;
                } else {
                    break;
                }
            }
            if (p > end) {
                return;
            }
            long pseudo = sum(f, o + 8, 32) + nh;
            transport(f, nh, p, end - p, pseudo, true);
        }
    }

    private static void transport(byte[] f, int proto, int l4, int len, long pseudo, boolean v6) {
        if (proto == 6 && len >= 20) {
            f[l4 + 16] = 0;
            f[l4 + 17] = 0;
            Raw6Peer.putShort(f, l4 + 16, checksum(f, l4, len, pseudo + len));
        } else if (proto == 17 && len >= 8) {
            int ulen = u16(f, l4 + 4);
            if (ulen < 8 || ulen > len) {
                ulen = len;
            }
            f[l4 + 6] = 0;
            f[l4 + 7] = 0;
            int c = checksum(f, l4, ulen, pseudo + ulen);
            Raw6Peer.putShort(f, l4 + 6, c == 0 ? 0xffff : c);
        } else if ((proto == 1 && !v6 || proto == 58 && v6) && len >= 4) {
            f[l4 + 2] = 0;
            f[l4 + 3] = 0;
            Raw6Peer.putShort(f, l4 + 2, checksum(f, l4, len, v6 ? pseudo + len : 0));
        }
    }
}
