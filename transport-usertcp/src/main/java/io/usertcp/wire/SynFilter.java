package io.usertcp.wire;

import java.util.Arrays;

/**
 * Which SYNs a link may drop before the stack reads them, while a SYN flood lasts (issue #10): TCP segments with
 * SYN set and ACK clear, in IPv4 datagrams that are not fragments or IPv6 packets without extension headers, to one
 * of {@link #ports()} (any port when there are none), from a source address not kept ({@link #keep()} for IPv4,
 * {@link #keepV6()} for IPv6, by {@link #fold}), each with probability {@code 1 - pass / 2^32}. Every other frame
 * passes. {@link #NONE} drops nothing. Immutable.
 *
 * <p>IPv6 sources are kept by a 32-bit fold of the address, which a classic BPF program can compute: a spoofed
 * source with the fold of a kept one passes the link (and meets the stack's own selection, which compares whole
 * addresses), so an attacker can at worst make the link pass an IPv6 flood.
 *
 * <p>The stack decides what to drop ({@code tcp.SynAdmission}); a link that can run the filter in the kernel, at
 * the sender's cost, does ({@code link.Link#filterSyns}).
 */
public final class SynFilter {
    /** Drops nothing: the filter is off. */
    public static final SynFilter NONE = new SynFilter(1L << 32, new int[0], new int[0], new int[0]);

    private final long pass;
    private final int[] ports;
    private final int[] keep;
    private final int[] keepV6;

    private SynFilter(long pass, int[] ports, int[] keep, int[] keepV6) {
        this.pass = pass;
        this.ports = ports;
        this.keep = keep;
        this.keepV6 = keepV6;
    }

    /** The 32-bit fold of IPv6 address {@code hi:lo} by which {@link #keepV6()} keeps it: its four words XORed. */
    public static int fold(long hi, long lo) {
        return (int) (hi >>> 32) ^ (int) hi ^ (int) (lo >>> 32) ^ (int) lo;
    }

    /**
     * A filter that lets a SYN it covers through with probability {@code pass / 2^32}.
     *
     * @param pass  0 (drop every SYN it covers) to 2^32 (drop none)
     * @param ports destination ports whose SYNs it covers; empty: every port
     * @param keep  IPv4 source addresses whose SYNs always pass
     */
    public static SynFilter of(long pass, int[] ports, int[] keep) {
        return of(pass, ports, keep, new int[0]);
    }

    /**
     * A filter that also keeps the IPv6 sources whose {@link #fold} is in {@code keepV6}.
     *
     * @see #of(long, int[], int[])
     */
    public static SynFilter of(long pass, int[] ports, int[] keep, int[] keepV6) {
        if (pass < 0 || pass > 1L << 32) {
            throw new IllegalArgumentException("pass must be between 0 and 2^32: " + pass);
        }
        for (int port : ports) {
            if (port < 1 || port > 0xffff) {
                throw new IllegalArgumentException("not a TCP port: " + port);
            }
        }
        return new SynFilter(pass, unsignedSet(ports), unsignedSet(keep), unsignedSet(keepV6));
    }

    /** Sorted as unsigned numbers, as a classic BPF program compares them, without repeats. */
    private static int[] unsignedSet(int[] values) {
        long[] k = new long[values.length];
        for (int i = 0; i < values.length; i++) {
            k[i] = values[i] & 0xffff_ffffL;
        }
        Arrays.sort(k);
        int n = 0;
        int[] sorted = new int[k.length];
        for (int i = 0; i < k.length; i++) {
            if (i == 0 || k[i] != k[i - 1]) {
                sorted[n++] = (int) k[i];
            }
        }
        return Arrays.copyOf(sorted, n);
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

    /** The folds ({@link #fold}) of the IPv6 source addresses whose SYNs always pass, ascending unsigned. A copy. */
    public int[] keepV6() {
        return keepV6.clone();
    }

    /** How many source addresses it keeps, both families. */
    public int keepCount() {
        return keep.length + keepV6.length;
    }

    /**
     * Whether a SYN to {@code port} from IPv4 {@code source} is one this filter may drop (it then passes with
     * probability {@link #pass()} / 2^32).
     */
    public boolean covers(int source, int port) {
        return coversPort(port) && !contains(keep, source);
    }

    /**
     * Whether a SYN to {@code port} from IPv6 {@code hi:lo} is one this filter may drop (it then passes with
     * probability {@link #pass()} / 2^32).
     */
    public boolean coversV6(long hi, long lo, int port) {
        return coversPort(port) && !contains(keepV6, fold(hi, lo));
    }

    private boolean coversPort(int port) {
        return !isNone() && (ports.length == 0 || Arrays.binarySearch(ports, port) >= 0);
    }

    private static boolean contains(int[] keep, int source) {
        long s = source & 0xffff_ffffL;
        int lo = 0;
        int hi = keep.length - 1;
        while (lo <= hi) {
            int mid = (lo + hi) >>> 1;
            long v = keep[mid] & 0xffff_ffffL;
            if (v == s) {
                return true;
            }
            if (v < s) {
                lo = mid + 1;
            } else {
                hi = mid - 1;
            }
        }
        return false;
    }

    @Override
    public String toString() {
        return isNone() ? "SynFilter(none)"
                : String.format("SynFilter(pass %.6f, ports %s, %d IPv4 and %d IPv6 sources kept)",
                        pass / (double) (1L << 32), ports.length == 0 ? "all" : Arrays.toString(ports), keep.length,
                        keepV6.length);
    }
}
