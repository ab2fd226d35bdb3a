package io.usertcp.wire;

import io.netty.buffer.ByteBuf;

/**
 * Neighbor Discovery (RFC 4861) messages and options beyond what {@link Icmpv6} holds: router solicitation and
 * advertisement, neighbor solicitation and advertisement, redirect, and the source/target link-layer address,
 * prefix information and MTU options. Message offsets are relative to the ICMPv6 header, option offsets to the
 * option's first byte; types and lengths are the constants of {@link Icmpv6}. Writers leave the ICMPv6 checksum
 * to {@link Icmpv6#fillChecksum}, which needs the IPv6 addresses.
 */
public final class Ndp {
    /** Router advertisement flag M: addresses are available via DHCPv6 (RFC 4861 §4.2). */
    public static final int RA_MANAGED = 0x80;
    /** Router advertisement flag O: other configuration is available via DHCPv6. */
    public static final int RA_OTHER = 0x40;
    /** Prefix information flag L: the prefix is on-link (RFC 4861 §4.6.2). */
    public static final int PREFIX_ON_LINK = 0x80;
    /** Prefix information flag A: the prefix may be used for autonomous address configuration. */
    public static final int PREFIX_AUTONOMOUS = 0x40;
    /** Length of a source or target link-layer address option for Ethernet (RFC 2464 §6). */
    public static final int LINK_LAYER_OPTION_LENGTH = 8;
    /** Length of a prefix information option. */
    public static final int PREFIX_INFO_LENGTH = 32;
    /** Length of an MTU option. */
    public static final int MTU_OPTION_LENGTH = 8;
    /** Returned by {@link #findOption} when no option of the type is present. */
    public static final int ABSENT = -1;
    /** Returned by {@link #findOption} when the options are malformed: the message must be discarded. */
    public static final int MALFORMED = -2;

    private Ndp() {
    }

    // ------------------------------------------------------------------ messages: parse

    /** Cur Hop Limit of a router advertisement (0: unspecified). */
    public static int curHopLimit(ByteBuf b, int o) {
        return b.getUnsignedByte(o + 4);
    }

    /** The flags byte of a router advertisement ({@link #RA_MANAGED}, {@link #RA_OTHER}). */
    public static int routerFlags(ByteBuf b, int o) {
        return b.getUnsignedByte(o + 5);
    }

    /** Router Lifetime of a router advertisement, in seconds. */
    public static int routerLifetime(ByteBuf b, int o) {
        return b.getUnsignedShort(o + 6);
    }

    /** Reachable Time of a router advertisement, in milliseconds. */
    public static long reachableTime(ByteBuf b, int o) {
        return b.getUnsignedInt(o + 8);
    }

    /** Retrans Timer of a router advertisement, in milliseconds. */
    public static long retransTimer(ByteBuf b, int o) {
        return b.getUnsignedInt(o + 12);
    }

    /** The flags word of a neighbor advertisement ({@link Icmpv6#ROUTER}, {@link Icmpv6#SOLICITED}, ...). */
    public static int advertisementFlags(ByteBuf b, int o) {
        return b.getInt(o + 4);
    }

    /** First 8 bytes of the destination address of a redirect. */
    public static long redirectDestinationHi(ByteBuf b, int o) {
        return b.getLong(o + 24);
    }

    /** Last 8 bytes of the destination address of a redirect. */
    public static long redirectDestinationLo(ByteBuf b, int o) {
        return b.getLong(o + 32);
    }

    // ------------------------------------------------------------------ messages: emit

    /**
     * Writes a router solicitation, with a source link-layer address option unless {@code sourceMac} is negative
     * (RFC 4861 §4.1: none from the unspecified address).
     *
     * @return the message length
     */
    public static int writeRouterSolicitation(ByteBuf b, int o, long sourceMac) {
        Icmpv6.writeHeader(b, o, Icmpv6.ROUTER_SOLICIT, 0, 0);
        return Icmpv6.RS_LENGTH + linkLayer(b, o + Icmpv6.RS_LENGTH, Icmpv6.SOURCE_LL_ADDR, sourceMac);
    }

    /**
     * Writes the fixed part of a router advertisement; options go from {@code o + 16}.
     *
     * @return {@link Icmpv6#RA_LENGTH}
     */
    public static int writeRouterAdvertisement(ByteBuf b, int o, int curHopLimit, int flags, int routerLifetime,
                                               long reachableTime, long retransTimer) {
        Icmpv6.writeHeader(b, o, Icmpv6.ROUTER_ADVERT, 0,
                (curHopLimit & 0xff) << 24 | (flags & 0xff) << 16 | (routerLifetime & 0xffff));
        b.setInt(o + 8, (int) reachableTime);
        b.setInt(o + 12, (int) retransTimer);
        return Icmpv6.RA_LENGTH;
    }

    /**
     * Writes a neighbor solicitation for the target, with a source link-layer address option unless
     * {@code sourceMac} is negative (RFC 4861 §4.3).
     *
     * @return the message length
     */
    public static int writeNeighborSolicitation(ByteBuf b, int o, long targetHi, long targetLo, long sourceMac) {
        Icmpv6.writeHeader(b, o, Icmpv6.NEIGHBOR_SOLICIT, 0, 0);
        Ipv6.writeAddress(b, o + 8, targetHi, targetLo);
        return Icmpv6.NS_NA_LENGTH + linkLayer(b, o + Icmpv6.NS_NA_LENGTH, Icmpv6.SOURCE_LL_ADDR, sourceMac);
    }

    /**
     * Writes a neighbor advertisement with {@code flags} ({@link Icmpv6#ROUTER}, {@link Icmpv6#SOLICITED},
     * {@link Icmpv6#OVERRIDE}) for the target, with a target link-layer address option unless {@code targetMac}
     * is negative (RFC 4861 §4.4).
     *
     * @return the message length
     */
    public static int writeNeighborAdvertisement(ByteBuf b, int o, int flags, long targetHi, long targetLo,
                                                 long targetMac) {
        Icmpv6.writeHeader(b, o, Icmpv6.NEIGHBOR_ADVERT, 0, flags);
        Ipv6.writeAddress(b, o + 8, targetHi, targetLo);
        return Icmpv6.NS_NA_LENGTH + linkLayer(b, o + Icmpv6.NS_NA_LENGTH, Icmpv6.TARGET_LL_ADDR, targetMac);
    }

    /**
     * Writes the fixed part of a redirect (RFC 4861 §4.5): the better first hop (target) and the destination;
     * options go from {@code o + 40}.
     *
     * @return {@link Icmpv6#REDIRECT_LENGTH}
     */
    public static int writeRedirect(ByteBuf b, int o, long targetHi, long targetLo, long destinationHi,
                                    long destinationLo) {
        Icmpv6.writeHeader(b, o, Icmpv6.REDIRECT, 0, 0);
        Ipv6.writeAddress(b, o + 8, targetHi, targetLo);
        Ipv6.writeAddress(b, o + 24, destinationHi, destinationLo);
        return Icmpv6.REDIRECT_LENGTH;
    }

    private static int linkLayer(ByteBuf b, int p, int type, long mac) {
        return mac < 0 ? 0 : Icmpv6.writeLinkLayerOption(b, p, type, mac);
    }

    // ------------------------------------------------------------------ options

    /**
     * The index of the first option of {@code type} among the options at
     * {@code [optionsOffset, optionsOffset + optionsLength)}, {@link #ABSENT}, or {@link #MALFORMED} if any option
     * has length 0 or runs past the end (RFC 4861 §4.6; every option is checked, also after the one found).
     * Never reads outside the range or past the buffer's writer index. The option's own length is for the caller
     * to check (see {@link Icmpv6#linkLayerOption} for the link-layer ones).
     */
    public static int findOption(ByteBuf b, int optionsOffset, int optionsLength, int type) {
        if (optionsOffset < 0 || optionsLength < 0 || optionsLength > b.writerIndex() - optionsOffset) {
            return MALFORMED;
        }
        int end = optionsOffset + optionsLength;
        int found = ABSENT;
        int p = optionsOffset;
        while (p < end) {
            if (end - p < 2) {
                return MALFORMED;
            }
            int units = b.getUnsignedByte(p + 1);
            if (units == 0 || units * 8 > end - p) {
                return MALFORMED;
            }
            if (found == ABSENT && b.getUnsignedByte(p) == type) {
                found = p;
            }
            p += units * 8;
        }
        return found;
    }

    /** The type of the option at {@code p}. */
    public static int optionType(ByteBuf b, int p) {
        return b.getUnsignedByte(p);
    }

    /** The length of the option at {@code p} in bytes (the field counts 8-byte units). */
    public static int optionLength(ByteBuf b, int p) {
        return b.getUnsignedByte(p + 1) << 3;
    }

    /** The MAC of a link-layer address option at {@code p}. */
    public static long linkLayerAddress(ByteBuf b, int p) {
        return MacAddress.read(b, p + 2);
    }

    /** The MTU of an MTU option at {@code p} (RFC 4861 §4.6.4). */
    public static long mtu(ByteBuf b, int p) {
        return b.getUnsignedInt(p + 4);
    }

    /** Writes an MTU option at {@code p}; returns its length. */
    public static int writeMtuOption(ByteBuf b, int p, long mtu) {
        b.setByte(p, Icmpv6.MTU);
        b.setByte(p + 1, 1);
        b.setShort(p + 2, 0);
        b.setInt(p + 4, (int) mtu);
        return MTU_OPTION_LENGTH;
    }

    /** Prefix Length of a prefix information option at {@code p}: the leading bits of the prefix that count. */
    public static int prefixLength(ByteBuf b, int p) {
        return b.getUnsignedByte(p + 2);
    }

    /** The flags of a prefix information option ({@link #PREFIX_ON_LINK}, {@link #PREFIX_AUTONOMOUS}). */
    public static int prefixFlags(ByteBuf b, int p) {
        return b.getUnsignedByte(p + 3);
    }

    /** Valid Lifetime of a prefix information option, in seconds (all ones: infinity). */
    public static long validLifetime(ByteBuf b, int p) {
        return b.getUnsignedInt(p + 4);
    }

    /** Preferred Lifetime of a prefix information option, in seconds (all ones: infinity). */
    public static long preferredLifetime(ByteBuf b, int p) {
        return b.getUnsignedInt(p + 8);
    }

    /** First 8 bytes of the prefix of a prefix information option. */
    public static long prefixHi(ByteBuf b, int p) {
        return b.getLong(p + 16);
    }

    /** Last 8 bytes of the prefix of a prefix information option. */
    public static long prefixLo(ByteBuf b, int p) {
        return b.getLong(p + 24);
    }

    /** Writes a prefix information option at {@code p} (the reserved fields zero); returns its length. */
    public static int writePrefixInformation(ByteBuf b, int p, int prefixLength, int flags, long validLifetime,
                                             long preferredLifetime, long prefixHi, long prefixLo) {
        b.setByte(p, Icmpv6.PREFIX_INFO);
        b.setByte(p + 1, PREFIX_INFO_LENGTH >>> 3);
        b.setByte(p + 2, prefixLength);
        b.setByte(p + 3, flags);
        b.setInt(p + 4, (int) validLifetime);
        b.setInt(p + 8, (int) preferredLifetime);
        b.setInt(p + 12, 0);
        Ipv6.writeAddress(b, p + 16, prefixHi, prefixLo);
        return PREFIX_INFO_LENGTH;
    }
}
