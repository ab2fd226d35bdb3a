package io.usertcp.wire;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/** {@link Ipv6Extensions}: the bounded extension header walk of RFC 8200 §4. */
class Ipv6ExtensionsTest {
    private static final int IPO = 14; // as after an Ethernet header
    private static final long SRC_HI = 0xfe80_0000_0000_0000L;
    private static final long DST_HI = 0x2001_0db8_0000_0000L;

    private final Ipv6Extensions.Walk w = new Ipv6Extensions.Walk();
    private final List<ByteBuf> buffers = new ArrayList<>();

    @AfterEach
    void release() {
        buffers.forEach(ByteBuf::release);
    }

    /** A datagram at {@link #IPO}: the fixed header naming {@code firstNextHeader}, then {@code chunks}. */
    private ByteBuf packet(int firstNextHeader, byte[]... chunks) {
        ByteArrayOutputStream payload = new ByteArrayOutputStream();
        for (byte[] c : chunks) {
            payload.writeBytes(c);
        }
        int len = payload.size();
        // Capacity exactly the datagram: any read past it throws, so "never throws" means "never reads past".
        ByteBuf b = Unpooled.buffer(IPO + Ipv6.HEADER_LENGTH + len, IPO + Ipv6.HEADER_LENGTH + len);
        buffers.add(b);
        b.writeZero(IPO + Ipv6.HEADER_LENGTH);
        Ipv6.write(b, IPO, 0, len, firstNextHeader, 64, SRC_HI, 1, DST_HI, 2);
        b.writeBytes(payload.toByteArray());
        return b;
    }

    private static byte[] bytes(int... v) {
        byte[] a = new byte[v.length];
        for (int i = 0; i < v.length; i++) {
            a[i] = (byte) v[i];
        }
        return a;
    }

    /** A Hop-by-Hop or Destination Options header holding {@code options}, padded with Pad1 to 8n bytes. */
    private static byte[] opts(int nextHeader, int... options) {
        int len = (2 + options.length + 7) & ~7;
        byte[] h = new byte[len];
        h[0] = (byte) nextHeader;
        h[1] = (byte) (len / 8 - 1);
        for (int i = 0; i < options.length; i++) {
            h[2 + i] = (byte) options[i];
        }
        return h;
    }

    /** A routing header with {@code addresses} 16-byte addresses. */
    private static byte[] routing(int nextHeader, int type, int segmentsLeft, int addresses) {
        byte[] h = new byte[8 + 16 * addresses];
        h[0] = (byte) nextHeader;
        h[1] = (byte) (2 * addresses);
        h[2] = (byte) type;
        h[3] = (byte) segmentsLeft;
        return h;
    }

    private static byte[] fragment(int nextHeader, int offset8, boolean more, int id) {
        return bytes(nextHeader, 0, offset8 >>> 5, ((offset8 << 3) & 0xf8) | (more ? 1 : 0),
                id >>> 24, id >>> 16, id >>> 8, id);
    }

    private static byte[] upper(int length) {
        return new byte[length];
    }

    private boolean walk(ByteBuf b) {
        return Ipv6Extensions.walk(b, IPO, Ipv6.payloadLength(b, IPO), w);
    }

    private void assertDiscarded(String as) {
        assertThat(w.error).as(as).isEqualTo(Ipv6Extensions.DISCARD);
        assertThat(w.upperProtocol).as(as).isEqualTo(-1);
        assertThat(w.icmpAllowed(false)).as(as).isFalse();
    }

    @Test
    void noExtensionHeaders() {
        ByteBuf b = packet(Ipv6.TCP, upper(20));
        assertThat(walk(b)).isTrue();
        assertThat(w.error).isEqualTo(Ipv6Extensions.OK);
        assertThat(w.upperProtocol).isEqualTo(Ipv6.TCP);
        assertThat(w.upperOffset).isEqualTo(IPO + 40);
        assertThat(w.upperLength).isEqualTo(20);
        assertThat(w.fragmentOffset).isEqualTo(-1);
        assertThat(w.headers).isZero();
        assertThat(w.nextHeaderField).isEqualTo(IPO + 6);
        assertThat(w.pointer).isEqualTo(6);
    }

    @Test
    void walksAChainOfOptionsAndRoutingHeaders() {
        ByteBuf b = packet(Ipv6.HOP_BY_HOP,
                opts(Ipv6.DESTINATION_OPTIONS, 1, 2, 0, 0, 0x05, 2, 0, 0), // PadN(2), router alert (type 00xxxxxx)
                opts(Ipv6.ROUTING, 0, 0, 0x3e, 9, 1, 2, 3, 4, 5, 6, 7, 8, 9), // Pad1 Pad1, an unknown 00 option
                routing(Ipv6.DESTINATION_OPTIONS, 0, 0, 1),                 // type 0 but segments left 0: ignored
                opts(Ipv6.UDP, 1, 4, 0, 0, 0, 0),                           // PadN(4)
                upper(8));
        assertThat(walk(b)).isTrue();
        assertThat(w.upperProtocol).isEqualTo(Ipv6.UDP);
        int expected = IPO + 40 + 16 + 16 + 24 + 8;
        assertThat(w.upperOffset).isEqualTo(expected);
        assertThat(w.upperLength).isEqualTo(8);
        assertThat(w.headers).isEqualTo(4);
        assertThat(w.fragmentOffset).isEqualTo(-1);
        assertThat(w.nextHeaderField).isEqualTo(expected - 8);
        assertThat(w.pointer).isEqualTo(expected - 8 - IPO);
    }

    @Test
    void hopByHopOnlyDirectlyAfterTheFixedHeader() {
        ByteBuf b = packet(Ipv6.DESTINATION_OPTIONS, opts(Ipv6.HOP_BY_HOP), opts(Ipv6.TCP), upper(20));
        assertThat(walk(b)).isFalse();
        assertThat(w.error).isEqualTo(Ipv6Extensions.UNRECOGNIZED_NEXT_HEADER);
        assertThat(w.icmpCode()).isEqualTo(Icmpv6.UNRECOGNIZED_NEXT_HEADER);
        assertThat(w.pointer).isEqualTo(40); // the Next Header field of the Destination Options header
        assertThat(w.icmpAllowed(false)).isTrue();
        assertThat(w.icmpAllowed(true)).isFalse(); // RFC 4443 §2.4 (e.3)

        ByteBuf twice = packet(Ipv6.HOP_BY_HOP, opts(Ipv6.HOP_BY_HOP), opts(Ipv6.TCP), upper(20));
        assertThat(walk(twice)).isFalse();
        assertThat(w.error).isEqualTo(Ipv6Extensions.UNRECOGNIZED_NEXT_HEADER);
        assertThat(w.pointer).isEqualTo(40);
    }

    @Test
    void unknownOptionsActOnTheirTopTwoBits() {
        for (int header : new int[]{Ipv6.HOP_BY_HOP, Ipv6.DESTINATION_OPTIONS}) {
            // 00: skipped
            assertThat(walk(packet(header, opts(Ipv6.TCP, 1, 1, 0, 0x1f, 1, 0), upper(20)))).isTrue();
            assertThat(w.upperProtocol).isEqualTo(Ipv6.TCP);

            // 01: discarded silently
            assertThat(walk(packet(header, opts(Ipv6.TCP, 1, 1, 0, 0x5f, 1, 0), upper(20)))).isFalse();
            assertDiscarded("01");

            // 10: parameter problem code 2, even to a multicast destination; pointer at the option type
            assertThat(walk(packet(header, opts(Ipv6.TCP, 1, 1, 0, 0x9f, 1, 0), upper(20)))).isFalse();
            assertThat(w.error).isEqualTo(Ipv6Extensions.UNRECOGNIZED_OPTION);
            assertThat(w.icmpCode()).isEqualTo(2);
            assertThat(w.pointer).isEqualTo(40 + 5);
            assertThat(w.icmpToMulticast).isTrue();
            assertThat(w.icmpAllowed(true)).isTrue();
            assertThat(w.icmpAllowed(false)).isTrue();

            // 11: parameter problem code 2 only if the destination is not multicast
            assertThat(walk(packet(header, opts(Ipv6.TCP, 1, 1, 0, 0xdf, 1, 0), upper(20)))).isFalse();
            assertThat(w.error).isEqualTo(Ipv6Extensions.UNRECOGNIZED_OPTION);
            assertThat(w.pointer).isEqualTo(40 + 5);
            assertThat(w.icmpToMulticast).isFalse();
            assertThat(w.icmpAllowed(true)).isFalse();
            assertThat(w.icmpAllowed(false)).isTrue();
        }
        // The first unknown option decides; the pointer follows it into a later header (options of 11, then 10).
        assertThat(walk(packet(Ipv6.HOP_BY_HOP, opts(Ipv6.DESTINATION_OPTIONS),
                opts(Ipv6.TCP, 0, 0, 0, 0xc2, 0, 0x80, 0), upper(20)))).isFalse();
        assertThat(w.pointer).isEqualTo(40 + 8 + 5);
        assertThat(w.icmpToMulticast).isFalse();
    }

    @Test
    void optionsMustStayInsideTheirHeader() {
        // PadN whose length runs past the header (the next header's bytes are not options).
        assertThat(walk(packet(Ipv6.DESTINATION_OPTIONS, opts(Ipv6.TCP, 1, 5), upper(20)))).isFalse();
        assertDiscarded("PadN past the end");
        // A non-Pad1 option type in the last byte: its length byte is missing.
        assertThat(walk(packet(Ipv6.DESTINATION_OPTIONS, opts(Ipv6.TCP, 1, 3, 0, 0, 0, 1), upper(20)))).isFalse();
        assertDiscarded("type in the last byte");
        // Exactly filling the header is fine.
        assertThat(walk(packet(Ipv6.DESTINATION_OPTIONS, opts(Ipv6.TCP, 1, 4, 0, 0, 0, 0), upper(20)))).isTrue();
        // A header longer than the datagram.
        assertThat(walk(packet(Ipv6.DESTINATION_OPTIONS, bytes(Ipv6.TCP, 1, 1, 4, 0, 0, 0, 0), upper(4)))).isFalse();
        assertDiscarded("header past the end");
    }

    @Test
    void routingHeaderWithSegmentsLeftIsAnError() {
        for (int type : new int[]{0, 1, 2, 3, 4, 253}) {
            ByteBuf b = packet(Ipv6.HOP_BY_HOP, opts(Ipv6.ROUTING), routing(Ipv6.TCP, type, 1, 1), upper(20));
            assertThat(walk(b)).as("type %d", type).isFalse();
            assertThat(w.error).isEqualTo(Ipv6Extensions.ERRONEOUS_HEADER);
            assertThat(w.icmpCode()).isEqualTo(Icmpv6.ERRONEOUS_HEADER);
            assertThat(w.pointer).isEqualTo(40 + 8 + 2); // the routing type field
            assertThat(w.icmpAllowed(false)).isTrue();
            assertThat(w.icmpAllowed(true)).isFalse();

            ByteBuf done = packet(Ipv6.ROUTING, routing(Ipv6.TCP, type, 0, 0), upper(20));
            assertThat(walk(done)).as("type %d, segments left 0", type).isTrue();
            assertThat(w.upperProtocol).isEqualTo(Ipv6.TCP);
            assertThat(w.upperOffset).isEqualTo(IPO + 48);
        }
        // The segments-left check happens only once the whole header is known to be there.
        assertThat(walk(packet(Ipv6.ROUTING, routing(Ipv6.TCP, 0, 1, 1)))).isFalse();
        assertThat(w.error).isEqualTo(Ipv6Extensions.ERRONEOUS_HEADER);
        assertThat(w.pointer).isEqualTo(42);
        assertThat(walk(packet(Ipv6.ROUTING, bytes(Ipv6.TCP, 2, 0, 1, 0, 0, 0, 0)))).isFalse();
        assertDiscarded("routing header past the end");
    }

    @Test
    void stopsAtTheFragmentHeader() {
        ByteBuf b = packet(Ipv6.HOP_BY_HOP, opts(Ipv6.FRAGMENT), fragment(Ipv6.DESTINATION_OPTIONS, 0, true, 7),
                opts(Ipv6.TCP), upper(20));
        assertThat(walk(b)).isTrue();
        assertThat(w.upperProtocol).isEqualTo(Ipv6.FRAGMENT);
        assertThat(w.fragmentOffset).isEqualTo(IPO + 48);
        assertThat(w.upperOffset).isEqualTo(IPO + 48);
        assertThat(w.upperLength).isEqualTo(8 + 8 + 20);
        assertThat(w.nextHeaderField).isEqualTo(IPO + 40); // the Hop-by-Hop header's, rewritten on reassembly
        assertThat(w.headers).isEqualTo(2);

        // After reassembly, the caller walks on from the Fragment header's own Next Header field.
        assertThat(Ipv6Extensions.walkFrom(b, IPO, Ipv6.payloadLength(b, IPO), IPO + 48, IPO + 56, w)).isTrue();
        assertThat(w.upperProtocol).isEqualTo(Ipv6.TCP);
        assertThat(w.upperOffset).isEqualTo(IPO + 64);
        assertThat(w.upperLength).isEqualTo(20);
        assertThat(w.fragmentOffset).isEqualTo(-1);
        assertThat(w.headers).isEqualTo(1);

        // A Hop-by-Hop header after the Fragment header is still misplaced.
        ByteBuf late = packet(Ipv6.FRAGMENT, fragment(Ipv6.HOP_BY_HOP, 0, false, 1), opts(Ipv6.TCP), upper(20));
        assertThat(Ipv6Extensions.walkFrom(late, IPO, Ipv6.payloadLength(late, IPO), IPO + 40, IPO + 48, w)).isFalse();
        assertThat(w.error).isEqualTo(Ipv6Extensions.UNRECOGNIZED_NEXT_HEADER);
        assertThat(w.pointer).isEqualTo(40);

        // A Fragment header cut short.
        assertThat(walk(packet(Ipv6.FRAGMENT, bytes(Ipv6.TCP, 0, 0, 1, 0, 0, 0)))).isFalse();
        assertDiscarded("short fragment header");
    }

    @Test
    void noNextHeaderEndsTheWalk() {
        ByteBuf b = packet(Ipv6.DESTINATION_OPTIONS, opts(Ipv6.NO_NEXT_HEADER), bytes(0xff, 0xff, 0xff));
        assertThat(walk(b)).isTrue();
        assertThat(w.upperProtocol).isEqualTo(Ipv6.NO_NEXT_HEADER);
        assertThat(w.upperOffset).isEqualTo(IPO + 48);
        assertThat(w.upperLength).isEqualTo(3); // ignored by the caller (RFC 8200 §4.7)
        assertThat(walk(packet(Ipv6.NO_NEXT_HEADER))).isTrue();
        assertThat(w.upperProtocol).isEqualTo(59);
        assertThat(w.upperLength).isZero();
    }

    @Test
    void atMostEightExtensionHeaders() {
        byte[][] eight = new byte[9][];
        for (int i = 0; i < 8; i++) {
            eight[i] = opts(i < 7 ? Ipv6.DESTINATION_OPTIONS : Ipv6.TCP);
        }
        eight[8] = upper(20);
        assertThat(walk(packet(Ipv6.DESTINATION_OPTIONS, eight))).isTrue();
        assertThat(w.headers).isEqualTo(8);
        assertThat(w.upperProtocol).isEqualTo(Ipv6.TCP);

        byte[][] nine = new byte[10][];
        for (int i = 0; i < 9; i++) {
            nine[i] = opts(i < 8 ? Ipv6.DESTINATION_OPTIONS : Ipv6.TCP);
        }
        nine[9] = upper(20);
        assertThat(walk(packet(Ipv6.DESTINATION_OPTIONS, nine))).isFalse();
        assertDiscarded("nine headers");

        // Each kind counts: six options headers, a routing header and a fragment header make eight...
        byte[][] mixed = new byte[9][];
        for (int i = 0; i < 6; i++) {
            mixed[i] = opts(i < 5 ? Ipv6.DESTINATION_OPTIONS : Ipv6.ROUTING);
        }
        mixed[6] = routing(Ipv6.FRAGMENT, 0, 0, 0);
        mixed[7] = fragment(Ipv6.TCP, 0, false, 1);
        mixed[8] = upper(20);
        assertThat(walk(packet(Ipv6.DESTINATION_OPTIONS, mixed))).isTrue();
        assertThat(w.upperProtocol).isEqualTo(Ipv6.FRAGMENT);
        assertThat(w.headers).isEqualTo(8);
        // ... and one more options header makes nine.
        byte[][] more = new byte[10][];
        more[0] = opts(Ipv6.DESTINATION_OPTIONS);
        System.arraycopy(mixed, 0, more, 1, 9);
        assertThat(walk(packet(Ipv6.DESTINATION_OPTIONS, more))).isFalse();
        assertDiscarded("nine mixed headers");

        // A chain of many zero-length headers cannot make the walk long: 1000 options headers.
        byte[][] many = new byte[1001][];
        for (int i = 0; i < 1000; i++) {
            many[i] = opts(Ipv6.DESTINATION_OPTIONS);
        }
        many[1000] = upper(0);
        assertThat(walk(packet(Ipv6.DESTINATION_OPTIONS, many))).isFalse();
        assertDiscarded("1000 headers");
    }

    @Test
    void truncationAtEveryLengthIsReportedNeverThrown() {
        byte[][] chain = {
                opts(Ipv6.DESTINATION_OPTIONS, 1, 0, 0x3e, 1, 0),
                opts(Ipv6.ROUTING, 1, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0),
                routing(Ipv6.FRAGMENT, 0, 0, 1),
                fragment(Ipv6.TCP, 0, true, 9),
                upper(20)};
        ByteArrayOutputStream all = new ByteArrayOutputStream();
        for (byte[] c : chain) {
            all.writeBytes(c);
        }
        byte[] full = all.toByteArray();
        int fragmentAt = 8 + 16 + 24;
        for (int len = 0; len <= full.length; len++) {
            byte[] cut = java.util.Arrays.copyOf(full, len);
            // The payload length says len and the buffer ends there too.
            ByteBuf b = packet(Ipv6.HOP_BY_HOP, cut);
            boolean ok = walk(b);
            if (len >= fragmentAt + 8) {
                assertThat(ok).as("length %d", len).isTrue();
                assertThat(w.fragmentOffset).isEqualTo(IPO + 40 + fragmentAt);
                assertThat(w.upperLength).isEqualTo(len - fragmentAt);
            } else {
                assertThat(ok).as("length %d", len).isFalse();
                assertDiscarded("length " + len);
            }
            // The payload length claims the whole chain but the buffer holds only len bytes.
            ByteBuf short_ = packet(Ipv6.HOP_BY_HOP, cut);
            short_.setShort(IPO + Ipv6.PAYLOAD_LENGTH, full.length);
            if (len < full.length) {
                assertThat(walk(short_)).isFalse();
                assertDiscarded("buffer of " + len);
            }
            // The buffer holds everything, the payload length says len.
            ByteBuf whole = packet(Ipv6.HOP_BY_HOP, full);
            assertThat(Ipv6Extensions.walk(whole, IPO, len, w)).isEqualTo(ok);
            if (ok) {
                assertThat(w.upperOffset + w.upperLength).isEqualTo(IPO + 40 + len);
            }
            release();
            buffers.clear();
        }
    }

    @Test
    void badArgumentsAreDiscardsNotExceptions() {
        ByteBuf b = packet(Ipv6.TCP, upper(20));
        assertThat(Ipv6Extensions.walk(b, IPO, 21, w)).isFalse();
        assertDiscarded("payload past the buffer");
        assertThat(Ipv6Extensions.walk(b, IPO, -1, w)).isFalse();
        assertThat(Ipv6Extensions.walk(b, -1, 0, w)).isFalse();
        assertThat(Ipv6Extensions.walk(b, b.writerIndex() - 39, 0, w)).isFalse();
        assertThat(Ipv6Extensions.walk(b, IPO, Integer.MAX_VALUE, w)).isFalse();
        assertThat(Ipv6Extensions.walk(b, Integer.MAX_VALUE, 0, w)).isFalse();
        assertThat(Ipv6Extensions.walkFrom(b, IPO, 20, IPO + 60, IPO + 40, w)).isFalse();
        assertThat(Ipv6Extensions.walkFrom(b, IPO, 20, IPO + 6, IPO + 61, w)).isFalse();
        assertThat(Ipv6Extensions.walkFrom(b, IPO, 20, IPO + 6, IPO + 39, w)).isFalse();
        assertDiscarded("offset inside the fixed header");
        // The walk object is fully reset by the next walk.
        assertThat(walk(b)).isTrue();
        assertThat(w.error).isZero();
        assertThat(w.upperProtocol).isEqualTo(Ipv6.TCP);
        assertThat(w.icmpToMulticast).isFalse();
    }

    @Test
    void randomChainsNeverThrow() {
        Random rnd = new Random(8200);
        int[] kinds = {Ipv6.HOP_BY_HOP, Ipv6.DESTINATION_OPTIONS, Ipv6.ROUTING, Ipv6.FRAGMENT, Ipv6.TCP,
                Ipv6.NO_NEXT_HEADER};
        for (int n = 0; n < 50_000; n++) {
            byte[] payload = new byte[rnd.nextInt(80)];
            for (int i = 0; i < payload.length; i++) {
                int r = rnd.nextInt(8);
                payload[i] = (byte) (r < 3 ? kinds[rnd.nextInt(kinds.length)] : r < 5 ? rnd.nextInt(3) : rnd.nextInt(256));
            }
            ByteBuf b = packet(kinds[rnd.nextInt(kinds.length)], payload);
            boolean ok = walk(b);
            int end = IPO + 40 + payload.length;
            if (ok) {
                assertThat(w.upperOffset).isBetween(IPO + 40, end);
                assertThat(w.upperOffset + w.upperLength).isEqualTo(end);
                assertThat(w.headers).isBetween(0, Ipv6Extensions.MAX_HEADERS);
            } else {
                assertThat(w.error).isNotZero();
                assertThat(w.pointer).isBetween(0, 40 + payload.length);
            }
            b.release();
            buffers.clear();
        }
    }
}
