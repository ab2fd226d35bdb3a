package io.usertcp.script;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** The passive handshake under pressure: SYN queue records, SYN-ACK retries and SYN cookies (RFC 4987). */
class SynQueueScriptTest {
    @Test
    @DisplayName("RFC 6298 §2.1, §5.5: at most 5 SYN-ACK retransmissions (1, 2, 4, 8, 16 s), the record gone at 63 s")
    void synAckRetriesEnd() {
        ScriptedPeer.runResource("syn_ack_retries.pkt");
    }

    @Test
    @DisplayName("Duplicate SYNs in SYN-RECEIVED are answered with the SYN-ACK at most once per 500 ms")
    void duplicateSynsAreRateLimited() {
        ScriptedPeer.runResource("syn_received_duplicate_syn.pkt");
    }

    @Test
    @DisplayName("RFC 4987 §3.6: a full SYN queue answers with a cookie; its ACK establishes with data, WS and SACK from TSecr")
    void synCookieEstablishesWithDataAndOptions() {
        ScriptedPeer.runResource("syn_cookie.pkt");
    }

    @Test
    @DisplayName("RFC 4987 §3.6: without timestamps a cookie keeps only the MSS (from the table), no WS or SACK")
    void synCookieWithoutTimestamps() {
        ScriptedPeer.runResource("syn_cookie_no_timestamps.pkt");
    }

    @Test
    @DisplayName("RFC 4987 §3.6, RFC 9293 §3.10.7.2: forged and expired cookies get RST and are counted")
    void invalidCookiesAreReset() {
        ScriptedPeer.runResource("syn_cookie_invalid.pkt");
    }

    @Test
    @DisplayName("RFC 7323 §2.3: a SYN's window scale above 14 is kept by the half-open record as 14")
    void windowScaleAbove14() {
        ScriptedPeer.runResource("passive_open_wscale_above_14.pkt");
    }
}
