package io.usertcp.ip;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.usertcp.stats.StackStats;
import io.usertcp.time.TimerQueue;
import io.usertcp.util.KeyedHash;
import io.usertcp.wire.Checksum;
import io.usertcp.wire.Ipv4;
import io.usertcp.wire.Tcp;
import io.usertcp.wire.Udp;


/**
 * IPv4 reassembly (RFC 791 §3.2, RFC 815; RFC 1122 §3.3.2): fragments with the same source, destination,
 * protocol and identification are copied into one buffer per datagram until every byte from offset 0 to the
 * last fragment's end has arrived; the datagram is then handed to the {@link Output} with the first
 * fragment's header in front of it (total length set, MF and offset cleared), ready for the usual protocol
 * demultiplexing.
 *
 * <p>Defences, all counted in {@link StackStats} and none ever throwing:
 * <ul>
 *   <li>memory: the buffers and bookkeeping of all datagrams together stay within a bound; to make room the
 *       oldest datagrams are dropped first;</li>
 *   <li>at most a given number of fragments per datagram;</li>
 *   <li>a timeout (30 s by default) from the first fragment; on expiry an ICMP "fragment reassembly time
 *       exceeded" may be sent if fragment zero came (RFC 1122 §3.3.2; the {@link Output} decides);</li>
 *   <li>overlapping fragments discard the whole datagram, and the fragments of it still to come, as RFC 5722
 *       demands for IPv6 (applied here to IPv4 too); exact duplicates are dropped alone (RFC 8200 §4.5);</li>
 *   <li>a first fragment must hold the whole transport header (8 bytes at least; all of a TCP header, UDP's
 *       8 bytes), and a TCP fragment at offset 8 is refused (the tiny fragment attacks of RFC 1858 §3,
 *       RFC 3128);</li>
 *   <li>a datagram may not grow beyond 65535 bytes (RFC 791's total length).</li>
 * </ul>
 *
 * <p>Owned by the stack's thread, like the stack.
 */
public final class Ipv4Reassembly extends FragmentTable<Ipv4Reassembly.Key, Ipv4Reassembly.Entry> {
    /** How long a datagram may take to arrive in full (Linux's ipfrag_time). */
    public static final long DEFAULT_TIMEOUT_NANOS = 30_000_000_000L;
    /** Default bound on the memory of all datagrams being reassembled. */
    public static final int DEFAULT_MAX_MEMORY = 4 << 20;
    /** Default bound on the fragments of one datagram. */
    public static final int DEFAULT_MAX_FRAGMENTS = 64;
    /** Bookkeeping charged per datagram on top of its buffer, so that empty datagrams are bounded too. */
    public static final int ENTRY_OVERHEAD = FragmentTable.ENTRY_OVERHEAD;
    /** Room before the payload for the first fragment's header, which may carry options. */
    static final int HEADROOM = Ipv4.MAX_HEADER_LENGTH;
    private static final int MIN_CAPACITY = 2048;
    /** Largest payload end of a datagram: its total length is at most 65535 with at least 20 bytes of header. */
    private static final int MAX_PAYLOAD = 65535 - Ipv4.MIN_HEADER_LENGTH;

    /** Where complete and expired datagrams go. */
    public interface Output {
        /**
         * A datagram is complete: {@code datagram} holds it from {@code ipOffset} (its IPv4 header, then the
         * payload; readerIndex and writerIndex bound it). Borrowed: released after the call, so retain what is
         * kept.
         */
        void reassembled(ByteBuf datagram, int ipOffset);

        /**
         * A datagram whose fragment zero had arrived timed out: {@code length} bytes at {@code ipOffset} are
         * that fragment's header and its first (up to 8) payload bytes, as an ICMP time exceeded quotes them.
         * Borrowed, as above.
         */
        void timedOut(ByteBuf datagram, int ipOffset, int length);
    }

    private final Output output;
    private final Key probe = new Key();

    /** A reassembler with the default bounds (30 s, 4 MiB, 64 fragments). */
    public Ipv4Reassembly(TimerQueue timers, ByteBufAllocator alloc, StackStats stats, Output output) {
        this(timers, alloc, stats, output, DEFAULT_TIMEOUT_NANOS, DEFAULT_MAX_MEMORY, DEFAULT_MAX_FRAGMENTS);
    }

    public Ipv4Reassembly(TimerQueue timers, ByteBufAllocator alloc, StackStats stats, Output output,
                          long timeoutNanos, int maxMemory, int maxFragments) {
        super(timers, alloc, stats, timeoutNanos, maxMemory, maxFragments);
        this.output = output;
    }

    /**
     * Takes one fragment: a datagram with MF set or a non-zero offset, whose IPv4 header at {@code o} the
     * caller has validated (version, lengths, checksum). Does not take ownership of {@code frame}.
     */
    public void input(ByteBuf frame, int o, long now) {
        stats.ipFragmentsIn++;
        int hl = Ipv4.headerLength(frame, o);
        int len = Ipv4.totalLength(frame, o) - hl;
        int ff = Ipv4.flagsFragment(frame, o);
        boolean more = (ff & Ipv4.FLAG_MF) != 0;
        int offset = (ff & Ipv4.FRAGMENT_OFFSET_MASK) << 3;
        int end = offset + len;
        int protocol = Ipv4.protocol(frame, o);
        if (more && (len == 0 || (len & 7) != 0)) {
            stats.dropIpMalformed++; // RFC 791 §3.2: all but the last fragment carry a multiple of 8 bytes
            return;
        }
        if ((offset == 0 && !holdsTransportHeader(frame, o + hl, len, protocol))
                || (offset == 8 && protocol == Ipv4.PROTO_TCP)) {
            stats.dropIpTinyFragment++; // RFC 1858 §3.1 and §3.2 (tiny and overlapping TCP fragments)
            return;
        }
        probe.set(hasher, Ipv4.src(frame, o), Ipv4.dst(frame, o), protocol, Ipv4.id(frame, o));
        Entry e = entries.get(probe);
        if (end > MAX_PAYLOAD) {
            stats.dropIpMalformed++; // would make a datagram over 65535 bytes (the "ping of death")
            if (e != null) {
                discard(e);
            }
            return;
        }
        if (e == null) {
            if (!makeRoom(ENTRY_OVERHEAD, null)) {
                stats.dropIpReassemblyMemory++;
                return;
            }
            e = start(new Entry(new Key(probe)), now);
        } else if (e.discarded) {
            stats.dropIpFragment++; // RFC 5722: the rest of a discarded datagram goes too
            return;
        }
        add(e, frame, o, hl, offset, end, more);
    }

    /**
     * RFC 1858 §3.1 / RFC 3128: fragment zero must hold at least 8 bytes, and the whole transport header
     * for TCP (its data offset says how long) and UDP.
     */
    private static boolean holdsTransportHeader(ByteBuf frame, int l4, int len, int protocol) {
        if (len < 8) {
            return false;
        }
        if (protocol == Ipv4.PROTO_TCP) {
            return len >= Tcp.MIN_HEADER_LENGTH && len >= Tcp.headerLength(frame, l4);
        }
        return protocol != Ipv4.PROTO_UDP || len >= Udp.HEADER_LENGTH;
    }

    private void add(Entry e, ByteBuf frame, int o, int hl, int offset, int end, boolean more) {
        int n = e.count;
        int i = 0;
        while (i < n && e.starts[i] < offset) {
            i++;
        }
        if (i < n && e.starts[i] == offset && e.ends[i] == end) {
            stats.dropIpFragment++; // an exact duplicate: not an overlap (RFC 8200 §4.5)
            return;
        }
        if ((i > 0 && e.ends[i - 1] > offset) || (i < n && e.starts[i] < end)
                || (i < n && e.starts[i] == offset)) {
            stats.dropIpReassemblyOverlap++; // RFC 5722 §4
            discard(e);
            return;
        }
        if (!more) {
            if ((e.totalLength >= 0 && e.totalLength != end) || (n > 0 && e.ends[n - 1] > end)) {
                stats.dropIpMalformed++; // two different ends, or data beyond the end
                discard(e);
                return;
            }
            e.totalLength = end;
        } else if (e.totalLength >= 0 && end > e.totalLength) {
            stats.dropIpMalformed++;
            discard(e);
            return;
        }
        if (n >= maxFragments) {
            stats.dropIpReassemblyTooMany++;
            discard(e);
            return;
        }
        if (!ensureCapacity(e, HEADROOM + end)) {
            stats.dropIpReassemblyMemory++;
            remove(e);
            return;
        }
        e.buf.setBytes(HEADROOM + offset, frame, o + hl, end - offset);
        if (offset == 0) {
            e.headerLength = hl;
            e.buf.setBytes(HEADROOM - hl, frame, o, hl);
        }
        e.insert(i, offset, end);
        e.received += end - offset;
        if (e.totalLength >= 0 && e.received == e.totalLength && e.headerLength > 0) {
            complete(e);
        }
    }

    private void complete(Entry e) {
        ByteBuf buf = e.buf;
        e.buf = null;
        remove(e);
        int hl = e.headerLength;
        int ipo = HEADROOM - hl;
        int total = hl + e.totalLength;
        if (total > 65535) {
            stats.dropIpMalformed++;
            buf.release();
            return;
        }
        buf.setShort(ipo + 2, total);
        buf.setShort(ipo + 6, 0); // a whole datagram now: no MF, offset 0
        buf.setShort(ipo + 10, 0);
        buf.setShort(ipo + 10, Checksum.compute(buf, ipo, hl));
        buf.setIndex(ipo, ipo + total);
        stats.ipReassembled++;
        try {
            output.reassembled(buf, ipo);
        } finally {
            buf.release();
        }
    }

    /** Grows the datagram's buffer to hold {@code need} bytes, within the memory bound. */
    private boolean ensureCapacity(Entry e, int need) {
        int old = e.buf == null ? 0 : e.buf.capacity();
        if (need <= old) {
            return true;
        }
        int cap;
        if (e.totalLength >= 0) {
            cap = HEADROOM + e.totalLength; // the size is known: exactly that
        } else {
            cap = Math.min(HEADROOM + MAX_PAYLOAD, Math.max(MIN_CAPACITY, old * 2));
        }
        cap = Math.max(cap, need);
        ByteBuf nb = grow(e, cap);
        if (nb == null) {
            return false;
        }
        if (e.buf != null) {
            nb.setBytes(0, e.buf, 0, old);
            e.buf.release();
        }
        e.buf = nb;
        return true;
    }

    @Override
    void countMemoryDrop() {
        stats.dropIpReassemblyMemory++;
    }

    @Override
    void timedOut(Entry e) {
        stats.dropIpReassemblyTimeout++;
        if (e.headerLength > 0 && e.buf != null) {
            int quoted = Math.min(8, e.ends[0]); // fragment zero is the first range
            output.timedOut(e.buf, HEADROOM - e.headerLength, e.headerLength + quoted);
        }
    }

    /** The hash code the key of a fragment with these fields gets (tests: hash flooding). */
    int keyHash(int src, int dst, int protocol, int id) {
        return new Key().set(hasher, src, dst, protocol, id).hashCode();
    }

    /**
     * Source, destination, protocol and identification: what fragments of one datagram share (RFC 791). The
     * sender chooses all of them, so the hash code is keyed ({@link KeyedHash}) and keys are ordered.
     */
    static final class Key implements Comparable<Key> {
        int src;
        int dst;
        int protocolAndId;
        int hash;

        Key() {
        }

        Key(Key k) {
            src = k.src;
            dst = k.dst;
            protocolAndId = k.protocolAndId;
            hash = k.hash;
        }

        Key set(KeyedHash hasher, int src, int dst, int protocol, int id) {
            this.src = src;
            this.dst = dst;
            this.protocolAndId = protocol << 16 | id;
            this.hash = hasher.hash((long) src << 32 | (dst & 0xffffffffL), protocolAndId);
            return this;
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Key k && k.src == src && k.dst == dst && k.protocolAndId == protocolAndId;
        }

        @Override
        public int hashCode() {
            return hash;
        }

        @Override
        public int compareTo(Key k) {
            int c = Integer.compare(src, k.src);
            if (c == 0) {
                c = Integer.compare(protocolAndId, k.protocolAndId);
            }
            return c != 0 ? c : Integer.compare(dst, k.dst);
        }
    }

    /** One datagram being reassembled; its timer is the reassembly timeout. */
    final class Entry extends FragmentTable<Key, Entry>.Datagram {
        /** Header length of fragment zero, 0 until it came. */
        int headerLength;

        Entry(Key key) {
            super(key);
        }
    }
}
