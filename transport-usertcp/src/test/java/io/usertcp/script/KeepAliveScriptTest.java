package io.usertcp.script;

import org.junit.jupiter.api.Disabled;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** Keep-alives (RFC 9293 §3.8.4, RFC 1122 §4.2.3.6). */
class KeepAliveScriptTest {
    @Test
    @DisplayName("RFC 9293 §3.8.4 (MUST-24..27, MUST-29, SHLD-12): off by default, SEG.SEQ = SND.NXT-1, reset after the count")
    void keepaliveProbes() {
        ScriptedPeer.runResource("keepalive.pkt");
    }

    @Disabled("BUG: keep-alive probes are sent while data is unacknowledged (a probe at 5.1 s between the "
            + "retransmissions at 4.6 s and 9.4 s), and unanswered probes then reset the connection (3 probes: RST "
            + "at 8.1 s), long before the retransmission limit. RFC 9293 §3.8.4 MUST-26: keep-alives only when no "
            + "sent data is outstanding")
    @Test
    @DisplayName("RFC 9293 §3.8.4 (MUST-26): no keep-alive while sent data is outstanding")
    void noKeepaliveWhileDataIsOutstanding() {
        ScriptedPeer.runResource("keepalive_with_data_outstanding.pkt");
    }
}
