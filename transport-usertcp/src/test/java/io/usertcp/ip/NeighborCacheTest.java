package io.usertcp.ip;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.usertcp.ip.NeighborCache.State;
import io.usertcp.stats.StackStats;
import io.usertcp.time.TimerQueue;
import io.usertcp.wire.MacAddress;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@link NeighborCache} alone: the RFC 4861 §7.3 state machine, the §7.2.3 and §7.2.5 update rules, solicitation
 * timing driven through {@link TimerQueue#runExpired}, the bounds, and the ownership of queued frames.
 */
class NeighborCacheTest {
    private static final long SECOND = 1_000_000_000L;
    private static final int ETH = 10; // the Ethernet header after a 10-byte virtio header
    private static final long HI = 0xfe80_0000_0000_0000L;
    private static final long A = 0x5054_00ff_fe12_3456L;
    private static final long B = 0x5054_00ff_fe12_3457L;
    private static final long MAC_A = 0x5254_0012_3456L;
    private static final long MAC_A2 = 0x5254_0012_3499L;
    private static final long T0 = 1_000L;

    /** One neighbour solicitation sent. */
    private record Solicitation(long hi, long lo, long dstMac) {
    }

    private final TimerQueue timers = new TimerQueue();
    private final List<Solicitation> solicitations = new ArrayList<>();
    private final List<ByteBuf> transmitted = new ArrayList<>();
    private final List<ByteBuf> dropped = new ArrayList<>();
    private final List<ByteBuf> allocated = new ArrayList<>();
    private final StackStats stats = new StackStats();
    private final NeighborCache cache = new NeighborCache(timers, new NeighborResolver.Output() {
        @Override
        public void solicit(long targetHi, long targetLo, long dstMac) {
            solicitations.add(new Solicitation(targetHi, targetLo, dstMac));
        }

        @Override
        public void transmitResolved(ByteBuf frame) {
            assertThat(frame.refCnt()).isEqualTo(1);
            transmitted.add(frame);
        }

        @Override
        public void dropUnresolved(ByteBuf frame) {
            assertThat(frame.refCnt()).isEqualTo(1);
            dropped.add(frame);
            frame.release();
        }
    }, ETH, stats);

    @AfterEach
    void releaseEverything() {
        cache.clear();
        assertThat(timers.size()).isZero();
        for (ByteBuf f : transmitted) {
            f.release();
        }
        for (ByteBuf f : allocated) {
            assertThat(f.refCnt()).as("every frame released exactly once").isZero();
        }
    }

    /** The frames in {@code actual} are exactly {@code expected}, by identity (released buffers cannot be compared). */
    private static void assertSame(List<ByteBuf> actual, ByteBuf... expected) {
        assertThat(actual).hasSize(expected.length);
        for (int i = 0; i < expected.length; i++) {
            assertThat(actual.get(i)).isSameAs(expected[i]);
        }
    }

    private ByteBuf frame(int tag) {
        ByteBuf f = PooledByteBufAllocator.DEFAULT.buffer(64);
        f.writeZero(64);
        f.setInt(40, tag);
        allocated.add(f);
        return f;
    }

    private static Solicitation multicast(long lo) {
        return new Solicitation(HI, lo, -1);
    }

    private static Solicitation unicast(long lo, long mac) {
        return new Solicitation(HI, lo, mac);
    }

    /** An entry for A in REACHABLE, resolved at {@code T0}, with the solicitation and frame forgotten. */
    private void reachableA() {
        cache.resolve(HI, A, frame(0), T0);
        cache.advertisement(HI, A, MAC_A, true, true, T0);
        assertThat(cache.state(HI, A, T0)).isEqualTo(State.REACHABLE);
        solicitations.clear();
    }

    /** An entry for A in STALE (learnt from a solicitation), at time {@code now}. */
    private void staleA(long now) {
        cache.learnFromSolicitation(HI, A, MAC_A, now);
        assertThat(cache.state(HI, A, now)).isEqualTo(State.STALE);
    }

    @Test
    void resolutionQueuesFramesAndSendsThemOnASolicitedAdvertisement() {
        ByteBuf f1 = frame(1);
        ByteBuf f2 = frame(2);
        cache.resolve(HI, A, f1, T0);
        assertThat(solicitations).containsExactly(multicast(A));
        assertThat(cache.state(HI, A, T0)).isEqualTo(State.INCOMPLETE);
        assertThat(cache.lookup(HI, A, T0)).isEqualTo(-1);
        cache.resolve(HI, A, f2, T0 + 100);
        assertThat(solicitations).hasSize(1); // one outstanding solicitation
        assertThat(transmitted).isEmpty();
        assertThat(cache.size()).isEqualTo(1);

        cache.advertisement(HI, A, MAC_A, true, false, T0 + SECOND / 2);
        assertThat(cache.state(HI, A, T0 + SECOND / 2)).isEqualTo(State.REACHABLE);
        assertSame(transmitted, f1, f2); // in order
        assertThat(MacAddress.read(f1, ETH)).isEqualTo(MAC_A);
        assertThat(MacAddress.read(f2, ETH)).isEqualTo(MAC_A);
        assertThat(f1.getInt(40)).isEqualTo(1);
        assertThat(cache.lookup(HI, A, T0 + SECOND)).isEqualTo(MAC_A);
        assertThat(timers.size()).isZero(); // REACHABLE runs no timer
        timers.runExpired(T0 + 10 * SECOND);
        assertThat(solicitations).hasSize(1);
    }

    @Test
    void resolutionFailsAfterThreeMulticastSolicitations() {
        cache.resolve(HI, A, frame(1), T0);
        cache.resolve(HI, A, frame(2), T0);
        timers.runExpired(T0 + SECOND - 1);
        assertThat(solicitations).hasSize(1);
        timers.runExpired(T0 + SECOND);
        assertThat(solicitations).hasSize(2);
        timers.runExpired(T0 + 2 * SECOND);
        assertThat(solicitations).containsExactly(multicast(A), multicast(A), multicast(A));
        timers.runExpired(T0 + 3 * SECOND - 1);
        assertThat(cache.size()).isEqualTo(1);
        assertThat(dropped).isEmpty();
        timers.runExpired(T0 + 3 * SECOND);
        assertThat(solicitations).hasSize(3); // MAX_MULTICAST_SOLICIT
        assertThat(cache.size()).isZero();
        assertThat(dropped).hasSize(2);
        assertThat(transmitted).isEmpty();
        assertThat(cache.state(HI, A, T0 + 3 * SECOND)).isNull();
        // The next packet starts resolution anew.
        cache.resolve(HI, A, frame(3), T0 + 4 * SECOND);
        assertThat(solicitations).hasSize(4);
        assertThat(cache.state(HI, A, T0 + 4 * SECOND)).isEqualTo(State.INCOMPLETE);
    }

    @Test
    void atMost64FramesWaitForOneAddress() {
        for (int i = 0; i < NeighborCache.MAX_PENDING_PER_ENTRY; i++) {
            cache.resolve(HI, A, frame(i), T0);
        }
        assertThat(dropped).isEmpty();
        ByteBuf extra = frame(999);
        cache.resolve(HI, A, extra, T0);
        assertSame(dropped, extra);
        assertThat(extra.refCnt()).isZero();
        assertThat(solicitations).hasSize(1);
        cache.advertisement(HI, A, MAC_A, true, false, T0 + 1);
        assertThat(transmitted).hasSize(64);
        for (int i = 0; i < 64; i++) {
            assertThat(transmitted.get(i).getInt(40)).isEqualTo(i);
        }
    }

    @Test
    void incompleteEntryIgnoresAnAdvertisementWithoutTargetAddress() {
        ByteBuf f = frame(1);
        cache.resolve(HI, A, f, T0);
        cache.advertisement(HI, A, -1, true, true, T0 + 1);
        assertThat(cache.state(HI, A, T0 + 1)).isEqualTo(State.INCOMPLETE);
        assertThat(transmitted).isEmpty();
        assertThat(f.refCnt()).isEqualTo(1); // still queued
        timers.runExpired(T0 + SECOND);
        assertThat(solicitations).hasSize(2); // still resolving
    }

    @Test
    void unsolicitedAdvertisementResolvesToStaleAndSendingMovesToDelay() {
        cache.resolve(HI, A, frame(1), T0);
        cache.advertisement(HI, A, MAC_A, false, true, T0 + 1);
        assertThat(transmitted).hasSize(1);
        // STALE by RFC 4861 §7.2.5, and the queued frame sent through it makes it DELAY (§7.3.3).
        assertThat(cache.state(HI, A, T0 + 1)).isEqualTo(State.DELAY);
        timers.runExpired(T0 + 1 + 5 * SECOND);
        assertThat(cache.state(HI, A, T0 + 1 + 5 * SECOND)).isEqualTo(State.PROBE);
        assertThat(solicitations).containsExactly(multicast(A), unicast(A, MAC_A));
    }

    @Test
    void advertisementForAnUnknownAddressCreatesNothing() {
        cache.advertisement(HI, A, MAC_A, true, true, T0);
        cache.advertisement(HI, A, MAC_A, false, false, T0);
        assertThat(cache.size()).isZero();
        assertThat(cache.lookup(HI, A, T0)).isEqualTo(-1);
        assertThat(cache.state(HI, A, T0)).isNull();
    }

    @Test
    void reachableAgesToStaleThenDelayProbeAndDeletion() {
        reachableA();
        long t = T0 + NeighborCache.REACHABLE_TIME_NANOS - 1;
        assertThat(cache.state(HI, A, t)).isEqualTo(State.REACHABLE);
        t = T0 + NeighborCache.REACHABLE_TIME_NANOS;
        assertThat(cache.state(HI, A, t)).isEqualTo(State.STALE);
        assertThat(timers.size()).isZero();
        assertThat(solicitations).isEmpty(); // STALE sends nothing by itself

        // Sending to it: the MAC is still used, and the entry goes to DELAY.
        assertThat(cache.lookup(HI, A, t)).isEqualTo(MAC_A);
        assertThat(cache.state(HI, A, t)).isEqualTo(State.DELAY);
        assertThat(cache.lookup(HI, A, t + 1)).isEqualTo(MAC_A); // DELAY: still usable, no timer restart
        timers.runExpired(t + NeighborCache.DELAY_FIRST_PROBE_TIME_NANOS - 1);
        assertThat(solicitations).isEmpty();
        t += NeighborCache.DELAY_FIRST_PROBE_TIME_NANOS;
        timers.runExpired(t);
        assertThat(cache.state(HI, A, t)).isEqualTo(State.PROBE);
        assertThat(solicitations).containsExactly(unicast(A, MAC_A));
        assertThat(cache.lookup(HI, A, t)).isEqualTo(MAC_A); // PROBE: still usable
        timers.runExpired(t + SECOND);
        timers.runExpired(t + 2 * SECOND);
        assertThat(solicitations).containsExactly(unicast(A, MAC_A), unicast(A, MAC_A), unicast(A, MAC_A));
        assertThat(cache.size()).isEqualTo(1);
        timers.runExpired(t + 3 * SECOND);
        assertThat(solicitations).hasSize(3); // MAX_UNICAST_SOLICIT
        assertThat(cache.size()).isZero();
        assertThat(cache.lookup(HI, A, t + 3 * SECOND)).isEqualTo(-1);
    }

    @Test
    void upperLayerConfirmationInDelayAvoidsProbing() {
        staleA(T0);
        assertThat(cache.lookup(HI, A, T0)).isEqualTo(MAC_A);
        assertThat(cache.state(HI, A, T0)).isEqualTo(State.DELAY);
        cache.confirmReachable(HI, A, T0 + SECOND);
        assertThat(cache.state(HI, A, T0 + SECOND)).isEqualTo(State.REACHABLE);
        assertThat(timers.size()).isZero();
        timers.runExpired(T0 + 10 * SECOND);
        assertThat(solicitations).isEmpty();
        // The confirmation restarts ReachableTime.
        assertThat(cache.state(HI, A, T0 + SECOND + NeighborCache.REACHABLE_TIME_NANOS - 1))
                .isEqualTo(State.REACHABLE);
        assertThat(cache.state(HI, A, T0 + SECOND + NeighborCache.REACHABLE_TIME_NANOS)).isEqualTo(State.STALE);
    }

    @Test
    void solicitedAdvertisementInProbeMakesItReachable() {
        staleA(T0);
        cache.lookup(HI, A, T0);
        timers.runExpired(T0 + 5 * SECOND);
        assertThat(cache.state(HI, A, T0 + 5 * SECOND)).isEqualTo(State.PROBE);
        cache.advertisement(HI, A, MAC_A, true, false, T0 + 5 * SECOND + 10);
        assertThat(cache.state(HI, A, T0 + 5 * SECOND + 10)).isEqualTo(State.REACHABLE);
        assertThat(timers.size()).isZero();
        timers.runExpired(T0 + 20 * SECOND);
        assertThat(solicitations).hasSize(1);
        assertThat(cache.size()).isEqualTo(1);
    }

    @Test
    void confirmationIgnoresUnknownAndIncompleteEntries() {
        cache.confirmReachable(HI, A, T0);
        assertThat(cache.size()).isZero();
        cache.resolve(HI, A, frame(1), T0);
        cache.confirmReachable(HI, A, T0);
        assertThat(cache.state(HI, A, T0)).isEqualTo(State.INCOMPLETE);
        assertThat(cache.lookup(HI, A, T0)).isEqualTo(-1);
    }

    @Test
    void solicitationCreatesStaleOrUpdatesADifferentAddress() {
        cache.learnFromSolicitation(HI, A, MAC_A, T0);
        assertThat(cache.state(HI, A, T0)).isEqualTo(State.STALE);
        assertThat(timers.size()).isZero();
        assertThat(solicitations).isEmpty();

        // Same address: no change, whatever the state.
        cache.lookup(HI, A, T0);
        assertThat(cache.state(HI, A, T0)).isEqualTo(State.DELAY);
        cache.learnFromSolicitation(HI, A, MAC_A, T0 + 1);
        assertThat(cache.state(HI, A, T0 + 1)).isEqualTo(State.DELAY);
        assertThat(timers.size()).isEqualTo(1);
        cache.confirmReachable(HI, A, T0 + 2);
        cache.learnFromSolicitation(HI, A, MAC_A, T0 + 3);
        assertThat(cache.state(HI, A, T0 + 3)).isEqualTo(State.REACHABLE);

        // A different address replaces the cached one and makes it STALE.
        cache.learnFromSolicitation(HI, A, MAC_A2, T0 + 4);
        assertThat(cache.state(HI, A, T0 + 4)).isEqualTo(State.STALE);
        assertThat(cache.lookup(HI, A, T0 + 4)).isEqualTo(MAC_A2);

        // No source link-layer address: nothing learnt, nothing created.
        cache.learnFromSolicitation(HI, B, -1, T0);
        assertThat(cache.state(HI, B, T0)).isNull();
    }

    @Test
    void solicitationFromAnIncompleteNeighbourSendsWhatWaited() {
        ByteBuf f = frame(1);
        cache.resolve(HI, A, f, T0);
        cache.learnFromSolicitation(HI, A, MAC_A, T0 + 1);
        assertSame(transmitted, f);
        assertThat(MacAddress.read(f, ETH)).isEqualTo(MAC_A);
        assertThat(cache.state(HI, A, T0 + 1)).isEqualTo(State.DELAY); // STALE, then used
        timers.runExpired(T0 + 3 * SECOND);
        assertThat(solicitations).containsExactly(multicast(A)); // no retransmission of the resolution
    }

    @Test
    void advertisementWithoutOverrideKeepsTheCachedAddress() {
        // REACHABLE: becomes STALE, address kept.
        reachableA();
        cache.advertisement(HI, A, MAC_A2, true, false, T0 + 1);
        assertThat(cache.state(HI, A, T0 + 1)).isEqualTo(State.STALE);
        assertThat(cache.lookup(HI, A, T0 + 1)).isEqualTo(MAC_A);
        // DELAY (after that lookup): ignored altogether.
        cache.advertisement(HI, A, MAC_A2, true, false, T0 + 2);
        assertThat(cache.state(HI, A, T0 + 2)).isEqualTo(State.DELAY);
        assertThat(timers.size()).isEqualTo(1);
        cache.clear();

        // STALE: ignored.
        staleA(T0);
        cache.advertisement(HI, A, MAC_A2, false, false, T0 + 1);
        assertThat(cache.state(HI, A, T0 + 1)).isEqualTo(State.STALE);
        assertThat(cache.lookup(HI, A, T0 + 1)).isEqualTo(MAC_A);
        cache.clear();

        // The same address, or none, with S set: REACHABLE.
        staleA(T0);
        cache.advertisement(HI, A, MAC_A, true, false, T0 + 1);
        assertThat(cache.state(HI, A, T0 + 1)).isEqualTo(State.REACHABLE);
        cache.clear();
        staleA(T0);
        cache.advertisement(HI, A, -1, true, false, T0 + 1);
        assertThat(cache.state(HI, A, T0 + 1)).isEqualTo(State.REACHABLE);
        assertThat(cache.lookup(HI, A, T0 + 1)).isEqualTo(MAC_A);
    }

    @Test
    void advertisementWithOverrideReplacesTheAddress() {
        // Solicited: the new address, REACHABLE.
        staleA(T0);
        cache.advertisement(HI, A, MAC_A2, true, true, T0 + 1);
        assertThat(cache.state(HI, A, T0 + 1)).isEqualTo(State.REACHABLE);
        assertThat(cache.lookup(HI, A, T0 + 1)).isEqualTo(MAC_A2);
        cache.clear();

        // Unsolicited: the new address, STALE (also from PROBE, which stops probing).
        staleA(T0);
        cache.lookup(HI, A, T0);
        timers.runExpired(T0 + 5 * SECOND);
        assertThat(cache.state(HI, A, T0 + 5 * SECOND)).isEqualTo(State.PROBE);
        cache.advertisement(HI, A, MAC_A2, false, true, T0 + 5 * SECOND);
        assertThat(cache.state(HI, A, T0 + 5 * SECOND)).isEqualTo(State.STALE);
        assertThat(timers.size()).isZero();
        assertThat(cache.lookup(HI, A, T0 + 5 * SECOND)).isEqualTo(MAC_A2);
        cache.clear();

        // Unsolicited with the same address, or without one: the state is unchanged.
        reachableA();
        cache.advertisement(HI, A, MAC_A, false, true, T0 + 1);
        assertThat(cache.state(HI, A, T0 + 1)).isEqualTo(State.REACHABLE);
        cache.advertisement(HI, A, -1, false, true, T0 + 2);
        assertThat(cache.state(HI, A, T0 + 2)).isEqualTo(State.REACHABLE);
        // ... and does not refresh ReachableTime.
        assertThat(cache.state(HI, A, T0 + NeighborCache.REACHABLE_TIME_NANOS)).isEqualTo(State.STALE);
        cache.lookup(HI, A, T0 + NeighborCache.REACHABLE_TIME_NANOS);
        cache.advertisement(HI, A, MAC_A, false, true, T0 + NeighborCache.REACHABLE_TIME_NANOS);
        assertThat(cache.state(HI, A, T0 + NeighborCache.REACHABLE_TIME_NANOS)).isEqualTo(State.DELAY);
    }

    @Test
    void resolveOnAResolvedEntrySendsAtOnce() {
        staleA(T0);
        ByteBuf f = frame(1);
        cache.resolve(HI, A, f, T0);
        assertSame(transmitted, f);
        assertThat(MacAddress.read(f, ETH)).isEqualTo(MAC_A);
        assertThat(cache.state(HI, A, T0)).isEqualTo(State.DELAY);
        assertThat(solicitations).isEmpty();
    }

    @Test
    void addressesDifferingInOneHalfAreDistinct() {
        long otherHi = 0x2001_0db8_0000_0000L;
        cache.learnFromSolicitation(HI, A, MAC_A, T0);
        cache.learnFromSolicitation(otherHi, A, MAC_A2, T0);
        cache.learnFromSolicitation(HI, B, 0x0200_0000_0001L, T0);
        for (int i = 0; i < 3; i++) { // alternate, through the one-entry cache
            assertThat(cache.lookup(HI, A, T0)).isEqualTo(MAC_A);
            assertThat(cache.lookup(otherHi, A, T0)).isEqualTo(MAC_A2);
            assertThat(cache.lookup(HI, B, T0)).isEqualTo(0x0200_0000_0001L);
            assertThat(cache.lookup(otherHi, B, T0)).isEqualTo(-1);
        }
        assertThat(cache.size()).isEqualTo(3);
    }

    @Test
    void collidingKeysStillWork() {
        // Keys whose hash codes were all equal before the hash was keyed (lo * K + hi constant); created at
        // the rate new entries are allowed (one every 10 ms).
        long k = 0x9e37_79b9_7f4a_7c15L;
        for (long lo = 1; lo <= 500; lo++) {
            cache.learnFromSolicitation(-lo * k, lo, lo, T0 + lo * SECOND / 100);
        }
        long later = T0 + 6 * SECOND;
        for (long lo = 1; lo <= 500; lo++) {
            assertThat(cache.lookup(-lo * k, lo, later)).isEqualTo(lo);
        }
        assertThat(cache.lookup(-501 * k, 501, later)).isEqualTo(-1);
        assertThat(stats.ndpNewEntriesRateLimited).isZero();
    }

    @Test
    void evictsIncompleteThenUnusedThenLeastRecentlyUsedEntries() {
        long tick = SECOND / 100; // the rate at which solicitations may create entries
        cache.resolve(HI, 0, frame(0), T0); // INCOMPLETE
        for (int i = 1; i < NeighborCache.MAX_ENTRIES; i++) {
            cache.learnFromSolicitation(HI, i, 0x0200_0000_0000L + i, T0 + i * tick);
        }
        long t = T0 + NeighborCache.MAX_ENTRIES * tick;
        cache.confirmReachable(HI, 1, t); // entries 1 and 2 carry our traffic; the rest were only learned
        cache.lookup(HI, 2, t);
        assertThat(cache.size()).isEqualTo(NeighborCache.MAX_ENTRIES);
        // First the INCOMPLETE entry goes (its frame is dropped), then the oldest never used, entry 3.
        cache.learnFromSolicitation(HI, 5000, 0x0200_0000_5000L, t + tick);
        assertThat(cache.state(HI, 0, t + tick)).isNull();
        assertSame(dropped, allocated.get(0));
        cache.learnFromSolicitation(HI, 5001, 0x0200_0000_5001L, t + 2 * tick);
        assertThat(cache.state(HI, 3, t + 2 * tick)).isNull();
        assertThat(cache.state(HI, 4, t + 2 * tick)).isEqualTo(State.STALE);
        assertThat(cache.state(HI, 1, t + 2 * tick)).isEqualTo(State.REACHABLE);
        assertThat(cache.state(HI, 2, t + 2 * tick)).isEqualTo(State.DELAY);
        assertThat(cache.size()).isEqualTo(NeighborCache.MAX_ENTRIES);
        assertThat(stats.ndpEntriesEvicted).isEqualTo(2);
    }

    @Test
    void evictsTheOldestIncompleteEntryWhenAllAreIncomplete() {
        for (int i = 0; i < NeighborCache.MAX_ENTRIES; i++) {
            cache.resolve(HI, i, frame(i), T0 + i);
        }
        assertThat(timers.size()).isEqualTo(NeighborCache.MAX_ENTRIES);
        cache.resolve(HI, 5000, frame(5000), T0 + 5000);
        assertThat(cache.size()).isEqualTo(NeighborCache.MAX_ENTRIES);
        assertThat(cache.state(HI, 0, T0 + 5000)).isNull();
        assertSame(dropped, allocated.get(0)); // the frame behind the oldest entry
        assertThat(timers.size()).isEqualTo(NeighborCache.MAX_ENTRIES); // the victim's timer is gone
        assertThat(cache.state(HI, 5000, T0 + 5000)).isEqualTo(State.INCOMPLETE);
    }

    @Test
    void clearReleasesQueuedFramesAndTimers() {
        ByteBuf f1 = frame(1);
        ByteBuf f2 = frame(2);
        cache.resolve(HI, A, f1, T0);
        cache.resolve(HI, B, f2, T0);
        cache.learnFromSolicitation(HI, A, MAC_A, T0); // A resolves, f1 goes out, A is in DELAY
        assertSame(transmitted, f1);
        assertThat(timers.size()).isEqualTo(2);
        cache.clear();
        assertThat(f2.refCnt()).isZero();
        assertThat(f1.refCnt()).isEqualTo(1); // owned by whoever transmitted it
        assertThat(cache.size()).isZero();
        assertThat(timers.size()).isZero();
        assertThat(dropped).isEmpty(); // released, not reported as unresolved
        assertThat(cache.lookup(HI, A, T0)).isEqualTo(-1);
    }

    @Test
    void timersFromRouterAdvertisementsAreUsed() {
        cache.retransTimer(2 * SECOND);
        cache.reachableTime(10 * SECOND);
        cache.retransTimer(0); // ignored
        cache.reachableTime(-1);
        cache.resolve(HI, A, frame(1), T0);
        timers.runExpired(T0 + SECOND);
        assertThat(solicitations).hasSize(1);
        timers.runExpired(T0 + 2 * SECOND);
        assertThat(solicitations).hasSize(2);
        cache.advertisement(HI, A, MAC_A, true, false, T0 + 2 * SECOND);
        assertThat(cache.state(HI, A, T0 + 12 * SECOND - 1)).isEqualTo(State.REACHABLE);
        assertThat(cache.state(HI, A, T0 + 12 * SECOND)).isEqualTo(State.STALE);
    }

    @Test
    void timesMayWrapAround() {
        long t = Long.MAX_VALUE - SECOND;
        cache.resolve(HI, A, frame(1), t);
        cache.advertisement(HI, A, MAC_A, true, false, t);
        assertThat(cache.state(HI, A, t + 29 * SECOND)).isEqualTo(State.REACHABLE); // t + 29 s overflows
        assertThat(cache.lookup(HI, A, t + 30 * SECOND)).isEqualTo(MAC_A);
        assertThat(cache.state(HI, A, t + 30 * SECOND)).isEqualTo(State.DELAY);
        timers.runExpired(t + 35 * SECOND);
        assertThat(cache.state(HI, A, t + 35 * SECOND)).isEqualTo(State.PROBE);
    }

    // ------------------------------------------------------------------ attacks (RFC 6583 §7)

    private ByteBuf frame(int tag, int size) {
        ByteBuf f = PooledByteBufAllocator.DEFAULT.buffer(size);
        f.writeZero(size);
        f.setInt(40, tag);
        allocated.add(f);
        return f;
    }

    @Test
    void theRouterSurvivesAFloodOfNeighboursWeAnswer() {
        long router = 1;
        cache.protect(HI, router);
        cache.resolve(HI, router, frame(0), T0);
        cache.advertisement(HI, router, MAC_A, true, true, T0);
        // Spoofed on-link sources that we answer: each is resolved and used after the router was.
        long tick = SECOND / 1000;
        for (int i = 0; i < 3 * NeighborCache.MAX_ENTRIES; i++) {
            long t = T0 + SECOND + i * tick;
            cache.resolve(HI, 100 + i, frame(i + 1), t);
            cache.advertisement(HI, 100 + i, 0x0200_0000_0000L + i, true, true, t);
        }
        assertThat(cache.size()).isEqualTo(NeighborCache.MAX_ENTRIES);
        assertThat(cache.lookup(HI, router, T0 + 10 * SECOND)).isEqualTo(MAC_A);
        assertThat(stats.ndpEntriesEvicted).isEqualTo(2L * NeighborCache.MAX_ENTRIES + 1);
    }

    @Test
    void solicitationsFromNewAddressesCreateEntriesAtALimitedRate() {
        reachableA(); // an entry in use
        for (int i = 0; i < 5000; i++) {
            cache.learnFromSolicitation(HI, 1000 + i, 0x0200_0000_0000L + i, T0 + 1);
        }
        assertThat(cache.size()).isEqualTo(1 + NeighborCache.NEW_ENTRY_BURST);
        assertThat(stats.ndpNewEntriesRateLimited).isEqualTo(5000 - NeighborCache.NEW_ENTRY_BURST);
        // A second later the bucket has refilled by the rate.
        for (int i = 0; i < 5000; i++) {
            cache.learnFromSolicitation(HI, 10_000 + i, 0x0200_0000_0000L + i, T0 + 1 + SECOND);
        }
        assertThat(cache.size()).isEqualTo(1 + NeighborCache.NEW_ENTRY_BURST + NeighborCache.NEW_ENTRIES_PER_SECOND);
        assertThat(cache.lookup(HI, A, T0 + 2 * SECOND)).isEqualTo(MAC_A);
        // Our own traffic is not limited.
        for (int i = 0; i < 300; i++) {
            cache.resolve(HI, 50_000 + i, frame(i), T0 + 2 * SECOND);
        }
        assertThat(cache.state(HI, 50_299, T0 + 2 * SECOND)).isEqualTo(State.INCOMPLETE);
    }

    @Test
    void framesWaitingForOneNeighbourAreBoundedInBytes() {
        int size = 9000; // jumbo frames: the byte bound binds before the frame count
        int fit = NeighborCache.MAX_PENDING_BYTES_PER_ENTRY / size;
        for (int i = 0; i < fit + 5; i++) {
            cache.resolve(HI, A, frame(i, size), T0);
        }
        assertThat(dropped).hasSize(5);
        assertThat(stats.dropNdpQueueFull).isEqualTo(5);
        assertThat(cache.pendingBytes()).isEqualTo(fit * size);
        cache.advertisement(HI, A, MAC_A, true, false, T0 + 1);
        assertThat(transmitted).hasSize(fit);
        assertThat(cache.pendingBytes()).isZero();
    }

    @Test
    void framesWaitingForAllNeighboursAreBoundedInBytes() {
        int size = 16 * 1024;
        int perEntry = NeighborCache.MAX_PENDING_BYTES_PER_ENTRY / size;
        int total = NeighborCache.MAX_PENDING_BYTES / size;
        int neighbours = total / perEntry + 4;
        for (int n = 0; n < neighbours; n++) {
            for (int i = 0; i < perEntry; i++) {
                cache.resolve(HI, 100 + n, frame(n * 100 + i, size), T0);
            }
        }
        assertThat(cache.pendingBytes()).isEqualTo(total * size);
        assertThat(stats.dropNdpQueueFull).isEqualTo((long) neighbours * perEntry - total);
        assertThat(dropped).hasSize(neighbours * perEntry - total);
        // Resolution failing releases what waited, and the bytes with it.
        for (int k = 1; k <= 3; k++) {
            timers.runExpired(T0 + k * SECOND);
        }
        assertThat(cache.size()).isZero();
        assertThat(cache.pendingBytes()).isZero();
    }
}
