package io.usertcp.link;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.PooledByteBufAllocator;
import io.usertcp.wire.SynFilter;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.SplittableRandom;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The kernel runs the receive ring's SYN filter ({@link TapDevice#filterSyns}, issue #10): SYNs the kernel's TCP
 * sends to the TAP (a connect from the namespace) are dropped before the ring when the filter covers them, pass
 * when their port is not covered or their source is kept (IPv4 and IPv6), and all pass again once the filter is
 * off. A filter
 * with the most sources it can keep is accepted too. Needs root and /dev/net/tun.
 */
class SynFilterOverRingTest {
    private static final String KERNEL_IP = "198.18.78.1";
    private static final String STACK_IP = "198.18.78.2";
    private static final int KERNEL = 0xC6124E01;

    private final String devName = String.format("utsyn%04x", ThreadLocalRandom.current().nextInt(0x10000));
    private String ns;
    private TapDevice dev;

    @BeforeEach
    void requireRoot() throws IOException {
        assumeTrue(Files.exists(Path.of("/dev/net/tun")), "needs /dev/net/tun (load the tun module)");
        assumeTrue(Files.readAllLines(Path.of("/proc/self/status")).stream()
                .anyMatch(l -> l.startsWith("Uid:") && l.substring(4).trim().split("\\s+")[1].equals("0")),
                "needs root (CAP_NET_ADMIN, CAP_NET_RAW) for the TAP device, its namespace and the ring");
    }

    @AfterEach
    void cleanUp() throws Exception {
        if (dev != null) {
            dev.close();
        }
        if (ns != null) {
            run("ip", "netns", "del", ns);
        }
    }

    @Test
    void theKernelDropsTheSynsTheFilterCoversBeforeTheRing() throws Exception {
        ns = "ut-syn-" + Long.toHexString(ThreadLocalRandom.current().nextLong() & 0xffff_ffffL);
        assertThat(run("ip", "netns", "add", ns)).isZero();
        dev = TapDevice.open(TapConfig.builder(devName).offload(false).receiveRing(256).namespace(ns)
                .kernelAddress(KERNEL_IP + "/24").build());
        assumeTrue(dev.receivesThroughRing(), "the receive ring (CAP_NET_RAW)");
        // The kernel sends its SYNs to us without asking ARP first.
        assertThat(run("ip", "-n", ns, "neigh", "replace", STACK_IP, "lladdr", dev.macAddress().toString(),
                "dev", devName)).isZero();
        Poller poller = new Poller(dev.fd());

        assertThat(dev.filterSyns(SynFilter.of(0, new int[] {7000}, new int[0]))).isTrue();
        connectFromKernel(7000);
        connectFromKernel(7001);
        int[] seen = synsSeen(poller, 7001);
        assertThat(seen[1]).as("the SYN to a port the filter does not cover").isPositive();
        assertThat(seen[0]).as("SYNs to the covered port that passed").isZero();

        assertThat(dev.filterSyns(SynFilter.of(0, new int[] {7000}, new int[] {KERNEL}))).isTrue();
        connectFromKernel(7000);
        assertThat(synsSeen(poller, 7000)[0]).as("a kept source's SYN").isPositive();

        SplittableRandom r = new SplittableRandom(3);
        int[] keep = new int[RingFilter.MAX_KEEP];
        for (int i = 0; i < keep.length - 1; i++) {
            keep[i] = r.nextInt();
        }
        keep[keep.length - 1] = KERNEL;
        assertThat(dev.filterSyns(SynFilter.of(0, new int[0], keep))).as("the largest filter").isTrue();
        connectFromKernel(7000);
        assertThat(synsSeen(poller, 7000)[0]).as("kept among 1024").isPositive();

        assertThat(dev.filterSyns(SynFilter.of(0, new int[0], new int[0]))).isTrue();
        connectFromKernel(7002);
        connectFromKernel(7003);
        assertThat(synsSeen(poller, 7003)[1]).as("every port covered").isZero();

        // IPv6: the kernel's address fd00:78::1 (no duplicate address detection, so that it is usable at once).
        assertThat(run("ip", "-n", ns, "addr", "add", "fd00:78::1/64", "dev", devName, "nodad")).isZero();
        assertThat(run("ip", "-n", ns, "neigh", "replace", "fd00:78::2", "lladdr", dev.macAddress().toString(),
                "dev", devName)).isZero();
        long hi = 0xfd00_0078_0000_0000L;
        assertThat(dev.filterSyns(SynFilter.of(0, new int[] {7000}, new int[0]))).isTrue();
        connectFromKernel("fd00:78::2", 7000);
        connectFromKernel("fd00:78::2", 7001);
        int[] seen6 = synsSeen(poller, 7001);
        assertThat(seen6[1]).as("an IPv6 SYN to a port the filter does not cover").isPositive();
        assertThat(seen6[0]).as("IPv6 SYNs to the covered port that passed").isZero();
        assertThat(dev.filterSyns(SynFilter.of(0, new int[] {7000}, new int[0],
                new int[] {SynFilter.fold(hi, 1)}))).isTrue();
        connectFromKernel("fd00:78::2", 7000);
        assertThat(synsSeen(poller, 7000)[0]).as("a kept IPv6 source's SYN").isPositive();

        assertThat(dev.filterSyns(SynFilter.NONE)).isTrue();
        connectFromKernel(7000);
        assertThat(synsSeen(poller, 7000)[0]).as("the filter is off").isPositive();
    }

    /** A non-blocking connect from the namespace: the kernel sends one SYN (and retransmits it after 1 s). */
    private void connectFromKernel(int port) {
        connectFromKernel(STACK_IP, port);
    }

    private void connectFromKernel(String to, int port) {
        String family = to.contains(":") ? "socket.AF_INET6" : "socket.AF_INET";
        String script = "import socket; s = socket.socket(" + family + "); s.setblocking(False); s.connect_ex(('"
                + to + "', " + port + "))";
        assertThat(run("ip", "netns", "exec", ns, "python3", "-c", script)).isZero();
    }

    /**
     * Reads frames for up to 700 ms (before the kernel's first SYN retransmission) or until a SYN to
     * {@code until}; returns {SYNs to port 7000, SYNs to {@code until}} (the same count twice when until is 7000).
     */
    private int[] synsSeen(Poller poller, int until) throws IOException {
        ByteBufAllocator alloc = PooledByteBufAllocator.DEFAULT;
        int[] seen = new int[2];
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(700);
        for (;;) {
            ByteBuf f;
            while ((f = dev.receive(alloc)) != null) {
                try {
                    int port = synPort(f);
                    if (port == 7000) {
                        seen[0]++;
                    }
                    if (port == until) {
                        seen[1]++;
                        return seen;
                    }
                } finally {
                    f.release();
                }
            }
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                return seen;
            }
            poller.poll(left);
        }
    }

    /** The destination port of an IPv4 or IPv6 SYN (without ACK) frame, else -1. */
    private static int synPort(ByteBuf f) {
        int i = f.readerIndex();
        int tcp;
        if (f.readableBytes() >= 54 && f.getUnsignedShort(i + 12) == 0x0800 && f.getUnsignedByte(i + 23) == 6) {
            tcp = i + 14 + (f.getUnsignedByte(i + 14) & 0xf) * 4;
        } else if (f.readableBytes() >= 74 && f.getUnsignedShort(i + 12) == 0x86dd && f.getUnsignedByte(i + 20) == 6) {
            tcp = i + 14 + 40;
        } else {
            return -1;
        }
        return (f.getUnsignedByte(tcp + 13) & 0x12) == 0x02 ? f.getUnsignedShort(tcp + 2) : -1;
    }

    private static int run(String... cmd) {
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            p.getOutputStream().close();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(30, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                return -1;
            }
            if (p.exitValue() != 0) {
                System.err.println(String.join(" ", cmd) + ": " + out);
            }
            return p.exitValue();
        } catch (IOException e) {
            return -1;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return -1;
        }
    }
}
