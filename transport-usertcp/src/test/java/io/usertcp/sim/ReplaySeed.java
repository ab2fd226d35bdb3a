package io.usertcp.sim;

/**
 * Replays one seed of {@link SimulatedTransferTest} with a packet trace: {@code -Dseed=N}, and {@code -Dipv6=true}
 * for a seed of the IPv6 run; {@code -Dpcap=FILE} also writes stack a's frames (both directions, virtual time) into
 * FILE as pcapng, for Wireshark or {@code tshark -r}.
 */
public final class ReplaySeed {
    public static void main(String[] args) throws Exception {
        long seed = Long.getLong("seed", 0);
        SimulatedTransferTest.trace = true;
        String pcap = System.getProperty("pcap");
        if (pcap != null) {
            SimulatedTransferTest.pcap = java.nio.file.Path.of(pcap);
        }
        SimulatedTransferTest.seeded(seed, Boolean.getBoolean("ipv6"));
    }
}
