package io.usertcp.channel;

import io.netty.buffer.ByteBuf;
import io.netty.channel.AddressedEnvelope;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelMetadata;
import io.netty.channel.ChannelOutboundBuffer;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.ChannelPromise;
import io.netty.channel.RecvByteBufAllocator;
import io.netty.channel.socket.DatagramChannel;
import io.netty.channel.socket.DatagramPacket;
import io.netty.util.UncheckedBooleanSupplier;
import io.netty.util.internal.StringUtil;
import io.usertcp.stack.Stack;
import io.usertcp.udp.UdpSocket;
import io.usertcp.wire.IpAddress;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.NetworkInterface;
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
public final class UserUdpChannel extends AbstractUserChannel implements DatagramChannel {
    private static final ChannelMetadata METADATA = new ChannelMetadata(true, 16);
    private static final String EXPECTED_TYPES = " (expected: " + StringUtil.simpleClassName(DatagramPacket.class)
            + ", " + StringUtil.simpleClassName(AddressedEnvelope.class) + '<'
            + StringUtil.simpleClassName(ByteBuf.class) + ", " + StringUtil.simpleClassName(InetSocketAddress.class)
            + ">, " + StringUtil.simpleClassName(ByteBuf.class) + ')';

    private final UserUdpChannelConfig config = new UserUdpChannelConfig(this);
    private UdpSocket socket;
    private volatile boolean bound;
    private volatile boolean connected;
    /** The last sender seen, reused while the same peer keeps sending (no address objects per datagram). */
    private InetSocketAddress lastSender;
    private long lastSenderHi;
    private long lastSenderLo;

    /** A new, unbound channel. */
    public UserUdpChannel() {
        super(null);
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
    public InetSocketAddress localAddress() {
        return (InetSocketAddress) super.localAddress();
    }

    @Override
    public InetSocketAddress remoteAddress() {
        return (InetSocketAddress) super.remoteAddress();
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

    // ------------------------------------------------------------------ read

    /*
     * As epoll's datagram channel: a read loop runs when datagrams (or an ICMP error) are there and a read is
     * pending or AUTO_READ is on; each datagram is one DatagramPacket in a buffer from the RecvByteBufAllocator;
     * an error ends the loop and goes to exceptionCaught after channelReadComplete, and the channel stays open.
     */

    /** READ or ERROR ready: a read loop, if a read is wanted (an error waits for one, or for a write). */
    @Override
    void handleEvent(int ops) {
        if (isRegistered()) {
            readReady();
        }
    }

    @Override
    boolean hasReadWork() {
        UdpSocket s = socket;
        return s != null && hasReadWork(s);
    }

    private static boolean hasReadWork(UdpSocket s) {
        return s.queuedDatagrams() > 0 || s.hasError();
    }

    @Override
    void readReady() {
        UdpSocket s = socket;
        if (s == null || !isOpen() || !hasReadWork(s) || !wantsRead()) {
            return; // AUTO_READ off and nobody asked: datagrams wait (up to SO_RCVBUF), an error waits for a write
        }
        ChannelPipeline p = pipeline();
        RecvByteBufAllocator.Handle h = unsafe().recvBufAllocHandle();
        h.reset(config);
        Throwable error = null;
        try {
            do {
                if (s.hasError()) {
                    error = s.takeError();
                    readPending = false;
                    break;
                }
                if (s.queuedDatagrams() == 0) {
                    break;
                }
                ByteBuf b = h.allocate(config.getAllocator());
                h.attemptedBytesRead(b.writableBytes());
                InetSocketAddress sender = sender(s.peekSourceHi(), s.peekSourceLo(), s.peekSourcePort());
                h.lastBytesRead(s.receive(b));
                h.incMessagesRead(1);
                readPending = false;
                p.fireChannelRead(new DatagramPacket(b, localAddress(), sender));
                if (!isOpen()) {
                    break;
                }
            } while (continueReading(h));
        } catch (Throwable t) {
            error = t;
        }
        h.readComplete();
        p.fireChannelReadComplete();
        if (error != null) {
            p.fireExceptionCaught(error); // as NIO and epoll: a datagram channel is not closed on read errors
        }
        if (isOpen() && hasReadWork(s) && wantsRead()) {
            scheduleRead(); // more than one read's worth: continue after other work (level-triggered)
        }
        readDone();
    }

    private static boolean continueReading(RecvByteBufAllocator.Handle h) {
        // As NIO's and epoll's datagram channels: reading less than the buffer holds does not mean there is no more.
        return h instanceof RecvByteBufAllocator.ExtendedHandle
                ? ((RecvByteBufAllocator.ExtendedHandle) h).continueReading(UncheckedBooleanSupplier.TRUE_SUPPLIER)
                : h.continueReading();
    }

    private InetSocketAddress sender(long hi, long lo, int port) {
        InetSocketAddress last = lastSender;
        if (last != null && last.getPort() == port && lastSenderHi == hi && lastSenderLo == lo) {
            return last; // a stream of datagrams from one peer shares one address object
        }
        last = new InetSocketAddress(IpAddress.of(hi, lo).toInet(), port);
        lastSender = last;
        lastSenderHi = hi;
        lastSenderLo = lo;
        return last;
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

    // ------------------------------------------------------------------ multicast: not supported

    static UnsupportedOperationException multicastUnsupported(String what) {
        return new UnsupportedOperationException(what + ": multicast is not supported by usertcp yet "
                + "(the stack has no IGMP); use unicast or broadcast");
    }

    private ChannelFuture multicast(String what, ChannelPromise promise) {
        promise.setFailure(multicastUnsupported(what));
        return promise;
    }

    @Override
    public ChannelFuture joinGroup(InetAddress multicastAddress) {
        return joinGroup(multicastAddress, newPromise());
    }

    @Override
    public ChannelFuture joinGroup(InetAddress multicastAddress, ChannelPromise promise) {
        return multicast("joinGroup", promise);
    }

    @Override
    public ChannelFuture joinGroup(InetSocketAddress multicastAddress, NetworkInterface networkInterface) {
        return joinGroup(multicastAddress, networkInterface, newPromise());
    }

    @Override
    public ChannelFuture joinGroup(InetSocketAddress multicastAddress, NetworkInterface networkInterface,
                                   ChannelPromise promise) {
        return multicast("joinGroup", promise);
    }

    @Override
    public ChannelFuture joinGroup(InetAddress multicastAddress, NetworkInterface networkInterface, InetAddress source) {
        return joinGroup(multicastAddress, networkInterface, source, newPromise());
    }

    @Override
    public ChannelFuture joinGroup(InetAddress multicastAddress, NetworkInterface networkInterface, InetAddress source,
                                   ChannelPromise promise) {
        return multicast("joinGroup", promise);
    }

    @Override
    public ChannelFuture leaveGroup(InetAddress multicastAddress) {
        return leaveGroup(multicastAddress, newPromise());
    }

    @Override
    public ChannelFuture leaveGroup(InetAddress multicastAddress, ChannelPromise promise) {
        return multicast("leaveGroup", promise);
    }

    @Override
    public ChannelFuture leaveGroup(InetSocketAddress multicastAddress, NetworkInterface networkInterface) {
        return leaveGroup(multicastAddress, networkInterface, newPromise());
    }

    @Override
    public ChannelFuture leaveGroup(InetSocketAddress multicastAddress, NetworkInterface networkInterface,
                                    ChannelPromise promise) {
        return multicast("leaveGroup", promise);
    }

    @Override
    public ChannelFuture leaveGroup(InetAddress multicastAddress, NetworkInterface networkInterface,
                                    InetAddress source) {
        return leaveGroup(multicastAddress, networkInterface, source, newPromise());
    }

    @Override
    public ChannelFuture leaveGroup(InetAddress multicastAddress, NetworkInterface networkInterface,
                                    InetAddress source, ChannelPromise promise) {
        return multicast("leaveGroup", promise);
    }

    @Override
    public ChannelFuture block(InetAddress multicastAddress, NetworkInterface networkInterface,
                               InetAddress sourceToBlock) {
        return block(multicastAddress, networkInterface, sourceToBlock, newPromise());
    }

    @Override
    public ChannelFuture block(InetAddress multicastAddress, NetworkInterface networkInterface,
                               InetAddress sourceToBlock, ChannelPromise promise) {
        return multicast("block", promise);
    }

    @Override
    public ChannelFuture block(InetAddress multicastAddress, InetAddress sourceToBlock) {
        return block(multicastAddress, sourceToBlock, newPromise());
    }

    @Override
    public ChannelFuture block(InetAddress multicastAddress, InetAddress sourceToBlock, ChannelPromise promise) {
        return multicast("block", promise);
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
