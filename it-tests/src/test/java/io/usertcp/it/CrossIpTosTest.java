package io.usertcp.it;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.util.ReferenceCountUtil;
import io.usertcp.channel.UserTcpChannel;
import io.usertcp.channel.UserTcpServerChannel;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * IP_TOS on the wire (issue #14): what the kernel's side of the TAP device receives from usertcp, captured there
 * with tcpdump and read with tshark. A client's option is in the TOS byte / traffic class of every segment from
 * its SYN on; a server's {@code childOption} in every segment of the accepted connection after the listener's
 * SYN-ACK (as with Linux, where the child's option is set after accept). The peers are NIO channels on the kernel.
 */
@Timeout(120)
class CrossIpTosTest {
    private static final int CLIENT_TOS = 0xb8;
    private static final int CHILD_TOS = 0x28;

    static EventLoopGroup nio;
    static Path dir;

    @BeforeAll
    static void start() throws Exception {
        nio = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        dir = Files.createTempDirectory("usertcp-tos-");
    }

    @AfterAll
    static void stop() throws Exception {
        if (nio != null) {
            nio.shutdownGracefully(0, 2, TimeUnit.SECONDS).sync();
        }
        if (dir != null) {
            try (var files = Files.list(dir)) {
                for (Path f : files.toList()) {
                    Files.deleteIfExists(f);
                }
            }
            Files.deleteIfExists(dir);
        }
    }

    /** Source port, TOS / traffic class and TCP flags of each captured segment. */
    private record Seg(int src, int tos, int flags) {
    }

    /** Captures TCP on port {@code port} of the TAP device in the namespace while {@code traffic} runs. */
    private static List<Seg> capture(int port, boolean v6, CrossTransport.Body traffic) throws Throwable {
        CrossTransport x = CrossTransport.get();
        Path file = dir.resolve("tos-" + port + ".pcap");
        NetNs.Background dump = x.namespace().start("tcpdump", "-i", x.tap(), "-n", "-U", "-Z", "root",
                "-w", file.toString(), "tcp port " + port);
        String dumpOutput;
        try {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (!dump.output().contains("listening on") && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            assertThat(dump.output()).contains("listening on");
            traffic.run();
            Thread.sleep(300); // the last ACKs
        } finally {
            dumpOutput = dump.output();
            dump.close();
        }
        NetNs.Result r = NetNs.run(Duration.ofSeconds(60), "tshark", "-r", file.toString(), "-T", "fields",
                "-e", "tcp.srcport", "-e", v6 ? "ipv6.tclass" : "ip.dsfield", "-e", "tcp.flags");
        assertThat(r.ok()).as("%s", r).isTrue();
        assertThat(r.stdout()).as("tcpdump: %s; %s bytes; tshark: %s", dumpOutput, Files.size(file), r).isNotBlank();
        List<Seg> out = new ArrayList<>();
        for (String line : r.stdout().lines().toList()) {
            String[] f = line.split("\t");
            if (f.length == 3) {
                out.add(new Seg(Integer.parseInt(f[0]), Integer.decode(f[1]), Integer.decode(f[2])));
            }
        }
        return out;
    }

    private static void echoOnce(Channel c) throws Exception {
        CompletableFuture<Void> echoed = new CompletableFuture<>();
        c.pipeline().addLast(new ChannelInboundHandlerAdapter() {
            @Override
            public void channelRead(ChannelHandlerContext ctx, Object msg) {
                ReferenceCountUtil.release(msg);
                echoed.complete(null);
            }
        });
        c.writeAndFlush(Unpooled.copiedBuffer("tos", StandardCharsets.US_ASCII)).sync();
        echoed.get(10, TimeUnit.SECONDS);
        c.close().sync();
    }

    private static final class Echo extends ChannelInboundHandlerAdapter {
        @Override
        public boolean isSharable() {
            return true;
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ctx.writeAndFlush(msg);
        }
    }

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void childOptionIpTosOfAUsertcpServerReachesTheKernel(boolean v6) throws Throwable {
        CrossTransport x = CrossTransport.get();
        Channel server = new ServerBootstrap().group(x.usertcpGroup()).channel(UserTcpServerChannel.class)
                .childOption(ChannelOption.IP_TOS, CHILD_TOS).childHandler(new Echo())
                .bind(new InetSocketAddress(v6 ? CrossTransport.STACK6 : CrossTransport.STACK4, 0)).sync().channel();
        int port = ((InetSocketAddress) server.localAddress()).getPort();
        try {
            List<Seg> segs = capture(port, v6, () -> echoOnce(new Bootstrap().group(nio)
                    .channelFactory(x.nioSocketChannels()).handler(new ChannelInboundHandlerAdapter() {
                        @Override
                        public boolean isSharable() {
                            return true;
                        }
                    }).connect(server.localAddress()).sync().channel()));
            List<Seg> fromServer = segs.stream().filter(s -> s.src == port).toList();
            assertThat(fromServer).hasSizeGreaterThanOrEqualTo(3);
            assertThat(fromServer.get(0).flags).isEqualTo(0x12); // SYN-ACK: the listener's, TOS 0
            assertThat(fromServer.get(0).tos).isZero();
            assertThat(fromServer.subList(1, fromServer.size())).as("the accepted connection's segments")
                    .allSatisfy(s -> assertThat(s.tos).isEqualTo(CHILD_TOS));
            assertThat(segs.stream().filter(s -> s.src != port))
                    .as("the kernel's segments keep its own TOS").allSatisfy(s -> assertThat(s.tos).isZero());
        } finally {
            server.close().sync();
        }
    }

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void ipTosOfAUsertcpClientReachesTheKernel(boolean v6) throws Throwable {
        CrossTransport x = CrossTransport.get();
        Channel server = new ServerBootstrap().group(nio).channelFactory(x.nioServerSocketChannels())
                .childHandler(new Echo())
                .bind(new InetSocketAddress(v6 ? CrossTransport.KERNEL6 : CrossTransport.KERNEL4, 0)).sync().channel();
        int port = ((InetSocketAddress) server.localAddress()).getPort();
        try {
            List<Seg> segs = capture(port, v6, () -> echoOnce(new Bootstrap().group(x.usertcpGroup())
                    .channel(UserTcpChannel.class).option(ChannelOption.IP_TOS, CLIENT_TOS)
                    .handler(new ChannelInboundHandlerAdapter() {
                        @Override
                        public boolean isSharable() {
                            return true;
                        }
                    }).connect(server.localAddress()).sync().channel()));
            List<Seg> fromClient = segs.stream().filter(s -> s.src != port).toList();
            assertThat(fromClient).hasSizeGreaterThanOrEqualTo(4);
            assertThat(fromClient.get(0).flags).isEqualTo(0x02); // the SYN
            assertThat(fromClient).as("every segment of the client, from its SYN on")
                    .allSatisfy(s -> assertThat(s.tos).isEqualTo(CLIENT_TOS));
        } finally {
            server.close().sync();
        }
    }
}
