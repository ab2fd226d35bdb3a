package io.usertcp.ip;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/** {@link PathMtuCache}: lowering only, floors, aging, the bound and RFC 1191's plateaus. */
class PathMtuCacheTest {
    private static final long MINUTE = 60_000_000_000L;
    private static final long V4 = 0xC6120002L;
    private static final long V6_HI = 0x20010db800000000L;
    private static final long V6_LO = 2;

    private final PathMtuCache cache = new PathMtuCache();
    private long now = 12345;

    @Test
    void unknownDestinationsGetTheLinkMtu() {
        assertThat(cache.mtu(false, 0, V4, 1500, now)).isEqualTo(1500);
        assertThat(cache.mtu(true, V6_HI, V6_LO, 9000, now)).isEqualTo(9000);
        assertThat(cache.size()).isZero();
    }

    @Test
    void reportsOnlyLowerThePathMtu() {
        assertThat(cache.update(false, 0, V4, 1400, 1500, now)).isTrue();
        assertThat(cache.mtu(false, 0, V4, 1500, now)).isEqualTo(1400);
        assertThat(cache.update(false, 0, V4, 1300, 1500, now)).isTrue();
        assertThat(cache.mtu(false, 0, V4, 1500, now)).isEqualTo(1300);
        // Never raised by an ICMP message; the same value changes nothing either.
        assertThat(cache.update(false, 0, V4, 1350, 1500, now)).isFalse();
        assertThat(cache.update(false, 0, V4, 1300, 1500, now)).isFalse();
        assertThat(cache.update(false, 0, V4, 9000, 1500, now)).isFalse();
        assertThat(cache.mtu(false, 0, V4, 1500, now)).isEqualTo(1300);
        // A link MTU below what was learned wins.
        assertThat(cache.mtu(false, 0, V4, 1280, now)).isEqualTo(1280);
        assertThat(cache.size()).isEqualTo(1);
    }

    @Test
    void reportsAtOrAboveTheLinkMtuAreIgnored() {
        assertThat(cache.update(false, 0, V4, 1500, 1500, now)).isFalse();
        assertThat(cache.update(true, V6_HI, V6_LO, 1600, 1500, now)).isFalse();
        assertThat(cache.update(false, 0, V4, 0, 1500, now)).isFalse(); // "unknown": plateau() is the caller's
        assertThat(cache.update(false, 0, V4, -5, 1500, now)).isFalse();
        assertThat(cache.size()).isZero();
    }

    @Test
    void ipv4ReportsAreFlooredAt552() {
        assertThat(cache.update(false, 0, V4, 68, 1500, now)).isTrue();
        assertThat(cache.mtu(false, 0, V4, 1500, now)).isEqualTo(PathMtuCache.MIN_IPV4_MTU);
        assertThat(cache.update(false, 0, V4, 1, 1500, now)).isFalse(); // already at the floor
        assertThat(cache.update(false, 0, V4, 551, 1500, now)).isFalse();
        assertThat(cache.mtu(false, 0, V4, 1500, now)).isEqualTo(552);
        // A link smaller than the floor still rules.
        assertThat(cache.mtu(false, 0, V4, 300, now)).isEqualTo(300);
    }

    @Test
    void ipv6ReportsAreFlooredAt1280() {
        assertThat(cache.update(true, V6_HI, V6_LO, 1000, 1500, now)).isTrue(); // RFC 8201 §4
        assertThat(cache.mtu(true, V6_HI, V6_LO, 1500, now)).isEqualTo(PathMtuCache.MIN_IPV6_MTU);
        assertThat(cache.update(true, V6_HI, V6_LO, 1279, 1500, now)).isFalse();
        assertThat(cache.update(true, V6_HI, V6_LO, 68, 1500, now)).isFalse();
        assertThat(cache.mtu(true, V6_HI, V6_LO, 1500, now)).isEqualTo(1280);
        // On a 1280 link nothing can be learned at all.
        assertThat(cache.update(true, V6_HI, 77, 500, 1280, now)).isFalse();
    }

    @Test
    void familiesAreDistinct() {
        // IPv4 198.18.0.2 and the IPv6 address ::c612:2 share their 128 bits, not their family.
        assertThat(cache.update(false, 0, V4, 1000, 1500, now)).isTrue();
        assertThat(cache.mtu(true, 0, V4, 1500, now)).isEqualTo(1500);
        assertThat(cache.update(true, 0, V4, 1400, 1500, now)).isTrue();
        assertThat(cache.mtu(false, 0, V4, 1500, now)).isEqualTo(1000);
        assertThat(cache.mtu(true, 0, V4, 1500, now)).isEqualTo(1400);
        // And the high half counts.
        assertThat(cache.mtu(true, V6_HI, V4, 1500, now)).isEqualTo(1500);
        assertThat(cache.size()).isEqualTo(2);
    }

    @Test
    void learnedValuesAgeAfterTenMinutes() {
        assertThat(cache.update(true, V6_HI, V6_LO, 1400, 1500, now)).isTrue();
        long learned = now;
        now += 5 * MINUTE;
        assertThat(cache.update(true, V6_HI, V6_LO, 1350, 1500, now)).isTrue(); // learning anew restarts the age
        now = learned + 10 * MINUTE;
        assertThat(cache.mtu(true, V6_HI, V6_LO, 1500, now)).isEqualTo(1350);
        now = learned + 15 * MINUTE - 1;
        assertThat(cache.mtu(true, V6_HI, V6_LO, 1500, now)).isEqualTo(1350);
        now += 1;
        assertThat(cache.mtu(true, V6_HI, V6_LO, 1500, now)).isEqualTo(1500); // back to the link MTU
        assertThat(cache.size()).isZero();
        // Once aged, a report above the old value is news again.
        assertThat(cache.update(true, V6_HI, V6_LO, 1450, 1500, now)).isTrue();
        assertThat(cache.mtu(true, V6_HI, V6_LO, 1500, now)).isEqualTo(1450);
    }

    @Test
    void agedValueDoesNotHideAReportAboveIt() {
        assertThat(cache.update(false, 0, V4, 1000, 1500, now)).isTrue();
        now += PathMtuCache.DEFAULT_AGING_NANOS;
        assertThat(cache.update(false, 0, V4, 1200, 1500, now)).isTrue(); // compared with 1500, not 1000
        assertThat(cache.mtu(false, 0, V4, 1500, now)).isEqualTo(1200);
    }

    @Test
    void agingIsConfigurable() {
        PathMtuCache c = new PathMtuCache(MINUTE, 16);
        assertThat(c.update(false, 0, V4, 1000, 1500, now)).isTrue();
        assertThat(c.mtu(false, 0, V4, 1500, now + MINUTE - 1)).isEqualTo(1000);
        assertThat(c.mtu(false, 0, V4, 1500, now + MINUTE)).isEqualTo(1500);
    }

    @Test
    void boundedByEvictingTheOldest() {
        PathMtuCache c = new PathMtuCache(PathMtuCache.DEFAULT_AGING_NANOS, 4);
        for (int i = 1; i <= 4; i++) {
            assertThat(c.update(false, 0, i, 1400, 1500, now + i)).isTrue();
        }
        // Learning anew about 1 makes it the newest: 2 is now the oldest.
        assertThat(c.update(false, 0, 1, 1300, 1500, now + 5)).isTrue();
        assertThat(c.update(false, 0, 5, 1400, 1500, now + 6)).isTrue();
        assertThat(c.size()).isEqualTo(4);
        assertThat(c.mtu(false, 0, 2, 1500, now + 7)).isEqualTo(1500);
        assertThat(c.mtu(false, 0, 1, 1500, now + 7)).isEqualTo(1300);
        for (int i = 3; i <= 5; i++) {
            assertThat(c.mtu(false, 0, i, 1500, now + 7)).isEqualTo(1400);
        }
    }

    @Test
    void defaultBoundIs1024() {
        for (int i = 0; i < 5000; i++) {
            cache.update(true, V6_HI, i, 1400, 1500, now);
            assertThat(cache.size()).isLessThanOrEqualTo(PathMtuCache.DEFAULT_MAX_ENTRIES);
        }
        assertThat(cache.size()).isEqualTo(1024);
        assertThat(cache.mtu(true, V6_HI, 4999, 1500, now)).isEqualTo(1400);
        assertThat(cache.mtu(true, V6_HI, 5000 - 1025, 1500, now)).isEqualTo(1500);
        assertThat(cache.mtu(true, V6_HI, 5000 - 1024, 1500, now)).isEqualTo(1400);
    }

    @Test
    void forgetAndClear() {
        cache.update(false, 0, V4, 1000, 1500, now);
        cache.update(true, V6_HI, V6_LO, 1300, 1500, now);
        cache.forget(false, 0, V4);
        assertThat(cache.mtu(false, 0, V4, 1500, now)).isEqualTo(1500);
        assertThat(cache.mtu(true, V6_HI, V6_LO, 1500, now)).isEqualTo(1300);
        cache.clear();
        assertThat(cache.size()).isZero();
        assertThat(cache.mtu(true, V6_HI, V6_LO, 1500, now)).isEqualTo(1500);
    }

    @Test
    void plateausOfRfc1191() {
        assertThat(PathMtuCache.plateau(70000)).isEqualTo(65535);
        assertThat(PathMtuCache.plateau(65535)).isEqualTo(32000);
        assertThat(PathMtuCache.plateau(32001)).isEqualTo(32000);
        assertThat(PathMtuCache.plateau(32000)).isEqualTo(17914);
        assertThat(PathMtuCache.plateau(17914)).isEqualTo(8166);
        assertThat(PathMtuCache.plateau(8166)).isEqualTo(4352);
        assertThat(PathMtuCache.plateau(4352)).isEqualTo(2002);
        assertThat(PathMtuCache.plateau(2002)).isEqualTo(1492);
        assertThat(PathMtuCache.plateau(1500)).isEqualTo(1492);
        assertThat(PathMtuCache.plateau(1493)).isEqualTo(1492);
        assertThat(PathMtuCache.plateau(1492)).isEqualTo(1006);
        assertThat(PathMtuCache.plateau(1006)).isEqualTo(508);
        assertThat(PathMtuCache.plateau(576)).isEqualTo(508);
        assertThat(PathMtuCache.plateau(508)).isEqualTo(296);
        assertThat(PathMtuCache.plateau(297)).isEqualTo(296);
        assertThat(PathMtuCache.plateau(296)).isEqualTo(68);
        assertThat(PathMtuCache.plateau(69)).isEqualTo(68);
        assertThat(PathMtuCache.plateau(68)).isEqualTo(68); // the lowest: never below
        assertThat(PathMtuCache.plateau(20)).isEqualTo(68);
        assertThat(PathMtuCache.plateau(0)).isEqualTo(68);
    }

    @Test
    void plateauEstimatesWalkDownToTheFloor() {
        // Old routers report 0: each datagram too big for the path steps the estimate down (RFC 1191 §5).
        int mtu = cache.mtu(false, 0, V4, 1500, now);
        assertThat(cache.update(false, 0, V4, PathMtuCache.plateau(mtu), 1500, now)).isTrue();
        assertThat(mtu = cache.mtu(false, 0, V4, 1500, now)).isEqualTo(1492);
        assertThat(cache.update(false, 0, V4, PathMtuCache.plateau(mtu), 1500, now)).isTrue();
        assertThat(mtu = cache.mtu(false, 0, V4, 1500, now)).isEqualTo(1006);
        assertThat(cache.update(false, 0, V4, PathMtuCache.plateau(mtu), 1500, now)).isTrue(); // 508, floored
        assertThat(mtu = cache.mtu(false, 0, V4, 1500, now)).isEqualTo(552);
        assertThat(cache.update(false, 0, V4, PathMtuCache.plateau(mtu), 1500, now)).isFalse();
        assertThat(cache.mtu(false, 0, V4, 1500, now)).isEqualTo(552);
    }
}
