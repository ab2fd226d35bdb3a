package io.usertcp.channel;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.socket.DatagramPacket;
import io.usertcp.stack.StackConfig;
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
 * Empty datagrams through {@link UserUdpChannel} (issue #14; the {@code UdpSocket} layer has its own test): a
 * zero-length DatagramPacket, and an empty buffer written on a connected channel, arrive as zero-length
 * DatagramPackets from the right sender, in order with non-empty ones, over IPv4 and IPv6.
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
    void emptyDatagramsArriveAsZeroLengthPackets(String address) throws Exception {
        BlockingQueue<Got> got = new LinkedBlockingQueue<>();
        Channel rx = receiver(address, got);
        InetSocketAddress to = (InetSocketAddress) rx.localAddress();
        Channel tx = new Bootstrap().group(group).channel(UserUdpChannel.class)
                .handler(new SimpleChannelInboundHandler<DatagramPacket>() {
                    @Override
                    protected void channelRead0(ChannelHandlerContext ctx, DatagramPacket p) {
                    }
                }).bind(new InetSocketAddress(address, 0)).sync().channel();
        Channel connected = new Bootstrap().group(group).channel(UserUdpChannel.class)
                .handler(new SimpleChannelInboundHandler<DatagramPacket>() {
                    @Override
                    protected void channelRead0(ChannelHandlerContext ctx, DatagramPacket p) {
                    }
                }).connect(to).sync().channel();
        try {
            tx.writeAndFlush(new DatagramPacket(Unpooled.EMPTY_BUFFER, to)).sync();
            tx.writeAndFlush(new DatagramPacket(Unpooled.wrappedBuffer(new byte[] {1, 2, 3}), to)).sync();
            tx.writeAndFlush(new DatagramPacket(Unpooled.buffer(0), to)).sync();
            connected.writeAndFlush(Unpooled.EMPTY_BUFFER).sync();
            InetSocketAddress from = (InetSocketAddress) tx.localAddress();
            InetSocketAddress fromConnected = (InetSocketAddress) connected.localAddress();
            assertThat(got.poll(5, TimeUnit.SECONDS)).isEqualTo(new Got(0, from));
            assertThat(got.poll(5, TimeUnit.SECONDS)).isEqualTo(new Got(3, from));
            assertThat(got.poll(5, TimeUnit.SECONDS)).isEqualTo(new Got(0, from));
            Got last = got.poll(5, TimeUnit.SECONDS);
            assertThat(last).isNotNull();
            assertThat(last.length()).isZero();
            assertThat(last.sender().getPort()).isEqualTo(fromConnected.getPort());
            assertThat(got.poll(200, TimeUnit.MILLISECONDS)).as("nothing more").isNull();
        } finally {
            connected.close().sync();
            tx.close().sync();
            rx.close().sync();
        }
    }
}
