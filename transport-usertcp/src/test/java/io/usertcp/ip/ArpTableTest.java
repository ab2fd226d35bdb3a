package io.usertcp.ip;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.usertcp.stats.StackStats;
import io.usertcp.time.TimerQueue;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@link ArpTable} against a hostile link (RFC 6583 §7 applied to ARP): which entries go to make room (never
 * the gateway), how fast ARP input may create entries, and how many bytes may wait for resolution.
 */
class ArpTableTest {
    private static final long SECOND = 1_000_000_000L;
    private static final long T0 = 1_000L;
    private static final int NET = 0xC6120000; // 198.18.0.0/15
    private static final int GATEWAY = NET + 1;

    private final TimerQueue timers = new TimerQueue();
    private final StackStats stats = new StackStats();
    private final List<Integer> requests = new ArrayList<>();
    private final List<ByteBuf> transmitted = new ArrayList<>();
    private final List<ByteBuf> dropped = new ArrayList<>();
    private final List<ByteBuf> allocated = new ArrayList<>();
    private final ArpTable arp = new ArpTable(timers, new NeighborResolver.Output() {
        @Override
        public void solicit(long hi, long lo, long dstMac) {
            requests.add((int) lo);
        }

        @Override
        public void transmitResolved(ByteBuf frame) {
            transmitted.add(frame);
        }

        @Override
        public void dropUnresolved(ByteBuf frame) {
            dropped.add(frame);
            frame.release();
        }
    }, 0, stats);

    @AfterEach
    void releaseEverything() {
        arp.clear();
        assertThat(timers.size()).isZero();
        for (ByteBuf f : transmitted) {
            f.release();
        }
        for (ByteBuf f : allocated) {
            assertThat(f.refCnt()).as("every frame released exactly once").isZero();
        }
    }

    private ByteBuf frame(int size) {
        ByteBuf f = PooledByteBufAllocator.DEFAULT.buffer(size);
        f.writeZero(size);
        allocated.add(f);
        return f;
    }

    /** We send to {@code ip} at {@code now}: resolved if known, else resolution starts and it answers. */
    private void sendTo(int ip, long now) {
        if (arp.lookup(ip, now) < 0) {
            arp.resolve(ip, frame(64), now);
            arp.learn(ip, 0x0200_0000_0000L + (ip & 0xffffff), true, now);
        }
    }

    @Test
    void theGatewaySurvivesAFloodOfNeighboursWeAnswer() {
        arp.protect(GATEWAY);
        sendTo(GATEWAY, T0);
        // Spoofed on-link sources we answer (a SYN-ACK, an echo reply): each is used after the gateway was.
        // One a millisecond: within the rate at which a full table starts new resolutions.
        long ms = SECOND / ArpTable.RESOLUTIONS_PER_SECOND;
        for (int i = 0; i < 3 * ArpTable.MAX_ENTRIES; i++) {
            sendTo(NET + 100 + i, T0 + SECOND + i * ms);
        }
        assertThat(arp.size()).isEqualTo(ArpTable.MAX_ENTRIES);
        assertThat(arp.lookup(GATEWAY, T0 + 5 * SECOND)).isEqualTo(gatewayMac());
        assertThat(stats.arpEntriesEvicted).isEqualTo(2L * ArpTable.MAX_ENTRIES + 1);
    }

    private static long gatewayMac() {
        return 0x0200_0000_0000L + (GATEWAY & 0xffffff);
    }

    @Test
    void incompleteEntriesGoFirstThenUnusedOnesThenTheLeastRecentlyUsed() {
        sendTo(NET + 1, T0);                     // used first: least recently used
        sendTo(NET + 2, T0 + 1);                 // used later
        arp.learn(NET + 3, 0x0200_0000_0003L, true, T0 + 2); // learned from a request, never used
        arp.resolve(NET + 4, frame(64), T0 + 3); // INCOMPLETE
        long tick = SECOND / ArpTable.NEW_ENTRIES_PER_SECOND;
        for (int i = 0; i < ArpTable.MAX_ENTRIES - 4; i++) {
            sendTo(NET + 100 + i, T0 + 10 + i);  // used, more recently than .1 and .2
        }
        assertThat(arp.size()).isEqualTo(ArpTable.MAX_ENTRIES);
        long t = T0 + SECOND;
        arp.learn(NET + 5000, 0x0200_0000_5000L, true, t);
        assertThat(arp.lookup(NET + 4, t)).isEqualTo(-1);
        assertThat(dropped).hasSize(1); // the frame that waited for .4
        assertThat(arp.lookup(NET + 3, t)).isEqualTo(0x0200_0000_0003L); // still there; now used
        arp.learn(NET + 5001, 0x0200_0000_5001L, true, t + tick);
        assertThat(arp.lookup(NET + 5000, t + tick)).isEqualTo(-1); // never used: it went
        arp.learn(NET + 5002, 0x0200_0000_5002L, true, t + 2 * tick);
        assertThat(arp.lookup(NET + 5001, t + 2 * tick)).isEqualTo(-1);
        // Once nothing unused is left, the least recently used goes: .1.
        assertThat(arp.lookup(NET + 5002, t + 2 * tick)).isPositive();
        sendTo(NET + 6000, t + 3 * tick);
        assertThat(arp.size()).isEqualTo(ArpTable.MAX_ENTRIES);
        assertThat(arp.lookup(NET + 2, t + 3 * tick)).isPositive();
        assertThat(arp.lookup(NET + 1, t + 3 * tick)).isEqualTo(-1);
        assertThat(stats.arpEntriesEvicted).isEqualTo(4);
    }

    @Test
    void requestsFromNewAddressesCreateEntriesAtALimitedRate() {
        for (int i = 0; i < 5000; i++) {
            arp.learn(NET + 100 + i, 0x0200_0000_0000L + i, true, T0);
        }
        assertThat(arp.size()).isEqualTo(ArpTable.NEW_ENTRY_BURST);
        assertThat(stats.arpNewEntriesRateLimited).isEqualTo(5000 - ArpTable.NEW_ENTRY_BURST);
        for (int i = 0; i < 5000; i++) {
            arp.learn(NET + 10_000 + i, 0x0200_0000_0000L + i, true, T0 + SECOND);
        }
        assertThat(arp.size()).isEqualTo(ArpTable.NEW_ENTRY_BURST + ArpTable.NEW_ENTRIES_PER_SECOND);
        // Existing entries are still updated, and our own traffic is not limited.
        arp.learn(NET + 100, 0x0200_0000_7777L, true, T0 + SECOND);
        assertThat(arp.lookup(NET + 100, T0 + SECOND)).isEqualTo(0x0200_0000_7777L);
        arp.resolve(NET + 60_000, frame(64), T0 + SECOND);
        assertThat(requests).contains(NET + 60_000);
    }

    @Test
    void aFullTableStartsNewResolutionsAtALimitedRate() {
        // Issue #10: SYN-ACKs to thousands of spoofed on-link sources, each needing an ARP request and an eviction.
        for (int i = 0; i < ArpTable.MAX_ENTRIES; i++) {
            arp.resolve(NET + 100 + i, frame(64), T0);
        }
        assertThat(requests).hasSize(ArpTable.MAX_ENTRIES); // room left: not limited
        for (int i = 0; i < 5000; i++) {
            arp.resolve(NET + 10_000 + i, frame(64), T0 + 1);
        }
        assertThat(requests).hasSize(ArpTable.MAX_ENTRIES + ArpTable.RESOLUTION_BURST);
        assertThat(stats.arpResolutionsRateLimited).isEqualTo(5000 - ArpTable.RESOLUTION_BURST);
        assertThat(arp.size()).isEqualTo(ArpTable.MAX_ENTRIES);
        arp.resolve(NET + 20_000, frame(64), T0 + 1 + SECOND / ArpTable.RESOLUTIONS_PER_SECOND);
        assertThat(requests).contains(NET + 20_000); // a millisecond later, one more
    }

    @Test
    void framesWaitingForOneAddressAreBoundedInBytes() {
        int size = 9000;
        int fit = ArpTable.MAX_PENDING_BYTES_PER_ENTRY / size;
        for (int i = 0; i < fit + 3; i++) {
            arp.resolve(NET + 7, frame(size), T0);
        }
        assertThat(dropped).hasSize(3);
        assertThat(stats.dropArpQueueFull).isEqualTo(3);
        assertThat(arp.pendingBytes()).isEqualTo(fit * size);
        assertThat(requests).hasSize(1);
        arp.learn(NET + 7, 0x0200_0000_0007L, false, T0 + 1);
        assertThat(transmitted).hasSize(fit);
        assertThat(arp.pendingBytes()).isZero();
    }

    @Test
    void framesWaitingForAllAddressesAreBoundedInBytes() {
        int size = 16 * 1024;
        int perEntry = ArpTable.MAX_PENDING_BYTES_PER_ENTRY / size;
        int total = ArpTable.MAX_PENDING_BYTES / size;
        int addresses = total / perEntry + 4;
        for (int a = 0; a < addresses; a++) {
            for (int i = 0; i < perEntry; i++) {
                arp.resolve(NET + 100 + a, frame(size), T0);
            }
        }
        assertThat(arp.pendingBytes()).isEqualTo(total * size);
        assertThat(stats.dropArpQueueFull).isEqualTo((long) addresses * perEntry - total);
        for (int k = 1; k <= ArpTable.MAX_REQUESTS; k++) {
            timers.runExpired(T0 + k * SECOND);
        }
        assertThat(arp.size()).isZero();
        assertThat(arp.pendingBytes()).isZero();
        assertThat(dropped).hasSize(addresses * perEntry);
    }
}
