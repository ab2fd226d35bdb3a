package io.usertcp.micrometer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.util.ReferenceCountUtil;
import io.usertcp.channel.UserTcpChannel;
import io.usertcp.channel.UserTcpIoHandler;
import io.usertcp.channel.UserTcpServerChannel;
import io.usertcp.stack.StackConfig;
import io.usertcp.stats.StackStats;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** {@link UserTcpMetrics} on loopback stacks (no TAP device, no root), read through a {@link SimpleMeterRegistry}. */
class UserTcpMetricsTest {
    private static EventLoopGroup loopbackGroup(int loops) {
        return new MultiThreadIoEventLoopGroup(loops,
                UserTcpIoHandler.newFactory(StackConfig.builder().address("198.18.0.2/24").build()));
    }

    private static double count(SimpleMeterRegistry r, String counter, String loop) {
        return r.get("usertcp." + counter).tag("loop", loop).functionCounter().count();
    }

    @Test
    void everyCounterOfEveryLoopIsAMeterAndFollowsTheTraffic() throws Exception {
        EventLoopGroup group = loopbackGroup(2);
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        try {
            new UserTcpMetrics(group, Tags.of("app", "test"), Duration.ZERO, Duration.ofSeconds(5)).bindTo(registry);
            assertThat(registry.find("usertcp.tcpActiveOpens").functionCounters()).hasSize(2);
            // Meters hold their state objects weakly: the counters must still follow the stacks after a collection.
            for (int i = 0; i < 3; i++) {
                System.gc();
            }
            for (String name : StackStats.names()) {
                FunctionCounter c = registry.get("usertcp." + name).tag("loop", "0").tag("link", "loopback")
                        .tag("app", "test").functionCounter();
                assertThat(c.count()).as(name).isZero();
            }

            // An echo on loop 0's stack: its counters move, loop 1's do not.
            Channel server = new ServerBootstrap().group(group.next()).channel(UserTcpServerChannel.class)
                    .childHandler(new ChannelInboundHandlerAdapter() {
                        @Override
                        public void channelRead(ChannelHandlerContext ctx, Object msg) {
                            ctx.writeAndFlush(msg);
                        }
                    }).bind(7).sync().channel();
            String loop = server.eventLoop() == group.iterator().next() ? "0" : "1";
            String other = loop.equals("0") ? "1" : "0";
            CompletableFuture<Void> echoed = new CompletableFuture<>();
            Channel client = new Bootstrap().group(server.eventLoop()).channel(UserTcpChannel.class)
                    .handler(new ChannelInboundHandlerAdapter() {
                        @Override
                        public void channelRead(ChannelHandlerContext ctx, Object msg) {
                            ReferenceCountUtil.release(msg);
                            echoed.complete(null);
                        }
                    }).connect("127.0.0.1", 7).sync().channel();
            client.writeAndFlush(Unpooled.wrappedBuffer(new byte[100])).sync();
            echoed.get(10, TimeUnit.SECONDS);

            assertThat(count(registry, "tcpActiveOpens", loop)).isEqualTo(1);
            assertThat(count(registry, "tcpPassiveOpens", loop)).isEqualTo(1);
            double segments = count(registry, "tcpSegmentsIn", loop);
            assertThat(segments).isGreaterThanOrEqualTo(4);
            assertThat(count(registry, "tcpActiveOpens", other)).isZero();

            client.close().sync();
            server.close().sync();
            long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (count(registry, "tcpSegmentsIn", loop) <= segments && System.nanoTime() < end) {
                Thread.sleep(10); // the FINs cross the loopback after close() returns
            }
            assertThat(count(registry, "tcpSegmentsIn", loop)).as("the FINs and their ACKs").isGreaterThan(segments);
            double last = count(registry, "tcpSegmentsIn", loop);
            group.shutdownGracefully(0, 5, TimeUnit.SECONDS).sync();
            assertThat(count(registry, "tcpSegmentsIn", loop)).as("kept after shutdown").isEqualTo(last);
        } finally {
            group.shutdownGracefully(0, 5, TimeUnit.SECONDS).sync();
        }
    }

    @Test
    void oneCopyServesAScrapeWithinItsMaxAge() throws Exception {
        EventLoopGroup group = loopbackGroup(1);
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        try {
            new UserTcpMetrics(group, Tags.empty(), Duration.ofHours(1), Duration.ofSeconds(5)).bindTo(registry);
            assertThat(count(registry, "tcpActiveOpens", "0")).isZero();
            Channel server = new ServerBootstrap().group(group).channel(UserTcpServerChannel.class)
                    .childHandler(new ChannelInboundHandlerAdapter()).bind(7).sync().channel();
            Channel client = new Bootstrap().group(group).channel(UserTcpChannel.class)
                    .handler(new ChannelInboundHandlerAdapter()).connect("127.0.0.1", 7).sync().channel();
            assertThat(count(registry, "tcpActiveOpens", "0")).as("the copy of before the connect").isZero();
            client.close().sync();
            server.close().sync();
        } finally {
            group.shutdownGracefully(0, 5, TimeUnit.SECONDS).sync();
        }
    }

    @Test
    void aGroupWithoutUserTcpLoopsIsRefused() throws Exception {
        EventLoopGroup nio = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        try {
            assertThatThrownBy(() -> new UserTcpMetrics(nio).bindTo(new SimpleMeterRegistry()))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("no live usertcp event loop");
        } finally {
            nio.shutdownGracefully(0, 5, TimeUnit.SECONDS).sync();
        }
    }
}
