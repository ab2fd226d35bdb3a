package io.usertcp.link;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The kernel's side of a TAP device as {@link KernelSide} configures it through netlink, read back with
 * {@code ip -j -d} (the test's tool, not the library's): MTU, transmit queue, the up flag and every address with its
 * prefix length (IPv6 without duplicate address detection), in the root namespace and moved into another; the
 * kernel's refusals named; and a child JVM whose PATH holds no {@code ip} at all doing the same. Needs root and
 * {@code /dev/net/tun}; every namespace and device is removed afterwards.
 */
class KernelSideTest {
    private static final String V4 = "198.18.79.1";
    private static final String V6 = "fd00:18:79::1";

    private final String suffix = String.format("%04x", ThreadLocalRandom.current().nextInt(0x10000));
    private final String devName = "utnl" + suffix;
    private final List<AutoCloseable> toClose = new ArrayList<>();
    private final List<String[]> cleanupCommands = new ArrayList<>();

    @TempDir
    Path tmp;

    @BeforeEach
    void requireRoot() throws IOException {
        assumeTrue(Files.exists(Path.of("/dev/net/tun")), "needs /dev/net/tun (load the tun module)");
        assumeTrue(Files.readAllLines(Path.of("/proc/self/status")).stream()
                .anyMatch(l -> l.matches("Uid:\\s+\\d+\\s+0\\s.*")), "needs root to create TAP devices and namespaces");
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
    void configuresBothFamiliesMtuAndUpInANamespace() throws Exception {
        String ns = newNamespace();
        track(TapDevice.open(TapConfig.builder(devName).mtu(1400).namespace(ns)
                .kernelAddress(V4 + "/24").kernelAddress(V6 + "/64").build()));
        assertThat(run("ip", "link", "show", "dev", devName).rc).as("moved out of the root namespace").isNotZero();
        assertConfigured(ns, 1400);
    }

    @Test
    void configuresTheRootNamespaceToo() throws Exception {
        track(TapDevice.open(TapConfig.builder(devName).mtu(9000).offload(false)
                .kernelAddress(V4 + "/30").kernelAddress(V6 + "/120").build()));
        String link = ipJson(null, "-d", "link", "show", "dev", devName);
        assertThat(intField(link, "mtu")).isEqualTo(9000);
        assertThat(flags(link)).contains("UP");
        String addrs = ipJson(null, "addr", "show", "dev", devName);
        assertThat(addresses(addrs)).containsExactlyInAnyOrder("inet " + V4 + "/30", "inet6 " + V6 + "/120");
    }

    @Test
    void withoutKernelConfigurationTheDeviceIsOnlyMoved() throws Exception {
        String ns = newNamespace();
        track(TapDevice.open(TapConfig.builder(devName).namespace(ns).build()));
        String link = ipJson(ns, "-d", "link", "show", "dev", devName);
        assertThat(flags(link)).doesNotContain("UP");
        assertThat(intField(link, "txqlen")).as("left at the kernel's default").isEqualTo(1000);
        assertThat(addresses(ipJson(ns, "addr", "show", "dev", devName))).isEmpty();
    }

    @Test
    void theKernelsRefusalNamesTheRequestTheErrnoAndItsReason() {
        // A TAP device's largest MTU is below 65535: the kernel refuses with EINVAL and says why (extended ack).
        assertThatThrownBy(() -> track(TapDevice.open(TapConfig.builder(devName).mtu(65535)
                .kernelAddress(V4 + "/24").build())))
                .isInstanceOf(IOException.class)
                .hasMessageContaining("cannot configure the kernel side of TAP device " + devName)
                .hasMessageContaining("RTM_SETLINK IFLA_MTU 65535")
                .hasMessageContaining("EINVAL")
                .hasMessageContaining("maximum");
        assertThat(run("ip", "link", "show", "dev", devName).rc).as("no device left behind").isNotZero();
    }

    @Test
    void aNamespaceGivenByPidIsEntered() throws Exception {
        String ns = newNamespace();
        Process holder = new ProcessBuilder("ip", "netns", "exec", ns, "sleep", "60").start();
        toClose.add(holder::destroyForcibly);
        String pid = Long.toString(holder.pid());
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!sameNamespace(Paths.get("/proc", pid, "ns", "net"), Paths.get("/run/netns", ns))) {
            assertThat(System.nanoTime()).as("the holder entered %s", ns).isLessThan(deadline);
            Thread.sleep(20);
        }
        track(TapDevice.open(TapConfig.builder(devName).namespace(pid).kernelAddress(V4 + "/24").build()));
        assertThat(addresses(ipJson(ns, "addr", "show", "dev", devName))).contains("inet " + V4 + "/24");
    }

    /** The proof that no {@code ip} is run: a child JVM with a PATH of an empty directory opens and configures. */
    @Test
    void worksWithoutIpOnThePath() throws Exception {
        String ns = newNamespace();
        Process child = childJvm("--", devName, ns, "1400", V4 + "/24", V6 + "/64");
        BufferedReader out = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8));
        StringBuilder seen = new StringBuilder();
        String line;
        while ((line = out.readLine()) != null && !line.equals(OpenTapWithoutIp.READY)) {
            seen.append(line).append('\n');
        }
        assertThat(line).as("the child configured the device; it said:\n%s", seen).isEqualTo(OpenTapWithoutIp.READY);
        assertThat(seen.toString()).contains(OpenTapWithoutIp.NO_IP);
        assertConfigured(ns, 1400);

        try (OutputStream in = child.getOutputStream()) {
            in.write('\n'); // let it close the device and exit
        }
        assertThat(child.waitFor(30, TimeUnit.SECONDS)).isTrue();
        assertThat(child.exitValue()).isZero();
        assertThat(run("ip", "-n", ns, "link", "show", "dev", devName).rc).as("gone with the child").isNotZero();
    }

    /** Root without CAP_NET_ADMIN (a container without --cap-add NET_ADMIN) may attach to its own device only. */
    @Test
    void withoutNetAdminTheRefusalSaysWhatIsMissing() throws Exception {
        Path setpriv = Paths.get("/usr/bin/setpriv");
        assumeTrue(Files.isExecutable(setpriv), "needs setpriv (util-linux) to drop CAP_NET_ADMIN");
        cleanupCommands.add(new String[] {"ip", "link", "del", "dev", devName});
        Result add = run("ip", "tuntap", "add", "dev", devName, "mode", "tap", "user", "0");
        assertThat(add.rc).as(add.out).isZero();
        Process child = childJvm(setpriv.toString(), "--inh-caps=-net_admin", "--bounding-set=-net_admin",
                "--", devName, "-", "1500", V4 + "/24");
        String out = new String(child.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(child.waitFor(30, TimeUnit.SECONDS)).isTrue();
        assertThat(child.exitValue()).as(out).isNotZero();
        assertThat(out).doesNotContain(OpenTapWithoutIp.READY)
                .contains("cannot configure the kernel side of TAP device " + devName)
                .contains("RTM_SETLINK IFLA_MTU 1500").contains("EPERM").contains("needs CAP_NET_ADMIN");
        assertThat(addresses(ipJson(null, "addr", "show", "dev", devName))).isEmpty();
    }

    /** A JVM running {@link OpenTapWithoutIp} with a PATH of an empty directory, behind {@code prefix} if any. */
    private Process childJvm(String... prefixAndArgs) throws IOException {
        Path emptyBin = tmp.resolve("bin");
        if (!Files.isDirectory(emptyBin)) {
            Files.createDirectory(emptyBin);
        }
        List<String> cmd = new ArrayList<>();
        int split = List.of(prefixAndArgs).indexOf("--");
        for (int i = 0; i < split; i++) {
            cmd.add(prefixAndArgs[i]);
        }
        cmd.addAll(List.of(Paths.get(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), OpenTapWithoutIp.class.getName()));
        for (int i = split + 1; i < prefixAndArgs.length; i++) {
            cmd.add(prefixAndArgs[i]);
        }
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.environment().put("PATH", emptyBin.toString());
        pb.redirectErrorStream(true);
        Process child = pb.start();
        toClose.add(child::destroyForcibly);
        return child;
    }

    private void assertConfigured(String ns, int mtu) throws IOException {
        String link = ipJson(ns, "-d", "link", "show", "dev", devName);
        assertThat(intField(link, "mtu")).isEqualTo(mtu);
        assertThat(intField(link, "txqlen")).isEqualTo(KernelSide.TX_QUEUE_LENGTH);
        assertThat(flags(link)).contains("UP");
        assertThat(link).contains("\"info_kind\":\"tun\"").contains("\"type\":\"tap\"");
        String addrs = ipJson(ns, "addr", "show", "dev", devName);
        assertThat(addresses(addrs)).containsExactlyInAnyOrder("inet " + V4 + "/24", "inet6 " + V6 + "/64");
        Matcher v6 = Pattern.compile("\\{[^{}]*\"local\":\"" + V6 + "\"[^{}]*}").matcher(addrs);
        assertThat(v6.find()).isTrue();
        assertThat(v6.group()).as("IPv6 without DAD").contains("\"nodad\":true").doesNotContain("tentative");
    }

    // ---- reading `ip -j` output without a JSON library: the few fields we need ----

    private static String ipJson(String ns, String... args) throws IOException {
        List<String> cmd = new ArrayList<>(List.of("ip", "-j"));
        if (ns != null) {
            cmd.addAll(List.of("-n", ns));
        }
        cmd.addAll(List.of(args));
        Result r = run(cmd.toArray(new String[0]));
        assertThat(r.rc).as("%s: %s", cmd, r.out).isZero();
        return r.out;
    }

    private static int intField(String json, String name) {
        Matcher m = Pattern.compile("\"" + name + "\":(\\d+)").matcher(json);
        assertThat(m.find()).as("%s in %s", name, json).isTrue();
        return Integer.parseInt(m.group(1));
    }

    private static List<String> flags(String json) {
        Matcher m = Pattern.compile("\"flags\":\\[([^\\]]*)]").matcher(json);
        assertThat(m.find()).as("flags in %s", json).isTrue();
        return List.of(m.group(1).replace("\"", "").split(","));
    }

    /** "inet 198.18.79.1/24", ...: the addresses other than the kernel's own IPv6 link-local one. */
    private static List<String> addresses(String json) {
        List<String> out = new ArrayList<>();
        Matcher m = Pattern.compile("\"family\":\"(inet6?)\",\"local\":\"([^\"]+)\",\"prefixlen\":(\\d+)").matcher(json);
        while (m.find()) {
            if (!m.group(2).startsWith("fe80:")) {
                out.add(m.group(1) + " " + m.group(2) + "/" + m.group(3));
            }
        }
        return out;
    }

    private static boolean sameNamespace(Path a, Path b) {
        try {
            return Files.readAttributes(a, "unix:ino").get("ino").equals(Files.readAttributes(b, "unix:ino").get("ino"));
        } catch (IOException | UnsupportedOperationException e) {
            return false;
        }
    }

    private String newNamespace() {
        String ns = "ut-nl-" + Long.toHexString(ThreadLocalRandom.current().nextLong() & 0xffff_ffffL);
        cleanupCommands.add(new String[] {"ip", "netns", "del", ns});
        Result r = run("ip", "netns", "add", ns);
        assertThat(r.rc).as("ip netns add %s: %s", ns, r.out).isZero();
        return ns;
    }

    private <T extends AutoCloseable> T track(T closeable) {
        toClose.add(closeable);
        return closeable;
    }

    private record Result(int rc, String out) {
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
}
