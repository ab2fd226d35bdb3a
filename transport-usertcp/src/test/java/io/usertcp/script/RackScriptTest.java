package io.usertcp.script;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** RACK-TLP loss detection (RFC 8985) on SACK connections. */
class RackScriptTest {
    @Test
    @DisplayName("RFC 8985 §6.2: a lost retransmission is detected when later data is SACKed, without an RTO")
    void lostRetransmissionWithoutRto() {
        ScriptedPeer.runResource("rack_lost_retransmission.pkt");
    }

    @Test
    @DisplayName("RFC 8985 §7: a lost tail is probed after PTO = 2 * SRTT and repaired before the RTO")
    void tailLossProbeRepairsALostTail() {
        ScriptedPeer.runResource("rack_tail_loss_probe.pkt");
    }

    @Test
    @DisplayName("RFC 8985 §6.2 step 4: reordering within RACK.reo_wnd is not taken for loss")
    void reorderingWithinTheWindowIsNotLoss() {
        ScriptedPeer.runResource("rack_reordering.pkt");
    }
}
