package io.usertcp.it;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.usertcp.channel.UserTcp;
import io.usertcp.channel.UserTcpIoHandler;
import io.usertcp.channel.UserTcpServerChannel;
import io.usertcp.link.TapConfig;
import io.usertcp.stack.StackConfig;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Timeout;

import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The TAP receive ring ({@code TapConfig.receiveRing}, issue #10) against the kernel's TCP: a bulk echo from a
 * client in the namespace comes back intact, with segmentation offload (64 KiB super-frames, larger than a ring
 * slot, come whole through the packet socket) and without, while tun's own queue carries nothing (its filter
 * drops every frame, which the kernel counts as the device's TX drops).
 */
@Timeout(value = 2, unit = TimeUnit.MINUTES)
class ReceiveRingOverTapTest {
    static final String STACK = "198.18.7.2";

    NetNs ns;
    EventLoopGroup group;

    @AfterEach
    void stop() throws Exception {
        try {
            if (group != null) {
                group.shutdownGracefully(0, 5, TimeUnit.SECONDS).sync();
            }
        } finally {
            if (ns != null) {
                ns.close();
            }
        }
    }

    @ParameterizedTest(name = "offload {0}")
    @ValueSource(booleans = {true, false})
    void bulkEchoThroughTheRingIsIntact(boolean offload) throws Exception {
        ns = NetNs.create();
        String tap = NetNs.uniqueTapName();
        StackConfig cfg = StackConfig.builder()
                .link(TapConfig.builder(tap).kernelAddress("198.18.7.1/24").namespace(ns.name()).offload(offload)
                        .receiveRing(1024).build())
                .address(STACK + "/24").build();
        group = new MultiThreadIoEventLoopGroup(ItLoops.count(), UserTcpIoHandler.newFactory(cfg));
        new ServerBootstrap().group(group).channel(UserTcpServerChannel.class)
                .childHandler(new Echo()).bind(7).sync();

        // Sends 16 MiB while reading the echo on another thread; exits 0 only if every byte came back in order.
        String script = String.join("\n",
                "import hashlib, os, socket, sys, threading",
                "data = os.urandom(16 << 20)",
                "s = socket.create_connection((sys.argv[1], 7), timeout=30)",
                "got = hashlib.sha256(); n = [0]",
                "def rx():",
                "    while n[0] < len(data):",
                "        b = s.recv(1 << 20)",
                "        if not b: break",
                "        got.update(b); n[0] += len(b)",
                "t = threading.Thread(target=rx); t.start()",
                "s.sendall(data); t.join()",
                "print(n[0], got.hexdigest() == hashlib.sha256(data).hexdigest())",
                "sys.exit(0 if n[0] == len(data) and got.hexdigest() == hashlib.sha256(data).hexdigest() else 1)");
        NetNs.Result r = ns.exec(Duration.ofSeconds(90), EchoOverTapTest.PYTHON, "-c", script, STACK);
        assertThat(r.ok()).as("16 MiB echoed intact through the ring: %s", r).isTrue();

        Map<String, Long> stats = ItLoops.stats(group); // every queue's ring, summed
        long frames = stats.get("framesIn");
        long bytes = stats.get("bytesIn");
        assertThat(bytes).as("bytes the stack took").isGreaterThan(16L << 20);
        if (offload) {
            assertThat(bytes / frames).as("mean frame: super-frames larger than a 2 KiB slot came through")
                    .isGreaterThan(2048);
        } else {
            assertThat(bytes / frames).as("mean frame without offload").isLessThanOrEqualTo(1514 + 10);
        }
        long tunDropped = txDropped(tap);
        assertThat(tunDropped).as("frames tun's own queue dropped (each came through the ring instead)")
                .isGreaterThanOrEqualTo(frames - 50); // a few may have been queued before the ring took over
    }

    @org.junit.jupiter.api.Test
    void everyQueueOfAMultiQueueDeviceHasItsRingAndFlowsStayOnTheirLoop() throws Exception {
        ns = NetNs.create();
        String tap = NetNs.uniqueTapName();
        StackConfig cfg = StackConfig.builder()
                .link(TapConfig.builder(tap).kernelAddress("198.18.7.1/24").namespace(ns.name()).receiveRing(512)
                        .build())
                .address(STACK + "/24").build();
        group = new MultiThreadIoEventLoopGroup(2, UserTcpIoHandler.newFactory(cfg));
        new ServerBootstrap().group(group).channel(UserTcpServerChannel.class)
                .childHandler(new Echo()).bind(7).sync();

        // 8 connections at once, 2 MiB each, every byte checked.
        String script = String.join("\n",
                "import hashlib, os, socket, sys, threading",
                "ok = []",
                "def one():",
                "    data = os.urandom(2 << 20)",
                "    s = socket.create_connection((sys.argv[1], 7), timeout=30)",
                "    got = bytearray()",
                "    def rx():",
                "        while len(got) < len(data):",
                "            b = s.recv(1 << 20)",
                "            if not b: break",
                "            got.extend(b)",
                "    t = threading.Thread(target=rx); t.start()",
                "    s.sendall(data); t.join(); s.close()",
                "    ok.append(bytes(got) == data)",
                "ts = [threading.Thread(target=one) for _ in range(8)]",
                "[t.start() for t in ts]; [t.join() for t in ts]",
                "print(ok)",
                "sys.exit(0 if len(ok) == 8 and all(ok) else 1)");
        NetNs.Result r = ns.exec(Duration.ofSeconds(90), EchoOverTapTest.PYTHON, "-c", script, STACK);
        assertThat(r.ok()).as("8 x 2 MiB echoed intact over two rings: %s", r).isTrue();

        long frames = 0;
        long forwarded = 0;
        int loopsWithFrames = 0;
        for (io.netty.util.concurrent.EventExecutor e : group) {
            Map<String, Long> stats = UserTcp.stats((io.netty.channel.EventLoop) e).get(5, TimeUnit.SECONDS);
            frames += stats.get("framesIn");
            forwarded += stats.get("groupForwarded");
            loopsWithFrames += stats.get("framesIn") > 0 ? 1 : 0;
        }
        assertThat(loopsWithFrames).as("both queues' rings delivered frames").isEqualTo(2);
        assertThat(forwarded).as("segments handed to the other stack: a ring got frames of a flow it does not hold")
                .isLessThan(Math.max(50, frames / 20));
        assertThat(txDropped(tap)).as("tun's own queues carried nothing").isGreaterThanOrEqualTo(frames - 100);
    }

    private long txDropped(String tap) throws Exception {
        NetNs.Result show = ns.execOk(Duration.ofSeconds(10), "ip", "-s", "link", "show", "dev", tap);
        String[] lines = show.stdout().split("\n");
        for (int i = 0; i + 1 < lines.length; i++) {
            if (lines[i].trim().startsWith("TX:")) {
                return Long.parseLong(lines[i + 1].trim().split("\\s+")[3]);
            }
        }
        throw new AssertionError("no TX counters in " + show.stdout());
    }

    @ChannelHandler.Sharable
    static final class Echo extends ChannelInboundHandlerAdapter {
        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ctx.write(msg);
        }

        @Override
        public void channelReadComplete(ChannelHandlerContext ctx) {
            ctx.flush();
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close();
        }
    }
}
