package io.usertcp.script;

import org.junit.jupiter.api.Disabled;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** The receiving side: acceptability, reassembly, SACK, ACK generation, the receive window. */
class ReceiveScriptTest {
    @Test
    @DisplayName("RFC 9293 §3.4, §3.10.7.4: old data is ACKed not redelivered, data beyond the window is cut or dropped")
    void segmentAcceptability() {
        ScriptedPeer.runResource("data_acceptability.pkt");
    }

    @Test
    @DisplayName("RFC 2018 §4, RFC 5681 §4.2: out-of-order data is held and SACKed, the filled hole ACKed cumulatively")
    void outOfOrderDataIsHeldAndSacked() {
        ScriptedPeer.runResource("out_of_order_sack.pkt");
    }

    @Test
    @DisplayName("RFC 2018 §2, RFC 5681 §4.2: without SACK-permitted no SACK option; out-of-order data is still held")
    void outOfOrderDataWithoutSack() {
        ScriptedPeer.runResource("out_of_order_no_sack.pkt");
    }

    @Test
    @DisplayName("RFC 9293 §3.10.7.4 eighth check: an out-of-order FIN takes effect when the hole is filled")
    void outOfOrderFinWaitsForTheHole() {
        ScriptedPeer.runResource("out_of_order_fin.pkt");
    }

    @Test
    @DisplayName("RFC 9293 §3.10.7.4 (MUST-58, MUST-59), §3.8.6.3 (MUST-40): one ACK for a batch, no ACK delayed")
    void acksAreAggregatedOverABatch() {
        ScriptedPeer.runResource("ack_aggregation.pkt");
    }

    @Test
    @DisplayName("RFC 9293 §3.8.6.2.2 (MUST-39): receiver SWS avoidance")
    void receiverSillyWindowAvoidance() {
        ScriptedPeer.runResource("receiver_sws.pkt");
    }

    @Test
    @DisplayName("RFC 9293 §3.1 (MUST-3): a segment with a bad checksum is dropped and counted")
    void badChecksumIsDropped() {
        ScriptedPeer.runResource("bad_checksum.pkt");
    }

    @Test
    @DisplayName("RFC 5961 §7: ACKs for out-of-window pure segments go out at most once per 500 ms (no ACK wars)")
    void outOfWindowAcksAreRateLimited() {
        ScriptedPeer.runText("oow-ack-rate-limit", """
                % rcvbuf=65535
                +0    listen(8080)
                +0    < S 0:0(0) win 65535 <mss 1460>
                +0    > S. 0:0(0) ack 1 win 65535 <mss 1460>
                +0.1  < . 1:1(0) ack 1 win 65535
                +0    < . 100001:100001(0) ack 1 win 65535
                +0    > . 1:1(0) ack 1 win 65535
                +0.1  < . 100001:100001(0) ack 1 win 65535
                +0    < . 1:1(0) ack 5000 win 65535
                +0    expect_stat(tcpOutOfWindowAcksLimited=2)
                +0.5  < . 100001:100001(0) ack 1 win 65535
                +0    > . 1:1(0) ack 1 win 65535
                +0    < P. 200001:200011(10) ack 1 win 65535
                +0    > . 1:1(0) ack 1 win 65535
                +0    expect_stat(tcpOutOfWindowAcksLimited=2)
                """);
    }

    @Test
    @DisplayName("RFC 9293 §3.8.5 (MUST-30, MUST-31, MUST-32): urgent data is delivered in line, RCV.UP is kept and reported")
    void urgentDataIsDeliveredInLine() {
        ScriptedPeer.runResource("urgent_data_inline.pkt");
    }

    @Test
    @DisplayName("RFC 9293 §3.9.2 (MUST-50): IP options are ignored")
    void ipOptionsAreIgnored() {
        ScriptedPeer.runResource("ip_options.pkt");
    }

    @Test
    @DisplayName("RFC 9293 §3.8.6.2.2 (MUST-39), RFC 5681 §2: reading does not send an ACK that changes nothing")
    void readingSendsNoDuplicateAck() {
        ScriptedPeer.runResource("read_window_update.pkt");
    }

    @Test
    @DisplayName("RFC 9293 §3.4: sequence numbers are compared modulo 2^32 (the peer's data crosses zero)")
    void sequenceNumbersWrap() {
        ScriptedPeer.runResource("sequence_wrap.pkt");
    }
}
