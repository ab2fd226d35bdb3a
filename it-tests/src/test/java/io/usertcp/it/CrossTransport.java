package io.usertcp.it;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.testsuite.transport.TestsuitePermutation.BootstrapComboFactory;
import io.netty.testsuite.transport.TestsuitePermutation.BootstrapFactory;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.usertcp.channel.UserTcpChannel;
import io.usertcp.channel.UserTcpIoHandler;
import io.usertcp.channel.UserTcpServerChannel;
import io.usertcp.link.TapConfig;
import io.usertcp.stack.StackConfig;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;

/**
 * Netty's socket testsuite across transports (issue #14): usertcp on one side, Netty's NIO transport (the kernel's
 * TCP) on the other, through a TAP device in a network namespace of its own, so that MTU 1500, the kernel's
 * segmentation offload and a foreign TCP are in the path. The counterpart of transport-usertcp's
 * {@code UserTcpSocketTestPermutation}, which runs usertcp against usertcp over the stack's loopback.
 *
 * <p>The stack has 198.18.40.2/24 and fd00:198:40::2/64 on the TAP device, whose kernel side in the namespace has
 * 198.18.40.1/24 and fd00:198:40::1/64. NIO channels are created on an {@link NsThread} in the namespace (a
 * socket belongs to the namespace of the thread that creates it) and run on an ordinary NIO group. Each
 * combination binds its server where its server lives: a usertcp server on the stack's address, a NIO server
 * on the kernel's. {@link #newSocketAddress()} answers for the combination set up last (the testsuite calls it
 * from {@code configure}, right after making the bootstraps, on the test thread).
 *
 * <p>One instance per JVM, made on first use; a shutdown hook stops both groups and deletes the namespace (and
 * with it the TAP device), also when a test failed.
 */
final class CrossTransport {
    static final String KERNEL4 = "198.18.40.1";
    static final String STACK4 = "198.18.40.2";
    static final String KERNEL6 = "fd00:198:40::1";
    static final String STACK6 = "fd00:198:40::2";

    private static CrossTransport instance;

    private final NetNs ns;
    private final String tap;
    private final NsThread inNs;
    private final EventLoopGroup usertcp;
    private final EventLoopGroup nio;
    /** Whether the server of the combination made last is the usertcp one. */
    private volatile boolean usertcpServer;

    /** The one instance (made on first use: a namespace, a TAP device, a stack and a NIO group). */
    static synchronized CrossTransport get() {
        if (instance == null) {
            try {
                instance = new CrossTransport();
            } catch (IOException e) {
                throw new IllegalStateException("cannot set up the cross-transport testsuite: " + e.getMessage(), e);
            }
        }
        return instance;
    }

    private CrossTransport() throws IOException {
        NetNs n = NetNs.create();
        String tapName = NetNs.uniqueTapName();
        NsThread t = null;
        EventLoopGroup u = null;
        EventLoopGroup o = null;
        try {
            StackConfig cfg = StackConfig.builder()
                    .link(TapConfig.builder(tapName).kernelAddress(KERNEL4 + "/24").kernelAddress(KERNEL6 + "/64")
                            .namespace(n.name()).build())
                    .address(STACK4 + "/24").address(STACK6 + "/64").build();
            u = new MultiThreadIoEventLoopGroup(ItLoops.count(), new DefaultThreadFactory("cross-usertcp", true),
                    UserTcpIoHandler.newFactory(cfg));
            o = new MultiThreadIoEventLoopGroup(2, new DefaultThreadFactory("cross-nio", true),
                    NioIoHandler.newFactory());
            t = new NsThread(n);
        } catch (IOException | RuntimeException e) {
            shutDown(u, o, t, n);
            throw e;
        }
        ns = n;
        tap = tapName;
        inNs = t;
        usertcp = u;
        nio = o;
        EventLoopGroup fu = u;
        EventLoopGroup fo = o;
        NsThread ft = t;
        Runtime.getRuntime().addShutdownHook(new Thread(() -> shutDown(fu, fo, ft, n), "cross-transport-cleanup"));
    }

    private static void shutDown(EventLoopGroup u, EventLoopGroup o, NsThread t, NetNs n) {
        try {
            for (EventLoopGroup g : new EventLoopGroup[] {u, o}) {
                if (g != null) {
                    g.shutdownGracefully(0, 2, TimeUnit.SECONDS).awaitUninterruptibly(10, TimeUnit.SECONDS);
                }
            }
        } finally {
            if (t != null) {
                t.close();
            }
            n.close();
        }
    }

    /** The namespace of the kernel's side. */
    NetNs namespace() {
        return ns;
    }

    /** The TAP device's name (in the namespace). */
    String tap() {
        return tap;
    }

    /** Runs {@code task} on a thread inside the namespace (kernel sockets it creates live there). */
    <T> T inNamespace(Callable<T> task) throws IOException {
        return inNs.call(task);
    }

    /** A test body that may throw anything. */
    interface Body {
        /** Runs the body. */
        void run() throws Throwable;
    }

    /**
     * Runs a testsuite body on the namespace's thread (within {@link NsThread}'s 30 s), so that the
     * {@code java.net.Socket}s it makes are the namespace's; rethrows what it threw, unwrapped.
     */
    void runInNamespace(Body body) throws Throwable {
        Throwable[] failure = new Throwable[1];
        inNs.call(() -> {
            try {
                body.run();
            } catch (Throwable t) {
                failure[0] = t;
            }
            return null;
        });
        if (failure[0] != null) {
            throw failure[0];
        }
    }

    /** A factory of NIO client channels in the namespace. */
    io.netty.channel.ChannelFactory<io.netty.channel.socket.nio.NioSocketChannel> nioSocketChannels() {
        return inNs.nioSocketChannels();
    }

    /** A factory of NIO server channels in the namespace. */
    io.netty.channel.ChannelFactory<io.netty.channel.socket.nio.NioServerSocketChannel> nioServerSocketChannels() {
        return inNs.nioServerSocketChannels();
    }

    /** The usertcp group ({@link ItLoops#count()} loops, one stack each on a queue of the TAP device). */
    EventLoopGroup usertcpGroup() {
        return usertcp;
    }

    /** Whether the server of the combination set up last is usertcp's. */
    boolean usertcpIsServer() {
        return usertcpServer;
    }

    /** Where the current combination's server binds (IPv4, port 0). */
    SocketAddress newSocketAddress() {
        return new InetSocketAddress(usertcpServer ? STACK4 : KERNEL4, 0);
    }

    /** Where the current combination's server binds (IPv6, port 0). */
    SocketAddress newIpv6SocketAddress() {
        return new InetSocketAddress(usertcpServer ? STACK6 : KERNEL6, 0);
    }

    /** Both combinations: usertcp server with NIO client, NIO server with usertcp client. */
    List<BootstrapComboFactory<ServerBootstrap, Bootstrap>> socket() {
        return List.of(new Combo(true), new Combo(false));
    }

    /** Both datagram combinations: usertcp's UserUdpChannel with NIO's datagram channel (in the namespace). */
    List<BootstrapComboFactory<Bootstrap, Bootstrap>> datagram() {
        return List.of(new DatagramCombo(true), new DatagramCombo(false));
    }

    /** Only the usertcp server with a NIO client (for tests whose client must be the kernel's). */
    List<BootstrapFactory<ServerBootstrap>> usertcpServer() {
        return List.of(() -> {
            usertcpServer = true;
            return usertcpServerBootstrap();
        });
    }

    private ServerBootstrap usertcpServerBootstrap() {
        return new ServerBootstrap().group(usertcp).channel(UserTcpServerChannel.class);
    }

    /** One server/client combination; its toString is what the testsuite logs. */
    private final class Combo implements BootstrapComboFactory<ServerBootstrap, Bootstrap> {
        private final boolean usertcpIsServer;

        Combo(boolean usertcpIsServer) {
            this.usertcpIsServer = usertcpIsServer;
        }

        @Override
        public ServerBootstrap newServerInstance() {
            usertcpServer = usertcpIsServer;
            return usertcpIsServer ? usertcpServerBootstrap()
                    : new ServerBootstrap().group(nio).channelFactory(inNs.nioServerSocketChannels());
        }

        @Override
        public Bootstrap newClientInstance() {
            return usertcpIsServer ? new Bootstrap().group(nio).channelFactory(inNs.nioSocketChannels())
                    : new Bootstrap().group(usertcp).channel(UserTcpChannel.class);
        }

        @Override
        public String toString() {
            return usertcpIsServer ? "usertcp server + NIO client" : "NIO server + usertcp client";
        }
    }

    /**
     * One datagram combination; "server" is the side that receives first. The testsuite binds both of its
     * datagram channels to {@link #newSocketAddress()}; each channel here is bound on its own side's address
     * instead (same port), by an outbound handler that the channel factory puts first in its pipeline.
     */
    private final class DatagramCombo implements BootstrapComboFactory<Bootstrap, Bootstrap> {
        private final boolean usertcpIsServer;

        DatagramCombo(boolean usertcpIsServer) {
            this.usertcpIsServer = usertcpIsServer;
        }

        private Bootstrap usertcpBootstrap() {
            return new Bootstrap().group(usertcp).channelFactory(() -> {
                io.usertcp.channel.UserUdpChannel ch = new io.usertcp.channel.UserUdpChannel();
                ch.pipeline().addFirst(new OwnSideBind(STACK4));
                return ch;
            });
        }

        private Bootstrap nioBootstrap() {
            return new Bootstrap().group(nio).channelFactory(() -> {
                try {
                    io.netty.channel.socket.nio.NioDatagramChannel ch =
                            inNs.call(io.netty.channel.socket.nio.NioDatagramChannel::new);
                    ch.pipeline().addFirst(new OwnSideBind(KERNEL4));
                    return ch;
                } catch (IOException e) {
                    throw new IllegalStateException("cannot create a datagram channel in the namespace", e);
                }
            });
        }

        @Override
        public Bootstrap newServerInstance() {
            usertcpServer = usertcpIsServer;
            return usertcpIsServer ? usertcpBootstrap() : nioBootstrap();
        }

        @Override
        public Bootstrap newClientInstance() {
            return usertcpIsServer ? nioBootstrap() : usertcpBootstrap();
        }

        @Override
        public String toString() {
            return usertcpIsServer ? "UserUdpChannel server + NIO client" : "NIO server + UserUdpChannel client";
        }
    }

    /** Binds a channel on its own side's address (keeping the port) whatever specific address it was asked for. */
    private static final class OwnSideBind extends io.netty.channel.ChannelOutboundHandlerAdapter {
        private final String own;

        OwnSideBind(String own) {
            this.own = own;
        }

        @Override
        public void bind(io.netty.channel.ChannelHandlerContext ctx, SocketAddress local,
                         io.netty.channel.ChannelPromise promise) {
            InetSocketAddress a = (InetSocketAddress) local;
            boolean wildcard = a.getAddress() == null || a.getAddress().isAnyLocalAddress();
            ctx.bind(wildcard ? a : new InetSocketAddress(own, a.getPort()), promise);
        }
    }
}
