package io.usertcp.channel;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.usertcp.stack.StackConfig;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.net.InetSocketAddress;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** usertcp's own TCP knobs ({@link UserTcpChannelOption}) reach the connection. */
class UserTcpChannelOptionTest {
    private static EventLoopGroup group;
    private static Channel server;

    @BeforeAll
    static void start() throws Exception {
        group = new MultiThreadIoEventLoopGroup(1,
                UserTcpIoHandler.newFactory(StackConfig.builder().address("198.18.0.2/24").build()));
        server = new ServerBootstrap().group(group).channel(UserTcpServerChannel.class)
                .childHandler(new ChannelInboundHandlerAdapter()).bind(9000).sync().channel();
    }

    @AfterAll
    static void stop() throws Exception {
        server.close().sync();
        group.shutdownGracefully(0, 5, TimeUnit.SECONDS).sync();
    }

    @Test
    void knobsAreKeptAndApplied() throws Exception {
        Channel c = new Bootstrap().group(group).channel(UserTcpChannel.class)
                .handler(new ChannelInboundHandlerAdapter())
                .option(UserTcpChannelOption.TCP_MAXSEG, 600)
                .option(UserTcpChannelOption.TCP_CONGESTION, "newreno")
                .option(UserTcpChannelOption.TCP_KEEPIDLE, 30)
                .option(UserTcpChannelOption.TCP_USER_TIMEOUT, 5000)
                .option(ChannelOption.SO_KEEPALIVE, true)
                .connect(new InetSocketAddress("198.18.0.2", 9000)).sync().channel();
        try {
            UserTcpChannel ch = (UserTcpChannel) c;
            assertThat(ch.config().getOption(UserTcpChannelOption.TCP_MAXSEG)).isEqualTo(600);
            assertThat(ch.config().getOption(UserTcpChannelOption.TCP_CONGESTION)).isEqualTo("newreno");
            assertThat(ch.config().getOption(UserTcpChannelOption.TCP_KEEPIDLE)).isEqualTo(30);
            assertThat(ch.config().getOptions()).containsKey(UserTcpChannelOption.TCP_USER_TIMEOUT);
            int mss = c.eventLoop().submit(() -> ch.connection().mss()).get();
            assertThat(mss).isEqualTo(600); // the clamp, below the loopback path's MSS
        } finally {
            c.close().sync();
        }
    }

    @Test
    void badValuesFailNamingTheProblem() {
        UserTcpChannel ch = new UserTcpChannel();
        assertThatThrownBy(() -> ch.config().setOption(UserTcpChannelOption.TCP_CONGESTION, "vegas"))
                .hasMessageContaining("newreno, cubic");
        assertThatThrownBy(() -> ch.config().setOption(UserTcpChannelOption.TCP_KEEPCNT, 0))
                .hasMessageContaining("TCP_KEEPCNT");
        assertThat(ch.config().setOption(ChannelOption.valueOf("NO_SUCH_OPTION_HERE"), 1)).isFalse();
    }
}
