package io.usertcp.it;

import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.socket.DatagramPacket;
import io.usertcp.channel.UserUdpChannel;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Empty datagrams from the kernel's UDP into a {@link UserUdpChannel} across the TAP device (issue #14): what Netty's
 * {@code DatagramUnicastTest.testReceiveEmptyDatagrams} checks, with its sender, a JDK {@code DatagramSocket}, made in
 * the namespace: each empty datagram is read as a zero-length DatagramPacket from that socket, in order with a
 * non-empty one.
 */
@Timeout(60)
class CrossEmptyDatagramTest {

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void emptyDatagramsFromTheKernelAreReadAsZeroLengthPackets(boolean v6) throws Throwable {
        CrossTransport x = CrossTransport.get();
        BlockingQueue<DatagramPacket> got = new LinkedBlockingQueue<>();
        Channel rx = new Bootstrap().group(x.usertcpGroup()).channel(UserUdpChannel.class)
                .handler(new SimpleChannelInboundHandler<DatagramPacket>(false) {
                    @Override
                    protected void channelRead0(ChannelHandlerContext ctx, DatagramPacket p) {
                        got.add(p);
                    }
                }).bind(new InetSocketAddress(v6 ? CrossTransport.STACK6 : CrossTransport.STACK4, 0)).sync().channel();
        InetSocketAddress to = (InetSocketAddress) rx.localAddress();
        String kernel = v6 ? CrossTransport.KERNEL6 : CrossTransport.KERNEL4;
        DatagramSocket tx = x.inNamespace(() -> new DatagramSocket(new InetSocketAddress(InetAddress.getByName(kernel), 0)));
        try {
            x.inNamespace(() -> {
                tx.send(new java.net.DatagramPacket(new byte[0], 0, to));
                tx.send(new java.net.DatagramPacket(new byte[] {1, 2, 3}, 3, to));
                tx.send(new java.net.DatagramPacket(new byte[0], 0, to));
                return null;
            });
            InetSocketAddress from = (InetSocketAddress) tx.getLocalSocketAddress();
            int[] lengths = new int[3];
            for (int i = 0; i < 3; i++) {
                DatagramPacket p = got.poll(10, TimeUnit.SECONDS);
                assertThat(p).as("datagram %d", i).isNotNull();
                try {
                    lengths[i] = p.content().readableBytes();
                    assertThat(p.sender()).isEqualTo(from);
                } finally {
                    p.release();
                }
            }
            assertThat(lengths).containsExactly(0, 3, 0);
            assertThat(got.poll(200, TimeUnit.MILLISECONDS)).as("nothing more").isNull();
        } finally {
            tx.close();
            rx.close().sync();
        }
    }
}
