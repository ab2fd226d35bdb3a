package io.usertcp.channel;

import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.AdaptiveRecvByteBufAllocator;
import io.netty.channel.ChannelOption;
import io.netty.channel.DefaultChannelConfig;
import io.netty.channel.DefaultMaxMessagesRecvByteBufAllocator;
import io.netty.channel.MaxMessagesRecvByteBufAllocator;
import io.netty.channel.MessageSizeEstimator;
import io.netty.channel.RecvByteBufAllocator;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.socket.SocketChannelConfig;
import io.usertcp.tcp.TcpConnection;

import java.util.Map;
import java.util.concurrent.TimeUnit;

import static io.netty.channel.ChannelOption.ALLOW_HALF_CLOSURE;
import static io.netty.channel.ChannelOption.IP_TOS;
import static io.netty.channel.ChannelOption.SO_KEEPALIVE;
import static io.netty.channel.ChannelOption.SO_LINGER;
import static io.netty.channel.ChannelOption.SO_RCVBUF;
import static io.netty.channel.ChannelOption.SO_REUSEADDR;
import static io.netty.channel.ChannelOption.SO_SNDBUF;
import static io.netty.channel.ChannelOption.TCP_NODELAY;

/**
 * The {@link SocketChannelConfig} of a {@link UserTcpChannel}. SO_RCVBUF (the largest receive window),
 * SO_SNDBUF (the send-buffer cap), TCP_NODELAY and SO_KEEPALIVE apply to the stack's connection; they may be
 * set before the connection exists and are applied when it does. SO_LINGER 0 makes close() send RST; any
 * other SO_LINGER closes with FIN without blocking. SO_REUSEADDR is recorded only. Options the
 * transport does not know are refused ({@code setOption} returns false).
 */
public final class UserTcpChannelConfig extends DefaultChannelConfig implements SocketChannelConfig {
    private static final int KEEPALIVE_PROBES = 9;
    /**
     * What every config starts with in place of a RecvByteBufAllocator of its own (issue #12: one fewer object per
     * channel). Never handed out: {@link #getRecvByteBufAllocator()} replaces it with the channel's own
     * {@link AdaptiveRecvByteBufAllocator} first, so that what an application changes there stays the channel's.
     * (Netty's constructor sets its MAX_MESSAGES_PER_READ to the channels' metadata default, 16, each time.)
     */
    private static final AdaptiveRecvByteBufAllocator SHARED_DEFAULT = new AdaptiveRecvByteBufAllocator();

    private volatile boolean tcpNoDelay = true;
    private volatile boolean keepAlive;
    private volatile boolean reuseAddress;
    private volatile int soLinger = -1;
    private volatile byte trafficClass; // IP_TOS, 0-255
    private volatile int receiveBufferSize;
    private volatile int sendBufferSize;
    private volatile boolean allowHalfClosure;
    private volatile int keepIdleSeconds = 7200;
    private volatile int keepIntervalSeconds = 75;
    private volatile int keepCount = KEEPALIVE_PROBES;
    private volatile int userTimeoutMillis;
    private volatile String congestion = "cubic";
    private volatile int maxSegment;
    private volatile int timeWaitMillis = -1;
    /**
     * The application chose the RecvByteBufAllocator (no initializer: Netty's constructor sets its default through
     * {@link #setRecvByteBufAllocator}, and this constructor clears it afterwards).
     */
    private volatile boolean ownRecvAllocator;

    UserTcpChannelConfig(UserTcpChannel channel, int defaultReceiveBuffer, int defaultSendBuffer) {
        super(channel, SHARED_DEFAULT);
        this.ownRecvAllocator = false; // the default set by DefaultChannelConfig's constructor
        this.receiveBufferSize = defaultReceiveBuffer;
        this.sendBufferSize = defaultSendBuffer;
    }

    /** The channel (Netty's field, typed). */
    private UserTcpChannel ch() {
        return (UserTcpChannel) channel;
    }

    @Override
    public Map<ChannelOption<?>, Object> getOptions() {
        return getOptions(super.getOptions(), SO_RCVBUF, SO_SNDBUF, TCP_NODELAY, SO_KEEPALIVE, SO_REUSEADDR,
                SO_LINGER, IP_TOS, ALLOW_HALF_CLOSURE, UserTcpChannelOption.TCP_KEEPIDLE,
                UserTcpChannelOption.TCP_KEEPINTVL, UserTcpChannelOption.TCP_KEEPCNT,
                UserTcpChannelOption.TCP_USER_TIMEOUT, UserTcpChannelOption.TCP_CONGESTION,
                UserTcpChannelOption.TCP_MAXSEG, UserTcpChannelOption.TIME_WAIT_MILLIS);
    }

    @SuppressWarnings("unchecked")
    @Override
    public <T> T getOption(ChannelOption<T> option) {
        if (option == UserTcpChannelOption.TCP_KEEPIDLE) {
            return (T) Integer.valueOf(keepIdleSeconds);
        }
        if (option == UserTcpChannelOption.TCP_KEEPINTVL) {
            return (T) Integer.valueOf(keepIntervalSeconds);
        }
        if (option == UserTcpChannelOption.TCP_KEEPCNT) {
            return (T) Integer.valueOf(keepCount);
        }
        if (option == UserTcpChannelOption.TCP_USER_TIMEOUT) {
            return (T) Integer.valueOf(userTimeoutMillis);
        }
        if (option == UserTcpChannelOption.TCP_CONGESTION) {
            return (T) congestion;
        }
        if (option == UserTcpChannelOption.TCP_MAXSEG) {
            return (T) Integer.valueOf(maxSegment);
        }
        if (option == UserTcpChannelOption.TIME_WAIT_MILLIS) {
            return (T) Integer.valueOf(timeWaitMillis);
        }
        if (option == SO_RCVBUF) {
            return (T) Integer.valueOf(getReceiveBufferSize());
        }
        if (option == SO_SNDBUF) {
            return (T) Integer.valueOf(getSendBufferSize());
        }
        if (option == TCP_NODELAY) {
            return (T) Boolean.valueOf(isTcpNoDelay());
        }
        if (option == SO_KEEPALIVE) {
            return (T) Boolean.valueOf(isKeepAlive());
        }
        if (option == SO_REUSEADDR) {
            return (T) Boolean.valueOf(isReuseAddress());
        }
        if (option == SO_LINGER) {
            return (T) Integer.valueOf(getSoLinger());
        }
        if (option == IP_TOS) {
            return (T) Integer.valueOf(getTrafficClass());
        }
        if (option == ALLOW_HALF_CLOSURE) {
            return (T) Boolean.valueOf(isAllowHalfClosure());
        }
        return super.getOption(option);
    }

    @Override
    public <T> boolean setOption(ChannelOption<T> option, T value) {
        validate(option, value);
        if (option == SO_RCVBUF) {
            setReceiveBufferSize((Integer) value);
        } else if (option == SO_SNDBUF) {
            setSendBufferSize((Integer) value);
        } else if (option == TCP_NODELAY) {
            setTcpNoDelay((Boolean) value);
        } else if (option == SO_KEEPALIVE) {
            setKeepAlive((Boolean) value);
        } else if (option == SO_REUSEADDR) {
            setReuseAddress((Boolean) value);
        } else if (option == SO_LINGER) {
            setSoLinger((Integer) value);
        } else if (option == IP_TOS) {
            setTrafficClass((Integer) value);
        } else if (option == ALLOW_HALF_CLOSURE) {
            setAllowHalfClosure((Boolean) value);
        } else if (option == UserTcpChannelOption.TCP_KEEPIDLE) {
            keepIdleSeconds = positive((Integer) value, option);
            ch().applyToConnection(this::applyKeepAlive);
        } else if (option == UserTcpChannelOption.TCP_KEEPINTVL) {
            keepIntervalSeconds = positive((Integer) value, option);
            ch().applyToConnection(this::applyKeepAlive);
        } else if (option == UserTcpChannelOption.TCP_KEEPCNT) {
            keepCount = positive((Integer) value, option);
            ch().applyToConnection(this::applyKeepAlive);
        } else if (option == UserTcpChannelOption.TCP_USER_TIMEOUT) {
            userTimeoutMillis = Math.max(0, (Integer) value);
            ch().applyToConnection(c -> c.userTimeout(TimeUnit.MILLISECONDS.toNanos(userTimeoutMillis)));
        } else if (option == UserTcpChannelOption.TCP_CONGESTION) {
            String name = (String) value;
            io.usertcp.tcp.CongestionControl.of(name); // fails now, naming the choices, if unknown
            congestion = name;
            ch().applyToConnection(c -> c.congestionControl(name));
        } else if (option == UserTcpChannelOption.TCP_MAXSEG) {
            maxSegment = Math.max(0, (Integer) value);
            ch().applyToConnection(c -> c.maxSegmentSize(maxSegment));
        } else if (option == UserTcpChannelOption.TIME_WAIT_MILLIS) {
            timeWaitMillis = (Integer) value;
            ch().applyToConnection(c -> c.timeWait(timeWaitMillis < 0 ? -1
                    : TimeUnit.MILLISECONDS.toNanos(timeWaitMillis)));
        } else {
            return super.setOption(option, value);
        }
        return true;
    }

    private static int positive(int v, ChannelOption<?> option) {
        if (v <= 0) {
            throw new IllegalArgumentException(option.name() + " must be positive: " + v);
        }
        return v;
    }

    /** Applies every option the connection has, when it appears (on the event loop). */
    void applyTo(TcpConnection c) {
        if (receiveBufferSize > 0) {
            c.receiveBufferSize(receiveBufferSize);
        }
        if (sendBufferSize > 0) {
            c.sendBufferSize(sendBufferSize);
        }
        c.noDelay(tcpNoDelay);
        c.tos(trafficClass & 0xff);
        applyKeepAlive(c);
        c.userTimeout(TimeUnit.MILLISECONDS.toNanos(userTimeoutMillis));
        c.congestionControl(congestion);
        c.maxSegmentSize(maxSegment);
        c.timeWait(timeWaitMillis < 0 ? -1 : TimeUnit.MILLISECONDS.toNanos(timeWaitMillis));
    }

    private void applyKeepAlive(TcpConnection c) {
        c.keepAlive(keepAlive ? TimeUnit.SECONDS.toNanos(keepIdleSeconds) : 0,
                TimeUnit.SECONDS.toNanos(keepIntervalSeconds), keepCount);
    }

    @Override
    public boolean isTcpNoDelay() {
        return tcpNoDelay;
    }

    /**
     * TCP_NODELAY, on by default as in Netty's socket transports: {@code false} turns Nagle's algorithm on.
     * Turning it back on sends what Nagle held back at once, as Linux does.
     */
    @Override
    public UserTcpChannelConfig setTcpNoDelay(boolean tcpNoDelay) {
        this.tcpNoDelay = tcpNoDelay;
        ch().applyToConnection(c -> {
            c.noDelay(tcpNoDelay);
            if (tcpNoDelay) {
                c.push();
            }
        });
        return this;
    }

    @Override
    public int getSoLinger() {
        return soLinger;
    }

    /** SO_LINGER: 0 makes close() reset the connection (RST) instead of sending FIN. */
    @Override
    public UserTcpChannelConfig setSoLinger(int soLinger) {
        this.soLinger = soLinger;
        return this;
    }

    /** SO_SNDBUF: the connection's send-buffer cap (0 before connect if unset: the stack's default). */
    @Override
    public int getSendBufferSize() {
        TcpConnection c = ch().connection();
        return sendBufferSize > 0 || c == null ? sendBufferSize : c.sendBufferSize();
    }

    @Override
    public UserTcpChannelConfig setSendBufferSize(int sendBufferSize) {
        if (sendBufferSize <= 0) {
            throw new IllegalArgumentException("SO_SNDBUF must be positive: " + sendBufferSize);
        }
        this.sendBufferSize = sendBufferSize;
        ch().applyToConnection(c -> c.sendBufferSize(sendBufferSize));
        return this;
    }

    /**
     * SO_RCVBUF: the most unread bytes the connection holds, so its largest window (0 before connect if
     * unset: the stack's default). Set it before connecting to go beyond 64 KiB: the window scale is fixed by
     * the SYN.
     */
    @Override
    public int getReceiveBufferSize() {
        TcpConnection c = ch().connection();
        return receiveBufferSize > 0 || c == null ? receiveBufferSize : c.receiveBufferSize();
    }

    @Override
    public UserTcpChannelConfig setReceiveBufferSize(int receiveBufferSize) {
        if (receiveBufferSize <= 0) {
            throw new IllegalArgumentException("SO_RCVBUF must be positive: " + receiveBufferSize);
        }
        this.receiveBufferSize = receiveBufferSize;
        ch().applyToConnection(c -> c.receiveBufferSize(receiveBufferSize));
        return this;
    }

    @Override
    public boolean isKeepAlive() {
        return keepAlive;
    }

    /**
     * SO_KEEPALIVE, with Linux's default timing (net.ipv4.tcp_keepalive_time, _intvl and _probes): probes
     * after 2 hours without a segment from the peer, every 75 s; after 9 unanswered ones the connection is
     * reset and the channel sees an IOException.
     */
    @Override
    public UserTcpChannelConfig setKeepAlive(boolean keepAlive) {
        this.keepAlive = keepAlive;
        ch().applyToConnection(this::applyKeepAlive);
        return this;
    }

    @Override
    public int getTrafficClass() {
        return trafficClass & 0xff;
    }

    /** IP_TOS: the IPv4 type-of-service byte / IPv6 traffic class of every segment (RFC 9293 MUST-48). */
    @Override
    public UserTcpChannelConfig setTrafficClass(int trafficClass) {
        this.trafficClass = (byte) trafficClass;
        int tos = trafficClass & 0xff;
        ch().applyToConnection(c -> c.tos(tos));
        return this;
    }

    @Override
    public boolean isReuseAddress() {
        return reuseAddress;
    }

    @Override
    public UserTcpChannelConfig setReuseAddress(boolean reuseAddress) {
        this.reuseAddress = reuseAddress;
        return this;
    }

    @Override
    public UserTcpChannelConfig setPerformancePreferences(int connectionTime, int latency, int bandwidth) {
        return this;
    }

    @Override
    public boolean isAllowHalfClosure() {
        return allowHalfClosure;
    }

    @Override
    public UserTcpChannelConfig setAllowHalfClosure(boolean allowHalfClosure) {
        this.allowHalfClosure = allowHalfClosure;
        return this;
    }

    @Override
    public UserTcpChannelConfig setConnectTimeoutMillis(int connectTimeoutMillis) {
        super.setConnectTimeoutMillis(connectTimeoutMillis);
        return this;
    }

    @Override
    @Deprecated
    public UserTcpChannelConfig setMaxMessagesPerRead(int maxMessagesPerRead) {
        super.setMaxMessagesPerRead(maxMessagesPerRead);
        return this;
    }

    @Override
    public UserTcpChannelConfig setWriteSpinCount(int writeSpinCount) {
        super.setWriteSpinCount(writeSpinCount);
        return this;
    }

    @Override
    public UserTcpChannelConfig setAllocator(ByteBufAllocator allocator) {
        super.setAllocator(allocator);
        return this;
    }

    @Override
    public UserTcpChannelConfig setRecvByteBufAllocator(RecvByteBufAllocator allocator) {
        super.setRecvByteBufAllocator(allocator);
        ownRecvAllocator = true;
        return this;
    }

    /** The channel's RecvByteBufAllocator: its own AdaptiveRecvByteBufAllocator, made now if it still has none. */
    @Override
    @SuppressWarnings("unchecked")
    public <T extends RecvByteBufAllocator> T getRecvByteBufAllocator() {
        RecvByteBufAllocator a = super.getRecvByteBufAllocator();
        if (a == SHARED_DEFAULT) {
            synchronized (this) {
                a = super.getRecvByteBufAllocator();
                if (a == SHARED_DEFAULT) {
                    AdaptiveRecvByteBufAllocator own = new AdaptiveRecvByteBufAllocator();
                    own.maxMessagesPerRead(SHARED_DEFAULT.maxMessagesPerRead());
                    super.setRecvByteBufAllocator(own); // the default still: reads stay exact
                    a = own;
                }
            }
        }
        return (T) a;
    }

    /** MAX_MESSAGES_PER_READ for {@link ExactReadHandle}, without making the channel's own allocator. */
    int readMessagesLimit() {
        RecvByteBufAllocator a = super.getRecvByteBufAllocator();
        return a instanceof MaxMessagesRecvByteBufAllocator ? ((MaxMessagesRecvByteBufAllocator) a).maxMessagesPerRead()
                : SHARED_DEFAULT.maxMessagesPerRead();
    }

    /** Whether a read that did not fill its buffer ends the read loop (Netty's respectMaybeMoreData), as above. */
    boolean respectMaybeMoreData() {
        RecvByteBufAllocator a = super.getRecvByteBufAllocator();
        return !(a instanceof DefaultMaxMessagesRecvByteBufAllocator)
                || ((DefaultMaxMessagesRecvByteBufAllocator) a).respectMaybeMoreData();
    }

    /**
     * Whether reads go through the event loop's {@link ExactReadHandle} (buffers sized to the bytes waiting) rather
     * than a handle of the RecvByteBufAllocator: while the application has not chosen one.
     */
    boolean exactReads() {
        return !ownRecvAllocator;
    }

    @Override
    public UserTcpChannelConfig setAutoRead(boolean autoRead) {
        super.setAutoRead(autoRead);
        return this;
    }

    @Override
    public UserTcpChannelConfig setAutoClose(boolean autoClose) {
        super.setAutoClose(autoClose);
        return this;
    }

    @Override
    public UserTcpChannelConfig setMessageSizeEstimator(MessageSizeEstimator estimator) {
        super.setMessageSizeEstimator(estimator);
        return this;
    }

    @Override
    public UserTcpChannelConfig setWriteBufferWaterMark(WriteBufferWaterMark writeBufferWaterMark) {
        super.setWriteBufferWaterMark(writeBufferWaterMark);
        return this;
    }

    @Override
    protected void autoReadCleared() {
        ch().clearReadPending();
    }
}
