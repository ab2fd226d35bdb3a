package io.usertcp.ip;

import io.usertcp.util.KeyedHash;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.usertcp.stats.StackStats;
import io.usertcp.time.TimerQueue;


/**
 * IPv6 reassembly (RFC 8200 §4.5): fragments with the same source, destination and identification are copied
 * into one buffer per datagram until every byte from offset 0 to the last fragment's end has arrived; the
 * datagram is then handed to the {@link Output} without its fragment header: the Unfragmentable Part of the
 * fragment with offset 0 (the IPv6 header and the extension headers before the fragment header) in front,
 * its Payload Length rewritten and the Next Header field that named the fragment header set to the fragment
 * header's Next Header, ready for the usual extension header walk.
 *
 * <p>Defences, all counted in {@link StackStats} and none ever throwing:
 * <ul>
 *   <li>memory: the buffers and bookkeeping of all datagrams together stay within a bound; to make room the
 *       oldest datagrams are dropped first;</li>
 *   <li>at most a given number of fragments per datagram;</li>
 *   <li>a timeout (60 s by default, RFC 8200 §4.5) from the first fragment that came; on expiry the
 *       {@link Output} is told, so that an ICMPv6 Time Exceeded code 1 may be sent, if fragment zero came;</li>
 *   <li>overlapping fragments discard the whole datagram, and the fragments of it still to come until the
 *       timeout (RFC 5722 §4); exact duplicates (same offset, same end) are dropped alone, as RFC 8200 §4.5
 *       allows, without comparing their bytes;</li>
 *   <li>a fragment other than the last must carry a multiple of 8 bytes, and a datagram may not grow past a
 *       Payload Length of 65535 bytes: both are refused with a Parameter Problem code 0 reported to the
 *       {@link Output} (RFC 8200 §4.5);</li>
 *   <li>a first fragment must hold the whole header chain and the first bytes of the upper-layer header (8
 *       bytes, or the whole TCP header): else it is refused with a Parameter Problem code 3 (RFC 7112 §5,
 *       RFC 8200 §4.5).</li>
 * </ul>
 * An atomic fragment (offset 0, M clear) never enters the table: it is delivered at once, on its own
 * (RFC 6946 §4).
 *
 * <p>Owned by the stack's thread, like the stack.
 */
public final class Ipv6Reassembly extends FragmentTable<Ipv6Reassembly.Key, Ipv6Reassembly.Entry> {
    /** How long a datagram may take to arrive in full (RFC 8200 §4.5: 60 seconds). */
    public static final long DEFAULT_TIMEOUT_NANOS = 60_000_000_000L;
    /** Default bound on the memory of all datagrams being reassembled. */
    public static final int DEFAULT_MAX_MEMORY = 4 << 20;
    /** Default bound on the fragments of one datagram. */
    public static final int DEFAULT_MAX_FRAGMENTS = 64;
    /** Bookkeeping charged per datagram on top of its buffer, so that empty datagrams are bounded too. */
    public static final int ENTRY_OVERHEAD = FragmentTable.ENTRY_OVERHEAD;
    /** Length of the fixed IPv6 header. */
    public static final int HEADER_LENGTH = 40;
    /** Length of the fragment header (RFC 8200 §4.5). */
    public static final int FRAGMENT_HEADER_LENGTH = 8;
    /** The Next Header value of the fragment header. */
    public static final int NEXT_HEADER_FRAGMENT = 44;
    /** Parameter Problem code 0: erroneous header field encountered (RFC 4443 §3.4). */
    public static final int CODE_ERRONEOUS_HEADER_FIELD = 0;
    /** Parameter Problem code 3: IPv6 first fragment has incomplete header chain (RFC 7112 §5). */
    public static final int CODE_INCOMPLETE_HEADER_CHAIN = 3;
    /**
     * At most this much of fragment zero is given to {@link Output#timedOut}: what an ICMPv6 error may quote
     * without exceeding the minimum IPv6 MTU (1280 - 40 - 8, RFC 4443 §2.4 (c)).
     */
    public static final int MAX_QUOTE = 1232;
    /** Room before the payload for the Unfragmentable Part when fragment zero has not come yet. */
    static final int DEFAULT_HEADROOM = 64;
    private static final int MIN_CAPACITY = 2048;
    /** Largest Payload Length (RFC 8200 §3; jumbograms are never fragmented, RFC 2675 §3). */
    private static final int MAX_PAYLOAD_LENGTH = 65535;
    private static final int TCP = 6;
    private static final int NO_NEXT_HEADER = 59;

    /** Where complete and expired datagrams, and the errors to report, go. */
    public interface Output {
        /**
         * A datagram is complete: {@code datagram} holds it from {@code ipOffset} (its IPv6 header, the rest
         * of the Unfragmentable Part, then the fragmentable part; readerIndex and writerIndex bound it). Also
         * called for an atomic fragment, with its fragment header taken out. Borrowed: released after the
         * call, so retain what is kept.
         */
        void reassembled(ByteBuf datagram, int ipOffset);

        /**
         * A datagram whose fragment zero had arrived timed out (RFC 8200 §4.5): {@code length} bytes at
         * {@code ipOffset} are that fragment as it came (fragment header included), cut to {@link #MAX_QUOTE}
         * bytes, for an ICMPv6 Time Exceeded code 1 to quote. Borrowed, as above.
         */
        void timedOut(ByteBuf firstFragment, int ipOffset, int length);

        /**
         * A fragment was refused for a reason that RFC 8200 §4.5 or RFC 7112 §5 answers with an ICMPv6
         * Parameter Problem: {@code code} ({@link #CODE_ERRONEOUS_HEADER_FIELD} or
         * {@link #CODE_INCOMPLETE_HEADER_CHAIN}) and {@code pointer}, the offset of the faulty field from
         * {@code ipOffset}, are those of the message. {@code frame} is the fragment given to
         * {@link #input}; borrowed. The stack decides whether to send (rate limits, multicast destination).
         */
        void parameterProblem(ByteBuf frame, int ipOffset, int code, int pointer);
    }

    private final Output output;
    private final Key probe = new Key();

    /** A reassembler with the default bounds (60 s, 4 MiB, 64 fragments). */
    public Ipv6Reassembly(TimerQueue timers, ByteBufAllocator alloc, StackStats stats, Output output) {
        this(timers, alloc, stats, output, DEFAULT_TIMEOUT_NANOS, DEFAULT_MAX_MEMORY, DEFAULT_MAX_FRAGMENTS);
    }

    /**
     * A reassembler with the given bounds.
     *
     * @param timeoutNanos how long a datagram may take from its first fragment that came
     * @param maxMemory    bound on the bytes charged to all datagrams being reassembled
     * @param maxFragments bound on the fragments of one datagram
     */
    public Ipv6Reassembly(TimerQueue timers, ByteBufAllocator alloc, StackStats stats, Output output,
                          long timeoutNanos, int maxMemory, int maxFragments) {
        super(timers, alloc, stats, timeoutNanos, maxMemory, maxFragments);
        this.output = output;
    }

    /**
     * Takes one fragment: an IPv6 packet at {@code ipOffset} of {@code frame} whose fixed header the caller has
     * validated, and whose extension headers it has walked up to a fragment header at
     * {@code fragmentHeaderOffset}. {@code nextHeaderFieldOffset} is the absolute offset of the Next Header
     * field that named the fragment header: {@code ipOffset + 6}, or the first byte of the extension header
     * just before it. The packet ends where its Payload Length says, within {@code frame}'s writerIndex. Does
     * not take ownership of {@code frame}.
     */
    public void input(ByteBuf frame, int ipOffset, int nextHeaderFieldOffset, int fragmentHeaderOffset, long now) {
        stats.ip6FragmentsIn++;
        if (ipOffset < 0 || ipOffset + HEADER_LENGTH > frame.writerIndex()) {
            stats.ip6FragMalformed++;
            return;
        }
        int ipEnd = ipOffset + HEADER_LENGTH + frame.getUnsignedShort(ipOffset + 4);
        int unfragmentable = fragmentHeaderOffset - ipOffset; // the IPv6 header and what precedes the fragment header
        int data = fragmentHeaderOffset + FRAGMENT_HEADER_LENGTH;
        boolean fieldInPlace = nextHeaderFieldOffset == ipOffset + 6
                || (nextHeaderFieldOffset >= ipOffset + HEADER_LENGTH && nextHeaderFieldOffset < fragmentHeaderOffset);
        if (unfragmentable < HEADER_LENGTH || data > ipEnd || ipEnd > frame.writerIndex() || !fieldInPlace
                || frame.getUnsignedByte(nextHeaderFieldOffset) != NEXT_HEADER_FRAGMENT) {
            stats.ip6FragMalformed++; // not what the caller promised: a truncated packet, or a jumbogram
            return;
        }
        int len = ipEnd - data;
        int nextHeader = frame.getUnsignedByte(fragmentHeaderOffset);
        int offsetFlags = frame.getUnsignedShort(fragmentHeaderOffset + 2);
        int offset = offsetFlags & 0xfff8; // 13 bits of 8-byte units: the byte offset is the field with res/M masked
        boolean more = (offsetFlags & 1) != 0;
        if (offset == 0 && !more) {
            atomic(frame, ipOffset, nextHeaderFieldOffset - ipOffset, unfragmentable, nextHeader, data, len);
            return;
        }
        if (more && (len & 7) != 0) {
            stats.ip6FragMalformed++; // RFC 8200 §4.5: pointing at the Payload Length field
            output.parameterProblem(frame, ipOffset, CODE_ERRONEOUS_HEADER_FIELD, 4);
            return;
        }
        if (len == 0) {
            stats.ip6FragMalformed++; // a fragment without data carries nothing to reassemble
            return;
        }
        if (offset == 0 && !holdsUpperLayerHeader(frame, data, len, nextHeader)) {
            stats.ip6FragIncompleteChain++; // RFC 7112 §5: Parameter Problem code 3, pointer 0
            output.parameterProblem(frame, ipOffset, CODE_INCOMPLETE_HEADER_CHAIN, 0);
            return;
        }
        int end = offset + len;
        probe.set(hasher, frame.getLong(ipOffset + 8), frame.getLong(ipOffset + 16), frame.getLong(ipOffset + 24),
                frame.getLong(ipOffset + 32), frame.getInt(fragmentHeaderOffset + 4));
        Entry e = entries.get(probe);
        if (unfragmentable - HEADER_LENGTH + end > MAX_PAYLOAD_LENGTH) {
            stats.ip6FragMalformed++; // RFC 8200 §4.5: pointing at the Fragment Offset field
            if (e != null) {
                discard(e);
            }
            output.parameterProblem(frame, ipOffset, CODE_ERRONEOUS_HEADER_FIELD, unfragmentable + 2);
            return;
        }
        if (e == null) {
            if (!makeRoom(ENTRY_OVERHEAD, null)) {
                stats.ip6FragMemory++;
                return;
            }
            e = start(new Entry(new Key(probe)), now);
        } else if (e.discarded) {
            stats.ip6FragDropped++; // RFC 5722 §4: the rest of a discarded datagram goes too
            return;
        }
        add(e, frame, ipOffset, nextHeaderFieldOffset, fragmentHeaderOffset, offset, end, more);
    }

    /**
     * RFC 7112 §5: the first fragment must hold every extension header after the fragment header and the
     * upper-layer header: its first 8 bytes at least, the whole header for TCP (its data offset says how long).
     * "No Next Header" ends the chain with nothing more needed. {@code nextHeader} is the fragment header's.
     */
    static boolean holdsUpperLayerHeader(ByteBuf frame, int data, int len, int nextHeader) {
        int p = 0;
        int nh = nextHeader;
        while (true) {
            int hl;
            switch (nh) {
                case 0, 43, 60, 135, 139, 140 -> { // hop-by-hop, routing, destination, mobility, HIP, shim6
                    if (len - p < 2) {
                        return false;
                    }
                    hl = (frame.getUnsignedByte(data + p + 1) + 1) << 3; // RFC 8200 §4.3: 8-byte units, less one
                }
                case 51 -> { // authentication header: 4-byte units, less two (RFC 4302 §2.2)
                    if (len - p < 2) {
                        return false;
                    }
                    hl = (frame.getUnsignedByte(data + p + 1) + 2) << 2;
                }
                case NEXT_HEADER_FRAGMENT -> hl = FRAGMENT_HEADER_LENGTH;
                case NO_NEXT_HEADER -> {
                    return true;
                }
                case TCP -> {
                    int left = len - p;
                    return left >= 20 && left >= (frame.getUnsignedByte(data + p + 12) >>> 4) << 2;
                }
                default -> {
                    return len - p >= 8; // UDP, ICMPv6, ESP's SPI and sequence number, and the unknown
                }
            }
            if (len - p < hl) {
                return false;
            }
            nh = frame.getUnsignedByte(data + p);
            p += hl; // at least 8 bytes a step: the walk ends
        }
    }

    /** RFC 6946 §4: an atomic fragment is a whole datagram, processed in isolation from any other fragment. */
    private void atomic(ByteBuf frame, int ipOffset, int nextHeaderField, int unfragmentable, int nextHeader,
                        int data, int len) {
        int total = unfragmentable + len;
        ByteBuf d = alloc.directBuffer(total, total);
        try {
            d.writeBytes(frame, ipOffset, unfragmentable);
            d.writeBytes(frame, data, len);
            d.setShort(4, total - HEADER_LENGTH);
            d.setByte(nextHeaderField, nextHeader);
            stats.ip6AtomicFragments++;
            output.reassembled(d, 0);
        } finally {
            d.release();
        }
    }

    private void add(Entry e, ByteBuf frame, int ipOffset, int nextHeaderFieldOffset, int fragmentHeaderOffset,
                     int offset, int end, boolean more) {
        int n = e.count;
        if (!more) {
            if ((e.totalLength >= 0 && e.totalLength != end) || (n > 0 && e.ends[n - 1] > end)) {
                stats.ip6FragMalformed++; // two different ends, or data beyond the end
                discard(e);
                return;
            }
        } else if (e.totalLength >= 0 && end > e.totalLength) {
            stats.ip6FragMalformed++;
            discard(e);
            return;
        }
        int i = 0;
        while (i < n && e.starts[i] < offset) {
            i++;
        }
        if (i < n && e.starts[i] == offset && e.ends[i] == end) {
            stats.ip6FragDropped++; // an exact duplicate: not an overlap (RFC 8200 §4.5)
            return;
        }
        if ((i > 0 && e.ends[i - 1] > offset) || (i < n && e.starts[i] < end)) {
            stats.ip6FragOverlap++; // RFC 5722 §4: the whole datagram goes, silently
            discard(e);
            return;
        }
        if (n >= maxFragments) {
            stats.ip6FragTooMany++;
            discard(e);
            return;
        }
        if (!more) {
            e.totalLength = end; // from here on the buffer is sized exactly
        }
        int unfragmentable = fragmentHeaderOffset - ipOffset;
        if (!ensureCapacity(e, offset == 0 ? unfragmentable : 0, end)) {
            stats.ip6FragMemory++;
            remove(e);
            return;
        }
        int data = fragmentHeaderOffset + FRAGMENT_HEADER_LENGTH;
        e.buf.setBytes(e.headroom + offset, frame, data, end - offset);
        if (offset == 0) {
            // RFC 8200 §4.5: the Unfragmentable Part and the Next Header come from the fragment with offset 0.
            e.unfragmentable = unfragmentable;
            e.nextHeaderField = nextHeaderFieldOffset - ipOffset;
            e.fragmentHeader = frame.getLong(fragmentHeaderOffset);
            e.buf.setBytes(e.headroom - unfragmentable, frame, ipOffset, unfragmentable);
        }
        e.insert(i, offset, end);
        e.received += end - offset;
        if (e.totalLength >= 0 && e.received == e.totalLength && e.unfragmentable > 0) {
            complete(e);
        }
    }

    private void complete(Entry e) {
        ByteBuf buf = e.buf;
        e.buf = null;
        remove(e);
        int ipo = e.headroom - e.unfragmentable;
        int payloadLength = e.unfragmentable - HEADER_LENGTH + e.totalLength;
        if (payloadLength > MAX_PAYLOAD_LENGTH) {
            stats.ip6FragMalformed++; // fragment zero's Unfragmentable Part makes it too long
            buf.release();
            return;
        }
        buf.setShort(ipo + 4, payloadLength);
        buf.setByte(ipo + e.nextHeaderField, (int) (e.fragmentHeader >>> 56));
        buf.setIndex(ipo, e.headroom + e.totalLength);
        stats.ip6Reassembled++;
        try {
            output.reassembled(buf, ipo);
        } finally {
            buf.release();
        }
    }

    /**
     * Makes the datagram's buffer hold {@code headroom} bytes (0: whatever it has) before the payload and
     * {@code need} bytes of payload, within the memory bound.
     */
    private boolean ensureCapacity(Entry e, int headroom, int need) {
        int old = e.buf == null ? 0 : e.buf.capacity();
        int h = e.buf == null ? (headroom > 0 ? headroom : DEFAULT_HEADROOM) : Math.max(e.headroom, headroom);
        if (e.buf != null && h == e.headroom && h + need <= old) {
            return true;
        }
        int payload;
        if (e.totalLength >= 0) {
            payload = e.totalLength; // the size is known: exactly that
        } else {
            payload = Math.min(MAX_PAYLOAD_LENGTH, Math.max(MIN_CAPACITY, (old - e.headroom) * 2));
        }
        int cap = h + Math.max(payload, need);
        ByteBuf nb = grow(e, cap);
        if (nb == null) {
            return false;
        }
        if (e.buf != null) {
            int u = e.unfragmentable;
            nb.setBytes(h - u, e.buf, e.headroom - u, u); // nothing before fragment zero came (u == 0)
            int filled = e.count == 0 ? 0 : e.ends[e.count - 1];
            nb.setBytes(h, e.buf, e.headroom, filled);
            e.buf.release();
        }
        e.buf = nb;
        e.headroom = h;
        return true;
    }

    @Override
    void countMemoryDrop() {
        stats.ip6FragMemory++;
    }

    @Override
    void timedOut(Entry e) {
        stats.ip6FragTimeouts++;
        if (e.unfragmentable > 0 && e.buf != null) {
            quoteFragmentZero(e);
        }
    }

    /** Rebuilds fragment zero as it came (fragment header included), cut to {@link #MAX_QUOTE}, for the Output. */
    private void quoteFragmentZero(Entry e) {
        int u = e.unfragmentable;
        int take = Math.max(0, Math.min(e.ends[0], MAX_QUOTE - u - FRAGMENT_HEADER_LENGTH)); // range 0 is fragment zero
        int total = u + FRAGMENT_HEADER_LENGTH + take;
        ByteBuf q = alloc.directBuffer(total, total);
        try {
            q.writeBytes(e.buf, e.headroom - u, u);
            q.writeLong(e.fragmentHeader);
            q.writeBytes(e.buf, e.headroom, take);
            output.timedOut(q, 0, Math.min(MAX_QUOTE, total));
        } finally {
            q.release();
        }
    }

    /** The hash code the key of a fragment with these fields gets (tests: hash flooding). */
    int keyHash(long srcHi, long srcLo, long dstHi, long dstLo, int id) {
        Key k = new Key();
        k.set(hasher, srcHi, srcLo, dstHi, dstLo, id);
        return k.hashCode();
    }

    /**
     * Source, destination and identification: what fragments of one datagram share (RFC 8200 §4.5). The
     * sender chooses all of them, so the hash code is keyed ({@link KeyedHash}) and keys are ordered.
     */
    static final class Key implements Comparable<Key> {
        long srcHi;
        long srcLo;
        long dstHi;
        long dstLo;
        int id;
        int hash;

        Key() {
        }

        Key(Key k) {
            srcHi = k.srcHi;
            srcLo = k.srcLo;
            dstHi = k.dstHi;
            dstLo = k.dstLo;
            id = k.id;
            hash = k.hash;
        }

        void set(KeyedHash hasher, long srcHi, long srcLo, long dstHi, long dstLo, int id) {
            this.srcHi = srcHi;
            this.srcLo = srcLo;
            this.dstHi = dstHi;
            this.dstLo = dstLo;
            this.id = id;
            this.hash = hasher.hash(srcHi, srcLo, dstHi, dstLo, id);
        }

        @Override
        public int compareTo(Key k) {
            int c = Long.compare(srcLo, k.srcLo);
            if (c == 0) {
                c = Long.compare(srcHi, k.srcHi);
            }
            if (c == 0) {
                c = Integer.compare(id, k.id);
            }
            if (c == 0) {
                c = Long.compare(dstLo, k.dstLo);
            }
            return c != 0 ? c : Long.compare(dstHi, k.dstHi);
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Key k && k.id == id && k.srcLo == srcLo && k.dstLo == dstLo && k.srcHi == srcHi
                    && k.dstHi == dstHi;
        }

        @Override
        public int hashCode() {
            return hash;
        }
    }

    /** One datagram being reassembled; its timer is the reassembly timeout. */
    final class Entry extends FragmentTable<Key, Entry>.Datagram {
        /** Headroom bytes in {@code buf} (room for the Unfragmentable Part) before the fragmentable part. */
        int headroom;
        /** Length of fragment zero's Unfragmentable Part (IPv6 header included), 0 until it came. */
        int unfragmentable;
        /** Offset from the IPv6 header of the Next Header field that named the fragment header in fragment zero. */
        int nextHeaderField;
        /** Fragment zero's fragment header, as it came. */
        long fragmentHeader;

        Entry(Key key) {
            super(key);
        }
    }
}
