package io.usertcp.channel;

import io.netty.channel.Channel;
import io.netty.channel.ChannelOutboundBuffer;
import io.netty.channel.ChannelPromise;
import io.netty.channel.EventLoop;
import io.netty.channel.RecvByteBufAllocator;

import java.net.SocketAddress;

/**
 * The {@link Channel.Unsafe} of a {@link UserTcpChannel}: its own unsafe, except that an accepted child registers
 * with its home loop, the one whose stack holds its connection, when Netty picks another loop of the same group
 * ({@code ServerBootstrap} registers children with {@code childGroup.register(child)}, i.e. the group's next loop).
 * So a connection stays on the loop whose queue received its SYN, where the tun driver keeps sending its packets,
 * as with {@code SO_REUSEPORT} (issue #12). A loop of another group is left as it is (and refused at registration,
 * with the reason).
 */
final class HomeLoopUnsafe implements Channel.Unsafe {
    private final Channel.Unsafe delegate;
    private final EventLoop home;

    /** @param home the loop the channel must register with, in place of any other loop of its group */
    HomeLoopUnsafe(Channel.Unsafe delegate, EventLoop home) {
        this.delegate = delegate;
        this.home = home;
    }

    @Override
    public void register(EventLoop loop, ChannelPromise promise) {
        EventLoop h = home;
        if (h != null && h != loop && loop != null && h.parent() != null && h.parent() == loop.parent()) {
            loop = h;
        }
        delegate.register(loop, promise);
    }

    @Override
    public RecvByteBufAllocator.Handle recvBufAllocHandle() {
        return delegate.recvBufAllocHandle();
    }

    @Override
    public SocketAddress localAddress() {
        return delegate.localAddress();
    }

    @Override
    public SocketAddress remoteAddress() {
        return delegate.remoteAddress();
    }

    @Override
    public void bind(SocketAddress local, ChannelPromise promise) {
        delegate.bind(local, promise);
    }

    @Override
    public void connect(SocketAddress remote, SocketAddress local, ChannelPromise promise) {
        delegate.connect(remote, local, promise);
    }

    @Override
    public void disconnect(ChannelPromise promise) {
        delegate.disconnect(promise);
    }

    @Override
    public void close(ChannelPromise promise) {
        delegate.close(promise);
    }

    @Override
    public void closeForcibly() {
        delegate.closeForcibly();
    }

    @Override
    public void deregister(ChannelPromise promise) {
        delegate.deregister(promise);
    }

    @Override
    public void beginRead() {
        delegate.beginRead();
    }

    @Override
    public void write(Object msg, ChannelPromise promise) {
        delegate.write(msg, promise);
    }

    @Override
    public void flush() {
        delegate.flush();
    }

    @Override
    public ChannelPromise voidPromise() {
        return delegate.voidPromise();
    }

    @Override
    public ChannelOutboundBuffer outboundBuffer() {
        return delegate.outboundBuffer();
    }
}
