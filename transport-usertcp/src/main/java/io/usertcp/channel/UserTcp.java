package io.usertcp.channel;

import io.usertcp.link.TapAvailability;

/**
 * Whether the usertcp transport can run here over a TAP device, in the idiom of Netty's {@code Epoll} and
 * {@code IoUring}: check {@link #isAvailable()} (or call {@link #ensureAvailability()}) before building a
 * {@code MultiThreadIoEventLoopGroup} with {@link UserTcpIoHandler#newFactory}, and fall back to NIO otherwise.
 *
 * <pre>{@code
 * EventLoopGroup group = UserTcp.isAvailable()
 *         ? new MultiThreadIoEventLoopGroup(1, UserTcpIoHandler.newFactory(config))
 *         : new MultiThreadIoEventLoopGroup(NioIoHandler.newFactory());
 * }</pre>
 *
 * <p>Available means: Linux, the C library loads through jnr-ffi, and {@code /dev/net/tun} opens. Creating a TAP
 * device also needs CAP_NET_ADMIN ({@link #hasNetAdmin()}), unless the device was created beforehand for this user
 * ({@code ip tuntap add dev tap0 mode tap user $USER}); a stack without a link (loopback only) needs neither.
 */
public final class UserTcp {
    private UserTcp() {
    }

    /** Whether TAP devices can be used by this process. */
    public static boolean isAvailable() {
        return TapAvailability.unavailabilityCause() == null;
    }

    /**
     * Throws if TAP devices cannot be used, with the reason and the fix in the message.
     *
     * @throws IllegalStateException whose cause is {@link #unavailabilityCause()}
     */
    public static void ensureAvailability() {
        Throwable cause = TapAvailability.unavailabilityCause();
        if (cause != null) {
            throw new IllegalStateException("usertcp is not available: " + cause.getMessage(), cause);
        }
    }

    /** Why TAP devices cannot be used, or {@code null} if they can. */
    public static Throwable unavailabilityCause() {
        return TapAvailability.unavailabilityCause();
    }

    /**
     * A copy of the counters of the stack that event loop {@code loop} runs (every {@code StackStats} counter by
     * name, in a stable order), taken on the loop's thread so that the values are consistent with each other.
     * The same counters are JMX attributes of {@code io.usertcp:type=Stack,...}.
     *
     * @return a future that fails with IllegalArgumentException if {@code loop} is not a live usertcp event loop
     */
    public static io.netty.util.concurrent.Future<java.util.Map<String, Long>> stats(io.netty.channel.EventLoop loop) {
        UserTcpIoHandler h = UserTcpIoHandler.of(loop);
        if (h == null) {
            return loop.newFailedFuture(new IllegalArgumentException(loop + " is not a live usertcp event loop:"
                    + " pass a loop of a group built with UserTcpIoHandler.newFactory(config)"));
        }
        return loop.submit(() -> h.stack().stats().snapshot());
    }

    /**
     * The connection table of the stack that event loop {@code loop} runs, as {@code ss -tuai} shows the kernel's:
     * every TCP listener, half-open (SYN-RECEIVED) record and connection (TIME-WAIT included), then every bound UDP
     * socket, each an immutable {@link io.usertcp.stats.ConnectionInfo} taken on the loop's thread.
     * {@link io.usertcp.stats.ConnectionTable#format} prints them; the same table is the {@code connections}
     * operation of the stack's JMX MBean. For one channel, see {@link UserTcpChannel#tcpInfo()}.
     *
     * @return a future that fails with IllegalArgumentException if {@code loop} is not a live usertcp event loop
     */
    public static io.netty.util.concurrent.Future<java.util.List<io.usertcp.stats.ConnectionInfo>> connections(
            io.netty.channel.EventLoop loop) {
        UserTcpIoHandler h = UserTcpIoHandler.of(loop);
        if (h == null) {
            return loop.newFailedFuture(new IllegalArgumentException(loop + " is not a live usertcp event loop:"
                    + " pass a loop of a group built with UserTcpIoHandler.newFactory(config)"));
        }
        return loop.submit(() -> io.usertcp.stack.ConnectionSnapshot.take(h.stack()));
    }

    /**
     * The name of the link that event loop {@code loop}'s stack runs on (the TAP device's, {@code "loopback"} for a
     * stack without a link), or null if {@code loop} is not a live usertcp event loop. Any thread may call it.
     */
    public static String linkName(io.netty.channel.EventLoop loop) {
        UserTcpIoHandler h = UserTcpIoHandler.of(loop);
        return h == null ? null : h.linkName();
    }

    /**
     * Whether this process has CAP_NET_ADMIN, which creating a TAP device, attaching to one it does not own and
     * moving one into a network namespace need.
     */
    public static boolean hasNetAdmin() {
        return TapAvailability.hasNetAdmin();
    }
}
