package io.usertcp.channel;

import io.netty.buffer.ByteBuf;
import io.netty.channel.AddressedEnvelope;
import io.netty.channel.ChannelMetadata;
import io.netty.channel.ChannelOutboundBuffer;
import io.netty.channel.ChannelPromise;
import io.netty.channel.socket.DatagramChannel;
import io.netty.channel.socket.DatagramPacket;
import io.netty.util.internal.StringUtil;
import io.usertcp.stack.Stack;
import io.usertcp.udp.UdpSocket;
import io.usertcp.wire.IpAddress;

import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.SocketException;
import java.nio.channels.AlreadyConnectedException;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.NotYetConnectedException;
import java.nio.channels.UnresolvedAddressException;

/**
 * A UDP socket of a usertcp stack as a Netty {@link DatagramChannel}, for {@link io.netty.bootstrap.Bootstrap}
 * on an event loop made by {@link UserTcpIoHandler#newFactory}. It follows Netty's NIO and epoll datagram
 * channels:
 * <ul>
 *   <li>it reads {@link DatagramPacket}s (sender, and the channel's local address as recipient) and writes
 *       {@link DatagramPacket}s, {@link AddressedEnvelope}s of {@link ByteBuf}, or, once connected, plain
 *       {@link ByteBuf}s; an empty buffer is not sent;</li>
 *   <li>it is active once bound (or on registration with DATAGRAM_CHANNEL_ACTIVE_ON_REGISTRATION); connect
 *       binds an ephemeral port if needed and filters what is received to the peer; disconnect keeps the
 *       binding;</li>
 *   <li>a write error fails that write only; an ICMP port unreachable for a connected channel is reported as
 *       a {@link java.net.PortUnreachableException}: to exceptionCaught when the channel reads, else to the
 *       next write; the channel stays open;</li>
 *   <li>reads go through the RCVBUF_ALLOCATOR (2048-byte buffers by default: longer datagrams are cut, as
 *       recvmsg cuts them); with AUTO_READ off datagrams wait in the stack up to SO_RCVBUF, then are dropped.</li>
 * </ul>
 * Datagrams larger than the link's MTU are sent as IPv4 fragments; received fragments are reassembled.
 * Multicast is not supported yet: joinGroup, leaveGroup and block return futures failed with
 * {@link UnsupportedOperationException}. IPv4 only.
 */
public final class UserUdpChannel extends AbstractUserDatagramChannel implements DatagramChannel {
    private static final ChannelMetadata METADATA = new ChannelMetadata(true, 16);
    private static final String EXPECTED_TYPES = " (expected: " + StringUtil.simpleClassName(DatagramPacket.class)
            + ", " + StringUtil.simpleClassName(AddressedEnvelope.class) + '<'
            + StringUtil.simpleClassName(ByteBuf.class) + ", " + StringUtil.simpleClassName(InetSocketAddress.class)
            + ">, " + StringUtil.simpleClassName(ByteBuf.class) + ')';

    private final UserUdpChannelConfig config = new UserUdpChannelConfig(this);
    private volatile boolean bound;
    private volatile boolean connected;

    /** A new, unbound channel. */
    public UserUdpChannel() {
        super();
    }

    @Override
    public UserUdpChannelConfig config() {
        return config;
    }

    @Override
    public ChannelMetadata metadata() {
        return METADATA;
    }

    @Override
    public boolean isActive() {
        return isOpen() && (bound || config.isActiveOnRegistration() && isRegistered());
    }

    @Override
    public boolean isConnected() {
        return connected;
    }

    @Override
    protected AbstractUnsafe newUnsafe() {
        return new UdpUnsafe();
    }

    @Override
    String checkOwner(Stack stack) {
        UdpSocket s = socket;
        return s == null || s.layer() == stack.udp() ? null
                : "this UDP socket belongs to the usertcp stack of another event loop: a usertcp channel can only be "
                + "served by the loop that owns its stack";
    }

    @Override
    void registered(UserTcpIoRegistration r) {
        UdpSocket s = socket;
        if (s == null) {
            s = stack().udp().open();
            socket = s;
        }
        r.watch(s);
        config.applyTo(s);
    }

    void configChanged() {
        UdpSocket s = socket;
        if (s != null && isRegistered()) {
            if (eventLoop().inEventLoop()) {
                config.applyTo(s);
            } else {
                eventLoop().execute(() -> config.applyTo(s));
            }
        }
    }

    // ------------------------------------------------------------------ bind / connect

    /** {@code a} as a resolved {@link InetSocketAddress}; unresolved is NIO's {@link UnresolvedAddressException}. */
    private static InetSocketAddress checkAddress(SocketAddress a) {
        InetSocketAddress i = checkAddress(a, true);
        if (i.isUnresolved()) {
            throw new UnresolvedAddressException();
        }
        return i;
    }

    private UdpSocket socket() throws ClosedChannelException {
        UdpSocket s = socket;
        if (s == null || !isOpen()) {
            throw new ClosedChannelException();
        }
        return s;
    }

    @Override
    protected void doBind(SocketAddress local) throws Exception {
        InetSocketAddress a = checkAddress(local);
        UdpSocket s = socket();
        s.bind(localIp(a), a.getPort());
        localAddress = s.localAddress();
        bound = true;
    }

    @SuppressWarnings("deprecation")
    private void doConnect(SocketAddress remote, SocketAddress local) throws Exception {
        InetSocketAddress r = checkAddress(remote);
        if (r.getAddress().isAnyLocalAddress()) {
            throw new SocketException("Invalid argument: cannot connect to the wildcard address " + r);
        }
        if (connected) {
            throw new AlreadyConnectedException();
        }
        if (local != null) {
            doBind(local);
        }
        UdpSocket s = socket();
        s.connect(IpAddress.of(r.getAddress()), r.getPort());
        remoteAddress = r;
        localAddress = s.localAddress(); // the route fixed the local address
        connected = true;
        bound = true;
        invalidateLocalAddress();
        invalidateRemoteAddress();
    }

    @Override
    protected void doDisconnect() throws Exception {
        UdpSocket s = socket;
        connected = false;
        remoteAddress = null;
        if (s != null) {
            s.disconnect();
            localAddress = s.localAddress();
        }
    }

    @Override
    protected void doClose() {
        markClosed();
        bound = false;
        connected = false;
        UdpSocket s = socket;
        if (s != null) {
            s.close();
        }
    }

    // ------------------------------------------------------------------ write

    @Override
    protected Object filterOutboundMessage(Object msg) {
        if (msg instanceof DatagramPacket) {
            checkUnresolved((DatagramPacket) msg);
            return msg;
        }
        if (msg instanceof ByteBuf) {
            return msg;
        }
        if (msg instanceof AddressedEnvelope) {
            @SuppressWarnings("unchecked")
            AddressedEnvelope<Object, SocketAddress> e = (AddressedEnvelope<Object, SocketAddress>) msg;
            checkUnresolved(e);
            if (e.content() instanceof ByteBuf && (e.recipient() == null || e.recipient() instanceof InetSocketAddress)) {
                return e;
            }
        }
        throw new UnsupportedOperationException("unsupported message type: " + StringUtil.simpleClassName(msg)
                + EXPECTED_TYPES);
    }

    private static void checkUnresolved(AddressedEnvelope<?, ?> envelope) {
        if (envelope.recipient() instanceof InetSocketAddress
                && ((InetSocketAddress) envelope.recipient()).isUnresolved()) {
            throw new UnresolvedAddressException();
        }
    }

    @Override
    protected void doWrite(ChannelOutboundBuffer in) throws Exception {
        UdpSocket s = socket();
        for (;;) {
            Object msg = in.current();
            if (msg == null) {
                break;
            }
            try {
                ByteBuf data;
                InetSocketAddress to;
                if (msg instanceof AddressedEnvelope) {
                    @SuppressWarnings("unchecked")
                    AddressedEnvelope<ByteBuf, InetSocketAddress> e = (AddressedEnvelope<ByteBuf, InetSocketAddress>) msg;
                    data = e.content();
                    to = e.recipient();
                } else {
                    data = (ByteBuf) msg;
                    to = null;
                }
                if (data.isReadable()) { // as NIO and epoll: an empty datagram is not sent
                    if (to == null) {
                        if (!connected) {
                            throw new NotYetConnectedException();
                        }
                        s.send(data, (IpAddress) null, 0);
                    } else {
                        InetSocketAddress a = checkAddress(to);
                        s.send(data, localIp(a), a.getPort());
                    }
                    if (!bound) {
                        localAddress = s.localAddress(); // the first send bound an ephemeral port
                        bound = true;
                    }
                }
                in.remove();
            } catch (Exception e) {
                in.remove(e); // as NIO and epoll: a datagram channel goes on with the next message
            }
        }
    }

    private final class UdpUnsafe extends UserUnsafe {
        @Override
        public void connect(SocketAddress remote, SocketAddress local, ChannelPromise promise) {
            // As NIO's datagram channel: connect completes at once (it only sets the peer filter).
            if (!promise.setUncancellable() || !ensureOpen(promise)) {
                return;
            }
            boolean wasActive = isActive();
            try {
                doConnect(remote, local);
            } catch (Throwable t) {
                promise.tryFailure(annotateConnectException(t, remote));
                closeIfClosed();
                return;
            }
            boolean set = promise.trySuccess();
            if (!wasActive && isActive()) {
                pipeline().fireChannelActive();
            }
            if (!set) {
                close(voidPromise());
            }
        }
    }
}
