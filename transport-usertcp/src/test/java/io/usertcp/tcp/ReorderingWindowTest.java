package io.usertcp.tcp;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/** RFC 8985 §6.2 step 4 alone: RACK.reo_wnd and its D-SACK driven adaptation. */
class ReorderingWindowTest {
    private static final long MS = 1_000_000L;
    private static final long MIN_RTT = 40 * MS;
    private static final long SRTT = 100 * MS;

    private final ReorderingWindow w = new ReorderingWindow();

    private boolean update(boolean dsack, int una, int nxt, boolean recovering, boolean reordering, int segsSacked) {
        return w.update(dsack, una, nxt, recovering, SRTT, reordering, segsSacked, MIN_RTT);
    }

    @Test
    void zeroWhileNoReorderingWasSeenAndRecoveryOrDupThreshSacks() {
        assertThat(update(false, 0, 10, true, false, 0)).isFalse();
        assertThat(w.reoWnd()).isZero();
        update(false, 0, 10, false, false, ReorderingWindow.DUP_THRESH);
        assertThat(w.reoWnd()).isZero();
        assertThat(update(false, 0, 10, false, false, ReorderingWindow.DUP_THRESH - 1)).isTrue();
        assertThat(w.reoWnd()).isEqualTo(MIN_RTT / 4);
    }

    @Test
    void aQuarterOfMinRttOnceReorderingWasSeenCappedBySrttAndZeroWithoutSample() {
        update(false, 0, 10, true, true, 10);
        assertThat(w.reoWnd()).isEqualTo(MIN_RTT / 4);
        w.update(false, 0, 10, true, 5 * MS, true, 10, MIN_RTT);
        assertThat(w.reoWnd()).isEqualTo(5 * MS);
        w.update(false, 0, 10, true, -1, true, 10, -1);
        assertThat(w.reoWnd()).isZero();
    }

    @Test
    void aDsackRaisesTheMultiplierOncePerRoundTrip() {
        update(true, 0, 100, false, true, 0);
        assertThat(w.multiplier()).isEqualTo(2);
        assertThat(w.reoWnd()).isEqualTo(2 * (MIN_RTT / 4));
        update(true, 50, 150, false, true, 0); // SND.UNA has not reached 100: the same round
        assertThat(w.multiplier()).isEqualTo(2);
        update(true, 100, 200, false, true, 0); // a new round
        assertThat(w.multiplier()).isEqualTo(3);
        assertThat(w.reoWnd()).isEqualTo(3 * (MIN_RTT / 4));
        for (int k = 0; k < 10; k++) {
            update(true, 100 + k, 200, false, true, 0);
        }
        assertThat(w.multiplier()).isEqualTo(3);
        w.update(false, 0, 10, false, SRTT, true, 0, MIN_RTT * 100);
        assertThat(w.reoWnd()).as("never more than SRTT").isEqualTo(SRTT);
    }

    @Test
    void anEnlargedWindowPersistsSixteenRecoveries() {
        update(true, 0, 100, false, true, 0);
        for (int k = 0; k < ReorderingWindow.REO_WND_PERSIST - 1; k++) {
            w.onRecoveryExit();
        }
        assertThat(w.multiplier()).isEqualTo(2);
        w.onRecoveryExit();
        assertThat(w.multiplier()).isEqualTo(1);
        assertThat(update(false, 200, 300, false, true, 0)).isTrue();
        assertThat(w.reoWnd()).isEqualTo(MIN_RTT / 4);
    }
}
