package io.usertcp.tcp;

import io.usertcp.stats.StackStats;
import io.usertcp.util.SipHash;
import io.usertcp.wire.SynFilter;


/**
 * Which SYN cookies are worth their SYN-ACK while the event loop cannot keep up with its link (issue #10).
 *
 * <p>Answering a SYN costs the loop several times what reading it does: the SYN-ACK's write to a TAP device runs
 * the kernel's whole input path inside the call. A spoofed flood faster than the loop can answer therefore fills
 * the device's queue, and the tun driver drops frames at random, legitimate ones as often as spoofed ones; a
 * legitimate client that loses its SYN waits a full second (RFC 6298 §2's initial RTO) for its next try.
 *
 * <p>So once the loop has been behind (a read of the link stopped at the read budget with frames still waiting),
 * for {@link #HOLD_NANOS} after that, a listener answering with SYN cookies (its SYN queue is full: it is flooded)
 * answers a SYN
 * <ul>
 * <li>if its source address completed a handshake with this stack in the last {@link #MEMORY_NANOS}: a spoofed
 *     source cannot, because it never sees our SYN-ACK (history-based filtering, in the spirit of RFC 4987 §3's
 *     filtering defences: addresses that proved they are reachable come first);
 * <li>else only within a rate for the other sources, found the way TCP finds its sending rate: for each
 *     {@link #PERIOD_NANOS} in which the loop was behind, cut to half of the lower of itself and what the loop
 *     answered in that period; raised by {@link #RATE_STEP} per second for each period in which it was not (between
 *     {@link #MIN_RATE} and {@link #MAX_RATE}). A client new to the stack so still gets
 *     in, on one of its SYN retransmissions if not at once.
 * </ul>
 * The others are dropped unanswered (counted as {@code tcpSynDropsBehind}). Dropping costs a read; the loop catches
 * up, its queue stays short, and the segments of established connections and of the sources it knows are not
 * dropped at the device. A loop that keeps up answers every SYN, as before.
 *
 * <p>The record of sources is a {@link SourceHistory}, made on the first completed passive handshake, or the one
 * the stacks of a group share.
 *
 * <p>Where the link can filter in the kernel, most of a flood is dropped there, before the loop reads it
 * ({@link KernelSynFilter}); while that filter is on, the loop stays selective and the rate does not grow.
 */
final class SynAdmission {
    /** How long a completed handshake vouches for its source address. */
    static final long MEMORY_NANOS = SourceHistory.MEMORY_NANOS;
    /** How long after the loop was last behind it still answers selectively. */
    static final long HOLD_NANOS = 1_000_000_000L;
    /** The period over which the rate for unknown sources is adjusted. */
    static final long PERIOD_NANOS = 10_000_000L;
    /**
     * Bounds of the answer rate for unknown sources, per second, and its additive step per period (20,000/s per
     * second: a slower climb than 100,000/s per second overshot what the loop could answer more often and doubled
     * the legitimate clients' connect p99 in bench/synflood.sh).
     */
    static final int MIN_RATE = 1_000;
    static final int MAX_RATE = 1_000_000;
    static final int RATE_STEP = 200;
    /** Answers for unknown sources that may go at once (the token bucket's depth). */
    static final int BURST = 64;
    private static final long SEC = 1_000_000_000L;

    private final SipHash key;
    private final KernelSynFilter filter;
    private SourceHistory history; // made on the first completed handshake, unless a group shares one
    private boolean everBehind;
    private long lastBehind;
    private long periodStart;
    private boolean behindInPeriod;
    private int rate = MAX_RATE;
    private long answeredInPeriod; // SYNs admitted to a cookie SYN-ACK since periodStart
    private long credit = BURST * SEC; // tokens times 10^9
    private long lastRefill;

    SynAdmission(SipHash key) {
        this(key, new StackStats());
    }

    SynAdmission(SipHash key, StackStats stats) {
        this.key = key;
        this.filter = new KernelSynFilter(stats);
    }

    /** Uses {@code shared}, the table of the stacks of a group, instead of one of its own. */
    void share(SourceHistory shared) {
        this.history = shared;
    }

    /**
     * The loop read its link at {@code now}; {@code behind}: the read stopped at the read budget with frames still
     * waiting.
     */
    void turn(boolean behind, long now) {
        if (now - periodStart >= PERIOD_NANOS) {
            if (behindInPeriod) {
                // Half of what the loop answered in a period it could not keep up with, if that is below the rate:
                // a flood that starts while every SYN is answered is cut back at once, not over ten periods.
                long answered = answeredInPeriod * (SEC / PERIOD_NANOS);
                rate = (int) Math.max(MIN_RATE, Math.min(rate, answered) >>> 1);
            } else if (!filter.on()) {
                rate = Math.min(MAX_RATE, rate + RATE_STEP);
            }
            filter.period(behindInPeriod, rate, now, this);
            behindInPeriod = false;
            answeredInPeriod = 0;
            periodStart = now;
        }
        if (behind) {
            behindInPeriod = true;
            everBehind = true;
            lastBehind = now;
        }
    }

    /** Whether the loop was behind its link in the last {@link #HOLD_NANOS}. */
    boolean selective(long now) {
        return everBehind && (now - lastBehind < HOLD_NANOS || filter.on());
    }

    /** The filter the link should run from now on, once, or null when it did not change. */
    SynFilter filterUpdate() {
        return filter.take();
    }

    /** Whether the link took {@code f} ({@link KernelSynFilter#result}). */
    void filterResult(SynFilter f, boolean ok) {
        filter.result(f, ok);
    }

    /** The kernel-side filter's state (for tests). */
    KernelSynFilter filter() {
        return filter;
    }

    /** The answer rate for unknown sources now, per second. */
    int rate() {
        return rate;
    }

    /**
     * Whether a flooded listener (at {@code port}) answers a SYN from this source now (always, when the loop keeps
     * up).
     */
    boolean admit(long hi, long lo, int port, long now) {
        if (!selective(now)) {
            filter.seen(port);
            answeredInPeriod++;
            return true;
        }
        if (known(hi, lo, now)) {
            answeredInPeriod++;
            return true;
        }
        filter.seen(port);
        long elapsed = Math.min(now - lastRefill, SEC);
        lastRefill = now;
        if (elapsed > 0) {
            credit = Math.min(BURST * SEC, credit + elapsed * rate);
        }
        if (credit >= SEC) {
            credit -= SEC;
            answeredInPeriod++;
            return true;
        }
        return false;
    }

    /** A passive handshake with this source address completed: it is reachable. */
    void handshakeCompleted(long hi, long lo, long now) {
        if (history == null) {
            history = new SourceHistory(key);
        }
        history.completed(hi, lo, now);
    }

    /** The sources the table holds, for the link's filter ({@link SourceHistory#recent}). */
    int[][] recentSources(int max, long now) {
        return history == null ? new int[][] {new int[0], new int[0]} : history.recent(max, now);
    }

    /** Changes when a source new to the table completes a handshake. */
    long sourcesGeneration() {
        return history == null ? 0 : history.generation();
    }

    /** Whether this source completed a handshake in the last {@link #MEMORY_NANOS}. */
    boolean known(long hi, long lo, long now) {
        return history != null && history.known(hi, lo, now);
    }
}
