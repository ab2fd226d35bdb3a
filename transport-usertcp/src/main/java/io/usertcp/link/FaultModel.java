package io.usertcp.link;

import io.netty.buffer.ByteBuf;

import java.util.SplittableRandom;

/**
 * Seeded network faults for a {@link MemoryLink} direction: drop, duplicate, reorder (extra delay) and
 * corrupt, each with its own probability. The same seed gives the same faults, so a failing run replays.
 */
public final class FaultModel {
    /** No faults. */
    public static final FaultModel NONE = new FaultModel(0, 0, 0, 0, 0);

    private final double drop;
    private final double duplicate;
    private final double reorder;
    private final double corrupt;
    private final SplittableRandom random;

    private FaultModel(double drop, double duplicate, double reorder, double corrupt, long seed) {
        this.drop = drop;
        this.duplicate = duplicate;
        this.reorder = reorder;
        this.corrupt = corrupt;
        this.random = new SplittableRandom(seed);
    }

    /**
     * A model with these probabilities (0..1) and seed.
     *
     * @param reorder probability that a frame is held back by up to three delays, landing behind later ones
     */
    public static FaultModel of(double drop, double duplicate, double reorder, double corrupt, long seed) {
        return new FaultModel(drop, duplicate, reorder, corrupt, seed);
    }

    /** How many copies of the next frame to deliver: 0 (dropped), 1, or 2 (duplicated). */
    int copies() {
        if (this == NONE) {
            return 1;
        }
        if (drop > 0 && random.nextDouble() < drop) {
            return 0;
        }
        return duplicate > 0 && random.nextDouble() < duplicate ? 2 : 1;
    }

    /** Extra delay for a reordered frame. */
    long extraDelay(long baseDelay) {
        if (reorder > 0 && random.nextDouble() < reorder) {
            return 1 + (long) (random.nextDouble() * 3 * Math.max(baseDelay, 10_000));
        }
        return 0;
    }

    /**
     * With the corruption probability, flips one random bit of the frame after its Ethernet header, where
     * only the IP, ICMP and TCP checksums can catch it; returns false if the frame must be dropped instead.
     * A real link's frame check sequence drops corrupted frames that carry no checksum of their own (ARP),
     * so those are dropped rather than corrupted.
     */
    boolean maybeCorrupt(ByteBuf frame) {
        if (corrupt > 0 && random.nextDouble() < corrupt && frame.readableBytes() > 14) {
            int type = frame.getUnsignedShort(frame.readerIndex() + 12);
            if (type != 0x0800 && type != 0x86dd) {
                return false;
            }
            int i = frame.readerIndex() + 14 + random.nextInt(frame.readableBytes() - 14);
            frame.setByte(i, frame.getByte(i) ^ (1 << random.nextInt(8)));
        }
        return true;
    }

    /** Draws whether the next frame is to be corrupted. */
    boolean corruptNext() {
        return corrupt > 0 && random.nextDouble() < corrupt;
    }

    /**
     * Flips one random bit after {@code from + 14} (past the Ethernet header) of an IP frame; returns false
     * if the frame is not IP and must be dropped instead (a real link's FCS would drop it).
     */
    boolean maybeCorruptAfter(ByteBuf frame, int from) {
        int l2 = from;
        if (frame.writerIndex() - l2 <= 14) {
            return false;
        }
        int type = frame.getUnsignedShort(l2 + 12);
        if (type != 0x0800 && type != 0x86dd) {
            return false;
        }
        int i = l2 + 14 + random.nextInt(frame.writerIndex() - l2 - 14);
        frame.setByte(i, frame.getByte(i) ^ (1 << random.nextInt(8)));
        return true;
    }

    @Override
    public String toString() {
        return "FaultModel{drop=" + drop + ", dup=" + duplicate + ", reorder=" + reorder + ", corrupt=" + corrupt + '}';
    }
}
