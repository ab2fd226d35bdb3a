package io.usertcp.tcp;

import org.junit.jupiter.api.Test;

import static io.usertcp.tcp.SegmentRecords.LOST;
import static io.usertcp.tcp.SegmentRecords.RETRANSMITTED;
import static io.usertcp.tcp.SegmentRecords.SACKED;
import static org.assertj.core.api.Assertions.assertThat;

/** RFC 8985 §6.2 steps 2, 3 and 5 and the §6.3 timer over a hand-built set of records. */
class RackLossDetectorTest {
    private static final long MS = 1_000_000L;
    private static final int MSS = 1000;

    private final SegmentRecords r = new SegmentRecords();
    private final RackLossDetector d = new RackLossDetector(r);

    /** Five segments sent 1 ms apart, starting at 0 ms. */
    private void sendFive() {
        for (int k = 0; k < 5; k++) {
            r.append(k * MSS, (k + 1) * MSS, MSS, k * MS);
        }
    }

    private void sack(int i, long now) {
        d.onDelivered(i, r.end(i), now);
        r.setFlags(i, r.flags(i) | SACKED);
        d.markDirty();
    }

    @Test
    void sentAfterOrdersByTimeThenBySequence() {
        assertThat(RackLossDetector.sentAfter(2, 0, 1, 100)).isTrue();
        assertThat(RackLossDetector.sentAfter(1, 100, 2, 0)).isFalse();
        assertThat(RackLossDetector.sentAfter(1, 200, 1, 100)).isTrue();
        assertThat(RackLossDetector.sentAfter(1, 100, 1, 100)).isFalse();
        assertThat(RackLossDetector.sentAfter(1, Integer.MIN_VALUE, 1, Integer.MAX_VALUE)).as("wraps").isTrue();
    }

    @Test
    void nothingDeliveredNothingLost() {
        sendFive();
        assertThat(d.detectLoss(500 * MS)).isZero();
        assertThat(r.lostBytes()).isZero();
    }

    @Test
    void segmentsSentBeforeTheDeliveredOneAreLostAfterRttPlusWindow() {
        sendFive();
        sack(3, 53 * MS); // sent at 3 ms: RACK.rtt 50 ms
        assertThat(d.rackRtt()).isEqualTo(50 * MS);
        d.updateReoWnd(false, 0, 5 * MSS, true, 100 * MS); // in recovery, no reordering: reo_wnd 0
        assertThat(d.reoWnd()).isZero();
        // At 51.5 ms: segments 0 (due at 50 ms) and 1 (51 ms) are lost, 2 waits 0.5 ms more.
        long timeout = d.detectLoss(51 * MS + MS / 2);
        assertThat(timeout).isEqualTo(MS / 2);
        assertThat(r.is(0, LOST)).isTrue();
        assertThat(r.size()).as("lost entries are not merged").isEqualTo(5);
        assertThat(r.is(1, LOST)).isTrue();
        assertThat(r.is(2, LOST)).isFalse();
        assertThat(r.is(4, LOST)).as("sent after the delivered one").isFalse();
        assertThat(r.lostBytes()).isEqualTo(2 * MSS);
        // Nothing changed and nothing came due: the answer stands without a scan.
        long work = r.work();
        assertThat(d.detectLoss(51 * MS + 3 * MS / 4)).isEqualTo(MS / 4);
        assertThat(r.work()).isEqualTo(work);
        assertThat(d.detectLoss(52 * MS)).isZero();
        assertThat(r.is(2, LOST)).isTrue();
    }

    @Test
    void aLowerSegmentDeliveredLaterRevealsReorderingUnlessRetransmitted() {
        sendFive();
        sack(3, 60 * MS);
        r.setFlags(1, RETRANSMITTED);
        sack(1, 61 * MS);
        assertThat(d.reorderingSeen()).as("a retransmission below fack is not reordering").isFalse();
        sack(2, 62 * MS);
        assertThat(d.reorderingSeen()).isTrue();
        d.updateReoWnd(false, 0, 5 * MSS, true, 100 * MS);
        assertThat(d.reoWnd()).as("min RTT 57 ms over 4, in recovery too").isEqualTo(57 * MS / 4);
    }

    @Test
    void aRetransmissionAckedFasterThanMinRttDoesNotMoveRack() {
        sendFive();
        sack(0, 40 * MS); // min RTT 40 ms, RACK.xmit_ts 0
        r.xmitTs(2, 45 * MS);
        r.setFlags(2, RETRANSMITTED);
        sack(2, 50 * MS); // 5 ms after the resend: the ACK answers the original
        assertThat(d.rackRtt()).isEqualTo(40 * MS);
        r.xmitTs(4, 46 * MS);
        r.setFlags(4, RETRANSMITTED);
        sack(4, 90 * MS);
        assertThat(d.rackRtt()).isEqualTo(44 * MS);
    }
}
