package io.usertcp.tcp;

import io.usertcp.util.SipHash;

/**
 * SYN cookies (RFC 4987 §3.6): when a listener's SYN queue is full, the state of a half-open connection goes out
 * in the SYN-ACK instead of into memory, and comes back in the peer's ACK.
 *
 * <p>The cookie is our ISS. As Linux's, it carries a keyed MAC of the 4-tuple, the peer's ISN and a counter that
 * ticks every {@link #COUNTER_NANOS} (60 s), plus the index of the peer's MSS in a small table; a cookie is
 * accepted while its counter is the current or the previous one, so it lives 60 to 120 s. Here the low
 * {@link #MSS_BITS} bits are the MSS index and the other 30 bits a MAC over it too:
 * {@code ISS = (MAC & ~3) | idx}, MAC = SipHash-2-4(key, 4-tuple, IRS, counter, idx). A blind guess passes with a
 * probability of 2 * 2^-30 (two counters tried), and changing the index breaks the MAC.
 *
 * <p>What does not fit in the ISS (window scale, SACK-permitted) goes, when the peer sent timestamps, into the
 * low {@link #TS_OPTION_BITS} bits of our TSval, which the peer echoes in TSecr (as Linux's
 * {@code cookie_init_timestamp}): bits 0-3 the peer's window scale (15: none), bit 4 SACK-permitted. The TSval
 * is our clock rounded down to those bits, so it never runs ahead of the clock the connection uses later. The
 * TSval offset of a connection made from a cookie is a keyed hash of its 4-tuple ({@link #tsOffset}), so that
 * the ACK can be matched against it. Without timestamps a cookie connection has neither window scaling nor
 * SACK, as on Linux.
 */
final class SynCookies {
    /** The cookie counter's period (Linux: 60 s). */
    static final long COUNTER_NANOS = 60_000_000_000L;
    /** Bits of the ISS that carry the MSS index. */
    static final int MSS_BITS = 2;
    /** Peer MSS values a cookie can carry, IPv4 (Linux's msstab). */
    static final int[] MSS_V4 = {536, 1300, 1440, 1460};
    /** Peer MSS values a cookie can carry, IPv6 (Linux's msstab for IPv6: 1280, 1480, 1500 and 9000 less 60). */
    static final int[] MSS_V6 = {1220, 1420, 1440, 8940};
    /** Bits of our TSval that carry the options. */
    static final int TS_OPTION_BITS = 6;
    private static final int TS_MASK = (1 << TS_OPTION_BITS) - 1;
    private static final int TS_WSCALE_NONE = 0xf;
    private static final int TS_SACK = 0x10;
    private static final int MSS_MASK = (1 << MSS_BITS) - 1;

    private final SipHash mac;
    private final SipHash tuple;
    private final SipHash ts;

    SynCookies(SipHash mac, SipHash tuple, SipHash ts) {
        this.mac = mac;
        this.tuple = tuple;
        this.ts = ts;
    }

    /** The counter at {@code nowNanos}. */
    static long counter(long nowNanos) {
        return Math.floorDiv(nowNanos, COUNTER_NANOS);
    }

    /** The index of the largest table MSS not above {@code peerMss} (0 when the SYN had none). */
    static int mssIndex(boolean v4, int peerMss) {
        int[] t = v4 ? MSS_V4 : MSS_V6;
        if (peerMss <= 0) {
            peerMss = v4 ? Handshake.DEFAULT_MSS_V4 : Handshake.DEFAULT_MSS_V6;
        }
        for (int i = t.length - 1; i > 0; i--) {
            if (peerMss >= t[i]) {
                return i;
            }
        }
        return 0;
    }

    /** The MSS a cookie's index stands for. */
    static int mss(boolean v4, int index) {
        return (v4 ? MSS_V4 : MSS_V6)[index];
    }

    /** The cookie ISS for a SYN with ISN {@code irs} and MSS index {@code mssIndex}, sent at {@code nowNanos}. */
    int encode(long lHi, long lLo, int lPort, long rHi, long rLo, int rPort, int irs, int mssIndex, long nowNanos) {
        int m = mac(tuple(lHi, lLo, lPort, rHi, rLo, rPort), irs, counter(nowNanos), mssIndex);
        return (m & ~MSS_MASK) | mssIndex;
    }

    /**
     * The MSS index carried by {@code cookie} (the ACK's SEG.ACK - 1) if it is valid for this 4-tuple and
     * {@code irs} (the ACK's SEG.SEQ - 1) at {@code nowNanos}, else -1.
     */
    int decode(long lHi, long lLo, int lPort, long rHi, long rLo, int rPort, int irs, int cookie, long nowNanos) {
        long c = counter(nowNanos);
        long t = tuple(lHi, lLo, lPort, rHi, rLo, rPort);
        int mssIndex = cookie & MSS_MASK;
        for (long k = c; k >= c - 1; k--) {
            if (((mac(t, irs, k, mssIndex) ^ cookie) & ~MSS_MASK) == 0) {
                return mssIndex;
            }
        }
        return -1;
    }

    private long tuple(long lHi, long lLo, int lPort, long rHi, long rLo, int rPort) {
        return tuple.hash(lHi, lLo, rHi, rLo, (long) lPort << 16 | rPort);
    }

    private int mac(long tupleHash, int irs, long counter, int mssIndex) {
        return (int) mac.hash(tupleHash, irs & 0xffff_ffffL, counter, mssIndex, 0);
    }

    /**
     * The TSval offset (RFC 7323 §5.4) of a passively opened connection: a keyed hash of the 4-tuple, as Linux's
     * {@code secure_tcp_ts_off}, so that a cookie's ACK can be checked against it and successive incarnations of
     * a 4-tuple see a clock that does not jump back.
     */
    int tsOffset(long lHi, long lLo, int lPort, long rHi, long rLo, int rPort) {
        return (int) ts.hash(lHi, lLo, rHi, rLo, (long) lPort << 16 | rPort);
    }

    /**
     * The TSval of a cookie SYN-ACK: {@code tsNow} (our clock with its offset) with its low bits replaced by the
     * options, never above {@code tsNow}. {@code peerWscale} is the SYN's window scale or -1.
     */
    static int encodeTsVal(int tsNow, int peerWscale, boolean sackPermitted) {
        int options = (peerWscale < 0 ? TS_WSCALE_NONE : Math.min(peerWscale, 14)) | (sackPermitted ? TS_SACK : 0);
        int v = (tsNow & ~TS_MASK) | options;
        if (v - tsNow > 0) {
            v -= 1 << TS_OPTION_BITS;
        }
        return v;
    }

    /** The peer's window scale a cookie ACK's TSecr carries, or -1 for none. */
    static int decodeWscale(int tsEcr) {
        int w = tsEcr & TS_WSCALE_NONE;
        return w == TS_WSCALE_NONE ? -1 : Math.min(w, 14);
    }

    /** Whether a cookie ACK's TSecr says the SYN was SACK-permitted. */
    static boolean decodeSack(int tsEcr) {
        return (tsEcr & TS_SACK) != 0;
    }
}
