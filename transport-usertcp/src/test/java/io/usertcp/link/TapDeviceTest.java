package io.usertcp.link;

import io.netty.buffer.AbstractByteBufAllocator;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.CompositeByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.netty.buffer.UnpooledByteBufAllocator;
import io.netty.buffer.UnpooledHeapByteBuf;
import io.usertcp.wire.MacAddress;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Tests {@link TapDevice}, {@link EventFd} and {@link Poller} against the real kernel: needs
 * {@code /dev/net/tun}, root (CAP_NET_ADMIN) and the {@code ip} command. Every namespace and device a
 * test creates is removed in {@link #cleanUp()}.
 */
class TapDeviceTest {
    private static final String KERNEL_IP = "198.18.77.1";
    private static final String STACK_IP = "198.18.77.2";

    private final String suffix = String.format("%04x", ThreadLocalRandom.current().nextInt(0x10000));
    private final String devName = "uttap" + suffix;
    private final List<AutoCloseable> toClose = new ArrayList<>();
    private final List<String[]> cleanupCommands = new ArrayList<>();

    @BeforeEach
    void requireTap() throws IOException {
        assumeTrue(Files.exists(Path.of("/dev/net/tun")), "needs /dev/net/tun (load the tun module)");
        assumeTrue(effectiveUid() == 0, "needs root (CAP_NET_ADMIN) to create TAP devices and namespaces");
    }

    @AfterEach
    void cleanUp() throws Exception {
        for (int i = toClose.size() - 1; i >= 0; i--) {
            toClose.get(i).close();
        }
        for (String[] cmd : cleanupCommands) {
            run(cmd);
        }
    }

    @Test
    void answersArpAndDeliversKernelFramesInNamespace() throws Exception {
        String ns = newNamespace();
        TapDevice dev = track(TapDevice.open(TapConfig.builder(devName).offload(false)
                .namespace(ns).kernelAddress(KERNEL_IP + "/24").build()));

        assertThat(dev.name()).isEqualTo(devName);
        assertThat(dev.fd()).isGreaterThanOrEqualTo(0);
        assertThat(dev.mtu()).isEqualTo(1500);
        Result show = run("ip", "-n", ns, "link", "show", "dev", devName);
        assertThat(show.rc).as(show.out).isZero();
        assertThat(show.out).containsPattern("<[^>]*\\bUP\\b[^>]*>").contains("mtu 1500");
        assertThat(run("ip", "-n", ns, "addr", "show", "dev", devName).out).contains(KERNEL_IP + "/24");
        assertThat(run("ip", "link", "show", "dev", devName).rc).as("moved out of the root namespace").isNotZero();

        Poller poller = new Poller(dev.fd());
        ByteBufAllocator alloc = PooledByteBufAllocator.DEFAULT;

        // The kernel solicits routers/neighbours over IPv6 as soon as the link is up.
        assertThat(awaitFrame(dev, poller, alloc, 10_000, f -> f.getUnsignedShort(12) == 0x86dd))
                .as("an IPv6 frame from the kernel").isTrue();

        // who-has 198.18.77.1 tell 198.18.77.2, from a direct buffer (written in place).
        ByteBuf request = arpRequest(alloc.directBuffer(60), dev.macAddress());
        try {
            assertThat(dev.transmit(request)).isTrue();
            assertThat(request.readableBytes()).as("transmit leaves indexes alone").isEqualTo(60);
        } finally {
            request.release();
        }
        assertThat(awaitFrame(dev, poller, alloc, 2_000, f -> isArpReply(f, dev.macAddress())))
                .as("an ARP reply from %s", KERNEL_IP).isTrue();

        // Same again from a heap/composite frame (copied), received through an allocator without addresses.
        CompositeByteBuf composite = Unpooled.compositeBuffer();
        ByteBuf whole = arpRequest(Unpooled.buffer(60), dev.macAddress());
        composite.addComponent(true, whole.retainedSlice(0, 14));
        composite.addComponent(true, Unpooled.directBuffer(46).writeBytes(whole, 14, 46));
        whole.release();
        try {
            assertThat(dev.transmit(composite)).isTrue();
        } finally {
            composite.release();
        }
        assertThat(awaitFrame(dev, poller, new HeapOnlyAllocator(), 2_000, f -> isArpReply(f, dev.macAddress())))
                .as("an ARP reply through the copying path").isTrue();
    }

    @Test
    void idleDeviceReturnsNullWithoutAllocating() throws Exception {
        TapDevice dev = track(TapDevice.open(TapConfig.builder(devName).offload(false).build())); // down: nothing arrives
        CountingAllocator alloc = new CountingAllocator();
        for (int i = 0; i < 100; i++) {
            assertThat(dev.receive(alloc)).isNull();
        }
        assertThat(alloc.count.get()).as("one spare buffer kept across EAGAIN").isEqualTo(1);

        ByteBuf frame = arpRequest(Unpooled.directBuffer(60), dev.macAddress());
        try {
            assertThat(dev.transmit(frame)).as("a down link drops").isFalse();
        } finally {
            frame.release();
        }

        dev.close();
        dev.close();
        assertThat(dev.fd()).isEqualTo(-1);
        assertThatThrownBy(() -> dev.receive(alloc)).isInstanceOf(IOException.class).hasMessageContaining("closed");
        assertThat(run("ip", "link", "show", "dev", devName).rc).as("device removed on close").isNotZero();
    }

    @Test
    void deletedDeviceFailsOnceAndItsDescriptorCanBeLeftOutOfThePoll() throws Exception {
        String ns = newNamespace();
        TapDevice dev = track(TapDevice.open(TapConfig.builder(devName).offload(false)
                .namespace(ns).kernelAddress(KERNEL_IP + "/24").build()));
        Poller poller = new Poller(dev.fd());
        ByteBufAllocator alloc = PooledByteBufAllocator.DEFAULT;
        Result del = run("ip", "-n", ns, "link", "del", devName);
        assertThat(del.rc).as(del.out).isZero();

        // What the kernel does: ppoll reports the descriptor at once, with POLLERR, every time.
        for (int i = 0; i < 3; i++) {
            assertThat(poller.poll(TimeUnit.SECONDS.toNanos(5))).isEqualTo(1);
            assertThat(poller.revents(0) & LibC.POLLERR).as("revents %x", poller.revents(0)).isNotZero();
        }
        ByteBuf frame = arpRequest(Unpooled.directBuffer(60), dev.macAddress());
        try {
            assertThat(dev.transmit(frame)).as("a write to a deleted device drops").isFalse();
            assertThat(dev.failed()).isTrue();
            assertThatThrownBy(() -> dev.receive(alloc)).isInstanceOf(LinkFailedException.class)
                    .hasMessageContaining("TAP device " + devName + " was deleted").hasMessageContaining("EBADFD");
            for (int i = 0; i < 3; i++) {
                assertThat(dev.receive(alloc)).as("reported once, then nothing").isNull();
                assertThat(dev.transmit(frame)).isFalse();
            }
        } finally {
            frame.release();
        }

        poller.disable(0);
        assertThat(poller.fd(0)).isEqualTo(-1);
        long t0 = System.nanoTime();
        assertThat(poller.poll(TimeUnit.MILLISECONDS.toNanos(100))).as("a disabled descriptor is never ready").isZero();
        assertThat(System.nanoTime() - t0).isGreaterThanOrEqualTo(TimeUnit.MILLISECONDS.toNanos(90));
    }

    @Test
    void deletedDeviceFoundByReadIsReportedOnce() throws Exception {
        TapDevice dev = track(TapDevice.open(TapConfig.builder(devName).offload(false).build()));
        ByteBufAllocator alloc = PooledByteBufAllocator.DEFAULT;
        assertThat(dev.receive(alloc)).isNull();
        Result del = run("ip", "link", "del", devName);
        assertThat(del.rc).as(del.out).isZero();
        assertThatThrownBy(() -> dev.receive(alloc)).isInstanceOf(LinkFailedException.class)
                .hasMessageContaining(devName).hasMessageContaining("read failed");
        assertThat(dev.receive(alloc)).isNull();
    }

    @Test
    void badNameIsRejectedByConfig() {
        assertThatThrownBy(() -> TapConfig.builder("much-too-long-name0"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("bad TAP device name");
        assertThatThrownBy(() -> TapConfig.builder("tap 0"))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void missingNamespaceIsNamed() {
        String ns = "ut-tap-missing-" + suffix;
        assertThatThrownBy(() -> track(TapDevice.open(TapConfig.builder(devName)
                .namespace(ns).kernelAddress(KERNEL_IP + "/24").build())))
                .isInstanceOf(IOException.class)
                .hasMessageContaining(ns)
                .hasMessageContaining("ip netns add " + ns);
        assertThat(run("ip", "link", "show", "dev", devName).rc).as("no device left behind").isNotZero();
    }

    @Test
    void busyDeviceIsReported() throws Exception {
        track(TapDevice.open(TapConfig.builder(devName).build()));
        assertThatThrownBy(() -> track(TapDevice.open(TapConfig.builder(devName).build())))
                .isInstanceOf(IOException.class)
                .hasMessageContaining("busy")
                .hasMessageContaining("another process, or another event loop group of this one, holds it")
                .hasMessageContaining("mode tap multi_queue");
    }

    @Test
    void tunDeviceOfSameNameIsReported() {
        String tun = "uttun" + suffix;
        cleanupCommands.add(new String[] {"ip", "link", "del", "dev", tun});
        Result add = run("ip", "tuntap", "add", "dev", tun, "mode", "tun");
        assertThat(add.rc).as(add.out).isZero();
        assertThatThrownBy(() -> track(TapDevice.open(TapConfig.builder(tun).build())))
                .isInstanceOf(IOException.class)
                .hasMessageContaining("not a TAP device")
                .hasMessageContaining("ip link del " + tun);
    }

    @Test
    void eventFdWakesPoller() throws Exception {
        EventFd a = track(new EventFd());
        EventFd b = track(new EventFd());
        Poller poller = new Poller(a.fd(), b.fd());
        assertThat(poller.size()).isEqualTo(2);
        assertThat(poller.fd(1)).isEqualTo(b.fd());

        assertThat(poller.poll(0)).isZero();
        assertThat(poller.readable(0)).isFalse();

        Thread signaller = new Thread(() -> {
            sleep(50);
            b.signal();
        });
        signaller.start();
        assertThat(poller.poll(TimeUnit.SECONDS.toNanos(10))).isEqualTo(1);
        signaller.join();
        assertThat(poller.readable(0)).isFalse();
        assertThat(poller.readable(1)).isTrue();

        b.signal();
        assertThat(b.drain()).isEqualTo(2);
        assertThat(b.drain()).isZero();
        assertThat(poller.poll(0)).isZero();
        assertThat(poller.readable(1)).isFalse();

        a.signal();
        assertThat(poller.poll(-1)).isEqualTo(1);
        assertThat(poller.readable(0)).isTrue();

        a.close();
        a.close();
        assertThat(a.fd()).isEqualTo(-1);
        a.signal(); // no-op once closed
        assertThat(a.drain()).isZero();
    }

    @Test
    void pollerTimesOut() throws Exception {
        EventFd e = track(new EventFd());
        Poller poller = new Poller(e.fd());
        long start = System.nanoTime();
        assertThat(poller.poll(TimeUnit.MILLISECONDS.toNanos(200))).isZero();
        long elapsedMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
        assertThat(elapsedMs).isBetween(150L, 10_000L);
        assertThat(poller.readable(0)).isFalse();
    }

    // ---------------------------------------------------------------------------------------------------

    private interface FramePredicate {
        boolean test(ByteBuf frame);
    }

    /** Receives (and releases) frames until one matches or {@code timeoutMs} passes. */
    @Test
    void receiveRingDeliversTheKernelsFramesButNotOurOwn() throws Exception {
        String ns = newNamespace();
        TapDevice dev = track(TapDevice.open(TapConfig.builder(devName).offload(false).receiveRing(256)
                .namespace(ns).kernelAddress(KERNEL_IP + "/24").build()));
        assertThat(dev.receivesThroughRing()).as("root has CAP_NET_RAW: the ring is used").isTrue();
        Poller poller = new Poller(dev.fd());
        ByteBufAllocator alloc = PooledByteBufAllocator.DEFAULT;
        for (int round = 0; round < 3; round++) {
            ByteBuf request = arpRequest(alloc.directBuffer(60), dev.macAddress());
            try {
                assertThat(dev.transmit(request)).isTrue();
            } finally {
                request.release();
            }
            boolean[] ownSeen = {false};
            assertThat(awaitFrame(dev, poller, alloc, 2_000, f -> {
                if (macAt(f, 6).equals(dev.macAddress())) {
                    ownSeen[0] = true; // a frame we wrote came back through the ring
                }
                return isArpReply(f, dev.macAddress());
            })).as("an ARP reply through the ring, round %d", round).isTrue();
            assertThat(ownSeen[0]).as("our own request stays out of the ring").isFalse();
        }
        // Each frame arrives once: tun's own queue takes none (its filter drops them all, counted as TX drops).
        Result stats = run("ip", "-n", ns, "-s", "link", "show", "dev", devName);
        String[] lines = stats.out.split("\n");
        long txDropped = -1;
        for (int i = 0; i + 1 < lines.length; i++) {
            if (lines[i].trim().startsWith("TX:")) {
                txDropped = Long.parseLong(lines[i + 1].trim().split("\\s+")[3]);
            }
        }
        assertThat(txDropped).as("frames tun's filter dropped: %s", stats.out).isPositive();
    }

    @Test
    void receiveRingSurvivesDownAndUpAndReportsADeletedDeviceOnce() throws Exception {
        String ns = newNamespace();
        TapDevice dev = track(TapDevice.open(TapConfig.builder(devName).offload(false).receiveRing(64)
                .namespace(ns).kernelAddress(KERNEL_IP + "/24").build()));
        assertThat(dev.receivesThroughRing()).isTrue();
        Poller poller = new Poller(dev.fd());
        ByteBufAllocator alloc = PooledByteBufAllocator.DEFAULT;
        assertThat(run("ip", "-n", ns, "link", "set", devName, "down").rc).isZero();
        assertThat(run("ip", "-n", ns, "link", "set", devName, "up").rc).isZero();
        assertThat(run("ip", "-n", ns, "addr", "replace", KERNEL_IP + "/24", "dev", devName).rc).isZero();
        // The socket reported ENETDOWN (POLLERR) when the device went down; receive clears it and goes on.
        ByteBuf request = arpRequest(alloc.directBuffer(60), dev.macAddress());
        try {
            assertThat(dev.transmit(request)).isTrue();
        } finally {
            request.release();
        }
        assertThat(awaitFrame(dev, poller, alloc, 5_000, f -> isArpReply(f, dev.macAddress())))
                .as("an ARP reply through the ring after down and up").isTrue();
        for (ByteBuf f; (f = dev.receive(alloc)) != null; ) {
            f.release(); // whatever else the kernel sent
        }
        poller.poll(0);
        assertThat(poller.revents(0) & LibC.POLLERR).as("no error left pending").isZero();

        assertThat(run("ip", "-n", ns, "link", "del", devName).rc).isZero();
        assertThat(poller.poll(TimeUnit.SECONDS.toNanos(5))).isEqualTo(1);
        assertThatThrownBy(() -> {
            for (ByteBuf f; (f = dev.receive(alloc)) != null; ) {
                f.release(); // frames sent before the delete
            }
        }).isInstanceOf(LinkFailedException.class).hasMessageContaining(devName);
        assertThat(dev.receive(alloc)).as("reported once").isNull();
    }

    @Test
    void receiveRingReusesOneBufferForFramesNobodyKeeps() throws Exception {
        String ns = newNamespace();
        TapDevice dev = track(TapDevice.open(TapConfig.builder(devName).offload(false).receiveRing(64)
                .namespace(ns).kernelAddress(KERNEL_IP + "/24").build()));
        assertThat(dev.receivesThroughRing()).isTrue();
        Poller poller = new Poller(dev.fd());
        CountingAllocator alloc = new CountingAllocator();
        int frames = 0;
        for (int round = 0; round < 20; round++) {
            ByteBuf request = arpRequest(Unpooled.directBuffer(60), dev.macAddress());
            try {
                assertThat(dev.transmit(request)).isTrue();
            } finally {
                request.release();
            }
            boolean replied = false;
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(2);
            while (!replied && System.nanoTime() < deadline) {
                ByteBuf f = dev.receive(alloc);
                if (f == null) {
                    poller.poll(TimeUnit.MILLISECONDS.toNanos(100));
                    continue;
                }
                frames++;
                replied = isArpReply(f, dev.macAddress());
                dev.recycle(f); // nobody kept it: the device may use it again
            }
            assertThat(replied).as("ARP reply %d", round).isTrue();
        }
        // One buffer for what tun held before the ring took over, one for the ring's frames; none per frame.
        assertThat(alloc.count.get()).as("buffers allocated for %d frames", frames).isLessThanOrEqualTo(3);
    }

    @Test
    void receiveRingSizeIsChecked() {
        assertThatThrownBy(() -> TapConfig.builder(devName).receiveRing(-1))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("receiveRing");
        assertThatThrownBy(() -> TapConfig.builder(devName).receiveRing(TapConfig.MAX_RECEIVE_RING + 1))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("receiveRing");
        assertThat(PacketRing.slotSize(1500, 0)).isEqualTo(2048);
        assertThat(PacketRing.slotSize(1500, 10)).isEqualTo(2048);
        assertThat(PacketRing.slotSize(9000, 10)).isEqualTo(16384);
    }

    private static MacAddress macAt(ByteBuf f, int offset) {
        byte[] b = new byte[6];
        f.getBytes(f.readerIndex() + offset, b);
        return MacAddress.of(b);
    }

    private static boolean awaitFrame(TapDevice dev, Poller poller, ByteBufAllocator alloc, long timeoutMs,
                                      FramePredicate predicate) throws IOException {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMs);
        for (;;) {
            ByteBuf f;
            while ((f = dev.receive(alloc)) != null) {
                try {
                    if (f.readableBytes() >= 14 && predicate.test(f)) {
                        return true;
                    }
                } finally {
                    f.release();
                }
            }
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                return false;
            }
            poller.poll(left);
        }
    }

    private static ByteBuf arpRequest(ByteBuf buf, MacAddress from) {
        buf.writeBytes(MacAddress.BROADCAST.toBytes());
        buf.writeBytes(from.toBytes());
        buf.writeShort(0x0806);
        buf.writeShort(1);        // hardware type: Ethernet
        buf.writeShort(0x0800);   // protocol type: IPv4
        buf.writeByte(6);
        buf.writeByte(4);
        buf.writeShort(1);        // request
        buf.writeBytes(from.toBytes());
        buf.writeBytes(ip(STACK_IP));
        buf.writeZero(6);
        buf.writeBytes(ip(KERNEL_IP));
        buf.writeZero(60 - buf.writerIndex()); // pad to the Ethernet minimum
        return buf;
    }

    private static boolean isArpReply(ByteBuf f, MacAddress us) {
        int i = f.readerIndex();
        return f.readableBytes() >= 42
                && f.getUnsignedShort(i + 12) == 0x0806
                && MacAddress.read(f, i) == us.toLong()
                && f.getUnsignedShort(i + 20) == 2
                && f.getInt(i + 28) == ipInt(KERNEL_IP)
                && MacAddress.read(f, i + 32) == us.toLong()
                && f.getInt(i + 38) == ipInt(STACK_IP);
    }

    private static byte[] ip(String dotted) {
        String[] p = dotted.split("\\.");
        byte[] b = new byte[4];
        for (int i = 0; i < 4; i++) {
            b[i] = (byte) Integer.parseInt(p[i]);
        }
        return b;
    }

    private static int ipInt(String dotted) {
        byte[] b = ip(dotted);
        return (b[0] & 0xff) << 24 | (b[1] & 0xff) << 16 | (b[2] & 0xff) << 8 | (b[3] & 0xff);
    }

    private String newNamespace() {
        String ns = "ut-tap-" + Long.toHexString(ThreadLocalRandom.current().nextLong() & 0xffff_ffffL);
        cleanupCommands.add(new String[] {"ip", "netns", "del", ns});
        Result r = run("ip", "netns", "add", ns);
        assertThat(r.rc).as("ip netns add %s: %s", ns, r.out).isZero();
        return ns;
    }

    private <T extends AutoCloseable> T track(T closeable) {
        toClose.add(closeable);
        return closeable;
    }

    private static int effectiveUid() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("Uid:")) {
                return Integer.parseInt(line.substring(4).trim().split("\\s+")[1]);
            }
        }
        return -1;
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static final class Result {
        final int rc;
        final String out;

        Result(int rc, String out) {
            this.rc = rc;
            this.out = out;
        }
    }

    private static Result run(String... cmd) {
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            p.getOutputStream().close();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(30, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                return new Result(-1, out + " (timed out)");
            }
            return new Result(p.exitValue(), out);
        } catch (IOException e) {
            return new Result(-1, e.toString());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new Result(-1, e.toString());
        }
    }

    /** Hands out heap buffers even when asked for direct ones (no memory address). */
    private static final class HeapOnlyAllocator extends AbstractByteBufAllocator {
        HeapOnlyAllocator() {
            super(false);
        }

        @Override
        protected ByteBuf newHeapBuffer(int initialCapacity, int maxCapacity) {
            return new UnpooledHeapByteBuf(this, initialCapacity, maxCapacity);
        }

        @Override
        protected ByteBuf newDirectBuffer(int initialCapacity, int maxCapacity) {
            return newHeapBuffer(initialCapacity, maxCapacity);
        }

        @Override
        public boolean isDirectBufferPooled() {
            return false;
        }
    }

    /** Counts the buffers it hands out. */
    private static final class CountingAllocator extends AbstractByteBufAllocator {
        final AtomicInteger count = new AtomicInteger();

        CountingAllocator() {
            super(true);
        }

        @Override
        protected ByteBuf newHeapBuffer(int initialCapacity, int maxCapacity) {
            count.incrementAndGet();
            return UnpooledByteBufAllocator.DEFAULT.heapBuffer(initialCapacity, maxCapacity);
        }

        @Override
        protected ByteBuf newDirectBuffer(int initialCapacity, int maxCapacity) {
            count.incrementAndGet();
            return UnpooledByteBufAllocator.DEFAULT.directBuffer(initialCapacity, maxCapacity);
        }

        @Override
        public boolean isDirectBufferPooled() {
            return false;
        }
    }
}
