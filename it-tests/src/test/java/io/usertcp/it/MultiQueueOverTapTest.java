package io.usertcp.it;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.FixedRecvByteBufAllocator;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.util.concurrent.EventExecutor;
import io.netty.util.concurrent.Future;
import io.usertcp.channel.UserTcp;
import io.usertcp.channel.UserTcpChannel;
import io.usertcp.channel.UserTcpIoHandler;
import io.usertcp.channel.UserTcpServerChannel;
import io.usertcp.channel.UserUdpChannel;
import io.usertcp.examples.EchoServerHandler;
import io.usertcp.examples.UdpEchoServer;
import io.usertcp.link.TapConfig;
import io.usertcp.stack.StackConfig;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * One stack per event loop over a multi-queue TAP device (issue #12): a group of 2 and of 4 loops on one device in
 * a namespace of the test's own, the kernel's TCP and UDP there as the peers. The device has one queue per loop;
 * 200 kernel clients (their source ports spread them over the queues) echo through one server channel and their
 * connections are spread over every loop's stack; each loop opens a connection to a kernel server and echoes through
 * it, before and after an idle spell long enough for the tun driver to forget which queue the flow was on; UDP
 * echoes from 32 kernel sockets reach the one loop the UDP channel is bound on; ping is answered.
 */
@ExtendWith(LeakCheck.class)
@Timeout(value = 4, unit = TimeUnit.MINUTES)
class MultiQueueOverTapTest {
    static final String PYTHON = EchoOverTapTest.PYTHON;
    static final String KERNEL = "198.18.6.1";
    static final String STACK = "198.18.6.2";
    static final int ECHO_PORT = 7;
    static final int KERNEL_PORT = 9000;

    @ParameterizedTest(name = "{0} loops")
    @ValueSource(ints = {2, 4})
    void everyLoopServesItsQueue(int loops) throws Exception {
        try (NetNs ns = NetNs.create()) {
            String tap = NetNs.uniqueTapName();
            StackConfig cfg = StackConfig.builder()
                    .link(TapConfig.builder(tap).kernelAddress(KERNEL + "/24").namespace(ns.name()).build())
                    .address(STACK + "/24")
                    .build();
            MultiThreadIoEventLoopGroup group = new MultiThreadIoEventLoopGroup(loops,
                    UserTcpIoHandler.newFactory(cfg));
            try {
                run(ns, tap, group, loops);
            } finally {
                Future<?> f = group.shutdownGracefully(0, 5, TimeUnit.SECONDS);
                assertTrue(f.await(30, TimeUnit.SECONDS), "event loop group did not terminate within 30 s");
            }
        }
    }

    /**
     * Another process attaches a queue of the group's device (TUNSETIFF with IFF_MULTI_QUEUE on the same name, inside
     * the namespace): the kernel would spread flows to it, so the group's first loop reports it (a warning and the
     * {@code tapForeignQueues} counter) within its check every second, and clears it when the process is gone.
     */
    @org.junit.jupiter.api.Test
    void aQueueAnotherProcessAttachesIsReported() throws Exception {
        try (NetNs ns = NetNs.create()) {
            String tap = NetNs.uniqueTapName();
            StackConfig cfg = StackConfig.builder()
                    .link(TapConfig.builder(tap).kernelAddress(KERNEL + "/24").namespace(ns.name()).build())
                    .address(STACK + "/24")
                    .build();
            MultiThreadIoEventLoopGroup group = new MultiThreadIoEventLoopGroup(2, UserTcpIoHandler.newFactory(cfg));
            try {
                EventLoop first = (EventLoop) group.iterator().next();
                first.submit(() -> { }).sync(); // the loops run: the check is scheduled
                assertEquals(0L, foreignQueues(first));
                try (NetNs.Background other = ns.start(PYTHON, "-c", ATTACH_QUEUE, tap)) {
                    awaitForeignQueues(first, 1, other);
                    NetNs.Result link = ns.execOk(NetNs.DEFAULT_TIMEOUT, "ip", "-d", "link", "show", "dev", tap);
                    assertTrue(link.stdout().contains("numqueues 3 "), link.stdout());
                }
                awaitForeignQueues(first, 0, null);
            } finally {
                Future<?> f = group.shutdownGracefully(0, 5, TimeUnit.SECONDS);
                assertTrue(f.await(30, TimeUnit.SECONDS), "event loop group did not terminate within 30 s");
            }
        }
    }

    private static long foreignQueues(EventLoop loop) throws Exception {
        return UserTcp.stats(loop).get(5, TimeUnit.SECONDS).get("tapForeignQueues");
    }

    private static void awaitForeignQueues(EventLoop loop, long want, NetNs.Background other) throws Exception {
        long got = -1;
        for (int i = 0; i < 100 && got != want; i++) {
            Thread.sleep(100);
            got = foreignQueues(loop);
        }
        long last = got;
        assertEquals(want, got, () -> "tapForeignQueues of the group's first loop after 10 s: " + last
                + (other != null ? "; the other process: " + other.output() : ""));
    }

    /** Attaches one queue to the multi-queue TAP device argv[1] and holds it until killed. */
    static final String ATTACH_QUEUE = """
            import fcntl, os, struct, sys, time
            fd = os.open("/dev/net/tun", os.O_RDWR)
            IFF_TAP, IFF_NO_PI, IFF_MULTI_QUEUE = 0x0002, 0x1000, 0x0100
            fcntl.ioctl(fd, 0x400454ca, struct.pack("16sH22x", sys.argv[1].encode(), IFF_TAP | IFF_NO_PI | IFF_MULTI_QUEUE))
            print("attached", flush=True)
            time.sleep(600)
            """;

    private static void run(NetNs ns, String tap, MultiThreadIoEventLoopGroup group, int loops) throws Exception {
        List<EventLoop> all = new ArrayList<>();
        for (EventExecutor e : group) {
            all.add((EventLoop) e);
        }
        NetNs.Result link = ns.execOk(NetNs.DEFAULT_TIMEOUT, "ip", "-d", "link", "show", "dev", tap);
        assertTrue(link.stdout().contains("multi_queue") && link.stdout().contains("numqueues " + loops + " "),
                () -> "expected a multi-queue device with " + loops + " queues: " + link.stdout());

        Channel server = new ServerBootstrap().group(group).channel(UserTcpServerChannel.class)
                .childHandler(new EchoServerHandler()).bind(ECHO_PORT).sync().channel();
        Channel udp = new Bootstrap().group(group).channel(UserUdpChannel.class)
                .option(ChannelOption.RCVBUF_ALLOCATOR, new FixedRecvByteBufAllocator(65536))
                .handler(new UdpEchoServer.EchoHandler()).bind(ECHO_PORT).sync().channel();
        NetNs.Background kernelServer = ns.start(PYTHON, "-c", KERNEL_ECHO_SERVER, KERNEL,
                String.valueOf(KERNEL_PORT));
        try {
            ns.execOk(Duration.ofSeconds(20), "ping", "-c", "3", "-i", "0.2", "-W", "2", STACK);

            python(ns, Duration.ofSeconds(90), EchoOverTapTest.CONCURRENT, STACK, String.valueOf(ECHO_PORT), "200");
            long total = 0;
            StringBuilder spread = new StringBuilder();
            for (EventLoop loop : all) {
                Map<String, Long> s = UserTcp.stats(loop).get(5, TimeUnit.SECONDS);
                long opens = s.get("tcpPassiveOpens");
                spread.append(opens).append(' ');
                total += opens;
                assertTrue(opens > 0, "loop " + loop + " accepted none of the 200 connections: " + spread);
            }
            assertEquals(200, total, "passive opens over the loops: " + spread);
            System.out.println("[it] " + loops + " loops: passive opens per loop " + spread);

            awaitKernelServer(ns);
            Random r = new Random(loops);
            for (EventLoop loop : all) {
                byte[] first = new byte[20_000 + r.nextInt(200_000)];
                r.nextBytes(first);
                byte[] second = new byte[1000 + r.nextInt(100_000)];
                r.nextBytes(second);
                activeEcho(loop, first, second);
                long activeOpens = UserTcp.stats(loop).get(5, TimeUnit.SECONDS).get("tcpActiveOpens");
                assertEquals(1, activeOpens, "active opens of " + loop);
            }

            python(ns, Duration.ofSeconds(30), UDP_CLIENTS, STACK, String.valueOf(ECHO_PORT), "32");
            long forwarded = 0;
            for (EventLoop loop : all) {
                forwarded += UserTcp.stats(loop).get(5, TimeUnit.SECONDS).get("groupForwarded");
            }
            System.out.println("[it] " + loops + " loops: packets handed between stacks " + forwarded);
        } finally {
            kernelServer.close();
            udp.close().sync();
            server.close().sync();
        }
    }

    /**
     * Connects from {@code loop} to the kernel's echo server, echoes {@code first}, waits 4 s (the tun driver forgets
     * an idle flow's queue after 3 s, so the answers may then reach another loop's queue), echoes {@code second}.
     */
    private static void activeEcho(EventLoop loop, byte[] first, byte[] second) throws Exception {
        CompletableFuture<Void> firstDone = new CompletableFuture<>();
        CompletableFuture<Void> secondDone = new CompletableFuture<>();
        ByteArrayOutputStream got = new ByteArrayOutputStream();
        Channel ch = new Bootstrap().group(loop).channel(UserTcpChannel.class)
                .handler(new ChannelInboundHandlerAdapter() {
                    @Override
                    public void channelRead(ChannelHandlerContext ctx, Object msg) {
                        ByteBuf b = (ByteBuf) msg;
                        byte[] a = new byte[b.readableBytes()];
                        b.readBytes(a);
                        b.release();
                        got.write(a, 0, a.length);
                        check(got.toByteArray(), first, firstDone, 0);
                        check(got.toByteArray(), second, secondDone, first.length);
                    }

                    @Override
                    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
                        firstDone.completeExceptionally(cause);
                        secondDone.completeExceptionally(cause);
                        ctx.close();
                    }
                })
                .connect(new InetSocketAddress(KERNEL, KERNEL_PORT)).sync().channel();
        try {
            assertEquals(loop, ch.eventLoop());
            ch.writeAndFlush(Unpooled.wrappedBuffer(first));
            firstDone.get(30, TimeUnit.SECONDS);
            Thread.sleep(4000);
            ch.writeAndFlush(Unpooled.wrappedBuffer(second));
            secondDone.get(30, TimeUnit.SECONDS);
        } finally {
            ch.close().sync();
        }
    }

    private static void check(byte[] got, byte[] want, CompletableFuture<Void> done, int offset) {
        if (done.isDone() || got.length < offset + want.length) {
            return;
        }
        if (Arrays.equals(got, offset, offset + want.length, want, 0, want.length)) {
            done.complete(null);
        } else {
            done.completeExceptionally(new AssertionError("echo differs"));
        }
    }

    private static void awaitKernelServer(NetNs ns) throws Exception {
        for (int i = 0; i < 50; i++) {
            NetNs.Result r = ns.exec("ss", "-Htln", "sport = :" + KERNEL_PORT);
            if (r.ok() && !r.stdout().isBlank()) {
                return;
            }
            Thread.sleep(100);
        }
        throw new IOException("the kernel echo server did not start listening on " + KERNEL + ":" + KERNEL_PORT);
    }

    private static NetNs.Result python(NetNs ns, Duration timeout, String script, String... args) throws IOException {
        List<String> cmd = new ArrayList<>(List.of(PYTHON, "-c", script));
        cmd.addAll(List.of(args));
        NetNs.Result r = ns.exec(timeout, cmd.toArray(new String[0]));
        String out = (r.stdout() + r.stderr()).trim();
        assertTrue(r.ok(), () -> "client failed (" + (r.timedOut() ? "timed out after " + timeout
                : "exit status " + r.exitCode()) + "):\n" + out);
        return r;
    }

    /** A threaded echo server on the kernel's TCP. */
    static final String KERNEL_ECHO_SERVER = """
            import socket, sys, threading
            srv = socket.socket()
            srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            srv.bind((sys.argv[1], int(sys.argv[2])))
            srv.listen(64)
            def serve(c):
                with c:
                    while True:
                        d = c.recv(65536)
                        if not d:
                            return
                        c.sendall(d)
            while True:
                c, _ = srv.accept()
                threading.Thread(target=serve, args=(c,), daemon=True).start()
            """;

    /** {@code n} UDP sockets (n source ports), each sends three datagrams and checks their echoes. */
    static final String UDP_CLIENTS = """
            import socket, sys
            host, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
            for i in range(n):
                s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                s.settimeout(2)
                for k in range(3):
                    want = b"udp-%d-%d-" % (i, k) + bytes((i + k + j) & 0xff for j in range(200 * k))
                    for attempt in range(3):
                        s.sendto(want, (host, port))
                        try:
                            got, _ = s.recvfrom(65536)
                            break
                        except socket.timeout:
                            got = None
                    if got != want:
                        sys.exit("socket %d datagram %d: %r" % (i, k, got))
                s.close()
            print("ok")
            """;
}
