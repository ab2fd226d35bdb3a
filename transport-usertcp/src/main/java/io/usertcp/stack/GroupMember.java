package io.usertcp.stack;

import io.netty.buffer.ByteBuf;
import io.usertcp.tcp.FlowSteering;
import io.usertcp.tcp.SourceHistory;
import io.usertcp.tcp.TcpFlow;
import io.usertcp.udp.PortSteering;
import io.usertcp.wire.IpAddress;

import java.util.Queue;

/**
 * One stack's part in a {@link StackGroup}: its ephemeral ports, its entries in the group's directories, and its
 * inbox of packets other stacks of the group received for it. Everything but {@link #offer} runs on the stack's own
 * thread; {@link #offer} is how other stacks' threads hand packets over (a bounded multi-producer queue and a
 * wake-up: no lock).
 *
 * <p>A handed-over packet is a copy in a buffer of its own, behind a header of {@value #HEADER} bytes: the kind,
 * the addresses as 128-bit halves and flags, so that the owner needs nothing else to process it. ICMP errors
 * about a TCP flow or a UDP port of another stack are handed over the same way, as reports (ports, code, sender).
 */
final class GroupMember implements FlowSteering, PortSteering {
    static final int KIND_FRAME = 0;
    static final int KIND_TCP = 1;
    static final int KIND_UDP = 2;
    static final int KIND_TCP_ICMP = 3;
    static final int KIND_UDP_ICMP = 4;
    private static final int FLAG_CHECKSUM_TRUSTED = 1;
    private static final int FLAG_BROADCAST = 2;
    /** kind (4), source and destination as halves (32), flags (4). */
    static final int HEADER = 40;

    private static final int ETHERTYPE_ARP = 0x0806;
    private static final int ETHERTYPE_IPV6 = 0x86dd;
    private static final int PROTO_ICMPV6 = 58;

    private final StackGroup group;
    private final int index;
    private final Stack stack;
    private final Runnable wakeup;
    private final Queue<ByteBuf> inbox;
    private final FlowDirectory.Key probe;
    private volatile boolean closed;

    /** {@code inbox}: a bounded queue safe for several producers and one consumer at a time. */
    GroupMember(StackGroup group, int index, Stack stack, Runnable wakeup, Queue<ByteBuf> inbox) {
        this.group = group;
        this.inbox = inbox;
        this.index = index;
        this.stack = stack;
        this.wakeup = wakeup;
        this.probe = group.flows.probe();
    }

    /** The group's record of sources that completed a handshake with any member. */
    SourceHistory sources() {
        return group.sources;
    }

    int index() {
        return index;
    }

    Stack stack() {
        return stack;
    }

    // ------------------------------------------------------------------ ports

    @Override
    public boolean mayUseEphemeral(int port) {
        return port % group.size() == index;
    }

    @Override
    public void bound(int port) {
        group.udpOwners.compareAndSet(port, 0, index + 1);
    }

    @Override
    public void unbound(int port, boolean stillBound) {
        if (!stillBound) {
            group.udpOwners.compareAndSet(port, index + 1, 0);
        }
    }

    // ------------------------------------------------------------------ TCP flows

    @Override
    public void opened(TcpFlow f, long lHi, long lLo, int lPort, long rHi, long rLo, int rPort) {
        group.flows.put(f, lHi, lLo, lPort, rHi, rLo, rPort);
    }

    @Override
    public void replaced(TcpFlow old, TcpFlow now, long lHi, long lLo, int lPort, long rHi, long rLo, int rPort) {
        group.flows.replace(old, now, probe, lHi, lLo, lPort, rHi, rLo, rPort);
    }

    @Override
    public void closed(TcpFlow f, long lHi, long lLo, int lPort, long rHi, long rLo, int rPort) {
        group.flows.remove(f, probe, lHi, lLo, lPort, rHi, rLo, rPort);
    }

    @Override
    public boolean foreign(ByteBuf f, int o, int len, long srcHi, long srcLo, long dstHi, long dstLo, int srcPort,
                           int dstPort) {
        TcpFlow c = group.flows.get(probe, dstHi, dstLo, dstPort, srcHi, srcLo, srcPort);
        if (c == null || c.layer() == stack.tcp()) {
            return false;
        }
        GroupMember owner = group.ownerOf(c);
        if (owner == null) {
            return false;
        }
        owner.offer(stack, copy(KIND_TCP, f, o, len, srcHi, srcLo, dstHi, dstLo, FLAG_CHECKSUM_TRUSTED));
        return true;
    }

    @Override
    public boolean listenerMissing(long dstHi, long dstLo, int port) {
        SharedListener l = group.listener(port);
        return l != null && l.install(stack);
    }

    /**
     * An ICMP error (or, with {@code mtu} >= 0, a packet-too-big report) about a TCP flow: if another stack of the
     * group holds the connection, hands the report to it (the tun driver put the ICMP message on a queue by its own
     * hash, not the flow's) and returns true.
     */
    boolean tcpIcmpElsewhere(long lHi, long lLo, int lPort, long rHi, long rLo, int rPort, int seq, boolean hard,
                             int mtu, String description) {
        TcpFlow c = group.flows.get(probe, lHi, lLo, lPort, rHi, rLo, rPort);
        GroupMember owner = c == null || c.layer() == stack.tcp() ? null : group.ownerOf(c);
        if (owner == null) {
            return false;
        }
        byte[] text = (description != null ? description : "").getBytes(java.nio.charset.StandardCharsets.UTF_8);
        ByteBuf b = stack.alloc().directBuffer(HEADER + 16 + text.length);
        b.writeInt(KIND_TCP_ICMP).writeLong(rHi).writeLong(rLo).writeLong(lHi).writeLong(lLo).writeInt(hard ? 1 : 0);
        b.writeInt(lPort).writeInt(rPort).writeInt(seq).writeInt(mtu).writeBytes(text);
        owner.offer(stack, b);
        return true;
    }

    // ------------------------------------------------------------------ UDP

    /**
     * A UDP datagram for {@code dport}: if another stack of the group has that port bound, hands it a copy and
     * returns true.
     */
    boolean udpElsewhere(ByteBuf f, int o, int len, long srcHi, long srcLo, long dstHi, long dstLo,
                         boolean checksumTrusted, boolean broadcast) {
        if (len < 8) {
            return false;
        }
        GroupMember m = udpOwner(f.getUnsignedShort(o + 2));
        if (m == null) {
            return false;
        }
        m.offer(stack, copy(KIND_UDP, f, o, len, srcHi, srcLo, dstHi, dstLo,
                (checksumTrusted ? FLAG_CHECKSUM_TRUSTED : 0) | (broadcast ? FLAG_BROADCAST : 0)));
        return true;
    }

    /**
     * A destination-unreachable (IPv4 {@code code}; ICMPv6 codes mapped onto them) about a UDP datagram sent from
     * {@code localPort}: if another stack of the group has that port bound, hands it the report (the tun driver
     * queues ICMP by its own hash, not the quoted flow's) and returns true.
     */
    boolean udpIcmpElsewhere(int code, long lHi, long lLo, int lPort, long rHi, long rLo, int rPort,
                             IpAddress from) {
        GroupMember m = udpOwner(lPort);
        if (m == null) {
            return false;
        }
        ByteBuf b = stack.alloc().directBuffer(HEADER + 25);
        b.writeInt(KIND_UDP_ICMP).writeLong(rHi).writeLong(rLo).writeLong(lHi).writeLong(lLo).writeInt(code);
        b.writeInt(lPort).writeInt(rPort).writeBoolean(from != null);
        b.writeLong(from != null ? from.hi() : 0).writeLong(from != null ? from.lo() : 0);
        m.offer(stack, b);
        return true;
    }

    /** The other member of the group that has UDP port {@code port} bound, or null (none, or this one). */
    private GroupMember udpOwner(int port) {
        int owner = group.udpOwners.get(port) - 1;
        return owner < 0 || owner == index ? null : group.member(owner);
    }

    // ------------------------------------------------------------------ ARP and NDP

    /**
     * Whether {@code f} (a frame as the link delivers it, {@code vnet} bytes of virtio header first) is ARP or
     * NDP (ICMPv6 types 133-137 right behind the IPv6 header): what every stack of the group must see.
     */
    static boolean isNeighborFrame(ByteBuf f, int vnet) {
        int e = f.readerIndex() + vnet;
        if (f.writerIndex() - e < 14) {
            return false;
        }
        int type = f.getUnsignedShort(e + 12);
        if (type == ETHERTYPE_ARP) {
            return true;
        }
        if (type != ETHERTYPE_IPV6 || f.writerIndex() - e < 14 + 41) {
            return false;
        }
        int icmpType = f.getUnsignedByte(e + 14 + 40);
        return f.getUnsignedByte(e + 14 + 6) == PROTO_ICMPV6 && icmpType >= 133 && icmpType <= 137;
    }

    /** Hands a copy of the frame {@code f} to every other stack of the group. */
    void copyToOthers(ByteBuf f) {
        for (int i = 0; i < group.size(); i++) {
            GroupMember m = group.member(i);
            if (m != null && m != this) {
                ByteBuf b = stack.alloc().directBuffer(HEADER + f.readableBytes());
                b.writeInt(KIND_FRAME).writeZero(HEADER - 4).writeBytes(f, f.readerIndex(), f.readableBytes());
                m.offer(stack, b);
            }
        }
    }

    // ------------------------------------------------------------------ the inbox

    private ByteBuf copy(int kind, ByteBuf f, int o, int len, long srcHi, long srcLo, long dstHi, long dstLo,
                         int flags) {
        ByteBuf b = stack.alloc().directBuffer(HEADER + len);
        b.writeInt(kind).writeLong(srcHi).writeLong(srcLo).writeLong(dstHi).writeLong(dstLo).writeInt(flags);
        b.writeBytes(f, o, len);
        return b;
    }

    /**
     * Called by {@code from}'s thread: queues {@code b} (taking it) and wakes this stack's thread. A closed inbox
     * refuses it; if the inbox closes while {@code b} goes in, whatever the owner's last drain missed is freed here.
     */
    private void offer(Stack from, ByteBuf b) {
        if (closed || !inbox.offer(b)) {
            b.release();
            if (closed) {
                from.stats().dropGroupMemberClosed++;
            } else {
                from.stats().dropGroupInboxFull++;
            }
            return;
        }
        if (closed) {
            // The owner closed the inbox between our check and our offer: its drain may have run before our packet
            // went in. The inbox is its owner's no more, so we drain it (drainClosed takes turns with the owner's).
            drainClosed();
            from.stats().dropGroupMemberClosed++;
            return;
        }
        from.stats().groupForwarded++;
        wakeup.run();
    }

    /** Whether packets wait in the inbox. */
    boolean hasInbox() {
        return !inbox.isEmpty();
    }

    /** The next packet of the inbox, or null (always, once it is closed: then only {@link #drainClosed} takes). */
    ByteBuf poll() {
        return closed ? null : inbox.poll();
    }

    /** Processes one packet from the inbox in this stack; the caller releases {@code b}. */
    void deliver(ByteBuf b) {
        stack.stats().groupReceived++;
        int kind = b.getInt(0);
        if (kind == KIND_FRAME) {
            stack.input(b.readerIndex(HEADER));
            return;
        }
        long srcHi = b.getLong(4);
        long srcLo = b.getLong(12);
        long dstHi = b.getLong(20);
        long dstLo = b.getLong(28);
        int flags = b.getInt(36);
        int len = b.writerIndex() - HEADER;
        if (kind == KIND_TCP) {
            stack.tcp().input(b, HEADER, len, srcHi, srcLo, dstHi, dstLo, true);
        } else if (kind == KIND_TCP_ICMP) {
            int lPort = b.getInt(HEADER);
            int rPort = b.getInt(HEADER + 4);
            int seq = b.getInt(HEADER + 8);
            int mtu = b.getInt(HEADER + 12);
            if (mtu >= 0) {
                stack.tcp().icmpPacketTooBig(dstHi, dstLo, lPort, srcHi, srcLo, rPort, seq, mtu);
            } else {
                stack.tcp().icmpError(dstHi, dstLo, lPort, srcHi, srcLo, rPort, seq, flags == 1,
                        b.toString(HEADER + 16, len - 16, java.nio.charset.StandardCharsets.UTF_8));
            }
        } else if (kind == KIND_UDP_ICMP) {
            IpAddress from = b.getBoolean(HEADER + 8) ? IpAddress.of(b.getLong(HEADER + 9), b.getLong(HEADER + 17))
                    : null;
            stack.udp().icmpError(flags, dstHi, dstLo, b.getInt(HEADER), srcHi, srcLo, b.getInt(HEADER + 4), from);
        } else {
            stack.udp().input(b, HEADER, len, srcHi, srcLo, dstHi, dstLo, (flags & FLAG_CHECKSUM_TRUSTED) != 0,
                    (flags & FLAG_BROADCAST) != 0);
        }
    }

    /** The stack is closing: leave the group, refuse further packets and free those waiting. */
    void leave() {
        group.leave(index);
        closeInbox();
    }

    /** Refuses further packets and frees those waiting. */
    void closeInbox() {
        closed = true;
        drainClosed();
    }

    /**
     * Frees what waits in a closed inbox. The owner's thread (at close) and producers that offered while it closed
     * may both call it: the lock makes them take turns as the queue's one consumer. Why nothing is left behind: a
     * producer's offer (an atomic update of the queue's producer index) comes before its second read of
     * {@link #closed}, and the owner's write of {@code closed} before its drain reads that index; so either the
     * drain sees the packet (and waits for it if it is still being stored), or the producer sees the inbox closed
     * and drains it itself.
     */
    private synchronized void drainClosed() {
        ByteBuf b;
        while ((b = inbox.poll()) != null) {
            b.release();
        }
    }
}
