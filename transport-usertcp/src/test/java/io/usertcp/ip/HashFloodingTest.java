package io.usertcp.ip;

import io.usertcp.util.KeyedHash;

import io.netty.buffer.PooledByteBufAllocator;
import io.usertcp.stats.StackStats;
import io.usertcp.time.TimerQueue;
import org.junit.jupiter.api.Test;

import java.util.function.IntUnaryOperator;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Hash flooding: for each map keyed by what the wire chooses (fragment keys, path-MTU destinations, neighbour
 * and ARP addresses), 2000 keys that all land in one bucket of a {@link java.util.HashMap} under the hash code
 * the key had before (a linear mix, solved for collisions), and the largest bucket they fill now. Not timed:
 * the bucket index is HashMap's ({@code h ^ h >>> 16} masked to a table sized for 2000 entries).
 */
class HashFloodingTest {
    private static final int N = 2000;
    private static final int TABLE = 4096; // HashMap's table for 2000 entries at load factor 0.75
    private static final long G = 0x9E3779B97F4A7C15L;
    private static final int G32 = 0x9E3779B1;
    /** Most keys in one bucket we accept: 2000 keys in 4096 buckets fill about 5 at most. */
    private static final int MAX_LOAD = 10;

    private final TimerQueue timers = new TimerQueue();
    private final StackStats stats = new StackStats();

    static int maxBucketLoad(IntUnaryOperator hashOfKey) {
        int[] load = new int[TABLE];
        int max = 0;
        for (int k = 0; k < N; k++) {
            int h = hashOfKey.applyAsInt(k);
            int b = (h ^ (h >>> 16)) & (TABLE - 1);
            max = Math.max(max, ++load[b]);
        }
        return max;
    }

    private static int fold(long h) {
        return (int) (h ^ (h >>> 32));
    }

    /** The inverse of an odd number modulo 2^32 (Newton's iteration). */
    private static int inverse(int a) {
        int x = a;
        for (int i = 0; i < 5; i++) {
            x *= 2 - a * x;
        }
        return x;
    }

    @Test
    void ipv4FragmentKeys() {
        Ipv4Reassembly r = new Ipv4Reassembly(timers, PooledByteBufAllocator.DEFAULT, stats, null);
        int dst = 0xC6120002;
        int step = inverse(G32 * G32);
        // Old: h = (src * G + dst) * G + (protocol << 16 | id): raise src by t / G² and lower id by t.
        IntUnaryOperator src = k -> 0x0A000001 + k * step;
        IntUnaryOperator id = k -> 65535 - k;
        int old = maxBucketLoad(k -> {
            int h = src.applyAsInt(k) * G32 + dst;
            h = h * G32 + (17 << 16 | id.applyAsInt(k));
            return h ^ (h >>> 16);
        });
        int now = maxBucketLoad(k -> r.keyHash(src.applyAsInt(k), dst, 17, id.applyAsInt(k)));
        System.out.printf("IPv4 fragment keys: largest bucket %d before, %d now%n", old, now);
        assertThat(old).isEqualTo(N);
        assertThat(now).isLessThanOrEqualTo(MAX_LOAD);
    }

    @Test
    void ipv6FragmentKeys() {
        Ipv6Reassembly r = new Ipv6Reassembly(timers, PooledByteBufAllocator.DEFAULT, stats, null);
        long dstHi = 0xfd00_0198_0000_0000L;
        long dstLo = 2;
        // Old: h = (((srcHi * G + srcLo) * G + dstHi) * G + dstLo) * G + id: keep srcHi * G + srcLo fixed.
        int old = maxBucketLoad(k -> {
            long hi = 0xfd00_0000_0000_0000L + k;
            long lo = 12345 - hi * G;
            long h = hi * G + lo;
            h = ((h * G + dstHi) * G + dstLo) * G + 7;
            return fold(h);
        });
        int now = maxBucketLoad(k -> {
            long hi = 0xfd00_0000_0000_0000L + k;
            return r.keyHash(hi, 12345 - hi * G, dstHi, dstLo, 7);
        });
        System.out.printf("IPv6 fragment keys: largest bucket %d before, %d now%n", old, now);
        assertThat(old).isEqualTo(N);
        assertThat(now).isLessThanOrEqualTo(MAX_LOAD);
    }

    @Test
    void pathMtuKeys() {
        PathMtuCache c = new PathMtuCache();
        // Old: h = (hi * G + lo) * G + v6.
        int old = maxBucketLoad(k -> {
            long hi = 0x2001_0db8_0000_0000L + k;
            return fold(((hi * G) + (99 - hi * G)) * G + 1);
        });
        int now = maxBucketLoad(k -> {
            long hi = 0x2001_0db8_0000_0000L + k;
            return c.keyHash(true, hi, 99 - hi * G);
        });
        System.out.printf("path MTU keys: largest bucket %d before, %d now%n", old, now);
        assertThat(old).isEqualTo(N);
        assertThat(now).isLessThanOrEqualTo(MAX_LOAD);
    }

    @Test
    void neighbourKeys() {
        NeighborCache c = new NeighborCache(timers, null, 0, stats);
        // Old: h = lo * G + hi.
        int old = maxBucketLoad(k -> fold((long) (k + 1) * G + (-(long) (k + 1) * G)));
        int now = maxBucketLoad(k -> c.keyHash(-(long) (k + 1) * G, k + 1));
        System.out.printf("neighbour keys: largest bucket %d before, %d now%n", old, now);
        assertThat(old).isEqualTo(N);
        assertThat(now).isLessThanOrEqualTo(MAX_LOAD);
    }

    @Test
    void arpKeys() {
        ArpTable t = new ArpTable(timers, null, 0, stats);
        // Old: Integer keys, whose hash code is the address: x << 16 | x spreads to x << 16, bucket 0.
        IntUnaryOperator ip = k -> (k + 1) << 16 | (k + 1);
        int old = maxBucketLoad(ip);
        int now = maxBucketLoad(k -> t.keyHash(ip.applyAsInt(k)));
        System.out.printf("ARP keys: largest bucket %d before, %d now%n", old, now);
        assertThat(old).isEqualTo(N);
        assertThat(now).isLessThanOrEqualTo(MAX_LOAD);
    }

    @Test
    void keyedHashDependsOnItsKey() {
        KeyedHash a = new KeyedHash(1, 2);
        KeyedHash b = new KeyedHash(1, 3);
        int same = 0;
        for (int k = 0; k < 1000; k++) {
            if (a.hash(k, 7, 9) == b.hash(k, 7, 9)) {
                same++;
            }
        }
        assertThat(same).isLessThanOrEqualTo(1);
        assertThat(a.hash(1, 2, 3, 4, 5)).isEqualTo(new KeyedHash(1, 2).hash(1, 2, 3, 4, 5));
    }
}
