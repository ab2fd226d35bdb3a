package io.usertcp.stack;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.netty.util.internal.PlatformDependent;
import io.usertcp.tcp.TcpConnection;
import io.usertcp.time.Clock;
import io.usertcp.udp.UdpSocket;
import io.usertcp.wire.Ethernet;
import io.usertcp.wire.Icmpv4;
import io.usertcp.wire.Icmpv6;
import io.usertcp.wire.IpAddress;
import io.usertcp.wire.Ipv4;
import io.usertcp.wire.Ipv6;
import io.usertcp.wire.MacAddress;
import io.usertcp.wire.Tcp;
import io.usertcp.wire.Udp;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.util.AbstractQueue;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The pieces of a {@link StackGroup} (issue #12) on stacks driven by the test's thread: the split of ephemeral
 * ports, the flow directory and the hand-over of a segment for another stack's connection, the UDP port owners,
 * ARP/NDP copies, and the bounded inbox.
 */
class StackGroupTest {
    private static final IpAddress PEER = IpAddress.of(0, IpAddress.mappedLo(0xc6120001));
    private static final IpAddress STACK = IpAddress.v4(0xc6120002);
    private static final String STACK6_CIDR = "fd00:198::2/64";
    private static final IpAddress STACK6 = IpAddress.of(0xfd00_0198_0000_0000L, 2);
    private static final IpAddress PEER6 = IpAddress.of(0xfd00_0198_0000_0000L, 1);
    private final List<Stack> stacks = new ArrayList<>();
    private final AtomicInteger wakeups = new AtomicInteger();

    @AfterEach
    void close() {
        stacks.forEach(Stack::close);
    }

    private StackGroup group(int n) {
        StackGroup g = new StackGroup(n);
        for (int i = 0; i < n; i++) {
            Stack s = new Stack(StackConfig.builder().address("198.18.0.2/24").address(STACK6_CIDR).build(), null,
                    Clock.SYSTEM, ByteBufAllocator.DEFAULT);
            stacks.add(s);
            assertThat(g.join(s, wakeups::incrementAndGet)).isEqualTo(i);
        }
        return g;
    }

    @Test
    void ephemeralPortsAreSplitAmongTheStacks() throws Exception {
        group(3);
        for (int i = 0; i < 3; i++) {
            for (int k = 0; k < 20; k++) {
                TcpConnection c = stacks.get(i).tcp().connect(null, 0, PEER, 80 + k, 0, 0, 0);
                assertThat(c.localAddress().getPort() % 3).isEqualTo(i);
                UdpSocket u = stacks.get(i).udp().open();
                u.bind((IpAddress) null, 0);
                assertThat(u.localPort() % 3).isEqualTo(i);
            }
        }
    }

    @Test
    void aSegmentForAnotherStacksConnectionIsHandedOver() throws Exception {
        StackGroup g = group(2);
        TcpConnection c = stacks.get(0).tcp().connect(null, 0, PEER, 80, 0, 0, 0);
        int port = c.localAddress().getPort();
        assertThat(g.directorySize()).isEqualTo(1);
        // The peer's answer reaches stack 1's queue: stack 1 has no such connection and hands it to stack 0.
        ByteBuf seg = segment(80, port, Tcp.SYN | Tcp.ACK);
        Stack s0 = stacks.get(0);
        Stack s1 = stacks.get(1);
        s1.tcp().input(seg, 0, seg.readableBytes(), 0, PEER.lo(), 0, IpAddress.mappedLo(0xc6120002), true);
        seg.release();
        assertThat(s1.stats().groupForwarded).isEqualTo(1);
        assertThat(s1.stats().tcpResetsOut).as("no RST from the stack that is not the owner").isZero();
        assertThat(wakeups.get()).isEqualTo(1);
        assertThat(s0.hasPendingInput()).isTrue();
        long before = s0.stats().tcpSegmentsIn;
        s0.pollLink(16);
        assertThat(s0.stats().groupReceived).isEqualTo(1);
        assertThat(s0.stats().tcpSegmentsIn).isEqualTo(before + 1);
        assertThat(s0.hasPendingInput()).isFalse();
        // A segment for no connection of the group is the receiving stack's (here: a RST for nothing).
        ByteBuf stray = segment(81, port, Tcp.ACK);
        s1.tcp().input(stray, 0, stray.readableBytes(), 0, PEER.lo(), 0, IpAddress.mappedLo(0xc6120002), true);
        stray.release();
        assertThat(s1.stats().groupForwarded).isEqualTo(1);
        assertThat(s1.stats().dropTcpNoListener).isEqualTo(1);
        // An ICMP error about the flow that reaches stack 1 goes to stack 0 too (here: a sequence number not in
        // flight, so stack 0 counts it as ignored, RFC 5927).
        long icmpBefore = s0.stats().tcpIcmpIgnored + s0.stats().tcpIcmpErrors;
        assertThat(s1.groupMember().tcpIcmpElsewhere(0, IpAddress.mappedLo(0xc6120002), port, 0, PEER.lo(), 80, 12345,
                false, 1280, null)).isTrue();
        assertThat(s1.groupMember().tcpIcmpElsewhere(0, IpAddress.mappedLo(0xc6120002), port, 0, PEER.lo(), 80, 12345,
                true, -1, "port unreachable")).isTrue();
        assertThat(s0.groupMember().tcpIcmpElsewhere(0, IpAddress.mappedLo(0xc6120002), port, 0, PEER.lo(), 80, 12345,
                true, -1, "own")).as("the owner keeps its own").isFalse();
        s0.pollLink(16);
        assertThat(s0.stats().tcpIcmpIgnored + s0.stats().tcpIcmpErrors).isEqualTo(icmpBefore + 2);
        // Gone from its stack, gone from the directory.
        c.abort();
        assertThat(g.directorySize()).isZero();
    }

    @Test
    void aDatagramForAPortBoundOnAnotherStackIsHandedOver() throws Exception {
        group(2);
        UdpSocket u = stacks.get(1).udp().open();
        u.bind((IpAddress) null, 5000);
        GroupMember m0 = stacks.get(0).groupMember();
        ByteBuf d = Unpooled.directBuffer(20);
        Udp.writeHeader(d, 0, 1234, 5000, 20, 0); // checksum 0: none (IPv4)
        d.writerIndex(20);
        assertThat(m0.udpElsewhere(d, 0, 20, 0, PEER.lo(), 0, IpAddress.mappedLo(0xc6120002), false, false))
                .isTrue();
        assertThat(m0.udpElsewhere(d.setShort(2, 5001), 0, 20, 0, PEER.lo(), 0, IpAddress.mappedLo(0xc6120002),
                false, false)).as("nobody has port 5001").isFalse();
        d.release();
        stacks.get(1).pollLink(16);
        assertThat(u.queuedDatagrams()).isEqualTo(1);
        assertThat(u.peekLength()).isEqualTo(12);
        u.close();
        ByteBuf again = Unpooled.directBuffer(20).writeZero(20);
        Udp.writeHeader(again, 0, 1234, 5000, 20, 0);
        assertThat(m0.udpElsewhere(again, 0, 20, 0, PEER.lo(), 0, IpAddress.mappedLo(0xc6120002), false, false))
                .as("the port was let go").isFalse();
        again.release();
    }

    @Test
    void anIcmpErrorAboutADatagramOfAnotherStacksSocketIsHandedOver() throws Exception {
        group(2);
        Stack s0 = stacks.get(0);
        Stack s1 = stacks.get(1);
        UdpSocket v4 = s1.udp().open();
        v4.bind((IpAddress) null, 5000);
        v4.connect(PEER, 7000);
        UdpSocket v6 = s1.udp().open();
        v6.bind(IpAddress.V6_ANY, 5001);
        v6.connect(PEER6, 7001);
        // The peer's port unreachable about each socket's datagram reaches stack 0's queue (the tun driver hashes
        // ICMP by its own addresses, not the quoted flow's): stack 0 has no such socket and hands the report over.
        ByteBuf e4 = portUnreachable4(5000, 7000);
        s0.input(e4);
        e4.release();
        ByteBuf e6 = portUnreachable6(5001, 7001);
        s0.input(e6);
        e6.release();
        assertThat(s0.stats().icmpErrorsIn).as("the IPv4 error was taken in").isEqualTo(1);
        assertThat(s0.stats().groupForwarded).isEqualTo(2);
        assertThat(s0.stats().udpIcmpIgnored).as("not stack 0's to ignore").isZero();
        assertThat(v4.hasError()).isFalse();
        s1.pollLink(16);
        assertThat(s1.stats().groupReceived).isEqualTo(2);
        assertThat(s1.stats().udpIcmpIgnored).isZero();
        assertThat(v4.hasError()).as("the IPv4 socket was told").isTrue();
        assertThat(v4.takeError()).isInstanceOf(java.net.PortUnreachableException.class);
        assertThat(v6.hasError()).as("the IPv6 socket was told").isTrue();
        assertThat(v6.takeError()).isInstanceOf(java.net.PortUnreachableException.class);
        // An error about a port bound nowhere else stays where it arrived (there: ignored, no connected socket).
        ByteBuf stray = portUnreachable4(5002, 7000);
        s0.input(stray);
        stray.release();
        assertThat(s0.stats().groupForwarded).isEqualTo(2);
        assertThat(s0.stats().udpIcmpIgnored).isEqualTo(1);
        // The owner keeps what reaches its own queue.
        ByteBuf own = portUnreachable4(5000, 7000);
        s1.input(own);
        own.release();
        assertThat(s1.stats().groupForwarded).isZero();
        assertThat(v4.hasError()).isTrue();
        v4.close();
        v6.close();
    }

    @Test
    void arpAndNdpFramesAreCopiedToEveryOtherStack() throws Exception {
        group(3);
        ByteBuf arp = Unpooled.directBuffer(60).writeZero(60);
        arp.setShort(12, 0x0806);
        ByteBuf ns = Unpooled.directBuffer(86).writeZero(86);
        ns.setShort(12, 0x86dd).setByte(14 + 6, 58).setByte(14 + 40, 135);
        ByteBuf echo = Unpooled.directBuffer(86).writeZero(86);
        echo.setShort(12, 0x86dd).setByte(14 + 6, 58).setByte(14 + 40, 128);
        assertThat(GroupMember.isNeighborFrame(arp, 0)).isTrue();
        assertThat(GroupMember.isNeighborFrame(ns, 0)).isTrue();
        assertThat(GroupMember.isNeighborFrame(echo, 0)).isFalse();
        assertThat(GroupMember.isNeighborFrame(ns.slice(0, 40), 0)).as("too short").isFalse();
        stacks.get(1).groupMember().copyToOthers(arp);
        assertThat(stacks.get(1).stats().groupForwarded).isEqualTo(2);
        assertThat(stacks.get(0).hasPendingInput()).isTrue();
        assertThat(stacks.get(2).hasPendingInput()).isTrue();
        assertThat(stacks.get(1).hasPendingInput()).isFalse();
        for (Stack s : stacks) {
            s.pollLink(16);
        }
        assertThat(stacks.get(0).stats().groupReceived).isEqualTo(1);
        assertThat(stacks.get(2).stats().groupReceived).isEqualTo(1);
        arp.release();
        ns.release();
        echo.release();
    }

    @Test
    void aFullInboxDropsAndCounts() {
        group(2);
        ByteBuf arp = Unpooled.directBuffer(60).writeZero(60);
        arp.setShort(12, 0x0806);
        GroupMember m0 = stacks.get(0).groupMember();
        for (int i = 0; i < StackGroup.INBOX_CAPACITY + 5; i++) {
            m0.copyToOthers(arp);
        }
        arp.release();
        assertThat(stacks.get(0).stats().groupForwarded).isEqualTo(StackGroup.INBOX_CAPACITY);
        assertThat(stacks.get(0).stats().dropGroupInboxFull).isEqualTo(5);
        // Closing the stack frees what waits in its inbox (the leak check would report it otherwise).
    }

    @Test
    void aPacketOfferedWhileTheInboxClosesIsFreed() throws Exception {
        // Stack 1's inbox lets the test hold a producer inside its offer: the producer has seen the inbox open, the
        // owner closes the stack (and drains the inbox, empty yet), then the packet goes in.
        CountDownLatch inOffer = new CountDownLatch(1);
        CountDownLatch closed = new CountDownLatch(1);
        Queue<ByteBuf> real = PlatformDependent.newFixedMpscQueue(16);
        List<ByteBuf> offered = new java.util.concurrent.CopyOnWriteArrayList<>();
        Queue<ByteBuf> held = new AbstractQueue<>() {
            @Override
            public boolean offer(ByteBuf b) {
                offered.add(b);
                inOffer.countDown();
                try {
                    closed.await(10, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                return real.offer(b);
            }

            @Override
            public ByteBuf poll() {
                return real.poll();
            }

            @Override
            public ByteBuf peek() {
                return real.peek();
            }

            @Override
            public int size() {
                return real.size();
            }

            @Override
            public Iterator<ByteBuf> iterator() {
                // The inbox is only offered to and polled, never iterated: fail loudly if that ever changes.
                throw new UnsupportedOperationException("the inbox is not iterated");
            }
        };
        StackGroup g = new StackGroup(2);
        Stack s0 = newStack();
        Stack s1 = newStack();
        g.join(s0, wakeups::incrementAndGet);
        g.join(s1, wakeups::incrementAndGet, held);
        ByteBuf arp = Unpooled.directBuffer(60).writeZero(60);
        arp.setShort(12, 0x0806);
        Thread producer = new Thread(() -> s0.groupMember().copyToOthers(arp), "producer");
        producer.start();
        assertThat(inOffer.await(10, TimeUnit.SECONDS)).isTrue();
        s1.close();
        closed.countDown();
        producer.join(10_000);
        assertThat(producer.isAlive()).isFalse();
        assertThat(offered).hasSize(1);
        assertThat(real).as("nothing left in the closed inbox").isEmpty();
        assertThat(offered.get(0).refCnt()).as("the packet that went in as the inbox closed was freed").isZero();
        assertThat(s0.stats().dropGroupMemberClosed).isEqualTo(1);
        assertThat(s0.stats().groupForwarded).isZero();
        assertThat(wakeups.get()).as("a closed stack is not woken").isZero();
        // The closed member is out of the group: nothing more is offered to it.
        s0.groupMember().copyToOthers(arp);
        arp.release();
        assertThat(offered).hasSize(1);
    }

    private Stack newStack() {
        Stack s = new Stack(StackConfig.builder().address("198.18.0.2/24").build(), null, Clock.SYSTEM,
                ByteBufAllocator.DEFAULT);
        stacks.add(s);
        return s;
    }

    /**
     * An Ethernet frame (to the broadcast address: the stacks have no link of their own) with an ICMP port
     * unreachable from the peer quoting a UDP datagram from the stack's {@code sport} to the peer's {@code dport}.
     */
    private static ByteBuf portUnreachable4(int sport, int dport) {
        int quoted = Ipv4.MIN_HEADER_LENGTH + Udp.HEADER_LENGTH;
        ByteBuf q = Unpooled.buffer(quoted).writeZero(quoted);
        Ipv4.write(q, 0, quoted + 20, 1, 64, Ipv4.PROTO_UDP, (int) STACK.lo(), (int) PEER.lo(), true);
        Udp.writeHeader(q, Ipv4.MIN_HEADER_LENGTH, sport, dport, Udp.HEADER_LENGTH + 20, 0);
        int icmpLen = Icmpv4.HEADER_LENGTH + quoted;
        int ip = Ethernet.HEADER_LENGTH;
        ByteBuf f = Unpooled.directBuffer(ip + Ipv4.MIN_HEADER_LENGTH + icmpLen);
        f.writeZero(ip + Ipv4.MIN_HEADER_LENGTH + icmpLen);
        Ethernet.write(f, 0, MacAddress.BROADCAST.toLong(), 0x02_00_00_00_00_01L, Ethernet.TYPE_IPV4);
        Ipv4.write(f, ip, Ipv4.MIN_HEADER_LENGTH + icmpLen, 2, 64, Ipv4.PROTO_ICMP, (int) PEER.lo(), (int) STACK.lo(),
                false);
        Icmpv4.writeError(f, ip + Ipv4.MIN_HEADER_LENGTH, Icmpv4.DEST_UNREACHABLE, Icmpv4.CODE_PORT_UNREACHABLE, 0,
                q, 0, quoted);
        q.release();
        return f;
    }

    /** The IPv6 counterpart of {@link #portUnreachable4}. */
    private static ByteBuf portUnreachable6(int sport, int dport) {
        int quoted = Ipv6.HEADER_LENGTH + Udp.HEADER_LENGTH;
        ByteBuf q = Unpooled.buffer(quoted).writeZero(quoted);
        Ipv6.write(q, 0, 0, Udp.HEADER_LENGTH + 20, Ipv6.UDP, 64, STACK6.hi(), STACK6.lo(), PEER6.hi(), PEER6.lo());
        Udp.writeHeader(q, Ipv6.HEADER_LENGTH, sport, dport, Udp.HEADER_LENGTH + 20, 0x1234);
        int icmpLen = Icmpv6.HEADER_LENGTH + quoted;
        int ip = Ethernet.HEADER_LENGTH;
        ByteBuf f = Unpooled.directBuffer(ip + Ipv6.HEADER_LENGTH + icmpLen).writeZero(ip + Ipv6.HEADER_LENGTH + icmpLen);
        Ethernet.write(f, 0, MacAddress.BROADCAST.toLong(), 0x02_00_00_00_00_01L, Ethernet.TYPE_IPV6);
        Ipv6.write(f, ip, 0, icmpLen, Ipv6.ICMPV6, 64, PEER6.hi(), PEER6.lo(), STACK6.hi(), STACK6.lo());
        Icmpv6.writeError(f, ip + Ipv6.HEADER_LENGTH, Icmpv6.DEST_UNREACHABLE, Icmpv6.PORT_UNREACHABLE, 0, q, 0,
                quoted, PEER6.hi(), PEER6.lo(), STACK6.hi(), STACK6.lo());
        q.release();
        return f;
    }

    private static ByteBuf segment(int srcPort, int dstPort, int flags) {
        ByteBuf b = Unpooled.directBuffer(Tcp.MIN_HEADER_LENGTH).writeZero(Tcp.MIN_HEADER_LENGTH);
        Tcp.writeHeader(b, 0, srcPort, dstPort, 1000, 1, Tcp.MIN_HEADER_LENGTH, flags, 65535);
        return b;
    }
}
