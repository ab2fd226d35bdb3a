package io.usertcp.examples;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.usertcp.channel.UserTcpChannel;
import io.usertcp.channel.UserTcpIoHandler;
import io.usertcp.link.TapConfig;
import io.usertcp.stack.StackConfig;

import java.net.InetSocketAddress;
import java.util.concurrent.TimeUnit;

/**
 * The shape of Netty's echo client on usertcp: connects from the stack to an echo server on the kernel's
 * side of the TAP device ({@code socat TCP-LISTEN:7,fork,reuseaddr EXEC:cat}, say), sends a message and
 * sends back whatever returns, for a few seconds, then reports round trips per second.
 *
 * <p>Arguments: {@code [tap-device] [kernel-address/prefix] [stack-address] [port] [seconds] [size]}; the
 * server is the kernel address.
 */
public final class EchoClient {
    private EchoClient() {
    }

    static int run(String[] allArgs) throws Exception {
        CaptureOption capture;
        try {
            capture = CaptureOption.extract(allArgs);
        } catch (IllegalArgumentException e) {
            System.err.println(e.getMessage());
            return 2;
        }
        String[] args = capture.rest();
        String tap = args.length > 0 ? args[0] : EchoServer.DEFAULT_TAP;
        String kernel = args.length > 1 ? args[1] : EchoServer.DEFAULT_KERNEL_ADDRESS;
        String stack = args.length > 2 ? args[2] : EchoServer.DEFAULT_STACK_ADDRESS;
        int port = args.length > 3 ? Integer.parseInt(args[3]) : EchoServer.DEFAULT_PORT;
        int seconds = args.length > 4 ? Integer.parseInt(args[4]) : 5;
        int size = args.length > 5 ? Integer.parseInt(args[5]) : 1;
        int slash = kernel.indexOf('/');
        if (slash < 0) {
            System.err.println("the kernel address needs a prefix length, e.g. " + EchoServer.DEFAULT_KERNEL_ADDRESS);
            return 2;
        }
        String netns = System.getProperty("usertcp.netns", System.getenv("USERTCP_NETNS"));
        TapConfig.Builder link = TapConfig.builder(tap).namespace(netns);
        if (EchoServer.isRoot()) {
            link.kernelAddress(kernel);
        }
        StackConfig config = StackConfig.builder().link(link.build()).capture(capture.file())
                .address(stack.contains("/") ? stack : stack + kernel.substring(slash)).build();
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, UserTcpIoHandler.newFactory(config));
        try {
            Inspect.install(group, System.out);
            long[] roundTrips = new long[1];
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
            Channel ch = new Bootstrap().group(group).channel(UserTcpChannel.class)
                    .handler(new ChannelInboundHandlerAdapter() {
                        private int pending;

                        @Override
                        public void channelActive(ChannelHandlerContext ctx) {
                            ByteBuf first = ctx.alloc().buffer(size);
                            first.writeZero(size);
                            pending = size;
                            ctx.writeAndFlush(first);
                        }

                        @Override
                        public void channelRead(ChannelHandlerContext ctx, Object msg) {
                            ByteBuf b = (ByteBuf) msg;
                            pending -= b.readableBytes();
                            ctx.write(b); // back it goes, as Netty's echo client does
                            if (pending <= 0) {
                                roundTrips[0]++;
                                pending += size;
                                if (System.nanoTime() - deadline > 0) {
                                    ctx.close();
                                }
                            }
                        }

                        @Override
                        public void channelReadComplete(ChannelHandlerContext ctx) {
                            ctx.flush();
                        }

                        @Override
                        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
                            System.err.println("echo client: " + cause);
                            ctx.close();
                        }
                    })
                    .connect(new InetSocketAddress(kernel.substring(0, slash), port)).sync().channel();
            ch.closeFuture().sync();
            System.out.printf("usertcp echo client: %d round trips of %d bytes in %d s (%.0f/s)%n",
                    roundTrips[0], size, seconds, roundTrips[0] / (double) seconds);
            return roundTrips[0] > 0 ? 0 : 1;
        } finally {
            group.shutdownGracefully(0, 5, TimeUnit.SECONDS).sync();
        }
    }
}
