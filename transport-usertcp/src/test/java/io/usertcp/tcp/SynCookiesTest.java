package io.usertcp.tcp;

import io.usertcp.util.SipHash;

import io.usertcp.wire.IpAddress;
import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;

/** The SYN cookie's encoding (RFC 4987 §3.6): what it carries, how long it is valid, what breaks it. */
class SynCookiesTest {
    private static final long SEC = 1_000_000_000L;
    private static final long L_HI = 0;
    private static final long L_LO = IpAddress.mappedLo(0xC6120002);
    private static final long R_LO = IpAddress.mappedLo(0xC6130001);
    private final SynCookies cookies = new SynCookies(new SipHash(1, 2), new SipHash(3, 4), new SipHash(5, 6));

    private int decode(int irs, int cookie, long now) {
        return cookies.decode(L_HI, L_LO, 80, 0, R_LO, 40000, irs, cookie, now);
    }

    @Test
    void aCookieCarriesItsMssIndexAndLivesOneToTwoCounterPeriods() {
        long t0 = 7 * SynCookies.COUNTER_NANOS; // the start of a counter period
        for (int idx = 0; idx < SynCookies.MSS_V4.length; idx++) {
            int cookie = cookies.encode(L_HI, L_LO, 80, 0, R_LO, 40000, 12345, idx, t0);
            assertThat(cookie & 3).isEqualTo(idx);
            assertThat(decode(12345, cookie, t0)).isEqualTo(idx);
            assertThat(decode(12345, cookie, t0 + 119 * SEC)).as("previous counter").isEqualTo(idx);
            assertThat(decode(12345, cookie, t0 + 120 * SEC)).as("two periods later").isEqualTo(-1);
            assertThat(decode(12345, cookie, t0 - 1)).as("from a later period than now").isEqualTo(-1);
        }
        // Sent at the end of a period, it still lives a full period.
        int late = cookies.encode(L_HI, L_LO, 80, 0, R_LO, 40000, 12345, 1, t0 - 1);
        assertThat(decode(12345, late, t0 + 59 * SEC)).isEqualTo(1);
        assertThat(decode(12345, late, t0 + 60 * SEC)).isEqualTo(-1);
    }

    @Test
    void anyChangeBreaksTheCookie() {
        long now = 3 * SEC;
        int cookie = cookies.encode(L_HI, L_LO, 80, 0, R_LO, 40000, 999, 3, now);
        assertThat(decode(999, cookie, now)).isEqualTo(3);
        for (int bit = 0; bit < 32; bit++) {
            assertThat(decode(999, cookie ^ (1 << bit), now)).as("bit %d flipped", bit).isEqualTo(-1);
        }
        assertThat(decode(1000, cookie, now)).as("another IRS").isEqualTo(-1);
        assertThat(cookies.decode(L_HI, L_LO, 81, 0, R_LO, 40000, 999, cookie, now)).as("another port").isEqualTo(-1);
        assertThat(cookies.decode(L_HI, L_LO, 80, 0, R_LO + 1, 40000, 999, cookie, now)).as("another peer")
                .isEqualTo(-1);
        SynCookies otherKey = new SynCookies(new SipHash(1, 3), new SipHash(3, 4), new SipHash(5, 6));
        assertThat(otherKey.decode(L_HI, L_LO, 80, 0, R_LO, 40000, 999, cookie, now)).as("another key")
                .isEqualTo(-1);
    }

    @Test
    void blindGuessesFail() {
        SplittableRandom r = new SplittableRandom(1);
        int passed = 0;
        for (int i = 0; i < 1_000_000; i++) {
            if (decode(r.nextInt(), r.nextInt(), 5 * SEC) >= 0) {
                passed++;
            }
        }
        assertThat(passed).as("random cookies accepted (expected about 2 in 2^30 each)").isZero();
    }

    @Test
    void theMssIndexIsTheLargestTableEntryNotAboveThePeers() {
        assertThat(SynCookies.mssIndex(true, 0)).as("no MSS option: 536").isZero();
        assertThat(SynCookies.mssIndex(true, 536)).isZero();
        assertThat(SynCookies.mssIndex(true, 1299)).isZero();
        assertThat(SynCookies.mssIndex(true, 1300)).isEqualTo(1);
        assertThat(SynCookies.mssIndex(true, 1460)).isEqualTo(3);
        assertThat(SynCookies.mssIndex(true, 9000)).isEqualTo(3);
        assertThat(SynCookies.mssIndex(true, 100)).as("below the table: its smallest").isZero();
        assertThat(SynCookies.mssIndex(false, 0)).as("IPv6 without MSS: 1220").isZero();
        assertThat(SynCookies.mssIndex(false, 1440)).isEqualTo(2);
        assertThat(SynCookies.mss(false, SynCookies.mssIndex(false, 8960))).isEqualTo(8940);
    }

    @Test
    void optionsRideInTheTsValWhichNeverRunsAhead() {
        SplittableRandom r = new SplittableRandom(2);
        for (int i = 0; i < 10_000; i++) {
            int tsNow = r.nextInt();
            int ws = r.nextInt(-1, 15);
            boolean sack = r.nextBoolean();
            int v = SynCookies.encodeTsVal(tsNow, ws, sack);
            assertThat(tsNow - v).isBetween(0, 63);
            assertThat(SynCookies.decodeWscale(v)).isEqualTo(ws);
            assertThat(SynCookies.decodeSack(v)).isEqualTo(sack);
        }
        assertThat(SynCookies.decodeWscale(SynCookies.encodeTsVal(1000, 14, false))).isEqualTo(14);
    }
}
