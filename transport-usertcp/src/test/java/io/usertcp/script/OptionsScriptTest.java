package io.usertcp.script;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * TCP options on input (RFC 9293 §3.1, §3.2): any alignment, unknown kinds skipped by length, illegal lengths
 * survived. Each case sends a SYN with the options, checks the SYN-ACK, then checks the MSS the stack took
 * from the SYN by the size of the segments it sends.
 */
class OptionsScriptTest {
    /** A passive open with {@code synOptions}; the SYN-ACK must carry {@code synAckOptions}; data goes in {@code mss}. */
    private static void handshakeThenSend(String name, String synOptions, String synAckOptions, int mss, int window) {
        int total = 2 * mss + 100;
        ScriptedPeer.runText(name, String.join("\n",
                "+0    listen(8080)",
                "+0    < S 0:0(0) win 65535 <" + synOptions + ">",
                "+0    > S. 0:0(0) ack 1 win 65535 <" + synAckOptions + ">",
                "+0.1  < . 1:1(0) ack 1 win 65535",
                "+0    write(" + total + ")",
                "+0    > . 1:" + (1 + mss) + "(" + mss + ") ack 1 win " + window,
                "+0    > . " + (1 + mss) + ":" + (1 + 2 * mss) + "(" + mss + ") ack 1 win " + window,
                "+0    > P. " + (1 + 2 * mss) + ":" + (1 + total) + "(100) ack 1 win " + window,
                "+0.1  < . 1:1(0) ack " + (1 + total) + " win 65535",
                ""));
    }

    @Test
    @DisplayName("RFC 9293 §3.2 (MUST-64): options are processed whatever their alignment")
    void optionsNeedNoAlignment() {
        handshakeThenSend("misaligned", "nop,mss 1000,wscale 7,sackOK", "mss 1460,nop,wscale 5,nop,nop,sackOK", 1000,
                32768);
        handshakeThenSend("misaligned2", "sackOK,wscale 2,mss 1000", "mss 1460,nop,wscale 5,nop,nop,sackOK", 1000,
                32768);
    }

    @Test
    @DisplayName("RFC 9293 §3.1 (MUST-6, MUST-68): an unknown option is skipped by its length")
    void unknownOptionIsSkipped() {
        handshakeThenSend("unknown", "raw fd06aabbccdd,mss 1000,nop,nop,sackOK", "mss 1460,nop,nop,sackOK", 1000, 65535);
    }

    @Test
    @DisplayName("RFC 9293 §3.1 (MUST-4): EOL ends the list; NOP and MSS are understood")
    void endOfOptionListEndsTheList() {
        handshakeThenSend("eol", "nop,mss 1000,eol", "mss 1460", 1000, 65535);
    }

    // RFC 9293 §3.1 (MUST-7): "TCP implementations MUST be prepared to handle an illegal option length (e.g.,
    // zero); a suggested procedure is to reset the connection and log the error cause". This stack copes by
    // ignoring the options from the bad one on (TcpOptions marks the set malformed and stops) and keeps what
    // came before; it does not reset. These cases assert that behaviour.

    @Test
    @DisplayName("RFC 9293 §3.1 (MUST-7): an option of length 0 after the MSS: the MSS counts, the rest is ignored")
    void zeroLengthOptionAfterMss() {
        handshakeThenSend("len0-after", "mss 1000,raw fe00,sackOK", "mss 1460", 1000, 65535);
    }

    @Test
    @DisplayName("RFC 9293 §3.1 (MUST-7): an option of length 0 before the MSS: no MSS, so 536")
    void zeroLengthOptionBeforeMss() {
        handshakeThenSend("len0-before", "raw fe00,mss 1000", "mss 1460", 536, 65535);
    }

    @Test
    @DisplayName("RFC 9293 §3.1 (MUST-7): an option of length 1")
    void lengthOneOption() {
        handshakeThenSend("len1", "raw 0801,mss 1000", "mss 1460", 536, 65535);
    }

    @Test
    @DisplayName("RFC 9293 §3.1 (MUST-7): an option whose length runs past the header")
    void optionRunningPastTheHeader() {
        handshakeThenSend("past-end", "mss 1000,raw 030a0700", "mss 1460", 1000, 65535);
    }

    @Test
    @DisplayName("RFC 9293 §3.1 (MUST-7): an option kind in the header's last byte, without its length")
    void optionKindWithoutLength() {
        handshakeThenSend("kind-only", "nop,nop,nop,raw 02", "mss 1460", 536, 65535);
    }

    @Test
    @DisplayName("RFC 9293 §3.1 (MUST-5, MUST-65): options in any segment; an MSS option outside a SYN changes nothing")
    void optionsInDataSegments() {
        ScriptedPeer.runText("data-options", """
                % rcvbuf=65535
                +0    listen(8080)
                +0    < S 0:0(0) win 65535 <mss 1000>
                +0    > S. 0:0(0) ack 1 win 65535 <mss 1460>
                +0.1  < . 1:1(0) ack 1 win 65535 <mss 100>
                +0    < P. 1:11(10) ack 1 win 65535 <nop,nop,TS val 1 ecr 0,raw fd04ffff>
                +0    > . 1:1(0) ack 11 win 65525
                +0    < P. 11:21(10) ack 1 win 65535 <mss 200,raw fe00>
                +0    > . 1:1(0) ack 21 win 65515
                +0    read(20)
                +0    write(1500)
                +0    > . 1:1001(1000) ack 21 win 65535
                +0    > P. 1001:1501(500) ack 21 win 65535
                +0.1  < . 21:21(0) ack 1501 win 65535
                """);
    }
}
