package io.usertcp.ip;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.usertcp.stats.StackStats;
import io.usertcp.time.TimerQueue;
import io.usertcp.udp.RawPeer;
import io.usertcp.wire.Checksum;
import io.usertcp.wire.Ipv4;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/** {@link Ipv4Reassembly} alone: order, overlaps, duplicates, bounds, timeout and tiny fragments. */
class Ipv4ReassemblyTest {
    private static final int SRC = 0xC6120001;
    private static final int DST = 0xC6120002;
    private static final long SECOND = 1_000_000_000L;

    private final TimerQueue timers = new TimerQueue();
    private final StackStats stats = new StackStats();
    private final List<byte[]> delivered = new ArrayList<>();
    private final List<byte[]> timedOut = new ArrayList<>();
    private long now = 1000;
    private Ipv4Reassembly r = newReassembly(Ipv4Reassembly.DEFAULT_MAX_MEMORY, Ipv4Reassembly.DEFAULT_MAX_FRAGMENTS);

    private Ipv4Reassembly newReassembly(int maxMemory, int maxFragments) {
        return new Ipv4Reassembly(timers, PooledByteBufAllocator.DEFAULT, stats, new Ipv4Reassembly.Output() {
            @Override
            public void reassembled(ByteBuf d, int ipo) {
                assertThat(d.readerIndex()).isEqualTo(ipo);
                assertThat(Checksum.fold(Checksum.add(d, ipo, Ipv4.headerLength(d, ipo), 0))).isEqualTo(0xffff);
                assertThat(Ipv4.flagsFragment(d, ipo)).isZero();
                assertThat(Ipv4.totalLength(d, ipo)).isEqualTo(d.readableBytes());
                byte[] payload = new byte[d.readableBytes() - Ipv4.headerLength(d, ipo)];
                d.getBytes(ipo + Ipv4.headerLength(d, ipo), payload);
                delivered.add(payload);
            }

            @Override
            public void timedOut(ByteBuf d, int ipo, int length) {
                byte[] q = new byte[length];
                d.getBytes(ipo, q);
                timedOut.add(q);
            }
        }, 30 * SECOND, maxMemory, maxFragments);
    }

    @AfterEach
    void clear() {
        r.clear();
    }

    /** Feeds the fragment of {@code data} [off, off+len) of datagram {@code id}. */
    private void fragment(int protocol, int id, byte[] data, int off, int len, boolean more) {
        ByteBuf p = RawPeer.ipv4(SRC, DST, protocol, id, (more ? Ipv4.FLAG_MF : 0) | (off >>> 3), data, off, len);
        try {
            r.input(p, 0, now);
        } finally {
            p.release();
        }
    }

    private void fragment(int id, byte[] data, int off, int len, boolean more) {
        fragment(Ipv4.PROTO_UDP, id, data, off, len, more);
    }

    /** Cuts {@code data} into pieces of {@code per} bytes (a multiple of 8) and feeds them in the given order. */
    private void feed(int id, byte[] data, int per, List<Integer> order) {
        for (int i : order) {
            int off = i * per;
            fragment(id, data, off, Math.min(per, data.length - off), off + per < data.length);
        }
    }

    private static List<Integer> indices(int n) {
        List<Integer> l = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            l.add(i);
        }
        return l;
    }

    @Test
    void reassemblesInAnyOrder() {
        byte[] data = RawPeer.pattern(8008, 1);
        int n = (data.length + 1479) / 1480;
        feed(1, data, 1480, indices(n));
        List<Integer> reversed = indices(n);
        Collections.reverse(reversed);
        feed(2, data, 1480, reversed);
        List<Integer> shuffled = indices(n);
        Collections.shuffle(shuffled, new Random(5));
        feed(3, data, 1480, shuffled);

        assertThat(delivered).hasSize(3);
        for (byte[] d : delivered) {
            assertThat(d).isEqualTo(data);
        }
        assertThat(stats.ipReassembled).isEqualTo(3);
        assertThat(r.pending()).isZero();
        assertThat(r.memory()).isZero();
        assertThat(timers.size()).isZero();
    }

    @Test
    void overlapDiscardsTheWholeDatagramAndItsLaterFragments() {
        byte[] data = RawPeer.pattern(4000, 2);
        fragment(7, data, 0, 1480, true);
        fragment(7, data, 1472, 1480, true); // overlaps the first by 8 bytes
        assertThat(stats.dropIpReassemblyOverlap).isEqualTo(1);
        // What would have completed it is dropped too (RFC 5722).
        fragment(7, data, 1480, 1480, true);
        fragment(7, data, 2960, 1040, false);
        assertThat(delivered).isEmpty();
        assertThat(stats.dropIpFragment).isEqualTo(2);
        assertThat(r.memory()).isEqualTo(Ipv4Reassembly.ENTRY_OVERHEAD);

        // After the timeout the key is free again, and no time exceeded is sent for a discarded datagram.
        now += 30 * SECOND;
        timers.runExpired(now);
        assertThat(timedOut).isEmpty();
        feed(7, data, 1480, indices(3));
        assertThat(delivered).hasSize(1);
        assertThat(delivered.get(0)).isEqualTo(data);
    }

    @Test
    void exactDuplicatesAreDroppedAlone() {
        byte[] data = RawPeer.pattern(3000, 3);
        fragment(8, data, 0, 1480, true);
        fragment(8, data, 0, 1480, true);
        fragment(8, data, 1480, 1480, true);
        fragment(8, data, 1480, 1480, true);
        fragment(8, data, 2960, 40, false);
        assertThat(delivered).hasSize(1);
        assertThat(delivered.get(0)).isEqualTo(data);
        assertThat(stats.dropIpFragment).isEqualTo(2);
        assertThat(stats.dropIpReassemblyOverlap).isZero();
    }

    @Test
    void timeoutFreesEverythingAndQuotesFragmentZero() {
        byte[] data = RawPeer.pattern(3000, 4);
        fragment(9, data, 0, 1480, true); // fragment zero, not the rest
        fragment(10, data, 1480, 1480, true); // no fragment zero
        assertThat(r.pending()).isEqualTo(2);
        now += 29 * SECOND;
        timers.runExpired(now);
        assertThat(r.pending()).isEqualTo(2);
        now += SECOND;
        timers.runExpired(now);
        assertThat(r.pending()).isZero();
        assertThat(r.memory()).isZero();
        assertThat(stats.dropIpReassemblyTimeout).isEqualTo(2);
        assertThat(timedOut).hasSize(1); // only where fragment zero came (RFC 1122 §3.3.2)
        byte[] q = timedOut.get(0);
        assertThat(q).hasSize(Ipv4.MIN_HEADER_LENGTH + 8);
        for (int i = 0; i < 8; i++) {
            assertThat(q[Ipv4.MIN_HEADER_LENGTH + i]).isEqualTo(data[i]);
        }
        assertThat(q[6] & 0x20).isNotZero(); // the quoted header is fragment zero's own, MF set
    }

    @Test
    void memoryIsBoundedByEvictingTheOldest() {
        int max = 64 * 1024;
        r = newReassembly(max, 64);
        byte[] data = RawPeer.pattern(16_000, 5);
        for (int id = 100; id < 140; id++) {
            fragment(id, data, 0, 1480, true);
            fragment(id, data, 1480, 1480, true);
            fragment(id, data, 2960, 1480, true);
            assertThat(r.memory()).isLessThanOrEqualTo(max);
        }
        assertThat(stats.dropIpReassemblyMemory).isPositive();
        assertThat(r.pending()).isLessThan(40);
        // The newest datagram survived and completes.
        for (int off = 4440; off < data.length; off += 1480) {
            fragment(139, data, off, Math.min(1480, data.length - off), off + 1480 < data.length);
        }
        assertThat(delivered).hasSize(1);
        assertThat(delivered.get(0)).isEqualTo(data);
    }

    @Test
    void tooManyFragmentsDiscardTheDatagram() {
        r = newReassembly(Ipv4Reassembly.DEFAULT_MAX_MEMORY, 4);
        byte[] data = RawPeer.pattern(80, 6);
        for (int off = 0; off < 80; off += 8) {
            fragment(11, data, off, 8, off + 8 < 80);
        }
        assertThat(stats.dropIpReassemblyTooMany).isEqualTo(1);
        assertThat(delivered).isEmpty();
    }

    @Test
    void tinyFirstFragmentsAreRefused() {
        byte[] tcp = new byte[64];
        tcp[12] = (byte) (5 << 4); // a 20-byte TCP header
        fragment(Ipv4.PROTO_TCP, 12, tcp, 0, 16, true); // only 16 bytes of it
        assertThat(stats.dropIpTinyFragment).isEqualTo(1);
        tcp[12] = (byte) (15 << 4); // a 60-byte TCP header, 24 bytes in the first fragment
        fragment(Ipv4.PROTO_TCP, 13, tcp, 0, 24, true);
        assertThat(stats.dropIpTinyFragment).isEqualTo(2);
        fragment(Ipv4.PROTO_TCP, 14, tcp, 8, 16, true); // offset 8 could rewrite TCP flags (RFC 1858 §3.2)
        assertThat(stats.dropIpTinyFragment).isEqualTo(3);
        assertThat(r.pending()).isZero();

        byte[] udp = RawPeer.pattern(16, 7); // 8 bytes hold a whole UDP header: fine
        fragment(15, udp, 0, 8, true);
        fragment(15, udp, 8, 8, false);
        assertThat(delivered).hasSize(1);
    }

    @Test
    void malformedFragmentsAreCounted() {
        byte[] data = RawPeer.pattern(100, 8);
        fragment(16, data, 0, 12, true); // not a multiple of 8 with MF set
        assertThat(stats.dropIpMalformed).isEqualTo(1);
        ByteBuf huge = RawPeer.ipv4(SRC, DST, Ipv4.PROTO_UDP, 17, 8189, data, 0, 40); // ends past 65535
        r.input(huge, 0, now);
        huge.release();
        assertThat(stats.dropIpMalformed).isEqualTo(2);
        fragment(18, data, 0, 16, true);
        fragment(18, data, 64, 8, false); // ends at 72
        fragment(18, data, 16, 8, false); // a second, different end: the datagram is discarded
        assertThat(stats.dropIpMalformed).isEqualTo(3);
        fragment(18, data, 16, 48, true);
        assertThat(delivered).isEmpty();
        assertThat(stats.dropIpFragment).isEqualTo(1);
    }
}
