package io.usertcp.it;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufAllocatorMetricProvider;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler.Sharable;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.util.concurrent.Future;
import io.netty.util.internal.PlatformDependent;
import io.usertcp.channel.UserTcpIoHandler;
import io.usertcp.channel.UserTcpServerChannel;
import io.usertcp.examples.EchoServerHandler;
import io.usertcp.link.TapConfig;
import io.usertcp.stack.Stack;
import io.usertcp.stack.StackConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.Callable;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Many concurrent connections on one stack (issue #12): the kernel's TCP in the test's namespace opens
 * {@code usertcp.it.connections} connections (default {@value #DEFAULT_CONNECTIONS}) from
 * {@code usertcp.it.sources} source addresses (default {@value #DEFAULT_SOURCES}; 198.18.1.1 and up on the kernel's
 * side of the TAP device, the kernel side being the stack's gateway) to the examples' echo handler, with
 * {@code bench/holdconns.c} (built with gcc). Each connection echoes a few bytes and stays idle; the test then
 * measures, in this JVM, the heap per idle established connection (used heap after several GCs, less the baseline
 * taken before they opened), the direct memory and the stack's memory budget, and the stack's connection count; then
 * every connection echoes again (twice: the time per connection says whether lookup stays fast as the table grows)
 * and the client closes them all. It asserts every echo intact, the counts, zero connections after the close, the
 * memory budget and the heap back where they were, and at most {@value #MAX_HEAP_PER_CONNECTION} bytes of heap per
 * idle connection (Netty's channel and pipeline included). Timings are printed, never asserted: the module's
 * PARANOID leak detection makes every buffer allocation costly, so {@code bench/conns.sh} gives them without it.
 *
 * <p>The full size of issue #12: {@code -Dusertcp.it.connections=100000 -Dusertcp.it.sources=4}; one client process
 * holds at most the hard limit on open files less 100 (only CAP_SYS_RESOURCE may raise it), so several run when
 * needed. {@code -Dusertcp.it.histogram=true} prints the class histogram of the idle connections' heap.
 */
@ExtendWith(LeakCheck.class)
@Timeout(value = 20, unit = TimeUnit.MINUTES)
class ConcurrentConnectionsOverTapTest {
    static final int DEFAULT_CONNECTIONS = 20_000;
    static final int DEFAULT_SOURCES = 2;
    /**
     * The heap bound asserted, against regressions: issue #12's goal, 2 KiB. Measured 1,920-1,940 bytes per idle
     * connection with this test's two handlers (~2.1 KiB with seven timer objects per connection, ~3.2 KiB before
     * the stack and its channels were slimmed: RACK flight state pooled, no read handle, addresses or ring arrays per
     * idle connection), of which ~0.8 KiB are Netty's channel and pipeline and the rest the stack's.
     */
    static final long MAX_HEAP_PER_CONNECTION = 2048;
    static final int N = Integer.getInteger("usertcp.it.connections", DEFAULT_CONNECTIONS);
    static final int SOURCES = Integer.getInteger("usertcp.it.sources", DEFAULT_SOURCES);
    /** Connections connecting, echoing or closing at once. */
    static final int WINDOW = Integer.getInteger("usertcp.it.window", 1000);
    /** The least number of client processes (more if the open-file limit needs them): to compare runs of two sizes. */
    static final int PROCESSES = Integer.getInteger("usertcp.it.processes", 1);
    /**
     * How the clients close: "close" (default), at most {@link #WINDOW} at a time, each waiting for the stack's FIN;
     * "closeall" every socket at once (a burst of FINs: see bench/README.md for what it costs).
     */
    static final String CLOSE = System.getProperty("usertcp.it.close", "close");
    static final int SIZE = 32;
    static final String KERNEL = "198.18.40.1";
    static final String STACK = "198.18.40.2";
    static final int PORT = 7000;
    static final EchoServerHandler ECHO = new EchoServerHandler();

    private volatile UserTcpIoHandler handler;
    private final AtomicInteger activeChannels = new AtomicInteger();
    private Channel server;

    @Test
    void manyIdleConnectionsEchoAndCloseCleanly() throws Exception {
        assertTrue(SOURCES >= 1 && SOURCES <= 64 && N <= SOURCES * 60_000L,
                () -> N + " connections need at least " + (N + 59_999) / 60_000 + " source addresses (1-64)");
        Path work = Files.createTempDirectory("usertcp-conns-");
        Path client = build(work);
        try (NetNs ns = NetNs.create()) {
            String tap = NetNs.uniqueTapName();
            TapConfig.Builder link = TapConfig.builder(tap).kernelAddress(KERNEL + "/24").namespace(ns.name());
            StringBuilder sources = new StringBuilder();
            for (int i = 1; i <= SOURCES; i++) {
                link.kernelAddress("198.18.1." + i + "/32");
                sources.append(i > 1 ? "," : "").append("198.18.1.").append(i);
            }
            StackConfig cfg = StackConfig.builder().link(link.build()).address(STACK + "/24").gateway(KERNEL).build();
            IoHandlerFactory factory = UserTcpIoHandler.newFactory(cfg);
            // One loop: the figures are per connection of one stack (heap, direct memory, its tables; issue #12).
            EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, executor -> {
                UserTcpIoHandler h = (UserTcpIoHandler) factory.newHandler(executor);
                handler = h; // to read the stack's counts
                return h;
            });
            CountActive counter = new CountActive(activeChannels);
            try {
                server = new ServerBootstrap().group(group).channel(UserTcpServerChannel.class)
                        .childHandler(new ChannelInitializer<Channel>() {
                            @Override
                            protected void initChannel(Channel ch) {
                                ch.pipeline().addLast(counter, ECHO);
                            }
                        })
                        .bind(PORT).sync().channel();
                ns.execOk(NetNs.DEFAULT_TIMEOUT, "sysctl", "-qw", "net.ipv4.ip_local_port_range=1024 65535");
                run(ns, tap, client, sources.toString());
            } finally {
                try {
                    if (server != null) {
                        server.close().await(5, TimeUnit.SECONDS);
                    }
                } finally {
                    Future<?> f = group.shutdownGracefully(0, 5, TimeUnit.SECONDS);
                    assertTrue(f.await(60, TimeUnit.SECONDS), "event loop group did not terminate within 60 s");
                }
            }
        } finally {
            Files.deleteIfExists(client);
            Files.deleteIfExists(work);
        }
    }

    private void run(NetNs ns, String tap, Path client, String sources) throws Exception {
        // Warm-up (JIT, the allocator's pools, the tables' first growth), then the baseline.
        try (Clients warm = Clients.start(ns, client, Math.min(N, 2000), sources)) {
            warm.awaitReady(Duration.ofSeconds(60));
            warm.command("echo", Duration.ofSeconds(60));
            warm.command("close", Duration.ofSeconds(60));
        }
        awaitZeroConnections();
        Figures base = figures();
        Map<String, Long> kernelBefore = ns.counters();
        long tapDropsBefore = tapDrops(ns, tap);

        try (Clients c = Clients.start(ns, client, N, sources)) {
            Duration passTimeout = Duration.ofSeconds(60 + N / 500);
            long openNanos = c.awaitReady(passTimeout);
            assertEquals(N, c.sum("established"), "connections the clients established");
            assertEquals(N, onLoop(() -> stack().tcp().connectionCount()), "the stack's connections");
            assertEquals(0, onLoop(() -> stack().tcp().halfOpenCount()), "half-open records left");
            assertEquals(N, activeChannels.get(), "active channels");
            Thread.sleep(1000); // delayed ACKs sent, nothing in flight
            Figures idle = figures();
            long heapPer = (idle.heap - base.heap) / N;
            if (Boolean.getBoolean("usertcp.it.histogram")) {
                System.out.println(((String) ManagementFactory.getPlatformMBeanServer().invoke(
                        new javax.management.ObjectName("com.sun.management:type=DiagnosticCommand"),
                        "gcClassHistogram", new Object[] {null}, new String[] {String[].class.getName()}))
                        .lines().limit(60).collect(java.util.stream.Collectors.joining("\n")));
            }
            long loopThread = onLoop(() -> Thread.currentThread().getId());
            java.lang.management.ThreadMXBean threads = ManagementFactory.getThreadMXBean();
            long cpu0 = threads.getThreadCpuTime(loopThread);
            long echo1 = c.command("echo", passTimeout);
            assertEquals(N, c.sum("echoed"), "connections echoed in pass 1");
            long cpu1 = threads.getThreadCpuTime(loopThread);
            long echo2 = c.command("echo", passTimeout);
            assertEquals(N, c.sum("echoed"), "connections echoed in pass 2");
            long cpu2 = threads.getThreadCpuTime(loopThread);
            assertEquals(N, onLoop(() -> stack().tcp().connectionCount()), "connections after the echoes");
            Map<String, Long> kernelEchoed = ns.counters();
            long tapDropsEchoed = tapDrops(ns, tap);
            Figures echoed = figures();

            long closeNanos = System.nanoTime();
            c.command(CLOSE, Duration.ofSeconds(60 + N / 500));
            assertEquals(N, c.sum("closed"), "connections the clients closed");
            awaitZeroConnections();
            closeNanos = System.nanoTime() - closeNanos;
            long tapDropsAfter = tapDrops(ns, tap);
            Figures after = figures();
            Map<String, Long> kernelAfter = ns.counters();

            System.out.printf("[conns] %d connections from %d source addresses (%d client processes), at most %d"
                    + " connecting, echoing or closing at once, %d bytes echoed on each%n", N, SOURCES, c.size(),
                    WINDOW, SIZE);
            System.out.printf("[conns] open (connect + first echo): %.2f s; echo pass 1: %.2f s (%.1f us per"
                    + " connection); echo pass 2: %.2f s (%.1f us per connection)%n", openNanos / 1e9, echo1 / 1e9,
                    echo1 / 1e3 / N, echo2 / 1e9, echo2 / 1e3 / N);
            System.out.printf("[conns] the event loop's CPU time per echo (two segments in: the data and the"
                    + " ACK of the echo; one out: the echo): pass 1 %.1f us, pass 2 %.1f us%n",
                    (cpu1 - cpu0) / 1e3 / N, (cpu2 - cpu1) / 1e3 / N);
            System.out.printf("[conns] heap: baseline %d, idle %d, after close %d bytes: %d bytes per idle"
                    + " connection%n",
                    base.heap, idle.heap, after.heap, heapPer);
            System.out.printf("[conns] direct memory (allocator): baseline %d, idle %d, after close %d;"
                    + " (PlatformDependent) %d, %d, %d; memory budget used %d, %d, %d%n", base.allocatorDirect,
                    idle.allocatorDirect, after.allocatorDirect, base.platformDirect, idle.platformDirect,
                    after.platformDirect, base.budget, idle.budget, after.budget);
            System.out.printf("[conns] stack counters, opening: %s%n", idle.changedSince(base));
            System.out.printf("[conns] stack counters, echo passes: %s%n", echoed.changedSince(idle));
            System.out.printf("[conns] stack counters, close: %s%n", after.changedSince(echoed));
            System.out.printf("[conns] close (%s): %.2f s until the stack had no connection left%n", CLOSE,
                    closeNanos / 1e9);
            System.out.printf("[conns] kernel: SYN retransmits %d, retransmitted segments %d before the close and %d"
                    + " during it; frames the TAP device dropped (the stack behind) %d before the close and %d during"
                    + " it%n", delta(kernelBefore, kernelAfter, "TcpExtTCPSynRetrans"),
                    delta(kernelBefore, kernelEchoed, "TcpRetransSegs"),
                    delta(kernelEchoed, kernelAfter, "TcpRetransSegs"),
                    tapDropsEchoed - tapDropsBefore, tapDropsAfter - tapDropsEchoed);

            assertEquals(0, activeChannels.get(), "active channels after the close");
            assertEquals(base.budget, after.budget, "memory budget after the close");
            assertEquals(base.budget, idle.budget, "memory budget of the idle connections (buffers released)");
            long direct = idle.allocatorDirect - base.allocatorDirect;
            assertTrue(direct < N * 256L, () -> "the allocator's direct memory grew by " + direct + " bytes for " + N
                    + " idle connections: buffers are held");
            assertTrue(heapPer > 0 && heapPer <= MAX_HEAP_PER_CONNECTION,
                    () -> "heap per idle connection " + heapPer + " bytes, the bound is " + MAX_HEAP_PER_CONNECTION);
            long left = after.heap - base.heap;
            assertTrue(left < (idle.heap - base.heap) / 10, () -> "heap after the close is " + left
                    + " bytes above the baseline: the connections' objects were not all freed");
        }
    }

    /** Frames the kernel dropped on their way into the TAP device (its queue was full: the stack was behind). */
    private static long tapDrops(NetNs ns, String tap) throws IOException {
        String json = ns.execOk(NetNs.DEFAULT_TIMEOUT, "ip", "-s", "-j", "link", "show", "dev", tap).stdout();
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("\"tx\":\\{[^}]*\"dropped\":(\\d+)")
                .matcher(json);
        assertTrue(m.find(), () -> "no tx drop count in " + json);
        return Long.parseLong(m.group(1));
    }

    private static long delta(Map<String, Long> before, Map<String, Long> after, String name) {
        return after.getOrDefault(name, 0L) - before.getOrDefault(name, 0L);
    }

    private Stack stack() {
        return handler.stack();
    }

    private <T> T onLoop(Callable<T> task) throws Exception {
        return server.eventLoop().submit(task).get(30, TimeUnit.SECONDS);
    }

    private void awaitZeroConnections() throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        int left;
        while ((left = onLoop(() -> stack().tcp().connectionCount())) > 0 || activeChannels.get() > 0) {
            if (System.nanoTime() > deadline) {
                fail(left + " connections and " + activeChannels.get() + " active channels left 60 s after the close");
            }
            Thread.sleep(100);
        }
    }

    /** What is measured at each step. */
    private record Figures(long heap, long allocatorDirect, long platformDirect, long budget,
                           Map<String, Long> stats) {

        /** The counters that changed since {@code before}, with how much. */
        String changedSince(Figures before) {
            StringBuilder sb = new StringBuilder();
            stats.forEach((name, v) -> {
                long d = v - before.stats.getOrDefault(name, 0L);
                if (d != 0) {
                    sb.append(sb.length() == 0 ? "" : ", ").append(name).append(' ').append(d);
                }
            });
            return sb.toString();
        }
    }

    private Figures figures() throws Exception {
        long heap = usedHeap();
        long budget = onLoop(() -> stack().memory().used());
        Map<String, Long> stats = onLoop(() -> stack().stats().snapshot());
        long allocator = ByteBufAllocator.DEFAULT instanceof ByteBufAllocatorMetricProvider p
                ? p.metric().usedDirectMemory() : -1;
        return new Figures(heap, allocator, PlatformDependent.usedDirectMemory(), budget, stats);
    }

    /** The used heap after a full GC, the least of several tries. */
    static long usedHeap() throws InterruptedException {
        long best = Long.MAX_VALUE;
        for (int i = 0; i < 5; i++) {
            System.gc();
            Thread.sleep(100);
            best = Math.min(best, ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed());
        }
        return best;
    }

    /** Compiles bench/holdconns.c into {@code dir}. */
    private static Path build(Path dir) throws IOException {
        Path src = Checkout.root().resolve("bench").resolve("holdconns.c");
        Path bin = dir.resolve("holdconns");
        NetNs.Result cc = NetNs.run(Duration.ofSeconds(120), "gcc", "-O2", "-o", bin.toString(), src.toString());
        if (!cc.ok()) {
            throw new IOException("cannot build " + src + " (is gcc installed?): " + cc);
        }
        return bin;
    }

    /** Counts the channels between channelActive and channelInactive (no reference to them is kept). */
    @Sharable
    static final class CountActive extends ChannelInboundHandlerAdapter {
        private final AtomicInteger active;

        CountActive(AtomicInteger active) {
            this.active = active;
        }

        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            active.incrementAndGet();
            ctx.fireChannelActive();
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            active.decrementAndGet();
            ctx.fireChannelInactive();
        }
    }

    /**
     * As many {@link Client} processes as the open-file limit needs ({@code RLIMIT_NOFILE}'s hard limit, which only
     * CAP_SYS_RESOURCE may raise, bounds the connections of one), the connections numbered across them.
     */
    static final class Clients implements AutoCloseable {
        private final List<Client> clients = new ArrayList<>();
        private final List<Map<String, String>> last = new ArrayList<>();

        static Clients start(NetNs ns, Path bin, int n, String sources) throws IOException {
            int perProcess = Math.max(1000, openFileLimit() - 100);
            int processes = Math.min(n, Math.max(PROCESSES, (n + perProcess - 1) / perProcess));
            Clients all = new Clients();
            try {
                for (int k = 0, first = 0; k < processes; k++) {
                    int count = n / processes + (k < n % processes ? 1 : 0);
                    all.clients.add(Client.start(ns, bin, first, count, Math.max(1, WINDOW / processes), sources));
                    first += count;
                }
            } catch (IOException | RuntimeException e) {
                all.close();
                throw e;
            }
            return all;
        }

        int size() {
            return clients.size();
        }

        /** Waits until every client has printed "ready" (or exited with 0); returns the nanoseconds that took. */
        long awaitReady(Duration timeout) throws Exception {
            return awaitReady(timeout, System.nanoTime());
        }

        private long awaitReady(Duration timeout, long t0) throws Exception {
            last.clear();
            for (Client c : clients) {
                last.add(c.awaitReady(timeout.minusNanos(System.nanoTime() - t0).plusSeconds(1)));
            }
            return System.nanoTime() - t0;
        }

        /** Sends {@code command} to every client and waits as {@link #awaitReady} does. */
        long command(String command, Duration timeout) throws Exception {
            long t0 = System.nanoTime();
            for (Client c : clients) {
                c.send(command);
            }
            return awaitReady(timeout, t0);
        }

        /** The sum of figure {@code name} over the clients' last answers. */
        long sum(String name) {
            long sum = 0;
            for (Map<String, String> f : last) {
                sum += Long.parseLong(f.getOrDefault(name, "0"));
            }
            return sum;
        }

        @Override
        public void close() {
            clients.forEach(Client::close);
        }

        /** The hard limit on open files that this JVM (and so the client it starts) has. */
        private static int openFileLimit() throws IOException {
            for (String l : Files.readAllLines(Path.of("/proc/self/limits"))) {
                if (l.startsWith("Max open files")) {
                    String hard = l.substring("Max open files".length()).trim().split("\\s+")[1];
                    return hard.equals("unlimited") ? Integer.MAX_VALUE : (int) Math.min(Integer.MAX_VALUE,
                            Long.parseLong(hard));
                }
            }
            return 1024;
        }
    }

    /**
     * bench/holdconns running in the namespace, driven through its standard input: its figures are read up to each
     * "ready" line. {@link #close()} kills it if it still runs (and the namespace's close would too).
     */
    static final class Client implements AutoCloseable {
        private final Process process;
        private final OutputStream commands;
        private final BlockingQueue<String> lines = new LinkedBlockingQueue<>();
        private final List<String> all = new ArrayList<>();

        private Client(Process process) {
            this.process = process;
            this.commands = process.getOutputStream();
            Thread reader = new Thread(() -> {
                try (BufferedReader r = new BufferedReader(new InputStreamReader(process.getInputStream(),
                        StandardCharsets.UTF_8))) {
                    for (String l; (l = r.readLine()) != null; ) {
                        lines.add(l);
                    }
                } catch (IOException e) {
                    lines.add("(cannot read the client's output: " + e + ")");
                } finally {
                    lines.add("\0eof");
                }
            }, "holdconns-output");
            reader.setDaemon(true);
            reader.start();
        }

        static Client start(NetNs ns, Path bin, int first, int n, int window, String sources) throws IOException {
            Process p = new ProcessBuilder("ip", "netns", "exec", ns.name(), bin.toString(), STACK,
                    String.valueOf(PORT), String.valueOf(first), String.valueOf(n), String.valueOf(SIZE),
                    String.valueOf(window), sources)
                    .redirectErrorStream(true).start();
            return new Client(p);
        }

        /** The figures printed up to the next "ready" (or up to the end); fails if the client exits or stalls. */
        Map<String, String> awaitReady(Duration timeout) throws Exception {
            long deadline = System.nanoTime() + timeout.toNanos();
            Map<String, String> figures = new java.util.LinkedHashMap<>();
            for (;;) {
                String l = lines.poll(Math.max(1, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
                if (l == null) {
                    fail("the client did not finish within " + timeout + "; its output: " + all);
                }
                if (l.equals("\0eof")) {
                    lines.add(l);
                    boolean exited = process.waitFor(10, TimeUnit.SECONDS);
                    if (!exited || process.exitValue() != 0) {
                        fail("the client " + (exited ? "exited with " + process.exitValue() : "closed its output")
                                + ": " + all);
                    }
                    return figures;
                }
                all.add(l);
                if (l.equals("ready")) {
                    return figures;
                }
                String[] nv = l.split(" ", 2);
                if (nv.length == 2) {
                    figures.put(nv[0], nv[1]);
                }
            }
        }

        /** Sends {@code command} ("echo" or "close"); {@link #awaitReady} then reads the answer. */
        void send(String command) throws IOException {
            commands.write((command + "\n").getBytes(StandardCharsets.US_ASCII));
            commands.flush();
        }

        @Override
        public void close() {
            process.destroyForcibly();
        }
    }
}
