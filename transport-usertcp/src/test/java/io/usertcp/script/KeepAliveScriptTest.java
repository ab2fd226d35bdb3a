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

    @Test
    @DisplayName("RFC 9293 §3.8.4 (MUST-26): no keep-alive while sent data is outstanding")
    void noKeepaliveWhileDataIsOutstanding() {
        ScriptedPeer.runResource("keepalive_with_data_outstanding.pkt");
    }
}
