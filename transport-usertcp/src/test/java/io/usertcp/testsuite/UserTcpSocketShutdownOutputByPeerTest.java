package io.usertcp.testsuite;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.socket.DuplexChannel;
import io.netty.testsuite.transport.TestsuitePermutation;
import io.netty.testsuite.transport.socket.AbstractSocketShutdownOutputByPeerTest;
import io.netty.testsuite.transport.socket.SocketShutdownOutputByPeerTest;
import io.usertcp.channel.UserTcpChannel;

import java.net.SocketAddress;
import java.util.List;

/**
 * Netty's {@link SocketShutdownOutputByPeerTest} on usertcp. The testsuite's peer is a kernel {@code java.net.Socket},
 * which a stack without a link cannot reach; here the peer is a usertcp client on the same stack that allows
 * half-closure, driven through the same five calls (connect, write, shutdownOutput, close). The kernel socket as
 * the peer runs in it-tests' {@code CrossSocketShutdownOutputByPeerTest}.
 */
class UserTcpSocketShutdownOutputByPeerTest extends AbstractSocketShutdownOutputByPeerTest<UserTcpSocketShutdownOutputByPeerTest.Peer> {

    /** A client channel, made on connect (as a {@code Socket} is usable only once connected). */
    static final class Peer {
        private Channel channel;
    }

    @Override
    protected List<TestsuitePermutation.BootstrapFactory<ServerBootstrap>> newFactories() {
        return UserTcpSocketTestPermutation.INSTANCE.serverSocket();
    }

    @Override
    protected SocketAddress newSocketAddress() {
        return UserTcpSocketTestPermutation.newSocketAddress();
    }

    @Override
    protected Peer newSocket() {
        return new Peer();
    }

    @Override
    protected void connect(Peer s, SocketAddress address) {
        s.channel = new Bootstrap().group(UserTcpSocketTestPermutation.INSTANCE.group()).channel(UserTcpChannel.class)
                .option(ChannelOption.ALLOW_HALF_CLOSURE, true)
                .handler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                    }
                }).connect(address).syncUninterruptibly().channel();
    }

    @Override
    protected void write(Peer s, int data) {
        s.channel.writeAndFlush(Unpooled.wrappedBuffer(new byte[] {(byte) data})).syncUninterruptibly();
    }

    @Override
    protected void shutdownOutput(Peer s) {
        ((DuplexChannel) s.channel).shutdownOutput().syncUninterruptibly();
    }

    @Override
    protected void close(Peer s) {
        if (s.channel != null) {
            s.channel.close().syncUninterruptibly();
        }
    }
}
