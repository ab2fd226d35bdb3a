package io.usertcp.link;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.util.internal.logging.InternalLogger;
import io.netty.util.internal.logging.InternalLoggerFactory;
import io.usertcp.wire.MacAddress;
import io.usertcp.wire.SynFilter;
import jnr.constants.platform.Errno;
import jnr.ffi.Memory;
import jnr.ffi.Pointer;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/**
 * A {@link Link} on a Linux TAP device: every {@link #receive} is one {@code read(2)} of one Ethernet
 * frame from {@code /dev/net/tun}, every {@link #transmit} one {@code write(2)}. The descriptor is
 * non-blocking; wait for it with a {@link Poller}.
 *
 * <p>Opened with {@code IFF_TAP | IFF_NO_PI}: frames carry no packet-information header and no
 * virtio-net header, so the kernel does no offloads and never hands us a frame bigger than its MTU.
 *
 * <p>Like every {@link Link}, a {@code TapDevice} is used by one thread.
 */
public final class TapDevice implements Link {
    private static final InternalLogger logger = InternalLoggerFactory.getInstance(TapDevice.class);

    private static final String TUN_PATH = TapAvailability.TUN_PATH;
    private static final long TUNSETIFF = 0x400454caL;
    private static final int IFREQ_SIZE = 40;
    private static final int IFREQ_FLAGS_OFFSET = 16;
    private static final int IFNAMSIZ = 16;
    private static final short IFF_TAP = 0x0002;
    private static final short IFF_NO_PI = 0x1000;
    private static final short IFF_VNET_HDR = 0x4000;
    private static final long TUNSETOFFLOAD = 0x400454d0L;
    private static final int TUN_F_CSUM = 0x01;
    private static final int TUN_F_TSO4 = 0x02;
    private static final int TUN_F_TSO6 = 0x04;
    /** Largest frame with offload: an IPv4 packet of 64 KiB behind Ethernet and the virtio header. */
    private static final int OFFLOAD_FRAME_CAPACITY = io.usertcp.wire.VirtioNetHeader.LENGTH + 14 + 65535 + 4;
    /** Ethernet header (14) plus one 802.1Q tag (4). */
    private static final int FRAME_OVERHEAD = 18;

    private static final int EAGAIN = Errno.EAGAIN.intValue();
    private static final int EINTR = Errno.EINTR.intValue();
    private static final int ENOBUFS = Errno.ENOBUFS.intValue();
    private static final int EINVAL = Errno.EINVAL.intValue();
    private static final int EBADFD = Errno.EBADFD.intValue();
    private static final int EIO = Errno.EIO.intValue();

    private final String name;
    private final int mtu;
    private final MacAddress mac;
    private final String namespace;
    private final int frameCapacity;
    private final int vnetHeaderLength;
    private final boolean tso;
    private int fd;

    /** The next receive buffer, kept across EAGAIN so that polling an idle device allocates nothing. */
    private ByteBuf spare;
    /** The allocator {@link #spare} came from. */
    private ByteBufAllocator spareAllocator;
    /** The last allocator seen to hand out buffers without a memory address (so we copy instead). */
    private ByteBufAllocator noAddressAllocator;
    /** Direct memory for copying frames we cannot hand to the kernel directly. */
    private ByteBuffer scratch;
    private long scratchAddress;
    /** Whether we logged that the link is down since the last successful write. */
    private boolean downLogged;
    /** Set when the device went away (EBADFD): from then on nothing is read or written. */
    private LinkFailedException failure;
    /** Whether {@link #receive} has thrown {@link #failure} (it does so once). */
    private boolean failureReported;
    /** The receive ring, or null: frames are read with read(2). */
    private PacketRing ring;
    /** The drop-everything filter on the tun queue while the ring receives (kept alive for tun's sake). */
    private Pointer[] dropAll;
    /** A buffer for the next frame from the ring, given back by {@link #recycle}. */
    private ByteBuf ringSpare;
    /** Whether the ring's socket said the device went down, and no frame came through it since. */
    private boolean ringDown;
    /** Whether what the tun queue held before the ring took over has been read. */
    private boolean tunDrained;

    private TapDevice(String name, int fd, TapConfig cfg, boolean tso) {
        this.name = name;
        this.fd = fd;
        this.mtu = cfg.mtu();
        this.mac = cfg.mac();
        this.namespace = cfg.namespace();
        this.vnetHeaderLength = cfg.offload() ? io.usertcp.wire.VirtioNetHeader.LENGTH : 0;
        this.tso = tso;
        this.frameCapacity = tso ? OFFLOAD_FRAME_CAPACITY : vnetHeaderLength + cfg.mtu() + FRAME_OVERHEAD;
    }

    /**
     * Attaches to the TAP device {@code cfg.name()}, creating it when it does not exist, then moves it into
     * {@code cfg.namespace()} and configures the kernel's side as {@code cfg} says. A device that exists with
     * multi-queue is attached as its queue 0 and refused if another process holds a queue of it.
     *
     * @throws IOException whose message names the problem and how to fix it (missing {@code /dev/net/tun},
     *                     no CAP_NET_ADMIN, device busy, shared or of the wrong kind, missing namespace, a netlink
     *                     request the kernel refused)
     */
    public static TapDevice open(TapConfig cfg) throws IOException {
        return open(cfg, -1);
    }

    /**
     * Queue {@code queue} of the multi-queue TAP device {@code cfg.name()} (see {@link TapQueues}): queue 0 is
     * opened as {@link #open(TapConfig)} does, with {@code IFF_MULTI_QUEUE}; the others attach to it and leave
     * the kernel's side as it is. Each fails if the device then has more queues than {@code queue + 1}: another
     * process holds the others (see {@link TapQueueWatch} for those that come later).
     */
    public static TapDevice openQueue(TapConfig cfg, int queue) throws IOException {
        if (queue < 0) {
            throw new IllegalArgumentException("queue " + queue);
        }
        return open(cfg, queue);
    }

    /**
     * Opens the device with one queue ({@code queue} -1) or queue {@code queue} of several. A device that exists with
     * multi-queue (made by {@code ip tuntap add ... multi_queue}) takes only queues: with one queue asked for, the
     * stack holds its queue 0.
     */
    private static TapDevice open(TapConfig cfg, int queue) throws IOException {
        LibC c = LibC.INSTANCE;
        int fd = TapQueues.openTun(TUN_PATH, LibC.O_RDWR | LibC.O_NONBLOCK | LibC.O_CLOEXEC, cfg.namespace(), queue);
        if (fd < 0) {
            throw TapOpenErrors.open(cfg.name(), LibC.errno());
        }
        Pointer ifr;
        int attachedQueue = queue;
        try {
            ifr = Memory.allocateDirect(LibC.RUNTIME, IFREQ_SIZE, true);
            byte[] nameBytes = cfg.name().getBytes(StandardCharsets.US_ASCII);
            ifr.put(0, nameBytes, 0, nameBytes.length);
            short flags = (short) (IFF_TAP | IFF_NO_PI | (cfg.offload() ? IFF_VNET_HDR : 0)
                    | (queue >= 0 ? TapQueues.IFF_MULTI_QUEUE : 0));
            ifr.putShort(IFREQ_FLAGS_OFFSET, flags);
            if (c.ioctl(fd, TUNSETIFF, ifr.address()) < 0) {
                int errno = LibC.errno();
                // Refused (EINVAL) when the device exists with multi-queue: then it is queue 0 of one.
                ifr.putShort(IFREQ_FLAGS_OFFSET, (short) (flags | TapQueues.IFF_MULTI_QUEUE));
                if (queue < 0 && errno == EINVAL && c.ioctl(fd, TUNSETIFF, ifr.address()) == 0) {
                    attachedQueue = 0;
                } else {
                    IOException e = TapOpenErrors.setIff(cfg.name(), errno);
                    throw queue >= 0 ? TapQueues.attachError(cfg.name(), errno, queue, e) : e;
                }
            }
        } catch (IOException | RuntimeException | Error e) {
            c.close(fd);
            throw e;
        }
        return attached(c, fd, ifr, cfg, attachedQueue);
    }

    /**
     * The device {@code fd} is attached to ({@code TUNSETIFF} done with {@code ifr}, queue {@code queue} or -1):
     * offload, the check for queues of other processes, the kernel's side. Closes {@code fd} if it fails.
     */
    private static TapDevice attached(LibC c, int fd, Pointer ifr, TapConfig cfg, int queue) throws IOException {
        TapDevice dev = null;
        try {
            boolean tso = false;
            if (cfg.offload()) {
                // The argument of TUNSETOFFLOAD is the flag word itself, not a pointer.
                if (c.ioctl(fd, TUNSETOFFLOAD, TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6) == 0) {
                    tso = true;
                } else {
                    logger.debug("TUNSETOFFLOAD refused on {} ({}): no segmentation offload", cfg.name(),
                            LibC.errnoMessage(LibC.errno()));
                }
            }
            byte[] actual = new byte[IFNAMSIZ];
            ifr.get(0, actual, 0, IFNAMSIZ);
            int len = 0;
            while (len < IFNAMSIZ && actual[len] != 0) {
                len++;
            }
            String name = new String(actual, 0, len, StandardCharsets.US_ASCII);
            if (queue >= 0) {
                // Before the kernel's side is touched: a device another process shares is not ours to configure.
                TapQueues.checkNoOtherQueues(name, queue == 0 ? null : cfg.namespace(), queue);
            }
            dev = new TapDevice(name, fd, cfg, tso);
            if (queue <= 0) {
                dev.configure(cfg); // once per device: the other queues find it configured
            }
            if (cfg.receiveRing() > 0) {
                dev.openRing(cfg, queue);
            }
            logger.debug("opened TAP device {} (fd {}, mtu {}, mac {}{}{})", dev.name, fd, dev.mtu, dev.mac,
                    dev.namespace != null ? ", netns " + dev.namespace : "", queue >= 0 ? ", queue " + queue : "");
            return dev;
        } catch (IOException | RuntimeException | Error e) {
            if (dev != null) {
                dev.close();
            } else {
                c.close(fd);
            }
            throw e;
        }
    }

    /**
     * Switches reception to a {@link PacketRing}: opens it, then makes the tun queue drop everything (a socket
     * filter that accepts nothing), so that each frame arrives once, through the ring. Falls back to read(2),
     * saying why once, when the ring cannot be had.
     */
    private void openRing(TapConfig cfg, int queue) {
        int nsFd = -1;
        PacketRing r = null;
        try {
            if (namespace != null) {
                nsFd = LibC.INSTANCE.open(KernelSide.namespacePath(namespace).toString(), LibC.O_CLOEXEC);
                if (nsFd < 0) {
                    throw new IOException("cannot open network namespace '" + namespace + "': "
                            + LibC.errnoMessage(LibC.errno()));
                }
            }
            r = PacketRing.open(name, nsFd, namespace, mtu, vnetHeaderLength, frameCapacity, cfg.receiveRing(),
                    queue >= 0);
            Pointer prog = Memory.allocateDirect(LibC.RUNTIME, 8, true); // BPF_RET|BPF_K 0: drop
            prog.putShort(0, (short) 0x06);
            Pointer fprog = Memory.allocateDirect(LibC.RUNTIME, 16, true);
            fprog.putShort(0, (short) 1);
            fprog.putLong(8, prog.address());
            if (LibC.INSTANCE.ioctl(fd, PacketRing.TUNATTACHFILTER, fprog.address()) != 0) {
                throw new IOException("TUNATTACHFILTER failed: " + LibC.errnoMessage(LibC.errno()));
            }
            dropAll = new Pointer[] {prog, fprog}; // tun copies the program again when a queue attaches
            ring = r;
            logger.debug("TAP device {} receives through a ring of {} frames", name, cfg.receiveRing());
        } catch (IOException | RuntimeException e) {
            if (r != null) {
                r.close();
            }
            logger.info("TAP device {}: no receive ring ({}); reading frames with read(2)", name, e.getMessage());
        } finally {
            if (nsFd >= 0) {
                LibC.INSTANCE.close(nsFd);
            }
        }
    }

    /** Frames the receive ring dropped (full, or too large for a slot and the socket's queue); -1 without a ring. */
    @Override
    public long receiveDrops() {
        return ring != null ? ring.drops() : -1;
    }

    /**
     * Drops the SYNs {@code filter} covers in the receive ring's socket filter, in the sender's context; without
     * a ring (read(2) of the tun descriptor), {@code false}: the stack drops them after reading.
     */
    @Override
    public boolean filterSyns(SynFilter filter) {
        if (ring == null || failure != null) {
            return false;
        }
        try {
            ring.filterSyns(filter);
            return true;
        } catch (IOException e) {
            logger.warn("{}: the kernel refused the SYN filter ({}); SYN floods are thinned after reading", name,
                    e.getMessage());
            return false;
        }
    }

    /** Whether frames arrive through a {@link PacketRing} (see {@link TapConfig.Builder#receiveRing(int)}). */
    public boolean receivesThroughRing() {
        return ring != null;
    }

    /** Moves the device into its namespace and configures the kernel's side, through netlink. */
    private void configure(TapConfig cfg) throws IOException {
        KernelSide.configure(name, cfg);
    }

    /** The interface name the kernel gave the device (the configured one). */
    public String name() {
        return name;
    }

    /** The network namespace the device was moved into, or {@code null}. */
    public String namespace() {
        return namespace;
    }

    @Override
    public int mtu() {
        return mtu;
    }

    @Override
    public MacAddress macAddress() {
        return mac;
    }

    @Override
    public void recycle(ByteBuf frame) {
        if (ring != null) {
            // Frames that fit a slot come in buffers of one size: keep one for the next (no pool round trip,
            // no leak-detector sampling per frame).
            if (ringSpare == null && fd >= 0 && frame.refCnt() == 1 && frame.capacity() == ring.frameCapacity()
                    && frame.hasMemoryAddress()) {
                ringSpare = frame;
            } else {
                frame.release();
            }
            return;
        }
        if (spare == null && fd >= 0 && frame.refCnt() == 1 && frame.capacity() == frameCapacity
                && frame.hasMemoryAddress() && spareAllocator != null) {
            spare = frame;
        } else {
            frame.release();
        }
    }

    @Override
    public int vnetHeaderLength() {
        return vnetHeaderLength;
    }

    @Override
    public boolean tcpSegmentationOffload() {
        return tso;
    }

    /**
     * The descriptor to poll: the non-blocking {@code /dev/net/tun} descriptor, or the receive ring's socket when
     * there is one; -1 once closed.
     */
    @Override
    public int fd() {
        return fd < 0 ? -1 : ring != null ? ring.fd() : fd;
    }

    /**
     * Reads one frame. The returned buffer (direct, from {@code alloc} when it gives buffers with a memory
     * address) holds exactly the frame; frames shorter than an Ethernet header are returned too.
     *
     * @return the frame, or {@code null} when none is waiting (always, once the device has failed)
     * @throws LinkFailedException once, when the device was deleted (found by this read or an earlier write)
     * @throws IOException when the device is closed or the read fails otherwise
     */
    @Override
    public ByteBuf receive(ByteBufAllocator alloc) throws IOException {
        ensureOpen();
        if (failure != null) {
            if (!failureReported) {
                failureReported = true;
                throw failure;
            }
            return null;
        }
        if (ring != null) {
            return receiveFromRing(alloc);
        }
        return receiveByRead(alloc);
    }

    private ByteBuf receiveFromRing(ByteBufAllocator alloc) throws IOException {
        if (!tunDrained) { // frames queued before the filter went on
            ByteBuf f = receiveByRead(alloc);
            if (f != null) {
                return f;
            }
            tunDrained = true;
        }
        ByteBuf spareNow = ringSpare;
        if (spareNow != null && spareAllocator != alloc) {
            spareNow.release();
            spareNow = null;
        }
        ringSpare = null;
        ByteBuf f;
        try {
            f = ring.receive(alloc, spareNow);
        } catch (RuntimeException e) {
            if (spareNow != null) {
                spareNow.release(); // not handed out: nobody else would release it
            }
            throw e;
        }
        if (f != spareNow && spareNow != null) {
            ringSpare = spareNow; // not used this time
        }
        if (f != null) {
            spareAllocator = alloc;
            ringDown = false;
            return f;
        }
        if (ring.takeError() != 0) {
            ringDown = true; // ENETDOWN: the device went down (or was down when the ring was bound) or away
        }
        if (ringDown) {
            // The socket hears nothing more of a device that is down, not even its deletion: read(2) on the tun
            // descriptor tells (EBADFD once it is deleted). The stack's once-a-second timer brings us here.
            ensureScratch(frameCapacity);
            readFrame(scratchAddress, frameCapacity);
        }
        return null;
    }

    private ByteBuf receiveByRead(ByteBufAllocator alloc) throws IOException {
        if (alloc != noAddressAllocator) {
            ByteBuf buf = spare;
            if (buf != null && spareAllocator != alloc) {
                buf.release();
                spare = buf = null;
            }
            if (buf == null) {
                buf = alloc.directBuffer(frameCapacity, frameCapacity);
                if (!buf.hasMemoryAddress()) {
                    buf.release();
                    noAddressAllocator = alloc;
                    return receiveByCopy(alloc);
                }
                spare = buf;
                spareAllocator = alloc;
            }
            buf.clear();
            int n = readFrame(buf.memoryAddress(), buf.capacity());
            if (n < 0) {
                return null;
            }
            spare = null;
            return buf.writerIndex(n);
        }
        return receiveByCopy(alloc);
    }

    private ByteBuf receiveByCopy(ByteBufAllocator alloc) throws IOException {
        ensureScratch(frameCapacity);
        int n = readFrame(scratchAddress, frameCapacity);
        if (n < 0) {
            return null;
        }
        scratch.clear().limit(n);
        return alloc.buffer(n, n).writeBytes(scratch);
    }

    /** One read(2): the length, or -1 on EAGAIN. */
    private int readFrame(long address, int capacity) throws IOException {
        for (;;) {
            long n = LibC.INSTANCE.read(fd, address, capacity);
            if (n >= 0) {
                return (int) n;
            }
            int errno = LibC.errno();
            if (errno == EAGAIN) {
                return -1;
            }
            if (errno == EBADFD) {
                failureReported = true;
                throw failed("read", errno);
            }
            if (errno != EINTR) {
                throw ioError("read from", errno);
            }
        }
    }

    /**
     * Writes the readable bytes of {@code frame} with one {@code write(2)}; the frame's indexes are not
     * changed. Frames not in one block of direct memory are copied into a scratch buffer first.
     *
     * @return {@code false} if the frame was dropped: the kernel's queue is full (EAGAIN, ENOBUFS), the
     *         interface is down (EIO), the device was deleted (the next {@link #receive} reports it), or the
     *         frame is empty
     * @throws IOException when the device is closed or the write fails otherwise
     */
    @Override
    public boolean transmit(ByteBuf frame) throws IOException {
        ensureOpen();
        int len = frame.readableBytes();
        if (len == 0 || failure != null) {
            return false;
        }
        long address;
        if (frame.hasMemoryAddress()) {
            address = frame.memoryAddress() + frame.readerIndex();
        } else {
            ensureScratch(len);
            scratch.clear().limit(len);
            frame.getBytes(frame.readerIndex(), scratch);
            address = scratchAddress;
        }
        for (;;) {
            long n = LibC.INSTANCE.write(fd, address, len);
            if (n >= 0) {
                downLogged = false;
                return true;
            }
            int errno = LibC.errno();
            if (errno == EAGAIN || errno == ENOBUFS) {
                return false;
            }
            if (errno == EIO) {
                // The kernel refuses writes while the interface is down, as a NIC without carrier drops.
                if (!downLogged) {
                    downLogged = true;
                    logger.debug("TAP device {} is down: dropping frames until `ip link set dev {} up`", name, name);
                }
                return false;
            }
            if (errno == EBADFD) {
                failed("write", errno); // the poll loop hears of it from receive, once
                return false;
            }
            if (errno != EINTR) {
                throw ioError("write to", errno);
            }
        }
    }

    private IOException ioError(String op, int errno) {
        return new IOException("cannot " + op + " TAP device " + name + ": " + LibC.errnoMessage(errno));
    }

    /**
     * Records that the device is gone: the kernel answers EBADFD to every read and write once the interface is
     * unregistered ({@code ip link del}, or its namespace deleted), and ppoll reports POLLERR for ever.
     */
    private LinkFailedException failed(String op, int errno) {
        if (failure == null) {
            failure = new LinkFailedException("TAP device " + name + " was deleted (or its link went down): "
                    + op + " failed with " + LibC.errnoMessage(errno) + "; re-create it and start a new event loop"
                    + " group to use it again");
            logger.debug("{}", failure.getMessage());
        }
        return failure;
    }

    /** Whether the device has failed for good (see {@link LinkFailedException}). */
    public boolean failed() {
        return failure != null;
    }

    private void ensureScratch(int size) {
        if (scratch == null || scratch.capacity() < size) {
            scratch = ByteBuffer.allocateDirect(Math.max(size, frameCapacity));
            scratchAddress = Pointer.wrap(LibC.RUNTIME, scratch).address();
        }
    }

    private void ensureOpen() throws IOException {
        if (fd < 0) {
            throw new IOException("TAP device " + name + " is closed");
        }
    }

    /**
     * Closes the descriptor (a device this process created disappears with it, a persistent one stays)
     * and releases the spare receive buffer. Idempotent.
     */
    @Override
    public void close() {
        int f = fd;
        if (f < 0) {
            return;
        }
        fd = -1;
        if (ring != null) {
            ring.close();
        }
        if (ringSpare != null) {
            ringSpare.release();
            ringSpare = null;
        }
        if (spare != null) {
            spare.release();
            spare = null;
            spareAllocator = null;
        }
        if (LibC.INSTANCE.close(f) < 0) {
            logger.debug("closing TAP device {} (fd {}): {}", name, f, LibC.errnoMessage(LibC.errno()));
        } else {
            logger.debug("closed TAP device {}", name);
        }
        scratch = null;
    }

    @Override
    public String toString() {
        return "TapDevice{" + name + ", fd=" + fd + ", mtu=" + mtu + ", mac=" + mac
                + (namespace != null ? ", netns=" + namespace : "") + '}';
    }
}
