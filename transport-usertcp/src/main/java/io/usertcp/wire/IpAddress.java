package io.usertcp.wire;

import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.UnknownHostException;

/**
 * An IP address of either family as an immutable 128-bit value. An IPv4 address is held in its IPv4-mapped
 * IPv6 form {@code ::ffff:a.b.c.d} (RFC 4291 §2.5.5.2), so one representation (and one demultiplexing key)
 * serves both families and the family is a property of the value. IPv4-mapped addresses never appear in an
 * IPv6 header on the wire: the stack drops packets that carry one, so the two families cannot be confused.
 *
 * <p>The packet path compares the {@code hi}/{@code lo} halves read straight from headers and allocates no
 * instance per packet; instances are made when connections and sockets are created.
 */
public final class IpAddress {
    /** The {@code lo} half of an IPv4-mapped address without its 32 IPv4 bits. */
    public static final long V4_MAPPED = 0x0000_ffff_0000_0000L;
    /** 0.0.0.0 (IPv4's unspecified address). */
    public static final IpAddress V4_ANY = v4(0);
    /** :: (IPv6's unspecified address). */
    public static final IpAddress V6_ANY = new IpAddress(0, 0);
    /** 127.0.0.1. */
    public static final IpAddress V4_LOOPBACK = v4(0x7f000001);
    /** ::1. */
    public static final IpAddress V6_LOOPBACK = new IpAddress(0, 1);

    private final long hi;
    private final long lo;

    private IpAddress(long hi, long lo) {
        this.hi = hi;
        this.lo = lo;
    }

    /** The address with these halves (an IPv4 one when they are IPv4-mapped). */
    public static IpAddress of(long hi, long lo) {
        return new IpAddress(hi, lo);
    }

    /** The IPv4 address {@code ip} (big-endian int). */
    public static IpAddress v4(int ip) {
        return new IpAddress(0, V4_MAPPED | (ip & 0xffff_ffffL));
    }

    /** The {@code lo} half of IPv4 address {@code ip}. */
    public static long mappedLo(int ip) {
        return V4_MAPPED | (ip & 0xffff_ffffL);
    }

    /** Whether the halves are those of an IPv4 (IPv4-mapped) address. */
    public static boolean isV4(long hi, long lo) {
        return hi == 0 && (lo >>> 32) == 0xffff;
    }

    /** The address of {@code a}; an IPv4-mapped {@link Inet6Address} never occurs (Java returns Inet4Address). */
    public static IpAddress of(InetAddress a) {
        byte[] b = a.getAddress();
        if (b.length == 4) {
            return v4(((b[0] & 0xff) << 24) | ((b[1] & 0xff) << 16) | ((b[2] & 0xff) << 8) | (b[3] & 0xff));
        }
        return new IpAddress(Ipv6.hi(b), Ipv6.lo(b));
    }

    /** The first 64 bits (0 for IPv4). */
    public long hi() {
        return hi;
    }

    /** The last 64 bits. */
    public long lo() {
        return lo;
    }

    /** Whether this is an IPv4 address. */
    public boolean isV4() {
        return isV4(hi, lo);
    }

    /** Whether this is an IPv6 address. */
    public boolean isV6() {
        return !isV4();
    }

    /** The IPv4 address as a big-endian int (meaningful only if {@link #isV4()}). */
    public int v4() {
        return (int) lo;
    }

    /** Whether this is the unspecified address of its family (0.0.0.0 or ::). */
    public boolean isAnyLocal() {
        return isV4() ? (int) lo == 0 : hi == 0 && lo == 0;
    }

    /** Whether this is a loopback address (127/8 or ::1). */
    public boolean isLoopback() {
        return isV4() ? ((int) lo >>> 24) == 127 : hi == 0 && lo == 1;
    }

    /** Whether this is a multicast address (224/4 or ff00::/8). */
    public boolean isMulticast() {
        return isV4() ? ((int) lo >>> 28) == 0xe : (hi >>> 56) == 0xff;
    }

    /** Whether the halves equal this address's. */
    public boolean equals(long hi, long lo) {
        return this.hi == hi && this.lo == lo;
    }

    /**
     * The pseudo-header sum for a transport checksum from {@code src} to {@code dst} (RFC 9293 §3.1 for IPv4,
     * RFC 8200 §8.1 for IPv6), unfolded as {@link Checksum#ipv4Pseudo}.
     */
    public static long pseudoHeaderSum(IpAddress src, IpAddress dst, int protocol, int length) {
        return src.isV4() ? Checksum.ipv4Pseudo(src.v4(), dst.v4(), protocol, length)
                : Checksum.ipv6Pseudo(src.hi, src.lo, dst.hi, dst.lo, protocol, length);
    }

    /** As {@link #pseudoHeaderSum(IpAddress, IpAddress, int, int)} for halves (IPv4 ones when mapped). */
    public static long pseudoHeaderSum(long srcHi, long srcLo, long dstHi, long dstLo, int protocol, int length) {
        return isV4(srcHi, srcLo) ? Checksum.ipv4Pseudo((int) srcLo, (int) dstLo, protocol, length)
                : Checksum.ipv6Pseudo(srcHi, srcLo, dstHi, dstLo, protocol, length);
    }

    /** The {@link InetAddress} (an {@link Inet4Address} for IPv4). */
    public InetAddress toInet() {
        try {
            if (isV4()) {
                int ip = (int) lo;
                return InetAddress.getByAddress(new byte[] {(byte) (ip >>> 24), (byte) (ip >>> 16),
                    (byte) (ip >>> 8), (byte) ip});
            }
            return InetAddress.getByAddress(Ipv6.toBytes(hi, lo));
        } catch (UnknownHostException e) {
            throw new AssertionError(e); // only thrown for a wrong length
        }
    }

    /** Text form: dotted quad for IPv4, RFC 5952 for IPv6. */
    public static String toString(long hi, long lo) {
        if (isV4(hi, lo)) {
            return Ipv4.toString((int) lo);
        }
        return Ipv6.toString(hi, lo); // RFC 5952
    }

    @Override
    public String toString() {
        return toString(hi, lo);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof IpAddress && ((IpAddress) o).hi == hi && ((IpAddress) o).lo == lo;
    }

    @Override
    public int hashCode() {
        long h = hi * 0x9E3779B97F4A7C15L + lo;
        return (int) (h ^ (h >>> 32));
    }
}
