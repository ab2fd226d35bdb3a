package io.usertcp.channel;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.FileRegion;
import io.usertcp.tcp.TcpConnection;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.WritableByteChannel;

/** Lets a {@link FileRegion} write into the connection's send buffer. */
final class ConnectionByteChannel implements WritableByteChannel {
    private final TcpConnection c;

    ConnectionByteChannel(TcpConnection c) {
        this.c = c;
    }

    @Override
    public int write(ByteBuffer src) throws IOException {
        ByteBuf b = Unpooled.wrappedBuffer(src);
        int n = c.write(b);
        src.position(src.position() + n);
        return n;
    }

    @Override
    public boolean isOpen() {
        return !c.isClosed();
    }

    @Override
    public void close() {
    }
}
