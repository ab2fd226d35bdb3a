package io.usertcp.sim;

import io.usertcp.link.FaultModel;

/** Replays one seed of {@link SimulatedTransferTest} with a packet trace: {@code -Dseed=N}. */
public final class ReplaySeed {
    public static void main(String[] args) throws Exception {
        long seed = Long.getLong("seed", 0);
        java.util.SplittableRandom r = new java.util.SplittableRandom(seed);
        FaultModel ab = FaultModel.of(r.nextDouble() * 0.1, r.nextDouble() * 0.05, r.nextDouble() * 0.05,
                r.nextDouble() * 0.02, r.nextLong());
        FaultModel ba = FaultModel.of(r.nextDouble() * 0.1, r.nextDouble() * 0.05, r.nextDouble() * 0.05,
                r.nextDouble() * 0.02, r.nextLong());
        long bytes = 16_384 + r.nextInt(200_000);
        SimulatedTransferTest.trace = true;
        SimulatedTransferTest.transfer(seed, ab, ba, bytes, 10_000 + r.nextInt(5_000_000));
    }
}
