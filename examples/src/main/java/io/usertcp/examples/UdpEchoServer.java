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
import io.usertcp.link.TapConfig;
import io.usertcp.stack.StackConfig;

import java.util.concurrent.TimeUnit;

/**
 * A UDP echo server (RFC 862) on the usertcp stack over a Linux TAP device: every datagram goes back to its
 * sender. The arguments and defaults are those of {@link EchoServer}
 * ({@code [tap-device] [kernel-address/prefix] [stack-address] [port]}, port 7), and so are root, non-root and
 * {@code usertcp.netns} handling. Datagrams of any size up to 65507 bytes are echoed (larger than the MTU they
 * travel as IPv4 fragments).
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
    static int run(String[] args) {
        if (args.length > 4 || (args.length > 0 && (args[0].equals("-h") || args[0].equals("--help")))) {
            System.err.println(Main.USAGE);
            return args.length > 4 ? 2 : 0;
        }
        String tap = EchoServer.arg(args, 0, EchoServer.DEFAULT_TAP);
        String kernelAddress = EchoServer.arg(args, 1, EchoServer.DEFAULT_KERNEL_ADDRESS);
        String stackAddress = EchoServer.arg(args, 2, EchoServer.DEFAULT_STACK_ADDRESS);
        int port;
        try {
            port = Integer.parseInt(EchoServer.arg(args, 3, String.valueOf(DEFAULT_PORT)));
        } catch (NumberFormatException e) {
            port = -1;
        }
        if (port < 1 || port > 65535) {
            System.err.println("bad port '" + args[3] + "': use 1..65535");
            return 2;
        }
        int slash = kernelAddress.indexOf('/');
        if (slash < 0) {
            System.err.println("the kernel address needs a prefix length, e.g. " + EchoServer.DEFAULT_KERNEL_ADDRESS
                    + ": '" + kernelAddress + "'");
            return 2;
        }
        String stackCidr = stackAddress.contains("/") ? stackAddress : stackAddress + kernelAddress.substring(slash);
        String netns = EchoServer.netns();
        boolean root = EchoServer.isRoot();

        StackConfig config;
        try {
            TapConfig.Builder link = TapConfig.builder(tap).namespace(netns);
            if (root) {
                link.kernelAddress(kernelAddress);
            }
            config = StackConfig.builder().link(link.build()).address(stackCidr).build();
        } catch (IllegalArgumentException e) {
            System.err.println(e.getMessage());
            return 2;
        }

        EventLoopGroup group;
        try {
            group = new MultiThreadIoEventLoopGroup(1, UserTcpIoHandler.newFactory(config));
        } catch (RuntimeException e) {
            System.err.println("usertcp: cannot " + (root ? "create" : "attach to") + " TAP device " + tap + ": "
                    + EchoServer.describe(e));
            if (!root) {
                System.err.println("Run as root, or create the device once for your user:");
                System.err.println("  sudo ip tuntap add dev " + tap + " mode tap user $USER");
                System.err.println("  sudo ip addr add " + kernelAddress + " dev " + tap);
                System.err.println("  sudo ip link set " + tap + " up");
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

        String where = tap + (netns != null ? " in netns " + netns : "")
                + (root ? ", kernel side " + kernelAddress : ", attached; kernel side not configured");
        System.out.println("usertcp UDP echo server listening on " + stackCidr.substring(0, stackCidr.indexOf('/'))
                + ":" + port + " (" + where + ")");
        System.out.flush();

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
