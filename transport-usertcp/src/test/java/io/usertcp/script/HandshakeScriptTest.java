package io.usertcp.script;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** Connection establishment (RFC 9293 §3.5, §3.10.7.2-4) and what the handshake negotiates. */
class HandshakeScriptTest {
    @Test
    @DisplayName("RFC 9293 §3.5, §3.7.1 (MUST-14), RFC 7323 §1.3, RFC 2018 §2: passive open negotiates MSS, window scale and SACK")
    void passiveOpenNegotiatesMssWindowScaleAndSack() {
        ScriptedPeer.runResource("passive_open_options.pkt");
    }

    @Test
    @DisplayName("RFC 9293 §3.7.1 (MUST-15), §3.1 (MUST-1): a SYN without options gets no WS/SACK and an MSS of 536")
    void synWithoutOptionsMeansDefaultMss536() {
        ScriptedPeer.runResource("passive_open_no_options.pkt");
    }

    @Test
    @DisplayName("RFC 9293 §3.7.1 (MUST-67, MUST-16): the MSS sent is the MTU minus 40, and bounds what is sent")
    void mssFollowsTheMtu() {
        ScriptedPeer.runResource("mss_from_mtu.pkt");
    }

    @Test
    @DisplayName("RFC 9293 §3.10.7.4, §3.5.3 (MUST-11): SYN-RECEIVED answers a bad ACK with RST, a RST returns it to LISTEN")
    void synReceivedResetReturnsToListen() {
        ScriptedPeer.runResource("syn_received_reset.pkt");
    }

    @Test
    @DisplayName("RFC 9293 §3.10.7.3: SYN-SENT answers a bad ACK with RST, ignores a bare RST, is refused by RST|ACK")
    void synSentHandlesBadAcksAndResets() {
        ScriptedPeer.runResource("syn_sent.pkt");
    }

    @Test
    @DisplayName("RFC 9293 §3.5 Figure 7 (MUST-10): simultaneous open, SYN-SENT -> SYN-RECEIVED -> ESTABLISHED")
    void simultaneousOpen() {
        ScriptedPeer.runResource("simultaneous_open.pkt");
    }

    @Test
    @DisplayName("RFC 9293 §3.10.4: closed in SYN-RECEIVED, the unacknowledged SYN times out and is resent as a SYN-ACK")
    void simultaneousOpenClosedBeforeTheSynIsAcknowledged() {
        ScriptedPeer.runResource("simultaneous_open_close.pkt");
    }

    @Test
    @DisplayName("RFC 9293 §3.9.1.1 (MUST-41, MUST-42): LISTEN on a port in use leaves the existing connection alone")
    void listenDoesNotDisturbExistingConnections() {
        ScriptedPeer.runResource("listen_does_not_disturb.pkt");
    }

    @Test
    @DisplayName("RFC 9293 §3.4.1 (MUST-8), RFC 6528: the ISN advances with a 4 µs clock")
    void isnIsClockDriven() {
        ScriptedPeer.runResource("isn_clock.pkt");
    }

    @Test
    @DisplayName("RFC 7323 §3, §4.3, §5.3: timestamps negotiated, TSecr = TS.Recent, PAWS drops an old TSval")
    void timestamps() {
        ScriptedPeer.runResource("timestamps.pkt");
    }

    @Test
    @DisplayName("RFC 7323 §5.3: TS.Recent moves only after the sequence and ACK checks pass (a blind TSval cannot wedge)")
    void tsRecentOnlyFromAcceptableSegments() {
        ScriptedPeer.runResource("ts_recent_blind.pkt");
    }
}
