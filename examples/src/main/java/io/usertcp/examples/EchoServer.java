package io.usertcp.examples;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.usertcp.channel.UserTcpIoHandler;
import io.usertcp.channel.UserTcpServerChannel;
import io.usertcp.link.TapConfig;
import io.usertcp.stack.StackConfig;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * A TCP echo server on the usertcp stack over a Linux TAP device: the Java counterpart of the seed program
 * (a Go echo server over a TAP), with the same four arguments
 * {@code <tap-device> <kernel-address/prefix> <stack-address> <port>}. The kernel and stack addresses may be
 * comma-separated lists of IPv4 and IPv6 addresses ({@code 198.18.0.1/24,fd00:198::1/64 198.18.0.2,fd00:198::2});
 * see {@link ServerArgs}.
 *
 * <p>Run as root, it creates the TAP device and configures the kernel's side of it (link up, the kernel
 * address and with it the route to the stack). Run as any other user, it attaches to a TAP device that
 * already exists (for example one made with {@code ip tuntap add ... user $USER}) and configures nothing.
 *
 * <p>The system property {@code usertcp.netns} (or the environment variable {@code USERTCP_NETNS}) names a
 * network namespace to move the TAP device into; the kernel's side is then configured there.
 */
public final class EchoServer {

    static final String DEFAULT_TAP = "tap0";
    static final String DEFAULT_KERNEL_ADDRESS = "198.18.0.1/24";
    static final String DEFAULT_STACK_ADDRESS = "198.18.0.2";
    static final int DEFAULT_PORT = 7;

    private EchoServer() {
    }

    public static void main(String[] args) {
        System.exit(run(args));
    }

    /** Runs the server until the process is stopped; returns the exit status when it cannot start. */
    static int run(String[] args) {
        return serve(args, "echo server", DEFAULT_PORT, new EchoServerHandler());
    }

    /**
     * Opens the stack on a TAP device from the four seed arguments ({@link ServerArgs}) and serves {@code childHandler} on the
     * port until the process is stopped; returns the exit status when it cannot start. Shared by the
     * server examples.
     */
    static int serve(String[] allArgs, String label, int defaultPort, io.netty.channel.ChannelHandler childHandler) {
        CaptureOption capture;
        LoopsOption loops;
        try {
            capture = CaptureOption.extract(allArgs);
            loops = LoopsOption.extract(capture.rest(), isRoot(), capture.file() != null);
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
            parsed = ServerArgs.parse(args, defaultPort);
        } catch (IllegalArgumentException e) {
            System.err.println(e.getMessage());
            return 2;
        }
        String tap = parsed.tap();
        int port = parsed.port();
        String netns = netns();
        boolean root = isRoot();

        StackConfig config;
        try {
            config = stackConfig(parsed, netns, root, capture.file());
        } catch (IllegalArgumentException e) {
            System.err.println(e.getMessage());
            return 2;
        }

        EventLoopGroup group;
        try {
            // Opens the TAP device (and, as root, configures the kernel's side).
            group = new MultiThreadIoEventLoopGroup(loops.loops(), UserTcpIoHandler.newFactory(config));
        } catch (RuntimeException e) {
            System.err.println("usertcp: cannot " + (root ? "create" : "attach to") + " TAP device " + tap
                    + ": " + describe(e));
            if (!root) {
                printManualSetup(parsed);
            }
            return 1;
        }

        ChannelFuture bind = new ServerBootstrap()
                .group(group)
                .channel(UserTcpServerChannel.class)
                .childHandler(childHandler)
                .bind(port)
                .awaitUninterruptibly();
        if (!bind.isSuccess()) {
            System.err.println("usertcp: cannot listen on port " + port + ": " + describe(bind.cause()));
            group.shutdownGracefully(0, 5, TimeUnit.SECONDS).awaitUninterruptibly(10, TimeUnit.SECONDS);
            return 1;
        }
        Channel server = bind.channel();
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            server.close().awaitUninterruptibly(5, TimeUnit.SECONDS);
            group.shutdownGracefully(100, 5000, TimeUnit.MILLISECONDS).awaitUninterruptibly(10, TimeUnit.SECONDS);
        }, "usertcp-echo-shutdown"));

        System.out.println("usertcp " + label + " listening on " + parsed.listening() + " ("
                + where(parsed, netns, root) + loopsText(loops) + ")");
        System.out.flush();
        Inspect.install(group, System.out); // "ss" or "stats" on stdin, or kill -USR2: what the stack holds

        server.closeFuture().awaitUninterruptibly();
        return 0;
    }

    /**
     * The stack's config from the parsed arguments: every stack address, and (as root) every kernel address
     * on the TAP device, moved into {@code netns} when not null.
     */
    static StackConfig stackConfig(ServerArgs args, String netns, boolean root) {
        return stackConfig(args, netns, root, null);
    }

    /** As {@link #stackConfig(ServerArgs, String, boolean)}, capturing into {@code pcap} when it is not null. */
    static StackConfig stackConfig(ServerArgs args, String netns, boolean root, java.nio.file.Path pcap) {
        TapConfig.Builder link = TapConfig.builder(args.tap()).namespace(netns);
        if (root) {
            for (String k : args.kernelAddresses()) {
                link.kernelAddress(k);
            }
        }
        StackConfig.Builder stack = StackConfig.builder().link(link.build()).capture(pcap);
        for (String s : args.stackAddresses()) {
            stack.address(s);
        }
        {
            // The kernel side is the stack's only router: the default gateway of each family it has an on-link
            // address of, so that replies to addresses beyond the prefix go to it instead of being ARPed for.
            boolean v4 = false;
            boolean v6 = false;
            for (String k : args.kernelAddresses()) {
                StackConfig.InterfaceAddress kernel = StackConfig.InterfaceAddress.parse(k, 24);
                boolean six = kernel.address() instanceof java.net.Inet6Address;
                if ((six ? v6 : v4) || !onLink(kernel.address(), args.stackAddresses())) {
                    continue;
                }
                stack.gateway(kernel.address().getHostAddress());
                v4 |= !six;
                v6 |= six;
            }
        }
        return stack.build();
    }

    /** Whether {@code a} lies within the prefix of one of {@code stackAddresses} ("198.18.0.2/24"). */
    static boolean onLink(java.net.InetAddress a, java.util.List<String> stackAddresses) {
        byte[] x = a.getAddress();
        for (String s : stackAddresses) {
            StackConfig.InterfaceAddress ia = StackConfig.InterfaceAddress.parse(s, 24);
            byte[] y = ia.address().getAddress();
            if (x.length != y.length || java.util.Arrays.equals(x, y)) {
                continue;
            }
            int bits = ia.prefixLength();
            boolean same = true;
            for (int i = 0; i < x.length && bits > 0; i++, bits -= 8) {
                int mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
                if ((x[i] & mask) != (y[i] & mask)) {
                    same = false;
                    break;
                }
            }
            if (same) {
                return true;
            }
        }
        return false;
    }

    /** Where the server runs, for its startup line: "tap0 in netns x, kernel side 198.18.0.1/24". */
    static String where(ServerArgs args, String netns, boolean root) {
        return args.tap() + (netns != null ? " in netns " + netns : "")
                + (root ? ", kernel side " + args.kernelSide() : ", attached; kernel side not configured");
    }

    /** Tells a user who is not root how to make the TAP device once. */
    static void printManualSetup(ServerArgs args) {
        System.err.println("Run as root, or create the device once for your user:");
        for (String line : args.manualSetup()) {
            System.err.println("  " + line);
        }
    }

    /** ", N event loops" when there are several, else nothing. */
    static String loopsText(LoopsOption loops) {
        return loops.loops() > 1 ? ", " + loops.loops() + " event loops" : "";
    }

    static String arg(String[] args, int i, String def) {
        return args.length > i ? args[i] : def;
    }

    static String netns() {
        String ns = System.getProperty("usertcp.netns");
        if (ns == null || ns.isBlank()) {
            ns = System.getenv("USERTCP_NETNS");
        }
        return ns == null || ns.isBlank() ? null : ns.trim();
    }

    /** Whether the effective user is root, from {@code /proc/self/status} ("Uid: real effective saved fs"). */
    static boolean isRoot() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("Uid:")) {
                    String[] f = line.substring(4).trim().split("\\s+");
                    return f.length > 1 && f[1].equals("0");
                }
            }
        } catch (IOException | RuntimeException e) {
            // not Linux, or /proc not mounted: fall through
        }
        return "root".equals(System.getProperty("user.name"));
    }

    /** The messages of an exception and its causes, e.g. "cannot open the TAP device: /dev/net/tun: EPERM". */
    static String describe(Throwable t) {
        StringBuilder sb = new StringBuilder();
        for (Throwable c = t; c != null; c = c.getCause() == c ? null : c.getCause()) {
            String m = c.getMessage() != null ? c.getMessage() : c.getClass().getSimpleName();
            if (sb.indexOf(m) < 0) {
                if (sb.length() > 0) {
                    sb.append(": ");
                }
                sb.append(m);
            }
        }
        return sb.toString();
    }
}
