package io.usertcp.tcp;

import io.usertcp.stats.StackStats;
import io.usertcp.wire.SynFilter;

import java.util.Arrays;

/**
 * What the link drops of a SYN flood before the event loop reads it (issue #10), for {@link SynAdmission}.
 *
 * <p>Dropping a spoofed SYN after reading it is cheap, but not free: at a few hundred thousand SYNs a second the
 * loop spends a third of its time reading and dropping them, and wakes for each small batch, on a CPU it shares
 * with the flooder and the legitimate clients. The kernel handles its own SYNs in the sender's context (a veth
 * pair runs the receive path in the sending thread), so the flood is paid for by whoever floods. A link that can
 * filter in the kernel (the TAP receive ring's socket filter) gets the same: the SYNs of a flood are thinned there,
 * at the sender's cost, and the loop reads a sample.
 *
 * <p>The filter goes on in a {@link SynAdmission#PERIOD_NANOS period} in which the loop was behind its link and a
 * listener answered with SYN cookies. It covers the SYNs to the ports of the listeners that answered with cookies
 * (up to {@link #MAX_PORTS}; every port beyond that), keeps those from the sources that completed a handshake
 * recently (the {@link #MAX_KEEP} most recent; IPv6 ones by a fold of the address, see {@link SynFilter}), and lets
 * the others pass with a probability chosen so that the loop reads about as many as {@link SynAdmission} would
 * answer: that sample also tells how fast the flood still comes
 * (what passed, divided by the probability). The probability follows the flood each period, halves in a period in
 * which the loop was behind again, and the filter goes off once the flood, measured over {@link #WINDOW_NANOS}, is
 * below twice what the loop would answer anyway.
 */
final class KernelSynFilter {
    /** Listener ports the filter names at most; beyond that it covers SYNs to every port. */
    static final int MAX_PORTS = 8;
    /** Known sources kept by the filter at most (the kernel takes programs of up to 4096 instructions). */
    static final int MAX_KEEP = 1024;
    /** The lowest pass probability, in 2^32: one in 65536, so that the sample still measures the flood. */
    static final long MIN_PASS = 1L << 16;
    static final long ALL = 1L << 32;
    /**
     * How long the flood is measured before the probability is changed (newly known sources are compiled into the
     * filter at that pace too). While the filter is on, the stack runs {@link SynAdmission#turn} at least this
     * often, also when no frame comes (the flood may have stopped).
     */
    static final long WINDOW_NANOS = 100_000_000L;
    private static final long SEC = 1_000_000_000L;
    /** SYNs per period the sample lets through at least, so that the estimate of the flood means something. */
    static final int MIN_SAMPLE = 8;

    private final StackStats stats;
    private boolean usable = true;
    private boolean on;
    private long pass = ALL;
    private final int[] ports = new int[MAX_PORTS];
    private int portCount;
    private boolean allPorts;
    private boolean portsChanged;
    /** The source table's generation the filter was built from: a newer one has sources to keep. */
    private long keepGeneration;
    /** SYNs from sources not known, to listeners answering with cookies, read in this period. */
    private long seen;
    /** The filter changed in the last period: what the loop read then may have passed the one before. */
    private boolean fresh;
    private long windowSeen;
    private long windowStart;
    private SynFilter pending;

    KernelSynFilter(StackStats stats) {
        this.stats = stats;
    }

    /** Whether the link is dropping SYNs for us. */
    boolean on() {
        return on;
    }

    /** The pass probability now, in 2^32. */
    long pass() {
        return pass;
    }

    /** A SYN from a source not known reached a listener answering with cookies, at {@code port}. */
    void seen(int port) {
        seen++;
        if (allPorts) {
            return;
        }
        for (int i = 0; i < portCount; i++) {
            if (ports[i] == port) {
                return;
            }
        }
        if (portCount < MAX_PORTS) {
            ports[portCount++] = port;
        } else {
            allPorts = true;
        }
        portsChanged = true;
    }

    /**
     * The end of a period: {@code behind} if the loop was behind its link in it, {@code rate} the answer rate for
     * unknown sources per second. May leave a filter for {@link #take()}.
     */
    void period(boolean behind, int rate, long now, SynAdmission sources) {
        long got = seen;
        seen = 0;
        if (!usable) {
            return;
        }
        long answer = Math.max(MIN_SAMPLE * (SEC / SynAdmission.PERIOD_NANOS), rate); // SYNs/s to let through
        if (!on) {
            if (behind && got > 0) {
                on = true;
                // got is a lower bound of the flood: the loop fell behind.
                pass = Math.min(ALL / 2, passFor(got * (SEC / SynAdmission.PERIOD_NANOS), answer));
                build(now, sources);
            } else {
                clearPorts();
            }
            return;
        }
        if (fresh) {
            fresh = false; // what was read since the change may have passed the filter before: not measured
            windowStart = now;
            windowSeen = 0;
            return;
        }
        if (behind) {
            // The sample is more than the loop can take: halve it now (TCP's multiplicative decrease).
            pass = Math.max(MIN_PASS, pass / 2);
            build(now, sources);
            return;
        }
        windowSeen += got;
        long elapsedMs = (now - windowStart) / 1_000_000L;
        if (elapsedMs < WINDOW_NANOS / 1_000_000L) {
            return;
        }
        long offered = windowSeen * ALL / pass; // SYNs the flood sent in the window, estimated from the sample
        stats.tcpSynDropsKernelEstimated += offered - windowSeen;
        long want = passFor(offered * 1000 / elapsedMs, answer);
        if (want >= ALL / 2) {
            off(); // the flood is below what the loop would answer anyway
        } else if (want > 2 * pass || 2 * want < pass || portsChanged
                || sources.sourcesGeneration() != keepGeneration) {
            pass = want;
            build(now, sources);
        } else {
            windowStart = now;
            windowSeen = 0;
        }
    }

    /** The filter to hand to the link, once, or null when nothing changed. */
    SynFilter take() {
        SynFilter f = pending;
        pending = null;
        return f;
    }

    /** The link took the last filter ({@code ok}), or cannot filter: then the loop drops what it must itself. */
    void result(SynFilter f, boolean ok) {
        if (ok) {
            if (!f.isNone()) {
                stats.tcpSynFilterUpdates++;
            }
            return;
        }
        usable = false;
        on = false;
        pass = ALL;
        pending = null;
        clearPorts();
    }

    /** The pass probability that lets {@code answer} of {@code offered} SYNs a second through. */
    private static long passFor(long offered, long answer) {
        if (offered <= answer) {
            return ALL;
        }
        return Math.max(MIN_PASS, answer * ALL / offered);
    }

    private void off() {
        on = false;
        pass = ALL;
        fresh = false;
        clearPorts();
        pending = SynFilter.NONE;
    }

    private void clearPorts() {
        portCount = 0;
        allPorts = false;
        portsChanged = false;
    }

    private void build(long now, SynAdmission sources) {
        int[] p = allPorts ? new int[0] : Arrays.copyOf(ports, portCount);
        keepGeneration = sources.sourcesGeneration();
        int[][] keep = sources.recentSources(MAX_KEEP, now);
        pending = SynFilter.of(pass, p, keep[0], keep[1]);
        fresh = true;
        portsChanged = false;
    }
}
