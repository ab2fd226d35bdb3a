package io.usertcp.link;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.netty.util.internal.PlatformDependent;
import io.netty.util.internal.logging.InternalLogger;
import io.netty.util.internal.logging.InternalLoggerFactory;
import io.usertcp.wire.SynFilter;
import jnr.constants.platform.Errno;
import jnr.ffi.Memory;
import jnr.ffi.Pointer;

import java.io.IOException;
import java.lang.invoke.VarHandle;

/**
 * The receive side of a TAP device through a {@code PACKET_MMAP} ring ({@code AF_PACKET}, {@code TPACKET_V2}):
 * the frames the kernel transmits on the device are copied into memory shared with us, by the kernel, in the
 * context of the sender, and taken from there without a system call per frame.
 *
 * <p>Why (issue #10): read(2) on the tun descriptor costs a system call per frame, while the kernel enqueues a
 * frame towards us for much less. A sender that is not slowed by anything (a raw socket flooding spoofed SYNs)
 * fills the tun queue, the kernel drops at its tail, and a legitimate client's SYN is lost as often as the
 * flood's. With the ring, the copy is paid by whoever sends, as on a veth pair, and our loop reads frames from
 * memory. A drop-everything filter ({@code TUNATTACHFILTER}) on the tun descriptor then keeps the tun queue
 * empty: frames arrive only once, through the ring. Frames the stack writes still go through write(2) on the
 * tun descriptor, and a socket filter keeps them (they are "incoming" on the device) out of the ring.
 *
 * <p>Frames larger than a ring slot (segmentation offload hands us up to 64 KiB) are queued whole on the
 * socket ({@code PACKET_COPY_THRESH}) and read with recv(2). With offload, each frame starts with the same
 * virtio_net_hdr as a frame read from tun ({@code PACKET_VNET_HDR}).
 *
 * <p>Owned by one thread, like the device. Needs CAP_NET_RAW; {@link #open} fails otherwise and the device
 * falls back to read(2).
 */
final class PacketRing implements AutoCloseable {
    private static final InternalLogger logger = InternalLoggerFactory.getInstance(PacketRing.class);

    private static final SocketCalls C = SocketCalls.C;

    private static final int AF_PACKET = 17;
    private static final int SOCK_RAW = 3;
    private static final int SOCK_NONBLOCK = 0x800;
    private static final int SOCK_CLOEXEC = 0x80000;
    private static final int ETH_P_ALL = 0x0003;
    private static final int SOL_SOCKET = 1;
    private static final int SO_ERROR = 4;
    private static final int SO_RCVBUFFORCE = 33;
    private static final int SO_ATTACH_FILTER = 26;
    private static final int SOL_PACKET = 263;
    private static final int PACKET_RX_RING = 5;
    private static final int PACKET_STATISTICS = 6;
    private static final int PACKET_COPY_THRESH = 7;
    private static final int PACKET_VERSION = 10;
    private static final int PACKET_VNET_HDR = 15;
    private static final int TPACKET_V2 = 1;
    private static final int PACKET_FANOUT = 18;
    private static final int PACKET_FANOUT_QM = 5;
    private static final int PACKET_OUTGOING = 4;
    private static final int MSG_DONTWAIT = 0x40;
    private static final int PROT_READ_WRITE = 0x3;
    private static final int MAP_SHARED = 0x1;
    private static final int EAGAIN = Errno.EAGAIN.intValue();
    private static final int EINTR = Errno.EINTR.intValue();

    /** linux/if_tun.h: {@code _IOW('T', 213, struct sock_fprog)}. */
    static final long TUNATTACHFILTER = 0x401054d5L;

    /** struct tpacket2_hdr: tp_status, tp_len, tp_snaplen (u32), tp_mac (u16). */
    private static final int TP_STATUS = 0;
    private static final int TP_LEN = 4;
    private static final int TP_SNAPLEN = 8;
    private static final int TP_MAC = 12;
    private static final int TP_STATUS_KERNEL = 0;
    private static final int TP_STATUS_USER = 1;
    private static final int TP_STATUS_COPY = 2;
    /** The slot's header and addresses before the frame, with room to spare for alignment and the vnet header. */
    private static final int SLOT_OVERHEAD = 128;
    private static final int BLOCK_SIZE = 1 << 16;
    /** The socket's queue for frames larger than a slot (a few 64 KiB offloaded segments). */
    private static final int COPY_QUEUE_BYTES = 4 << 20;

    private final String device;
    private final int fd;
    private final long ringAddress;
    private final long ringLength;
    private final int slotSize;
    /** An error recv(2) of a whole frame reported (and so cleared from the socket), for {@link #takeError()}. */
    private int receiveError;
    private final int slots;
    private final int vnetHeaderLength;
    private final int frameCapacity;
    private final Pointer scratch = Memory.allocateDirect(LibC.RUNTIME, 16, true);
    private int next;
    /** Frames too large for a slot that the kernel could not queue on the socket either: dropped. */
    private long truncated;
    /** What PACKET_STATISTICS reported so far. */
    private long kernelDrops;
    private boolean closed;

    private PacketRing(String device, int fd, long ringAddress, long ringLength, int slotSize, int slots,
                       int vnetHeaderLength, int frameCapacity) {
        this.device = device;
        this.fd = fd;
        this.ringAddress = ringAddress;
        this.ringLength = ringLength;
        this.slotSize = slotSize;
        this.slots = slots;
        this.vnetHeaderLength = vnetHeaderLength;
        this.frameCapacity = frameCapacity;
    }

    /** The size of one slot for frames of {@code mtu} bytes of payload: a power of two. */
    static int slotSize(int mtu, int vnetHeaderLength) {
        int need = SLOT_OVERHEAD + vnetHeaderLength + mtu + 18; // Ethernet header and a VLAN tag
        return Integer.highestOneBit(need - 1) << 1;
    }

    /**
     * Opens a ring of {@code slots} slots on the interface {@code device} (which lives in the network namespace
     * behind {@code nsFd}, or in ours when {@code nsFd} is -1).
     *
     * @throws IOException naming what the kernel refused (CAP_NET_RAW missing, memory)
     */
    static PacketRing open(String device, int nsFd, String nsName, int mtu, int vnetHeaderLength,
                           int frameCapacity, int slots, boolean fanout) throws IOException {
        if (!PlatformDependent.hasUnsafe()) {
            throw new IOException("the receive ring needs direct memory access (sun.misc.Unsafe), which is off");
        }
        long opened = nsFd < 0 ? socket(device)
                : InNamespace.call(nsFd, nsName, "opening a packet socket", () -> socket(device));
        int fd = (int) opened;
        int ifindex = (int) (opened >>> 32);
        try {
            int slot = slotSize(mtu, vnetHeaderLength);
            int perBlock = Math.max(1, BLOCK_SIZE / slot);
            int blockSize = Math.max(BLOCK_SIZE, slot);
            int blocks = Math.max(1, (slots + perBlock - 1) / perBlock);
            int total = blocks * perBlock;
            Pointer p = Memory.allocateDirect(LibC.RUNTIME, 32, true);
            long a = p.address();
            // Only frames the kernel sends out of the device (RingFilter).
            attachFilter(fd, RingFilter.program(SynFilter.NONE), device);
            setInt(fd, p, SOL_PACKET, PACKET_VERSION, TPACKET_V2, "PACKET_VERSION", device);
            if (vnetHeaderLength > 0) {
                setInt(fd, p, SOL_PACKET, PACKET_VNET_HDR, 1, "PACKET_VNET_HDR", device);
            }
            setInt(fd, p, SOL_PACKET, PACKET_COPY_THRESH, 1, "PACKET_COPY_THRESH", device);
            p.putInt(0, COPY_QUEUE_BYTES);
            C.setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, a, 4); // best effort: the default queue works too
            p.putInt(0, blockSize);
            p.putInt(4, blocks);
            p.putInt(8, slot);
            p.putInt(12, total);
            check(C.setsockopt(fd, SOL_PACKET, PACKET_RX_RING, a, 16), "PACKET_RX_RING", device);
            long length = (long) blockSize * blocks;
            long ring = mmap(length, fd);
            // struct sockaddr_ll: family, protocol (network order), ifindex; the rest zero.
            p.putLong(0, 0);
            p.putLong(8, 0);
            p.putInt(16, 0);
            p.putShort(0, (short) AF_PACKET);
            p.putShort(2, Short.reverseBytes((short) ETH_P_ALL));
            p.putInt(4, ifindex);
            if (C.bind(fd, a, 20) != 0) {
                int errno = errno();
                C.munmap(ring, length);
                throw new IOException("cannot bind a packet socket to " + device + ": " + LibC.errnoMessage(errno));
            }
            if (fanout) {
                // The queues of a multi-queue device: each socket gets the frames of the tun queue with its index
                // (PACKET_FANOUT_QM: the queue the device picked, by tun's flow table, modulo the members, which
                // join in queue order), so a flow reaches the stack that wrote it last, as with read(2).
                p.putInt(0, (ifindex & 0xffff) | (PACKET_FANOUT_QM << 16));
                if (C.setsockopt(fd, SOL_PACKET, PACKET_FANOUT, a, 4) != 0) {
                    int errno = errno();
                    C.munmap(ring, length);
                    throw new IOException("cannot join the fanout group of " + device + ": " + LibC.errnoMessage(errno));
                }
            }
            return new PacketRing(device, fd, ring, length, slot, total, vnetHeaderLength, frameCapacity);
        } catch (IOException | RuntimeException e) {
            C.close(fd);
            throw e;
        }
    }

    /**
     * {@code mmap(2)} of the ring, shared. Called through jffi: through a jnr-ffi 2.2.17 interface the sixth
     * argument (the offset) reached libc as garbage and glibc refused it (EINVAL), as {@code sendto}'s did in
     * {@link Rtnetlink}.
     */
    private static long mmap(long length, int fd) throws IOException {
        com.kenai.jffi.Type i64 = com.kenai.jffi.Type.SINT64;
        com.kenai.jffi.CallContext ctx = com.kenai.jffi.CallContext.getCallContext(i64,
                new com.kenai.jffi.Type[] {i64, i64, i64, i64, i64, i64}, com.kenai.jffi.CallingConvention.DEFAULT,
                true);
        long fn = com.kenai.jffi.Library.getDefault().getSymbolAddress("mmap");
        if (fn == 0) {
            throw new IOException("no mmap in libc");
        }
        long ring = com.kenai.jffi.Invoker.getInstance().invokeN6(ctx, fn, 0, length, PROT_READ_WRITE, MAP_SHARED,
                fd, 0);
        if (ring == -1L || ring == 0) {
            throw new IOException("cannot map a receive ring of " + length + " bytes: "
                    + LibC.errnoMessage(com.kenai.jffi.LastError.getInstance().get()));
        }
        return ring;
    }

    /** Attaches a classic BPF program ({@link RingFilter}'s encoding) to socket {@code fd}, replacing any. */
    private static void attachFilter(int fd, long[] program, String device) throws IOException {
        Pointer prog = Memory.allocateDirect(LibC.RUNTIME, program.length * 8L, true);
        for (int i = 0; i < program.length; i++) {
            long insn = program[i];
            prog.putShort(i * 8L, (short) RingFilter.code(insn));
            prog.putByte(i * 8L + 2, (byte) RingFilter.jt(insn));
            prog.putByte(i * 8L + 3, (byte) RingFilter.jf(insn));
            prog.putInt(i * 8L + 4, RingFilter.k(insn));
        }
        // struct sock_fprog: the length (unsigned short), then the pointer at offset 8.
        Pointer fprog = Memory.allocateDirect(LibC.RUNTIME, 16, true);
        fprog.putShort(0, (short) program.length);
        fprog.putLong(8, prog.address());
        check(C.setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, fprog.address(), 16), "SO_ATTACH_FILTER", device);
    }

    /**
     * Replaces the socket's filter by one that also drops the SYNs {@code f} covers, in the sender's context
     * ({@link SynFilter#NONE}: only the frames the kernel sends out of the device, as at open).
     *
     * @throws IOException when the kernel refused the program
     */
    void filterSyns(SynFilter f) throws IOException {
        attachFilter(fd, RingFilter.program(f), device);
    }

    private static void setInt(int fd, Pointer p, int level, int name, int value, String what, String device)
            throws IOException {
        p.putInt(0, value);
        check(C.setsockopt(fd, level, name, p.address(), 4), what, device);
    }

    private static void check(int rc, String what, String device) throws IOException {
        if (rc != 0) {
            throw new IOException("cannot set " + what + " on the packet socket of " + device + ": "
                    + LibC.errnoMessage(errno()));
        }
    }

    /** A packet socket in the calling thread's namespace and the index of {@code device} there: (index << 32) | fd. */
    private static long socket(String device) throws IOException {
        int ifindex = C.if_nametoindex(device);
        if (ifindex <= 0) {
            throw new IOException("no interface " + device + " for the receive ring: " + LibC.errnoMessage(errno()));
        }
        // Protocol 0: the socket takes no frame until bind names the device and ETH_P_ALL, after the ring is set.
        int fd = C.socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            throw new IOException("cannot open a packet socket (AF_PACKET needs CAP_NET_RAW): "
                    + LibC.errnoMessage(errno()));
        }
        return ((long) ifindex << 32) | (fd & 0xffffffffL);
    }

    private static int errno() {
        return LibC.errno();
    }

    /** The socket's descriptor: readable when a frame is in the ring, POLLERR when the device went down. */
    int fd() {
        return fd;
    }

    /**
     * Takes the next frame from the ring: a buffer from {@code alloc} holding exactly the frame (with the vnet
     * header in front when offload is on), or {@code null} when the ring is empty. Frames that did not fit a slot
     * and could not be queued whole either are dropped and counted ({@link #drops()}). A frame that fits
     * is copied into {@code spare} when it is not null (a buffer of {@link #frameCapacity()} bytes nobody else
     * holds): the caller learns that it was used when it is the buffer returned.
     */
    ByteBuf receive(ByteBufAllocator alloc, ByteBuf spare) {
        for (;;) {
            long off = ringAddress + (long) next * slotSize; // fields in host order, as the kernel writes them
            int status = PlatformDependent.getInt(off + TP_STATUS);
            VarHandle.acquireFence(); // the frame's bytes are read after its status said they are ours
            if ((status & TP_STATUS_USER) == 0) {
                return null;
            }
            ByteBuf frame = null;
            try {
                if ((status & TP_STATUS_COPY) != 0) {
                    frame = receiveWhole(alloc);
                } else {
                    int len = PlatformDependent.getInt(off + TP_LEN);
                    int snap = PlatformDependent.getInt(off + TP_SNAPLEN);
                    int mac = PlatformDependent.getShort(off + TP_MAC) & 0xffff;
                    if (snap == len) {
                        frame = copy(alloc, spare, off + mac - vnetHeaderLength, vnetHeaderLength + snap);
                    } else {
                        truncated++;
                    }
                }
            } finally {
                VarHandle.releaseFence(); // our reads of the slot happen before the kernel may reuse it
                PlatformDependent.putInt(off + TP_STATUS, TP_STATUS_KERNEL);
                next = next + 1 == slots ? 0 : next + 1;
            }
            if (frame != null) {
                return frame;
            }
        }
    }

    /** {@code n} bytes at {@code address} in a buffer of their own. */
    private ByteBuf copy(ByteBufAllocator alloc, ByteBuf spare, long address, int n) {
        ByteBuf frame;
        if (spare != null && n <= spare.capacity()) {
            frame = spare.clear();
        } else {
            // Slot-sized, so that the device can keep it for the next frame (TapDevice.recycle).
            int capacity = Math.max(n, frameCapacity());
            frame = alloc.directBuffer(capacity, capacity);
        }
        if (frame.hasMemoryAddress()) {
            PlatformDependent.copyMemory(address, frame.memoryAddress() + frame.writerIndex(), n);
            return frame.writerIndex(frame.writerIndex() + n);
        }
        byte[] bytes = new byte[n];
        PlatformDependent.copyMemory(address, bytes, 0, n);
        return frame.writeBytes(bytes);
    }

    /** The capacity of the buffers frames that fit a slot are copied into: a slot's size, more than any. */
    int frameCapacity() {
        return slotSize;
    }

    /** A frame the kernel queued whole on the socket because it was larger than a slot. */
    private ByteBuf receiveWhole(ByteBufAllocator alloc) {
        ByteBuf buf = alloc.directBuffer(frameCapacity, frameCapacity);
        boolean ok = false;
        try {
            long address = buf.hasMemoryAddress() ? buf.memoryAddress() : 0;
            if (address == 0) {
                buf.release();
                buf = Unpooled.directBuffer(frameCapacity, frameCapacity);
                address = buf.memoryAddress();
            }
            for (;;) {
                long n = C.recv(fd, address, frameCapacity, MSG_DONTWAIT);
                if (n >= 0) {
                    buf.writerIndex((int) n);
                    ok = true;
                    return buf;
                }
                int errno = errno();
                if (errno == EAGAIN) {
                    truncated++; // the ring said a copy was queued; it was not (the socket's queue was full)
                    return null;
                }
                if (errno != EINTR) {
                    // The socket's pending error (ENETDOWN when the device went down or away), which recv(2)
                    // reports and clears: keep it for takeError(), whose caller asks tun what became of the device.
                    receiveError = errno;
                    return null;
                }
            }
        } finally {
            if (!ok) {
                buf.release();
            }
        }
    }

    /**
     * The socket's pending error, cleared by reading it: the kernel sets ENETDOWN when the device goes down or
     * away (and wakes ppoll with POLLERR until it is read). 0 when none.
     */
    int takeError() {
        if (receiveError != 0) {
            int e = receiveError;
            receiveError = 0;
            return e;
        }
        scratch.putInt(0, 0);
        scratch.putInt(4, 4);
        if (C.getsockopt(fd, SOL_SOCKET, SO_ERROR, scratch.address(), scratch.address() + 4) != 0) {
            return 0;
        }
        return scratch.getInt(0);
    }

    /**
     * Frames dropped since the ring was opened: those the kernel found no free slot for (PACKET_STATISTICS,
     * which the kernel resets on each read) and those too large for a slot that the socket had no room for.
     */
    long drops() {
        scratch.putInt(8, 8);
        if (C.getsockopt(fd, SOL_PACKET, PACKET_STATISTICS, scratch.address(), scratch.address() + 8) == 0) {
            kernelDrops += scratch.getInt(4) & 0xffffffffL;
        }
        return kernelDrops + truncated;
    }

    /** Unmaps the ring and closes the socket. Idempotent. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        C.munmap(ringAddress, ringLength);
        if (C.close(fd) < 0) {
            logger.debug("closing the packet socket of {}: {}", device, LibC.errnoMessage(errno()));
        }
    }
}
