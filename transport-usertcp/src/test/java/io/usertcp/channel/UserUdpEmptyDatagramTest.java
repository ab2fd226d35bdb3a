package io.usertcp.channel;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.socket.DatagramPacket;
import io.usertcp.stack.StackConfig;
import io.usertcp.udp.UdpSocket;
import io.usertcp.wire.IpAddress;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.net.InetSocketAddress;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Empty datagrams through {@link UserUdpChannel} (issue #14; the {@code UdpSocket} layer has its own test): one
 * received is read as a zero-length DatagramPacket from its sender, in order with non-empty ones, over IPv4 and
 * IPv6; one written is not sent and the write succeeds, as with Netty's NIO and epoll datagram channels. (Netty's
 * {@code testReceiveEmptyDatagrams} with a kernel sender runs in it-tests' {@code CrossDatagramUnicastTest}.)
 */
class UserUdpEmptyDatagramTest {
    private static EventLoopGroup group;

    @BeforeAll
    static void start() {
        group = new MultiThreadIoEventLoopGroup(1, UserTcpIoHandler.newFactory(
                StackConfig.builder().address("198.18.0.2/24").address("fd00:198::2/64").build()));
    }

    @AfterAll
    static void stop() throws Exception {
        group.shutdownGracefully(0, 5, TimeUnit.SECONDS).sync();
    }

    /** What a receiver got: the length and sender of each datagram. */
    private record Got(int length, InetSocketAddress sender) {
    }

    private static Channel receiver(String address, BlockingQueue<Got> got) throws InterruptedException {
        return new Bootstrap().group(group).channel(UserUdpChannel.class)
                .handler(new SimpleChannelInboundHandler<DatagramPacket>() {
                    @Override
                    protected void channelRead0(ChannelHandlerContext ctx, DatagramPacket p) {
                        got.add(new Got(p.content().readableBytes(), p.sender()));
                    }
                }).bind(new InetSocketAddress(address, 0)).sync().channel();
    }

    @ParameterizedTest
    @ValueSource(strings = {"198.18.0.2", "fd00:198::2"})
    void anEmptyDatagramIsReadAsAZeroLengthPacketFromItsSender(String address) throws Exception {
        BlockingQueue<Got> got = new LinkedBlockingQueue<>();
        Channel rx = receiver(address, got);
        InetSocketAddress to = (InetSocketAddress) rx.localAddress();
        IpAddress ip = IpAddress.of(to.getAddress());
        EventLoop loop = rx.eventLoop();
        // The sender is a socket of the stack's UDP layer itself: UserUdpChannel, like NIO and epoll, does not send
        // empty datagrams (below), and a kernel socket cannot reach a stack without a link.
        UdpSocket tx = loop.submit(() -> {
            UdpSocket s = UserTcpIoHandler.of(loop).stack().udp().open();
            s.bind(ip, 0);
            s.send(Unpooled.EMPTY_BUFFER, ip, to.getPort());
            s.send(Unpooled.wrappedBuffer(new byte[] {1, 2, 3}), ip, to.getPort());
            s.send(Unpooled.buffer(0), ip, to.getPort());
            return s;
        }).get();
        try {
            InetSocketAddress from = new InetSocketAddress(to.getAddress(), loop.submit(tx::localPort).get());
            assertThat(got.poll(5, TimeUnit.SECONDS)).isEqualTo(new Got(0, from));
            assertThat(got.poll(5, TimeUnit.SECONDS)).isEqualTo(new Got(3, from));
            assertThat(got.poll(5, TimeUnit.SECONDS)).isEqualTo(new Got(0, from));
            assertThat(got.poll(200, TimeUnit.MILLISECONDS)).as("nothing more").isNull();
        } finally {
            loop.submit(tx::close).get();
            rx.close().sync();
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"198.18.0.2", "fd00:198::2"})
    void writingAnEmptyDatagramSucceedsAndSendsNothingAsNioAndEpollDo(String address) throws Exception {
        BlockingQueue<Got> got = new LinkedBlockingQueue<>();
        Channel rx = receiver(address, got);
        InetSocketAddress to = (InetSocketAddress) rx.localAddress();
        Channel tx = receiver(address, new LinkedBlockingQueue<>());
        Channel connected = new Bootstrap().group(group).channel(UserUdpChannel.class)
                .handler(new SimpleChannelInboundHandler<DatagramPacket>() {
                    @Override
                    protected void channelRead0(ChannelHandlerContext ctx, DatagramPacket p) {
                    }
                }).connect(to).sync().channel();
        try {
            assertThat(tx.writeAndFlush(new DatagramPacket(Unpooled.EMPTY_BUFFER, to)).sync().isSuccess()).isTrue();
            assertThat(connected.writeAndFlush(Unpooled.buffer(0)).sync().isSuccess()).isTrue();
            tx.writeAndFlush(new DatagramPacket(Unpooled.wrappedBuffer(new byte[] {1, 2, 3}), to)).sync();
            assertThat(got.poll(5, TimeUnit.SECONDS)).isEqualTo(new Got(3, (InetSocketAddress) tx.localAddress()));
            assertThat(got.poll(200, TimeUnit.MILLISECONDS)).as("nothing more").isNull();
        } finally {
            connected.close().sync();
            tx.close().sync();
            rx.close().sync();
        }
    }
}
