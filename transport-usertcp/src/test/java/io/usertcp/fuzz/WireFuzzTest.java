package io.usertcp.fuzz;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.CompositeByteBuf;
import io.netty.buffer.Unpooled;
import io.usertcp.wire.Arp;
import io.usertcp.wire.Checksum;
import io.usertcp.wire.Ethernet;
import io.usertcp.wire.Icmpv4;
import io.usertcp.wire.Icmpv6;
import io.usertcp.wire.IpAddress;
import io.usertcp.wire.Ipv4;
import io.usertcp.wire.Ipv6;
import io.usertcp.wire.Ipv6Extensions;
import io.usertcp.wire.MacAddress;
import io.usertcp.wire.Tcp;
import io.usertcp.wire.TcpOptions;
import io.usertcp.wire.Udp;
import io.usertcp.wire.VirtioNetHeader;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.regex.Pattern;

import static io.usertcp.fuzz.Frames.i32;
import static io.usertcp.fuzz.Frames.u16;
import static io.usertcp.fuzz.Frames.u8;

/**
 * Coverage-guided fuzz targets for the parsers of {@code io.usertcp.wire}, one per class. Each checks what the
 * class promises, against an independent decoding of the same bytes: accessors read the right bits (and writers
 * write back what was read), the bounded walks ({@link Ipv6Extensions}, {@link TcpOptions},
 * {@link Icmpv6#linkLayerOption}) never throw, never look outside the range they are given and agree with a
 * reference reading of the RFC, the checksum agrees with a plain RFC 1071 sum on every kind of buffer, and the
 * address types' text forms parse back (RFC 5952 for IPv6). ({@link Icmpv4} has no parser, only constants and
 * {@link Icmpv4#isError}, which the {@code ipv4} target checks; the stack's ICMPv4 parsing is fuzzed by
 * {@link StackInputFuzzTest}.)
 *
 * <p>Regression mode replays {@code src/test/resources/io/usertcp/fuzz/WireFuzzTestInputs/<target>/}; see the
 * README in this package for fuzzing mode.
 */
class WireFuzzTest {

    private static void check(boolean ok, String what, byte[] input) {
        if (!ok) {
            throw new AssertionError(what + " (input " + HexFormat.of().formatHex(input) + ")");
        }
    }

    private static long mac(byte[] b, int i) {
        return ((long) u16(b, i) << 32) | (i32(b, i + 2) & 0xffff_ffffL);
    }

    private static long long64(byte[] b, int i) {
        return ((long) i32(b, i) << 32) | (i32(b, i + 4) & 0xffff_ffffL);
    }

    private static byte[] bytes(ByteBuf b, int from, int len) {
        byte[] out = new byte[len];
        b.getBytes(from, out);
        return out;
    }

    // ------------------------------------------------------------------ headers

    @FuzzTest(maxDuration = "2m")
    void ethernet(byte[] d) {
        if (d.length < Ethernet.HEADER_LENGTH) {
            return;
        }
        int base = d[0] & 7;
        ByteBuf b = Unpooled.buffer(base + d.length).writeZero(base).writeBytes(d);
        check(Ethernet.dst(b, base) == mac(d, 0), "Ethernet.dst", d);
        check(Ethernet.src(b, base) == mac(d, 6), "Ethernet.src", d);
        check(Ethernet.type(b, base) == u16(d, 12), "Ethernet.type", d);
        ByteBuf w = Unpooled.buffer(base + 14).writeZero(base + 14);
        Ethernet.write(w, base, Ethernet.dst(b, base), Ethernet.src(b, base), Ethernet.type(b, base));
        check(Arrays.equals(bytes(w, base, 14), Arrays.copyOf(d, 14)), "Ethernet.write(read) != the bytes", d);
        MacAddress m = MacAddress.of(mac(d, 0));
        check(MacAddress.parse(m.toString()).equals(m), "MacAddress text round trip " + m, d);
        check(m.isMulticast() == ((d[0] & 1) != 0), "MacAddress.isMulticast (I/G bit)", d);
        check(Arrays.equals(m.toBytes(), Arrays.copyOf(d, 6)), "MacAddress.toBytes", d);
    }

    @FuzzTest(maxDuration = "2m")
    void arp(byte[] d) {
        if (d.length < Arp.LENGTH) {
            return;
        }
        ByteBuf b = Unpooled.wrappedBuffer(d);
        boolean ethIpv4 = u16(d, 0) == 1 && u16(d, 2) == 0x0800 && u8(d, 4) == 6 && u8(d, 5) == 4;
        check(Arp.isEthernetIpv4(b, 0) == ethIpv4, "Arp.isEthernetIpv4", d);
        check(Arp.op(b, 0) == u16(d, 6), "Arp.op", d);
        check(Arp.sha(b, 0) == mac(d, 8), "Arp.sha", d);
        check(Arp.spa(b, 0) == i32(d, 14), "Arp.spa", d);
        check(Arp.tha(b, 0) == mac(d, 18), "Arp.tha", d);
        check(Arp.tpa(b, 0) == i32(d, 24), "Arp.tpa", d);
        ByteBuf w = Unpooled.buffer(Arp.LENGTH).writeZero(Arp.LENGTH);
        Arp.write(w, 0, Arp.op(b, 0), Arp.sha(b, 0), Arp.spa(b, 0), Arp.tha(b, 0), Arp.tpa(b, 0));
        byte[] written = bytes(w, 0, Arp.LENGTH);
        check(Arrays.equals(Arrays.copyOfRange(written, 6, 28), Arrays.copyOfRange(d, 6, 28)), "Arp.write(read)", d);
        check(Arp.isEthernetIpv4(w, 0), "Arp.write writes Ethernet/IPv4", d);
        check(!ethIpv4 || Arrays.equals(written, Arrays.copyOf(d, 28)), "Arp.write(read) of an Ethernet/IPv4 packet",
                d);
    }

    @FuzzTest(maxDuration = "2m")
    void ipv4(byte[] d) throws UnknownHostException {
        if (d.length < Ipv4.MIN_HEADER_LENGTH) {
            return;
        }
        ByteBuf b = Unpooled.wrappedBuffer(d);
        check(Ipv4.version(b, 0) == (u8(d, 0) >>> 4), "Ipv4.version", d);
        check(Ipv4.headerLength(b, 0) == (u8(d, 0) & 15) * 4, "Ipv4.headerLength", d);
        check(Ipv4.totalLength(b, 0) == u16(d, 2), "Ipv4.totalLength", d);
        check(Ipv4.id(b, 0) == u16(d, 4), "Ipv4.id", d);
        check(Ipv4.flagsFragment(b, 0) == u16(d, 6), "Ipv4.flagsFragment", d);
        check(Ipv4.fragmentOffset(b, 0) == (u16(d, 6) & 0x1fff) * 8, "Ipv4.fragmentOffset", d);
        check(Ipv4.ttl(b, 0) == u8(d, 8), "Ipv4.ttl", d);
        check(Ipv4.protocol(b, 0) == u8(d, 9), "Ipv4.protocol", d);
        check(Ipv4.src(b, 0) == i32(d, 12), "Ipv4.src", d);
        check(Ipv4.dst(b, 0) == i32(d, 16), "Ipv4.dst", d);
        ByteBuf w = Unpooled.buffer(20).writeZero(20);
        Ipv4.writeHeader(w, 0, u8(d, 1), Ipv4.totalLength(b, 0), Ipv4.id(b, 0), Ipv4.flagsFragment(b, 0),
                Ipv4.ttl(b, 0), Ipv4.protocol(b, 0), Ipv4.src(b, 0), Ipv4.dst(b, 0));
        byte[] written = bytes(w, 0, 20);
        check(Checksum.fold(Checksum.add(w, 0, 20, 0)) == 0xffff, "Ipv4.writeHeader's checksum does not verify", d);
        written[10] = d[10];
        written[11] = d[11];
        byte[] expected = Arrays.copyOf(d, 20);
        expected[0] = 0x45;
        check(Arrays.equals(written, expected), "Ipv4.writeHeader(read)", d);
        Ipv4.write(w, 0, u16(d, 2), u16(d, 4), u8(d, 8), u8(d, 9), i32(d, 12), i32(d, 16), (d[6] & 0x40) != 0);
        check(Checksum.fold(Checksum.add(w, 0, 20, 0)) == 0xffff, "Ipv4.write's checksum does not verify", d);
        check(Ipv4.flagsFragment(w, 0) == ((d[6] & 0x40) != 0 ? Ipv4.FLAG_DF : 0), "Ipv4.write's DF", d);
        InetAddress a = InetAddress.getByAddress(Arrays.copyOfRange(d, 12, 16));
        check(Ipv4.toString(Ipv4.src(b, 0)).equals(a.getHostAddress()), "Ipv4.toString", d);
        int type = u8(d, 9);
        check(Icmpv4.isError(type) == (type == 3 || type == 4 || type == 5 || type == 11 || type == 12),
                "Icmpv4.isError (RFC 1122 §3.2.2)", d);
    }

    @FuzzTest(maxDuration = "2m")
    void ipv6(byte[] d) throws UnknownHostException {
        if (d.length < Ipv6.HEADER_LENGTH) {
            return;
        }
        ByteBuf b = Unpooled.wrappedBuffer(d);
        check(Ipv6.version(b, 0) == (u8(d, 0) >>> 4), "Ipv6.version", d);
        check(Ipv6.trafficClass(b, 0) == ((u16(d, 0) >>> 4) & 0xff), "Ipv6.trafficClass", d);
        check(Ipv6.flowLabel(b, 0) == (i32(d, 0) & 0xfffff), "Ipv6.flowLabel", d);
        check(Ipv6.payloadLength(b, 0) == u16(d, 4), "Ipv6.payloadLength", d);
        check(Ipv6.nextHeader(b, 0) == u8(d, 6), "Ipv6.nextHeader", d);
        check(Ipv6.hopLimit(b, 0) == u8(d, 7), "Ipv6.hopLimit", d);
        long sh = long64(d, 8);
        long sl = long64(d, 16);
        check(Ipv6.srcHi(b, 0) == sh && Ipv6.srcLo(b, 0) == sl, "Ipv6.src", d);
        check(Ipv6.dstHi(b, 0) == long64(d, 24) && Ipv6.dstLo(b, 0) == long64(d, 32), "Ipv6.dst", d);
        ByteBuf w = Unpooled.buffer(40).writeZero(40);
        Ipv6.writeHeader(w, 0, Ipv6.trafficClass(b, 0), Ipv6.flowLabel(b, 0), Ipv6.payloadLength(b, 0),
                Ipv6.nextHeader(b, 0), Ipv6.hopLimit(b, 0), sh, sl, Ipv6.dstHi(b, 0), Ipv6.dstLo(b, 0));
        byte[] expected = Arrays.copyOf(d, 40);
        expected[0] = (byte) (0x60 | (d[0] & 0x0f));
        check(Arrays.equals(bytes(w, 0, 40), expected), "Ipv6.writeHeader(read)", d);
        address6(sh, sl, Arrays.copyOfRange(d, 8, 24), d);
    }

    /** The address helpers of {@link Ipv6} on one address. */
    private static void address6(long hi, long lo, byte[] raw, byte[] d) throws UnknownHostException {
        check(Arrays.equals(Ipv6.toBytes(hi, lo), raw), "Ipv6.toBytes", d);
        check(Ipv6.hi(raw) == hi && Ipv6.lo(raw) == lo, "Ipv6.hi/lo(byte[])", d);
        check(Arrays.equals(Ipv6.toInet(hi, lo).getAddress(), raw), "Ipv6.toInet", d);
        check(Ipv6.isMulticast(hi) == ((raw[0] & 0xff) == 0xff), "Ipv6.isMulticast", d);
        check(Ipv6.isLinkLocal(hi) == ((raw[0] & 0xff) == 0xfe && (raw[1] & 0xc0) == 0x80), "Ipv6.isLinkLocal", d);
        boolean zero10 = true;
        for (int i = 0; i < 10; i++) {
            zero10 &= raw[i] == 0;
        }
        check(Ipv6.isV4Mapped(hi, lo) == (zero10 && raw[10] == -1 && raw[11] == -1), "Ipv6.isV4Mapped", d);
        check(Ipv6.isSolicitedNode(Ipv6.solicitedNodeHi(lo), Ipv6.solicitedNodeLo(lo)), "Ipv6.solicitedNode", d);
        check((Ipv6.solicitedNodeLo(lo) & 0xff_ffffL) == (lo & 0xff_ffffL), "Ipv6.solicitedNodeLo keeps 24 bits", d);
        check(Ipv6.multicastMac(hi, lo) == (0x3333_0000_0000L | (lo & 0xffff_ffffL)), "Ipv6.multicastMac", d);
        long m = mac(raw, 0);
        byte[] iid = Ipv6.toBytes(0, Ipv6.linkLocalFromMac(m));
        byte[] eui = {(byte) (raw[0] ^ 2), raw[1], raw[2], (byte) 0xff, (byte) 0xfe, raw[3], raw[4], raw[5]};
        check(Arrays.equals(Arrays.copyOfRange(iid, 8, 16), eui), "Ipv6.linkLocalFromMac (modified EUI-64)", d);
        String text = Ipv6.toString(hi, lo);
        rfc5952(text, hi, lo, d);
        check(IpAddress.of(hi, lo).toString().equals(Ipv6.isV4Mapped(hi, lo) ? Ipv4.toString((int) lo) : text),
                "IpAddress.toString", d);
    }

    /** RFC 5952 §4: the text parses back, is lower case, has no leading zeros, and shortens the longest zero run. */
    private static void rfc5952(String text, long hi, long lo, byte[] d) throws UnknownHostException {
        check(text.matches("[0-9a-f:.]+"), "Ipv6.toString charset: " + text, d);
        InetAddress back = InetAddress.getByName(text); // a literal: no name lookup
        byte[] raw = Ipv6.toBytes(hi, lo);
        byte[] got = back.getAddress();
        if (back instanceof Inet4Address) {
            check(Ipv6.isV4Mapped(hi, lo) && Arrays.equals(got, Arrays.copyOfRange(raw, 12, 16)),
                    "Ipv6.toString parses back: " + text, d);
            return;
        }
        check(Arrays.equals(got, raw), "Ipv6.toString parses back: " + text, d);
        if (Ipv6.isV4Mapped(hi, lo)) {
            return;
        }
        check(text.indexOf("::") == text.lastIndexOf("::"), "one :: at most: " + text, d);
        int longest = 0;
        for (int i = 0, run = 0; i < 8; i++) {
            run = u16(raw, 2 * i) == 0 ? run + 1 : 0;
            longest = Math.max(longest, run);
        }
        String[] groups = text.split(":", -1);
        int written = 0;
        for (String g : groups) {
            if (!g.isEmpty()) {
                check(g.length() == 1 || g.charAt(0) != '0', "no leading zeros (§4.1): " + text, d);
                written++;
            }
        }
        check(longest >= 2 ? written == 8 - longest : written == 8 && !text.contains("::"),
                "the longest run of zero groups is shortened (§4.2): " + text, d);
    }

    @FuzzTest(maxDuration = "2m")
    void tcp(byte[] d) {
        if (d.length < Tcp.MIN_HEADER_LENGTH) {
            return;
        }
        ByteBuf b = Unpooled.wrappedBuffer(d);
        check(Tcp.srcPort(b, 0) == u16(d, 0) && Tcp.dstPort(b, 0) == u16(d, 2), "Tcp ports", d);
        check(Tcp.seq(b, 0) == i32(d, 4) && Tcp.ack(b, 0) == i32(d, 8), "Tcp.seq/ack", d);
        check(Tcp.headerLength(b, 0) == (u8(d, 12) >>> 4) * 4, "Tcp.headerLength", d);
        check(Tcp.flags(b, 0) == u8(d, 13), "Tcp.flags", d);
        check(Tcp.window(b, 0) == u16(d, 14) && Tcp.checksum(b, 0) == u16(d, 16), "Tcp.window/checksum", d);
        ByteBuf w = Unpooled.buffer(20).writeZero(20);
        Tcp.writeHeader(w, 0, Tcp.srcPort(b, 0), Tcp.dstPort(b, 0), Tcp.seq(b, 0), Tcp.ack(b, 0),
                Tcp.headerLength(b, 0), Tcp.flags(b, 0), Tcp.window(b, 0));
        byte[] expected = Arrays.copyOf(d, 20);
        expected[12] &= (byte) 0xf0;
        Arrays.fill(expected, 16, 20, (byte) 0);
        check(Arrays.equals(bytes(w, 0, 20), expected), "Tcp.writeHeader(read)", d);
        String s = Tcp.flagsToString(u8(d, 13));
        int f = u8(d, 13);
        check(s.contains("S") == ((f & Tcp.SYN) != 0) && s.contains("F") == ((f & Tcp.FIN) != 0)
                && s.contains("R") == ((f & Tcp.RST) != 0) && s.contains(".") == ((f & Tcp.ACK) != 0),
                "Tcp.flagsToString " + s, d);
    }

    @FuzzTest(maxDuration = "2m")
    void udp(byte[] d) {
        if (d.length < Udp.HEADER_LENGTH) {
            return;
        }
        ByteBuf b = Unpooled.wrappedBuffer(d);
        check(Udp.srcPort(b, 0) == u16(d, 0) && Udp.dstPort(b, 0) == u16(d, 2), "Udp ports", d);
        check(Udp.length(b, 0) == u16(d, 4) && Udp.checksum(b, 0) == u16(d, 6), "Udp.length/checksum", d);
        ByteBuf w = Unpooled.buffer(8).writeZero(8);
        Udp.writeHeader(w, 0, Udp.srcPort(b, 0), Udp.dstPort(b, 0), Udp.length(b, 0), Udp.checksum(b, 0));
        check(Arrays.equals(bytes(w, 0, 8), Arrays.copyOf(d, 8)), "Udp.writeHeader(read)", d);
    }

    @FuzzTest(maxDuration = "2m")
    void virtioNetHeader(byte[] d) {
        if (d.length < VirtioNetHeader.LENGTH) {
            return;
        }
        ByteBuf b = Unpooled.wrappedBuffer(d);
        check(VirtioNetHeader.flags(b, 0) == u8(d, 0), "VirtioNetHeader.flags", d);
        check(VirtioNetHeader.gsoType(b, 0) == u8(d, 1), "VirtioNetHeader.gsoType", d);
        check(VirtioNetHeader.gsoSize(b, 0) == (u8(d, 4) | u8(d, 5) << 8), "VirtioNetHeader.gsoSize (little-endian)",
                d);
        ByteBuf w = Unpooled.buffer(10).writeZero(10);
        int hdrLen = u8(d, 2) | u8(d, 3) << 8;
        int start = u8(d, 6) | u8(d, 7) << 8;
        int offset = u8(d, 8) | u8(d, 9) << 8;
        VirtioNetHeader.writePartial(w, 0, start, offset, u8(d, 1), VirtioNetHeader.gsoSize(b, 0), hdrLen);
        byte[] expected = Arrays.copyOf(d, 10);
        expected[0] = VirtioNetHeader.F_NEEDS_CSUM;
        check(Arrays.equals(bytes(w, 0, 10), expected), "VirtioNetHeader.writePartial(read)", d);
        VirtioNetHeader.writeNone(w, 0);
        check(Arrays.equals(bytes(w, 0, 10), new byte[10]), "VirtioNetHeader.writeNone", d);
    }

    // ------------------------------------------------------------------ the walks

    /**
     * {@link Ipv6Extensions#walk}: input = prefix:u8 (garbage before the header, 0-31 bytes), mode:u8, length:u16,
     * then the buffer. Mode bit 0: the payload length is the header's, else the u16 (maybe beyond the buffer).
     */
    @FuzzTest(maxDuration = "3m")
    void ipv6Extensions(byte[] d) {
        FuzzInput in = new FuzzInput(d);
        int ipo = in.u8() & 31;
        int mode = in.u8();
        int given = in.u16();
        byte[] packet = in.rest();
        byte[] buf = Frames.concat(Frames.pattern(ipo, 3), packet);
        ByteBuf b = Unpooled.wrappedBuffer(buf);
        int payloadLength = (mode & 1) != 0 && packet.length >= 6 ? u16(packet, 4) : given;
        Ipv6Extensions.Walk w = new Ipv6Extensions.Walk();
        boolean ok = Ipv6Extensions.walk(b, ipo, payloadLength, w);
        check(ok == (w.error == Ipv6Extensions.OK), "walk's result and error agree", d);
        boolean fits = packet.length >= 40 && payloadLength <= packet.length - 40;
        int end = ipo + 40 + payloadLength;
        if (!fits) {
            check(!ok && w.error == Ipv6Extensions.DISCARD, "a datagram longer than the buffer is discarded", d);
        }
        if (ok) {
            check(w.upperOffset >= ipo + 40 && w.upperOffset <= end, "upperOffset within the datagram", d);
            check(w.upperLength == end - w.upperOffset, "upperLength reaches the end", d);
            check(w.headers <= Ipv6Extensions.MAX_HEADERS, "at most MAX_HEADERS walked", d);
            check(w.nextHeaderField >= ipo + 6 && w.nextHeaderField < Math.max(w.upperOffset, ipo + 7),
                    "nextHeaderField before the upper header", d);
            check(u8(buf, w.nextHeaderField) == w.upperProtocol, "nextHeaderField names upperProtocol", d);
            check(w.pointer == w.nextHeaderField - ipo, "pointer is the field's offset", d);
            check(w.upperProtocol != Ipv6.HOP_BY_HOP && w.upperProtocol != Ipv6.ROUTING
                    && w.upperProtocol != Ipv6.DESTINATION_OPTIONS, "the walk stops after extension headers", d);
            check(w.upperProtocol == Ipv6.FRAGMENT ? w.fragmentOffset == w.upperOffset && w.upperLength >= 8
                    : w.fragmentOffset == -1, "fragmentOffset", d);
            check(!w.icmpToMulticast, "icmpToMulticast only with an error", d);
        } else {
            check(w.error == Ipv6Extensions.DISCARD || w.error == Ipv6Extensions.ERRONEOUS_HEADER
                    || w.error == Ipv6Extensions.UNRECOGNIZED_NEXT_HEADER
                    || w.error == Ipv6Extensions.UNRECOGNIZED_OPTION, "error code " + w.error, d);
            check(w.upperProtocol == -1 && w.upperOffset == -1, "no upper layer on error", d);
            if (w.error > 0) {
                check(w.pointer >= 0 && w.pointer < 40 + payloadLength, "the pointer is inside the datagram ("
                        + w.pointer + ")", d);
            }
            check(!w.icmpToMulticast || w.error == Ipv6Extensions.UNRECOGNIZED_OPTION, "icmpToMulticast", d);
        }
        if (fits) {
            // Nothing before the header or after the datagram is read: changing it changes nothing.
            byte[] other = buf.clone();
            for (int i = 0; i < other.length; i++) {
                if (i < ipo || i >= end) {
                    other[i] ^= (byte) 0xa5;
                }
            }
            Ipv6Extensions.Walk w2 = new Ipv6Extensions.Walk();
            Ipv6Extensions.walk(Unpooled.wrappedBuffer(other), ipo, payloadLength, w2);
            check(same(w, w2), "the walk read outside [ipOffset, ipOffset + 40 + payloadLength)", d);
        }
        // Any arguments at all: no exception.
        Ipv6Extensions.walkFrom(b, ipo + (mode >>> 4) - 4, payloadLength, given & 0x7f, (given >>> 7) & 0x1ff, w);
    }

    private static boolean same(Ipv6Extensions.Walk a, Ipv6Extensions.Walk b) {
        return a.error == b.error && a.upperProtocol == b.upperProtocol && a.upperOffset == b.upperOffset
                && a.upperLength == b.upperLength && a.fragmentOffset == b.fragmentOffset
                && a.nextHeaderField == b.nextHeaderField && a.headers == b.headers && a.pointer == b.pointer
                && a.icmpToMulticast == b.icmpToMulticast;
    }

    /**
     * {@link TcpOptions#parse}: input = length:u8 (the header is 20 + 4 * (length % 11) bytes), offset:u8 (0-15),
     * then the header (padded with zeros), parsed after a parse of other bytes into the same holder.
     */
    @FuzzTest(maxDuration = "3m")
    void tcpOptions(byte[] d) {
        FuzzInput in = new FuzzInput(d);
        int hl = 20 + 4 * (in.u8() % 11);
        int o = in.u8() & 15;
        byte[] header = Arrays.copyOf(in.rest(), hl);
        byte[] buf = Frames.concat(Frames.pattern(o, 1), header, Frames.pattern(16, 2));
        TcpOptions holder = new TcpOptions();
        byte[] before = Frames.concat(new byte[20], new byte[] {2, 4, 1, 1, 3, 3, 9, 4, 2, 8, 10, 1, 2, 3, 4, 5, 6,
            7, 8, 5, 10, 1, 2, 3, 4, 5, 6, 7, 8});
        holder.parse(Unpooled.wrappedBuffer(Arrays.copyOf(before, 60)), 0, 60);
        TcpOptions got = holder.parse(Unpooled.wrappedBuffer(buf), o, hl);
        Reference want = Reference.tcpOptions(header, hl);
        check(got.mss() == want.mss, "mss " + got.mss() + " != " + want.mss, d);
        check(got.windowScale() == want.windowScale, "window scale " + got.windowScale() + " != " + want.windowScale,
                d);
        check(got.sackPermitted() == want.sackPermitted, "SACK permitted", d);
        check(got.hasTimestamp() == want.hasTimestamp, "has timestamp", d);
        check(!want.hasTimestamp || got.tsVal() == want.tsVal && got.tsEcr() == want.tsEcr, "timestamps", d);
        check(got.malformed() == want.malformed, "malformed " + got.malformed() + " != " + want.malformed, d);
        check(got.sackCount() == want.sack.length / 2, "SACK blocks " + got.sackCount() + " != "
                + want.sack.length / 2, d);
        for (int k = 0; k < got.sackCount(); k++) {
            check(got.sackLeft(k) == want.sack[2 * k] && got.sackRight(k) == want.sack[2 * k + 1], "SACK block " + k, d);
        }
    }

    /**
     * {@link Icmpv6#linkLayerOption}: input = offset:u8 (0-63), length:u16 (maybe beyond the buffer), type:u8,
     * then the buffer; and the ICMPv6 accessors on the buffer.
     */
    @FuzzTest(maxDuration = "3m")
    void icmpv6(byte[] d) {
        FuzzInput in = new FuzzInput(d);
        int off = in.u8() & 63;
        int len = in.u16();
        int type = in.u8() % 4;
        byte[] buf = in.rest();
        ByteBuf b = Unpooled.wrappedBuffer(buf);
        long got = Icmpv6.linkLayerOption(b, off, len, type);
        long want = Reference.linkLayerOption(buf, off, len, type);
        check(got == want, "linkLayerOption " + got + " != " + want, d);
        if (off + len <= buf.length) {
            byte[] other = buf.clone();
            for (int i = 0; i < other.length; i++) {
                if (i < off || i >= off + len) {
                    other[i] ^= (byte) 0x5a;
                }
            }
            check(Icmpv6.linkLayerOption(Unpooled.wrappedBuffer(other), off, len, type) == got,
                    "linkLayerOption read outside its range", d);
        }
        if (buf.length >= Icmpv6.NS_NA_LENGTH) {
            check(Icmpv6.type(b, 0) == u8(buf, 0) && Icmpv6.code(b, 0) == u8(buf, 1), "Icmpv6.type/code", d);
            check(Icmpv6.checksum(b, 0) == u16(buf, 2) && Icmpv6.word(b, 0) == i32(buf, 4), "Icmpv6 checksum/word", d);
            check(Icmpv6.echoId(b, 0) == u16(buf, 4) && Icmpv6.echoSequence(b, 0) == u16(buf, 6), "Icmpv6 echo", d);
            check(Icmpv6.targetHi(b, 0) == long64(buf, 8) && Icmpv6.targetLo(b, 0) == long64(buf, 16),
                    "Icmpv6.target", d);
            check(Icmpv6.isError(u8(buf, 0)) == (u8(buf, 0) < 128), "Icmpv6.isError", d);
            ByteBuf w = Unpooled.buffer(16).writeZero(16);
            Icmpv6.writeHeader(w, 0, u8(buf, 0), u8(buf, 1), i32(buf, 4));
            byte[] expected = Arrays.copyOf(buf, 8);
            expected[2] = 0;
            expected[3] = 0;
            check(Arrays.equals(bytes(w, 0, 8), expected), "Icmpv6.writeHeader(read)", d);
            long m = mac(buf, 8);
            check(Icmpv6.writeLinkLayerOption(w, 8, Icmpv6.TARGET_LL_ADDR, m) == 8
                    && Icmpv6.linkLayerOption(w, 8, 8, Icmpv6.TARGET_LL_ADDR) == m, "link-layer option round trip", d);
        }
    }

    // ------------------------------------------------------------------ checksum

    /**
     * {@link Checksum}: input = start:u8 (0-15), length:u16, sum:i32 (an unsigned partial sum), split:u8, then the
     * data; the same sum over a heap, a direct and a composite buffer (split in two), against RFC 1071 word by word.
     */
    @FuzzTest(maxDuration = "2m")
    void checksum(byte[] d) {
        FuzzInput in = new FuzzInput(d);
        int start = in.u8() & 15;
        int len = in.u16();
        long sum = in.i32() & 0xffff_ffffL;
        int split = in.u8();
        byte[] data = in.rest();
        if (start > data.length) {
            return;
        }
        len = Math.min(len, data.length - start);
        int want = Reference.fold(Frames.sum(data, start, len, sum));
        ByteBuf direct = Unpooled.directBuffer(data.length).writeBytes(data);
        int cut = data.length == 0 ? 0 : split % (data.length + 1);
        CompositeByteBuf composite = Unpooled.compositeBuffer().addComponents(true,
                Unpooled.wrappedBuffer(Arrays.copyOf(data, cut)), Unpooled.wrappedBuffer(Arrays.copyOfRange(data, cut,
                        data.length)));
        try {
            for (ByteBuf b : new ByteBuf[] {Unpooled.wrappedBuffer(data), direct, composite}) {
                int got = Checksum.fold(Checksum.add(b, start, len, sum));
                check(got == want, "Checksum.add on " + b.getClass().getSimpleName() + ": " + got + " != " + want, d);
            }
        } finally {
            direct.release();
            composite.release();
        }
        // The checksum written into a message makes it verify (an even-length message; RFC 1071 §1).
        int even = len & ~1;
        byte[] m = Frames.concat(Arrays.copyOfRange(data, start, start + even), new byte[2]);
        ByteBuf mb = Unpooled.wrappedBuffer(m);
        mb.setShort(even, Checksum.compute(mb, 0, even + 2));
        check(Checksum.fold(Checksum.add(mb, 0, even + 2, 0)) == 0xffff, "a computed checksum verifies", d);
        int a = (int) sum;
        int c = split * 0x01010101;
        check(Checksum.fold(Checksum.ipv4Pseudo(a, c, u8(data, 0) & 0xff, len)) == Reference.fold(
                Reference.words(a) + Reference.words(c) + (u8(data, 0) & 0xff) + len), "Checksum.ipv4Pseudo", d);
        long h1 = sum * 0x9E3779B97F4A7C15L;
        long l1 = ~h1;
        check(Checksum.fold(Checksum.ipv6Pseudo(h1, l1, l1, h1, 58, len)) == Reference.fold(2 * (Reference.words(h1)
                + Reference.words(l1)) + 58 + len), "Checksum.ipv6Pseudo", d);
    }

    // ------------------------------------------------------------------ addresses

    private static final Pattern MAC_TEXT =
            Pattern.compile("[\\x00-\\x20]*[0-9a-fA-F]{1,2}([:-][0-9a-fA-F]{1,2}){5}[\\x00-\\x20]*");

    /**
     * {@link MacAddress#parse}: accepts exactly six ASCII hex octets of one or two digits, separated by colons or
     * dashes (around them what {@link String#trim} removes), refuses the rest naming the problem, and its text
     * parses back.
     */
    @FuzzTest(maxDuration = "2m")
    void macAddress(byte[] d) {
        String text = new String(d, StandardCharsets.UTF_8);
        MacAddress m;
        try {
            m = MacAddress.parse(text);
        } catch (IllegalArgumentException e) {
            check(!MAC_TEXT.matcher(text).matches(), "MacAddress.parse refused '" + text + "': " + e.getMessage(), d);
            check(e.getMessage() != null && e.getMessage().contains("MAC"), "the refusal names the problem", d);
            return;
        }
        check(MAC_TEXT.matcher(text).matches(), "MacAddress.parse accepted '" + text + "' as " + m, d);
        long v = 0;
        for (String p : text.trim().split("[:-]")) {
            v = (v << 8) | Integer.parseInt(p, 16);
        }
        check(m.toLong() == v, "MacAddress.parse value", d);
        check(MacAddress.parse(m.toString()).equals(m) && MacAddress.of(m.toBytes()).equals(m), "round trips", d);
        ByteBuf b = Unpooled.buffer(8).writeZero(8);
        MacAddress.write(b, 1, m.toLong());
        check(MacAddress.read(b, 1) == m.toLong() && b.getByte(0) == 0 && b.getByte(7) == 0, "read/write", d);
    }

    /** {@link IpAddress}: both families, against {@link InetAddress}. Input = 16 address bytes, then 4. */
    @FuzzTest(maxDuration = "2m")
    void ipAddress(byte[] d) throws UnknownHostException {
        byte[] raw = Arrays.copyOf(d, 16);
        long hi = long64(raw, 0);
        long lo = long64(raw, 8);
        IpAddress a = IpAddress.of(hi, lo);
        InetAddress inet = a.toInet();
        check(IpAddress.of(inet).equals(a) && IpAddress.of(inet).hashCode() == a.hashCode(), "of(toInet)", d);
        if (a.isV4()) {
            check(inet instanceof Inet4Address && Arrays.equals(inet.getAddress(), Arrays.copyOfRange(raw, 12, 16)),
                    "an IPv4 address", d);
            check(a.equals(IpAddress.v4(a.v4())), "v4(int)", d);
            check(a.toString().equals(inet.getHostAddress()), "dotted quad", d);
        } else {
            check(Arrays.equals(inet.getAddress(), raw), "toInet bytes", d);
            address6(hi, lo, raw, d);
        }
        check(a.isAnyLocal() == inet.isAnyLocalAddress(), "isAnyLocal", d);
        check(a.isLoopback() == inet.isLoopbackAddress(), "isLoopback", d);
        check(a.isMulticast() == inet.isMulticastAddress(), "isMulticast", d);
        int v4 = i32(Arrays.copyOfRange(d.length >= 20 ? d : Arrays.copyOf(d, 20), 16, 20), 0);
        IpAddress b = IpAddress.v4(v4);
        check(b.isV4() && b.v4() == v4 && IpAddress.isV4(b.hi(), b.lo()), "v4(int) is IPv4", d);
        check(b.equals(IpAddress.of(b.toInet())), "v4 round trip", d);
        check(IpAddress.pseudoHeaderSum(a, a, 6, 20) == IpAddress.pseudoHeaderSum(hi, lo, hi, lo, 6, 20),
                "pseudoHeaderSum forms agree", d);
    }

    /** Reference readings of the RFCs, written apart from the stack's code. */
    static final class Reference {
        int mss = -1;
        int windowScale = -1;
        boolean sackPermitted;
        boolean hasTimestamp;
        int tsVal;
        int tsEcr;
        boolean malformed;
        int[] sack = new int[0];

        /**
         * RFC 9293 §3.1 and §3.2 (kinds 0, 1, 2), RFC 7323 (3, 8), RFC 2018 (4, 5): a kind without room for its
         * length, or a length below 2 or past the header, makes the options malformed and ends them; a known kind
         * of the wrong length is ignored; at most four SACK blocks.
         */
        static Reference tcpOptions(byte[] h, int hl) {
            Reference r = new Reference();
            int i = 20;
            while (i < hl && h[i] != 0) {
                if (h[i] == 1) {
                    i++;
                    continue;
                }
                if (hl - i < 2 || (h[i + 1] & 0xff) < 2 || i + (h[i + 1] & 0xff) > hl) {
                    r.malformed = true;
                    break;
                }
                int kind = h[i] & 0xff;
                int len = h[i + 1] & 0xff;
                if (kind == 2 && len == 4) {
                    r.mss = u16(h, i + 2);
                } else if (kind == 3 && len == 3) {
                    r.windowScale = h[i + 2] & 0xff;
                } else if (kind == 4 && len == 2) {
                    r.sackPermitted = true;
                } else if (kind == 5 && len >= 10 && len % 8 == 2) {
                    // Blocks of several SACK options add up, four at most in all.
                    for (int k = i + 2; k + 8 <= i + len && r.sack.length < 8; k += 8) {
                        r.sack = Arrays.copyOf(r.sack, r.sack.length + 2);
                        r.sack[r.sack.length - 2] = i32(h, k);
                        r.sack[r.sack.length - 1] = i32(h, k + 4);
                    }
                } else if (kind == 8 && len == 10) {
                    r.hasTimestamp = true;
                    r.tsVal = i32(h, i + 2);
                    r.tsEcr = i32(h, i + 6);
                }
                i += len;
            }
            return r;
        }

        /** RFC 4861 §4.6 and RFC 2464 §6, as {@link Icmpv6#linkLayerOption} documents them. */
        static long linkLayerOption(byte[] b, int off, int len, int type) {
            if (off + len > b.length) {
                return Icmpv6.OPTION_MALFORMED;
            }
            // First every option must be well-formed...
            for (int p = off; p < off + len; p += 8 * (b[p + 1] & 0xff)) {
                if (off + len - p < 2 || b[p + 1] == 0 || 8 * (b[p + 1] & 0xff) > off + len - p) {
                    return Icmpv6.OPTION_MALFORMED;
                }
            }
            // ... then the first of the type is the answer, if it is one unit long.
            for (int p = off; p < off + len; p += 8 * (b[p + 1] & 0xff)) {
                if ((b[p] & 0xff) == type) {
                    return b[p + 1] == 1 ? mac(b, p + 2) : Icmpv6.OPTION_MALFORMED;
                }
            }
            return Icmpv6.OPTION_ABSENT;
        }

        /** The 16-bit one's complement sum folded, with end-around carries (RFC 1071 §4.1). */
        static int fold(long s) {
            while ((s >>> 16) != 0) {
                s = (s & 0xffff) + (s >>> 16);
            }
            return (int) s;
        }

        static long words(int v) {
            return (v >>> 16) + (v & 0xffff);
        }

        static long words(long v) {
            return words((int) (v >>> 32)) + words((int) v);
        }
    }
}
