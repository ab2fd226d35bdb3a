package io.usertcp.script;

import io.usertcp.wire.Ipv4;
import io.usertcp.wire.Tcp;

import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.List;

/**
 * The text form of segments and their options, both ways: options to and from bytes, and an actual segment
 * to the script syntax ({@code S. 0:0(0) ack 1 win 65535 <mss 1460,nop,wscale 5>}) with its sequence
 * numbers made relative to the initial sequence numbers, as the scripts write them.
 */
final class SegmentText {
    private SegmentText() {
    }

    /** The flag letters of the script syntax in the order they are printed. */
    static String flags(int flags) {
        StringBuilder sb = new StringBuilder();
        if ((flags & Tcp.SYN) != 0) {
            sb.append('S');
        }
        if ((flags & Tcp.FIN) != 0) {
            sb.append('F');
        }
        if ((flags & Tcp.RST) != 0) {
            sb.append('R');
        }
        if ((flags & Tcp.PSH) != 0) {
            sb.append('P');
        }
        if ((flags & Tcp.URG) != 0) {
            sb.append('U');
        }
        if ((flags & Tcp.ECE) != 0) {
            sb.append('E');
        }
        if ((flags & Tcp.CWR) != 0) {
            sb.append('W');
        }
        if ((flags & Tcp.ACK) != 0) {
            sb.append('.');
        }
        return sb.toString();
    }

    /** Parses flag letters (any order); throws on an unknown letter. */
    static int parseFlags(String s) {
        int f = 0;
        for (char c : s.toCharArray()) {
            switch (c) {
                case 'S': f |= Tcp.SYN; break;
                case 'F': f |= Tcp.FIN; break;
                case 'R': f |= Tcp.RST; break;
                case 'P': f |= Tcp.PSH; break;
                case 'U': f |= Tcp.URG; break;
                case 'E': f |= Tcp.ECE; break;
                case 'W': f |= Tcp.CWR; break;
                case '.': f |= Tcp.ACK; break;
                default: throw new IllegalArgumentException("unknown flag '" + c + "' in '" + s
                        + "' (flags are S F R P U E W and . for ACK)");
            }
        }
        return f;
    }

    /** Unsigned 32-bit text of {@code abs - base}. */
    static String rel(int abs, int base) {
        return Integer.toUnsignedString(abs - base);
    }

    /**
     * One segment in script syntax. {@code seqBase} is the ISN of the segment's sender, {@code ackBase} the
     * ISN of its receiver (SACK blocks describe the acknowledged space, so they use it too). Ports are printed
     * only when they differ from {@code defaultPorts} ({@code "src>dst"}). Padding after the options (an EOL
     * and zeros up to the 4-byte boundary) is not shown.
     */
    static String format(WireSegment s, boolean outbound, int seqBase, int ackBase, String defaultPorts) {
        return format(s, outbound, seqBase, ackBase, 0, 0, defaultPorts);
    }

    /**
     * As {@link #format(WireSegment, boolean, int, int, String)}, with the timestamp option's TSval shown relative
     * to {@code tsValBase} and its TSecr relative to {@code tsEcrBase}.
     */
    static String format(WireSegment s, boolean outbound, int seqBase, int ackBase, int tsValBase, int tsEcrBase,
                         String defaultPorts) {
        if (s.problem != null) {
            return (outbound ? "> " : "< ") + "(" + s.problem + ")";
        }
        StringBuilder sb = new StringBuilder(outbound ? "> " : "< ");
        String ports = ports(s);
        if (!ports.equals(defaultPorts)) {
            sb.append(ports).append(' ');
        }
        String f = flags(s.flags);
        sb.append(f.isEmpty() ? "-" : f).append(' ');
        int len = s.payload.length;
        sb.append(rel(s.seq, seqBase)).append(':').append(rel(s.seq + len, seqBase)).append('(').append(len)
                .append(')');
        if ((s.flags & Tcp.ACK) != 0) {
            sb.append(" ack ").append(rel(s.ack, ackBase));
        } else if (s.ack != 0) {
            sb.append(" ack-field ").append(Integer.toUnsignedString(s.ack));
        }
        sb.append(" win ").append(s.window);
        if ((s.flags & Tcp.URG) != 0 || s.urgent != 0) {
            sb.append(" urg ").append(s.urgent);
        }
        if (s.reserved != 0) {
            sb.append(" reserved ").append(s.reserved);
        }
        if (s.options.length > 0) {
            sb.append(" <").append(String.join(",", formatOptions(s.options, ackBase, tsValBase, tsEcrBase)))
                    .append('>');
        }
        return sb.toString();
    }

    /** {@code src>dst} ports, with the addresses when they are not the usual pair. */
    static String ports(WireSegment s) {
        String src = s.srcIp == ScriptedPeer.PEER_IP || s.srcIp == ScriptedPeer.STACK_IP ? "" : Ipv4.toString(s.srcIp) + ":";
        String dst = s.dstIp == ScriptedPeer.PEER_IP || s.dstIp == ScriptedPeer.STACK_IP ? "" : Ipv4.toString(s.dstIp) + ":";
        return src + s.srcPort + ">" + dst + s.dstPort;
    }

    /** The options as canonical text items ({@code "mss 1460"}, {@code "sack 1:2 5:9"}, ...). */
    static List<String> formatOptions(byte[] o, int sackBase) {
        return formatOptions(o, sackBase, 0, 0);
    }

    /** As {@link #formatOptions(byte[], int)}, timestamps relative to the given bases. */
    static List<String> formatOptions(byte[] o, int sackBase, int tsValBase, int tsEcrBase) {
        List<String> out = new ArrayList<>();
        int i = 0;
        while (i < o.length) {
            int kind = o[i] & 0xff;
            if (kind == Tcp.OPT_EOL) {
                boolean zeros = true;
                for (int k = i + 1; k < o.length; k++) {
                    zeros &= o[k] == 0;
                }
                if (zeros) {
                    if (o.length - i >= 4 || out.isEmpty()) {
                        out.add("eol"); // an explicit end of the list; within the last word it is only padding
                    }
                    return out;
                }
                out.add("eol");
                i++;
                continue;
            }
            if (kind == Tcp.OPT_NOP) {
                out.add("nop");
                i++;
                continue;
            }
            if (i + 1 >= o.length) {
                out.add("raw " + hex(o, i, o.length - i));
                return out;
            }
            int len = o[i + 1] & 0xff;
            if (len < 2 || i + len > o.length) {
                out.add("raw " + hex(o, i, o.length - i));
                return out;
            }
            if (kind == Tcp.OPT_MSS && len == 4) {
                out.add("mss " + u16(o, i + 2));
            } else if (kind == Tcp.OPT_WSCALE && len == 3) {
                out.add("wscale " + (o[i + 2] & 0xff));
            } else if (kind == Tcp.OPT_SACK_PERMITTED && len == 2) {
                out.add("sackOK");
            } else if (kind == Tcp.OPT_SACK && len >= 10 && (len - 2) % 8 == 0) {
                StringBuilder sb = new StringBuilder("sack");
                for (int k = i + 2; k < i + len; k += 8) {
                    sb.append(' ').append(rel(s32(o, k), sackBase)).append(':').append(rel(s32(o, k + 4), sackBase));
                }
                out.add(sb.toString());
            } else if (kind == Tcp.OPT_TIMESTAMP && len == 10) {
                out.add("TS val " + rel(s32(o, i + 2), tsValBase) + " ecr " + rel(s32(o, i + 6), tsEcrBase));
            } else {
                out.add("raw " + hex(o, i, len));
            }
            i += len;
        }
        return out;
    }

    /**
     * Encodes canonical option items (as {@link SegmentSpec} keeps them) into bytes, SACK edges made
     * absolute with {@code sackBase}, padded with zeros to a multiple of four (RFC 9293 MUST-69).
     */
    static byte[] encodeOptions(List<String> items, int sackBase) {
        return encodeOptions(items, sackBase, 0, 0);
    }

    /** As {@link #encodeOptions(List, int)}, TSval and TSecr made absolute with the given bases. */
    static byte[] encodeOptions(List<String> items, int sackBase, int tsValBase, int tsEcrBase) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        for (String item : items) {
            String[] t = item.split(" ");
            switch (t[0]) {
                case "nop":
                    b.write(1);
                    break;
                case "eol":
                    b.write(0);
                    break;
                case "mss":
                    b.write(2);
                    b.write(4);
                    b.write((int) (num(t[1]) >>> 8));
                    b.write((int) num(t[1]));
                    break;
                case "wscale":
                    b.write(3);
                    b.write(3);
                    b.write((int) num(t[1]));
                    break;
                case "sackOK":
                    b.write(4);
                    b.write(2);
                    break;
                case "sack":
                    b.write(5);
                    b.write(2 + 8 * (t.length - 1));
                    for (int k = 1; k < t.length; k++) {
                        String[] e = t[k].split(":");
                        putInt(b, sackBase + (int) num(e[0]));
                        putInt(b, sackBase + (int) num(e[1]));
                    }
                    break;
                case "TS":
                    b.write(8);
                    b.write(10);
                    putInt(b, tsValBase + (int) num(t[2]));
                    putInt(b, tsEcrBase + (int) num(t[4]));
                    break;
                case "raw":
                    for (int k = 0; k + 1 < t[1].length(); k += 2) {
                        b.write(Integer.parseInt(t[1].substring(k, k + 2), 16));
                    }
                    break;
                default:
                    throw new IllegalArgumentException("cannot encode option " + item);
            }
        }
        while (b.size() % 4 != 0) {
            b.write(0);
        }
        if (b.size() > 40) {
            throw new IllegalArgumentException("options take " + b.size() + " bytes, more than the 40 a header has");
        }
        return b.toByteArray();
    }

    /** A number in decimal or {@code 0x} hex, up to 32 bits unsigned. */
    static long num(String s) {
        long v = s.startsWith("0x") || s.startsWith("0X") ? Long.parseLong(s.substring(2), 16) : Long.parseLong(s);
        if (v < 0 || v > 0xffff_ffffL) {
            throw new IllegalArgumentException("number out of 32-bit range: " + s);
        }
        return v;
    }

    private static void putInt(ByteArrayOutputStream b, int v) {
        b.write(v >>> 24);
        b.write(v >>> 16);
        b.write(v >>> 8);
        b.write(v);
    }

    private static int u16(byte[] o, int i) {
        return ((o[i] & 0xff) << 8) | (o[i + 1] & 0xff);
    }

    private static int s32(byte[] o, int i) {
        return ((o[i] & 0xff) << 24) | ((o[i + 1] & 0xff) << 16) | ((o[i + 2] & 0xff) << 8) | (o[i + 3] & 0xff);
    }

    static String hex(byte[] o, int from, int len) {
        StringBuilder sb = new StringBuilder();
        for (int i = from; i < from + len; i++) {
            sb.append(String.format("%02x", o[i] & 0xff));
        }
        return sb.toString();
    }
}
