package io.usertcp.channel;

import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.ChannelOption;
import io.netty.channel.DefaultChannelConfig;
import io.netty.channel.FixedRecvByteBufAllocator;
import io.netty.channel.MessageSizeEstimator;
import io.netty.channel.RecvByteBufAllocator;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.socket.DatagramChannelConfig;
import io.usertcp.udp.UdpLayer;
import io.usertcp.udp.UdpSocket;

import java.net.InetAddress;
import java.net.NetworkInterface;
import java.util.Map;

import static io.netty.channel.ChannelOption.DATAGRAM_CHANNEL_ACTIVE_ON_REGISTRATION;
import static io.netty.channel.ChannelOption.IP_MULTICAST_ADDR;
import static io.netty.channel.ChannelOption.IP_MULTICAST_IF;
import static io.netty.channel.ChannelOption.IP_MULTICAST_LOOP_DISABLED;
import static io.netty.channel.ChannelOption.IP_MULTICAST_TTL;
import static io.netty.channel.ChannelOption.IP_TOS;
import static io.netty.channel.ChannelOption.SO_BROADCAST;
import static io.netty.channel.ChannelOption.SO_RCVBUF;
import static io.netty.channel.ChannelOption.SO_REUSEADDR;
import static io.netty.channel.ChannelOption.SO_SNDBUF;

/**
 * The {@link DatagramChannelConfig} of a {@link UserUdpChannel}. SO_RCVBUF bounds the datagrams the stack
 * holds for the channel (further ones are dropped and counted), SO_BROADCAST allows sending to broadcast
 * addresses, SO_REUSEADDR lets sockets that all set it share an address and port, IP_TOS is the TOS byte of
 * sent datagrams; they may be set before the channel is registered and are applied when it is. SO_SNDBUF is
 * recorded (the stack keeps no per-socket send queue). As in Netty's NIO and epoll datagram channels, the
 * default RCVBUF_ALLOCATOR gives 2048-byte buffers, so longer datagrams are truncated: set
 * {@code new FixedRecvByteBufAllocator(65535)} to receive datagrams of any size.
 *
 * <p>Multicast is not supported yet: setting a multicast interface fails; IP_MULTICAST_TTL and
 * IP_MULTICAST_LOOP_DISABLED are recorded only.
 */
public final class UserUdpChannelConfig extends DefaultChannelConfig implements DatagramChannelConfig {
    private final UserUdpChannel channel;
    private volatile int receiveBufferSize = UdpLayer.DEFAULT_RECEIVE_BUFFER;
    private volatile int sendBufferSize = UdpLayer.DEFAULT_SEND_BUFFER;
    private volatile boolean broadcast;
    private volatile boolean reuseAddress;
    private volatile int trafficClass;
    private volatile int multicastTtl = 1;
    private volatile boolean loopbackModeDisabled;
    private volatile boolean activeOnRegistration;

    UserUdpChannelConfig(UserUdpChannel channel) {
        super(channel, new FixedRecvByteBufAllocator(2048));
        this.channel = channel;
    }

    @Override
    @SuppressWarnings("deprecation")
    public Map<ChannelOption<?>, Object> getOptions() {
        return getOptions(super.getOptions(), SO_BROADCAST, SO_RCVBUF, SO_SNDBUF, SO_REUSEADDR, IP_TOS,
                IP_MULTICAST_TTL, IP_MULTICAST_LOOP_DISABLED, DATAGRAM_CHANNEL_ACTIVE_ON_REGISTRATION);
    }

    @SuppressWarnings({"unchecked", "deprecation"})
    @Override
    public <T> T getOption(ChannelOption<T> option) {
        if (option == SO_BROADCAST) {
            return (T) Boolean.valueOf(isBroadcast());
        }
        if (option == SO_RCVBUF) {
            return (T) Integer.valueOf(getReceiveBufferSize());
        }
        if (option == SO_SNDBUF) {
            return (T) Integer.valueOf(getSendBufferSize());
        }
        if (option == SO_REUSEADDR) {
            return (T) Boolean.valueOf(isReuseAddress());
        }
        if (option == IP_TOS) {
            return (T) Integer.valueOf(getTrafficClass());
        }
        if (option == IP_MULTICAST_TTL) {
            return (T) Integer.valueOf(getTimeToLive());
        }
        if (option == IP_MULTICAST_LOOP_DISABLED) {
            return (T) Boolean.valueOf(isLoopbackModeDisabled());
        }
        if (option == IP_MULTICAST_ADDR) {
            return (T) getInterface();
        }
        if (option == IP_MULTICAST_IF) {
            return (T) getNetworkInterface();
        }
        if (option == DATAGRAM_CHANNEL_ACTIVE_ON_REGISTRATION) {
            return (T) Boolean.valueOf(activeOnRegistration);
        }
        return super.getOption(option);
    }

    @SuppressWarnings("deprecation")
    @Override
    public <T> boolean setOption(ChannelOption<T> option, T value) {
        validate(option, value);
        if (option == SO_BROADCAST) {
            setBroadcast((Boolean) value);
        } else if (option == SO_RCVBUF) {
            setReceiveBufferSize((Integer) value);
        } else if (option == SO_SNDBUF) {
            setSendBufferSize((Integer) value);
        } else if (option == SO_REUSEADDR) {
            setReuseAddress((Boolean) value);
        } else if (option == IP_TOS) {
            setTrafficClass((Integer) value);
        } else if (option == IP_MULTICAST_TTL) {
            setTimeToLive((Integer) value);
        } else if (option == IP_MULTICAST_LOOP_DISABLED) {
            setLoopbackModeDisabled((Boolean) value);
        } else if (option == IP_MULTICAST_ADDR) {
            setInterface((InetAddress) value);
        } else if (option == IP_MULTICAST_IF) {
            setNetworkInterface((NetworkInterface) value);
        } else if (option == DATAGRAM_CHANNEL_ACTIVE_ON_REGISTRATION) {
            if (channel.isRegistered()) {
                throw new IllegalStateException("DATAGRAM_CHANNEL_ACTIVE_ON_REGISTRATION can only be changed before "
                        + "the channel is registered");
            }
            activeOnRegistration = (Boolean) value;
        } else {
            return super.setOption(option, value);
        }
        return true;
    }

    /** Whether the channel is active once registered, before bind (DATAGRAM_CHANNEL_ACTIVE_ON_REGISTRATION). */
    boolean isActiveOnRegistration() {
        return activeOnRegistration;
    }

    /** Applies the socket options to the stack's socket (on the event loop). */
    void applyTo(UdpSocket s) {
        s.receiveBufferSize(receiveBufferSize);
        s.sendBufferSize(sendBufferSize);
        s.broadcast(broadcast);
        s.reuseAddress(reuseAddress);
        s.tos(trafficClass);
    }

    @Override
    public int getSendBufferSize() {
        return sendBufferSize;
    }

    @Override
    public UserUdpChannelConfig setSendBufferSize(int sendBufferSize) {
        if (sendBufferSize <= 0) {
            throw new IllegalArgumentException("SO_SNDBUF must be positive: " + sendBufferSize);
        }
        this.sendBufferSize = sendBufferSize;
        channel.configChanged();
        return this;
    }

    @Override
    public int getReceiveBufferSize() {
        return receiveBufferSize;
    }

    @Override
    public UserUdpChannelConfig setReceiveBufferSize(int receiveBufferSize) {
        if (receiveBufferSize <= 0) {
            throw new IllegalArgumentException("SO_RCVBUF must be positive: " + receiveBufferSize);
        }
        this.receiveBufferSize = receiveBufferSize;
        channel.configChanged();
        return this;
    }

    @Override
    public int getTrafficClass() {
        return trafficClass;
    }

    /** IP_TOS: the TOS byte (DSCP and ECN bits) of the datagrams sent. */
    @Override
    public UserUdpChannelConfig setTrafficClass(int trafficClass) {
        if (trafficClass < 0 || trafficClass > 255) {
            throw new IllegalArgumentException("IP_TOS must be 0..255: " + trafficClass);
        }
        this.trafficClass = trafficClass;
        channel.configChanged();
        return this;
    }

    @Override
    public boolean isReuseAddress() {
        return reuseAddress;
    }

    /** SO_REUSEADDR: applies to binds made after it is set. */
    @Override
    public UserUdpChannelConfig setReuseAddress(boolean reuseAddress) {
        this.reuseAddress = reuseAddress;
        channel.configChanged();
        return this;
    }

    @Override
    public boolean isBroadcast() {
        return broadcast;
    }

    /** SO_BROADCAST: without it, sending to a broadcast address fails with "Permission denied", as on Linux. */
    @Override
    public UserUdpChannelConfig setBroadcast(boolean broadcast) {
        this.broadcast = broadcast;
        channel.configChanged();
        return this;
    }

    @Override
    public boolean isLoopbackModeDisabled() {
        return loopbackModeDisabled;
    }

    /** IP_MULTICAST_LOOP (recorded; multicast is not supported yet). */
    @Override
    public UserUdpChannelConfig setLoopbackModeDisabled(boolean loopbackModeDisabled) {
        this.loopbackModeDisabled = loopbackModeDisabled;
        return this;
    }

    @Override
    public int getTimeToLive() {
        return multicastTtl;
    }

    /** IP_MULTICAST_TTL (recorded; multicast is not supported yet). */
    @Override
    public UserUdpChannelConfig setTimeToLive(int ttl) {
        if (ttl < 0 || ttl > 255) {
            throw new IllegalArgumentException("IP_MULTICAST_TTL must be 0..255: " + ttl);
        }
        this.multicastTtl = ttl;
        return this;
    }

    /** No multicast interface is ever set: null. */
    @Override
    public InetAddress getInterface() {
        return null;
    }

    @Override
    public UserUdpChannelConfig setInterface(InetAddress interfaceAddress) {
        throw UserUdpChannel.multicastUnsupported("IP_MULTICAST_ADDR");
    }

    /** No multicast interface is ever set: null. */
    @Override
    public NetworkInterface getNetworkInterface() {
        return null;
    }

    @Override
    public UserUdpChannelConfig setNetworkInterface(NetworkInterface networkInterface) {
        throw UserUdpChannel.multicastUnsupported("IP_MULTICAST_IF");
    }

    @Override
    @Deprecated
    public UserUdpChannelConfig setMaxMessagesPerRead(int maxMessagesPerRead) {
        super.setMaxMessagesPerRead(maxMessagesPerRead);
        return this;
    }

    @Override
    public UserUdpChannelConfig setWriteSpinCount(int writeSpinCount) {
        super.setWriteSpinCount(writeSpinCount);
        return this;
    }

    @Override
    public UserUdpChannelConfig setConnectTimeoutMillis(int connectTimeoutMillis) {
        super.setConnectTimeoutMillis(connectTimeoutMillis);
        return this;
    }

    @Override
    public UserUdpChannelConfig setAllocator(ByteBufAllocator allocator) {
        super.setAllocator(allocator);
        return this;
    }

    @Override
    public UserUdpChannelConfig setRecvByteBufAllocator(RecvByteBufAllocator allocator) {
        super.setRecvByteBufAllocator(allocator);
        return this;
    }

    @Override
    public UserUdpChannelConfig setAutoRead(boolean autoRead) {
        super.setAutoRead(autoRead);
        return this;
    }

    @Override
    public UserUdpChannelConfig setAutoClose(boolean autoClose) {
        super.setAutoClose(autoClose);
        return this;
    }

    @Override
    public UserUdpChannelConfig setMessageSizeEstimator(MessageSizeEstimator estimator) {
        super.setMessageSizeEstimator(estimator);
        return this;
    }

    @Override
    public UserUdpChannelConfig setWriteBufferWaterMark(WriteBufferWaterMark writeBufferWaterMark) {
        super.setWriteBufferWaterMark(writeBufferWaterMark);
        return this;
    }

    @Override
    protected void autoReadCleared() {
        channel.clearReadPending();
    }
}
