package io.usertcp.stats;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.List;

/**
 * Prints {@link ConnectionInfo} rows as {@code ss -tuain} does: a header, then one line per row with the columns
 * aligned, the TCP details at the end of the line. For people (examples, the JMX operation, logs); programs read
 * the rows' getters instead.
 *
 * <pre>
 * Netid State       Recv-Q Send-Q Local Address:Port Peer Address:Port
 * tcp   LISTEN      0      128    *:7                *:*
 * tcp   ESTABLISHED 0      0      198.18.0.2:7       198.18.0.1:51234  cubic wscale:7,7 rto:201 rtt:0.32/0.16 ...
 * </pre>
 */
public final class ConnectionTable {
    private static final String[] HEADER = {"Netid", "State", "Recv-Q", "Send-Q", "Local Address:Port",
        "Peer Address:Port"};
    /** Column widths of a single row printed alone ({@link ConnectionInfo#toString()}). */
    static final int[] MIN_WIDTHS = {5, 12, 6, 6, 0, 0};

    private ConnectionTable() {
    }

    /** The rows as a table with a header line; each line ends with a newline. */
    public static String format(List<ConnectionInfo> rows) {
        int[] w = new int[HEADER.length];
        for (int i = 0; i < w.length; i++) {
            w[i] = HEADER[i].length();
        }
        for (ConnectionInfo r : rows) {
            String[] c = columns(r);
            for (int i = 0; i < w.length; i++) {
                w[i] = Math.max(w[i], c[i].length());
            }
        }
        StringBuilder sb = new StringBuilder();
        appendColumns(sb, HEADER, w);
        trimEnd(sb);
        sb.append('\n');
        for (ConnectionInfo r : rows) {
            appendRow(sb, r, w);
            sb.append('\n');
        }
        return sb.toString();
    }

    /** Appends one row: its columns padded to {@code widths}, then its details. */
    static void appendRow(StringBuilder sb, ConnectionInfo r, int[] widths) {
        appendColumns(sb, columns(r), widths);
        appendDetails(sb, r);
        trimEnd(sb);
    }

    private static String[] columns(ConnectionInfo r) {
        return new String[] {r.protocol(), r.state(), Long.toString(r.receiveQueue()), Long.toString(r.sendQueue()),
            address(r.localAddress()), r.remoteAddress() == null ? "*:*" : address(r.remoteAddress())};
    }

    private static void appendColumns(StringBuilder sb, String[] c, int[] widths) {
        for (int i = 0; i < c.length; i++) {
            sb.append(c[i]);
            for (int pad = widths[i] - c[i].length(); pad > 0; pad--) {
                sb.append(' ');
            }
            sb.append(' ');
        }
    }

    private static void appendDetails(StringBuilder sb, ConnectionInfo r) {
        if (!ConnectionInfo.TCP.equals(r.protocol()) || r.isListener()) {
            return;
        }
        if (r.congestionControl() != null) {
            sb.append(' ').append(r.congestionControl());
        }
        if (r.sendWindowScale() >= 0) {
            sb.append(" wscale:").append(r.sendWindowScale()).append(',').append(r.receiveWindowScale());
        }
        if (r.rtoNanos() >= 0) {
            sb.append(" rto:").append(millis(r.rtoNanos()));
        }
        if (r.srttNanos() >= 0) {
            sb.append(" rtt:").append(millis(r.srttNanos())).append('/').append(millis(r.rttvarNanos()));
        }
        if (r.mss() > 0) {
            sb.append(" mss:").append(r.mss());
            if (r.cwnd() > 0) {
                sb.append(" cwnd:").append(segments(r.cwnd(), r.mss()));
            }
            if (r.ssthresh() >= 0) {
                sb.append(" ssthresh:").append(segments(r.ssthresh(), r.mss()));
            }
        }
        if (r.sack()) {
            sb.append(" sack");
        }
        if (r.timestamps()) {
            sb.append(" ts");
        }
        if (r.retransmits() > 0 || r.retries() > 0) {
            sb.append(" retrans:").append(r.retries()).append('/').append(r.retransmits());
        }
        if (r.timer() != null) {
            sb.append(" timer:(").append(r.timer()).append(',').append(millis(r.timerNanos())).append("ms)");
        }
        if (r.bytesAcked() > 0) {
            sb.append(" bytes_acked:").append(r.bytesAcked());
        }
        if (r.bytesReceived() > 0) {
            sb.append(" bytes_received:").append(r.bytesReceived());
        }
        if (r.lastSendNanos() >= 0) {
            sb.append(" lastsnd:").append(r.lastSendNanos() / 1_000_000);
        }
        if (r.lastReceiveNanos() >= 0) {
            sb.append(" lastrcv:").append(r.lastReceiveNanos() / 1_000_000);
        }
    }

    /** An address as {@code ss} prints it: {@code *} for the unspecified address, IPv6 in brackets. */
    static String address(InetSocketAddress a) {
        InetAddress ip = a.getAddress();
        String host = ip == null ? a.getHostString() : ip.isAnyLocalAddress() ? "*"
                : ip.getAddress().length == 16 ? "[" + compress(ip.getAddress()) + "]" : ip.getHostAddress();
        return host + ":" + a.getPort();
    }

    /** An IPv6 address in the short form of RFC 5952 (lower case, the longest run of zero groups as ::). */
    static String compress(byte[] a) {
        int[] g = new int[8];
        for (int i = 0; i < 8; i++) {
            g[i] = (a[2 * i] & 0xff) << 8 | a[2 * i + 1] & 0xff;
        }
        int best = -1;
        int bestLen = 1; // a single zero group is not shortened (RFC 5952 §4.2.2)
        for (int i = 0; i < 8; i++) {
            int j = i;
            while (j < 8 && g[j] == 0) {
                j++;
            }
            if (j - i > bestLen) {
                best = i;
                bestLen = j - i;
            }
            i = j;
        }
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < 8; i++) {
            if (i == best) {
                sb.append("::");
                i += bestLen - 1;
                continue;
            }
            if (sb.length() > 0 && sb.charAt(sb.length() - 1) != ':') {
                sb.append(':');
            }
            sb.append(Integer.toHexString(g[i]));
        }
        return sb.toString();
    }

    /** Nanoseconds as milliseconds with at most three decimals, trailing zeros dropped ("201", "0.32"). */
    static String millis(long nanos) {
        long micros = Math.round(nanos / 1000.0);
        long whole = micros / 1000;
        int frac = (int) (micros % 1000);
        if (frac == 0) {
            return Long.toString(whole);
        }
        String f = Integer.toString(1000 + frac).substring(1);
        int end = f.length();
        while (f.charAt(end - 1) == '0') {
            end--;
        }
        return whole + "." + f.substring(0, end);
    }

    /** Bytes as whole segments, rounded up (cwnd and ssthresh as {@code ss} shows them). */
    private static long segments(long bytes, int mss) {
        return (bytes + mss - 1) / mss;
    }

    private static void trimEnd(StringBuilder sb) {
        int n = sb.length();
        while (n > 0 && sb.charAt(n - 1) == ' ') {
            n--;
        }
        sb.setLength(n);
    }
}
