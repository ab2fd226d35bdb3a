package io.usertcp.script;

import org.junit.jupiter.api.Disabled;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** The sending side: the peer's window, probing, window scaling, SWS avoidance, Nagle, segment sizes. */
class SendWindowScriptTest {
    @Test
    @DisplayName("RFC 9293 §3.8.6.1 (MUST-36, SHLD-29, SHLD-30): zero window stops sending, probes back off, update resumes")
    void zeroWindowIsProbed() {
        ScriptedPeer.runResource("zero_window.pkt");
    }

    @Test
    @DisplayName("RFC 9293 §3.8.6.1 (MUST-37): a zero window answered for 10 minutes keeps the connection")
    void zeroWindowMayStayClosedIndefinitely() {
        ScriptedPeer.runResource("zero_window_indefinitely.pkt");
    }

    @Test
    @DisplayName("A zero window whose probes go unanswered 15 times ends the connection (issue #10)")
    void zeroWindowWithASilentPeerTimesOut() {
        ScriptedPeer.runResource("zero_window_silent.pkt");
    }

    @Test
    @DisplayName("A closed connection stuck behind a zero window gives up after 8 probes (issue #10)")
    void orphanBehindAZeroWindowGivesUp() {
        ScriptedPeer.runResource("zero_window_orphan.pkt");
    }

    @Test
    @DisplayName("RFC 9293 §3.8.6 (MUST-34, MUST-35, SHLD-15): a shrinking window, down to zero, is probed")
    void shrinkingWindow() {
        ScriptedPeer.runResource("window_shrink.pkt");
    }

    @Test
    @DisplayName("RFC 9293 §3.8.6.1 (MUST-37, SHLD-17): a window shrunk to zero, probes answered for 10 minutes")
    void windowShrunkToZeroMayStayClosed() {
        ScriptedPeer.runResource("window_shrink_to_zero_indefinitely.pkt");
    }

    @Test
    @DisplayName("RFC 7323 §2.2: SEG.WND is scaled except in segments with SYN")
    void windowScaleIsNotAppliedToSyn() {
        ScriptedPeer.runResource("window_scale.pkt");
    }

    @Test
    @DisplayName("RFC 9293 §3.8.6.2.1 (MUST-38): sender SWS avoidance")
    void senderSillyWindowAvoidance() {
        ScriptedPeer.runResource("sender_sws.pkt");
    }

    @Test
    @DisplayName("RFC 9293 §3.7.4 (SHLD-7, MUST-17): TCP_NODELAY by default, Nagle when asked")
    void nagleIsOffByDefaultAndOnWhenAsked() {
        ScriptedPeer.runResource("nagle.pkt");
    }

    @Test
    @DisplayName("RFC 9293 §3.7.1 (MUST-16), RFC 6691: segments carrying SACK blocks carry less data")
    void effectiveMssLeavesRoomForOptions() {
        ScriptedPeer.runResource("effective_mss_with_sack.pkt");
    }
}
