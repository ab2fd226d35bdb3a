package io.usertcp.testsuite;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.usertcp.channel.UserTcpServerChannel;

import java.net.SocketAddress;
import java.util.concurrent.BlockingDeque;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingDeque;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * A blocking far end on the usertcp stack, standing in for the {@code java.net.ServerSocket} / {@code Socket}
 * pair that some testsuite classes use as the peer: a stack without a link cannot reach the kernel's
 * sockets. Its accepted connections allow half-closure, so {@link Peer#read()} returns -1 once the other
 * side shut its output down, while the peer can still write, as a kernel socket can.
 */
final class BlockingPeer implements AutoCloseable {
    private static final long TIMEOUT_SECONDS = 10;

    private final Channel server;
    private final BlockingQueue<Peer> accepted = new LinkedBlockingQueue<>();

    /** Listens on {@code local} on the testsuite's usertcp group. */
    BlockingPeer(SocketAddress local) throws InterruptedException {
        server = new ServerBootstrap().group(UserTcpSocketTestPermutation.INSTANCE.group())
                .channel(UserTcpServerChannel.class)
                .childOption(ChannelOption.ALLOW_HALF_CLOSURE, true)
                .childHandler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        Peer p = new Peer(ch);
                        ch.pipeline().addLast(p);
                        accepted.add(p);
                    }
                }).bind(local).sync().channel();
    }

    /** The bound address. */
    SocketAddress localAddress() {
        return server.localAddress();
    }

    /** The next accepted connection (as {@code ServerSocket.accept()}). */
    Peer accept() throws InterruptedException {
        Peer p = accepted.poll(TIMEOUT_SECONDS, TimeUnit.SECONDS);
        if (p == null) {
            throw new AssertionError("no connection accepted within " + TIMEOUT_SECONDS + " s");
        }
        return p;
    }

    @Override
    public void close() {
        server.close().syncUninterruptibly();
    }

    /** One accepted connection, read a byte at a time as a socket's InputStream would be. */
    static final class Peer extends ChannelInboundHandlerAdapter {
        private static final int EOF = -1;
        private final Channel channel;
        private final BlockingDeque<Integer> in = new LinkedBlockingDeque<>();

        Peer(Channel channel) {
            this.channel = channel;
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ByteBuf b = (ByteBuf) msg;
            try {
                while (b.isReadable()) {
                    in.add((int) b.readUnsignedByte());
                }
            } finally {
                b.release();
            }
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
            if (evt == ChannelInputShutdownEvent.INSTANCE) {
                in.add(EOF);
            }
            ctx.fireUserEventTriggered(evt);
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            in.add(EOF);
        }

        /** The next byte, or -1 at end of input; fails after a timeout instead of blocking forever. */
        int read() throws InterruptedException {
            Integer b = in.pollFirst(TIMEOUT_SECONDS, TimeUnit.SECONDS);
            if (b == null) {
                throw new AssertionError("nothing read within " + TIMEOUT_SECONDS + " s");
            }
            if (b == EOF) {
                in.addFirst(EOF); // end of input stays the end
            }
            return b;
        }

        /** Writes and flushes {@code bytes}, waiting until they are in the stack. */
        void write(byte[] bytes) {
            channel.writeAndFlush(Unpooled.wrappedBuffer(bytes)).syncUninterruptibly();
        }

        /** Closes the connection. */
        void close() {
            channel.close().syncUninterruptibly();
        }
    }
}
