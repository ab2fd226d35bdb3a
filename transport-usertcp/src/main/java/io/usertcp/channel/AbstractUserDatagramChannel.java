package io.usertcp.channel;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.ChannelPromise;
import io.netty.channel.RecvByteBufAllocator;
import io.netty.channel.socket.DatagramChannel;
import io.netty.channel.socket.DatagramPacket;
import io.netty.util.UncheckedBooleanSupplier;
import io.usertcp.udp.UdpSocket;
import io.usertcp.wire.IpAddress;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.NetworkInterface;

/**
 * A usertcp datagram channel over a {@link UdpSocket} (as Netty's {@code AbstractEpollChannel} side of
 * {@code EpollDatagramChannel}): the read loop that turns queued datagrams into {@link DatagramPacket}s, and the
 * multicast operations, which usertcp does not support yet. Bind, connect and write are {@link UserUdpChannel}'s.
 */
abstract class AbstractUserDatagramChannel extends AbstractUserChannel implements DatagramChannel {
    UdpSocket socket;
    /** The last sender seen, reused while the same peer keeps sending (no address objects per datagram). */
    private InetSocketAddress lastSender;
    private long lastSenderHi;
    private long lastSenderLo;

    AbstractUserDatagramChannel() {
        super(null);
    }

    @Override
    public InetSocketAddress localAddress() {
        return (InetSocketAddress) super.localAddress();
    }

    @Override
    public InetSocketAddress remoteAddress() {
        return (InetSocketAddress) super.remoteAddress();
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
        h.reset(config());
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
                ByteBuf b = h.allocate(config().getAllocator());
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
}
