package io.usertcp.channel;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.util.ReferenceCountUtil;
import io.usertcp.stack.StackConfig;
import io.usertcp.stats.StackStats;

import java.lang.management.ManagementFactory;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import javax.management.MBeanServer;
import javax.management.ObjectName;
import org.junit.jupiter.api.Test;

/** The public view of a stack's counters: {@link UserTcp#stats} and the JMX MBean. */
class UserTcpStatsTest {
    @Test
    void countersAreReadableThroughTheLoopAndJmxAndGoAwayWithTheGroup() throws Exception {
        StackConfig cfg = StackConfig.builder().address("198.18.0.2/24").build();
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, UserTcpIoHandler.newFactory(cfg));
        EventLoop loop = group.next();
        ObjectName mbean;
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
                    }).connect("127.0.0.1", 7).sync().channel();
            c.writeAndFlush(Unpooled.wrappedBuffer(new byte[100])).sync();
            echoed.get(10, TimeUnit.SECONDS);

            Map<String, Long> stats = UserTcp.stats(c.eventLoop()).get(10, TimeUnit.SECONDS);
            assertThat(stats.keySet()).containsExactlyElementsOf(StackStats.names());
            assertThat(stats.get("tcpActiveOpens")).isEqualTo(1);
            assertThat(stats.get("tcpPassiveOpens")).isEqualTo(1);
            assertThat(stats.get("tcpSegmentsIn")).isGreaterThanOrEqualTo(4); // SYN, SYN-ACK, ACK, data, echo
            assertThat(stats.get("dropTcpChecksum")).isZero();

            MBeanServer jmx = ManagementFactory.getPlatformMBeanServer();
            mbean = UserTcpIoHandler.of(loop).mbeanName();
            assertThat(mbean).isNotNull();
            assertThat(mbean.getKeyProperty("type")).isEqualTo("Stack");
            assertThat(jmx.isRegistered(mbean)).isTrue();
            assertThat((Long) jmx.getAttribute(mbean, "tcpActiveOpens")).isEqualTo(1L);
            assertThat(jmx.getMBeanInfo(mbean).getAttributes()).hasSize(StackStats.names().size());
            c.close().sync();
            server.close().sync();
        } finally {
            group.shutdownGracefully(0, 5, TimeUnit.SECONDS).sync();
        }
        assertThat(ManagementFactory.getPlatformMBeanServer().isRegistered(mbean)).as("unregistered at shutdown").isFalse();
        assertThat(UserTcpIoHandler.of(loop)).isNull();
    }

    @Test
    void aLoopOfAnotherTransportIsNamedInTheFailure() throws Exception {
        EventLoopGroup nio = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        try {
            assertThatThrownBy(() -> UserTcp.stats(nio.next()).get(10, TimeUnit.SECONDS))
                    .isInstanceOf(ExecutionException.class).cause()
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("not a live usertcp event loop");
        } finally {
            nio.shutdownGracefully(0, 5, TimeUnit.SECONDS).sync();
        }
    }

    @Test
    void unknownCounterNamesAreAnApiError() {
        assertThat(new StackStats().get("framesIn")).isZero();
        assertThatThrownBy(() -> new StackStats().get("nope")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("StackStats.names()");
    }
}
