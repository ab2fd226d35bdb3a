package io.usertcp.script;

import io.usertcp.stack.StackConfig;
import io.usertcp.wire.Tcp;

import java.net.InetAddress;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A segment as a script line gives it: to inject ({@code <}) or to expect ({@code >}). Numbers are relative
 * to the initial sequence numbers; null fields are wildcards ({@code *}) in an expectation. In a timestamp
 * option the stack's TSval (and the TSecr that echoes it) are relative to the first TSval of the connection,
 * the peer's own values absolute.
 *
 * <pre>
 *   [ [ip:]port&gt;[ip:]port ] FLAGS START:END(LEN) [ack N] [win N] [urg N] [&lt;options&gt;|&lt;...&gt;]
 *   [bad_csum] [ip_options HEX]
 * </pre>
 */
final class SegmentSpec {
    private static final Pattern SEQ = Pattern.compile("(\\*|\\d+):(\\*|\\d+)\\((\\*|\\d+)\\)");
    private static final Pattern PORTS = Pattern.compile("(?:([\\d.]+):)?(\\d+)>(?:([\\d.]+):)?(\\d+)");

    Integer srcIp;        // null: the default for the direction
    Integer dstIp;
    int srcPort = -1;     // -1: the default flow
    int dstPort = -1;
    int flags;
    Long start;
    Long end;
    Long len;
    boolean ackGiven;
    Long ack;
    boolean winGiven;
    Integer win;
    int urgent;
    boolean optionsGiven;
    boolean anyOptions;
    final List<String> options = new ArrayList<>();
    boolean badChecksum;
    byte[] ipOptions = new byte[0];

    /** Parses the text after the direction character. */
    static SegmentSpec parse(String text, boolean inbound) {
        SegmentSpec s = new SegmentSpec();
        String rest = text.trim();
        int lt = rest.indexOf('<');
        if (lt >= 0) {
            int gt = rest.indexOf('>', lt);
            if (gt < 0) {
                throw new IllegalArgumentException("options '<' without a closing '>'");
            }
            s.parseOptions(rest.substring(lt + 1, gt).trim());
            rest = rest.substring(0, lt) + " " + rest.substring(gt + 1);
        }
        List<String> t = new ArrayList<>(Arrays.asList(rest.trim().split("\\s+")));
        int i = 0;
        if (i < t.size() && t.get(i).contains(">")) {
            Matcher m = PORTS.matcher(t.get(i));
            if (!m.matches()) {
                throw new IllegalArgumentException("bad ports '" + t.get(i) + "' (write 40000>8080 or "
                        + "198.18.0.1:40000>198.18.0.2:8080)");
            }
            s.srcIp = m.group(1) == null ? null : ip(m.group(1));
            s.srcPort = Integer.parseInt(m.group(2));
            s.dstIp = m.group(3) == null ? null : ip(m.group(3));
            s.dstPort = Integer.parseInt(m.group(4));
            i++;
        }
        if (i >= t.size()) {
            throw new IllegalArgumentException("missing flags");
        }
        s.flags = t.get(i).equals("-") ? 0 : SegmentText.parseFlags(t.get(i));
        i++;
        if (i >= t.size()) {
            throw new IllegalArgumentException("missing START:END(LEN)");
        }
        Matcher m = SEQ.matcher(t.get(i));
        if (!m.matches()) {
            throw new IllegalArgumentException("bad sequence range '" + t.get(i) + "' (write START:END(LEN), e.g. 1:11(10))");
        }
        s.start = wild(m.group(1));
        s.end = wild(m.group(2));
        s.len = wild(m.group(3));
        if (s.start != null && s.end != null && s.len != null && ((s.end - s.start) & 0xffff_ffffL) != s.len) {
            throw new IllegalArgumentException("END - START is not LEN in '" + t.get(i) + "'");
        }
        i++;
        while (i < t.size()) {
            String k = t.get(i++);
            switch (k) {
                case "ack":
                    s.ackGiven = true;
                    s.ack = wild(value(t, i++, k));
                    break;
                case "win":
                    s.winGiven = true;
                    Long w = wild(value(t, i++, k));
                    s.win = w == null ? null : (int) (long) w;
                    if (w != null && w > 65535) {
                        throw new IllegalArgumentException("win is a 16-bit field: " + w);
                    }
                    break;
                case "urg":
                    s.urgent = (int) SegmentText.num(value(t, i++, k));
                    break;
                case "bad_csum":
                    s.badChecksum = true;
                    break;
                case "ip_options": {
                    String h = value(t, i++, k).toLowerCase(Locale.ROOT);
                    if (h.length() % 8 != 0 || !h.matches("[0-9a-f]+") || h.length() > 80) {
                        throw new IllegalArgumentException("ip_options takes whole 32-bit words of hex (at most 40 bytes)");
                    }
                    s.ipOptions = new byte[h.length() / 2];
                    for (int b = 0; b < s.ipOptions.length; b++) {
                        s.ipOptions[b] = (byte) Integer.parseInt(h.substring(2 * b, 2 * b + 2), 16);
                    }
                    break;
                }
                case "":
                    break;
                default:
                    throw new IllegalArgumentException("unexpected '" + k + "' (known: ack N, win N, urg N, <options>, bad_csum, ip_options HEX)");
            }
        }
        if (inbound) {
            if (s.start == null || s.end == null || s.len == null || (s.ackGiven && s.ack == null)
                    || (s.winGiven && s.win == null) || s.anyOptions) {
                throw new IllegalArgumentException("a segment to inject cannot have wildcards");
            }
            if ((s.flags & Tcp.ACK) != 0 && !s.ackGiven) {
                throw new IllegalArgumentException("a segment with '.' (ACK) needs 'ack N'");
            }
            if (s.len > 1460) {
                throw new IllegalArgumentException("at most 1460 bytes of data fit in one frame");
            }
        } else if (s.badChecksum || s.ipOptions.length > 0) {
            throw new IllegalArgumentException("bad_csum and ip_options are for injected segments");
        }
        return s;
    }

    private static String value(List<String> t, int i, String key) {
        if (i >= t.size()) {
            throw new IllegalArgumentException("'" + key + "' needs a value");
        }
        return t.get(i);
    }

    private static Long wild(String s) {
        return s.equals("*") ? null : SegmentText.num(s);
    }

    private static int ip(String text) {
        InetAddress a = StackConfig.parseLiteral(text);
        byte[] b = a.getAddress();
        return ((b[0] & 0xff) << 24) | ((b[1] & 0xff) << 16) | ((b[2] & 0xff) << 8) | (b[3] & 0xff);
    }

    private void parseOptions(String text) {
        optionsGiven = true;
        if (text.equals("...")) {
            anyOptions = true;
            return;
        }
        if (text.isEmpty()) {
            return;
        }
        for (String item : text.split(",")) {
            options.add(canonicalOption(item.trim()));
        }
    }

    /** Canonical text of one option item, '*' kept as a wildcard token. */
    static String canonicalOption(String item) {
        String[] t = item.split("\\s+");
        String name = t[0];
        switch (name.toLowerCase(Locale.ROOT)) {
            case "nop":
                expectArgs(t, 1, item);
                return "nop";
            case "eol":
                expectArgs(t, 1, item);
                return "eol";
            case "sackok":
                expectArgs(t, 1, item);
                return "sackOK";
            case "mss":
                expectArgs(t, 2, item);
                return "mss " + numOrWild(t[1]);
            case "wscale":
                expectArgs(t, 2, item);
                return "wscale " + numOrWild(t[1]);
            case "sack": {
                if (t.length < 2 || t.length > 5) {
                    throw new IllegalArgumentException("sack takes 1 to 4 blocks L:R: '" + item + "'");
                }
                StringBuilder sb = new StringBuilder("sack");
                for (int k = 1; k < t.length; k++) {
                    if (t[k].equals("*")) {
                        sb.append(" *");
                        continue;
                    }
                    String[] e = t[k].split(":");
                    if (e.length != 2) {
                        throw new IllegalArgumentException("a SACK block is L:R, got '" + t[k] + "'");
                    }
                    sb.append(' ').append(numOrWild(e[0])).append(':').append(numOrWild(e[1]));
                }
                return sb.toString();
            }
            case "ts":
                if (t.length != 5 || !t[1].equals("val") || !t[3].equals("ecr")) {
                    throw new IllegalArgumentException("write 'TS val N ecr N': '" + item + "'");
                }
                return "TS val " + numOrWild(t[2]) + " ecr " + numOrWild(t[4]);
            case "raw": {
                expectArgs(t, 2, item);
                String h = t[1].toLowerCase(Locale.ROOT);
                if (h.startsWith("0x")) {
                    h = h.substring(2);
                }
                if (!h.equals("*") && (h.length() % 2 != 0 || !h.matches("[0-9a-f]+"))) {
                    throw new IllegalArgumentException("raw takes hex bytes, e.g. 'raw fe0401ff': '" + item + "'");
                }
                return "raw " + h;
            }
            default:
                throw new IllegalArgumentException("unknown option '" + item
                        + "' (known: mss N, wscale N, sackOK, sack L:R..., nop, eol, TS val N ecr N, raw HEX)");
        }
    }

    private static void expectArgs(String[] t, int n, String item) {
        if (t.length != n) {
            throw new IllegalArgumentException("wrong number of values in option '" + item + "'");
        }
    }

    private static String numOrWild(String s) {
        return s.equals("*") ? "*" : Long.toString(SegmentText.num(s));
    }

    /**
     * The fields in which the actual segment {@code a} differs from this expectation; empty when it matches.
     * {@code seqBase} and {@code ackBase} are the ISNs of its sender and receiver.
     */
    List<String> differences(WireSegment a, int seqBase, int ackBase, int srcPortDefault, int dstPortDefault) {
        return differences(a, seqBase, ackBase, 0, srcPortDefault, dstPortDefault);
    }

    /** As above, with the TSval of an actual timestamp option taken relative to {@code tsValBase}. */
    List<String> differences(WireSegment a, int seqBase, int ackBase, int tsValBase, int srcPortDefault,
                             int dstPortDefault) {
        List<String> d = new ArrayList<>();
        if (a.problem != null) {
            d.add(a.problem);
            return d;
        }
        int sp = srcPort >= 0 ? srcPort : srcPortDefault;
        int dp = dstPort >= 0 ? dstPort : dstPortDefault;
        if (a.srcPort != sp || a.dstPort != dp) {
            d.add("ports (expected " + sp + ">" + dp + ")");
        }
        if (srcIp != null && a.srcIp != srcIp || dstIp != null && a.dstIp != dstIp) {
            d.add("addresses");
        }
        if (a.flags != flags) {
            d.add("flags");
        }
        long relSeq = (a.seq - seqBase) & 0xffff_ffffL;
        if (start != null && relSeq != start) {
            d.add("seq");
        }
        if (len != null && a.payload.length != len) {
            d.add("length");
        }
        if (end != null && ((relSeq + a.payload.length) & 0xffff_ffffL) != end && !d.contains("seq")
                && !d.contains("length")) {
            d.add("end");
        }
        if ((flags & Tcp.ACK) != 0 && ack != null && (a.flags & Tcp.ACK) != 0
                && ((a.ack - ackBase) & 0xffff_ffffL) != ack) {
            d.add("ack");
        }
        if (win != null && a.window != win) {
            d.add("win");
        }
        if (a.urgent != urgent) {
            d.add("urg");
        }
        if (a.reserved != 0) {
            d.add("reserved bits set (RFC 9293 §3.1: must be zero in generated segments)");
        }
        if (!anyOptions) {
            List<String> act = SegmentText.formatOptions(a.options, ackBase, tsValBase, 0);
            if (!optionsMatch(options, act)) {
                d.add("options");
            }
        }
        return d;
    }

    private static boolean optionsMatch(List<String> exp, List<String> act) {
        if (exp.size() != act.size()) {
            return false;
        }
        for (int i = 0; i < exp.size(); i++) {
            String[] e = exp.get(i).split(" ");
            String[] a = act.get(i).split(" ");
            if (e.length != a.length) {
                return false;
            }
            for (int k = 0; k < e.length; k++) {
                if (e[k].equals(a[k]) || e[k].equals("*")) {
                    continue;
                }
                if (e[k].contains(":") && a[k].contains(":")) {
                    String[] el = e[k].split(":");
                    String[] al = a[k].split(":");
                    if ((el[0].equals("*") || el[0].equals(al[0])) && (el[1].equals("*") || el[1].equals(al[1]))) {
                        continue;
                    }
                }
                return false;
            }
        }
        return true;
    }

    /** This expectation in script syntax (wildcards as '*'), for diffs. */
    String format(boolean outbound, String defaultPorts) {
        StringBuilder sb = new StringBuilder(outbound ? "> " : "< ");
        if (srcPort >= 0) {
            String ports = srcPort + ">" + dstPort;
            if (!ports.equals(defaultPorts)) {
                sb.append(ports).append(' ');
            }
        }
        String f = SegmentText.flags(flags);
        sb.append(f.isEmpty() ? "-" : f).append(' ');
        sb.append(w(start)).append(':').append(w(end)).append('(').append(w(len)).append(')');
        if (ackGiven) {
            sb.append(" ack ").append(w(ack));
        }
        sb.append(" win ").append(winGiven ? w(win == null ? null : (long) win) : "*");
        if (urgent != 0) {
            sb.append(" urg ").append(urgent);
        }
        if (anyOptions) {
            sb.append(" <...>");
        } else if (!options.isEmpty()) {
            sb.append(" <").append(String.join(",", options)).append('>');
        }
        if (badChecksum) {
            sb.append(" bad_csum");
        }
        if (ipOptions.length > 0) {
            sb.append(" ip_options ").append(SegmentText.hex(ipOptions, 0, ipOptions.length));
        }
        return sb.toString();
    }

    private static String w(Long v) {
        return v == null ? "*" : Long.toString(v);
    }
}
