package io.usertcp.it;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
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
import io.usertcp.channel.UserTcpIoHandler;
import io.usertcp.channel.UserTcpServerChannel;
import io.usertcp.link.TapConfig;
import io.usertcp.stack.StackConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * IP_TOS on the wire (issue #14): the TOS byte / traffic class of what usertcp sends onto its TAP device towards
 * NIO peers on the kernel's TCP, from the stack's pcapng capture of the device, read by tshark. A client's option
 * is in every segment from its SYN on; a server's {@code childOption} in every segment of the accepted connection
 * after the listener's SYN-ACK (as with Linux, where the child's option is set after accept). A stack of its own
 * (198.18.41.2/24, fd00:198:41::2/64) on a TAP device in a namespace of its own, so the capture holds only this.
 */
@Timeout(120)
class CrossIpTosTest {
    private static final int CLIENT_TOS = 0xb8;
    private static final int CHILD_TOS = 0x28;
    private static final String KERNEL4 = "198.18.41.1";
    private static final String STACK4 = "198.18.41.2";
    private static final String KERNEL6 = "fd00:198:41::1";
    private static final String STACK6 = "fd00:198:41::2";

    @TempDir
    Path dir;

    /** Source port, TOS / traffic class and TCP flags of each captured segment. */
    private record Seg(int src, int dst, int tos, int flags) {
    }

    private static List<Seg> read(Path file, boolean v6, int port) throws Exception {
        NetNs.Result r = NetNs.run(Duration.ofSeconds(60), "tshark", "-r", file.toString(), "-T", "fields",
                "-e", "tcp.srcport", "-e", "tcp.dstport", "-e", v6 ? "ipv6.tclass" : "ip.dsfield", "-e", "tcp.flags",
                "-Y", (v6 ? "ipv6" : "ip") + " && tcp.port == " + port);
        assertThat(r.ok()).as("%s", r).isTrue();
        List<Seg> out = new ArrayList<>();
        for (String line : r.stdout().lines().toList()) {
            String[] f = line.split("\t");
            out.add(new Seg(Integer.parseInt(f[0]), Integer.parseInt(f[1]), Integer.decode(f[2]), Integer.decode(f[3])));
        }
        return out;
    }

    @Test
    void ipTosOfUsertcpClientsAndAcceptedChildrenIsOnTheWire() throws Exception {
        Path file = dir.resolve("tos.pcapng");
        String tap = NetNs.uniqueTapName();
        int[][] ports = new int[2][2]; // [v6][0: usertcp server's port, 1: NIO server's port]
        try (NetNs ns = NetNs.create(); NsThread inNs = new NsThread(ns)) {
            StackConfig cfg = StackConfig.builder()
                    .link(TapConfig.builder(tap).kernelAddress(KERNEL4 + "/24").kernelAddress(KERNEL6 + "/64")
                            .namespace(ns.name()).build())
                    .address(STACK4 + "/24").address(STACK6 + "/64").capture(file).build();
            // One loop: every stack of a group would open StackConfig.capture's one file for itself.
            EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, UserTcpIoHandler.newFactory(cfg));
            EventLoopGroup nio = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
            try {
                for (int v = 0; v < 2; v++) {
                    boolean v6 = v == 1;
                    // A usertcp server with childOption(IP_TOS), a NIO client on the kernel.
                    Channel server = new ServerBootstrap().group(group).channel(UserTcpServerChannel.class)
                            .childOption(ChannelOption.IP_TOS, CHILD_TOS).childHandler(new Echo())
                            .bind(new InetSocketAddress(v6 ? STACK6 : STACK4, 0)).sync().channel();
                    ports[v][0] = ((InetSocketAddress) server.localAddress()).getPort();
                    echoOnce(new Bootstrap().group(nio).channelFactory(inNs.nioSocketChannels())
                            .handler(new Pass()).connect(server.localAddress()).sync().channel());
                    server.close().sync();
                    // A NIO server on the kernel, a usertcp client with IP_TOS.
                    Channel nioServer = new ServerBootstrap().group(nio).channelFactory(inNs.nioServerSocketChannels())
                            .childHandler(new Echo())
                            .bind(new InetSocketAddress(v6 ? KERNEL6 : KERNEL4, 0)).sync().channel();
                    ports[v][1] = ((InetSocketAddress) nioServer.localAddress()).getPort();
                    echoOnce(new Bootstrap().group(group).channel(UserTcpChannel.class)
                            .option(ChannelOption.IP_TOS, CLIENT_TOS).handler(new Pass())
                            .connect(nioServer.localAddress()).sync().channel());
                    Thread.sleep(200); // the last ACKs
                    nioServer.close().sync();
                }
            } finally {
                group.shutdownGracefully(0, 5, TimeUnit.SECONDS).sync();
                nio.shutdownGracefully(0, 2, TimeUnit.SECONDS).sync();
            }
        }
        for (int v = 0; v < 2; v++) {
            boolean v6 = v == 1;
            int port = ports[v][0];
            List<Seg> fromServer = read(file, v6, port).stream().filter(s -> s.src == port).toList();
            assertThat(fromServer).as("v6=%s: SYN-ACK, echo, FIN ...", v6).hasSizeGreaterThanOrEqualTo(3);
            assertThat(fromServer.get(0).flags).isEqualTo(0x12); // the SYN-ACK: the listener's, TOS 0
            assertThat(fromServer.get(0).tos).isZero();
            assertThat(fromServer.subList(1, fromServer.size())).as("v6=%s: the accepted connection's segments", v6)
                    .allSatisfy(s -> assertThat(s.tos).isEqualTo(CHILD_TOS));
            int nioPort = ports[v][1];
            List<Seg> fromClient = read(file, v6, nioPort).stream().filter(s -> s.dst == nioPort).toList();
            assertThat(fromClient).as("v6=%s: SYN, ACK, data, FIN ...", v6).hasSizeGreaterThanOrEqualTo(4);
            assertThat(fromClient.get(0).flags).isEqualTo(0x02); // the SYN
            assertThat(fromClient).as("v6=%s: every segment of the client, from its SYN on", v6)
                    .allSatisfy(s -> assertThat(s.tos).isEqualTo(CLIENT_TOS));
        }
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

    /** A client's first handler: passes everything on (echoOnce adds the one that reads). */
    private static final class Pass extends ChannelInboundHandlerAdapter {
        @Override
        public boolean isSharable() {
            return true;
        }
    }
}
