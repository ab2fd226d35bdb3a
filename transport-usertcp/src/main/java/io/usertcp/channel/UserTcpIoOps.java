package io.usertcp.channel;

import io.netty.channel.IoOps;
import io.usertcp.tcp.TcpSocket;

/**
 * The operations of a usertcp socket, as {@code NioIoOps} and {@code EpollIoOps} are those of a selector and an
 * epoll instance. A channel submits its <em>interest</em> ({@link #READ}, {@link #WRITE}, {@link #CONNECT}) to its
 * {@link io.netty.channel.IoRegistration}; the handler then delivers readiness of those operations in a
 * {@link UserTcpIoEvent}. {@link #INPUT_CLOSED}, {@link #CLOSED}, {@link #URGENT} and {@link #ERROR} are reported
 * whatever the interest, as epoll always reports {@code EPOLLRDHUP} (when registered), {@code EPOLLERR} and
 * {@code EPOLLHUP}.
 *
 * <p>The values are the bits of {@link TcpSocket}'s events, so that a stream socket's events need no
 * translation. Every value is cached: neither {@link #valueOf(int)} nor an event allocates.
 */
public final class UserTcpIoOps implements IoOps {
    private static final int READ_BIT = TcpSocket.EV_READABLE;
    private static final int WRITE_BIT = TcpSocket.EV_WRITABLE;
    private static final int CONNECT_BIT = TcpSocket.EV_CONNECTED;
    private static final int INPUT_CLOSED_BIT = TcpSocket.EV_INPUT_CLOSED;
    private static final int CLOSED_BIT = TcpSocket.EV_CLOSED;
    private static final int URGENT_BIT = TcpSocket.EV_URGENT;
    private static final int ERROR_BIT = 64;
    /** Every bit an operation can have. */
    private static final int ALL = 127;
    private static final UserTcpIoOps[] OPS = new UserTcpIoOps[ALL + 1];
    private static final Event[] EVENTS = new Event[ALL + 1];

    static {
        for (int i = 0; i <= ALL; i++) {
            OPS[i] = new UserTcpIoOps(i);
            EVENTS[i] = new Event(OPS[i]);
        }
    }

    /** No interest. */
    public static final UserTcpIoOps NONE = OPS[0];
    /** Interest in data to read (on a listener: connections to accept); readiness: there is some. */
    public static final UserTcpIoOps READ = OPS[READ_BIT];
    /** Interest in room in the send buffer; readiness: ACKs made room. */
    public static final UserTcpIoOps WRITE = OPS[WRITE_BIT];
    /** Interest in the end of an active open; readiness: it completed or failed. */
    public static final UserTcpIoOps CONNECT = OPS[CONNECT_BIT];
    /** Always reported: the peer sent FIN (epoll's {@code EPOLLRDHUP}). */
    public static final UserTcpIoOps INPUT_CLOSED = OPS[INPUT_CLOSED_BIT];
    /** Always reported: the connection is gone, reset or timed out (epoll's {@code EPOLLERR}/{@code EPOLLHUP}). */
    public static final UserTcpIoOps CLOSED = OPS[CLOSED_BIT];
    /** Always reported: the peer's urgent pointer advanced beyond the data read (RFC 9293 §3.8.5). */
    public static final UserTcpIoOps URGENT = OPS[URGENT_BIT];
    /** Always reported: a datagram socket has an ICMP error to report. */
    public static final UserTcpIoOps ERROR = OPS[ERROR_BIT];
    /** The interest a channel may submit. */
    static final int INTEREST = READ_BIT | WRITE_BIT | CONNECT_BIT;
    /** What is reported whatever the interest. */
    static final int ALWAYS = INPUT_CLOSED_BIT | CLOSED_BIT | URGENT_BIT | ERROR_BIT;

    private final int value;

    private UserTcpIoOps(int value) {
        this.value = value;
    }

    /** The operations with bits {@code value}; bits that are no operation are refused. */
    public static UserTcpIoOps valueOf(int value) {
        if ((value & ~ALL) != 0) {
            throw new IllegalArgumentException("not usertcp operations: 0x" + Integer.toHexString(value));
        }
        return OPS[value];
    }

    /** The bits of these operations. */
    public int value() {
        return value;
    }

    /** True if every operation of {@code ops} is one of these. */
    public boolean contains(UserTcpIoOps ops) {
        return (value & ops.value) == ops.value;
    }

    /** These operations and those of {@code ops}. */
    public UserTcpIoOps with(UserTcpIoOps ops) {
        return OPS[value | ops.value];
    }

    /** These operations without those of {@code ops}. */
    public UserTcpIoOps without(UserTcpIoOps ops) {
        return OPS[value & ~ops.value];
    }

    /** The event that reports {@code value} ready (cached). */
    static UserTcpIoEvent eventOf(int value) {
        return EVENTS[value];
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof UserTcpIoOps && ((UserTcpIoOps) o).value == value;
    }

    @Override
    public int hashCode() {
        return value;
    }

    @Override
    public String toString() {
        if (value == 0) {
            return "UserTcpIoOps(NONE)";
        }
        StringBuilder b = new StringBuilder();
        String[] names = {"READ", "WRITE", "CONNECT", "INPUT_CLOSED", "CLOSED", "URGENT", "ERROR"};
        for (int i = 0; i < names.length; i++) {
            if ((value & (1 << i)) != 0) {
                b.append(b.length() > 0 ? "|" : "").append(names[i]);
            }
        }
        return "UserTcpIoOps(" + b + ')';
    }

    private static final class Event implements UserTcpIoEvent {
        private final UserTcpIoOps ops;

        Event(UserTcpIoOps ops) {
            this.ops = ops;
        }

        @Override
        public UserTcpIoOps ops() {
            return ops;
        }

        @Override
        public String toString() {
            return "UserTcpIoEvent" + ops.toString().substring("UserTcpIoOps".length());
        }
    }
}
