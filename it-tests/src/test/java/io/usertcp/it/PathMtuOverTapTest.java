package io.usertcp.it;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.util.concurrent.Future;
import io.usertcp.channel.UserTcpIoHandler;
import io.usertcp.channel.UserTcpServerChannel;
import io.usertcp.examples.EchoServerHandler;
import io.usertcp.link.TapConfig;
import io.usertcp.stack.StackConfig;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Path MTU discovery (RFC 1191, RFC 8201) through a router with a narrower link behind it:
 *
 * <pre>
 *   stack 198.18.2.2, fd00:198:2::2
 *     | TAP, MTU 1500
 *   namespace R (router): 198.18.2.1/24, fd00:198:2::1/64 on the TAP; forwarding on
 *     | veth: R's end MTU 1280, 198.18.3.1/24, fd00:198:3::1/64
 *     |       P's end MTU 1500, 198.18.3.2/24, fd00:198:3::2/64
 *   namespace P (peer): routes 198.18.2.0/24 and fd00:198:2::/64 via R
 * </pre>
 *
 * The peer connects to the stack's echo server and pushes 8 MiB through it while reading the echo. Both ends
 * see a 1500-byte link and the peer announces a 1500-based MSS, so the stack's echo leaves in 1500-byte
 * packets that R cannot forward onto its 1280 link: R answers with ICMP "fragmentation needed" (IPv4, DF set)
 * or ICMPv6 "packet too big", and only that tells the stack to lower its segment size and send again. Every
 * byte must arrive, and R's counters must show that it sent those errors.
 *
 * <p>The other direction is not under test: the peer's routes towards the stack carry {@code mtu 1280}, so
 * the peer itself sends packets that fit (a veth end silently drops frames bigger than its MTU, which would
 * black-hole the peer's data), but also {@code advmss} 1460 / 1440, so that its SYN still announces the MSS of
 * a 1500-byte link.
 */
@ExtendWith(LeakCheck.class)
@Timeout(value = 5, unit = TimeUnit.MINUTES)
class PathMtuOverTapTest {

    static final String PYTHON = EchoOverTapTest.PYTHON;
    static final int ECHO_PORT = 7;
    static final int NARROW_MTU = 1280;
    static final String R_VETH = "vr";
    static final String P_VETH = "vp";

    /** The address family a test runs over: the stack's address and how R counts the errors it sends. */
    enum Family {
        IPV4("198.18.2.2", "IcmpOutDestUnreachs", "ICMP fragmentation needed"),
        IPV6("fd00:198:2::2", "Icmp6OutPktTooBigs", "ICMPv6 packet too big");

        final String stack;
        final String routerCounter;
        final String error;

        Family(String stack, String routerCounter, String error) {
            this.stack = stack;
            this.routerCounter = routerCounter;
            this.error = error;
        }
    }

    static NetNs router;
    static NetNs peer;
    static String tap;
    static EventLoopGroup group;
    static Channel server;

    @BeforeAll
    static void start() throws Exception {
        router = NetNs.create();
        peer = NetNs.create();
        Duration t = NetNs.DEFAULT_TIMEOUT;
        router.execOk(t, "sysctl", "-w", "net.ipv4.ip_forward=1", "net.ipv6.conf.all.forwarding=1");

        router.addVeth(R_VETH, peer, P_VETH);
        router.execOk(t, "ip", "link", "set", "dev", R_VETH, "mtu", String.valueOf(NARROW_MTU), "up");
        router.execOk(t, "ip", "addr", "add", "198.18.3.1/24", "dev", R_VETH);
        router.execOk(t, "ip", "addr", "add", "fd00:198:3::1/64", "dev", R_VETH, "nodad");
        peer.execOk(t, "ip", "link", "set", "dev", P_VETH, "mtu", "1500", "up");
        peer.execOk(t, "ip", "addr", "add", "198.18.3.2/24", "dev", P_VETH);
        peer.execOk(t, "ip", "addr", "add", "fd00:198:3::2/64", "dev", P_VETH, "nodad");
        peer.execOk(t, "ip", "route", "add", "198.18.2.0/24", "via", "198.18.3.1",
                "mtu", String.valueOf(NARROW_MTU), "advmss", "1460");
        peer.execOk(t, "ip", "-6", "route", "add", "fd00:198:2::/64", "via", "fd00:198:3::1",
                "mtu", String.valueOf(NARROW_MTU), "advmss", "1440");

        tap = NetNs.uniqueTapName();
        StackConfig cfg = StackConfig.builder()
                .link(TapConfig.builder(tap).kernelAddress("198.18.2.1/24").kernelAddress("fd00:198:2::1/64")
                        .namespace(router.name()).build())
                .address(Family.IPV4.stack + "/24")
                .address(Family.IPV6.stack + "/64")
                // One gateway per family. (IPv6 first: a stack that keeps only the last gateway still
                // reaches the peer over IPv4.)
                .gateway("fd00:198:2::1")
                .gateway("198.18.2.1")
                .build();
        group = new MultiThreadIoEventLoopGroup(ItLoops.count(), UserTcpIoHandler.newFactory(cfg));
        server = new ServerBootstrap().group(group).channel(UserTcpServerChannel.class)
                .childHandler(new EchoServerHandler()).bind(ECHO_PORT).sync().channel();
        System.out.println("[it] stack " + Family.IPV4.stack + ", " + Family.IPV6.stack + " on " + tap
                + " in router netns " + router.name() + ", peer in netns " + peer.name()
                + " behind a " + NARROW_MTU + "-byte link");
    }

    @AfterAll
    static void stop() throws Exception {
        List<Throwable> problems = new ArrayList<>();
        try {
            if (server != null && !server.close().await(5, TimeUnit.SECONDS)) {
                problems.add(new AssertionError("server channel " + server + " did not close within 5 s"));
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
            // Deleting either namespace deletes the veth pair; the TAP went with the group (or goes with R).
            for (NetNs ns : new NetNs[] {peer, router}) {
                if (ns != null) {
                    ns.close();
                }
            }
        }
        if (!problems.isEmpty()) {
            AssertionError e = new AssertionError("cleanup failed: " + problems.get(0), problems.get(0));
            problems.stream().skip(1).forEach(e::addSuppressed);
            throw e;
        }
    }

    /** The set-up itself: the narrow link and the peer's route, which announces a 1500-based MSS. */
    @Test
    void routerHasTheNarrowLinkAndPeerAnnouncesAFullSizeMss() throws IOException {
        NetNs.Result link = router.execOk(NetNs.DEFAULT_TIMEOUT, "ip", "-o", "link", "show", "dev", R_VETH);
        assertTrue(link.stdout().contains("mtu " + NARROW_MTU), link::toString);
        NetNs.Result r4 = peer.execOk(NetNs.DEFAULT_TIMEOUT, "ip", "route", "get", Family.IPV4.stack);
        assertTrue(r4.stdout().contains("via 198.18.3.1") && r4.stdout().contains("advmss 1460"), r4::toString);
        NetNs.Result r6 = peer.execOk(NetNs.DEFAULT_TIMEOUT, "ip", "-6", "route", "get", Family.IPV6.stack);
        assertTrue(r6.stdout().contains("via fd00:198:3::1") && r6.stdout().contains("advmss 1440"), r6::toString);
    }

    /** A small echo, which fits any link: if this fails, routing is broken, not path MTU discovery. */
    @ParameterizedTest(name = "{0}")
    @EnumSource(Family.class)
    void smallEchoThroughTheRouter(Family f) throws IOException {
        python(Duration.ofSeconds(30), EchoOverTapTest.ECHO_ONCE, f.stack, String.valueOf(ECHO_PORT));
    }

    @ParameterizedTest(name = "{0}")
    @EnumSource(Family.class)
    void eightMebibytesEchoAfterTheRouterReportsTheSmallerMtu(Family f) throws IOException {
        Map<String, Long> before = router.counters();
        NetNs.Result r = peer.exec(Duration.ofSeconds(180), PYTHON, "-c", EchoOverTapTest.BULK, f.stack,
                String.valueOf(ECHO_PORT), "8");
        Map<String, Long> after = router.counters();

        long errors = delta(before, after, f.routerCounter);
        String out = (r.stdout() + r.stderr()).trim();
        System.out.println("[it] " + f + ": 8 MiB client in the peer " + (r.ok() ? "ok" : "FAILED") + ": " + out
                + "; router R sent " + errors + " " + f.error + " (" + f.routerCounter + ")");
        assertTrue(r.ok(), () -> "client failed (" + (r.timedOut() ? "timed out" : "exit status " + r.exitCode())
                + ") after the router sent " + errors + " " + f.error + ":\n" + out);
        assertTrue(errors >= 1, () -> "the router sent no " + f.error + " (" + f.routerCounter + " did not grow):"
                + " the stack's segments fitted the " + NARROW_MTU + "-byte link from the start, so path MTU"
                + " discovery was not exercised");
        if (f == Family.IPV4) {
            // TCP goes with DF set (RFC 1191): the router must not have fragmented the stack's segments instead.
            long fragmented = delta(before, after, "IpFragCreates");
            assertEquals(0, fragmented, "the router fragmented " + fragmented + " times: the stack sent without DF");
        }
    }

    /** Runs a Python client in the peer's namespace and fails unless it exits with 0. */
    private static NetNs.Result python(Duration timeout, String script, String... args) throws IOException {
        List<String> cmd = new ArrayList<>(List.of(PYTHON, "-c", script));
        cmd.addAll(List.of(args));
        NetNs.Result r = peer.exec(timeout, cmd.toArray(new String[0]));
        String out = (r.stdout() + r.stderr()).trim();
        System.out.println("[it] python client in the peer " + (r.ok() ? "ok" : "FAILED") + ": " + out);
        assertTrue(r.ok(), () -> "client failed (" + (r.timedOut() ? "timed out after " + timeout
                : "exit status " + r.exitCode()) + "):\n" + out);
        return r;
    }

    private static long delta(Map<String, Long> before, Map<String, Long> after, String counter) {
        assertTrue(after.containsKey(counter), () -> "no kernel counter " + counter + " in R: " + after.keySet());
        return after.get(counter) - before.getOrDefault(counter, 0L);
    }
}
