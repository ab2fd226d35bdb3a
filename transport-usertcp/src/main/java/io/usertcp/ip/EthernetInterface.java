package io.usertcp.ip;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.util.internal.logging.InternalLogger;
import io.netty.util.internal.logging.InternalLoggerFactory;
import io.usertcp.link.Link;
import io.usertcp.link.PcapngWriter;
import io.usertcp.stats.StackStats;
import io.usertcp.time.Clock;
import io.usertcp.wire.Arp;
import io.usertcp.wire.Ethernet;
import io.usertcp.wire.MacAddress;
import io.usertcp.wire.VirtioNetHeader;

import java.io.IOException;
import java.util.ArrayDeque;

/**
 * The stack's one interface: the link (a TAP, or none), Ethernet framing in and out with the virtio header in
 * front, ARP (RFC 826: answers, requests for the {@link ArpTable}), and the in-stack loopback: packets to the
 * stack's own addresses or to loopback never reach the link, they are queued and processed on the next poll, as a
 * loopback interface would.
 */
public final class EthernetInterface implements NeighborResolver.Output {
    private static final InternalLogger logger = InternalLoggerFactory.getInstance(EthernetInterface.class);
    /** The MTU towards the host's own addresses. */
    public static final int LOOPBACK_MTU = 65535 - 40;
    /** Frames the loopback queue holds at most; more are dropped and counted. */
    private static final int MAX_LOOPBACK_FRAMES = 4096;

    final Link link;
    /** Bytes of virtio_net_hdr before each frame's Ethernet header (0 without offload). */
    final int vnet;
    /** Offset of the IP (or ARP) header in a frame. */
    final int l3;
    final boolean tso;
    final long mac;
    final int mtu;
    final ByteBufAllocator alloc;
    final StackStats stats;
    final Clock clock;
    private final ArrayDeque<ByteBuf> loopback = new ArrayDeque<>();
    private boolean inputFromLoopback; // while processing a frame from the loopback queue
    private PcapngWriter capture; // null: no capture of the loopback
    private int captureLoopback;
    private Ipv4Layer ipv4;
    private Ipv6Layer ipv6;

    /** An interface on {@code link} (may be null: loopback only). The link is closed with it. */
    public EthernetInterface(Link link, Clock clock, ByteBufAllocator alloc, StackStats stats) {
        this.link = link;
        this.vnet = link != null ? link.vnetHeaderLength() : 0;
        this.l3 = vnet + Ethernet.HEADER_LENGTH;
        this.tso = link != null && link.tcpSegmentationOffload();
        this.mac = link != null ? link.macAddress().toLong() : 0;
        this.mtu = link != null ? link.mtu() : LOOPBACK_MTU;
        this.clock = clock;
        this.alloc = alloc;
        this.stats = stats;
    }

    /** Connects the IP layers (IPv6 may be null). */
    void attach(Ipv4Layer ipv4, Ipv6Layer ipv6) {
        this.ipv4 = ipv4;
        this.ipv6 = ipv6;
    }

    /** The link, or null. */
    public Link link() {
        return link;
    }

    /** Whether the frame being processed came from the loopback queue. */
    boolean fromLoopback() {
        return inputFromLoopback;
    }

    // ------------------------------------------------------------------ loopback

    /** Frames waiting in the loopback queue. */
    public int loopbackPending() {
        return loopback.size();
    }

    /** The next frame of the loopback queue, or null. The caller processes it through {@link #input} and releases it. */
    public ByteBuf pollLoopback() {
        return loopback.poll();
    }

    /** Marks the frames given to {@link #input} from now on as coming from the loopback queue, or not. */
    public void inputFromLoopback(boolean fromLoopback) {
        this.inputFromLoopback = fromLoopback;
    }

    /**
     * Writes the frames of the loopback into {@code capture} as an interface of its own, "lo" (the link's frames are
     * captured by a {@link io.usertcp.link.CaptureLink} around it).
     */
    public void capture(PcapngWriter capture) {
        this.capture = capture;
        this.captureLoopback = capture.addInterface("lo");
    }

    /** Queues a frame for the stack's own input (the loopback interface), or drops it if the queue is full. */
    void loopback(ByteBuf frame) {
        if (loopback.size() >= MAX_LOOPBACK_FRAMES) {
            stats.framesOutDropped++;
            frame.release();
            return;
        }
        if (capture != null && frame.readableBytes() > vnet) {
            capture.write(captureLoopback, frame, frame.readerIndex() + vnet, frame.readableBytes() - vnet, true);
        }
        loopback.add(frame);
    }

    /** Fills the Ethernet header of a packet to the host itself and queues it on the loopback. */
    void loopback(ByteBuf frame, int etherType) {
        Ethernet.write(frame, vnet, mac, mac, etherType);
        if (vnet > 0) {
            VirtioNetHeader.writeNone(frame, 0);
        }
        loopback(frame);
    }

    // ------------------------------------------------------------------ input

    /**
     * Processes one Ethernet frame. Never throws for bad input: it is counted and dropped.
     */
    public void input(ByteBuf f) {
        stats.framesIn++;
        int base = f.readerIndex();
        int len = f.readableBytes();
        stats.bytesIn += len;
        boolean checksumTrusted = false;
        if (vnet > 0) {
            if (len < vnet) {
                stats.dropShortFrame++;
                return;
            }
            // A partial checksum (NEEDS_CSUM) comes from the kernel's own stack on this host, and DATA_VALID
            // means it was verified: neither is checked again (as a NIC with RX checksum offload).
            checksumTrusted = (VirtioNetHeader.flags(f, base)
                    & (VirtioNetHeader.F_NEEDS_CSUM | VirtioNetHeader.F_DATA_VALID)) != 0;
            base += vnet;
            len -= vnet;
        }
        if (len < Ethernet.HEADER_LENGTH) {
            stats.dropShortFrame++;
            return;
        }
        long dst = Ethernet.dst(f, base);
        if (dst != mac && dst != MacAddress.BROADCAST.toLong() && (dst & (1L << 40)) == 0) {
            stats.dropNotForUs++;
            return;
        }
        int type = Ethernet.type(f, base);
        int l3o = base + Ethernet.HEADER_LENGTH;
        int l3len = len - Ethernet.HEADER_LENGTH;
        switch (type) {
            case Ethernet.TYPE_IPV4:
                ipv4.input(f, l3o, l3len, checksumTrusted, dst != mac);
                break;
            case Ethernet.TYPE_IPV6:
                if (ipv6 == null) {
                    stats.dropIp6NotForUs++;
                } else {
                    ipv6.input(f, l3o, l3len, checksumTrusted, Ethernet.src(f, base));
                }
                break;
            case Ethernet.TYPE_ARP:
                arpInput(f, l3o, l3len);
                break;
            default:
                stats.dropUnknownEtherType++;
                break;
        }
    }

    private void arpInput(ByteBuf f, int o, int len) {
        if (len < Arp.LENGTH || !Arp.isEthernetIpv4(f, o)) {
            stats.dropArpMalformed++;
            return;
        }
        int op = Arp.op(f, o);
        long sha = Arp.sha(f, o);
        int spa = Arp.spa(f, o);
        int tpa = Arp.tpa(f, o);
        if ((sha & (1L << 40)) != 0 || (op != Arp.OP_REQUEST && op != Arp.OP_REPLY)) {
            stats.dropArpMalformed++;
            return;
        }
        // 127/8 is not on any link (RFC 1122 §3.2.1.3 (g)): no answer for it, and no entry for a sender that claims
        // it, a group or broadcast address, or one of our own addresses (issue #10).
        boolean forUs = ipv4.isOwnAddress(tpa);
        long now = clock.nanoTime();
        boolean spaMartian = spa == 0 || (spa >>> 24) == 127 || ipv4.isBroadcastOrMulticast(spa)
                || ipv4.isOwnAddress(spa);
        if (spaMartian && spa != 0) {
            stats.dropArpMartian++;
            return;
        }
        // RFC 826 packet reception: merge, then (if we are the target) add and reply.
        if (spa != 0) {
            ipv4.arp().learn(spa, sha, forUs, now);
        }
        if (forUs && op == Arp.OP_REQUEST) {
            ByteBuf r = newFrame(Ethernet.HEADER_LENGTH + Arp.LENGTH);
            Ethernet.write(r, vnet, sha, mac, Ethernet.TYPE_ARP);
            Arp.write(r, l3, Arp.OP_REPLY, mac, tpa, sha, spa);
            stats.arpRepliesOut++;
            transmit(r);
        }
    }

    // ------------------------------------------------------------------ output

    /** A frame of {@code length} bytes after the virtio header (zeroed), writerIndex at its end. */
    ByteBuf newFrame(int length) {
        int total = vnet + length;
        ByteBuf f = alloc.directBuffer(total, total);
        if (vnet > 0) {
            VirtioNetHeader.writeNone(f, 0);
        }
        f.writerIndex(total);
        return f;
    }

    /**
     * Fills the Ethernet header of a unicast packet to next hop {@code nhHi/nhLo} and sends it, or queues it until
     * {@code neighbors} resolves the next hop. Takes ownership.
     */
    void transmit(ByteBuf frame, int etherType, NeighborResolver neighbors, long nhHi, long nhLo) {
        long now = clock.nanoTime();
        long dmac = neighbors.lookup(nhHi, nhLo, now);
        Ethernet.write(frame, vnet, dmac < 0 ? 0 : dmac, mac, etherType);
        if (dmac < 0) {
            neighbors.resolve(nhHi, nhLo, frame, now);
            return;
        }
        transmit(frame);
    }

    /** Sends a complete frame on the link and releases it. */
    void transmit(ByteBuf frame) {
        try {
            if (link != null && link.transmit(frame)) {
                stats.framesOut++;
                stats.bytesOut += frame.readableBytes();
            } else {
                stats.framesOutDropped++;
            }
        } catch (IOException e) {
            stats.framesOutDropped++;
            logger.warn("link transmit failed", e);
        } finally {
            frame.release();
        }
    }

    // ------------------------------------------------------------------ ARP output (NeighborResolver.Output)

    /** Broadcasts (or unicasts to {@code dstMac}) an ARP request for the IPv4 address mapped in {@code lo}. */
    @Override
    public void solicit(long hi, long lo, long dstMac) {
        if (link == null) {
            return;
        }
        int targetIp = (int) lo;
        int spa = ipv4.sourceFor(targetIp);
        ByteBuf r = newFrame(Ethernet.HEADER_LENGTH + Arp.LENGTH);
        Ethernet.write(r, vnet, dstMac, mac, Ethernet.TYPE_ARP);
        Arp.write(r, l3, Arp.OP_REQUEST, mac, spa, 0, targetIp);
        stats.arpRequestsOut++;
        transmit(r);
    }

    @Override
    public void transmitResolved(ByteBuf frame) {
        transmit(frame);
    }

    @Override
    public void dropUnresolved(ByteBuf frame) {
        stats.dropArpUnresolved++;
        frame.release();
    }

    /** Frees the loopback queue and closes the link. */
    void close() {
        ByteBuf f;
        while ((f = loopback.poll()) != null) {
            f.release();
        }
        if (link != null) {
            link.close();
        }
    }

    @Override
    public String toString() {
        return "interface " + (link == null ? "lo" : MacAddress.of(mac) + " mtu " + mtu)
                + (vnet > 0 ? " vnet" : "") + (tso ? " tso" : "");
    }
}
