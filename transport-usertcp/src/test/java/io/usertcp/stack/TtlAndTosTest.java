package io.usertcp.stack;

import io.netty.buffer.ByteBuf;
import io.usertcp.link.FaultModel;
import io.usertcp.sim.TwoStacks;
import io.usertcp.tcp.TcpConnection;
import io.usertcp.wire.Ethernet;
import io.usertcp.wire.IpAddress;
import io.usertcp.wire.Ipv4;
import io.usertcp.wire.Ipv6;
import io.usertcp.wire.Tcp;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** RFC 9293 §3.9.1.1: the TTL (MUST-49) and the Diffserv/ECN byte (MUST-48) of what TCP sends are settable. */
class TtlAndTosTest {

    /** TTL/hop limit, TOS/traffic class and TCP flags of each TCP segment stack a sent, in order. */
    private static List<int[]> run(boolean v6, int tos, int ttl) throws Exception {
        List<int[]> seen = new ArrayList<>();
        try (TwoStacks net = new TwoStacks(50_000, FaultModel.NONE, FaultModel.NONE,
                StackConfig.builder().minRto(Duration.ofMillis(200)).ttl(ttl))) {
            net.linkA.tap(f -> {
                int b = f.readerIndex();
                int o = b + Ethernet.HEADER_LENGTH;
                int type = Ethernet.type(f, b);
                if (type == Ethernet.TYPE_IPV4 && Ipv4.protocol(f, o) == Ipv4.PROTO_TCP) {
                    seen.add(new int[] {f.getUnsignedByte(o + 8), f.getUnsignedByte(o + 1),
                        Tcp.flags(f, o + Ipv4.headerLength(f, o))});
                } else if (type == Ethernet.TYPE_IPV6 && Ipv6.nextHeader(f, o) == Ipv6.TCP) {
                    seen.add(new int[] {Ipv6.hopLimit(f, o), Ipv6.trafficClass(f, o),
                        Tcp.flags(f, o + Ipv6.HEADER_LENGTH)});
                }
            });
            net.b.tcp().listen((IpAddress) null, 5000, 4);
            IpAddress to = v6 ? TwoStacks.B_IP6 : IpAddress.v4(TwoStacks.B_IP);
            TcpConnection c = net.a.tcp().connect(null, 0, to, 5000, 0, 0, tos);
            net.runUntil(c::isEstablished, 5_000_000_000L);
            assertThat(c.isEstablished()).isTrue();
            ByteBuf data = net.a.alloc().buffer(3000).writeZero(3000);
            try {
                c.write(data);
            } finally {
                data.release();
            }
            c.push();
            net.runUntil(() -> c.unacknowledgedBytes() == 0, 5_000_000_000L);
            c.tos(0x20);
            data = net.a.alloc().buffer(10).writeZero(10);
            try {
                c.write(data);
            } finally {
                data.release();
            }
            c.push();
            net.runUntil(() -> c.unacknowledgedBytes() == 0, 5_000_000_000L);
            c.abort();
            net.runUntil(() -> false, 100_000_000L);
        }
        return seen;
    }

    @Test
    @DisplayName("RFC 9293 MUST-48, MUST-49 over IPv4: TOS from the SYN on, TTL from the stack's config")
    void ipv4() throws Exception {
        check(run(false, 0xb8, 33));
    }

    @Test
    @DisplayName("RFC 9293 MUST-48, MUST-49 over IPv6: traffic class from the SYN on, hop limit from the stack's config")
    void ipv6() throws Exception {
        check(run(true, 0xb8, 33));
    }

    private static void check(List<int[]> seen) {
        assertThat(seen).hasSizeGreaterThan(3);
        assertThat(seen.get(0)[2] & Tcp.SYN).as("the first segment is the SYN").isNotZero();
        assertThat(seen).allSatisfy(s -> assertThat(s[0]).as("TTL / hop limit").isEqualTo(33));
        int changed = -1;
        for (int i = 0; i < seen.size(); i++) {
            if (seen.get(i)[1] != 0xb8) {
                changed = i;
                break;
            }
        }
        assertThat(changed).as("the SYN and the data carry TOS 0xb8 until it is changed").isGreaterThan(1);
        for (int i = changed; i < seen.size(); i++) {
            assertThat(seen.get(i)[1]).as("after tos(0x20)").isEqualTo(0x20);
        }
    }

    @Test
    void ttlOutOfRangeIsRefused() {
        assertThatThrownBy(() -> StackConfig.builder().ttl(0)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("1..255");
        assertThatThrownBy(() -> StackConfig.builder().ttl(256)).isInstanceOf(IllegalArgumentException.class);
    }
}
