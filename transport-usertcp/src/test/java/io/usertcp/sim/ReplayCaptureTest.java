package io.usertcp.sim;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.Unpooled;
import io.usertcp.link.PcapngReader;
import io.usertcp.wire.Ethernet;
import io.usertcp.wire.Ipv4;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A simulated transfer written to pcapng (what {@code ReplaySeed -Dpcap=FILE} does), read back. */
class ReplayCaptureTest {
    @TempDir
    Path dir;

    @Test
    void aSeedsTransferIsCapturedInVirtualTime() throws Exception {
        Path file = dir.resolve("seed.pcapng");
        SimulatedTransferTest.pcap = file;
        try {
            SimulatedTransferTest.seeded(7, false);
        } finally {
            SimulatedTransferTest.pcap = null;
        }
        PcapngReader r = PcapngReader.read(file);
        assertThat(r.interfaceNames).hasSize(2).contains("lo");
        long syns = 0;
        long tcp = 0;
        long previous = Long.MIN_VALUE;
        for (PcapngReader.Packet p : r.packets) {
            io.netty.buffer.ByteBuf b = Unpooled.wrappedBuffer(p.data());
            assertThat(p.timestampNanos()).isGreaterThanOrEqualTo(previous);
            previous = p.timestampNanos();
            if (Ethernet.type(b, 0) == Ethernet.TYPE_IPV4 && Ipv4.protocol(b, Ethernet.HEADER_LENGTH) == Ipv4.PROTO_TCP) {
                tcp++;
                int flags = b.getUnsignedByte(Ethernet.HEADER_LENGTH + Ipv4.headerLength(b, Ethernet.HEADER_LENGTH) + 13);
                if ((flags & 0x02) != 0) {
                    syns++;
                }
            }
        }
        // Both directions of one connection: at least our SYN and the peer's SYN-ACK, and the transfer's segments.
        assertThat(syns).isGreaterThanOrEqualTo(2);
        assertThat(tcp).isGreaterThan(20);
        assertThat(r.packets.stream().anyMatch(PcapngReader.Packet::outbound)).isTrue();
        assertThat(r.packets.stream().anyMatch(p -> !p.outbound())).isTrue();
    }
}
