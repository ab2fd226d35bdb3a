package io.usertcp.wire;

import io.netty.buffer.ByteBuf;

import java.net.Inet6Address;
import java.net.UnknownHostException;

/**
 * The IPv6 fixed header (RFC 8200 §3): offsets, accessors and a writer, and helpers over 128-bit addresses.
 *
 * <p>An address is held as two longs: {@code hi} is its first 8 bytes big-endian, {@code lo} its last 8 bytes,
 * so {@code fe80::1} is {@code hi = 0xfe80_0000_0000_0000L, lo = 1}.
 */
public final class Ipv6 {
    /** Length of the fixed header. */
    public static final int HEADER_LENGTH = 40;
    /** The version nibble of IPv6. */
    public static final int VERSION = 6;

    /** Next header: Hop-by-Hop Options (RFC 8200 §4.3). */
    public static final int HOP_BY_HOP = 0;
    /** Next header: TCP. */
    public static final int TCP = 6;
    /** Next header: UDP. */
    public static final int UDP = 17;
    /** Next header: Routing (RFC 8200 §4.4). */
    public static final int ROUTING = 43;
    /** Next header: Fragment (RFC 8200 §4.5). */
    public static final int FRAGMENT = 44;
    /** Next header: ICMPv6 (RFC 4443). */
    public static final int ICMPV6 = 58;
    /** Next header: No Next Header (RFC 8200 §4.7). */
    public static final int NO_NEXT_HEADER = 59;
    /** Next header: Destination Options (RFC 8200 §4.6). */
    public static final int DESTINATION_OPTIONS = 60;

    /** Offset of the payload length field. */
    public static final int PAYLOAD_LENGTH = 4;
    /** Offset of the next header field. */
    public static final int NEXT_HEADER = 6;
    /** Offset of the hop limit field. */
    public static final int HOP_LIMIT = 7;
    /** Offset of the source address. */
    public static final int SRC = 8;
    /** Offset of the destination address. */
    public static final int DST = 24;

    /** The high half of every link-local unicast address made by {@link #linkLocalFromMac} (fe80::/64). */
    public static final long LINK_LOCAL_HI = 0xfe80_0000_0000_0000L;
    /** The high half of the link-local all-nodes and all-routers groups (ff02::). */
    public static final long LINK_SCOPE_MULTICAST_HI = 0xff02_0000_0000_0000L;
    /** The low half of ff02::1, the link-local all-nodes group (RFC 4291 §2.7.1). */
    public static final long ALL_NODES_LO = 1;
    /** The low half of ff02::2, the link-local all-routers group (RFC 4291 §2.7.1). */
    public static final long ALL_ROUTERS_LO = 2;
    /** The high half of every solicited-node multicast address (ff02::1:ff00:0/104). */
    public static final long SOLICITED_NODE_HI = LINK_SCOPE_MULTICAST_HI;

    private static final long SOLICITED_NODE_PREFIX_LO = 0x0000_0001_ff00_0000L;

    private Ipv6() {
    }

    /** The version nibble. */
    public static int version(ByteBuf b, int o) {
        return b.getUnsignedByte(o) >>> 4;
    }

    /** The traffic class (8 bits straddling the first two bytes). */
    public static int trafficClass(ByteBuf b, int o) {
        return (b.getUnsignedShort(o) >>> 4) & 0xff;
    }

    /** The 20-bit flow label. */
    public static int flowLabel(ByteBuf b, int o) {
        return b.getInt(o) & 0xf_ffff;
    }

    /** Payload length: the bytes after the fixed header, extension headers included. */
    public static int payloadLength(ByteBuf b, int o) {
        return b.getUnsignedShort(o + PAYLOAD_LENGTH);
    }

    /** Next header: the type of the header after the fixed header. */
    public static int nextHeader(ByteBuf b, int o) {
        return b.getUnsignedByte(o + NEXT_HEADER);
    }

    /** Hop limit. */
    public static int hopLimit(ByteBuf b, int o) {
        return b.getUnsignedByte(o + HOP_LIMIT);
    }

    /** First 8 bytes of the source address. */
    public static long srcHi(ByteBuf b, int o) {
        return b.getLong(o + SRC);
    }

    /** Last 8 bytes of the source address. */
    public static long srcLo(ByteBuf b, int o) {
        return b.getLong(o + SRC + 8);
    }

    /** First 8 bytes of the destination address. */
    public static long dstHi(ByteBuf b, int o) {
        return b.getLong(o + DST);
    }

    /** Last 8 bytes of the destination address. */
    public static long dstLo(ByteBuf b, int o) {
        return b.getLong(o + DST + 8);
    }

    /** Writes the 16 bytes of an address at {@code index}. */
    public static void writeAddress(ByteBuf b, int index, long hi, long lo) {
        b.setLong(index, hi);
        b.setLong(index + 8, lo);
    }

    /** Writes the fixed header with flow label 0 (RFC 6437 allows a source not to label its flows). */
    public static void write(ByteBuf b, int o, int trafficClass, int payloadLength, int nextHeader, int hopLimit,
                             long srcHi, long srcLo, long dstHi, long dstLo) {
        writeHeader(b, o, trafficClass, 0, payloadLength, nextHeader, hopLimit, srcHi, srcLo, dstHi, dstLo);
    }

    /** Writes the fixed header with every field given. */
    public static void writeHeader(ByteBuf b, int o, int trafficClass, int flowLabel, int payloadLength,
                                   int nextHeader, int hopLimit, long srcHi, long srcLo, long dstHi, long dstLo) {
        b.setInt(o, (VERSION << 28) | ((trafficClass & 0xff) << 20) | (flowLabel & 0xf_ffff));
        b.setShort(o + PAYLOAD_LENGTH, payloadLength);
        b.setByte(o + NEXT_HEADER, nextHeader);
        b.setByte(o + HOP_LIMIT, hopLimit);
        writeAddress(b, o + SRC, srcHi, srcLo);
        writeAddress(b, o + DST, dstHi, dstLo);
    }

    // ------------------------------------------------------------------ addresses

    /** True for a multicast address, ff00::/8 (RFC 4291 §2.7). */
    public static boolean isMulticast(long hi) {
        return (hi >>> 56) == 0xff;
    }

    /** True for a link-local unicast address, fe80::/10 (RFC 4291 §2.5.6). */
    public static boolean isLinkLocal(long hi) {
        return (hi & 0xffc0_0000_0000_0000L) == LINK_LOCAL_HI;
    }

    /** True for the unspecified address {@code ::} (RFC 4291 §2.5.2). */
    public static boolean isUnspecified(long hi, long lo) {
        return hi == 0 && lo == 0;
    }

    /** True for the loopback address {@code ::1} (RFC 4291 §2.5.3). */
    public static boolean isLoopback(long hi, long lo) {
        return hi == 0 && lo == 1;
    }

    /** True for an IPv4-mapped address {@code ::ffff:a.b.c.d} (RFC 4291 §2.5.5.2). */
    public static boolean isV4Mapped(long hi, long lo) {
        return hi == 0 && (lo >>> 32) == 0xffff;
    }

    /** True for a solicited-node multicast address, ff02::1:ff00:0/104 (RFC 4291 §2.7.1). */
    public static boolean isSolicitedNode(long hi, long lo) {
        return hi == SOLICITED_NODE_HI && (lo & 0xffff_ffff_ff00_0000L) == SOLICITED_NODE_PREFIX_LO;
    }

    /**
     * The high half of the solicited-node multicast address of an address whose low half is {@code lo}: always
     * ff02:: ({@link #SOLICITED_NODE_HI}); taking {@code lo} keeps call sites symmetrical with
     * {@link #solicitedNodeLo(long)}.
     */
    public static long solicitedNodeHi(long lo) {
        return SOLICITED_NODE_HI;
    }

    /**
     * The low half of the solicited-node multicast address ff02::1:ffXX:XXXX, formed from the low 24 bits of an
     * address (RFC 4291 §2.7.1).
     */
    public static long solicitedNodeLo(long lo) {
        return SOLICITED_NODE_PREFIX_LO | (lo & 0xff_ffffL);
    }

    /**
     * The Ethernet address a multicast IPv6 address is sent to: 33:33 followed by the last 32 bits of the
     * address (RFC 2464 §7), as a 48-bit MAC in a long.
     */
    public static long multicastMac(long hi, long lo) {
        return 0x3333_0000_0000L | (lo & 0xffff_ffffL);
    }

    /**
     * The low half (interface identifier) of the link-local address fe80::/64 formed from a 48-bit MAC: the
     * modified EUI-64, with ff:fe inserted in the middle and the universal/local bit inverted (RFC 4291 appendix
     * A, RFC 2464 §4). The high half is {@link #LINK_LOCAL_HI}.
     */
    public static long linkLocalFromMac(long mac) {
        long oui = (mac >>> 24) & 0xff_ffffL;
        long nic = mac & 0xff_ffffL;
        return ((oui << 40) | (0xfffeL << 24) | nic) ^ 0x0200_0000_0000_0000L;
    }

    /** The first 8 bytes of a 16-byte address, big-endian. */
    public static long hi(byte[] address) {
        checkLength(address);
        return readLong(address, 0);
    }

    /** The last 8 bytes of a 16-byte address, big-endian. */
    public static long lo(byte[] address) {
        checkLength(address);
        return readLong(address, 8);
    }

    /** The first 8 bytes of {@code a}. */
    public static long hi(Inet6Address a) {
        return readLong(a.getAddress(), 0);
    }

    /** The last 8 bytes of {@code a}. */
    public static long lo(Inet6Address a) {
        return readLong(a.getAddress(), 8);
    }

    /** The 16 bytes of an address. */
    public static byte[] toBytes(long hi, long lo) {
        byte[] a = new byte[16];
        for (int i = 0; i < 8; i++) {
            a[i] = (byte) (hi >>> (56 - 8 * i));
            a[8 + i] = (byte) (lo >>> (56 - 8 * i));
        }
        return a;
    }

    /**
     * The address as an {@link Inet6Address}, without a scope. IPv4-mapped addresses stay {@code Inet6Address}
     * (unlike {@code InetAddress.getByAddress}, which turns them into {@code Inet4Address}).
     */
    public static Inet6Address toInet(long hi, long lo) {
        try {
            return Inet6Address.getByAddress(null, toBytes(hi, lo), -1);
        } catch (UnknownHostException e) {
            throw new AssertionError("16 bytes are always an IPv6 address", e);
        }
    }

    /**
     * The RFC 5952 text of an address: lower-case hex without leading zeros, the longest run of two or more zero
     * groups (the first, if several are equally long) shortened to {@code ::}, and IPv4-mapped addresses in
     * mixed notation ({@code ::ffff:192.0.2.1}, §5).
     */
    public static String toString(long hi, long lo) {
        if (isV4Mapped(hi, lo)) {
            return "::ffff:" + Ipv4.toString((int) lo);
        }
        int[] g = new int[8];
        for (int i = 0; i < 4; i++) {
            g[i] = (int) (hi >>> (48 - 16 * i)) & 0xffff;
            g[4 + i] = (int) (lo >>> (48 - 16 * i)) & 0xffff;
        }
        int bestStart = -1;
        int bestLen = 0;
        for (int i = 0; i < 8; ) {
            if (g[i] != 0) {
                i++;
                continue;
            }
            int j = i;
            while (j < 8 && g[j] == 0) {
                j++;
            }
            if (j - i >= 2 && j - i > bestLen) { // §4.2.2: never one group; §4.2.3: first of equals
                bestStart = i;
                bestLen = j - i;
            }
            i = j;
        }
        StringBuilder sb = new StringBuilder(39);
        for (int i = 0; i < 8; i++) {
            if (i == bestStart) {
                sb.append("::");
                i += bestLen - 1;
                continue;
            }
            if (i > 0 && i != bestStart + bestLen) {
                sb.append(':');
            }
            sb.append(Integer.toHexString(g[i]));
        }
        return sb.toString();
    }

    private static void checkLength(byte[] address) {
        if (address.length != 16) {
            throw new IllegalArgumentException("an IPv6 address has 16 bytes, got " + address.length);
        }
    }

    private static long readLong(byte[] a, int from) {
        long v = 0;
        for (int i = from; i < from + 8; i++) {
            v = (v << 8) | (a[i] & 0xff);
        }
        return v;
    }
}
