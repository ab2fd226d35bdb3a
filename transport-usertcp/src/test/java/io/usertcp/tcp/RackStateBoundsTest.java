package io.usertcp.tcp;

import io.usertcp.stats.StackStats;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The SACK-panic class (CVE-2019-11477/11478): a peer that SACKs tiny blocks, every other byte or every other
 * segment over a large flight, for thousands of ACKs. RACK's entries must stay bounded, the work of one ACK
 * (entries examined, split, merged or moved: {@link RackState#work()}, not time) too, and no retransmission
 * may come out smaller than a segment.
 */
class RackStateBoundsTest {
    private static final long US = 1_000L;
    private static final long MS = 1_000_000L;
    private static final int MSS = 1000;

    /** A sender driving RackState and SackScoreboard as TcpConnection does, with a scripted (hostile) peer. */
    private static final class Sender {
        final RackState rack;
        final SackScoreboard sb = new SackScoreboard();
        final StackStats stats = new StackStats();
        int una;
        int max;
        long now;
        long maxWorkPerAck;
        int maxEntries;
        int retransmits;
        int tinyRetransmits; // shorter than a segment and not the end of the data
        int shortestRetransmit = Integer.MAX_VALUE;
        int acks;

        Sender(RackState rack) {
            this.rack = rack;
        }

        void send(int bytes, int segment) {
            rack.onTransmit(max, max + bytes, segment, now);
            max += bytes;
            maxEntries = Math.max(maxEntries, rack.size());
        }

        /** One ACK from the peer: cumulative {@code ack}, SACK blocks {@code blocks} (pairs). */
        void ack(int ack, int... blocks) {
            long before = rack.work();
            acks++;
            int u = ack - una > 0 ? ack : una;
            for (int k = 0; k + 1 < blocks.length; k += 2) {
                sb.add(blocks[k], blocks[k + 1], u, max, stats);
            }
            if (ack - una > 0) {
                una = ack;
                sb.advance(una);
            }
            rack.onAck(una, sb, now, stats);
            rack.updateReoWnd(false, una, max, true, 50 * MS);
            rack.detectLoss(now);
            // RFC 6675 §5 with RACK: retransmit what is lost, a few segments per ACK (cwnd).
            for (int k = 0; k < 4; k++) {
                int i = rack.firstLost();
                if (i < 0) {
                    break;
                }
                int s = rack.start(i);
                int e = rack.retransmitEnd(i, s + MSS);
                retransmits++;
                if (e - s < MSS && e != max) {
                    tinyRetransmits++;
                    shortestRetransmit = Math.min(shortestRetransmit, e - s);
                }
                rack.onTransmit(s, e, MSS, now);
            }
            maxWorkPerAck = Math.max(maxWorkPerAck, rack.work() - before);
            maxEntries = Math.max(maxEntries, rack.size());
            checkConsistent();
        }

        /** The entries tile [SND.UNA, SND.MAX) and pipe is what they say. */
        void checkConsistent() {
            int expect = una;
            int pipe = 0;
            for (int i = 0; i < rack.size(); i++) {
                assertThat(rack.start(i)).as("entry %d starts where the one before ends", i).isEqualTo(expect);
                assertThat(rack.end(i) - rack.start(i)).isPositive();
                if (!rack.is(i, RackState.SACKED) && !rack.is(i, RackState.LOST)) {
                    pipe += rack.end(i) - rack.start(i);
                }
                expect = rack.end(i);
            }
            assertThat(expect).isEqualTo(rack.size() == 0 ? una : max);
            assertThat(rack.pipe()).isEqualTo(pipe);
        }
    }

    /**
     * 500 segments in flight, each sent at its own time; the peer never acknowledges cumulatively and for 6000
     * ACKs grows 32 SACK ranges by seven bytes at a time from odd offsets (three blocks an ACK), after a first
     * round of one-byte blocks at every other byte. Before the bound each block edge split an entry: tens of
     * thousands of entries, each split moving all of them, and one-byte holes retransmitted one byte at a time.
     */
    @Test
    void byteGranularSackBlocksCannotFragmentTheFlight() {
        Sender snd = new Sender(new RackState());
        for (int k = 0; k < 500; k++) {
            snd.send(MSS, MSS);
            snd.now += US;
        }
        snd.now = 50 * MS;
        // Every other byte of the first 96 bytes: 1-byte blocks (the scoreboard keeps 32 of them).
        for (int m = 0; m < 48; m += 3) {
            snd.ack(0, 2 * m + 1, 2 * m + 2, 2 * m + 3, 2 * m + 4, 2 * m + 5, 2 * m + 6);
            snd.now += 10 * US;
        }
        snd.ack(96); // the peer moves on; its 1-byte ranges below are gone
        int[] growth = new int[32];
        for (int k = 0; k < 6000; k++) {
            int[] blocks = new int[6];
            for (int b = 0; b < 3; b++) {
                int j = (3 * k + b) % 32;
                int base = 1000 + j * 15_000 + 1;
                growth[j] += 7;
                blocks[2 * b] = base;
                blocks[2 * b + 1] = base + growth[j];
            }
            snd.ack(96, blocks);
            snd.now += 10 * US;
        }
        System.out.printf("byte-granular SACK attack: %d ACKs, entries max %d (now %d), work per ACK max %d, "
                        + "retransmissions %d (%d shorter than a segment, the shortest %d bytes), %s%n", snd.acks,
                snd.maxEntries, snd.rack.size(), snd.maxWorkPerAck, snd.retransmits, snd.tinyRetransmits,
                snd.tinyRetransmits == 0 ? MSS : snd.shortestRetransmit, snd.stats);
        assertThat(snd.maxEntries).as("entries").isLessThanOrEqualTo(600);
        assertThat(snd.maxWorkPerAck).as("work per ACK").isLessThanOrEqualTo(4 * 1024);
        // One retransmission is short: after the peer's cumulative ACK of 96 bytes, the rest of that segment
        // and of the next one up to the SACKed segment after it (904 bytes); no sliver comes from SACK blocks.
        assertThat(snd.tinyRetransmits).as("retransmissions shorter than a segment").isLessThanOrEqualTo(1);
        assertThat(snd.shortestRetransmit).as("shortest retransmission").isGreaterThanOrEqualTo(MSS - 96);
        assertThat(snd.stats.tcpSackRoundedOff).isPositive();
        assertThat(snd.stats.tcpSackBlocksIgnored).isPositive();
        // Whole segments inside the grown ranges were SACKed all the same.
        assertThat(snd.rack.is(snd.rack.indexOf(1000 + 5 * 15_000 + 1000), RackState.SACKED)).isTrue();
        snd.ack(500 * MSS);
        assertThat(snd.rack.size()).isZero();
        assertThat(snd.rack.pipe()).isZero();
    }

    /**
     * TSO super-segments of 64 segments, SACKed every other segment by a peer that keeps moving its 32 ranges
     * on: SACK-driven splits stop at the bound (16 entries here), the refusals are counted, the entries still
     * tile the flight, and a cumulative ACK clears them.
     */
    @Test
    void segmentGranularSackBlocksStopAtTheEntryBound() {
        Sender snd = new Sender(new RackState(16));
        for (int k = 0; k < 32; k++) {
            snd.send(64 * MSS, MSS);
            snd.now += 100 * US;
        }
        assertThat(snd.rack.size()).isEqualTo(32);
        snd.now = 50 * MS;
        for (int m = 1; m < 2048; m += 6) {
            snd.ack(0, m * MSS, (m + 1) * MSS, (m + 2) * MSS, (m + 3) * MSS, (m + 4) * MSS, (m + 5) * MSS);
            snd.now += 10 * US;
        }
        System.out.printf("segment-granular SACK attack, bound 16: entries max %d, work per ACK max %d, %s%n",
                snd.maxEntries, snd.maxWorkPerAck, snd.stats);
        assertThat(snd.maxEntries).as("entries").isLessThanOrEqualTo(2 * 16 + 1);
        assertThat(snd.stats.tcpRackSplitsRefused).isPositive();
        assertThat(snd.stats.tcpSackBlocksIgnored).isPositive();
        assertThat(snd.tinyRetransmits).isZero();
        snd.ack(snd.max);
        assertThat(snd.rack.size()).isZero();
    }

    /** An ACK that newly SACKs hundreds of entries marks at most the budget; the next ACK does the rest. */
    @Test
    void oneAckMarksAtMostTheBudget() {
        Sender snd = new Sender(new RackState());
        for (int k = 0; k < 600; k++) {
            snd.send(MSS, MSS);
            snd.now += US;
        }
        snd.now = 50 * MS;
        snd.ack(0, MSS, 600 * MSS);
        assertThat(snd.stats.tcpSackWorkDeferred).isEqualTo(1);
        int sacked = 0;
        for (int i = 0; i < snd.rack.size(); i++) {
            if (snd.rack.is(i, RackState.SACKED)) {
                sacked += (snd.rack.end(i) - snd.rack.start(i)) / MSS;
            }
        }
        assertThat(sacked).isEqualTo(RackState.SACK_WORK_PER_ACK);
        snd.ack(0);
        snd.ack(0);
        assertThat(snd.rack.is(snd.rack.indexOf(599 * MSS), RackState.SACKED)).isTrue();
        // The SACKed entries are one entry now, beside the lost (and retransmitted) first segment.
        assertThat(snd.rack.size()).isEqualTo(2);
        assertThat(snd.stats.tcpSackWorkDeferred).isEqualTo(2);
    }

    /** An ACK that brings nothing new costs a few steps, whatever the flight. */
    @Test
    void anAckWithoutNewsCostsNoScan() {
        Sender snd = new Sender(new RackState());
        for (int k = 0; k < 800; k++) {
            snd.send(MSS, MSS);
            snd.now += US;
        }
        snd.now = 50 * MS;
        snd.ack(0, 10 * MSS, 11 * MSS, 20 * MSS, 21 * MSS);
        for (int k = 0; k < 10; k++) {
            snd.ack(0); // the 19 segments found lost go out again, four an ACK
        }
        assertThat(snd.rack.hasLost()).isFalse();
        long before = snd.rack.work();
        for (int k = 0; k < 100; k++) {
            snd.ack(0, 10 * MSS + 1, 10 * MSS + 2); // inside a SACKed range: nothing new
        }
        assertThat(snd.rack.work() - before).isLessThanOrEqualTo(100 * 16);
    }

    /** Bursts sent at one time on one segment grid are one entry; SACKs split them on segment boundaries. */
    @Test
    void burstsMergeAndSplitOnSegmentBoundaries() {
        RackState rack = new RackState();
        SackScoreboard sb = new SackScoreboard();
        for (int k = 0; k < 10; k++) {
            rack.onTransmit(k * MSS, (k + 1) * MSS, MSS, 0);
        }
        assertThat(rack.size()).isEqualTo(1);
        sb.add(2500, 5500, 0, 10 * MSS); // edges inside segments 2 and 5: those stay unSACKed
        rack.onAck(0, sb, 10 * MS);
        assertThat(rack.size()).isEqualTo(3);
        assertThat(rack.start(1)).isEqualTo(3000);
        assertThat(rack.end(1)).isEqualTo(5000);
        assertThat(rack.is(1, RackState.SACKED)).isTrue();
        assertThat(rack.pipe()).isEqualTo(8000);
    }
}
