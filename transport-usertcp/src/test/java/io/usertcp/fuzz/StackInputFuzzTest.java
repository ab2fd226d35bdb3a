package io.usertcp.fuzz;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.usertcp.stack.StackLeakCheck;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Coverage-guided fuzz targets for {@code Stack.input} with live sockets (see {@link Victim}): each input runs
 * against a fresh victim, then the victim must show no exception (none escaped {@code Stack.input}, which the
 * targets call directly, and the loop's fault barriers caught none), no leaked buffer, bounded tables, and still
 * answer ARP, NDP, ping and a TCP echo on a fresh connection in both families.
 *
 * <p>Without {@code JAZZER_FUZZ} (every {@code mvn test}) each target replays its committed corpus under
 * {@code src/test/resources/io/usertcp/fuzz/StackInputFuzzTestInputs/<target>/}; with {@code JAZZER_FUZZ=1} and
 * {@code -Dtest=StackInputFuzzTest#<target>} Jazzer fuzzes that target (see the README in this package).
 *
 * <ul>
 *   <li>{@code frames}: raw Ethernet frames, with checksum and sequence-number fixups ({@link RawFrames}) —
 *       ARP, NDP, IPv4 options, IPv6 extension headers, ICMP of both families, everything a frame can be;
 *   <li>{@code tcp}: segments and application calls on the victim's connections ({@link TcpOps});
 *   <li>{@code udp}: datagrams, ICMP errors about UDP, and application calls on the UDP sockets ({@link UdpOps});
 *   <li>{@code fragments}: fragments of both families and reassembly ({@link Fragments}).
 * </ul>
 */
@ExtendWith(StackLeakCheck.class)
class StackInputFuzzTest {

    @FuzzTest(maxDuration = "10m")
    @Timeout(60)
    void frames(byte[] input) {
        RawFrames.run(input);
    }

    @FuzzTest(maxDuration = "10m")
    @Timeout(60)
    void tcp(byte[] input) {
        TcpOps.run(input);
    }

    @FuzzTest(maxDuration = "10m")
    @Timeout(60)
    void udp(byte[] input) {
        UdpOps.run(input);
    }

    @FuzzTest(maxDuration = "10m")
    @Timeout(60)
    void fragments(byte[] input) {
        Fragments.run(input);
    }
}
