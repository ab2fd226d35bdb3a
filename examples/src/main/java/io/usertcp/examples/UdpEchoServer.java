package io.usertcp.examples;

import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandler.Sharable;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.FixedRecvByteBufAllocator;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.socket.DatagramPacket;
import io.usertcp.channel.UserTcpIoHandler;
import io.usertcp.channel.UserUdpChannel;
import io.usertcp.stack.StackConfig;

import java.util.concurrent.TimeUnit;

/**
 * A UDP echo server (RFC 862) on the usertcp stack over a Linux TAP device: every datagram goes back to its
 * sender. The arguments and defaults are those of {@link EchoServer}
 * ({@code [tap-device] [kernel-address/prefix] [stack-address] [port]}, port 7), and so are root, non-root and
 * {@code usertcp.netns} handling, and the kernel and stack addresses may likewise be comma-separated lists of IPv4
 * and IPv6 addresses ({@link ServerArgs}). Datagrams of any size up to 65507 bytes are echoed (larger than the
 * MTU they travel as IPv4 or IPv6 fragments).
 */
public final class UdpEchoServer {

    static final int DEFAULT_PORT = 7;
    /** Receive buffers big enough for the largest UDP datagram (Netty's default of 2048 would cut longer ones). */
    private static final int MAX_DATAGRAM = 65536;

    private UdpEchoServer() {
    }

    public static void main(String[] args) {
        System.exit(run(args));
    }

    /** Runs the server until the process is stopped; returns the exit status when it cannot start. */
    static int run(String[] allArgs) {
        CaptureOption capture;
        LoopsOption loops;
        try {
            capture = CaptureOption.extract(allArgs);
            loops = LoopsOption.extract(capture.rest(), EchoServer.isRoot(), capture.file() != null);
        } catch (IllegalArgumentException e) {
            System.err.println(e.getMessage());
            return 2;
        }
        String[] args = loops.rest();
        if (args.length > 4 || (args.length > 0 && (args[0].equals("-h") || args[0].equals("--help")))) {
            System.err.println(Main.USAGE);
            return args.length > 4 ? 2 : 0;
        }
        ServerArgs parsed;
        try {
            parsed = ServerArgs.parse(args, DEFAULT_PORT);
        } catch (IllegalArgumentException e) {
            System.err.println(e.getMessage());
            return 2;
        }
        String tap = parsed.tap();
        int port = parsed.port();
        String netns = EchoServer.netns();
        boolean root = EchoServer.isRoot();

        StackConfig config;
        try {
            config = EchoServer.stackConfig(parsed, netns, root, capture.file());
        } catch (IllegalArgumentException e) {
            System.err.println(e.getMessage());
            return 2;
        }

        EventLoopGroup group;
        try {
            group = new MultiThreadIoEventLoopGroup(loops.loops(), UserTcpIoHandler.newFactory(config));
        } catch (RuntimeException e) {
            System.err.println("usertcp: cannot " + (root ? "create" : "attach to") + " TAP device " + tap + ": "
                    + EchoServer.describe(e));
            if (!root) {
                EchoServer.printManualSetup(parsed);
            }
            return 1;
        }

        ChannelFuture bind = new Bootstrap()
                .group(group)
                .channel(UserUdpChannel.class)
                .option(ChannelOption.RCVBUF_ALLOCATOR, new FixedRecvByteBufAllocator(MAX_DATAGRAM))
                .handler(new EchoHandler())
                .bind(port)
                .awaitUninterruptibly();
        if (!bind.isSuccess()) {
            System.err.println("usertcp: cannot bind UDP port " + port + ": " + EchoServer.describe(bind.cause()));
            group.shutdownGracefully(0, 5, TimeUnit.SECONDS).awaitUninterruptibly(10, TimeUnit.SECONDS);
            return 1;
        }
        Channel channel = bind.channel();
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            channel.close().awaitUninterruptibly(5, TimeUnit.SECONDS);
            group.shutdownGracefully(100, 5000, TimeUnit.MILLISECONDS).awaitUninterruptibly(10, TimeUnit.SECONDS);
        }, "usertcp-udp-echo-shutdown"));

        System.out.println("usertcp UDP echo server listening on " + parsed.listening() + " ("
                + EchoServer.where(parsed, netns, root) + EchoServer.loopsText(loops)
                + ")");
        System.out.flush();
        Inspect.install(group, System.out); // "ss" or "stats" on stdin, or kill -USR2: what the stack holds

        channel.closeFuture().awaitUninterruptibly();
        return 0;
    }

    /** Sends every datagram back to where it came from; works on any Netty datagram channel. */
    @Sharable
    public static final class EchoHandler extends SimpleChannelInboundHandler<DatagramPacket> {
        @Override
        protected void channelRead0(ChannelHandlerContext ctx, DatagramPacket packet) {
            ctx.write(new DatagramPacket(packet.content().retain(), packet.sender()));
        }

        @Override
        public void channelReadComplete(ChannelHandlerContext ctx) {
            ctx.flush();
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            // A datagram channel stays usable after an error (an ICMP error for one peer, a failed send).
            System.err.println("udp-echo-server: " + cause);
        }
    }
}
