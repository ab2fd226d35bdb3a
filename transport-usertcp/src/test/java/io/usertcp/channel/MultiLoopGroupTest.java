package io.usertcp.channel;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.EventLoop;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.util.concurrent.EventExecutor;
import io.usertcp.link.MemoryLink;
import io.usertcp.stack.StackConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.ByteArrayOutputStream;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * A group of several usertcp loops (issue #12) over loopback, no TAP and no root: one stack per loop, a server
 * channel bound on one loop takes connections on every loop's stack, and each accepted child is served by the loop
 * whose stack holds its connection, whatever loop Netty's ServerBootstrap picked for it.
 */
class MultiLoopGroupTest {

    @ChannelHandler.Sharable
    static final class Echo extends ChannelInboundHandlerAdapter {
        final Map<Channel, EventLoop> childLoops = new ConcurrentHashMap<>();

        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            childLoops.put(ctx.channel(), ctx.channel().eventLoop());
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ctx.write(msg);
        }

        @Override
        public void channelReadComplete(ChannelHandlerContext ctx) {
            ctx.flush();
        }
    }

    @ParameterizedTest
    @ValueSource(ints = {2, 4, 0})
    void everyLoopAcceptsAndServesItsOwnConnections(int loops) throws Exception {
        StackConfig cfg = StackConfig.builder().address("198.18.0.2/24").build();
        MultiThreadIoEventLoopGroup group = loops == 0
                ? new MultiThreadIoEventLoopGroup(UserTcpIoHandler.newFactory(cfg)) // Netty's default count
                : new MultiThreadIoEventLoopGroup(loops, UserTcpIoHandler.newFactory(cfg));
        try {
            Echo echo = new Echo();
            Channel server = new ServerBootstrap().group(group).channel(UserTcpServerChannel.class)
                    .childHandler(echo).bind(7).sync().channel();
            List<EventLoop> all = new ArrayList<>();
            for (EventExecutor e : group) {
                all.add((EventLoop) e);
            }
            Random r = new Random(loops);
            List<CompletableFuture<EventLoop>> done = new ArrayList<>();
            for (EventLoop loop : all) {
                for (int i = 0; i < 3; i++) {
                    byte[] data = new byte[1000 + r.nextInt(100_000)];
                    r.nextBytes(data);
                    done.add(echo(loop, data));
                }
            }
            for (CompletableFuture<EventLoop> f : done) {
                f.get(20, TimeUnit.SECONDS);
            }
            // Each client connected from its loop's stack through loopback: its server-side child lives there too.
            assertThat(echo.childLoops).hasSize(done.size());
            Map<EventLoop, Integer> perLoop = new ConcurrentHashMap<>();
            echo.childLoops.values().forEach(l -> perLoop.merge(l, 1, Integer::sum));
            assertThat(perLoop.keySet()).containsExactlyInAnyOrderElementsOf(all);
            assertThat(perLoop.values()).allMatch(n -> n == 3);
            for (EventLoop loop : all) {
                assertThat(UserTcp.stats(loop).get(5, TimeUnit.SECONDS).get("tcpPassiveOpens"))
                        .as("passive opens on %s", loop).isEqualTo(3);
            }
            server.close().sync();
            // After close no stack of the group takes the port.
            for (EventLoop loop : all) {
                assertThatThrownBy(() -> echo(loop, new byte[10]).get(10, TimeUnit.SECONDS))
                        .hasMessageContaining("refused");
            }
            // ... and it can be bound again, from any loop.
            new ServerBootstrap().group(group).channel(UserTcpServerChannel.class).childHandler(echo)
                    .bind(7).sync().channel().close().sync();
        } finally {
            group.shutdownGracefully(0, 5, TimeUnit.SECONDS).sync();
        }
    }

    @Test
    void aPortIsBoundOnceInTheGroup() throws Exception {
        StackConfig cfg = StackConfig.builder().address("198.18.0.2/24").build();
        MultiThreadIoEventLoopGroup group = new MultiThreadIoEventLoopGroup(2, UserTcpIoHandler.newFactory(cfg));
        try {
            Iterable<EventExecutor> loops = group;
            List<EventLoop> all = new ArrayList<>();
            loops.forEach(e -> all.add((EventLoop) e));
            Channel first = new ServerBootstrap().group(all.get(0)).channel(UserTcpServerChannel.class)
                    .childHandler(new Echo()).bind(8).sync().channel();
            assertThatThrownBy(() -> new ServerBootstrap().group(all.get(1)).channel(UserTcpServerChannel.class)
                    .childHandler(new Echo()).bind(8).sync())
                    .hasMessageContaining("another event loop of this group");
            first.close().sync();
        } finally {
            group.shutdownGracefully(0, 5, TimeUnit.SECONDS).sync();
        }
    }

    @Test
    void aLinkThatCannotBeSharedSaysSo() {
        StackConfig cfg = StackConfig.builder().address("198.18.0.2/24")
                .link(() -> MemoryLink.pair(1500, io.usertcp.time.Clock.SYSTEM)[0]).build();
        assertThatThrownBy(() -> new MultiThreadIoEventLoopGroup(2, UserTcpIoHandler.newFactory(cfg)))
                .rootCause()
                .hasMessageContaining("cannot be shared by 2 event loops")
                .hasMessageContaining("MultiThreadIoEventLoopGroup(1,");
    }

    private static CompletableFuture<EventLoop> echo(EventLoop loop, byte[] data) throws Exception {
        CompletableFuture<EventLoop> result = new CompletableFuture<>();
        ByteArrayOutputStream got = new ByteArrayOutputStream();
        new Bootstrap().group(loop).channel(UserTcpChannel.class)
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
                            if (java.util.Arrays.equals(got.toByteArray(), data)) {
                                result.complete(ctx.channel().eventLoop());
                            } else {
                                result.completeExceptionally(new AssertionError("echo differs"));
                            }
                            ctx.close();
                        }
                    }

                    @Override
                    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
                        result.completeExceptionally(cause);
                        ctx.close();
                    }
                })
                .connect(new InetSocketAddress("127.0.0.1", 7)).addListener(f -> {
                    if (!f.isSuccess()) {
                        result.completeExceptionally(f.cause());
                    }
                });
        return result;
    }

    @Test
    void serversBoundToPortZeroOnDifferentLoopsGetDifferentPorts() throws Exception {
        // Each loop's stack picks ephemeral ports in the same order from the same start: before the group checked
        // for them, the second loop's first port 0 collided with the first loop's (BindException).
        StackConfig cfg = StackConfig.builder().address("198.18.0.2/24").build();
        MultiThreadIoEventLoopGroup group = new MultiThreadIoEventLoopGroup(2, UserTcpIoHandler.newFactory(cfg));
        try {
            List<Channel> servers = new ArrayList<>();
            java.util.Set<EventLoop> loops = new java.util.HashSet<>();
            java.util.Set<Integer> ports = new java.util.HashSet<>();
            for (int i = 0; i < 10; i++) {
                Channel server = new ServerBootstrap().group(group).channel(UserTcpServerChannel.class)
                        .childHandler(new Echo()).bind(0).sync().channel();
                servers.add(server);
                loops.add(server.eventLoop());
                ports.add(((InetSocketAddress) server.localAddress()).getPort());
            }
            assertThat(loops).as("the servers' loops").hasSize(2);
            assertThat(ports).as("distinct ports for 10 servers").hasSize(10);
            for (Channel server : servers) {
                server.close().sync();
            }
        } finally {
            group.shutdownGracefully(0, 5, TimeUnit.SECONDS).sync();
        }
    }
}
