package io.usertcp.examples;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioServerSocketChannel;

import java.net.InetSocketAddress;
import java.util.concurrent.TimeUnit;

/**
 * The same echo handler on Netty's NIO transport, that is on the kernel's TCP: the baseline the benchmark
 * ({@code bench/run.sh}) compares the usertcp echo server with. Like the usertcp server it uses one event
 * loop thread.
 */
public final class NioEchoServer {

    private NioEchoServer() {
    }

    public static void main(String[] args) {
        System.exit(run(args));
    }

    static int run(String[] args) {
        if (args.length != 2) {
            System.err.println(Main.USAGE);
            return 2;
        }
        int port;
        try {
            port = Integer.parseInt(args[1]);
        } catch (NumberFormatException e) {
            port = -1;
        }
        if (port < 0 || port > 65535) {
            System.err.println("bad port '" + args[1] + "': use 0..65535");
            return 2;
        }
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        ChannelFuture bind = new ServerBootstrap()
                .group(group)
                .channel(NioServerSocketChannel.class)
                .childHandler(new EchoServerHandler())
                .bind(new InetSocketAddress(args[0], port))
                .awaitUninterruptibly();
        if (!bind.isSuccess()) {
            System.err.println("nio: cannot listen on " + args[0] + ":" + port + ": " + EchoServer.describe(bind.cause()));
            group.shutdownGracefully(0, 5, TimeUnit.SECONDS).awaitUninterruptibly(10, TimeUnit.SECONDS);
            return 1;
        }
        Channel server = bind.channel();
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            server.close().awaitUninterruptibly(5, TimeUnit.SECONDS);
            group.shutdownGracefully(100, 5000, TimeUnit.MILLISECONDS).awaitUninterruptibly(10, TimeUnit.SECONDS);
        }, "nio-echo-shutdown"));
        InetSocketAddress local = (InetSocketAddress) server.localAddress();
        System.out.println("netty nio echo server listening on " + local.getAddress().getHostAddress()
                + ":" + local.getPort());
        System.out.flush();
        server.closeFuture().awaitUninterruptibly();
        return 0;
    }
}
