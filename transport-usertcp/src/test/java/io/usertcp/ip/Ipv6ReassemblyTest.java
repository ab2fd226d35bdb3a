package io.usertcp.ip;

import io.netty.buffer.AbstractByteBufAllocator;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.usertcp.stats.StackStats;
import io.usertcp.time.TimerQueue;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@link Ipv6Reassembly} alone: order, the Unfragmentable Part, overlaps, duplicates, the Parameter Problem
 * cases of RFC 8200 §4.5 and RFC 7112, atomic fragments, bounds, timeout, and that every buffer is released.
 */
class Ipv6ReassemblyTest {
    private static final long SRC_HI = 0x20010db800000000L;
    private static final long SRC_LO = 1;
    private static final long DST_HI = 0x20010db800000000L;
    private static final long DST_LO = 2;
    /** Where the IPv6 header starts in every frame: after an Ethernet header's worth of bytes. */
    private static final int IPO = 14;
    private static final int UDP = 17;
    private static final int TCP = 6;
    private static final int HOP_BY_HOP = 0;
    private static final int DEST_OPTS = 60;
    private static final int FRAGMENT = 44;
    private static final int HOP_LIMIT = 61;
    private static final long SECOND = 1_000_000_000L;
    private static final byte[] NONE = new byte[0];

    private final TrackingAllocator alloc = new TrackingAllocator();
    private final TimerQueue timers = new TimerQueue();
    private final StackStats stats = new StackStats();
    /** Each reassembled datagram from its IPv6 header to its end. */
    private final List<byte[]> delivered = new ArrayList<>();
    private final List<byte[]> timedOut = new ArrayList<>();
    /** Each Parameter Problem as {code, pointer}. */
    private final List<int[]> problems = new ArrayList<>();
    private long now = 1000;
    private Ipv6Reassembly r = newReassembly(Ipv6Reassembly.DEFAULT_MAX_MEMORY, Ipv6Reassembly.DEFAULT_MAX_FRAGMENTS);

    private Ipv6Reassembly newReassembly(int maxMemory, int maxFragments) {
        return new Ipv6Reassembly(timers, alloc, stats, new Ipv6Reassembly.Output() {
            @Override
            public void reassembled(ByteBuf d, int ipo) {
                assertThat(d.readerIndex()).isEqualTo(ipo);
                assertThat(d.refCnt()).isPositive();
                byte[] b = new byte[d.readableBytes()];
                d.getBytes(ipo, b);
                delivered.add(b);
            }

            @Override
            public void timedOut(ByteBuf d, int ipo, int length) {
                byte[] q = new byte[length];
                d.getBytes(ipo, q);
                timedOut.add(q);
            }

            @Override
            public void parameterProblem(ByteBuf frame, int ipo, int code, int pointer) {
                assertThat(ipo).isEqualTo(IPO);
                assertThat(frame.getUnsignedByte(ipo) >>> 4).isEqualTo(6); // the offending fragment itself
                problems.add(new int[] {code, pointer});
            }
        }, 60 * SECOND, maxMemory, maxFragments);
    }

    @AfterEach
    void everyBufferReleased() {
        r.clear();
        assertThat(r.memory()).isZero();
        assertThat(alloc.all).isNotEmpty();
        for (ByteBuf b : alloc.all) {
            assertThat(b.refCnt()).as("leaked buffer of capacity %d", b.capacity()).isZero();
        }
    }

    /** Wraps the pooled allocator and remembers every buffer it gave, so that tests can check them all. */
    private static final class TrackingAllocator extends AbstractByteBufAllocator {
        final List<ByteBuf> all = new ArrayList<>();

        TrackingAllocator() {
            super(true);
        }

        @Override
        protected ByteBuf newHeapBuffer(int initialCapacity, int maxCapacity) {
            ByteBuf b = PooledByteBufAllocator.DEFAULT.heapBuffer(initialCapacity, maxCapacity);
            all.add(b);
            return b;
        }

        @Override
        protected ByteBuf newDirectBuffer(int initialCapacity, int maxCapacity) {
            ByteBuf b = PooledByteBufAllocator.DEFAULT.directBuffer(initialCapacity, maxCapacity);
            all.add(b);
            return b;
        }

        @Override
        public boolean isDirectBufferPooled() {
            return true;
        }
    }

    // ---- building fragments ----

    /** Bytes of a pattern, different for each seed. */
    private static byte[] pattern(int len, int seed) {
        byte[] b = new byte[len];
        for (int i = 0; i < len; i++) {
            b[i] = (byte) (i * 31 + seed * 7 + (i >>> 8));
        }
        return b;
    }

    /** A UDP-like upper-layer datagram: an 8-byte header (ports, length) then a pattern. */
    private static byte[] udpLike(int len, int seed) {
        byte[] b = pattern(len, seed);
        b[0] = 0x30;
        b[1] = 0x39;
        b[2] = 0x00;
        b[3] = 0x35;
        b[4] = (byte) (len >>> 8);
        b[5] = (byte) len;
        b[6] = 0;
        b[7] = 0;
        return b;
    }

    /** An options extension header (hop-by-hop or destination) of {@code length} bytes naming {@code next}. */
    private static byte[] optionsHeader(int next, int length, int seed) {
        byte[] h = pattern(length, seed);
        h[0] = (byte) next;
        h[1] = (byte) (length / 8 - 1);
        h[2] = 1; // PadN over the rest
        h[3] = (byte) (length - 4);
        return h;
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] c = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, c, a.length, b.length);
        return c;
    }

    /**
     * A frame: {@link #IPO} bytes of link header, the IPv6 header whose Next Header is {@code firstNext},
     * {@code ext} (extension headers chained to end in the fragment header), the fragment header, and
     * {@code data[off, off + len)}.
     */
    private ByteBuf packet(int firstNext, byte[] ext, int fragNext, int id, int offset, boolean more, byte[] data,
                           int off, int len) {
        int payloadLength = ext.length + 8 + len;
        ByteBuf b = alloc.heapBuffer(IPO + 40 + payloadLength);
        b.writeZero(IPO);
        b.writeInt(6 << 28 | 0x12345); // version 6, traffic class 0, flow label
        b.writeShort(payloadLength);
        b.writeByte(firstNext);
        b.writeByte(HOP_LIMIT);
        b.writeLong(SRC_HI).writeLong(SRC_LO).writeLong(DST_HI).writeLong(DST_LO);
        b.writeBytes(ext);
        b.writeByte(fragNext);
        b.writeByte(0);
        b.writeShort(offset | (more ? 1 : 0));
        b.writeInt(id);
        b.writeBytes(data, off, len);
        return b;
    }

    /** Offset of the Next Header field naming the fragment header: the last header of {@code ext}, or the IPv6 one. */
    private static int nextHeaderField(byte[] ext) {
        int last = -1;
        for (int p = 0; p < ext.length; p += ((ext[p + 1] & 0xff) + 1) * 8) {
            last = p;
        }
        return last < 0 ? IPO + 6 : IPO + 40 + last;
    }

    private void input(ByteBuf p, byte[] ext) {
        try {
            r.input(p, IPO, nextHeaderField(ext), IPO + 40 + ext.length, now);
        } finally {
            p.release();
        }
    }

    /**
     * Feeds the fragment of {@code data} [off, off + len) of datagram {@code id} with the fragment header's Next
     * Header {@code fragNext}, behind the extension headers {@code ext} (which, in these tests, always start
     * with a hop-by-hop header).
     */
    private void fragment(byte[] ext, int fragNext, int id, byte[] data, int off, int len, boolean more) {
        int firstNext = ext.length == 0 ? FRAGMENT : HOP_BY_HOP;
        input(packet(firstNext, ext, fragNext, id, off, more, data, off, len), ext);
    }

    /** An 8-byte hop-by-hop header naming the fragment header. */
    private final byte[] hbh = optionsHeader(FRAGMENT, 8, 90);

    /** A UDP fragment without extension headers before the fragment header. */
    private void fragment(int id, byte[] data, int off, int len, boolean more) {
        fragment(NONE, UDP, id, data, off, len, more);
    }

    /** Cuts {@code data} into pieces of {@code per} bytes (a multiple of 8) and feeds them in the given order. */
    private void feed(byte[] ext, int id, byte[] data, int per, List<Integer> order) {
        for (int i : order) {
            int off = i * per;
            fragment(ext, UDP, id, data, off, Math.min(per, data.length - off), off + per < data.length);
        }
    }

    private static List<Integer> indices(int n) {
        List<Integer> l = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            l.add(i);
        }
        return l;
    }

    private static int u16(byte[] b, int i) {
        return (b[i] & 0xff) << 8 | (b[i + 1] & 0xff);
    }

    /** Checks a delivered datagram without extension headers: fixed header fields and the payload. */
    private static void assertPlainDatagram(byte[] d, int nextHeader, byte[] payload) {
        assertThat(d[0] >>> 4 & 0xf).isEqualTo(6);
        assertThat(u16(d, 4)).isEqualTo(payload.length); // Payload Length rewritten
        assertThat(d[6] & 0xff).isEqualTo(nextHeader); // the fragment header's Next Header
        assertThat(d[7] & 0xff).isEqualTo(HOP_LIMIT);
        assertThat(d).hasSize(40 + payload.length);
        assertThat(Arrays.copyOfRange(d, 40, d.length)).isEqualTo(payload);
    }

    // ---- tests ----

    @Test
    void reassemblesInAnyOrder() {
        byte[] data = udpLike(8000, 1);
        int per = 1232;
        int n = (data.length + per - 1) / per;
        feed(NONE, 1, data, per, indices(n));
        List<Integer> reversed = indices(n);
        Collections.reverse(reversed);
        feed(NONE, 2, data, per, reversed);
        List<Integer> shuffled = indices(n);
        Collections.shuffle(shuffled, new Random(5));
        feed(NONE, 3, data, per, shuffled);

        assertThat(delivered).hasSize(3);
        for (byte[] d : delivered) {
            assertPlainDatagram(d, UDP, data);
            assertThat(Arrays.copyOfRange(d, 8, 40)).isEqualTo(Arrays.copyOfRange(packetBytes(), 8, 40));
        }
        assertThat(stats.ip6Reassembled).isEqualTo(3);
        assertThat(stats.ip6FragmentsIn).isEqualTo(3L * n);
        assertThat(r.pending()).isZero();
        assertThat(r.memory()).isZero();
        assertThat(timers.size()).isZero();
    }

    /** The source and destination as a frame carries them, for comparison. */
    private byte[] packetBytes() {
        ByteBuf p = packet(FRAGMENT, NONE, UDP, 0, 0, false, NONE, 0, 0);
        try {
            byte[] b = new byte[40];
            p.getBytes(IPO, b);
            return b;
        } finally {
            p.release();
        }
    }

    @Test
    void interleavedDatagramsAreKeptApartByIdentification() {
        byte[] a = udpLike(3000, 2);
        byte[] b = udpLike(3000, 3);
        for (int off = 0; off < 3000; off += 1232) {
            int len = Math.min(1232, 3000 - off);
            fragment(10, a, off, len, off + 1232 < 3000);
            fragment(11, b, off, len, off + 1232 < 3000);
        }
        assertThat(delivered).hasSize(2);
        assertPlainDatagram(delivered.get(0), UDP, a);
        assertPlainDatagram(delivered.get(1), UDP, b);
    }

    @Test
    void hopByHopHeaderBeforeTheFragmentHeaderIsKept() {
        byte[] data = udpLike(8000, 4);
        feed(hbh, 20, data, 1232, indices(7));
        assertThat(delivered).hasSize(1);
        byte[] d = delivered.get(0);
        assertThat(d).hasSize(40 + 8 + 8000);
        assertThat(u16(d, 4)).isEqualTo(8 + 8000);
        assertThat(d[6] & 0xff).isEqualTo(HOP_BY_HOP); // the IPv6 header still names the hop-by-hop header
        assertThat(d[40] & 0xff).isEqualTo(UDP); // which now names UDP, not the fragment header
        assertThat(Arrays.copyOfRange(d, 41, 48)).isEqualTo(Arrays.copyOfRange(hbh, 1, 8));
        assertThat(Arrays.copyOfRange(d, 48, d.length)).isEqualTo(data);
    }

    @Test
    void unfragmentablePartComesFromFragmentZeroEvenWhenItComesLast() {
        // IPv6 (40), hop-by-hop (8) then destination options (72): 120 bytes, more than the default headroom.
        byte[] dest = optionsHeader(FRAGMENT, 72, 91);
        byte[] ext = concat(optionsHeader(DEST_OPTS, 8, 92), dest);
        byte[] data = udpLike(5000, 5);
        // The later fragments carry no extension headers at all: only fragment zero's count.
        for (int off = 1232; off < 5000; off += 1232) {
            fragment(NONE, TCP, 30, data, off, Math.min(1232, 5000 - off), off + 1232 < 5000);
        }
        assertThat(delivered).isEmpty();
        fragment(ext, UDP, 30, data, 0, 1232, true);
        assertThat(delivered).hasSize(1);
        byte[] d = delivered.get(0);
        assertThat(d).hasSize(40 + ext.length + 5000);
        assertThat(u16(d, 4)).isEqualTo(ext.length + 5000);
        assertThat(d[6] & 0xff).isEqualTo(HOP_BY_HOP);
        assertThat(d[40] & 0xff).isEqualTo(DEST_OPTS);
        assertThat(d[48] & 0xff).isEqualTo(UDP); // the destination options header named the fragment header
        assertThat(Arrays.copyOfRange(d, 49, 40 + ext.length)).isEqualTo(Arrays.copyOfRange(dest, 1, 72));
        assertThat(Arrays.copyOfRange(d, 40 + ext.length, d.length)).isEqualTo(data);
        assertThat(r.memory()).isZero();
    }

    @Test
    void overlapDiscardsTheWholeDatagramAndItsLaterFragments() {
        byte[] data = udpLike(4000, 6);
        fragment(7, data, 0, 1232, true);
        fragment(7, data, 1224, 1232, true); // overlaps the first by 8 bytes
        assertThat(stats.ip6FragOverlap).isEqualTo(1);
        assertThat(problems).isEmpty(); // silently (RFC 5722 §4)
        // What would have completed it is dropped too, whatever it is.
        fragment(7, data, 1232, 1232, true);
        fragment(7, data, 2464, 1232, true);
        fragment(7, data, 3696, 304, false);
        assertThat(delivered).isEmpty();
        assertThat(stats.ip6FragDropped).isEqualTo(3);
        assertThat(r.pending()).isEqualTo(1);
        assertThat(r.memory()).isEqualTo(Ipv6Reassembly.ENTRY_OVERHEAD);

        // After the timeout the key is free again, and no time exceeded is reported for a discarded datagram.
        now += 60 * SECOND;
        timers.runExpired(now);
        assertThat(timedOut).isEmpty();
        assertThat(stats.ip6FragTimeouts).isZero();
        assertThat(r.pending()).isZero();
        feed(NONE, 7, data, 1232, indices(4));
        assertThat(delivered).hasSize(1);
        assertPlainDatagram(delivered.get(0), UDP, data);
    }

    @Test
    void overlapAtTheSameOffsetWithAnotherLengthIsAnOverlap() {
        byte[] data = udpLike(4000, 7);
        fragment(8, data, 1232, 1232, true);
        fragment(8, data, 1232, 16, true);
        assertThat(stats.ip6FragOverlap).isEqualTo(1);
        fragment(8, data, 0, 1232, true);
        assertThat(stats.ip6FragDropped).isEqualTo(1);
    }

    @Test
    void exactDuplicatesAreDroppedAlone() {
        byte[] data = udpLike(3000, 8);
        fragment(9, data, 0, 1232, true);
        fragment(9, data, 0, 1232, true);
        fragment(9, data, 1232, 1232, true);
        fragment(9, data, 1232, 1232, true);
        fragment(9, data, 2464, 536, false);
        assertThat(delivered).hasSize(1);
        assertPlainDatagram(delivered.get(0), UDP, data);
        assertThat(stats.ip6FragDropped).isEqualTo(2);
        assertThat(stats.ip6FragOverlap).isZero();
    }

    @Test
    void lengthNotAMultipleOf8IsReportedAtThePayloadLengthField() {
        byte[] data = udpLike(100, 9);
        fragment(12, data, 0, 20, true);
        assertThat(stats.ip6FragMalformed).isEqualTo(1);
        assertThat(problems).hasSize(1);
        assertThat(problems.get(0)).containsExactly(Ipv6Reassembly.CODE_ERRONEOUS_HEADER_FIELD, 4);
        assertThat(r.pending()).isZero();
        // Only a fragment with M set must be a multiple of 8: a last one of 20 bytes is fine.
        fragment(12, data, 0, 80, true);
        fragment(12, data, 80, 20, false);
        assertThat(problems).hasSize(1);
        assertThat(delivered).hasSize(1);
        assertPlainDatagram(delivered.get(0), UDP, data);
    }

    @Test
    void datagramOver65535BytesIsReportedAtTheFragmentOffsetField() {
        byte[] data = udpLike(64, 10);
        fragment(13, data, 0, 16, true); // a datagram in progress
        fragment(NONE, UDP, 13, pattern(65600, 1), 65528, 16, false); // would end at 65544
        assertThat(stats.ip6FragMalformed).isEqualTo(1);
        assertThat(problems).hasSize(1);
        assertThat(problems.get(0)).containsExactly(Ipv6Reassembly.CODE_ERRONEOUS_HEADER_FIELD, 40 + 2);
        // The datagram is discarded: its rest goes too.
        assertThat(r.memory()).isEqualTo(Ipv6Reassembly.ENTRY_OVERHEAD);
        fragment(13, data, 16, 48, false);
        assertThat(stats.ip6FragDropped).isEqualTo(1);
        assertThat(delivered).isEmpty();

        // Counting the Unfragmentable Part: 8 bytes of hop-by-hop make an end of 65535 too long.
        byte[] big = pattern(65600, 2);
        fragment(hbh, UDP, 14, big, 65520, 15, false);
        assertThat(problems).hasSize(2);
        assertThat(problems.get(1)).containsExactly(Ipv6Reassembly.CODE_ERRONEOUS_HEADER_FIELD, 40 + 8 + 2);
        // Without it the same end is a Payload Length of exactly 65535: allowed.
        fragment(NONE, UDP, 15, big, 65520, 15, false);
        assertThat(problems).hasSize(2);
        assertThat(r.pending()).isEqualTo(2);
    }

    @Test
    void largestDatagramIsReassembled() {
        byte[] data = udpLike(65535, 11);
        for (int off = 0; off < data.length; off += 8192) {
            fragment(16, data, off, Math.min(8192, data.length - off), off + 8192 < data.length);
        }
        assertThat(delivered).hasSize(1);
        assertPlainDatagram(delivered.get(0), UDP, data);
    }

    @Test
    void atomicFragmentIsDeliveredAtOnceOnItsOwn() {
        byte[] data = udpLike(3000, 12);
        fragment(17, data, 0, 1232, true); // a datagram in progress with the same identification
        int memory = r.memory();
        byte[] whole = udpLike(500, 13);
        fragment(17, whole, 0, 500, false);
        assertThat(stats.ip6AtomicFragments).isEqualTo(1);
        assertThat(delivered).hasSize(1);
        assertPlainDatagram(delivered.get(0), UDP, whole);
        assertThat(r.pending()).isEqualTo(1); // the datagram in progress is untouched (RFC 6946 §4)
        assertThat(r.memory()).isEqualTo(memory);
        fragment(17, data, 1232, 1768, false);
        assertThat(delivered).hasSize(2);
        assertPlainDatagram(delivered.get(1), UDP, data);

        // With a hop-by-hop header before it, which then names the upper layer.
        fragment(hbh, UDP, 18, whole, 0, 500, false);
        byte[] d = delivered.get(2);
        assertThat(d).hasSize(40 + 8 + 500);
        assertThat(u16(d, 4)).isEqualTo(508);
        assertThat(d[6] & 0xff).isEqualTo(HOP_BY_HOP);
        assertThat(d[40] & 0xff).isEqualTo(UDP);
        assertThat(Arrays.copyOfRange(d, 48, d.length)).isEqualTo(whole);
        assertThat(stats.ip6AtomicFragments).isEqualTo(2);
        assertThat(r.pending()).isZero();
    }

    @Test
    void timeoutReportsFragmentZeroOnly() {
        byte[] data = udpLike(3000, 14);
        fragment(19, data, 0, 1232, true); // fragment zero, not the rest
        fragment(20, data, 1232, 1232, true); // no fragment zero
        assertThat(r.pending()).isEqualTo(2);
        now += 59 * SECOND;
        timers.runExpired(now);
        assertThat(r.pending()).isEqualTo(2);
        now += SECOND; // 60 s: RFC 8200 §4.5
        timers.runExpired(now);
        assertThat(r.pending()).isZero();
        assertThat(r.memory()).isZero();
        assertThat(stats.ip6FragTimeouts).isEqualTo(2);
        assertThat(timedOut).hasSize(1); // only where fragment zero came
        byte[] q = timedOut.get(0);
        // Fragment zero as it came, cut to what an ICMPv6 error may quote.
        assertThat(q).hasSize(Ipv6Reassembly.MAX_QUOTE);
        assertThat(u16(q, 4)).isEqualTo(8 + 1232); // its own Payload Length
        assertThat(q[6] & 0xff).isEqualTo(FRAGMENT);
        assertThat(q[40] & 0xff).isEqualTo(UDP);
        assertThat(u16(q, 42)).isEqualTo(1); // offset 0, M set
        assertThat(q[47]).isEqualTo((byte) 19);
        assertThat(Arrays.copyOfRange(q, 48, q.length)).isEqualTo(Arrays.copyOfRange(data, 0, q.length - 48));
    }

    @Test
    void timeoutQuotesASmallFragmentZeroWhole() {
        byte[] data = udpLike(100, 15);
        fragment(hbh, UDP, 21, data, 0, 16, true);
        now += 60 * SECOND;
        timers.runExpired(now);
        assertThat(timedOut).hasSize(1);
        byte[] q = timedOut.get(0);
        assertThat(q).hasSize(40 + 8 + 8 + 16);
        assertThat(q[6] & 0xff).isEqualTo(HOP_BY_HOP);
        assertThat(q[40] & 0xff).isEqualTo(FRAGMENT); // the hop-by-hop header as it came
        assertThat(q[48] & 0xff).isEqualTo(UDP);
        assertThat(Arrays.copyOfRange(q, 56, 72)).isEqualTo(Arrays.copyOfRange(data, 0, 16));
    }

    @Test
    void memoryIsBoundedByEvictingTheOldest() {
        int max = 64 * 1024;
        r = newReassembly(max, 64);
        byte[] data = udpLike(16_000, 16);
        for (int id = 100; id < 140; id++) { // one sender, many partial datagrams
            fragment(id, data, 0, 1232, true);
            fragment(id, data, 1232, 1232, true);
            fragment(id, data, 2464, 1232, true);
            assertThat(r.memory()).isLessThanOrEqualTo(max);
        }
        assertThat(stats.ip6FragMemory).isPositive();
        assertThat(r.pending()).isLessThan(40);
        // The newest datagram survived and completes.
        for (int off = 3696; off < data.length; off += 1232) {
            fragment(139, data, off, Math.min(1232, data.length - off), off + 1232 < data.length);
            assertThat(r.memory()).isLessThanOrEqualTo(max);
        }
        assertThat(delivered).hasSize(1);
        assertPlainDatagram(delivered.get(0), UDP, data);
        // The oldest was evicted: its rest cannot complete it.
        for (int off = 3696; off < data.length; off += 1232) {
            fragment(100, data, off, Math.min(1232, data.length - off), off + 1232 < data.length);
        }
        assertThat(delivered).hasSize(1);
        assertThat(r.memory()).isLessThanOrEqualTo(max);
    }

    @Test
    void entriesAloneAreBoundedToo() {
        r = newReassembly(10 * Ipv6Reassembly.ENTRY_OVERHEAD + 8 * 1024, 64);
        byte[] data = udpLike(64, 17);
        for (int id = 0; id < 1000; id++) {
            fragment(id, data, 8, 8, true); // a tiny fragment each
            assertThat(r.memory()).isLessThanOrEqualTo(10 * Ipv6Reassembly.ENTRY_OVERHEAD + 8 * 1024);
        }
        assertThat(r.pending()).isLessThanOrEqualTo(10);
        assertThat(timers.size()).isEqualTo(r.pending());
    }

    @Test
    void tooManyFragmentsDiscardTheDatagram() {
        r = newReassembly(Ipv6Reassembly.DEFAULT_MAX_MEMORY, 4);
        byte[] data = udpLike(80, 18);
        for (int off = 0; off < 80; off += 8) {
            fragment(22, data, off, 8, off + 8 < 80);
        }
        assertThat(stats.ip6FragTooMany).isEqualTo(1);
        assertThat(stats.ip6FragDropped).isEqualTo(5); // the ones after the fifth
        assertThat(delivered).isEmpty();
        assertThat(r.memory()).isEqualTo(Ipv6Reassembly.ENTRY_OVERHEAD);
    }

    @Test
    void firstFragmentWithoutTheUpperLayerHeaderIsRefused() {
        // A destination options header after the fragment header, and nothing of UDP.
        byte[] chain = concat(optionsHeader(UDP, 16, 93), udpLike(64, 19));
        fragment(NONE, DEST_OPTS, 23, chain, 0, 16, true);
        assertThat(stats.ip6FragIncompleteChain).isEqualTo(1);
        assertThat(problems).hasSize(1);
        assertThat(problems.get(0)).containsExactly(Ipv6Reassembly.CODE_INCOMPLETE_HEADER_CHAIN, 0);
        assertThat(r.pending()).isZero();
        // With the UDP header in it, fine.
        fragment(NONE, DEST_OPTS, 24, chain, 0, 24, true);
        fragment(NONE, DEST_OPTS, 24, chain, 24, chain.length - 24, false);
        assertThat(delivered).hasSize(1);
        assertPlainDatagram(delivered.get(0), DEST_OPTS, chain);

        byte[] tcp = new byte[64];
        tcp[12] = (byte) (5 << 4); // a 20-byte TCP header
        fragment(NONE, TCP, 25, tcp, 0, 16, true); // only 16 bytes of it
        assertThat(stats.ip6FragIncompleteChain).isEqualTo(2);
        tcp[12] = (byte) (15 << 4); // a 60-byte TCP header, 24 bytes in the first fragment
        fragment(NONE, TCP, 26, tcp, 0, 24, true);
        assertThat(stats.ip6FragIncompleteChain).isEqualTo(3);
        tcp[12] = (byte) (5 << 4);
        fragment(NONE, TCP, 27, tcp, 0, 24, true);
        assertThat(stats.ip6FragIncompleteChain).isEqualTo(3);
        assertThat(r.pending()).isEqualTo(1);
        assertThat(problems).hasSize(3);
    }

    @Test
    void headerChainWalk() {
        ByteBuf b = alloc.heapBuffer(256);
        try {
            byte[] chain = concat(concat(optionsHeader(51, 16, 94), new byte[] {17, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                0, 0, 0}), udpLike(16, 20)); // destination options, AH of (2 + 2) * 4 = 16 bytes, UDP
            b.writeBytes(chain);
            assertThat(Ipv6Reassembly.holdsUpperLayerHeader(b, 0, chain.length, DEST_OPTS)).isTrue();
            assertThat(Ipv6Reassembly.holdsUpperLayerHeader(b, 0, 40, DEST_OPTS)).isTrue();
            assertThat(Ipv6Reassembly.holdsUpperLayerHeader(b, 0, 39, DEST_OPTS)).isFalse();
            assertThat(Ipv6Reassembly.holdsUpperLayerHeader(b, 0, 32, DEST_OPTS)).isFalse();
            assertThat(Ipv6Reassembly.holdsUpperLayerHeader(b, 0, 20, DEST_OPTS)).isFalse();
            assertThat(Ipv6Reassembly.holdsUpperLayerHeader(b, 0, 1, DEST_OPTS)).isFalse();
            assertThat(Ipv6Reassembly.holdsUpperLayerHeader(b, 0, 0, 59)).isTrue(); // no next header
            assertThat(Ipv6Reassembly.holdsUpperLayerHeader(b, 0, 8, 58)).isTrue(); // ICMPv6
            assertThat(Ipv6Reassembly.holdsUpperLayerHeader(b, 0, 7, 58)).isFalse();
        } finally {
            b.release();
        }
    }

    @Test
    void conflictingEndsDiscardTheDatagram() {
        byte[] data = udpLike(100, 21);
        fragment(28, data, 0, 16, true);
        fragment(28, data, 64, 8, false); // ends at 72
        fragment(28, data, 16, 8, false); // a second, different end
        assertThat(stats.ip6FragMalformed).isEqualTo(1);
        fragment(28, data, 16, 48, true);
        assertThat(delivered).isEmpty();
        assertThat(stats.ip6FragDropped).isEqualTo(1);
    }

    @Test
    void inconsistentCallsAreDroppedWithoutThrowing() {
        byte[] data = udpLike(64, 22);
        // Payload Length beyond the frame.
        ByteBuf p = packet(FRAGMENT, NONE, UDP, 31, 0, true, data, 0, 16);
        p.setShort(IPO + 4, 2000);
        input(p, NONE);
        // The Next Header field given does not name a fragment header.
        p = packet(UDP, NONE, UDP, 32, 0, true, data, 0, 16);
        input(p, NONE);
        // A jumbogram's zero Payload Length.
        p = packet(FRAGMENT, NONE, UDP, 33, 0, true, data, 0, 16);
        p.setShort(IPO + 4, 0);
        input(p, NONE);
        // A fragment header past the packet.
        p = packet(FRAGMENT, NONE, UDP, 34, 0, true, data, 0, 16);
        try {
            r.input(p, IPO, IPO + 6, IPO + 60, now);
            r.input(p, -1, IPO + 6, IPO + 40, now);
            r.input(p, p.writerIndex(), IPO + 6, IPO + 40, now);
        } finally {
            p.release();
        }
        // A fragment with M set and no data.
        fragment(35, data, 8, 0, true);
        assertThat(stats.ip6FragMalformed).isEqualTo(7);
        assertThat(r.pending()).isZero();
        assertThat(delivered).isEmpty();
    }
}
