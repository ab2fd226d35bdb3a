package io.usertcp.stats;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.InetSocketAddress;
import java.util.List;
import org.junit.jupiter.api.Test;

/** {@link ConnectionTable}'s ss-like text and {@link ConnectionInfo}'s defaults. */
class ConnectionTableFormatTest {
    private static ConnectionInfo established() {
        return ConnectionInfo.builder(ConnectionInfo.TCP, "ESTABLISHED")
                .addresses(new InetSocketAddress("198.18.0.2", 7), new InetSocketAddress("198.18.0.1", 40000))
                .queues(10, 2920).rtt(320_000, 160_000, 201_000_000).congestion(14600, Integer.MAX_VALUE, "cubic")
                .options(1460, 7, 9, true, true).retransmits(4, 1).timer("retransmit", 199_500_000)
                .bytes(123456, 789).lastActivity(12_000_000, 3_400_000).build();
    }

    @Test
    void aRowPrintsAsSsDoes() {
        assertThat(established().toString()).isEqualTo("tcp   ESTABLISHED  10     2920   198.18.0.2:7 198.18.0.1:40000"
                + "  cubic wscale:7,9 rto:201 rtt:0.32/0.16 mss:1460 cwnd:10 sack ts retrans:1/4"
                + " timer:(retransmit,199.5ms) bytes_acked:123456 bytes_received:789 lastsnd:12 lastrcv:3");
    }

    @Test
    void aTableAlignsItsColumnsUnderAHeader() {
        ConnectionInfo listener = ConnectionInfo.builder(ConnectionInfo.TCP, "LISTEN")
                .addresses(new InetSocketAddress("::", 80), null).queues(0, 128).build();
        ConnectionInfo udp = ConnectionInfo.builder(ConnectionInfo.UDP, "CONNECTED")
                .addresses(new InetSocketAddress("fd00::2", 53), new InetSocketAddress("fd00::1", 5353))
                .queues(2304, 0).build();
        String[] lines = ConnectionTable.format(List.of(listener, established(), udp)).split("\n");
        assertThat(lines).hasSize(4);
        assertThat(lines[0]).isEqualTo("Netid State       Recv-Q Send-Q Local Address:Port Peer Address:Port");
        assertThat(lines[1]).isEqualTo("tcp   LISTEN      0      128    *:80               *:*");
        assertThat(lines[2]).startsWith("tcp   ESTABLISHED 10     2920   198.18.0.2:7       198.18.0.1:40000   cubic");
        assertThat(lines[3]).isEqualTo("udp   CONNECTED   2304   0      [fd00::2]:53       [fd00::1]:5353");
        assertThat(ConnectionTable.format(List.of())).isEqualTo(
                "Netid State Recv-Q Send-Q Local Address:Port Peer Address:Port\n");
    }

    @Test
    void valuesThatDoNotApplyAreMinusOne() {
        ConnectionInfo r = ConnectionInfo.builder(ConnectionInfo.TCP, "SYN-SENT")
                .addresses(new InetSocketAddress("198.18.0.2", 40000), new InetSocketAddress("198.18.0.1", 7))
                .rtt(-1, 0, 1_000_000_000).congestion(14600, Integer.MAX_VALUE, "newreno").build();
        assertThat(r.srttNanos()).isEqualTo(-1);
        assertThat(r.rttvarNanos()).isEqualTo(-1);
        assertThat(r.ssthresh()).isEqualTo(-1);
        assertThat(r.timer()).isNull();
        assertThat(r.timerNanos()).isEqualTo(-1);
        assertThat(r.sendWindowScale()).isEqualTo(-1);
        assertThat(r.lastSendNanos()).isEqualTo(-1);
        assertThat(r.isListener()).isFalse();
        assertThat(r.toString()).doesNotContain("rtt:", "ssthresh", "timer").contains("rto:1000");
        assertThat(r).isEqualTo(ConnectionInfo.builder(ConnectionInfo.TCP, "SYN-SENT")
                .addresses(new InetSocketAddress("198.18.0.2", 40000), new InetSocketAddress("198.18.0.1", 7))
                .rtt(-1, 5, 1_000_000_000).congestion(14600, -1, "newreno").build());
        assertThatThrownBy(() -> ConnectionInfo.builder("tcp", "LISTEN").build())
                .isInstanceOf(NullPointerException.class);
    }

    @Test
    void ipv6AddressesTakeTheirShortForm() throws Exception {
        String[][] cases = {{"::", "::"}, {"::1", "::1"}, {"fe80::1:2", "fe80::1:2"}, {"2001:db8:0:1:1:1:1:1",
            "2001:db8:0:1:1:1:1:1"}, {"2001:0:0:1:0:0:0:1", "2001:0:0:1::1"}, {"1:0:0:2:0:0:3:4", "1::2:0:0:3:4"},
            {"fd00:198::2", "fd00:198::2"}};
        for (String[] c : cases) {
            assertThat(ConnectionTable.compress(java.net.InetAddress.getByName(c[0]).getAddress())).isEqualTo(c[1]);
        }
    }

    @Test
    void millisecondsKeepThreeDecimalsAtMost() {
        assertThat(ConnectionTable.millis(0)).isEqualTo("0");
        assertThat(ConnectionTable.millis(200_000_000)).isEqualTo("200");
        assertThat(ConnectionTable.millis(1_500_000)).isEqualTo("1.5");
        assertThat(ConnectionTable.millis(12_345)).isEqualTo("0.012");
        assertThat(ConnectionTable.millis(2_966_400)).isEqualTo("2.966");
    }
}
