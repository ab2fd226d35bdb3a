package io.usertcp.channel;

import io.netty.channel.ChannelId;
import io.netty.channel.DefaultChannelId;

import java.util.concurrent.atomic.AtomicLong;

/**
 * The {@link ChannelId} of a usertcp channel: a number from a counter of the JVM, unique within it, and in its long
 * text behind the long text of a {@link DefaultChannelId} made once per JVM (machine, process, time, random), unique
 * beyond it. Half the size of a {@code DefaultChannelId} and nothing to compute (issue #12: at most 2 KiB of heap per
 * idle connection).
 */
final class UserChannelId implements ChannelId {
    private static final long serialVersionUID = 1L;
    private static final String JVM = DefaultChannelId.newInstance().asLongText();
    private static final AtomicLong NEXT = new AtomicLong();

    private final long id;

    private UserChannelId(long id) {
        this.id = id;
    }

    /** A new id. */
    static UserChannelId next() {
        return new UserChannelId(NEXT.incrementAndGet());
    }

    @Override
    public String asShortText() {
        return Long.toHexString(id);
    }

    @Override
    public String asLongText() {
        return JVM + "-" + Long.toHexString(id);
    }

    @Override
    public int compareTo(ChannelId o) {
        if (o instanceof UserChannelId) {
            return Long.compare(id, ((UserChannelId) o).id);
        }
        return asLongText().compareTo(o.asLongText());
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof UserChannelId && ((UserChannelId) o).id == id;
    }

    @Override
    public int hashCode() {
        return (int) ((id * 0x9E3779B97F4A7C15L) >>> 32); // consecutive ids spread over a table
    }

    @Override
    public String toString() {
        return asShortText();
    }
}
