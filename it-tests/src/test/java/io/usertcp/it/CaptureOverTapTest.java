package io.usertcp.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.usertcp.channel.UserTcpChannel;
import io.usertcp.channel.UserTcpIoHandler;
import io.usertcp.channel.UserTcpServerChannel;
import io.usertcp.examples.EchoServerHandler;
import io.usertcp.link.TapConfig;
import io.usertcp.stack.StackConfig;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.api.Timeout;

/**
 * Packet capture read back by Wireshark's own reader: a stack over a TAP with {@code StackConfig.capture} echoes for
 * a kernel client and for a client on the stack itself (its loopback); {@code tshark} then reads the pcapng file and
 * must find both interfaces, both TCP streams with their payload in both directions, and no malformed frame.
 */
@ExtendWith(LeakCheck.class)
@Timeout(value = 2, unit = TimeUnit.MINUTES)
class CaptureOverTapTest {
    static final String KERNEL_CIDR = "198.18.0.1/24";
    static final String STACK = "198.18.0.2";
    static final String KERNEL_MESSAGE = "captured from the kernel side";
    static final String LOOPBACK_MESSAGE = "captured on the stack's loopback";

    @TempDir
    Path dir;

    @Test
    void tsharkReadsTheCaptureOfTheTapAndTheLoopback() throws Exception {
        Path file = dir.resolve("usertcp.pcapng");
        String tap = NetNs.uniqueTapName();
        try (NetNs ns = NetNs.create()) {
            StackConfig cfg = StackConfig.builder()
                    .link(TapConfig.builder(tap).kernelAddress(KERNEL_CIDR).namespace(ns.name()).build())
                    .address(STACK + "/24").capture(file).build();
            // One loop: every stack of a group would open StackConfig.capture's one file for itself.
            EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, UserTcpIoHandler.newFactory(cfg));
            try {
                Channel server = new ServerBootstrap().group(group).channel(UserTcpServerChannel.class)
                        .childHandler(new EchoServerHandler()).bind(7).sync().channel();
                NetNs.Result r = ns.exec(Duration.ofSeconds(30), EchoOverTapTest.PYTHON, "-c", """
                        import socket, sys
                        msg = sys.argv[2].encode()
                        with socket.create_connection((sys.argv[1], 7), timeout=10) as s:
                            s.sendall(msg)
                            got = b""
                            while len(got) < len(msg):
                                d = s.recv(100)
                                if not d:
                                    break
                                got += d
                        sys.exit(0 if got == msg else "echo differs: %r" % got)
                        """, STACK, KERNEL_MESSAGE);
                assertTrue(r.ok(), r::toString);
                assertEquals(LOOPBACK_MESSAGE, loopbackEcho(group, LOOPBACK_MESSAGE));
                server.close().sync();
            } finally {
                group.shutdownGracefully(0, 5, TimeUnit.SECONDS).sync();
            }
        }
        assertTrue(Files.size(file) > 0, "no capture written");

        NetNs.Result ifaces = NetNs.run(Duration.ofSeconds(60), "tshark", "-r", file.toString(), "-T", "fields",
                "-e", "frame.interface_name", "-e", "tcp.srcport", "-e", "tcp.dstport", "-e", "tcp.payload",
                "-e", "_ws.malformed", "-Y", "tcp");
        assertTrue(ifaces.ok(), ifaces::toString);
        List<String> lines = ifaces.stdout().lines().toList();
        assertTrue(lines.stream().anyMatch(l -> l.startsWith(tap + "\t")), () -> "no TCP on " + tap + ":\n" + ifaces);
        assertTrue(lines.stream().anyMatch(l -> l.startsWith("lo\t")), () -> "no TCP on lo:\n" + ifaces);
        assertTrue(lines.stream().noneMatch(l -> l.split("\t", -1).length > 4 && !l.split("\t", -1)[4].isEmpty()),
                () -> "malformed frames:\n" + ifaces);
        String kernelHex = hex(KERNEL_MESSAGE);
        String loopHex = hex(LOOPBACK_MESSAGE);
        // Each message twice on its interface: the request (to port 7) and the echo (from port 7).
        assertEquals(2, lines.stream().filter(l -> l.startsWith(tap + "\t") && l.contains(kernelHex)).count(),
                () -> "the kernel client's message and echo on " + tap + ":\n" + ifaces);
        assertEquals(2, lines.stream().filter(l -> l.startsWith("lo\t") && l.contains(loopHex)).count(),
                () -> "the loopback client's message and echo on lo:\n" + ifaces);

        NetNs.Result follow = NetNs.run(Duration.ofSeconds(60), "tshark", "-r", file.toString(), "-q",
                "-z", "follow,tcp,ascii,0");
        assertTrue(follow.ok(), follow::toString);
        assertTrue(follow.stdout().contains(KERNEL_MESSAGE), () -> "stream 0 does not carry the message:\n" + follow);
    }

    private static String loopbackEcho(EventLoopGroup group, String message) throws Exception {
        CompletableFuture<String> got = new CompletableFuture<>();
        StringBuilder sb = new StringBuilder();
        Channel c = new Bootstrap().group(group).channel(UserTcpChannel.class)
                .handler(new ChannelInboundHandlerAdapter() {
                    @Override
                    public void channelRead(ChannelHandlerContext ctx, Object msg) {
                        ByteBuf b = (ByteBuf) msg;
                        sb.append(b.toString(StandardCharsets.US_ASCII));
                        b.release();
                        if (sb.length() >= message.length()) {
                            got.complete(sb.toString());
                        }
                    }
                }).connect(STACK, 7).sync().channel();
        c.writeAndFlush(Unpooled.copiedBuffer(message, StandardCharsets.US_ASCII)).sync();
        try {
            return got.get(10, TimeUnit.SECONDS);
        } finally {
            c.close().sync();
        }
    }

    private static String hex(String s) {
        StringBuilder sb = new StringBuilder();
        for (byte b : s.getBytes(StandardCharsets.US_ASCII)) {
            sb.append(String.format("%02x", b));
        }
        return sb.toString();
    }
}
