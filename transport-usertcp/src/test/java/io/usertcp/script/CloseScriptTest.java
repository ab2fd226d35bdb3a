package io.usertcp.script;

import org.junit.jupiter.api.Disabled;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** Closing (RFC 9293 §3.6) and TIME-WAIT. */
class CloseScriptTest {
    @Test
    @DisplayName("RFC 9293 §3.6 case 2: passive close, CLOSE-WAIT -> LAST-ACK -> CLOSED")
    void passiveClose() {
        ScriptedPeer.runResource("passive_close.pkt");
    }

    @Test
    @DisplayName("RFC 9293 §3.6 case 1, §3.6.1 (MUST-13): active close, FIN-WAIT-1/2 -> TIME-WAIT; a FIN there is ACKed")
    void activeCloseAndTimeWait() {
        ScriptedPeer.runResource("active_close.pkt");
    }

    @Test
    @DisplayName("RFC 9293 §3.10.7.4, Figure 5 note 2: FIN-WAIT-1 receiving FIN and ACK of our FIN -> TIME-WAIT")
    void finWaitOneStraightToTimeWait() {
        ScriptedPeer.runResource("active_close_fin_wait_1_fin.pkt");
    }

    @Test
    @DisplayName("RFC 9293 §3.6 case 3: simultaneous close, FIN-WAIT-1 -> CLOSING -> TIME-WAIT")
    void simultaneousClose() {
        ScriptedPeer.runResource("simultaneous_close.pkt");
    }

    @Test
    @DisplayName("RFC 9293 §3.6.1 (MAY-2, condition 1): a higher SYN reopens a TIME-WAIT connection with a higher ISN")
    void timeWaitIsReusedByAHigherSyn() {
        ScriptedPeer.runResource("time_wait_new_syn.pkt");
    }

    @Test
    @DisplayName("RFC 9293 §3.6.1 (MAY-2, condition 2): back to TIME-WAIT when the reopening SYN was an old duplicate")
    void timeWaitReturnsIfTheSynWasAnOldDuplicate() {
        ScriptedPeer.runResource("time_wait_new_syn_old_duplicate.pkt");
    }

    @Test
    @DisplayName("TIME-WAIT is bounded: past StackConfig.maxTimeWait a connection ACKs the FIN and closes at once")
    void timeWaitOverflowClosesAfterTheLastAck() {
        ScriptedPeer.runResource("time_wait_overflow.pkt");
    }

    @Test
    @DisplayName("TIME-WAIT after the application's close: a FIN is ACKed again and restarts 2 MSL; ACKs rate-limited")
    void timeWaitAfterCloseAcksAFinAgain() {
        ScriptedPeer.runResource("time_wait_closed_fin.pkt");
    }

    @Test
    @DisplayName("TIME-WAIT after the application's close: RST outside the window dropped, inside challenged, exact ends it")
    void timeWaitAfterCloseTakesOnlyAnExactRst() {
        ScriptedPeer.runResource("time_wait_closed_rst.pkt");
    }

    @Test
    @DisplayName("RFC 6191: with timestamps a SYN with a newer TSval reopens TIME-WAIT, an older one is PAWS-dropped")
    void timeWaitAfterCloseIsReopenedByANewerTimestamp() {
        ScriptedPeer.runResource("time_wait_closed_syn_timestamps.pkt");
    }

    @Test
    @DisplayName("Orphans are bounded: past StackConfig.maxOrphans a closed connection is reset at once")
    void orphanOverflowResets() {
        ScriptedPeer.runResource("orphan_limit.pkt");
    }
}
