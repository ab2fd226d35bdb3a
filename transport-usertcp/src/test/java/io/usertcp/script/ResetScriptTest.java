package io.usertcp.script;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** Reset generation and processing (RFC 9293 §3.5.2, §3.5.3, §3.10.7) with RFC 5961's defenses. */
class ResetScriptTest {
    @Test
    @DisplayName("RFC 9293 §3.10.7.1: SYN to a closed port -> RST|ACK seq 0 ack SEG.SEQ+SEG.LEN; a RST is not answered")
    void synToClosedPortIsRefusedWithRstAck() {
        ScriptedPeer.runResource("syn_to_closed_port.pkt");
    }

    @Test
    @DisplayName("RFC 9293 §3.10.7.1, §3.10.7.2: ACK to a closed port or to LISTEN -> RST seq SEG.ACK")
    void ackToClosedPortIsAnsweredWithRstAtSegAck() {
        ScriptedPeer.runResource("ack_to_closed_port.pkt");
    }

    @Test
    @DisplayName("RSTs for segments that match nothing are rate-limited stack-wide (1000/s, bursts of 100)")
    void resetsForNothingAreRateLimited() {
        ScriptedPeer.runResource("rst_rate_limit.pkt");
    }

    @Test
    @DisplayName("RFC 5961 §3.2, RFC 9293 §3.10.7.4 (MUST-12): exact RST resets, in-window RST gets a challenge ACK")
    void resetNeedsAnExactSequenceNumber() {
        ScriptedPeer.runResource("rst_in_window.pkt");
    }

    @Test
    @DisplayName("RFC 9293 §3.4 (MUST-66): a RST is processed even with a zero receive window")
    void resetIsProcessedWithAZeroWindow() {
        ScriptedPeer.runResource("rst_zero_window.pkt");
    }

    @Test
    @DisplayName("RFC 5961 §4.2: a SYN in ESTABLISHED gets a challenge ACK, whatever its sequence number")
    void synInEstablishedGetsAChallengeAck() {
        ScriptedPeer.runResource("syn_in_established.pkt");
    }

    @Test
    @DisplayName("RFC 5961 §7: at most 10 challenge ACKs per second")
    void challengeAcksAreRateLimited() {
        ScriptedPeer.runResource("challenge_ack_rate_limit.pkt");
    }

    @Test
    @DisplayName("RFC 9293 §3.10.7.4 fifth check, RFC 5961 §5.2: an ACK of unsent or far too old data is ACKed and dropped")
    void ackOfUnsentDataIsDropped() {
        ScriptedPeer.runResource("ack_of_unsent_data.pkt");
    }
}
