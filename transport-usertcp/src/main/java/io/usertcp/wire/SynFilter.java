package io.usertcp.wire;

import java.util.Arrays;

/**
 * Which SYNs a link may drop before the stack reads them, while a SYN flood lasts (issue #10): IPv4 TCP segments
 * with SYN set and ACK clear, that are not fragments, to one of {@link #ports()} (any port when there are none),
 * from a source address not in {@link #keep()}, each with probability {@code 1 - pass / 2^32}. Every other frame
 * passes. {@link #NONE} drops nothing. Immutable.
 *
 * <p>The stack decides what to drop ({@code tcp.SynAdmission}); a link that can run the filter in the kernel, at
 * the sender's cost, does ({@code link.Link#filterSyns}).
 */
public final class SynFilter {
    /** Drops nothing: the filter is off. */
    public static final SynFilter NONE = new SynFilter(1L << 32, new int[0], new int[0]);

    private final long pass;
    private final int[] ports;
    private final int[] keep;

    private SynFilter(long pass, int[] ports, int[] keep) {
        this.pass = pass;
        this.ports = ports;
        this.keep = keep;
    }

    /**
     * A filter that lets a SYN it covers through with probability {@code pass / 2^32}.
     *
     * @param pass  0 (drop every SYN it covers) to 2^32 (drop none)
     * @param ports destination ports whose SYNs it covers; empty: every port
     * @param keep  IPv4 source addresses whose SYNs always pass
     */
    public static SynFilter of(long pass, int[] ports, int[] keep) {
        if (pass < 0 || pass > 1L << 32) {
            throw new IllegalArgumentException("pass must be between 0 and 2^32: " + pass);
        }
        int[] p = ports.clone();
        for (int port : p) {
            if (port < 1 || port > 0xffff) {
                throw new IllegalArgumentException("not a TCP port: " + port);
            }
        }
        Arrays.sort(p);
        // Sorted as unsigned numbers, as a classic BPF program compares them.
        long[] k = new long[keep.length];
        for (int i = 0; i < keep.length; i++) {
            k[i] = keep[i] & 0xffff_ffffL;
        }
        Arrays.sort(k);
        int n = 0;
        int[] sorted = new int[k.length];
        for (int i = 0; i < k.length; i++) {
            if (i == 0 || k[i] != k[i - 1]) {
                sorted[n++] = (int) k[i];
            }
        }
        return new SynFilter(pass, distinct(p), Arrays.copyOf(sorted, n));
    }

    private static int[] distinct(int[] sorted) {
        int n = 0;
        int[] out = new int[sorted.length];
        for (int i = 0; i < sorted.length; i++) {
            if (i == 0 || sorted[i] != sorted[i - 1]) {
                out[n++] = sorted[i];
            }
        }
        return Arrays.copyOf(out, n);
    }

    /** Whether this filter drops nothing. */
    public boolean isNone() {
        return pass == 1L << 32;
    }

    /** How many in 2^32 of the SYNs it covers pass. */
    public long pass() {
        return pass;
    }

    /** The destination ports whose SYNs it covers, ascending; empty: every port. A copy. */
    public int[] ports() {
        return ports.clone();
    }

    /** The IPv4 source addresses whose SYNs always pass, ascending as unsigned numbers. A copy. */
    public int[] keep() {
        return keep.clone();
    }

    /** How many source addresses it keeps. */
    public int keepCount() {
        return keep.length;
    }

    /**
     * Whether a SYN to {@code port} from IPv4 {@code source} is one this filter may drop (it then passes with
     * probability {@link #pass()} / 2^32).
     */
    public boolean covers(int source, int port) {
        if (isNone()) {
            return false;
        }
        if (ports.length > 0 && Arrays.binarySearch(ports, port) < 0) {
            return false;
        }
        long s = source & 0xffff_ffffL;
        int lo = 0;
        int hi = keep.length - 1;
        while (lo <= hi) {
            int mid = (lo + hi) >>> 1;
            long v = keep[mid] & 0xffff_ffffL;
            if (v == s) {
                return false;
            }
            if (v < s) {
                lo = mid + 1;
            } else {
                hi = mid - 1;
            }
        }
        return true;
    }

    @Override
    public String toString() {
        return isNone() ? "SynFilter(none)"
                : String.format("SynFilter(pass %.6f, ports %s, %d sources kept)", pass / (double) (1L << 32),
                        ports.length == 0 ? "all" : Arrays.toString(ports), keep.length);
    }
}
