package io.usertcp.tcp;

/**
 * A stack's spare {@link RackFlight}s: given back by connections whose data is all acknowledged, taken by those
 * that send again, so that starting and ending a flight allocates nothing in steady state. Bounded: it keeps at
 * most {@value #MAX_FLIGHTS} flights holding at most {@value #MAX_SLOTS} record slots between them; a flight given
 * back beyond that, or whose arrays grew beyond {@link SegmentSlots#SHRINK_ABOVE} slots, is left to the garbage
 * collector. One per stack: only its thread touches it.
 */
final class RackFlightPool {
    /** Most flights kept. */
    static final int MAX_FLIGHTS = 512;
    /** Most record slots kept, over all flights (each slot is about 25 bytes). */
    static final int MAX_SLOTS = 16 * 1024;

    private final int maxEntries;
    private RackFlight[] free = new RackFlight[16];
    private int count;
    private int slots;

    /** @param maxEntries the bound on entries SACK blocks may split a flight into, for the flights it makes */
    RackFlightPool(int maxEntries) {
        this.maxEntries = maxEntries;
    }

    /** The bound on entries of the flights it makes. */
    int maxEntries() {
        return maxEntries;
    }

    /** A flight with no records: a spare one, or a new one when none is left. */
    RackFlight take() {
        if (count == 0) {
            return new RackFlight(maxEntries);
        }
        RackFlight f = free[--count];
        free[count] = null;
        slots -= f.records.capacity();
        return f;
    }

    /** Takes back {@code f}, whose records are empty, unless the pool is full or its arrays are large. */
    void give(RackFlight f) {
        int cap = f.records.capacity();
        if (cap > SegmentSlots.SHRINK_ABOVE || count == MAX_FLIGHTS || slots + cap > MAX_SLOTS) {
            return;
        }
        if (count == free.length) {
            free = java.util.Arrays.copyOf(free, Math.min(MAX_FLIGHTS, 2 * count));
        }
        free[count++] = f;
        slots += cap;
    }

    /** Flights kept. */
    int size() {
        return count;
    }
}
