package io.usertcp.wire;

import io.netty.buffer.ByteBuf;

import java.util.concurrent.ThreadLocalRandom;

/**
 * A 48-bit IEEE 802 MAC address, held in the low 48 bits of a long (first octet most significant).
 */
public final class MacAddress {
    /** ff:ff:ff:ff:ff:ff. */
    public static final MacAddress BROADCAST = new MacAddress(0xffff_ffff_ffffL);
    /** 00:00:00:00:00:00. */
    public static final MacAddress ZERO = new MacAddress(0L);

    private final long bits;

    private MacAddress(long bits) {
        this.bits = bits & 0xffff_ffff_ffffL;
    }

    /** The address with these 48 bits. */
    public static MacAddress of(long bits) {
        return new MacAddress(bits);
    }

    /** The address from six octets. */
    public static MacAddress of(byte[] octets) {
        if (octets.length != 6) {
            throw new IllegalArgumentException("a MAC address has 6 octets, got " + octets.length);
        }
        long v = 0;
        for (byte b : octets) {
            v = (v << 8) | (b & 0xff);
        }
        return new MacAddress(v);
    }

    /**
     * Parses {@code 02:00:5e:10:00:01}: six octets of one or two ASCII hex digits, separated by colons or dashes,
     * with nothing else but surrounding white space ({@link String#trim}).
     *
     * @throws IllegalArgumentException naming the text when it is not a MAC address
     */
    public static MacAddress parse(String text) {
        // A limit of -1 keeps trailing empty parts: "02:00:5e:10:00:01:" has seven, not six.
        String[] parts = text.trim().split("[:-]", -1);
        if (parts.length != 6) {
            throw new IllegalArgumentException("not a MAC address: '" + text + "' (expected six hex octets such as 02:00:5e:10:00:01)");
        }
        long v = 0;
        for (String p : parts) {
            // Integer.parseInt alone would also take a sign ("+2") and digits of other scripts (Arabic-Indic).
            if (p.isEmpty() || p.length() > 2 || !isHexDigit(p.charAt(0)) || !isHexDigit(p.charAt(p.length() - 1))) {
                throw new IllegalArgumentException("not a MAC address: '" + text + "' (each octet is one or two hex"
                        + " digits, as in 02:00:5e:10:00:01)");
            }
            v = (v << 8) | Integer.parseInt(p, 16);
        }
        return new MacAddress(v);
    }

    private static boolean isHexDigit(char c) {
        return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
    }

    /** A random unicast, locally administered address (first octet x2, x6, xA or xE). */
    public static MacAddress randomLocal() {
        long v = ThreadLocalRandom.current().nextLong() & 0xffff_ffff_ffffL;
        v &= ~(0x01L << 40); // unicast
        v |= 0x02L << 40;    // locally administered
        return new MacAddress(v);
    }

    /** The address as a long. */
    public long toLong() {
        return bits;
    }

    /** The six octets. */
    public byte[] toBytes() {
        byte[] b = new byte[6];
        for (int i = 0; i < 6; i++) {
            b[i] = (byte) (bits >>> (40 - 8 * i));
        }
        return b;
    }

    /** True for a group (multicast or broadcast) address. */
    public boolean isMulticast() {
        return (bits & (0x01L << 40)) != 0;
    }

    /** Reads six octets at {@code index} as a long. */
    public static long read(ByteBuf buf, int index) {
        return ((long) buf.getUnsignedShort(index) << 32) | buf.getUnsignedInt(index + 2);
    }

    /** Writes the low 48 bits of {@code mac} at {@code index}. */
    public static void write(ByteBuf buf, int index, long mac) {
        buf.setShort(index, (int) (mac >>> 32));
        buf.setInt(index + 2, (int) mac);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof MacAddress && ((MacAddress) o).bits == bits;
    }

    @Override
    public int hashCode() {
        return Long.hashCode(bits);
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder(17);
        for (int i = 0; i < 6; i++) {
            if (i > 0) {
                sb.append(':');
            }
            int o = (int) (bits >>> (40 - 8 * i)) & 0xff;
            sb.append(Character.forDigit(o >> 4, 16)).append(Character.forDigit(o & 0xf, 16));
        }
        return sb.toString();
    }
}
