package io.usertcp.tcp;

import io.usertcp.stats.StackStats;
import io.usertcp.util.SipHash;
import io.usertcp.wire.IpAddress;
import io.usertcp.wire.SynFilter;
import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The control of the link's SYN filter ({@link KernelSynFilter}) through {@link SynAdmission}, in virtual time: a
 * flood the loop falls behind on turns the filter on, keeping the sources that completed a handshake; the pass
 * probability follows the flood's rate as measured by the sample; the filter goes off when the flood ends; a link
 * that cannot filter is not asked again.
 */
class KernelSynFilterTest {
    private static final long MS = 1_000_000L;
    private static final int PORT = 7000;
    private static final int KNOWN = 0xC6120001;

    private final StackStats stats = new StackStats();
    private final SynAdmission a = new SynAdmission(new SipHash(5, 6), stats);
    private final SplittableRandom random = new SplittableRandom(11);
    /** What the simulated link lets through, as the kernel would run the filter. */
    private SynFilter linkFilter = SynFilter.NONE;
    private int filterChanges;

    /**
     * One 1 ms turn of a flood of {@code perMs} spoofed SYNs to PORT, of which the loop reads what the link's
     * filter passes, up to {@code budget} (more: the loop is behind).
     */
    private void turn(long now, int perMs, int budget) {
        int read = 0;
        boolean behind = false;
        for (int i = 0; i < perMs; i++) {
            int src = 0xC6140000 + random.nextInt(1 << 16);
            if (linkFilter.covers(src, PORT) && random.nextLong(1L << 32) >= linkFilter.pass()) {
                continue; // dropped in the kernel
            }
            if (read == budget) {
                behind = true;
                break;
            }
            read++;
            a.admit(0, IpAddress.mappedLo(src), PORT, now);
        }
        a.turn(behind, now);
        SynFilter f = a.filterUpdate();
        if (f != null) {
            linkFilter = f;
            filterChanges++;
            a.filterResult(f, true);
        }
    }

    @Test
    void aFloodTheLoopCannotReadTurnsTheFilterOnAndItFollowsTheFloodUntilItEnds() {
        a.handshakeCompleted(0, IpAddress.mappedLo(KNOWN), 0);
        a.handshakeCompleted(0xfd00_0000_0000_0000L, 1, 0); // an IPv6 source: kept by its fold
        long t = 0;
        for (; t < 100 * MS; t += MS) {
            turn(t, 0, 256); // quiet
        }
        assertThat(linkFilter.isNone()).isTrue();
        // 300 SYNs a millisecond (300,000/s) against a loop that reads 256 a turn.
        for (; t < 2_000 * MS; t += MS) {
            turn(t, 300, 256);
        }
        assertThat(linkFilter.isNone()).as("the filter is on").isFalse();
        assertThat(a.filter().on()).isTrue();
        assertThat(linkFilter.ports()).containsExactly(PORT);
        assertThat(linkFilter.keep()).containsExactly(KNOWN);
        assertThat(linkFilter.keepV6()).containsExactly(SynFilter.fold(0xfd00_0000_0000_0000L, 1));
        assertThat(linkFilter.coversV6(0xfd00_0000_0000_0000L, 1, PORT)).isFalse();
        assertThat(linkFilter.coversV6(0xfd00_0000_0000_0000L, 2, PORT)).isTrue();
        assertThat(linkFilter.covers(KNOWN, PORT)).isFalse();
        // What passes is about what the loop answers for unknown sources (its rate), not the flood.
        double passed = 300_000.0 * linkFilter.pass() / (1L << 32);
        assertThat(passed).as("SYNs/s the filter passes (rate %d/s)", a.rate())
                .isBetween(a.rate() / 4.0, a.rate() * 4.0);
        assertThat(a.selective(t)).isTrue();
        assertThat(stats.tcpSynFilterUpdates).isEqualTo(filterChanges).isLessThan(100);
        assertThat(stats.tcpSynDropsKernelEstimated).as("estimated kernel drops")
                .isBetween(100_000L, 1_000_000L);

        // The flood grows tenfold: the sample grows with it, and the probability comes down to match.
        long before = linkFilter.pass();
        for (long end = t + 1_000 * MS; t < end; t += MS) {
            turn(t, 3_000, 256);
        }
        assertThat(linkFilter.pass()).isLessThan(before / 4);

        // The flood ends: after a measuring window the filter goes off.
        for (long end = t + 300 * MS; t < end; t += MS) {
            turn(t, 0, 256);
        }
        assertThat(linkFilter.isNone()).as("off once the flood ended").isTrue();
        assertThat(a.filter().on()).isFalse();
    }

    @Test
    void aSourceThatCompletesAHandshakeDuringTheFloodIsKeptByTheNextFilter() {
        long t = 0;
        for (; t < 500 * MS; t += MS) {
            turn(t, 300, 256);
        }
        assertThat(linkFilter.isNone()).isFalse();
        assertThat(linkFilter.covers(KNOWN, PORT)).isTrue();
        a.handshakeCompleted(0, IpAddress.mappedLo(KNOWN), t);
        for (long end = t + 150 * MS; t < end; t += MS) {
            turn(t, 300, 256);
        }
        assertThat(linkFilter.covers(KNOWN, PORT)).as("kept within a measuring window").isFalse();
    }

    @Test
    void aLinkThatCannotFilterIsNotAskedAgainAndTheLoopDropsAsBefore() {
        long t = 0;
        int asked = 0;
        for (; t < 1_000 * MS; t += MS) {
            for (int i = 0; i < 256; i++) {
                a.admit(0, IpAddress.mappedLo(0xC6140000 + i), PORT, t);
            }
            a.turn(true, t);
            SynFilter f = a.filterUpdate();
            if (f != null) {
                asked++;
                a.filterResult(f, false);
            }
        }
        assertThat(asked).isEqualTo(1);
        assertThat(a.filter().on()).isFalse();
        assertThat(a.selective(t)).isTrue();
        assertThat(a.rate()).isEqualTo(SynAdmission.MIN_RATE);
        assertThat(stats.tcpSynFilterUpdates).isZero();
    }

    /** The stacks of a group share their record: a handshake on one loop's stack vouches for the source on all. */
    @Test
    void aSharedRecordMakesAHandshakeOnOneStackKnownToTheOthersAndToTheirFilters() {
        SourceHistory shared = new SourceHistory(new SipHash(7, 8));
        SynAdmission other = new SynAdmission(new SipHash(9, 10), new StackStats());
        a.share(shared);
        other.share(shared);
        long t = 0;
        for (; t < 500 * MS; t += MS) {
            turn(t, 300, 256);
        }
        assertThat(linkFilter.covers(KNOWN, PORT)).isTrue();
        other.handshakeCompleted(0, IpAddress.mappedLo(KNOWN), t);
        assertThat(a.known(0, IpAddress.mappedLo(KNOWN), t)).as("known to the other stack").isTrue();
        for (long end = t + 150 * MS; t < end; t += MS) {
            turn(t, 300, 256);
        }
        assertThat(linkFilter.covers(KNOWN, PORT)).as("kept by this stack's filter too").isFalse();
    }
}
