package io.usertcp.channel;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.util.ReferenceCountUtil;
import io.usertcp.link.PcapngReader;
import io.usertcp.stack.StackConfig;
import io.usertcp.wire.Ethernet;
import io.usertcp.wire.Ipv4;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link StackConfig#capture()}: the stack's loopback traffic in a pcapng file (the TAP side: CaptureOverTapTest). */
class CaptureTest {
    @TempDir
    Path dir;

    @Test
    void loopbackTrafficIsCapturedAsInterfaceLo() throws Exception {
        Path file = dir.resolve("lo.pcapng");
        StackConfig cfg = StackConfig.builder().address("198.18.0.2/24").capture(file).build();
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, UserTcpIoHandler.newFactory(cfg));
        byte[] message = "hello, capture".getBytes(StandardCharsets.US_ASCII);
        try {
            Channel server = new ServerBootstrap().group(group).channel(UserTcpServerChannel.class)
                    .childHandler(new ChannelInboundHandlerAdapter() {
                        @Override
                        public void channelRead(ChannelHandlerContext ctx, Object msg) {
                            ctx.writeAndFlush(msg);
                        }
                    }).bind(7).sync().channel();
            CompletableFuture<Void> echoed = new CompletableFuture<>();
            Channel c = new Bootstrap().group(group).channel(UserTcpChannel.class)
                    .handler(new ChannelInboundHandlerAdapter() {
                        @Override
                        public void channelRead(ChannelHandlerContext ctx, Object msg) {
                            ReferenceCountUtil.release(msg);
                            echoed.complete(null);
                        }
                    }).connect("198.18.0.2", 7).sync().channel();
            c.writeAndFlush(Unpooled.wrappedBuffer(message)).sync();
            echoed.get(10, TimeUnit.SECONDS);
            c.close().sync();
            server.close().sync();
        } finally {
            group.shutdownGracefully(0, 5, TimeUnit.SECONDS).sync();
        }
        PcapngReader r = PcapngReader.read(file);
        assertThat(r.interfaceNames).containsExactly("lo");
        // SYN, SYN-ACK, ACK, data, echo, FINs and ACKs: every one an IPv4/TCP frame between our address and itself.
        assertThat(r.packets.size()).isGreaterThanOrEqualTo(7);
        int withMessage = 0;
        for (PcapngReader.Packet p : r.packets) {
            io.netty.buffer.ByteBuf b = Unpooled.wrappedBuffer(p.data());
            assertThat(Ethernet.type(b, 0)).isEqualTo(Ethernet.TYPE_IPV4);
            assertThat(Ipv4.protocol(b, Ethernet.HEADER_LENGTH)).isEqualTo(Ipv4.PROTO_TCP);
            assertThat(Ipv4.totalLength(b, Ethernet.HEADER_LENGTH)).isEqualTo(p.data().length - Ethernet.HEADER_LENGTH);
            if (new String(p.data(), StandardCharsets.ISO_8859_1).contains("hello, capture")) {
                withMessage++;
            }
        }
        assertThat(withMessage).as("the message and its echo").isEqualTo(2);
        assertThat(r.packets.get(r.packets.size() - 1).timestampNanos())
                .isGreaterThanOrEqualTo(r.packets.get(0).timestampNanos());
    }

    @Test
    void aCaptureFileThatCannotBeCreatedFailsTheGroupWithItsName() {
        Path file = dir.resolve("missing-dir").resolve("x.pcapng");
        StackConfig cfg = StackConfig.builder().address("198.18.0.2/24").capture(file).build();
        assertThatThrownBy(() -> new MultiThreadIoEventLoopGroup(1, UserTcpIoHandler.newFactory(cfg)))
                .hasStackTraceContaining(file.toString());
    }
}
