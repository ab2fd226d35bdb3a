package io.usertcp.it;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.FixedRecvByteBufAllocator;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.util.concurrent.Future;
import io.usertcp.channel.UserTcpIoHandler;
import io.usertcp.channel.UserTcpServerChannel;
import io.usertcp.channel.UserUdpChannel;
import io.usertcp.examples.EchoServerHandler;
import io.usertcp.examples.UdpEchoServer;
import io.usertcp.link.TapConfig;
import io.usertcp.stack.StackConfig;
import io.usertcp.stats.StackStats;
import io.usertcp.wire.MacAddress;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A dual-stack usertcp stack (198.18.6.2/24 and fd00:198::2/64) on one TAP device in a network namespace whose
 * kernel side has 198.18.6.1/24 and fd00:198::1/64: ping and neighbour discovery, TCP echo (the project's load
 * client {@code bench/echoload.c}, built with gcc from the checkout; a Python bulk client; a closed port) and UDP echo (small datagrams, and 8000-byte
 * ones that travel as fragments both ways) over IPv6, and the same over IPv4 on the same stack, which must keep
 * working. The TCP echo server and the UDP echo channel are bound to wildcard port 7, so each serves both
 * families. Every client is the kernel's, run with {@code ip netns exec}.
 */
@ExtendWith(LeakCheck.class)
@Timeout(value = 5, unit = TimeUnit.MINUTES)
class Ipv6OverTapTest {

    static final String PYTHON = EchoOverTapTest.PYTHON;
    static final String KERNEL4_CIDR = "198.18.6.1/24";
    static final String KERNEL6_CIDR = "fd00:198::1/64";
    static final String STACK4 = "198.18.6.2";
    static final String STACK6 = "fd00:198::2"; // canonical form: the Python clients compare it with recvfrom's
    /** The stack's MAC, fixed so that the kernel's neighbour table can be checked for it. */
    static final String STACK_MAC = "02:00:c6:12:06:02";
    static final int ECHO_PORT = 7;
    static final int CLOSED_PORT = 9;

    /** The address family a test runs over, with the stack's address in it. */
    enum Family {
        IPV6(STACK6, "-6"),
        IPV4(STACK4, "-4");

        final String stack;
        final String flag;

        Family(String stack, String flag) {
            this.stack = stack;
            this.flag = flag;
        }
    }

    static NetNs ns;
    static String tap;
    static EventLoopGroup group;
    static ItLoops.Stacks stacks;
    static final List<Channel> channels = new ArrayList<>();
    static Path tmp;
    static Path echoload;
    /** {@code ip addr show dev TAP} as soon as the stack had opened the TAP. */
    static NetNs.Result addressesAtStart;

    @BeforeAll
    static void startStack() throws Exception {
        // One load client per class, built first: a missing compiler fails here, before any namespace exists.
        tmp = Files.createTempDirectory("usertcp-ipv6-it-");
        echoload = Echoload.build(tmp);

        ns = NetNs.create();
        tap = NetNs.uniqueTapName();
        StackConfig cfg = StackConfig.builder()
                .link(TapConfig.builder(tap).mac(MacAddress.parse(STACK_MAC))
                        .kernelAddress(KERNEL4_CIDR).kernelAddress(KERNEL6_CIDR).namespace(ns.name()).build())
                .address(STACK4 + "/24")
                .address(STACK6 + "/64")
                .build();
        stacks = new ItLoops.Stacks(UserTcpIoHandler.newFactory(cfg)); // to read the stacks' counters in the tests
        group = new MultiThreadIoEventLoopGroup(ItLoops.count(), stacks);
        // Right after the TAP came up: duplicate address detection would still hold the IPv6 address now.
        addressesAtStart = ns.exec("ip", "-o", "addr", "show", "dev", tap);
        // The TCP echo server (on every loop) and the UDP echo channel (on one) share the group, each on both families.
        channels.add(new ServerBootstrap().group(group).channel(UserTcpServerChannel.class)
                .childHandler(new EchoServerHandler())
                .bind(ECHO_PORT).sync().channel());
        channels.add(new Bootstrap().group(group).channel(UserUdpChannel.class)
                .option(ChannelOption.RCVBUF_ALLOCATOR, new FixedRecvByteBufAllocator(65536))
                .handler(new UdpEchoServer.EchoHandler())
                .bind(ECHO_PORT).sync().channel());
        System.out.println("[it] dual-stack " + STACK4 + ", " + STACK6 + " (TCP and UDP echo on port " + ECHO_PORT
                + ") on " + tap + " in netns " + ns.name() + ", kernel side " + KERNEL4_CIDR + ", " + KERNEL6_CIDR);
    }

    @AfterAll
    static void stopStack() throws Exception {
        List<Throwable> problems = new ArrayList<>();
        try {
            for (Channel c : channels) {
                if (!c.close().await(5, TimeUnit.SECONDS)) {
                    problems.add(new AssertionError("channel " + c + " did not close within 5 s"));
                }
            }
            if (group != null) {
                Future<?> f = group.shutdownGracefully(0, 5, TimeUnit.SECONDS);
                if (!f.await(30, TimeUnit.SECONDS)) {
                    problems.add(new AssertionError("event loop group did not terminate within 30 s"));
                } else if (!f.isSuccess()) {
                    problems.add(f.cause());
                }
            }
        } catch (Throwable t) {
            problems.add(t);
        } finally {
            if (ns != null) {
                ns.close();
            }
            deleteTmp(problems);
        }
        if (!problems.isEmpty()) {
            AssertionError e = new AssertionError("cleanup failed: " + problems.get(0), problems.get(0));
            problems.stream().skip(1).forEach(e::addSuppressed);
            throw e;
        }
    }

    private static void deleteTmp(List<Throwable> problems) {
        if (tmp == null) {
            return;
        }
        try (Stream<Path> files = Files.walk(tmp)) {
            for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        } catch (IOException e) {
            problems.add(e);
        }
    }

    // ---- link and neighbours ---------------------------------------------------------------------------------

    /**
     * The kernel side has both addresses, and the IPv6 one was usable at once: TapDevice adds it with
     * {@code nodad}, so it is not "tentative" (for about a second of duplicate address detection) even right
     * after the device came up.
     */
    @Test
    void tapHasBothKernelAddressesTheIpv6OneWithoutDad() {
        NetNs.Result r = addressesAtStart;
        assertTrue(r.ok(), r::toString);
        assertTrue(r.stdout().contains("inet " + KERNEL4_CIDR), r::toString);
        assertTrue(r.stdout().contains("inet6 " + KERNEL6_CIDR), r::toString);
        String v6 = r.stdout().lines().filter(l -> l.contains(KERNEL6_CIDR)).findFirst().orElseThrow();
        assertFalse(v6.contains("tentative") || v6.contains("dadfailed"),
                () -> "the IPv6 kernel address was not usable at once (added without nodad?): " + v6);
    }

    @ParameterizedTest(name = "{0}")
    @EnumSource(Family.class)
    void ping(Family f) throws IOException {
        NetNs.Result r = ns.exec(Duration.ofSeconds(30), "ping", f.flag, "-c", "3", "-W", "2", f.stack);
        System.out.println("[it] ping " + f + ": " + r.stdout().lines().filter(l -> l.contains("received"))
                .findFirst().orElse(r.toString()));
        assertTrue(r.ok(), r::toString);
        assertTrue(r.stdout().contains("3 received"), r::toString);
    }

    /**
     * After a ping the kernel has resolved the stack's address (IPv6: neighbour solicitation and the stack's
     * advertisement; IPv4: ARP) to the stack's MAC.
     */
    @ParameterizedTest(name = "{0}")
    @EnumSource(Family.class)
    void kernelNeighbourTableHasTheStacksMac(Family f) throws IOException {
        NetNs.Result ping = ns.exec(Duration.ofSeconds(30), "ping", f.flag, "-c", "1", "-W", "2", f.stack);
        NetNs.Result r = ns.execOk(NetNs.DEFAULT_TIMEOUT, "ip", f.flag, "neigh", "show", f.stack, "dev", tap);
        System.out.println("[it] neighbour " + f + ": " + r.stdout().trim());
        assertTrue(r.stdout().contains(f.stack + " lladdr " + STACK_MAC), () -> "the kernel has not resolved "
                + f.stack + " to " + STACK_MAC + ": " + r + "\nafter " + ping);
        assertFalse(r.stdout().contains("FAILED") || r.stdout().contains("INCOMPLETE"), r::toString);
    }

    // ---- TCP ---------------------------------------------------------------------------------------------------

    @ParameterizedTest(name = "{0}")
    @EnumSource(Family.class)
    void oneByteRoundTripsForTwoSeconds(Family f) throws IOException {
        Map<String, String> r = echoload(f, Duration.ofSeconds(60), "rr", "2");
        long perSecond = Long.parseLong(r.get("round_trips_per_s"));
        long n = Long.parseLong(r.get("round_trips"));
        assertTrue(perSecond >= 100 && n >= 200, () -> "too few round trips over " + f + ": " + r);
    }

    /** Four connections, one byte in flight on each: the echoes must not cross between connections. */
    @ParameterizedTest(name = "{0}")
    @EnumSource(Family.class)
    void oneByteRoundTripsOnFourConnections(Family f) throws IOException {
        Map<String, String> r = echoload(f, Duration.ofSeconds(60), "rr", "1", "4");
        assertEquals("4", r.get("connections"), r::toString);
        assertTrue(Long.parseLong(r.get("round_trips")) >= 400, () -> "too few round trips over " + f + ": " + r);
    }

    @ParameterizedTest(name = "{0}")
    @EnumSource(Family.class)
    void bulkSixtyFourMebibytesEveryByteChecked(Family f) throws IOException {
        Map<String, String> r = echoload(f, Duration.ofSeconds(180), "bulk", "64");
        assertEquals(String.valueOf(64L << 20), r.get("verified_bytes"), r::toString);
        assertTrue(Double.parseDouble(r.get("mib_per_s_each_way")) > 0, r::toString);
    }

    /** Connect, 1-byte echo, close, one connection after another for a second. */
    @ParameterizedTest(name = "{0}")
    @EnumSource(Family.class)
    void connectRequestResponseCloseForOneSecond(Family f) throws IOException {
        Map<String, String> r = echoload(f, Duration.ofSeconds(60), "crr", "1");
        assertTrue(Long.parseLong(r.get("connections")) >= 20, () -> "too few connections over " + f + ": " + r);
    }

    @ParameterizedTest(name = "{0}")
    @EnumSource(Family.class)
    void burstOfTwoHundredConnects(Family f) throws IOException {
        Map<String, String> r = echoload(f, Duration.ofSeconds(120), "burst", "200", "64");
        assertEquals("200", r.get("connections"), r::toString);
        assertEquals("64", r.get("bytes_each"), r::toString);
    }

    /** 1 MiB of (seeded) random bytes through the echo, read concurrently and compared byte for byte. */
    @ParameterizedTest(name = "{0}")
    @EnumSource(Family.class)
    void oneMebibyteOfRandomBytesEchoes(Family f) throws IOException {
        python(Duration.ofSeconds(60), EchoOverTapTest.BULK, f.stack, String.valueOf(ECHO_PORT), "1");
    }

    /** A SYN to a port nobody listens on gets a RST at once: the kernel's connect fails with ECONNREFUSED. */
    @ParameterizedTest(name = "{0}")
    @EnumSource(Family.class)
    void connectionToClosedPortIsRefusedQuickly(Family f) throws IOException {
        long t0 = System.nanoTime();
        python(Duration.ofSeconds(30), EchoOverTapTest.REFUSED, f.stack, String.valueOf(CLOSED_PORT));
        long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
        // The script's own timeout is 10 s; a RST answers within milliseconds (plus Python's start-up).
        assertTrue(ms < 5000, () -> "refused only after " + ms + " ms over " + f);
    }

    // ---- UDP ---------------------------------------------------------------------------------------------------

    @ParameterizedTest(name = "{0}")
    @EnumSource(Family.class)
    void smallUdpDatagramsEcho(Family f) throws IOException {
        python(Duration.ofSeconds(60), UDP_ECHO, f.stack, String.valueOf(ECHO_PORT), "200", "0");
    }

    /**
     * 8000-byte datagrams on a 1500-byte link: the kernel sends each in fragments, which the stack reassembles,
     * and the stack must cut its 8000-byte echo into fragments too, which the kernel reassembles. The kernel's
     * counters in the namespace prove both (FragCreates: it fragmented; ReasmOKs: it reassembled).
     */
    @ParameterizedTest(name = "{0}")
    @EnumSource(Family.class)
    void eightThousandByteUdpDatagramsEchoInFragmentsBothWays(Family f) throws Exception {
        int n = 50;
        String ip = f == Family.IPV6 ? "Ip6" : "Ip";
        Map<String, Long> before = ns.counters();
        StackStats stackBefore = f == Family.IPV4 ? stats() : null;
        python(Duration.ofSeconds(60), UDP_ECHO, f.stack, String.valueOf(ECHO_PORT), String.valueOf(n), "8000");
        Map<String, Long> after = ns.counters();
        long fragmented = delta(before, after, ip + "FragCreates");
        long reassembled = delta(before, after, ip + "ReasmOKs");
        System.out.println("[it] UDP 8000 over " + f + ": the kernel made " + fragmented
                + " fragments and reassembled " + reassembled + " echoes");
        assertTrue(fragmented >= 2L * n, () -> "the kernel did not fragment its datagrams: " + ip
                + "FragCreates grew by " + fragmented);
        assertTrue(reassembled >= n, () -> "the stack's echoes did not arrive in fragments: " + ip
                + "ReasmOKs grew by " + reassembled + " for " + n + " echoes");
        if (stackBefore != null) {
            StackStats stackAfter = stats();
            assertTrue(stackAfter.ipReassembled - stackBefore.ipReassembled >= n, () -> "reassembled: " + stackAfter);
            assertTrue(stackAfter.ipFragmented - stackBefore.ipFragmented >= n, () -> "fragmented: " + stackAfter);
        }
    }

    // ---- helpers -----------------------------------------------------------------------------------------------

    /**
     * Runs the load client in the namespace against the echo port ({@code echoload MODE STACK 7 ARGS...}); fails
     * unless it exits with 0 (it exits with 1 on any error and on any byte that did not come back as sent) and
     * reports the family asked for. Returns its figures by name.
     */
    private static Map<String, String> echoload(Family f, Duration timeout, String mode, String... args)
            throws IOException {
        List<String> cmd = new ArrayList<>(List.of(echoload.toString(), mode, f.stack, String.valueOf(ECHO_PORT)));
        cmd.addAll(List.of(args));
        NetNs.Result r = ns.exec(timeout, cmd.toArray(new String[0]));
        Map<String, String> figures = Echoload.figures(r.stdout());
        System.out.println("[it] echoload " + String.join(" ", cmd.subList(1, cmd.size())) + ": " + figures
                + (r.stderr().isBlank() ? "" : " " + r.stderr().trim()));
        assertTrue(r.ok(), () -> "echoload " + mode + " failed over " + f + ": " + r);
        assertEquals(mode, figures.get("mode"), r::toString);
        assertEquals(f == Family.IPV6 ? "ipv6" : "ipv4", figures.get("family"), r::toString);
        return figures;
    }

    /** Runs a Python client in the namespace and fails unless it exits with 0. */
    private static NetNs.Result python(Duration timeout, String script, String... args) throws IOException {
        List<String> cmd = new ArrayList<>(List.of(PYTHON, "-c", script));
        cmd.addAll(List.of(args));
        NetNs.Result r = ns.exec(timeout, cmd.toArray(new String[0]));
        String out = (r.stdout() + r.stderr()).trim();
        System.out.println("[it] python client " + (r.ok() ? "ok" : "FAILED") + ": " + out);
        assertTrue(r.ok(), () -> "client failed (" + (r.timedOut() ? "timed out after " + timeout
                : "exit status " + r.exitCode()) + "):\n" + out);
        return r;
    }

    private static long delta(Map<String, Long> before, Map<String, Long> after, String counter) {
        assertTrue(after.containsKey(counter), () -> "no kernel counter " + counter + " in " + after.keySet());
        return after.get(counter) - before.getOrDefault(counter, 0L);
    }

    /** The stacks' counters (summed over the group's loops), each read on its loop. */
    private static StackStats stats() throws Exception {
        return stacks.stats();
    }

    // ---- the clients: the kernel's UDP in the namespace, either family ----------------------------------------

    /**
     * UdpOverTapTest's echo client for both families: sends n datagrams (of the given size, or of sizes 1..305
     * when 0) and expects each back intact from the server's address; a datagram lost on the way is sent again
     * (up to 3 times), stale echoes are skipped.
     */
    static final String UDP_ECHO = """
            import random, socket, sys
            host, port, n, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
            family = socket.AF_INET6 if ":" in host else socket.AF_INET
            rnd = random.Random(20251126)
            s = socket.socket(family, socket.SOCK_DGRAM)
            s.settimeout(2)
            resent = 0
            for i in range(n):
                body = rnd.randbytes(size - 6) if size else bytes((i * 7 + k) & 0xff for k in range(i % 300))
                msg = b"%05d-" % i + body
                for attempt in range(3):
                    s.sendto(msg, (host, port))
                    try:
                        while True:
                            got, addr = s.recvfrom(65535)
                            if got[:6] == msg[:6]:
                                break
                    except socket.timeout:
                        resent += 1
                        continue
                    break
                else:
                    sys.exit("datagram %d (%d bytes): no echo after 3 tries" % (i, len(msg)))
                if addr[:2] != (host, port):
                    sys.exit("datagram %d: echo came from %r" % (i, addr))
                if got != msg:
                    if len(got) != len(msg):
                        sys.exit("datagram %d: sent %d bytes, got %d back" % (i, len(msg), len(got)))
                    bad = next(k for k in range(len(msg)) if got[k] != msg[k])
                    sys.exit("datagram %d: corrupt byte at offset %d: got %d, expected %d" % (i, bad, got[bad], msg[bad]))
            print("%d datagrams of %s bytes echoed intact over %s (%d resent)"
                  % (n, size or "1-305", "IPv6" if family == socket.AF_INET6 else "IPv4", resent))
            """;
}
