package io.usertcp.testsuite;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.netty.channel.AdaptiveRecvByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.channel.ChannelConfig;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.FixedRecvByteBufAllocator;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.channel.socket.ChannelInputShutdownReadComplete;
import io.netty.channel.socket.SocketChannel;
import io.netty.util.CharsetUtil;
import io.usertcp.channel.UserTcpChannel;
import io.usertcp.channel.UserTcpServerChannel;
import io.usertcp.tcp.TcpConnection;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.ToIntFunction;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The channel options of issue #4 and the half-close contract, on the same loopback stack as the
 * testsuite: every listed option is accepted and read back, buffer sizes reach the stack's connection
 * (also when ServerBootstrap sets them on a child before registering it), unknown options are refused, and
 * a FIN gives ChannelInputShutdownEvent then exactly one ChannelInputShutdownReadComplete with
 * ALLOW_HALF_CLOSURE, or closes the channel without.
 */
@Timeout(30)
class UserTcpChannelOptionsTest {
    private static final EventLoopGroup GROUP = UserTcpSocketTestPermutation.INSTANCE.group();

    private static Map<ChannelOption<?>, Object> socketOptions() {
        Map<ChannelOption<?>, Object> m = new LinkedHashMap<>();
        m.put(ChannelOption.SO_RCVBUF, 123_456);
        m.put(ChannelOption.SO_SNDBUF, 65_432);
        m.put(ChannelOption.TCP_NODELAY, false);
        m.put(ChannelOption.SO_KEEPALIVE, true);
        m.put(ChannelOption.SO_LINGER, 0);
        m.put(ChannelOption.SO_REUSEADDR, true);
        m.put(ChannelOption.ALLOW_HALF_CLOSURE, true);
        m.put(ChannelOption.AUTO_READ, false);
        m.put(ChannelOption.AUTO_CLOSE, false);
        m.put(ChannelOption.WRITE_BUFFER_WATER_MARK, new WriteBufferWaterMark(1024, 4096));
        m.put(ChannelOption.CONNECT_TIMEOUT_MILLIS, 1234);
        m.put(ChannelOption.ALLOCATOR, ByteBufAllocator.DEFAULT);
        m.put(ChannelOption.RCVBUF_ALLOCATOR, new FixedRecvByteBufAllocator(2048));
        return m;
    }

    private static Map<ChannelOption<?>, Object> serverOptions() {
        Map<ChannelOption<?>, Object> m = new LinkedHashMap<>();
        m.put(ChannelOption.SO_BACKLOG, 17);
        m.put(ChannelOption.SO_RCVBUF, 222_222);
        m.put(ChannelOption.SO_REUSEADDR, false);
        m.put(ChannelOption.AUTO_READ, false);
        m.put(ChannelOption.ALLOCATOR, ByteBufAllocator.DEFAULT);
        m.put(ChannelOption.RCVBUF_ALLOCATOR, new AdaptiveRecvByteBufAllocator());
        return m;
    }

    @SuppressWarnings("unchecked")
    private static void assertAllSetAndReadBack(ChannelConfig config, Map<ChannelOption<?>, Object> options) {
        for (Map.Entry<ChannelOption<?>, Object> e : options.entrySet()) {
            ChannelOption<Object> o = (ChannelOption<Object>) e.getKey();
            assertThat(config.setOption(o, e.getValue())).as("setOption(%s)", o).isTrue();
            assertThat(config.getOption(o)).as("getOption(%s)", o).isEqualTo(e.getValue());
            assertThat(config.getOptions()).as("getOptions() lists %s", o).containsKey(o);
        }
    }

    @Test
    void everyListedOptionIsAcceptedAndReadBack() {
        assertAllSetAndReadBack(new UserTcpChannel().config(), socketOptions());
        assertAllSetAndReadBack(new UserTcpServerChannel().config(), serverOptions());
    }

    @Test
    void unknownOptionsAreRefused() {
        ChannelOption<Integer> made = ChannelOption.valueOf("usertcp.test.notAnOption");
        for (ChannelConfig config : new ChannelConfig[] {new UserTcpChannel().config(),
                new UserTcpServerChannel().config()}) {
            assertThat(config.setOption(made, 1)).isFalse();
            assertThat(config.getOption(made)).isNull();
            assertThat(config.setOption(ChannelOption.IP_MULTICAST_TTL, 3)).isFalse();
            assertThat(config.setOption(ChannelOption.TCP_FASTOPEN_CONNECT, true)).isFalse();
        }
    }

    @Test
    void tcpNoDelayIsOnByDefault() {
        assertThat(new UserTcpChannel().config().isTcpNoDelay()).isTrue();
        assertThat(new UserTcpChannel().config().getOption(ChannelOption.TCP_NODELAY)).isTrue();
    }

    private static int onLoop(Channel ch, ToIntFunction<TcpConnection> f) throws Exception {
        TcpConnection c = ((UserTcpChannel) ch).connection();
        return ch.eventLoop().submit(() -> f.applyAsInt(c)).get(10, TimeUnit.SECONDS);
    }

    @Test
    void bufferSizesReachTheConnection() throws Exception {
        CompletableFuture<Channel> child = new CompletableFuture<>();
        Channel server = new ServerBootstrap().group(GROUP).channel(UserTcpServerChannel.class)
                .option(ChannelOption.SO_RCVBUF, 300_000)               // inherited by accepted children
                .childOption(ChannelOption.SO_SNDBUF, 200_000)           // set before the child is registered
                .childHandler(new ChannelInboundHandlerAdapter() {
                    @Override
                    public void channelActive(ChannelHandlerContext ctx) {
                        child.complete(ctx.channel());
                    }
                }).bind(UserTcpSocketTestPermutation.newSocketAddress()).sync().channel();
        Channel client = new Bootstrap().group(GROUP).channel(UserTcpChannel.class)
                .option(ChannelOption.SO_RCVBUF, 100_000)
                .option(ChannelOption.SO_SNDBUF, 50_000)
                .handler(new ChannelInboundHandlerAdapter())
                .connect(server.localAddress()).sync().channel();
        try {
            Channel accepted = child.get(10, TimeUnit.SECONDS);
            assertThat(onLoop(accepted, TcpConnection::receiveBufferSize)).isEqualTo(300_000);
            assertThat(onLoop(accepted, TcpConnection::sendBufferSize)).isEqualTo(200_000);
            assertThat(((SocketChannel) accepted).config().isTcpNoDelay()).isTrue();
            assertThat(onLoop(client, TcpConnection::receiveBufferSize)).isEqualTo(100_000);
            assertThat(onLoop(client, TcpConnection::sendBufferSize)).isEqualTo(50_000);

            // Changed later from another thread: applied on the loop.
            ((SocketChannel) client).config().setSendBufferSize(70_000);
            assertThat(onLoop(client, TcpConnection::sendBufferSize)).isEqualTo(70_000);
            assertThat(((SocketChannel) client).config().getSendBufferSize()).isEqualTo(70_000);
        } finally {
            client.close().sync();
        }
        // A client with no buffer options: changing one later leaves the other at the stack's default.
        client = new Bootstrap().group(GROUP).channel(UserTcpChannel.class)
                .handler(new ChannelInboundHandlerAdapter())
                .connect(server.localAddress()).sync().channel();
        try {
            int defaultReceive = onLoop(client, TcpConnection::receiveBufferSize);
            assertThat(((SocketChannel) client).config().getReceiveBufferSize()).isEqualTo(defaultReceive);
            ((SocketChannel) client).config().setSendBufferSize(80_000);
            assertThat(onLoop(client, TcpConnection::sendBufferSize)).isEqualTo(80_000);
            assertThat(onLoop(client, TcpConnection::receiveBufferSize)).isEqualTo(defaultReceive);
        } finally {
            client.close().sync();
            server.close().sync();
        }
    }

    /** Records what a client sees, in order. */
    private static final class Recorder extends ChannelInboundHandlerAdapter {
        final BlockingQueue<String> events = new LinkedBlockingQueue<>();
        private final boolean autoRead;

        Recorder(boolean autoRead) {
            this.autoRead = autoRead;
        }

        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            if (!autoRead) {
                ctx.read(); // one read: the FIN must still be reported (as epoll reports EPOLLRDHUP)
            }
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ByteBuf b = (ByteBuf) msg;
            if (b.isReadable()) {
                events.add("read:" + b.toString(CharsetUtil.US_ASCII));
            }
            b.release();
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
            if (evt == ChannelInputShutdownEvent.INSTANCE) {
                events.add("inputShutdown");
            } else if (evt == ChannelInputShutdownReadComplete.INSTANCE) {
                events.add("inputShutdownReadComplete");
            }
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            events.add("inactive");
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            events.add("exception:" + cause);
        }

        /** The events up to and including {@code last}, waiting for it. */
        List<String> until(String last) throws InterruptedException {
            List<String> got = new ArrayList<>();
            for (;;) {
                String e = events.poll(10, TimeUnit.SECONDS);
                assertThat(e).as("events so far: %s", got).isNotNull();
                got.add(e);
                if (e.equals(last)) {
                    return got;
                }
            }
        }
    }

    /** A server whose children write "x" then shut their output down (FIN), and collect what they read. */
    private static Channel finSendingServer(BlockingQueue<String> serverRead) throws InterruptedException {
        return new ServerBootstrap().group(GROUP).channel(UserTcpServerChannel.class)
                .childOption(ChannelOption.ALLOW_HALF_CLOSURE, true)
                .childHandler(new ChannelInboundHandlerAdapter() {
                    @Override
                    public void channelActive(ChannelHandlerContext ctx) {
                        ctx.writeAndFlush(Unpooled.copiedBuffer("x", CharsetUtil.US_ASCII))
                                .addListener(f -> ((SocketChannel) ctx.channel()).shutdownOutput());
                    }

                    @Override
                    public void channelRead(ChannelHandlerContext ctx, Object msg) {
                        ByteBuf b = (ByteBuf) msg;
                        serverRead.add(b.toString(CharsetUtil.US_ASCII));
                        b.release();
                    }
                }).bind(UserTcpSocketTestPermutation.newSocketAddress()).sync().channel();
    }

    @ParameterizedTest(name = "autoRead={0}")
    @ValueSource(booleans = {true, false})
    void finWithHalfClosureGivesShutdownEventThenOneReadComplete(boolean autoRead) throws Exception {
        BlockingQueue<String> serverRead = new LinkedBlockingQueue<>();
        Channel server = finSendingServer(serverRead);
        Recorder r = new Recorder(autoRead);
        Channel client = new Bootstrap().group(GROUP).channel(UserTcpChannel.class)
                .option(ChannelOption.ALLOW_HALF_CLOSURE, true)
                .option(ChannelOption.AUTO_READ, autoRead)
                .handler(r).connect(server.localAddress()).sync().channel();
        try {
            assertThat(r.until("inputShutdownReadComplete"))
                    .containsExactly("read:x", "inputShutdown", "inputShutdownReadComplete");
            // Half-open: the client stays active, reports input shut down, and can still send.
            assertThat(client.isActive()).isTrue();
            assertThat(((SocketChannel) client).isInputShutdown()).isTrue();
            assertThat(((SocketChannel) client).isOutputShutdown()).isFalse();
            client.writeAndFlush(Unpooled.copiedBuffer("y", CharsetUtil.US_ASCII)).sync();
            assertThat(serverRead.poll(10, TimeUnit.SECONDS)).isEqualTo("y");
            // Asking again reports nothing more.
            client.read();
            assertThat(r.events.poll(200, TimeUnit.MILLISECONDS)).isNull();
        } finally {
            client.close().sync();
            server.close().sync();
        }
        assertThat(r.until("inactive")).containsExactly("inactive");
    }

    @ParameterizedTest(name = "autoRead={0}")
    @ValueSource(booleans = {true, false})
    void finWithoutHalfClosureClosesTheChannel(boolean autoRead) throws Exception {
        Channel server = finSendingServer(new LinkedBlockingQueue<>());
        Recorder r = new Recorder(autoRead);
        Channel client = new Bootstrap().group(GROUP).channel(UserTcpChannel.class)
                .option(ChannelOption.AUTO_READ, autoRead)
                .handler(r).connect(server.localAddress()).sync().channel();
        try {
            assertThat(r.until("inactive")).containsExactly("read:x", "inactive");
            assertThat(client.closeFuture().await(10, TimeUnit.SECONDS)).isTrue();
        } finally {
            client.close().sync();
            server.close().sync();
        }
    }
}
