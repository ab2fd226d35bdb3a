package io.usertcp.script;

import org.junit.jupiter.api.Disabled;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** Retransmission (RFC 6298), loss recovery (RFC 5681, RFC 6582, RFC 6675) and giving up (RFC 9293 §3.8.3). */
class RetransmissionScriptTest {
    @Test
    @DisplayName("RFC 6298 §2.1, §5.5 (RFC 9293 MUST-19, MUST-22): SYN RTO 1 s with exponential backoff, then failure")
    void synRetransmissionBacksOff() {
        ScriptedPeer.runResource("syn_retransmit.pkt");
    }

    @Test
    @DisplayName("RFC 9293 §3.8.3 (MUST-23): SYN retransmissions last at least 3 minutes")
    void synRetransmissionsLastThreeMinutes() {
        ScriptedPeer.runResource("syn_retransmit_three_minutes.pkt");
    }

    @Test
    @DisplayName("RFC 6298 §2.1, §5.5: SYN-ACK RTO 1 s with backoff; a retransmitted SYN gets the SYN-ACK again")
    void synAckRetransmission() {
        ScriptedPeer.runResource("syn_ack_retransmit.pkt");
    }

    @Test
    @DisplayName("RFC 6298 §2.2, §3 (Karn, MUST-18), §5.5: RTO from SRTT/RTTVAR, doubling, no sample from a retransmission")
    void dataRetransmissionTimeout() {
        ScriptedPeer.runResource("rto_data.pkt");
    }

    @Test
    @DisplayName("RFC 6298 §2.4 (deviation: 200 ms floor as Linux): the RTO after a near-zero RTT sample is 200 ms")
    void rtoFloorIs200Milliseconds() {
        ScriptedPeer.runResource("rto_minimum.pkt");
    }

    @Test
    @DisplayName("RFC 5681 §3.2, RFC 6582 §3.2: fast retransmit on the third duplicate ACK, NewReno partial ACK")
    void fastRetransmitWithoutSack() {
        ScriptedPeer.runResource("fast_retransmit.pkt");
    }

    @Test
    @DisplayName("RFC 6675 §5: SACK-based recovery retransmits only the holes")
    void sackRecoveryRetransmitsOnlyHoles() {
        ScriptedPeer.runResource("sack_recovery.pkt");
    }

    @Test
    @DisplayName("RFC 5681 §3.1, RFC 6928, RFC 3465 (RFC 9293 MUST-19): slow start from a 10-segment initial window")
    void slowStart() {
        ScriptedPeer.runResource("slow_start.pkt");
    }

    @Test
    @DisplayName("RFC 7661 §4.3: an application-limited sender's cwnd does not grow")
    void applicationLimitedCwndDoesNotGrow() {
        ScriptedPeer.runResource("cwnd_application_limited.pkt");
    }

    @Test
    @DisplayName("RFC 9293 §3.8.3 (MUST-20, MUST-21), RFC 5482: the application's R2 (user timeout) closes the connection")
    void userTimeoutClosesTheConnection() {
        ScriptedPeer.runResource("user_timeout.pkt");
    }

    @Test
    @DisplayName("RFC 9293 §3.10.8: the user timeout aborts when it expires")
    void userTimeoutAbortsWhenItExpires() {
        ScriptedPeer.runResource("user_timeout_exact.pkt");
    }

    @Test
    @DisplayName("RFC 5681 §3.2, RFC 6582 §3.2 with NewReno's decrease: fast retransmit, partial ACK")
    void fastRetransmitWithoutSackNewReno() {
        ScriptedPeer.runResource("fast_retransmit_newreno.pkt");
    }

    @Test
    @DisplayName("RFC 6675 §5 with NewReno's decrease: the first hole is retransmitted when recovery starts")
    void sackRecoveryNewReno() {
        ScriptedPeer.runResource("sack_recovery_newreno.pkt");
    }

    @Test
    @DisplayName("RFC 2883 §4: a D-SACK block is recognised, counted, and starts no fast retransmit")
    void dsackIsRecognised() {
        ScriptedPeer.runResource("dsack.pkt");
    }
}
