package io.usertcp.script;

import io.usertcp.wire.Tcp;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The harness itself: parsing, formatting both ways, and failures that say what went wrong. */
class ScriptedPeerSelfTest {
    private static final String HANDSHAKE = """
            +0    listen(8080)
            +0    < S 0:0(0) win 65535 <mss 1460,sackOK,nop,wscale 7>
            """;

    @Test
    void segmentTextRoundTripsThroughBytes() {
        SegmentSpec s = SegmentSpec.parse(" P. 1:11(10) ack 5 win 1000 <nop,nop,sack 21:31 41:51,mss 1460,"
                + "TS val 7 ecr 0,raw fe0401ff>", true);
        byte[] opts = SegmentText.encodeOptions(s.options, 1000);
        assertThat(opts.length % 4).isZero();
        WireSegment w = new WireSegment(0, ScriptedPeer.PEER_IP, ScriptedPeer.STACK_IP, 40000, 8080, 77 + 1, 1000 + 5,
                s.flags, 0, 1000, 0, opts, new byte[10]);
        assertThat(SegmentText.format(w, false, 77, 1000, "40000>8080")).isEqualTo(
                "< P. 1:11(10) ack 5 win 1000 <nop,nop,sack 21:31 41:51,mss 1460,TS val 7 ecr 0,"
                        + "raw fe0401ff>");
        assertThat(s.differences(w, 77, 1000, 40000, 8080)).isEmpty();
    }

    @Test
    void wildcardsMatchAnyValue() {
        SegmentSpec s = SegmentSpec.parse(" S. 0:0(0) ack * win * <mss *,nop,wscale *>", false);
        byte[] opts = SegmentText.encodeOptions(List.of("mss 536", "nop", "wscale 3"), 0);
        WireSegment w = new WireSegment(0, ScriptedPeer.STACK_IP, ScriptedPeer.PEER_IP, 8080, 40000, 500, 12345,
                Tcp.SYN | Tcp.ACK, 0, 512, 0, opts, new byte[0]);
        assertThat(s.differences(w, 500, 0, 8080, 40000)).isEmpty();
        SegmentSpec any = SegmentSpec.parse(" S. 0:0(0) ack 12345 <...>", false);
        assertThat(any.differences(w, 500, 0, 8080, 40000)).isEmpty();
        SegmentSpec none = SegmentSpec.parse(" S. 0:0(0) ack 12345", false);
        assertThat(none.differences(w, 500, 0, 8080, 40000)).containsExactly("options");
    }

    @Test
    void malformedOptionBytesPrintAsRaw() {
        byte[] o = {1, 2, 0, 5};
        assertThat(SegmentText.formatOptions(o, 0)).containsExactly("nop", "raw 020005");
    }

    @Test
    void syntaxErrorsNameTheLine() {
        assertThatThrownBy(() -> Script.parse("x.pkt", "+0 listen(8080)\n+0 < S 0:0 win 1\n"))
                .hasMessageContaining("x.pkt line 2").hasMessageContaining("START:END(LEN)");
        assertThatThrownBy(() -> Script.parse("x.pkt", "+0 < . 1:1(0) win 1\n"))
                .hasMessageContaining("needs 'ack N'");
        assertThatThrownBy(() -> Script.parse("x.pkt", "+0 > S. 0:0(0) <mss 1460,frob 3>\n"))
                .hasMessageContaining("unknown option");
    }

    @Test
    void aMismatchShowsLineExpectedActualAndTrace() {
        assertThatThrownBy(() -> ScriptedPeer.runText("mismatch.pkt", HANDSHAKE
                + "+0    > S. 0:0(0) ack 2 win 65535 <mss 1460,nop,wscale 5,nop,nop,sackOK>\n"))
                .isInstanceOf(AssertionError.class)
                .hasMessageContaining("mismatch.pkt line 3: +0    > S. 0:0(0) ack 2")
                .hasMessageContaining("expected: > S. 0:0(0) ack 2 win 65535 <mss 1460,nop,wscale 5,nop,nop,sackOK>")
                .hasMessageContaining("actual:   > S. 0:0(0) ack 1 win 65535 <mss 1460,nop,wscale 5,nop,nop,sackOK>")
                .hasMessageContaining("differs in: ack")
                .hasMessageContaining("< S 0:0(0) win 65535 <mss 1460,sackOK,nop,wscale 7>");
    }

    @Test
    void aSegmentThatDoesNotComeFails() {
        assertThatThrownBy(() -> ScriptedPeer.runText("silent.pkt", "+0 listen(8080)\n+0 > S. 0:0(0) ack 1 <...>\n"))
                .hasMessageContaining("silent.pkt line 2").hasMessageContaining("the stack sent nothing by 0.010");
    }

    @Test
    void anUnexpectedSegmentFailsAtTheNextLineOrAtTheEnd() {
        assertThatThrownBy(() -> ScriptedPeer.runText("extra.pkt", HANDSHAKE + "+0.1 expect_state(SYN_RECEIVED)\n"))
                .hasMessageContaining("extra.pkt line 3")
                .hasMessageContaining("unexpected segment from the stack before this line")
                .hasMessageContaining("> S. 0:0(0) ack 1");
        assertThatThrownBy(() -> ScriptedPeer.runText("extra-end.pkt", HANDSHAKE))
                .hasMessageContaining("end of script").hasMessageContaining("after the last line");
    }

    @Test
    void aSegmentTooEarlyFails() {
        // The SYN-ACK is retransmitted 1 s after the first; expecting it at 1.5 s is wrong.
        assertThatThrownBy(() -> ScriptedPeer.runText("early.pkt", HANDSHAKE
                + "+0 > S. 0:0(0) ack 1 <...>\n+1.5 > S. 0:0(0) ack 1 <...>\n"))
                .hasMessageContaining("early.pkt line 4").hasMessageContaining("too early")
                .hasMessageContaining("(at 1.000)");
    }

    @Test
    void dataIsCheckedByteForByte() {
        ScriptedPeer.runText("data.pkt", HANDSHAKE + """
                +0    > S. 0:0(0) ack 1 <...>
                +0    < . 1:1(0) ack 1 win 1000
                +0    < P. 1:6(5) ack 1 win 1000
                +0    > . 1:1(0) ack 6 win *
                +0    < P. 6:11(5) ack 1 win 1000
                +0    > . 1:1(0) ack 11 win *
                +0    read(10)
                """);
        assertThatThrownBy(() -> ScriptedPeer.runText("short-read.pkt", HANDSHAKE + """
                +0    > S. 0:0(0) ack 1 <...>
                +0    < . 1:1(0) ack 1 win 1000
                +0    < P. 1:6(5) ack 1 win 1000
                +0    > . 1:1(0) ack 6 win *
                +0    read(10)
                """)).hasMessageContaining("expected at least 10 readable bytes, found 5");
    }

    @Test
    void theToleranceIsConfigurable() {
        // The SYN-ACK is retransmitted at 1.0 s; with ~0.3 an expectation at 1.2 s accepts it, with ~0.1 not.
        ScriptedPeer.runText("tolerance", HANDSHAKE + "+0 > S. 0:0(0) ack 1 <...>\n~0.3\n+1.2 > S. 0:0(0) ack 1 <...>\n");
        assertThatThrownBy(() -> ScriptedPeer.runText("tolerance2", HANDSHAKE
                + "+0 > S. 0:0(0) ack 1 <...>\n~0.1\n+1.2 > S. 0:0(0) ack 1 <...>\n"))
                .hasMessageContaining("too early").hasMessageContaining("(at 1.200 ±0.100)");
    }

    @Test
    void aCallExpectedToFailMustFail() {
        ScriptedPeer.runText("fails", "+0 listen(8080)\n+0 listen(8080) = error already in use\n");
        assertThatThrownBy(() -> ScriptedPeer.runText("fails2", "+0 listen(8080) = error\n"))
                .hasMessageContaining("listen succeeded; it should have failed");
        assertThatThrownBy(() -> ScriptedPeer.runText("fails3", "+0 listen(8080)\n+0 listen(8080) = error frob\n"))
                .hasMessageContaining("expected an error containing 'frob'");
    }

    @Test
    void heldInputArrivesAsOneBatch() {
        assertThatThrownBy(() -> ScriptedPeer.runText("held", HANDSHAKE + """
                +0    > S. 0:0(0) ack 1 <...>
                +0    hold_input()
                +0.1  < . 1:1(0) ack 1 win 1000
                +0    release_input()
                """)).hasMessageContaining("time cannot pass while input is held");
    }
}
