package io.usertcp.channel;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.usertcp.stack.StackConfig;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** A server and a client on one stack, talking through the stack's loopback: no TAP, no root. */
class LoopbackEchoTest {
    private static EventLoopGroup group;
    private static Channel server;

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
    }

    @BeforeAll
    static void start() throws Exception {
        StackConfig cfg = StackConfig.builder().address("198.18.0.2/24").build();
        group = new MultiThreadIoEventLoopGroup(1, UserTcpIoHandler.newFactory(cfg));
        server = new ServerBootstrap().group(group).channel(UserTcpServerChannel.class)
                .childHandler(new Echo()).bind(7).sync().channel();
    }

    @AfterAll
    static void stop() throws Exception {
        server.close().sync();
        group.shutdownGracefully(0, 5, TimeUnit.SECONDS).sync();
    }

    private static byte[] echo(String host, byte[] data) throws Exception {
        CompletableFuture<byte[]> result = new CompletableFuture<>();
        ByteArrayOutputStream got = new ByteArrayOutputStream();
        Channel c = new Bootstrap().group(group).channel(UserTcpChannel.class)
                .handler(new ChannelInboundHandlerAdapter() {
                    @Override
                    public void channelActive(ChannelHandlerContext ctx) {
                        ctx.writeAndFlush(Unpooled.wrappedBuffer(data));
                    }

                    @Override
                    public void channelRead(ChannelHandlerContext ctx, Object msg) {
                        ByteBuf b = (ByteBuf) msg;
                        byte[] a = new byte[b.readableBytes()];
                        b.readBytes(a);
                        b.release();
                        got.write(a, 0, a.length);
                        if (got.size() >= data.length) {
                            result.complete(got.toByteArray());
                            ctx.close();
                        }
                    }

                    @Override
                    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
                        result.completeExceptionally(cause);
                        ctx.close();
                    }
                }).connect(new InetSocketAddress(host, 7)).sync().channel();
        try {
            return result.get(30, TimeUnit.SECONDS);
        } finally {
            c.close().sync();
        }
    }

    @Test
    void echoesSmallMessage() throws Exception {
        assertThat(echo("198.18.0.2", "hello".getBytes())).isEqualTo("hello".getBytes());
    }

    @Test
    void echoesFourMegabytesOver127001() throws Exception {
        byte[] data = new byte[4 << 20];
        new Random(42).nextBytes(data);
        assertThat(echo("127.0.0.1", data)).isEqualTo(data);
    }

    @Test
    void connectToClosedPortIsRefused() {
        assertThatThrownBy(() -> new Bootstrap().group(group).channel(UserTcpChannel.class)
                .handler(new ChannelInboundHandlerAdapter())
                .connect(new InetSocketAddress("198.18.0.2", 9)).sync())
                .isInstanceOf(ConnectException.class);
    }
}
