package io.usertcp.channel;

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
import io.usertcp.stack.StackConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Data that arrived before the peer's RST is still read, then the reset is reported (as Linux: recv() returns the
 * data, then ECONNRESET). Found by Netty's SocketHalfClosedTest across transports (issue #14): the stack used to
 * drop the unread data when the RST came in the same batch of frames.
 */
@Timeout(30)
class ResetAfterDataTest {

    @Test
    void dataBeforeTheResetIsReadThenTheResetIsReported() throws Exception {
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(1,
                UserTcpIoHandler.newFactory(StackConfig.builder().address("198.18.0.2/24").build()));
        try {
            // The server writes and resets at once (SO_LINGER 0): both reach the client in one turn of the loop.
            Channel server = new ServerBootstrap().group(group).channel(UserTcpServerChannel.class)
                    .childOption(ChannelOption.SO_LINGER, 0)
                    .childHandler(new ChannelInboundHandlerAdapter() {
                        @Override
                        public void channelActive(ChannelHandlerContext ctx) {
                            ctx.writeAndFlush(Unpooled.copiedBuffer("last words", StandardCharsets.US_ASCII));
                            ctx.close();
                        }
                    }).bind(7009).sync().channel();
            BlockingQueue<Object> events = new LinkedBlockingQueue<>();
            Channel c = new Bootstrap().group(group).channel(UserTcpChannel.class)
                    .handler(new ChannelInboundHandlerAdapter() {
                        @Override
                        public void channelRead(ChannelHandlerContext ctx, Object msg) {
                            ByteBuf b = (ByteBuf) msg;
                            events.add(b.toString(StandardCharsets.US_ASCII));
                            b.release();
                        }

                        @Override
                        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
                            events.add(cause);
                        }

                        @Override
                        public void channelInactive(ChannelHandlerContext ctx) {
                            events.add("inactive");
                        }
                    }).connect("198.18.0.2", 7009).sync().channel();
            StringBuilder data = new StringBuilder();
            Object e;
            while ((e = events.poll(10, TimeUnit.SECONDS)) instanceof String s && !s.equals("inactive")) {
                data.append(s);
            }
            assertThat(data.toString()).as("what was sent before the RST").isEqualTo("last words");
            assertThat(e).isInstanceOf(IOException.class);
            assertThat(((Throwable) e)).hasMessageContaining("reset");
            assertThat(c.closeFuture().await(5, TimeUnit.SECONDS)).isTrue();
            assertThat(List.of(events.poll(5, TimeUnit.SECONDS))).containsExactly("inactive");
            server.close().sync();
        } finally {
            group.shutdownGracefully(0, 5, TimeUnit.SECONDS).sync();
        }
    }
}
