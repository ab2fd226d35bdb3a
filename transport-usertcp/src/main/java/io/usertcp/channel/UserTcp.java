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
     * Whether this process has CAP_NET_ADMIN, which creating a TAP device, attaching to one it does not own and
     * moving one into a network namespace need.
     */
    public static boolean hasNetAdmin() {
        return TapAvailability.hasNetAdmin();
    }
}
