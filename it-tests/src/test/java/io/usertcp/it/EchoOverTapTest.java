package io.usertcp.it;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandler.Sharable;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.Future;
import io.usertcp.channel.UserTcpIoHandler;
import io.usertcp.channel.UserTcpServerChannel;
import io.usertcp.channel.UrgentDataEvent;
import io.usertcp.examples.EchoServerHandler;
import io.usertcp.link.TapConfig;
import io.usertcp.stack.StackConfig;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The usertcp echo server ({@link EchoServerHandler} on {@link UserTcpServerChannel}) on a TAP device inside a
 * network namespace, and the kernel's TCP in that namespace as its peer: every client below runs with
 * {@code ip netns exec}. One group for the whole class ({@link ItLoops#count()} loops).
 */
@ExtendWith(LeakCheck.class)
@Timeout(value = 4, unit = TimeUnit.MINUTES)
class EchoOverTapTest {

    static final String PYTHON = "/usr/bin/python3"; // has the socket module; the first python3 on PATH may not
    static final String KERNEL_CIDR = "198.18.0.1/24";
    static final String STACK = "198.18.0.2";
    static final int ECHO_PORT = 7;
    static final int BYE_PORT = 8;
    static final int CLOSED_PORT = 9;
    static final int URGENT_PORT = 10;

    static NetNs ns;
    static String tap;
    static EventLoopGroup group;
    static final List<Channel> servers = new ArrayList<>();
    static final Accepted echoAccepted = new Accepted();
    static final Accepted byeAccepted = new Accepted();

    @BeforeAll
    static void startStack() throws Exception {
        ns = NetNs.create();
        tap = NetNs.uniqueTapName();
        StackConfig cfg = StackConfig.builder()
                .link(TapConfig.builder(tap).kernelAddress(KERNEL_CIDR).namespace(ns.name()).build())
                .address(STACK + "/24")
                .build();
        group = new MultiThreadIoEventLoopGroup(ItLoops.count(), UserTcpIoHandler.newFactory(cfg));
        servers.add(new ServerBootstrap().group(group).channel(UserTcpServerChannel.class)
                .childHandler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        ch.pipeline().addLast(echoAccepted, new EchoServerHandler());
                    }
                })
                .bind(ECHO_PORT).sync().channel());
        servers.add(new ServerBootstrap().group(group).channel(UserTcpServerChannel.class)
                .childHandler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        ch.pipeline().addLast(byeAccepted, new SayByeAndClose());
                    }
                })
                .bind(BYE_PORT).sync().channel());
        servers.add(new ServerBootstrap().group(group).channel(UserTcpServerChannel.class)
                .childHandler(new ReportUrgentAndEcho())
                .bind(URGENT_PORT).sync().channel());
        System.out.println("[it] stack " + STACK + " on " + tap + " in netns " + ns.name()
                + ", kernel side " + KERNEL_CIDR);
    }

    @AfterAll
    static void stopStack() throws Exception {
        List<Throwable> problems = new ArrayList<>();
        try {
            for (Channel c : servers) {
                if (!c.close().await(5, TimeUnit.SECONDS)) {
                    problems.add(new AssertionError("server channel " + c + " did not close within 5 s"));
                }
            }
            if (group != null) {
                Future<?> f = group.shutdownGracefully(0, 5, TimeUnit.SECONDS);
                if (!f.await(30, TimeUnit.SECONDS)) {
                    problems.add(new AssertionError("event loop group did not terminate within 30 s"));
                } else if (!f.isSuccess()) {
                    problems.add(f.cause());
                }
                // The TAP device is not persistent: it must vanish once the stack has closed its descriptor.
                if (ns != null && !awaitLinkGone(ns, tap, Duration.ofSeconds(5))) {
                    problems.add(new AssertionError("TAP device " + tap + " still exists in netns " + ns.name()
                            + " after the event loop group terminated"));
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

    @Test
    void tapIsInTheNamespaceWithTheKernelAddress() throws IOException {
        NetNs.Result r = ns.exec("ip", "-o", "-4", "addr", "show", "dev", tap);
        assertTrue(r.ok(), r::toString);
        assertTrue(r.stdout().contains(KERNEL_CIDR), () -> "kernel address " + KERNEL_CIDR + " missing: " + r);
        NetNs.Result link = ns.exec("ip", "-o", "link", "show", "dev", tap);
        assertTrue(link.stdout().contains(",UP"), () -> "link is not up: " + link);
    }

    @Test
    void ping() throws IOException {
        NetNs.Result r = ns.exec("ping", "-c", "3", "-W", "2", STACK);
        assertTrue(r.ok(), r::toString);
        assertTrue(r.stdout().contains("3 received"), r::toString);
    }

    @Test
    void oneEcho() throws IOException {
        python(Duration.ofSeconds(30), ECHO_ONCE, STACK, String.valueOf(ECHO_PORT));
    }

    @Test
    void thousandSequentialConnections() throws IOException {
        python(Duration.ofSeconds(180), SEQUENTIAL, STACK, String.valueOf(ECHO_PORT), "1000");
    }

    @Test
    void sixtyFourMebibytesThroughOneConnection() throws IOException {
        python(Duration.ofSeconds(120), BULK, STACK, String.valueOf(ECHO_PORT), "64");
    }

    @Test
    void twoHundredConcurrentConnections() throws IOException {
        python(Duration.ofSeconds(90), CONCURRENT, STACK, String.valueOf(ECHO_PORT), "200");
    }

    @Test
    void connectionToClosedPortIsRefused() throws IOException {
        python(Duration.ofSeconds(30), REFUSED, STACK, String.valueOf(CLOSED_PORT));
    }

    @Test
    void clientHalfCloseEndsWithFinBothWays() throws Exception {
        NetNs.Result r = python(Duration.ofSeconds(30), CLIENT_CLOSES, STACK, String.valueOf(ECHO_PORT));
        Channel child = echoAccepted.await(clientPort(r), Duration.ofSeconds(5));
        assertTrue(child.closeFuture().await(5, TimeUnit.SECONDS),
                "the server channel did not close after the client's FIN");
    }

    /**
     * The example echoes everything it read before the client's FIN, also when much of it is still queued then
     * (as the seed's io.Copy does before its Close), and reads no faster than it can write the echo back.
     */
    @Test
    void clientHalfCloseAfterMegabytesGetsTheWholeEchoBack() throws Exception {
        NetNs.Result r = python(Duration.ofSeconds(60), HALF_CLOSE_BULK, STACK, String.valueOf(ECHO_PORT));
        assertTrue(r.stdout().contains("whole echo, then EOF"), r::toString);
    }

    @Test
    void serverCloseEndsWithFinBothWays() throws Exception {
        NetNs.Result r = python(Duration.ofSeconds(30), SERVER_CLOSES, STACK, String.valueOf(BYE_PORT));
        Channel child = byeAccepted.await(clientPort(r), Duration.ofSeconds(5));
        assertTrue(child.closeFuture().await(5, TimeUnit.SECONDS), "the server channel's closeFuture did not complete");
        assertTrue(child.closeFuture().isSuccess(), () -> "close failed: " + child.closeFuture().cause());
    }

    @Test
    void urgentDataFromLinuxIsReportedAndDeliveredInLine() throws Exception {
        NetNs.Result r = python(Duration.ofSeconds(30), URGENT, STACK, String.valueOf(URGENT_PORT));
        assertTrue(r.stdout().contains("urgent reported"), r::toString);
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

    /** The client's local port, which the scripts print on their first line. */
    private static int clientPort(NetNs.Result r) {
        return Integer.parseInt(r.stdout().lines().findFirst().orElseThrow().trim());
    }

    /** Remembers the server-side channels by the client's port. */
    @Sharable
    static final class Accepted extends ChannelInboundHandlerAdapter {
        private final Map<Integer, Channel> byRemotePort = new ConcurrentHashMap<>();

        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            if (ctx.channel().remoteAddress() instanceof InetSocketAddress remote) {
                byRemotePort.put(remote.getPort(), ctx.channel());
            }
            ctx.fireChannelActive();
        }

        Channel await(int remotePort, Duration timeout) throws InterruptedException {
            long deadline = System.nanoTime() + timeout.toNanos();
            for (;;) {
                Channel c = byRemotePort.get(remotePort);
                if (c != null) {
                    return c;
                }
                if (System.nanoTime() > deadline) {
                    fail("no server-side channel for client port " + remotePort + "; known: " + byRemotePort.keySet());
                }
                Thread.sleep(20);
            }
        }
    }

    /** Echoes, and writes "[urgent N]" into the stream when the channel fires a {@link UrgentDataEvent}. */
    @Sharable
    static final class ReportUrgentAndEcho extends ChannelInboundHandlerAdapter {
        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
            if (evt instanceof UrgentDataEvent) {
                int n = ((UrgentDataEvent) evt).urgentBytes();
                ctx.writeAndFlush(Unpooled.copiedBuffer("[urgent " + n + "]", StandardCharsets.US_ASCII));
            }
            ctx.fireUserEventTriggered(evt);
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ctx.writeAndFlush(msg);
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close();
        }
    }

    /** Writes "bye" and closes: the server sends its FIN first. */
    @Sharable
    static final class SayByeAndClose extends ChannelInboundHandlerAdapter {
        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            ctx.writeAndFlush(Unpooled.copiedBuffer("bye", StandardCharsets.US_ASCII))
                    .addListener(ChannelFutureListener.CLOSE);
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ReferenceCountUtil.release(msg);
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close();
        }
    }

    private static boolean awaitLinkGone(NetNs ns, String dev, Duration timeout) throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        do {
            if (!ns.exec("ip", "link", "show", "dev", dev).ok()) {
                return true;
            }
            Thread.sleep(100);
        } while (System.nanoTime() < deadline);
        return false;
    }

    // ---- the clients: the kernel's TCP in the namespace ------------------------------------------------------

    static final String ECHO_ONCE = """
            import socket, sys
            host, port = sys.argv[1], int(sys.argv[2])
            with socket.create_connection((host, port), timeout=10) as s:
                s.sendall(b"hello\\n")
                got = b""
                while len(got) < 6:
                    d = s.recv(64)
                    if not d:
                        break
                    got += d
            if got != b"hello\\n":
                sys.exit("sent b'hello\\\\n', got back %r" % got)
            print("echoed %r" % got)
            """;

    /** Sends "hello", then "!" as urgent data (MSG_OOB: Linux sets URG and the urgent pointer after it). */
    static final String URGENT = """
            import re, socket, sys, time
            host, port = sys.argv[1], int(sys.argv[2])
            with socket.create_connection((host, port), timeout=10) as s:
                s.sendall(b"hello")
                time.sleep(0.1)
                s.send(b"!", socket.MSG_OOB)
                got = b""
                deadline = time.monotonic() + 10
                while time.monotonic() < deadline:
                    d = s.recv(256)
                    if not d:
                        break
                    got += d
                    if b"[urgent" in got and re.sub(rb"\\[urgent \\d+\\]", b"", got) == b"hello!":
                        break
            marks = re.findall(rb"\\[urgent (\\d+)\\]", got)
            if not marks or int(marks[0]) < 1:
                sys.exit("no urgent-data report in %r" % got)
            if re.sub(rb"\\[urgent \\d+\\]", b"", got) != b"hello!":
                sys.exit("the urgent byte was not delivered in line: %r" % got)
            print("urgent reported: %r" % got)
            """;

    static final String SEQUENTIAL = """
            import socket, sys, time
            host, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
            t0 = time.monotonic()
            for i in range(n):
                msg = b"%06d-usertcp" % i
                try:
                    with socket.create_connection((host, port), timeout=10) as s:
                        s.sendall(msg)
                        got = b""
                        while len(got) < len(msg):
                            d = s.recv(64)
                            if not d:
                                break
                            got += d
                except OSError as e:
                    sys.exit("connection %d failed: %r" % (i, e))
                if got != msg:
                    sys.exit("connection %d: sent %r, got back %r" % (i, msg, got))
            dt = time.monotonic() - t0
            print("%d sequential connections echoed in %.2f s (%.0f/s)" % (n, dt, n / dt))
            """;

    static final String BULK = """
            import random, socket, sys, threading, time
            host, port, mib = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
            total = mib << 20
            data = random.Random(20251126).randbytes(total)
            view = memoryview(data)
            s = socket.create_connection((host, port), timeout=30)
            errors = []
            def send():
                try:
                    for off in range(0, total, 65536):
                        s.sendall(view[off:off + 65536])
                except OSError as e:
                    errors.append("send failed: %r" % e)
            sender = threading.Thread(target=send, daemon=True)
            t0 = time.monotonic()
            sender.start()
            got = 0
            buf = bytearray(1 << 20)
            while got < total:
                try:
                    n = s.recv_into(buf)
                except OSError as e:
                    sys.exit("recv failed after %d of %d bytes: %r %s" % (got, total, e, errors))
                if n == 0:
                    sys.exit("EOF after %d of %d bytes %s" % (got, total, errors))
                if got + n > total:
                    sys.exit("received %d bytes more than were sent" % (got + n - total))
                if buf[:n] != data[got:got + n]:
                    bad = next(i for i in range(n) if buf[i] != data[got + i])
                    sys.exit("corrupt byte at offset %d: got %d, expected %d" % (got + bad, buf[bad], data[got + bad]))
                got += n
            dt = time.monotonic() - t0
            sender.join(10)
            s.close()
            if errors:
                sys.exit("; ".join(errors))
            print("%d MiB echoed intact in %.2f s (%.1f MiB/s each way)" % (mib, dt, mib / dt))
            """;

    static final String CONCURRENT = """
            import errno, os, selectors, socket, sys, time
            host, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
            socks = []
            for i in range(n):  # all SYNs leave at once
                s = socket.socket()
                s.setblocking(False)
                err = s.connect_ex((host, port))
                if err not in (0, errno.EINPROGRESS):
                    sys.exit("connect %d failed at once: %s" % (i, os.strerror(err)))
                socks.append(s)
            sel = selectors.DefaultSelector()
            for i, s in enumerate(socks):
                sel.register(s, selectors.EVENT_WRITE, i)
            pending, deadline = n, time.monotonic() + 30
            while pending:
                events = sel.select(timeout=max(0.0, deadline - time.monotonic()))
                if not events:
                    sys.exit("%d of %d connects still pending after 30 s" % (pending, n))
                for key, _ in events:
                    err = key.fileobj.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                    if err:
                        sys.exit("connect %d failed: %s" % (key.data, os.strerror(err)))
                    sel.unregister(key.fileobj)
                    pending -= 1
            def payload(i):
                return b"conn-%04d-" % i + bytes((i * 7 + k) & 0xff for k in range(100))
            for i, s in enumerate(socks):
                s.settimeout(20)
                s.sendall(payload(i))
            for i, s in enumerate(socks):
                want, got = payload(i), b""
                while len(got) < len(want):
                    d = s.recv(4096)
                    if not d:
                        sys.exit("connection %d: EOF after %d of %d bytes" % (i, len(got), len(want)))
                    got += d
                if got != want:
                    sys.exit("connection %d: wrong echo %r" % (i, got))
            for s in socks:
                s.close()
            print("%d concurrent connections all echoed" % n)
            """;

    static final String REFUSED = """
            import socket, sys
            host, port = sys.argv[1], int(sys.argv[2])
            try:
                socket.create_connection((host, port), timeout=10).close()
            except ConnectionRefusedError:
                print("refused")
                sys.exit(0)
            except socket.timeout:
                sys.exit("no answer within 10 s: expected a RST")
            sys.exit("the connection to closed port %d was accepted" % port)
            """;

    /** Sends, shuts down its write side, and expects the echo and then the server's FIN (EOF, not a reset). */
    static final String CLIENT_CLOSES = """
            import socket, sys
            host, port = sys.argv[1], int(sys.argv[2])
            s = socket.create_connection((host, port), timeout=10)
            print(s.getsockname()[1], flush=True)
            s.sendall(b"half-close")
            s.shutdown(socket.SHUT_WR)
            got = b""
            while True:
                d = s.recv(64)  # b"" is the FIN; a RST raises ConnectionResetError
                if not d:
                    break
                got += d
            s.close()
            if got != b"half-close":
                sys.exit("expected the echo and then EOF, got %r" % got)
            print("echo, then EOF")
            """;

    /**
     * Sends 8 MiB while reading the echo more slowly, shuts its write side down at once, and expects all 8 MiB
     * back in order, then EOF.
     */
    static final String HALF_CLOSE_BULK = """
            import hashlib, os, socket, sys, threading, time
            host, port = sys.argv[1], int(sys.argv[2])
            data = os.urandom(8 << 20)
            s = socket.create_connection((host, port), timeout=30)
            got = hashlib.sha256(); n = [0]
            def rx():  # slower than the sender: the echo backs up in the server
                while True:
                    time.sleep(0.002)
                    d = s.recv(1 << 16)
                    if not d:
                        break
                    got.update(d); n[0] += len(d)
            t = threading.Thread(target=rx); t.start()
            s.sendall(data)
            s.shutdown(socket.SHUT_WR)
            t.join()
            s.close()
            if n[0] != len(data) or got.digest() != hashlib.sha256(data).digest():
                sys.exit("echo of %d bytes, %d came back before EOF" % (len(data), n[0]))
            print("whole echo, then EOF")
            """;

    /** Expects "bye" and then the server's FIN, then closes its own side. */
    static final String SERVER_CLOSES = """
            import socket, sys
            host, port = sys.argv[1], int(sys.argv[2])
            s = socket.create_connection((host, port), timeout=10)
            print(s.getsockname()[1], flush=True)
            got = b""
            while True:
                d = s.recv(64)
                if not d:
                    break
                got += d
            s.close()
            if got != b"bye":
                sys.exit("expected b'bye' and then EOF, got %r" % got)
            print("bye, then EOF")
            """;
}
