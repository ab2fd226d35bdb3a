package io.usertcp.sim;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.usertcp.tcp.TcpConnection;
import io.usertcp.tcp.TcpSocket;

import java.io.IOException;
import java.io.UncheckedIOException;

/**
 * One end of a bulk transfer over a {@link TcpConnection}: sends {@code toSend} bytes of a position-keyed
 * pattern, then FIN; reads and checks every byte it receives against the same pattern.
 */
public final class Transfer implements TcpSocket.Handler {
    private final TcpConnection c;
    private final long toSend;
    private final byte[] chunkBytes = new byte[16384];
    private final ByteBuf chunk = Unpooled.wrappedBuffer(chunkBytes);
    private final byte[] inBytes = new byte[65536];
    private final ByteBuf in = Unpooled.wrappedBuffer(inBytes);
    long sent;
    long received;
    long firstBadOffset = -1;
    boolean finSeen;
    boolean closed;

    public Transfer(TcpConnection c, long toSend) {
        this.c = c;
        this.toSend = toSend;
        c.handler(this);
    }

    /** The byte at stream offset {@code i}. */
    public static byte pattern(long i) {
        return (byte) ((i * 2654435761L) >>> 13 ^ (i >>> 9));
    }

    @Override
    public void onTcpEvents(int events) {
        if ((events & (TcpSocket.EV_CONNECTED | TcpSocket.EV_WRITABLE)) != 0) {
            pump();
        }
        if ((events & TcpSocket.EV_READABLE) != 0) {
            drain();
        }
        if ((events & TcpSocket.EV_CLOSED) != 0) {
            closed = true;
        }
    }

    /** Writes as much as the send buffer takes. */
    public void pump() {
        try {
            while (sent < toSend && c.writableBytes() > 0) {
                chunk.clear();
                int n = (int) Math.min(chunk.capacity(), toSend - sent);
                for (int i = 0; i < n; i++) {
                    chunkBytes[i] = pattern(sent + i);
                }
                chunk.writerIndex(n);
                int w = c.write(chunk);
                sent += w;
                if (w < n) {
                    break;
                }
            }
            c.push();
            if (sent == toSend) {
                c.shutdownOutput();
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Reads what is there and checks it. */
    public void drain() {
        for (;;) {
            in.clear();
            int n = c.read(in);
            if (n <= 0) {
                break;
            }
            for (int i = 0; i < n; i++) {
                if (inBytes[i] != pattern(received + i) && firstBadOffset < 0) {
                    firstBadOffset = received + i;
                }
            }
            received += n;
        }
        if (c.isInputEnded()) {
            finSeen = true;
        }
    }

    public long received() {
        return received;
    }

    public long sent() {
        return sent;
    }

    public long firstBadOffset() {
        return firstBadOffset;
    }

    public boolean finSeen() {
        return finSeen;
    }

    /** True once the connection told this end it is gone ({@link TcpSocket#EV_CLOSED}). */
    public boolean closed() {
        return closed;
    }

    /** The connection this end drives. */
    public TcpConnection connection() {
        return c;
    }

    public void release() {
        chunk.release();
        in.release();
    }
}
