package io.usertcp.link;

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

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The queues of a multi-queue TAP device (issue #12) against the real kernel: needs {@code /dev/net/tun} and root.
 * Every device and namespace a test makes is removed after it.
 */
class TapQueuesTest {
    private final String suffix = String.format("%04x", ThreadLocalRandom.current().nextInt(0x10000));
    private final String devName = "utmq" + suffix;
    private final List<AutoCloseable> toClose = new ArrayList<>();
    private final List<String[]> cleanupCommands = new ArrayList<>();

    @BeforeEach
    void requireTap() throws IOException {
        assumeTrue(Files.exists(Path.of("/dev/net/tun")), "needs /dev/net/tun (load the tun module)");
        assumeTrue(Files.readString(Path.of("/proc/self/status")).lines()
                .anyMatch(l -> l.startsWith("Uid:") && l.split("\\s+")[2].equals("0")), "needs root");
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
    void queuesAttachInTheDevicesNamespace() throws Exception {
        String ns = "ut-mq-" + suffix;
        cleanupCommands.add(new String[] {"ip", "netns", "del", ns});
        assertThat(run("ip", "netns", "add", ns)).startsWith("0:");
        TapConfig cfg = TapConfig.builder(devName).namespace(ns).kernelAddress("198.18.78.1/24").build();
        for (int q = 0; q < 3; q++) {
            toClose.add(cfg.openQueue(q, 3));
        }
        String link = run("ip", "-n", ns, "-d", "link", "show", "dev", devName);
        assertThat(link).contains("multi_queue").contains("numqueues 3 ");
        assertThat(run("ip", "-d", "link", "show", "dev", devName)).as("nothing made in our namespace")
                .doesNotStartWith("0:");
        assertThat(run("ip", "-n", ns, "-o", "-4", "addr", "show", "dev", devName)).contains("198.18.78.1/24");
    }

    @Test
    void aDeviceOfOneQueueCannotTakeMoreAndSaysHowToFixIt() {
        cleanupCommands.add(new String[] {"ip", "link", "del", "dev", devName});
        assertThat(run("ip", "tuntap", "add", "dev", devName, "mode", "tap")).startsWith("0:");
        TapConfig cfg = TapConfig.builder(devName).build();
        assertThatThrownBy(() -> toClose.add(cfg.openQueue(0, 2)))
                .isInstanceOf(IOException.class)
                .hasMessageContaining("exists without multi-queue")
                .hasMessageContaining("ip tuntap add dev " + devName + " mode tap multi_queue")
                .hasMessageContaining("MultiThreadIoEventLoopGroup(1,");
    }

    @Test
    void aDeviceAnotherProcessHoldsAQueueOfIsRefused() throws Exception {
        cleanupCommands.add(new String[] {"ip", "link", "del", "dev", devName});
        assertThat(run("ip", "tuntap", "add", "dev", devName, "mode", "tap", "multi_queue")).startsWith("0:");
        TapConfig cfg = TapConfig.builder(devName).build();
        // The other process: one queue of the same device (the kernel tells descriptors apart, not processes).
        TapDevice other = TapDevice.openQueue(cfg, 0);
        toClose.add(other);
        assertThatThrownBy(() -> toClose.add(cfg.openQueue(0, 2)))
                .isInstanceOf(IOException.class)
                .hasMessageContaining("TAP device " + devName + " has 2 queues attached and this event loop group"
                        + " holds 1: another process holds 1 queue of it")
                .hasMessageContaining("Stop the other process, or give each its own device");
        assertThat(run("ip", "-d", "link", "show", "dev", devName)).as("the refused queue is gone again")
                .contains("numqueues 1 ");
    }

    @Test
    void aLaterQueueOfTheGroupIsRefusedWhenAnotherProcessAttachedBeforeIt() throws Exception {
        String ns = "ut-mq-" + suffix;
        cleanupCommands.add(new String[] {"ip", "netns", "del", ns});
        assertThat(run("ip", "netns", "add", ns)).startsWith("0:");
        TapConfig cfg = TapConfig.builder(devName).namespace(ns).kernelAddress("198.18.78.1/24").build();
        toClose.add(cfg.openQueue(0, 2));
        toClose.add(TapDevice.openQueue(cfg, 1)); // another process, in the device's namespace
        assertThatThrownBy(() -> toClose.add(cfg.openQueue(1, 2)))
                .isInstanceOf(IOException.class)
                .hasMessageContaining("has 3 queues attached and this event loop group holds 2");
    }

    @Test
    void theWatchSeesAQueueAnotherProcessAttachesLater() throws Exception {
        String ns = "ut-mq-" + suffix;
        cleanupCommands.add(new String[] {"ip", "netns", "del", ns});
        assertThat(run("ip", "netns", "add", ns)).startsWith("0:");
        TapConfig cfg = TapConfig.builder(devName).namespace(ns).kernelAddress("198.18.78.1/24").build();
        TapDevice first = (TapDevice) cfg.openQueue(0, 2);
        toClose.add(first);
        toClose.add(cfg.openQueue(1, 2));
        try (TapQueueWatch watch = TapQueueWatch.open(first, 2)) {
            assertThat(watch.check()).isZero();
            TapDevice other = TapDevice.openQueue(cfg, 2);
            try {
                assertThat(watch.check()).as("one queue of another process").isEqualTo(1);
                assertThat(watch.foreignQueues()).isEqualTo(1);
            } finally {
                other.close();
            }
            assertThat(watch.check()).as("gone again").isZero();
        }
        try (TapQueueWatch single = TapQueueWatch.open(first, 1)) {
            assertThat(single.check()).as("a group of one would see the second queue as foreign").isEqualTo(1);
        }
    }

    @Test
    void aGroupOfOneLoopHoldsQueueZeroOfAMultiQueueDeviceAndSharesItWithNobody() throws Exception {
        cleanupCommands.add(new String[] {"ip", "link", "del", "dev", devName});
        assertThat(run("ip", "tuntap", "add", "dev", devName, "mode", "tap", "multi_queue")).startsWith("0:");
        TapConfig cfg = TapConfig.builder(devName).build();
        toClose.add(cfg.openQueue(0, 1)); // a group of one loop: TapDevice.open
        assertThat(run("ip", "-d", "link", "show", "dev", devName)).contains("numqueues 1 ");
        assertThatThrownBy(() -> toClose.add(TapDevice.open(cfg)))
                .as("another group of one loop on the same device")
                .isInstanceOf(IOException.class)
                .hasMessageContaining("has 2 queues attached and this event loop group holds 1");
        assertThat(run("ip", "-d", "link", "show", "dev", devName)).contains("numqueues 1 ");
    }

    @Test
    void aBusyDeviceWithoutMultiQueueSaysThatNoTwoGroupsShareADevice() throws Exception {
        toClose.add(TapDevice.open(TapConfig.builder(devName).build()));
        assertThatThrownBy(() -> toClose.add(TapDevice.open(TapConfig.builder(devName).build())))
                .isInstanceOf(IOException.class)
                .hasMessageContaining("made without multi-queue, so it has one reader")
                .hasMessageContaining("whose loops share it as the queues of a multi-queue device")
                .hasMessageContaining("two groups or processes never share one")
                .hasMessageNotContaining("MultiThreadIoEventLoopGroup(1,");
    }

    /** Runs a command: "exit status: output". */
    private static String run(String... cmd) {
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            p.getOutputStream().close();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(30, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                return "-1: timed out " + out;
            }
            return p.exitValue() + ": " + out;
        } catch (IOException e) {
            return "-1: " + e;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "-1: " + e;
        }
    }
}
