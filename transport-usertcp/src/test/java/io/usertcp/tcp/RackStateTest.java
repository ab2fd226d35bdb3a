package io.usertcp.tcp;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/** RACK (RFC 8985 §6): per-segment bookkeeping, delivery, reordering window and loss marking. */
class RackStateTest {
    private static final long MS = 1_000_000L;
    private static final int MSS = 1000;

    private final RackState rack = new RackState();
    private final SackScoreboard sb = new SackScoreboard();
    private int una;
    private int max;

    /** Sends {@code count} new segments of MSS bytes at {@code t}. */
    private void send(int count, long t) {
        for (int k = 0; k < count; k++) {
            rack.onTransmit(max, max + MSS, t);
            max += MSS;
        }
    }

    private void sack(int s, int e, long now) {
        sb.add(s, e, una, max);
        rack.onAck(una, sb, now);
    }

    private void ack(int ack, long now) {
        una = ack;
        sb.advance(una);
        rack.onAck(una, sb, now);
    }

    /** Whether the byte at {@code seq} is in an entry with {@code flag}. */
    private boolean at(int seq, int flag) {
        int i = rack.indexOf(seq);
        assertThat(i).as("an entry holds %d", seq).isNotNegative();
        return rack.is(i, flag);
    }

    /** Where the first lost entry starts, or -1. */
    private int firstLostSeq() {
        int i = rack.firstLost();
        return i < 0 ? -1 : rack.start(i);
    }

    private long detect(boolean recovering, long now) {
        rack.updateReoWnd(false, una, max, recovering, 100 * MS);
        return rack.detectLoss(now);
    }

    @Test
    void newDataAppendsAndRetransmissionSplitsAndFlags() {
        rack.onTransmit(0, 4000, 0); // one TSO super-segment is one entry
        assertThat(rack.size()).isEqualTo(1);
        rack.onTransmit(1000, 2000, 5 * MS);
        assertThat(rack.size()).isEqualTo(3);
        assertThat(rack.start(1)).isEqualTo(1000);
        assertThat(rack.end(1)).isEqualTo(2000);
        assertThat(rack.is(1, RackState.RETRANSMITTED)).isTrue();
        assertThat(rack.xmitTs(1)).isEqualTo(5 * MS);
        assertThat(rack.is(0, RackState.RETRANSMITTED)).isFalse();
        assertThat(rack.is(2, RackState.RETRANSMITTED)).isFalse();
        // A resend that reaches past the highest end: the old part is a retransmission, the rest new.
        rack.onTransmit(3000, 5000, 6 * MS);
        assertThat(rack.size()).isEqualTo(5);
        assertThat(rack.is(3, RackState.RETRANSMITTED)).isTrue();
        assertThat(rack.start(4)).isEqualTo(4000);
        assertThat(rack.is(4, RackState.RETRANSMITTED)).isFalse();
        assertThat(rack.pipe()).isEqualTo(5000);
    }

    @Test
    void cumulativeAckRemovesAndPartialAckTrims() {
        send(2, 0);
        send(2, MS); // two bursts: two entries
        assertThat(rack.size()).isEqualTo(2);
        ack(1500, 50 * MS);
        assertThat(rack.size()).isEqualTo(2);
        assertThat(rack.start(0)).isEqualTo(1500);
        assertThat(rack.pipe()).isEqualTo(2500);
        ack(2000, 55 * MS);
        assertThat(rack.size()).isEqualTo(1);
        assertThat(rack.start(0)).isEqualTo(2000);
        ack(4000, 60 * MS);
        assertThat(rack.size()).isZero();
    }

    @Test
    void sackBlocksSplitEntriesAndLeavePipe() {
        rack.onTransmit(0, 4000, MSS, 0); // a TSO super-segment of four segments
        max = 4000;
        sack(1000, 3000, 50 * MS);
        assertThat(rack.size()).isEqualTo(3);
        assertThat(rack.is(1, RackState.SACKED)).isTrue();
        assertThat(rack.pipe()).isEqualTo(2000);
    }

    @Test
    void segmentSentBeforeADeliveredOneIsLostOnceDupThreshSegmentsAreSacked() {
        send(5, 0);
        sack(1000, 2000, 50 * MS);
        // One segment SACKed, no reordering seen: reo_wnd = min_RTT / 4 (§6.2 step 4), so segment 0 waits.
        long timeout = detect(false, 50 * MS);
        assertThat(rack.reoWnd()).isEqualTo(50 * MS / 4);
        assertThat(timeout).isEqualTo(50 * MS / 4);
        assertThat(rack.hasLost()).isFalse();
        sack(1000, 4000, 50 * MS);
        // Three SACKed: reo_wnd = 0 and segment 0, sent at the same time with a lower end, is lost (§6.2 step 5).
        assertThat(detect(false, 50 * MS)).isZero();
        assertThat(firstLostSeq()).isZero();
        assertThat(at(4000, RackState.LOST)).isFalse(); // sent after RACK.end_seq
        assertThat(rack.pipe()).isEqualTo(1000);
    }

    @Test
    void reorderingTimerMarksTheSegmentWhenItExpires() {
        send(5, 0);
        sack(1000, 2000, 50 * MS);
        long timeout = detect(false, 50 * MS);
        assertThat(timeout).isPositive();
        assertThat(detect(false, 50 * MS + timeout - 1)).isEqualTo(1);
        assertThat(rack.hasLost()).isFalse();
        assertThat(detect(false, 50 * MS + timeout)).isZero();
        assertThat(firstLostSeq()).isZero();
    }

    @Test
    void reorderingWithinTheWindowIsNotLoss() {
        send(8, 0);
        ack(1000, 40 * MS);        // min_RTT 40 ms
        sack(2000, 3000, 50 * MS);
        sack(1000, 3000, 51 * MS); // segment 1 arrives late: delivered below RACK.fack, never retransmitted
        assertThat(rack.reorderingSeen()).isTrue();
        sack(4000, 7000, 52 * MS); // segment 3 is held back too
        // Five segments SACKed, but reordering was seen: reo_wnd stays min_RTT / 4 = 10 ms (§6.2 step 4), and
        // segment 3 is not lost yet: the reordering timer would fire in 10 ms.
        assertThat(detect(false, 52 * MS)).isEqualTo(10 * MS);
        assertThat(rack.reoWnd()).isEqualTo(10 * MS);
        assertThat(rack.hasLost()).isFalse();
        sack(3000, 7000, 55 * MS); // it arrives within the window
        assertThat(detect(false, 55 * MS)).isZero();
        assertThat(rack.hasLost()).isFalse();
        assertThat(rack.pipe()).isEqualTo(1000);
    }

    @Test
    void lostRetransmissionIsDetectedWhenLaterDataIsDelivered() {
        send(5, 0);
        sack(1000, 4000, 50 * MS);
        detect(true, 50 * MS);
        assertThat(firstLostSeq()).isZero();
        rack.onTransmit(0, 1000, 50 * MS); // the retransmission
        assertThat(rack.hasLost()).isFalse();
        assertThat(rack.pipe()).isEqualTo(2000); // the retransmission and segment 4
        send(1, 60 * MS);                        // new data after the retransmission
        sack(1000, 4000, 100 * MS);
        sack(4000, 6000, 110 * MS);              // ...is delivered: it was sent after the retransmission
        assertThat(detect(true, 110 * MS)).isZero();
        assertThat(firstLostSeq()).isZero();     // the retransmission is lost too
        assertThat(at(0, RackState.RETRANSMITTED)).isTrue();
    }

    @Test
    void sackOfARetransmissionFasterThanMinRttIsAmbiguousAndIgnored() {
        send(3, 0);
        ack(1000, 40 * MS);                   // min_RTT 40 ms
        rack.onTransmit(1000, 2000, 45 * MS); // retransmitted
        sack(1000, 2000, 50 * MS);            // 5 ms later: the original's SACK, not the retransmission's
        // RACK still points at segment 0; segment 1 is SACKed so nothing is lost.
        assertThat(detect(false, 50 * MS)).isZero();
        assertThat(rack.hasLost()).isFalse();
        assertThat(rack.rackRtt()).isEqualTo(40 * MS);
    }

    @Test
    void sequenceWrapAround() {
        una = -1500;
        max = -1500;
        send(3, 0);
        sack(-500, 1500, 50 * MS);
        assertThat(detect(true, 50 * MS)).isZero();
        assertThat(firstLostSeq()).isEqualTo(-1500);
        ack(1500, 60 * MS);
        assertThat(rack.size()).isZero();
    }

    @Test
    void anIdleConnectionDoesNotKeepTheArraysOfABurst() {
        assertThat(rack.capacity()).isEqualTo(SegmentSlots.INITIAL_CAPACITY);
        for (int k = 0; k < 600; k++) {
            send(1, k * MS); // each segment at its own time: an entry each
        }
        sack(MSS, 300 * MSS, 700 * MS);
        assertThat(rack.capacity()).isEqualTo(1024);
        ack(500 * MSS, 710 * MS);
        assertThat(rack.size()).isEqualTo(100);
        assertThat(rack.capacity()).as("100 entries are more than a sixteenth: kept").isEqualTo(1024);
        ack(max, 720 * MS);
        assertThat(rack.size()).isZero();
        assertThat(rack.capacity()).as("the flight emptied: back to the initial arrays")
                .isEqualTo(SegmentSlots.INITIAL_CAPACITY);
        send(3, 800 * MS);
        ack(una + MSS, 850 * MS);
        assertThat(rack.size()).isEqualTo(1);
        assertThat(rack.pipe()).isEqualTo(2 * MSS);
        assertThat(rack.rackRtt()).isEqualTo(50 * MS);
    }
}
