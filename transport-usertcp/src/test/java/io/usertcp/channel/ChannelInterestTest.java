package io.usertcp.channel;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.usertcp.stack.StackConfig;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.net.InetSocketAddress;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The interest a stream channel submits to its registration follows epoll's flags: READ while AUTO_READ is on or a
 * read is pending, WRITE while a write waits for room in the send buffer.
 */
class ChannelInterestTest {
    private static EventLoopGroup group;

    @BeforeAll
    static void start() {
        group = new MultiThreadIoEventLoopGroup(1,
                UserTcpIoHandler.newFactory(StackConfig.builder().address("198.18.0.2/24").build()));
    }

    @AfterAll
    static void stop() throws Exception {
        group.shutdownGracefully(0, 5, TimeUnit.SECONDS).sync();
    }

    private static UserTcpIoOps interest(Channel ch) throws Exception {
        return ch.eventLoop().submit(() -> ((AbstractUserChannel) ch).userRegistration().interest()).get();
    }

    /** A server whose children do not read until told; each child and the bytes it reads are handed over. */
    private static Channel server(int port, CompletableFuture<Channel> child, BlockingQueue<ByteBuf> reads,
                                  AtomicLong readBytes) throws Exception {
        return new ServerBootstrap().group(group).channel(UserTcpServerChannel.class)
                .childOption(ChannelOption.AUTO_READ, false)
                .childHandler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        ch.pipeline().addLast(new ChannelInboundHandlerAdapter() {
                            @Override
                            public void channelActive(ChannelHandlerContext ctx) {
                                child.complete(ctx.channel());
                            }

                            @Override
                            public void channelRead(ChannelHandlerContext ctx, Object msg) {
                                ByteBuf b = (ByteBuf) msg;
                                readBytes.addAndGet(b.readableBytes());
                                if (reads != null) {
                                    reads.add(b);
                                } else {
                                    b.release();
                                }
                            }
                        });
                    }
                }).bind(port).sync().channel();
    }

    private static Channel client(int port) throws Exception {
        return new Bootstrap().group(group).channel(UserTcpChannel.class)
                .handler(new ChannelInboundHandlerAdapter())
                .connect(new InetSocketAddress("198.18.0.2", port)).sync().channel();
    }

    @Test
    void readInterestFollowsAutoReadAndPendingReads() throws Exception {
        CompletableFuture<Channel> childFuture = new CompletableFuture<>();
        BlockingQueue<ByteBuf> reads = new LinkedBlockingQueue<>();
        Channel server = server(7001, childFuture, reads, new AtomicLong());
        Channel client = client(7001);
        try {
            Channel child = childFuture.get(10, TimeUnit.SECONDS);
            assertThat(interest(client).contains(UserTcpIoOps.READ)).isTrue(); // AUTO_READ on
            assertThat(interest(child).contains(UserTcpIoOps.READ)).isFalse(); // AUTO_READ off, no read() yet

            client.writeAndFlush(Unpooled.wrappedBuffer(new byte[] {1, 2, 3})).sync();
            assertThat(reads.poll(300, TimeUnit.MILLISECONDS)).isNull(); // nobody asked

            child.read();
            ByteBuf got = reads.poll(10, TimeUnit.SECONDS);
            assertThat(got).isNotNull();
            got.release();
            assertThat(interest(child).contains(UserTcpIoOps.READ)).isFalse(); // served: READ goes again
        } finally {
            client.close().sync();
            server.close().sync();
            ByteBuf b;
            while ((b = reads.poll()) != null) {
                b.release();
            }
        }
    }

    @Test
    void writeInterestIsOnWhileTheSendBufferIsFull() throws Exception {
        CompletableFuture<Channel> childFuture = new CompletableFuture<>();
        AtomicLong readBytes = new AtomicLong();
        Channel server = server(7002, childFuture, null, readBytes);
        Channel client = client(7002);
        try {
            Channel child = childFuture.get(10, TimeUnit.SECONDS);
            int size = 4 << 20; // more than the peer's window and our send buffer hold
            ChannelFuture write = client.writeAndFlush(Unpooled.wrappedBuffer(new byte[size]));
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (!interest(client).contains(UserTcpIoOps.WRITE) && System.nanoTime() < deadline) {
                Thread.sleep(10);
            }
            assertThat(interest(client).contains(UserTcpIoOps.WRITE)).isTrue();
            assertThat(write.isDone()).isFalse();

            child.config().setAutoRead(true);
            write.sync();
            assertThat(interest(client).contains(UserTcpIoOps.WRITE)).isFalse();
            deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (readBytes.get() < size && System.nanoTime() < deadline) {
                Thread.sleep(10);
            }
            assertThat(readBytes.get()).isEqualTo(size);
        } finally {
            client.close().sync();
            server.close().sync();
        }
    }
}
