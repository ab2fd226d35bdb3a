package io.usertcp.sim;

/**
 * Replays one seed of {@link SimulatedTransferTest} with a packet trace: {@code -Dseed=N}, and {@code -Dipv6=true}
 * for a seed of the IPv6 run.
 */
public final class ReplaySeed {
    public static void main(String[] args) throws Exception {
        long seed = Long.getLong("seed", 0);
        SimulatedTransferTest.trace = true;
        SimulatedTransferTest.seeded(seed, Boolean.getBoolean("ipv6"));
    }
}
