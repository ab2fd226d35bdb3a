package io.usertcp.testsuite;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.testsuite.transport.TestsuitePermutation.BootstrapComboFactory;
import io.netty.testsuite.transport.TestsuitePermutation.BootstrapFactory;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.usertcp.channel.UserTcpChannel;
import io.usertcp.channel.UserTcpIoHandler;
import io.usertcp.channel.UserTcpServerChannel;
import io.usertcp.stack.StackConfig;

import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.util.Collections;
import java.util.List;

/**
 * The usertcp counterpart of Netty's {@code SocketTestPermutation} (as {@code EpollSocketTestPermutation} is
 * for epoll): server and client bootstraps for Netty's socket testsuite.
 *
 * <p>Both run on ONE usertcp event loop of ONE thread, so they share one stack; the stack has no link, and
 * the client reaches the server through the stack's loopback (127.0.0.1 and the stack's own address
 * 198.18.0.2 never leave it). No TAP device and no root are needed. The group lives as long as the JVM
 * (its thread is a daemon), like the testsuite's own NIO group.
 */
public final class UserTcpSocketTestPermutation {
    /** The one instance, shared by every usertcp testsuite class in the JVM. */
    public static final UserTcpSocketTestPermutation INSTANCE = new UserTcpSocketTestPermutation();

    /** The stack's own address (loopback-only stack: nothing is on its /24). */
    public static final String STACK_ADDRESS = "198.18.0.2";

    private final EventLoopGroup group;

    private UserTcpSocketTestPermutation() {
        StackConfig cfg = StackConfig.builder().address(STACK_ADDRESS + "/24").build();
        group = new MultiThreadIoEventLoopGroup(1, new DefaultThreadFactory("testsuite-usertcp", true),
                UserTcpIoHandler.newFactory(cfg));
    }

    /** The group both sides run on. */
    public EventLoopGroup group() {
        return group;
    }

    /**
     * Where servers bind: 127.0.0.1 with port 0 (an ephemeral listen port). The testsuite's default,
     * {@code NetUtil.LOCALHOST}, depends on the machine; the IPv6 variants use {@link #newIpv6SocketAddress()}.
     */
    public static SocketAddress newSocketAddress() {
        return new InetSocketAddress("127.0.0.1", 0);
    }

    /** Where the IPv6 variants' servers bind: ::1 with port 0 (the stack's IPv6 loopback). */
    public static SocketAddress newIpv6SocketAddress() {
        return new InetSocketAddress("::1", 0);
    }

    /** The one server/client combination: usertcp on both sides. */
    public List<BootstrapComboFactory<ServerBootstrap, Bootstrap>> socket() {
        return Collections.singletonList(new BootstrapComboFactory<ServerBootstrap, Bootstrap>() {
            @Override
            public ServerBootstrap newServerInstance() {
                return newServerBootstrap();
            }

            @Override
            public Bootstrap newClientInstance() {
                return newClientBootstrap();
            }
        });
    }

    /** Client bootstraps, for the testsuite's client-only tests. */
    public List<BootstrapFactory<Bootstrap>> clientSocket() {
        return Collections.singletonList(this::newClientBootstrap);
    }

    /** Server bootstraps, for the testsuite's server-only tests. */
    public List<BootstrapFactory<ServerBootstrap>> serverSocket() {
        return Collections.singletonList(this::newServerBootstrap);
    }

    private ServerBootstrap newServerBootstrap() {
        // One group for parent and children: accepted connections belong to the loop that owns the stack.
        return new ServerBootstrap().group(group).channel(UserTcpServerChannel.class);
    }

    private Bootstrap newClientBootstrap() {
        return new Bootstrap().group(group).channel(UserTcpChannel.class);
    }
}
