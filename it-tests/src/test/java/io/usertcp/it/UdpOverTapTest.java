package io.usertcp.it;

import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.FixedRecvByteBufAllocator;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.util.concurrent.Future;
import io.usertcp.channel.UserTcpIoHandler;
import io.usertcp.channel.UserUdpChannel;
import io.usertcp.examples.UdpEchoServer;
import io.usertcp.link.TapConfig;
import io.usertcp.stats.StackStats;
import io.usertcp.stack.StackConfig;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The UDP echo server ({@link UdpEchoServer.EchoHandler} on {@link UserUdpChannel}) on TAP devices in a network
 * namespace, with the kernel's UDP there as the client: small datagrams, 8000-byte datagrams (IPv4 fragments in
 * both directions, every byte checked), and ICMP port unreachable for a closed port. Two stacks in the one
 * namespace, so that both ways of checksumming are covered: one TAP with offload (partial checksums completed
 * by the kernel), one without (checksums completed by the stack).
 */
@ExtendWith(LeakCheck.class)
@Timeout(value = 3, unit = TimeUnit.MINUTES)
class UdpOverTapTest {

    static final String PYTHON = EchoOverTapTest.PYTHON;
    static final int ECHO_PORT = 7;
    static final int CLOSED_PORT = 9;

    /** One stack on its TAP device: its kernel side and address, and once started its loop and channel. */
    static final class Target {
        final String name;
        final String kernelCidr;
        final String stack;
        final boolean offload;
        EventLoopGroup group;
        ItLoops.Stacks stacks;
        Channel channel;

        Target(String name, String kernelCidr, String stack, boolean offload) {
            this.name = name;
            this.kernelCidr = kernelCidr;
            this.stack = stack;
            this.offload = offload;
        }

        @Override
        public String toString() {
            return name;
        }
    }

    static final Target OFFLOAD = new Target("offload", "198.18.4.1/25", "198.18.4.2", true);
    static final Target PLAIN = new Target("no-offload", "198.18.4.129/25", "198.18.4.130", false);

    static NetNs ns;

    static List<Target> targets() {
        return List.of(OFFLOAD, PLAIN);
    }

    @BeforeAll
    static void startStacks() throws Exception {
        ns = NetNs.create();
        for (Target t : targets()) {
            String tap = NetNs.uniqueTapName();
            StackConfig cfg = StackConfig.builder()
                    .link(TapConfig.builder(tap).kernelAddress(t.kernelCidr).namespace(ns.name())
                            .offload(t.offload).build())
                    .address(t.stack + "/25")
                    .build();
            t.stacks = new ItLoops.Stacks(UserTcpIoHandler.newFactory(cfg)); // to read the stacks' counters
            t.group = new MultiThreadIoEventLoopGroup(ItLoops.count(), t.stacks);
            t.channel = new Bootstrap().group(t.group).channel(UserUdpChannel.class)
                    .option(ChannelOption.RCVBUF_ALLOCATOR, new FixedRecvByteBufAllocator(65536))
                    .handler(new UdpEchoServer.EchoHandler())
                    .bind(ECHO_PORT).sync().channel();
            System.out.println("[it] UDP echo on " + t.stack + ":" + ECHO_PORT + " (" + t + ") on " + tap
                    + " in netns " + ns.name() + ", kernel side " + t.kernelCidr);
        }
    }

    @AfterAll
    static void stopStacks() throws Exception {
        List<Throwable> problems = new ArrayList<>();
        try {
            for (Target t : targets()) {
                if (t.channel != null && !t.channel.close().await(5, TimeUnit.SECONDS)) {
                    problems.add(new AssertionError("channel " + t.channel + " did not close within 5 s"));
                }
            }
            for (Target t : targets()) {
                if (t.group == null) {
                    continue;
                }
                Future<?> f = t.group.shutdownGracefully(0, 5, TimeUnit.SECONDS);
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
        }
        if (!problems.isEmpty()) {
            AssertionError e = new AssertionError("cleanup failed: " + problems.get(0), problems.get(0));
            problems.stream().skip(1).forEach(e::addSuppressed);
            throw e;
        }
    }

    /** The counters of the stacks behind {@code t} (summed over its group's loops), each read on its loop. */
    private static StackStats stats(Target t) throws Exception {
        return t.stacks.stats();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("targets")
    void smallDatagramsEcho(Target t) throws IOException {
        python(Duration.ofSeconds(60), ECHO, t.stack, String.valueOf(ECHO_PORT), "200", "0");
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("targets")
    void eightThousandByteDatagramsEchoInFragments(Target t) throws Exception {
        StackStats before = stats(t);
        python(Duration.ofSeconds(60), ECHO, t.stack, String.valueOf(ECHO_PORT), "50", "8000");
        StackStats after = stats(t);
        // Both directions went in fragments: the kernel's were reassembled, the echoes were cut by the stack.
        assertTrue(after.ipReassembled - before.ipReassembled >= 50, () -> "reassembled: " + after);
        assertTrue(after.ipFragmented - before.ipFragmented >= 50, () -> "fragmented: " + after);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("targets")
    void closedPortAnswersPortUnreachable(Target t) throws IOException {
        python(Duration.ofSeconds(30), REFUSED, t.stack, String.valueOf(CLOSED_PORT));
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

    // ---- the clients: the kernel's UDP in the namespace ------------------------------------------------------

    /**
     * Sends n datagrams (of the given size, or of sizes 1..n-ish when 0) and expects each back intact from the
     * server's address; a datagram lost on the way is sent again (up to 3 times), stale echoes are skipped.
     */
    static final String ECHO = """
            import random, socket, sys
            host, port, n, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
            rnd = random.Random(20251126)
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
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
                if addr != (host, port):
                    sys.exit("datagram %d: echo came from %r" % (i, addr))
                if got != msg:
                    if len(got) != len(msg):
                        sys.exit("datagram %d: sent %d bytes, got %d back" % (i, len(msg), len(got)))
                    bad = next(k for k in range(len(msg)) if got[k] != msg[k])
                    sys.exit("datagram %d: corrupt byte at offset %d: got %d, expected %d" % (i, bad, got[bad], msg[bad]))
            print("%d datagrams of %s bytes echoed intact (%d resent)" % (n, size or "1-305", resent))
            """;

    static final String REFUSED = """
            import socket, sys
            host, port = sys.argv[1], int(sys.argv[2])
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.settimeout(5)
            s.connect((host, port))
            s.send(b"anyone there?")
            try:
                s.recv(100)
            except ConnectionRefusedError:
                print("ICMP port unreachable: ConnectionRefusedError")
                sys.exit(0)
            except socket.timeout:
                sys.exit("no ICMP port unreachable within 5 s")
            sys.exit("closed port %d answered" % port)
            """;
}
