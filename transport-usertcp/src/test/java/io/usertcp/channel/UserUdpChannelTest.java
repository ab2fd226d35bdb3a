package io.usertcp.channel;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.FixedRecvByteBufAllocator;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.socket.DatagramChannel;
import io.netty.channel.socket.DatagramPacket;
import io.usertcp.stack.StackConfig;
import io.usertcp.wire.Udp;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.net.BindException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.PortUnreachableException;
import java.net.SocketException;
import java.nio.channels.NotYetConnectedException;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** {@link UserUdpChannel} with Bootstrap on one stack without a link: everything goes through its loopback. */
class UserUdpChannelTest {
    private static final String STACK = "198.18.0.2";
    private static EventLoopGroup group;
    private final List<Channel> channels = new ArrayList<>();

    @BeforeAll
    static void start() {
        StackConfig cfg = StackConfig.builder().address(STACK + "/24").build();
        group = new MultiThreadIoEventLoopGroup(1, UserTcpIoHandler.newFactory(cfg));
    }

    @AfterAll
    static void stop() throws Exception {
        group.shutdownGracefully(0, 5, TimeUnit.SECONDS).sync();
    }

    @AfterEach
    void closeChannels() throws Exception {
        for (Channel c : channels) {
            c.close().sync();
        }
    }

    /** Echoes every datagram to its sender. */
    @ChannelHandler.Sharable
    static final class Echo extends SimpleChannelInboundHandler<DatagramPacket> {
        @Override
        protected void channelRead0(ChannelHandlerContext ctx, DatagramPacket p) {
            ctx.writeAndFlush(new DatagramPacket(p.content().retain(), p.sender()));
        }
    }

    /** Collects what a channel reads (copied) and what it is told of errors. */
    static final class Collect extends SimpleChannelInboundHandler<DatagramPacket> {
        final BlockingQueue<DatagramPacket> packets = new LinkedBlockingQueue<>();
        final CompletableFuture<Throwable> error = new CompletableFuture<>();

        @Override
        protected void channelRead0(ChannelHandlerContext ctx, DatagramPacket p) {
            packets.add(p.replace(Unpooled.copiedBuffer(p.content())));
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            error.complete(cause);
        }

        byte[] next() throws InterruptedException {
            DatagramPacket p = packets.poll(10, TimeUnit.SECONDS);
            assertThat(p).as("a datagram within 10 s").isNotNull();
            byte[] a = new byte[p.content().readableBytes()];
            p.content().readBytes(a);
            p.release();
            return a;
        }
    }

    private Bootstrap bootstrap(ChannelHandler handler) {
        return new Bootstrap().group(group).channel(UserUdpChannel.class)
                .option(ChannelOption.RCVBUF_ALLOCATOR, new FixedRecvByteBufAllocator(65536))
                .handler(handler);
    }

    private Channel keep(Channel c) {
        channels.add(c);
        return c;
    }

    private Channel echoServer() throws Exception {
        return keep(bootstrap(new Echo()).bind(new InetSocketAddress(STACK, 0)).sync().channel());
    }

    @Test
    void echoesDatagramsOfEverySize() throws Exception {
        Channel server = echoServer();
        InetSocketAddress to = (InetSocketAddress) server.localAddress();
        assertThat(server.isActive()).isTrue();
        assertThat(to.getPort()).isPositive();
        Collect got = new Collect();
        Channel client = keep(bootstrap(got).bind(new InetSocketAddress("127.0.0.1", 0)).sync().channel());
        Random random = new Random(7);
        for (int size : new int[] {1, 100, 1472, 1473, 8000, 65000, Udp.MAX_IPV4_PAYLOAD}) {
            byte[] data = new byte[size];
            random.nextBytes(data);
            client.writeAndFlush(new DatagramPacket(Unpooled.wrappedBuffer(data), to)).sync();
            assertThat(got.next()).isEqualTo(data);
        }
        assertThat(got.error).isNotDone();
    }

    @Test
    void senderAndRecipientAddresses() throws Exception {
        Collect server = new Collect();
        Channel s = keep(bootstrap(server).bind(new InetSocketAddress(STACK, 0)).sync().channel());
        Channel c = keep(bootstrap(new Collect()).bind(new InetSocketAddress(STACK, 0)).sync().channel());
        c.writeAndFlush(new DatagramPacket(Unpooled.wrappedBuffer(new byte[] {1}),
                (InetSocketAddress) s.localAddress())).sync();
        DatagramPacket p = server.packets.poll(10, TimeUnit.SECONDS);
        assertThat(p).isNotNull();
        assertThat(p.sender()).isEqualTo(c.localAddress());
        assertThat(p.recipient()).isEqualTo(s.localAddress());
        p.release();
    }

    @Test
    void connectFiltersDisconnectForgets() throws Exception {
        Channel server = echoServer();
        Collect got = new Collect();
        DatagramChannel client = (DatagramChannel) keep(bootstrap(got).connect(server.localAddress()).sync().channel());
        assertThat(client.isActive()).isTrue();
        assertThat(client.isConnected()).isTrue();
        assertThat(client.remoteAddress()).isEqualTo(server.localAddress());
        assertThat(client.localAddress().getAddress()).isEqualTo(InetAddress.getByName(STACK));

        client.writeAndFlush(Unpooled.wrappedBuffer("plain".getBytes())).sync();
        assertThat(got.next()).isEqualTo("plain".getBytes());

        client.disconnect().sync();
        assertThat(client.isConnected()).isFalse();
        assertThat(client.isActive()).isTrue();
        assertThat(client.remoteAddress()).isNull();
        assertThat(client.localAddress()).isNotNull();
        ChannelFuture f = client.writeAndFlush(Unpooled.wrappedBuffer("plain".getBytes())).await();
        assertThat(f.cause()).isInstanceOf(NotYetConnectedException.class);
        client.connect(server.localAddress()).sync();
        client.writeAndFlush(Unpooled.wrappedBuffer("again".getBytes())).sync();
        assertThat(got.next()).isEqualTo("again".getBytes());
    }

    @Test
    void portUnreachableIsReportedToAConnectedChannel() throws Exception {
        Collect got = new Collect();
        Channel c = keep(bootstrap(got).connect(new InetSocketAddress(STACK, 9)).sync().channel());
        c.writeAndFlush(Unpooled.wrappedBuffer("anyone?".getBytes())).sync();
        assertThat(got.error.get(10, TimeUnit.SECONDS)).isInstanceOf(PortUnreachableException.class);
        assertThat(c.isOpen()).isTrue();
    }

    @Test
    void withoutAutoReadTheErrorFailsTheNextWrite() throws Exception {
        Channel c = keep(bootstrap(new Collect()).option(ChannelOption.AUTO_READ, false)
                .connect(new InetSocketAddress(STACK, 9)).sync().channel());
        c.writeAndFlush(Unpooled.wrappedBuffer("anyone?".getBytes())).sync();
        Throwable failure = null;
        for (int i = 0; i < 100 && failure == null; i++) {
            Thread.sleep(20);
            failure = c.writeAndFlush(Unpooled.wrappedBuffer("again".getBytes())).await().cause();
        }
        assertThat(failure).isInstanceOf(PortUnreachableException.class);
    }

    @Test
    void withoutAutoReadDatagramsWaitUpToSoRcvbuf() throws Exception {
        Collect got = new Collect();
        Channel r = keep(bootstrap(got).option(ChannelOption.AUTO_READ, false).option(ChannelOption.SO_RCVBUF, 3000)
                .bind(new InetSocketAddress(STACK, 0)).sync().channel());
        Channel c = keep(bootstrap(new Collect()).bind(new InetSocketAddress(STACK, 0)).sync().channel());
        for (int i = 0; i < 10; i++) {
            c.writeAndFlush(new DatagramPacket(Unpooled.wrappedBuffer(new byte[] {(byte) i}, new byte[999]),
                    (InetSocketAddress) r.localAddress())).sync();
        }
        Thread.sleep(200);
        assertThat(got.packets).isEmpty();
        long drops = r.eventLoop().submit(() -> ((UserUdpChannel) r).stack().stats().dropUdpReceiveBuffer).get();
        assertThat(drops).isGreaterThanOrEqualTo(7); // 3000 bytes hold two (1000 + 64 each), or three
        r.read(); // with AUTO_READ off one read() is one datagram, as with NIO and epoll
        assertThat(got.next()[0]).isEqualTo((byte) 0);
        assertThat(got.packets.poll(200, TimeUnit.MILLISECONDS)).isNull();
        r.read();
        assertThat(got.next()[0]).isEqualTo((byte) 1);
    }

    @Test
    void optionsAndBroadcast() throws Exception {
        Channel c = keep(bootstrap(new Collect()).option(ChannelOption.SO_RCVBUF, 12345)
                .option(ChannelOption.SO_SNDBUF, 23456).option(ChannelOption.IP_TOS, 0x10)
                .bind(new InetSocketAddress(0)).sync().channel());
        UserUdpChannelConfig cfg = (UserUdpChannelConfig) c.config();
        assertThat(cfg.getReceiveBufferSize()).isEqualTo(12345);
        assertThat(cfg.getOption(ChannelOption.SO_SNDBUF)).isEqualTo(23456);
        assertThat(cfg.getOption(ChannelOption.IP_TOS)).isEqualTo(0x10);
        assertThat(cfg.getOptions()).containsKeys(ChannelOption.SO_BROADCAST, ChannelOption.SO_RCVBUF,
                ChannelOption.AUTO_READ, ChannelOption.RCVBUF_ALLOCATOR);

        InetSocketAddress broadcast = new InetSocketAddress("198.18.0.255", 9);
        ChannelFuture f = c.writeAndFlush(new DatagramPacket(Unpooled.wrappedBuffer(new byte[1]), broadcast)).await();
        assertThat(f.cause()).isInstanceOf(SocketException.class).hasMessageContaining("SO_BROADCAST");
        cfg.setBroadcast(true);
        c.writeAndFlush(new DatagramPacket(Unpooled.wrappedBuffer(new byte[1]), broadcast)).sync();

        assertThat(((DatagramChannel) c).joinGroup(InetAddress.getByName("239.1.2.3")).await().cause())
                .isInstanceOf(UnsupportedOperationException.class).hasMessageContaining("multicast");
    }

    @Test
    void bindConflictAndActiveOnRegistration() throws Exception {
        Channel a = echoServer();
        int port = ((InetSocketAddress) a.localAddress()).getPort();
        assertThatThrownBy(() -> bootstrap(new Collect()).bind(new InetSocketAddress(STACK, port)).sync())
                .isInstanceOf(BindException.class);

        Collect got = new Collect();
        Channel unbound = keep(bootstrap(got).option(ChannelOption.DATAGRAM_CHANNEL_ACTIVE_ON_REGISTRATION, true)
                .register().sync().channel());
        assertThat(unbound.isActive()).isTrue();
        assertThat(unbound.localAddress()).isNull();
        unbound.writeAndFlush(new DatagramPacket(Unpooled.wrappedBuffer("auto".getBytes()),
                (InetSocketAddress) a.localAddress())).sync();
        assertThat(got.next()).isEqualTo("auto".getBytes());
        assertThat(((InetSocketAddress) unbound.localAddress()).getPort()).isPositive();
    }
}
