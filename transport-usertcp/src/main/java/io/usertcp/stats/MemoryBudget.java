package io.usertcp.stats;

import io.netty.buffer.ByteBuf;
import io.netty.util.internal.PlatformDependent;

/**
 * The buffer memory a stack's queues hold (TCP receive, out-of-order and send queues, UDP receive queues), against
 * one limit for the whole stack: when it is used up, what the wire asks for is turned away (new connections,
 * out-of-order data, received data for a connection that already holds some, datagrams) and counted, so that peers
 * cannot run the JVM out of direct memory (issue #10; Linux's tcp_mem plays this part). What the application
 * writes is counted but never refused here: its own send buffers bound it.
 *
 * <p>Owned by the stack's thread; plain fields, read by others only as a gauge.
 */
public final class MemoryBudget {
    /** The default limit: half of the JVM's direct memory (Netty's view of {@code -XX:MaxDirectMemorySize}). */
    public static final long DEFAULT_LIMIT = Math.max(64L << 20, PlatformDependent.maxDirectMemory() / 2);

    private final long limit;
    private long used;
    private long peak;

    /** A budget of {@code limit} bytes. */
    public MemoryBudget(long limit) {
        if (limit <= 0) {
            throw new IllegalArgumentException("memory budget must be positive: " + limit);
        }
        this.limit = limit;
    }

    /** A budget without a limit (for queues used on their own, as in unit tests). */
    public static MemoryBudget unlimited() {
        return new MemoryBudget(Long.MAX_VALUE);
    }

    /** The memory a held buffer pins: the capacity of the memory beneath slices and leak-detection wrappers. */
    public static int footprint(ByteBuf held) {
        ByteBuf root = held;
        while (root.unwrap() != null) {
            root = root.unwrap();
        }
        return root.capacity();
    }

    /** Whether {@code bytes} more fit. */
    public boolean allows(long bytes) {
        return used + bytes <= limit;
    }

    /** Counts {@code bytes} as held. */
    public void charge(long bytes) {
        used += bytes;
        if (used > peak) {
            peak = used;
        }
    }

    /** Counts {@code bytes} as freed. */
    public void uncharge(long bytes) {
        used -= bytes;
    }

    /** Bytes held now. */
    public long used() {
        return used;
    }

    /** The most bytes held at once. */
    public long peak() {
        return peak;
    }

    /** The limit. */
    public long limit() {
        return limit;
    }

    @Override
    public String toString() {
        return "MemoryBudget{used=" + used + ", peak=" + peak + ", limit=" + limit + '}';
    }
}
