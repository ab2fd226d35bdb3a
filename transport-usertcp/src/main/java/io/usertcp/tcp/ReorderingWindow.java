package io.usertcp.tcp;

/**
 * RACK's reordering window (RFC 8985 §6.2 step 4): RACK.reo_wnd, and the D-SACK driven adaptation of it
 * (RACK.reo_wnd_mult, RACK.reo_wnd_persist, RACK.dsack_round). Zero (detect at once, like DupThresh) while no
 * reordering was seen and either recovery is under way or DupThresh segments were SACKed; else a quarter of
 * the minimum RTT, times a multiplier that D-SACKs raise, and never more than SRTT.
 */
final class ReorderingWindow {
    /** RFC 8985 §6.2 step 4: DupThresh, in segments. */
    static final int DUP_THRESH = 3;
    /** RFC 8985 §6.2 step 4: how many recoveries an enlarged reo_wnd persists. */
    static final int REO_WND_PERSIST = 16;

    private long reoWnd;            // RACK.reo_wnd
    private int reoWndMult = 1;     // RACK.reo_wnd_mult
    private int reoWndPersist;      // RACK.reo_wnd_persist
    private int dsackRound;         // RACK.dsack_round (valid when dsackRoundSet)
    private boolean dsackRoundSet;

    /** RACK.reo_wnd. */
    long reoWnd() {
        return reoWnd;
    }

    /** RACK.reo_wnd_mult. */
    int multiplier() {
        return reoWndMult;
    }

    /** RACK.reo_wnd_persist: recoveries left before the multiplier goes back to 1. */
    int persist() {
        return reoWndPersist;
    }

    /**
     * A new flight after the state was pooled ({@link RackLossDetector#resume}): the multiplier and its persistence
     * stay.
     */
    void resume(int mult, int persist) {
        reoWnd = 0;
        reoWndMult = mult;
        reoWndPersist = persist;
        dsackRound = 0;
        dsackRoundSet = false;
    }

    /**
     * RFC 8985 §6.2 step 4: computes RACK.reo_wnd for this ACK. A D-SACK raises the multiplier at most once a
     * round trip (until SND.UNA passes what was SND.NXT at the D-SACK that raised it) and makes it persist for
     * {@link #REO_WND_PERSIST} recoveries.
     *
     * @param dsack          the ACK carried a D-SACK (RFC 2883)
     * @param sndUna         SND.UNA after the ACK
     * @param sndNxt         SND.NXT (the highest sent)
     * @param recovering     in fast recovery or after an RTO
     * @param srtt           the smoothed RTT, or -1
     * @param reorderingSeen RACK.reordering_seen
     * @param segsSacked     RACK.segs_sacked
     * @param minRtt         RACK.min_RTT, or -1 if there is no sample yet
     * @return whether RACK.reo_wnd changed
     */
    boolean update(boolean dsack, int sndUna, int sndNxt, boolean recovering, long srtt,
                   boolean reorderingSeen, int segsSacked, long minRtt) {
        if (dsackRoundSet && sndUna - dsackRound >= 0) {
            dsackRoundSet = false;
        }
        if (!dsackRoundSet && dsack) {
            dsackRoundSet = true;
            dsackRound = sndNxt;
            reoWndMult++;
            reoWndPersist = REO_WND_PERSIST;
        }
        long before = reoWnd;
        if (!reorderingSeen && (recovering || segsSacked >= DUP_THRESH)) {
            reoWnd = 0;
        } else {
            long wnd = minRtt < 0 ? 0 : reoWndMult * (minRtt / 4);
            reoWnd = srtt >= 0 ? Math.min(wnd, srtt) : wnd;
        }
        return reoWnd != before;
    }

    /** RFC 8985 §6.2 step 4: leaving fast or RTO recovery lets an enlarged reo_wnd decay. */
    void onRecoveryExit() {
        if (--reoWndPersist <= 0) {
            reoWndMult = 1;
            reoWndPersist = 0;
        }
    }
}
