package io.usertcp.channel;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.DatagramPacket;
import io.netty.util.ReferenceCountUtil;
import io.usertcp.stack.StackConfig;
import io.usertcp.stats.ConnectionInfo;

import java.lang.management.ManagementFactory;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import javax.management.MBeanServer;
import javax.management.ObjectName;
import javax.management.openmbean.CompositeData;
import javax.management.openmbean.TabularData;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The connection table ({@link UserTcp#connections}, {@link UserTcpChannel#tcpInfo()}, the MBean's operations) on one
 * stack without a link: client and server talk over its loopback.
 */
class ConnectionTableTest {
    private static final int PORT = 7;
    private static final InetSocketAddress SERVER = new InetSocketAddress("127.0.0.1", PORT);

    private EventLoopGroup group;
    private Channel server;
    private final CompletableFuture<Channel> child = new CompletableFuture<>();

    @BeforeEach
    void start() throws Exception {
        group = new MultiThreadIoEventLoopGroup(1,
                UserTcpIoHandler.newFactory(StackConfig.builder().address("198.18.0.2/24").build()));
        // A small receive buffer and no reading on the server's side: the client's data piles up in both queues.
        server = new ServerBootstrap().group(group).channel(UserTcpServerChannel.class)
                .option(ChannelOption.SO_RCVBUF, 16384).option(ChannelOption.SO_BACKLOG, 50)
                .childOption(ChannelOption.AUTO_READ, false)
                .childHandler(new ChannelInitializer<>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        ch.pipeline().addLast(new ChannelInboundHandlerAdapter() {
                            @Override
                            public void channelRead(ChannelHandlerContext ctx, Object msg) {
                                ReferenceCountUtil.release(msg);
                            }
                        });
                        child.complete(ch);
                    }
                }).bind(PORT).sync().channel();
    }

    @AfterEach
    void stop() throws Exception {
        group.shutdownGracefully(0, 5, TimeUnit.SECONDS).sync();
    }

    private Channel connect() throws Exception {
        return new Bootstrap().group(group).channel(UserTcpChannel.class)
                .handler(new ChannelInboundHandlerAdapter()).connect(SERVER).sync().channel();
    }

    private List<ConnectionInfo> table() throws Exception {
        return UserTcp.connections(server.eventLoop()).get(10, TimeUnit.SECONDS);
    }

    /** Takes tables until {@code done} holds for one (at most 10 s), and returns that one. */
    private List<ConnectionInfo> awaitTable(Predicate<List<ConnectionInfo>> done) throws Exception {
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        List<ConnectionInfo> t = table();
        while (!done.test(t) && System.nanoTime() < end) {
            Thread.sleep(10);
            t = table();
        }
        assertThat(done).as("the table never got there:%n%s", t).accepts(t);
        return t;
    }

    private static ConnectionInfo row(List<ConnectionInfo> t, String state, InetSocketAddress local,
                                      InetSocketAddress remote) {
        return t.stream().filter(r -> r.state().equals(state) && r.localAddress().equals(local)
                && java.util.Objects.equals(r.remoteAddress(), remote)).findFirst().orElse(null);
    }

    @Test
    void showsTheListenerBothEndsWithTheirQueuesAndTimeWaitAfterClose() throws Exception {
        Channel client = connect();
        InetSocketAddress clientAddress = (InetSocketAddress) client.localAddress();
        client.writeAndFlush(Unpooled.wrappedBuffer(new byte[1 << 20])); // far more than the server's window

        // The server reads nothing: what the client's side has had acknowledged is exactly what waits there.
        List<ConnectionInfo> t = awaitTable(x -> {
            ConnectionInfo c = row(x, "ESTABLISHED", clientAddress, SERVER);
            ConnectionInfo s = row(x, "ESTABLISHED", SERVER, clientAddress);
            return c != null && s != null && c.sendQueue() > 0 && s.receiveQueue() > 0
                    && s.receiveQueue() == c.bytesAcked() && c.srttNanos() >= 0 && c.timer() != null;
        });
        ConnectionInfo listener = t.get(0);
        assertThat(listener.isListener()).isTrue();
        assertThat(listener.state()).isEqualTo("LISTEN");
        assertThat(listener.localAddress().getPort()).isEqualTo(PORT);
        assertThat(listener.localAddress().getAddress().isAnyLocalAddress()).isTrue();
        assertThat(listener.remoteAddress()).isNull();
        assertThat(listener.sendQueue()).as("the backlog, as ss shows it").isEqualTo(50);
        assertThat(listener.receiveQueue()).as("nothing waits to be accepted").isZero();
        assertThat(listener.toString()).isEqualTo("tcp   LISTEN       0      50     *:7 *:*");

        ConnectionInfo c = row(t, "ESTABLISHED", clientAddress, SERVER);
        ConnectionInfo s = row(t, "ESTABLISHED", SERVER, clientAddress);
        assertThat(c.cwnd()).isPositive();
        assertThat(c.mss()).isPositive();
        assertThat(c.rtoNanos()).isPositive();
        assertThat(c.rttvarNanos()).isNotNegative();
        assertThat(c.sack()).isTrue();
        assertThat(c.timestamps()).isTrue();
        assertThat(c.sendWindowScale()).isNotNegative();
        assertThat(c.congestionControl()).isEqualTo("cubic");
        assertThat(c.timer()).as("data waits behind a closed window").isIn("persist", "retransmit", "probe");
        assertThat(c.timerNanos()).isNotNegative();
        assertThat(c.lastSendNanos()).isNotNegative();
        assertThat(c.lastReceiveNanos()).isNotNegative();
        assertThat(c.receiveQueue()).isZero();
        assertThat(s.bytesReceived()).isEqualTo(s.receiveQueue());
        assertThat(s.receiveQueue()).as("about the receive buffer").isBetween(8192L, 65536L);
        assertThat(s.sendQueue()).isZero();
        assertThat(c.toString()).contains("ESTABLISHED", "127.0.0.1:" + clientAddress.getPort(), "127.0.0.1:7",
                " cubic ", " rtt:", " cwnd:", " sack ts ", " bytes_acked:" + c.bytesAcked());

        // The channel's own view is the same connection.
        UserTcpChannel ch = (UserTcpChannel) client;
        ConnectionInfo info = ch.eventLoop().submit(ch::tcpInfo).get(10, TimeUnit.SECONDS);
        assertThat(info.state()).isEqualTo("ESTABLISHED");
        assertThat(info.localAddress()).isEqualTo(clientAddress);
        assertThat(info.remoteAddress()).isEqualTo(SERVER);
        assertThat(info.bytesAcked()).isGreaterThanOrEqualTo(c.bytesAcked());
        assertThatThrownBy(ch::tcpInfo).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("eventLoop().submit(channel::tcpInfo)");

        // Read everything, close: the side that closed first waits in TIME-WAIT.
        Channel serverChild = child.get(10, TimeUnit.SECONDS);
        serverChild.config().setAutoRead(true);
        client.close().sync();
        t = awaitTable(x -> row(x, "TIME-WAIT", clientAddress, SERVER) != null
                && row(x, "ESTABLISHED", SERVER, clientAddress) == null);
        ConnectionInfo tw = row(t, "TIME-WAIT", clientAddress, SERVER);
        assertThat(tw.timer()).isEqualTo("timewait");
        assertThat(tw.timerNanos()).isPositive();
        assertThat(tw.sendQueue()).isZero();
        assertThat(t).filteredOn(r -> r.remoteAddress() != null && r.remoteAddress().equals(clientAddress))
                .as("the server's side is gone").isEmpty();
    }

    @Test
    void aChannelBeforeConnectHasNoInfoAndAForeignLoopIsRefused() throws Exception {
        UserTcpChannel ch = new UserTcpChannel();
        group.next().register(ch).sync();
        assertThat(ch.eventLoop().submit(ch::tcpInfo).get(10, TimeUnit.SECONDS)).isNull();
        ch.close().sync();

        EventLoopGroup nio = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        try {
            assertThatThrownBy(() -> UserTcp.connections(nio.next()).get(10, TimeUnit.SECONDS))
                    .isInstanceOf(ExecutionException.class).cause()
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("not a live usertcp event loop");
            assertThat(UserTcp.linkName(nio.next())).isNull();
        } finally {
            nio.shutdownGracefully(0, 5, TimeUnit.SECONDS).sync();
        }
        assertThat(UserTcp.linkName(server.eventLoop())).isEqualTo("loopback");
    }

    @Test
    void udpSocketsShowWhatWaitsUnread() throws Exception {
        Channel quiet = new Bootstrap().group(group).channel(UserUdpChannel.class)
                .option(ChannelOption.AUTO_READ, false).handler(new ChannelInboundHandlerAdapter())
                .bind(new InetSocketAddress("127.0.0.1", 9)).sync().channel();
        Channel sender = new Bootstrap().group(group).channel(UserUdpChannel.class)
                .handler(new ChannelInboundHandlerAdapter()).bind(0).sync().channel();
        sender.writeAndFlush(new DatagramPacket(Unpooled.wrappedBuffer(new byte[100]),
                new InetSocketAddress("127.0.0.1", 9))).sync();
        List<ConnectionInfo> t = awaitTable(x -> x.stream().anyMatch(r -> r.protocol().equals("udp")
                && r.localAddress().getPort() == 9 && r.receiveQueue() >= 100));
        ConnectionInfo u = t.stream().filter(r -> r.protocol().equals("udp") && r.localAddress().getPort() == 9)
                .findFirst().orElseThrow();
        assertThat(u.state()).isEqualTo("UNCONNECTED");
        assertThat(u.remoteAddress()).isNull();
        assertThat(t).filteredOn(r -> r.protocol().equals("udp")).hasSize(2);
        assertThat(t.indexOf(u)).as("TCP rows first").isGreaterThan(0);
        quiet.close().sync();
        sender.close().sync();
        assertThat(table()).filteredOn(r -> r.protocol().equals("udp")).isEmpty();
    }

    @Test
    void theMBeanReturnsTheTableAsTextAndAsOpenData() throws Exception {
        Channel client = connect();
        client.writeAndFlush(Unpooled.wrappedBuffer(new byte[1000])).sync();
        InetSocketAddress clientAddress = (InetSocketAddress) client.localAddress();
        awaitTable(x -> {
            ConnectionInfo s = row(x, "ESTABLISHED", SERVER, clientAddress);
            return s != null && s.receiveQueue() == 1000;
        });
        MBeanServer jmx = ManagementFactory.getPlatformMBeanServer();
        ObjectName name = UserTcpIoHandler.of(server.eventLoop()).mbeanName();
        assertThat(jmx.getMBeanInfo(name).getOperations()).extracting(o -> o.getName())
                .containsExactly("connections", "connectionTable");

        String text = (String) jmx.invoke(name, "connections", null, null);
        String[] lines = text.split("\n");
        assertThat(lines).as(text).hasSize(4);
        assertThat(lines[0]).startsWith("Netid State").contains("Recv-Q", "Send-Q", "Local Address:Port");
        assertThat(lines[1]).startsWith("tcp   LISTEN").contains("*:7");
        assertThat(text).contains("1000   0      127.0.0.1:7");

        TabularData tab = (TabularData) jmx.invoke(name, "connectionTable", null, null);
        assertThat(tab.size()).isEqualTo(3);
        // Rows sort by local port: the listener, its accepted connection (port 7), the client (an ephemeral port).
        CompositeData serverRow = tab.get(new Object[] {1});
        assertThat(tab.get(new Object[] {2}).get("localAddress")).isEqualTo("127.0.0.1:" + clientAddress.getPort());
        assertThat(serverRow.get("state")).isEqualTo("ESTABLISHED");
        assertThat(serverRow.get("receiveQueue")).isEqualTo(1000L);
        assertThat(serverRow.get("remoteAddress")).isEqualTo("127.0.0.1:" + clientAddress.getPort());
        assertThat((Long) serverRow.get("cwnd")).isPositive();
        assertThat(tab.get(new Object[] {0}).get("state")).isEqualTo("LISTEN");
        assertThat(tab.get(new Object[] {0}).get("remoteAddress")).isNull();
        assertThatThrownBy(() -> jmx.invoke(name, "nope", null, null))
                .hasMessageContaining("connections and connectionTable");
        client.close().sync();
    }
}
