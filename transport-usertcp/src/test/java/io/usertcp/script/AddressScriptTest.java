package io.usertcp.script;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Address validation (RFC 9293 §3.9.1.1, §3.9.2.3; RFC 1122 §3.2.1.3) and ICMP (§3.9.2.2). */
class AddressScriptTest {
    private static void connectFails(String address) {
        ScriptedPeer.runText("connect-" + address, "+0 connect(" + address + ":80) = error\n+1 expect_connections(0)\n");
    }

    @Test
    @DisplayName("RFC 9293 §3.9.1.1 (MUST-46): OPEN to a multicast address is an error")
    void connectToMulticastIsAnError() {
        connectFails("224.0.0.1");
    }

    @Test
    @DisplayName("RFC 9293 §3.9.1.1 (MUST-46): OPEN to the limited broadcast address is an error")
    void connectToLimitedBroadcastIsAnError() {
        connectFails("255.255.255.255");
    }

    @Test
    @DisplayName("RFC 9293 §3.9.1.1 (MUST-46): OPEN to the subnet's broadcast address is an error")
    void connectToSubnetBroadcastIsAnError() {
        connectFails("198.18.0.255");
    }

    @Test
    @DisplayName("RFC 9293 §3.9.1.1 (MUST-46): OPEN to 0.0.0.0 is an error")
    void connectToZeroIsAnError() {
        connectFails("0.0.0.0");
    }

    private static void synIgnored(String name, String ports, String stat) {
        ScriptedPeer.runText(name, "+0 listen(8080)\n+0 < " + ports + " S 0:0(0) win 65535 <mss 1460>\n"
                + "+0.1 expect_connections(0)\n+0 expect_stat(" + stat + ")\n+0 expect_stat(tcpSegmentsOut=0)\n");
    }

    @Test
    @DisplayName("RFC 9293 §3.9.2.3 (MUST-57): a SYN to a broadcast or multicast address is silently discarded")
    void synToBroadcastOrMulticastIsDiscarded() {
        synIgnored("to-subnet-bcast", "40000>198.18.0.255:8080", "dropIpNotForUs=1");
        synIgnored("to-bcast", "40000>255.255.255.255:8080", "dropIpNotForUs=1");
        synIgnored("to-mcast", "40000>224.0.0.1:8080", "dropIpNotForUs=1");
    }

    @Test
    @DisplayName("RFC 9293 §3.9.2.3 (MUST-63), RFC 1122 §3.2.1.3: a SYN from a multicast, broadcast or 0 source is ignored")
    void synFromInvalidSourceIsIgnored() {
        synIgnored("from-mcast", "224.0.0.1:40000>8080", "dropIpMalformed=1");
        synIgnored("from-bcast", "255.255.255.255:40000>8080", "dropIpMalformed=1");
        synIgnored("from-zero", "0.0.0.0:40000>8080", "dropIpMalformed=1");
        synIgnored("from-class-e", "240.0.0.1:40000>8080", "dropIpMalformed=1");
    }

    @Test
    @DisplayName("RFC 9293 §3.9.2.3 (MUST-63), RFC 1122 §3.2.1.3: a SYN from the subnet's broadcast address is ignored")
    void synFromSubnetBroadcastIsIgnored() {
        synIgnored("from-subnet-bcast", "198.18.0.255:40000>8080", "dropIpMalformed=1");
    }

    @Test
    @DisplayName("RFC 9293 §3.9.2.3 (MUST-63), RFC 1122 §3.2.1.3: a SYN from a loopback address on the wire is ignored")
    void synFromLoopbackIsIgnored() {
        synIgnored("from-loopback", "127.0.0.1:40000>8080", "dropIpMalformed=1");
    }

    @Test
    @DisplayName("RFC 9293 §3.9.2.2 (MUST-55, MUST-56): Source Quench and soft ICMP errors do not abort the connection")
    void icmpSoftErrorsDoNotAbort() {
        ScriptedPeer.runResource("icmp_errors.pkt");
    }

    @Test
    @DisplayName("RFC 9293 §3.9.2.2 (MUST-56): soft ICMP errors do not abort an open in SYN-SENT")
    void icmpSoftErrorsDoNotAbortAnOpen() {
        ScriptedPeer.runResource("icmp_soft_errors_syn_sent.pkt");
    }

    /**
     * The counterpart of {@link #icmpSoftErrorsDoNotAbortAnOpen()}: the same open, the same quote (the SYN's
     * sequence number, in flight), a hard code instead of a soft one, and the open fails naming the error. A
     * quote of SND.NXT first (no byte in flight there) is ignored (RFC 5927 §4.1).
     */
    @ParameterizedTest(name = "destination unreachable code {0}")
    @CsvSource({"2, protocol unreachable", "3, port unreachable", "9, administratively prohibited",
            "10, administratively prohibited", "13, administratively prohibited"})
    @DisplayName("RFC 9293 §3.9.2.2 (MUST-54), RFC 1122 §4.2.3.9 (SHLD-26): a hard ICMP error aborts an open in SYN-SENT")
    void icmpHardErrorAbortsAnOpen(int code, String description) {
        ScriptedPeer.runText("icmp-hard-" + code, """
                +0    connect(198.18.0.1:40000)
                +0    > S 0:0(0) win 65535 <mss 1460,nop,wscale 5,nop,nop,sackOK,nop,nop,TS val 0 ecr 0>
                +0.1  icmp_error(3, CODE, 1)
                +0    expect_stat(tcpIcmpIgnored=1)
                +0    expect_state(SYN_SENT)
                +0    icmp_error(3, CODE)
                +0    expect_stat(tcpIcmpErrors=1)
                +0    expect_closed(DESCRIPTION from 198.18.0.1)
                +0    expect_connections(0)
                +1    expect_connections(0)
                """.replace("CODE", Integer.toString(code)).replace("DESCRIPTION", description));
    }

    @Test
    @DisplayName("RFC 9293 §3.9.1.1 (MUST-43, MUST-44, MUST-45): OPEN takes an optional local address, else IP picks it")
    void openTakesAnOptionalLocalAddress() {
        // The harness checks the source address of every segment: 198.18.0.2 whether given or chosen.
        ScriptedPeer.runText("local-address", """
                +0    connect(198.18.0.1:40000, local_ip=198.18.0.9) = error Cannot assign requested address
                +0    connect(198.18.0.1:40000, local_ip=198.18.0.2)
                +0    > S 0:0(0) win 65535 <mss 1460,nop,wscale 5,nop,nop,sackOK,nop,nop,TS val 0 ecr 0>
                +0.1  < S. 0:0(0) ack 1 win 65535 <mss 1460>
                +0    > . 1:1(0) ack 1 win 65535
                +0    abort()
                +0    > R 1:1(0) win 0
                +0    connect(198.18.0.1:40000)
                +0    > S 0:0(0) win 65535 <mss 1460,nop,wscale 5,nop,nop,sackOK,nop,nop,TS val 0 ecr 0>
                """);
    }
}
