package io.usertcp.udp;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.usertcp.link.MemoryLink;
import io.usertcp.sim.VirtualClock;
import io.usertcp.stack.Stack;
import io.usertcp.stack.StackConfig;
import io.usertcp.wire.Arp;
import io.usertcp.wire.Checksum;
import io.usertcp.wire.Ethernet;
import io.usertcp.wire.Ipv4;
import io.usertcp.wire.MacAddress;
import io.usertcp.wire.Udp;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;

/**
 * A stack (198.18.0.2/24) on one end of an in-memory cable, in virtual time, and a raw peer (198.18.0.1) on
 * the other end that builds frames by hand and reads what the stack sends: the bench for UDP, ICMP and
 * fragment tests. Frames built here are heap buffers; frames read back must be released by the caller.
 */
public final class RawPeer implements AutoCloseable {
    public static final int STACK_IP = 0xC6120002;
    public static final int PEER_IP = 0xC6120001;
    public static final int SUBNET_BROADCAST = 0xC61200FF;

    public final VirtualClock clock = new VirtualClock();
    public final MemoryLink stackEnd;
    public final MemoryLink peerEnd;
    public final Stack stack;
    private final ByteBufAllocator alloc = PooledByteBufAllocator.DEFAULT;

    public RawPeer() {
        this(1500);
    }

    public RawPeer(int mtu) {
        this(mtu, StackConfig.builder());
    }

    /** A stack configured by {@code config} (link and address are set here). */
    public RawPeer(int mtu, StackConfig.Builder config) {
        MemoryLink[] pair = MemoryLink.pair(mtu, clock);
        stackEnd = pair[0];
        peerEnd = pair[1];
        stack = new Stack(config.link(stackEnd.factory()).address("198.18.0.2/24").build(), stackEnd, clock, alloc);
    }

    /** Lets the stack learn the peer's MAC (an ARP request from the peer) and discards the reply. */
    public RawPeer learnArp() {
        ByteBuf f = Unpooled.buffer(Ethernet.HEADER_LENGTH + Arp.LENGTH);
        f.writerIndex(Ethernet.HEADER_LENGTH + Arp.LENGTH);
        Ethernet.write(f, 0, MacAddress.BROADCAST.toLong(), peerEnd.macAddress().toLong(), Ethernet.TYPE_ARP);
        Arp.write(f, Ethernet.HEADER_LENGTH, Arp.OP_REQUEST, peerEnd.macAddress().toLong(), PEER_IP, 0, STACK_IP);
        inputFrame(f);
        drain().forEach(ByteBuf::release);
        return this;
    }

    /** Wraps an IPv4 packet into an Ethernet frame to the stack's MAC and processes it; releases {@code ip}. */
    public void input(ByteBuf ip) {
        input(ip, stackEnd.macAddress().toLong());
    }

    /** As {@link #input(ByteBuf)} with the given Ethernet destination (e.g. broadcast). */
    public void input(ByteBuf ip, long dstMac) {
        ByteBuf f = Unpooled.buffer(Ethernet.HEADER_LENGTH + ip.readableBytes());
        f.writerIndex(Ethernet.HEADER_LENGTH);
        Ethernet.write(f, 0, dstMac, peerEnd.macAddress().toLong(), Ethernet.TYPE_IPV4);
        f.writeBytes(ip);
        ip.release();
        inputFrame(f);
    }

    private void inputFrame(ByteBuf f) {
        try {
            stack.input(f);
        } finally {
            f.release();
        }
        turn();
    }

    /** Runs what the stack's loop would after input: loopback, timers, events, ACKs. */
    public void turn() {
        try {
            stack.pollLink(64);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        stack.runTimers();
        stack.dispatchEvents();
        stack.flush();
    }

    /** Every frame the stack has sent so far (Ethernet frames; release them). */
    public List<ByteBuf> drain() {
        List<ByteBuf> out = new ArrayList<>();
        ByteBuf f;
        while ((f = peerEnd.receive(alloc)) != null) {
            out.add(f);
        }
        return out;
    }

    /** Advances virtual time and runs timers. */
    public void advance(long nanos) {
        clock.advance(nanos);
        turn();
    }

    @Override
    public void close() {
        stack.close();
        drain().forEach(ByteBuf::release);
        peerEnd.close();
    }

    // ------------------------------------------------------------------ builders

    /** An IPv4 packet (20-byte header) around {@code payload}; flagsFragment is the raw flags/offset field. */
    public static ByteBuf ipv4(int src, int dst, int protocol, int id, int flagsFragment, byte[] payload) {
        return ipv4(src, dst, protocol, id, flagsFragment, payload, 0, payload.length);
    }

    /** As above, with {@code len} bytes of {@code payload} from {@code off}. */
    public static ByteBuf ipv4(int src, int dst, int protocol, int id, int flagsFragment, byte[] payload, int off,
                               int len) {
        ByteBuf b = Unpooled.buffer(Ipv4.MIN_HEADER_LENGTH + len);
        b.writerIndex(Ipv4.MIN_HEADER_LENGTH);
        Ipv4.writeHeader(b, 0, 0, Ipv4.MIN_HEADER_LENGTH + len, id, flagsFragment, 64, protocol, src, dst);
        b.writeBytes(payload, off, len);
        return b;
    }

    /** A UDP header and data with a correct checksum (or 0, "none", when {@code checksum} is false). */
    public static byte[] udp(int src, int dst, int sport, int dport, byte[] data, boolean checksum) {
        int len = Udp.HEADER_LENGTH + data.length;
        ByteBuf b = Unpooled.buffer(len);
        b.writerIndex(Udp.HEADER_LENGTH);
        Udp.writeHeader(b, 0, sport, dport, len, 0);
        b.writeBytes(data);
        if (checksum) {
            int c = Checksum.finish(Checksum.add(b, 0, len, Checksum.ipv4Pseudo(src, dst, Ipv4.PROTO_UDP, len)));
            b.setShort(6, c == 0 ? 0xffff : c);
        }
        byte[] out = new byte[len];
        b.getBytes(0, out);
        return out;
    }

    /** A whole UDP datagram from the peer to the stack. */
    public static ByteBuf udpPacket(int sport, int dport, byte[] data) {
        return ipv4(PEER_IP, STACK_IP, Ipv4.PROTO_UDP, 1, 0, udp(PEER_IP, STACK_IP, sport, dport, data, true));
    }

    /** Offset of the IPv4 header in a frame read back from the stack. */
    public static final int IP = Ethernet.HEADER_LENGTH;

    /** Bytes counting up from {@code seed}, to check every byte arrives in place. */
    public static byte[] pattern(int len, int seed) {
        byte[] b = new byte[len];
        for (int i = 0; i < len; i++) {
            b[i] = (byte) (seed + i * 7 + (i >>> 8));
        }
        return b;
    }
}
