package io.usertcp.testsuite;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.ByteToMessageDecoder;
import io.netty.testsuite.transport.TestsuitePermutation;
import io.netty.testsuite.transport.socket.SocketChannelNotYetConnectedTest;
import io.usertcp.channel.UserTcpServerChannel;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;
import org.junit.jupiter.api.Timeout;

import java.net.SocketAddress;
import java.util.List;
import java.util.concurrent.CountDownLatch;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertFalse;

/** Netty's {@link SocketChannelNotYetConnectedTest} on usertcp. */
class UserTcpSocketChannelNotYetConnectedTest extends SocketChannelNotYetConnectedTest {
    @Override
    protected List<TestsuitePermutation.BootstrapFactory<Bootstrap>> newFactories() {
        return UserTcpSocketTestPermutation.INSTANCE.clientSocket();
    }

    @Override
    protected SocketAddress newSocketAddress() {
        return UserTcpSocketTestPermutation.newSocketAddress();
    }

    /**
     * The testsuite's test, step for step, except that the server is a usertcp server on the same stack
     * rather than an NIO (kernel) server, which a stack without a link cannot reach.
     */
    @Test
    @Timeout(30)
    @Override
    public void readMustBePendingUntilChannelIsActive(TestInfo info) throws Throwable {
        run(info, bootstrap -> {
            Channel serverChannel = new ServerBootstrap().group(UserTcpSocketTestPermutation.INSTANCE.group())
                    .childHandler(new ChannelInboundHandlerAdapter() {
                        @Override
                        public void channelActive(ChannelHandlerContext ctx) {
                            ctx.writeAndFlush(Unpooled.copyInt(42));
                        }
                    }).channel(UserTcpServerChannel.class).bind(newSocketAddress()).sync().channel();
            try {
                final CountDownLatch readLatch = new CountDownLatch(1);
                bootstrap.handler(new ByteToMessageDecoder() {
                    @Override
                    public void handlerAdded(ChannelHandlerContext ctx) {
                        assertFalse(ctx.channel().isActive());
                        ctx.read();
                    }

                    @Override
                    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
                        assertThat(in.readableBytes()).isLessThanOrEqualTo(Integer.BYTES);
                        if (in.readableBytes() == Integer.BYTES) {
                            assertThat(in.readInt()).isEqualTo(42);
                            readLatch.countDown();
                        }
                    }
                });
                Channel cc = bootstrap.connect(serverChannel.localAddress()).sync().channel();

                readLatch.await();
                cc.close().sync();
            } finally {
                serverChannel.close().sync();
            }
        });
    }
}
