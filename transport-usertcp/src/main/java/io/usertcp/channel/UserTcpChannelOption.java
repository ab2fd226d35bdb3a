package io.usertcp.channel;

import io.netty.channel.ChannelOption;

/**
 * usertcp's own TCP knobs, in the manner of Netty's {@code EpollChannelOption}: set them on a
 * {@link io.netty.bootstrap.Bootstrap} with {@code .option(...)} or on accepted children with
 * {@code ServerBootstrap.childOption(...)}.
 *
 * @param <T> the option's value type
 */
public final class UserTcpChannelOption<T> extends ChannelOption<T> {
    /** Seconds a connection is idle before the first keepalive probe (Linux TCP_KEEPIDLE; default 7200). */
    public static final ChannelOption<Integer> TCP_KEEPIDLE = valueOf(UserTcpChannelOption.class, "TCP_KEEPIDLE");
    /** Seconds between keepalive probes (TCP_KEEPINTVL; default 75). */
    public static final ChannelOption<Integer> TCP_KEEPINTVL = valueOf(UserTcpChannelOption.class, "TCP_KEEPINTVL");
    /** Unanswered keepalive probes before the connection is reset (TCP_KEEPCNT; default 9). */
    public static final ChannelOption<Integer> TCP_KEEPCNT = valueOf(UserTcpChannelOption.class, "TCP_KEEPCNT");
    /**
     * Milliseconds that sent data may stay unacknowledged before the connection is reset (RFC 5482,
     * TCP_USER_TIMEOUT; 0, the default, leaves it to the retry limits).
     */
    public static final ChannelOption<Integer> TCP_USER_TIMEOUT =
            valueOf(UserTcpChannelOption.class, "TCP_USER_TIMEOUT");
    /** The congestion control algorithm: {@code "cubic"} (default) or {@code "newreno"} (TCP_CONGESTION). */
    public static final ChannelOption<String> TCP_CONGESTION = valueOf(UserTcpChannelOption.class, "TCP_CONGESTION");
    /** An upper bound on the MSS this side sends with (TCP_MAXSEG; 0: none beyond the path's). */
    public static final ChannelOption<Integer> TCP_MAXSEG = valueOf(UserTcpChannelOption.class, "TCP_MAXSEG");
    /** Milliseconds this connection stays in TIME-WAIT (default: the stack's {@code timeWait}). */
    public static final ChannelOption<Integer> TIME_WAIT_MILLIS =
            valueOf(UserTcpChannelOption.class, "TIME_WAIT_MILLIS");

    @SuppressWarnings("unused")
    private UserTcpChannelOption() {
        super(null);
    }
}
