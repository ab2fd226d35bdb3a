package io.usertcp.tcp;

/**
 * The part of a connection's RACK state that only a flight needs (RFC 8985 §6): the per-segment records, the loss
 * detector over them and the marking of SACKed entries. A {@link RackState} takes one from its stack's
 * {@link RackFlightPool} when it records a transmission and gives it back when everything is acknowledged, so
 * that an idle connection holds none (issue #12: at most 2 KiB of heap per idle connection) and a busy one
 * allocates nothing per flight.
 */
final class RackFlight {
    final SegmentRecords records = new SegmentRecords();
    final RackLossDetector detector = new RackLossDetector(records);
    final SackMarker marker;

    /** @param maxEntries the bound on entries SACK blocks may split the data in flight into */
    RackFlight(int maxEntries) {
        this.marker = new SackMarker(records, detector, maxEntries);
    }
}
