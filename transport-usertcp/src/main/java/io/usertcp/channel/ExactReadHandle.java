package io.usertcp.channel;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.ChannelConfig;
import io.netty.channel.RecvByteBufAllocator;
import io.netty.util.UncheckedBooleanSupplier;
import io.usertcp.tcp.TcpConnection;

/**
 * The read handle of the stream channels whose application kept Netty's default RecvByteBufAllocator: one per event
 * loop, bound to a connection at the start of each read loop. Where Netty's adaptive handle guesses a buffer size
 * from past reads, the stack knows how many bytes are waiting: each buffer is sized to them, up to
 * {@value #MAX_READ} bytes. A read loop ends as with Netty's handle: when AUTO_READ is off, a read did not fill its
 * buffer, MAX_MESSAGES_PER_READ buffers were read, or nothing was. A channel then keeps no handle of its own (issue
 * #12: Netty's is ~110 bytes per channel, with its adaptive state and a supplier).
 *
 * <p>Used on the event loop only; a read loop never runs inside another one (the stack's events are dispatched
 * between batches of input, never from a channel's handlers), so one handle per loop serves all its channels.
 */
final class ExactReadHandle implements RecvByteBufAllocator.ExtendedHandle {
    /** The largest buffer (Netty's adaptive allocator's maximum). */
    static final int MAX_READ = 65536;

    private TcpConnection connection;
    private ChannelConfig config;
    private boolean respectMaybeMoreData;
    private int maxMessages;
    private int messages;
    private int totalBytes;
    private int attempted;
    private int last;
    private final UncheckedBooleanSupplier filled = () -> attempted == last;

    /** This handle, for a read loop over {@code c}. */
    ExactReadHandle bind(TcpConnection c) {
        this.connection = c;
        return this;
    }

    @Override
    public ByteBuf allocate(ByteBufAllocator alloc) {
        return alloc.ioBuffer(guess());
    }

    @Override
    public int guess() {
        TcpConnection c = connection;
        return Math.max(1, Math.min(c == null ? 0 : c.readableBytes(), MAX_READ));
    }

    @Override
    public void reset(ChannelConfig config) {
        this.config = config;
        UserTcpChannelConfig c = (UserTcpChannelConfig) config;
        respectMaybeMoreData = c.respectMaybeMoreData();
        maxMessages = c.readMessagesLimit();
        messages = 0;
        totalBytes = 0;
        attempted = 0;
        last = 0;
    }

    @Override
    public void incMessagesRead(int numMessages) {
        messages += numMessages;
    }

    @Override
    public void lastBytesRead(int bytes) {
        last = bytes;
        if (bytes > 0) {
            totalBytes += bytes;
        }
    }

    @Override
    public int lastBytesRead() {
        return last;
    }

    @Override
    public void attemptedBytesRead(int bytes) {
        attempted = bytes;
    }

    @Override
    public int attemptedBytesRead() {
        return attempted;
    }

    @Override
    public boolean continueReading() {
        return continueReading(filled);
    }

    @Override
    public boolean continueReading(UncheckedBooleanSupplier maybeMoreDataSupplier) {
        return config.isAutoRead() && (!respectMaybeMoreData || maybeMoreDataSupplier.get())
                && messages < maxMessages && totalBytes > 0;
    }

    @Override
    public void readComplete() {
        connection = null;
        config = null;
    }
}
