package io.usertcp.channel;

/**
 * A user event ({@code userEventTriggered}) fired on a {@link UserTcpChannel} when the peer's urgent pointer
 * advances beyond the data read so far (RFC 9293 §3.8.5; MUST-30, MUST-31, MUST-32). Urgent data is delivered in line,
 * in order, with the rest of the stream (the semantics of {@code SO_OOBINLINE}); this event says how many of the
 * bytes still to be read the peer marked urgent. {@link UserTcpChannel#urgentBytes()} tells the current figure at
 * any time (MUST-33). Kernel transports never report urgent data to Netty, and Netty has no API to send it, so
 * applications that ignore this event see the stream as epoll would with {@code SO_OOBINLINE} set.
 */
public final class UrgentDataEvent {
    private final int urgentBytes;

    UrgentDataEvent(int urgentBytes) {
        this.urgentBytes = urgentBytes;
    }

    /** Bytes of urgent data not yet read when the event was fired. */
    public int urgentBytes() {
        return urgentBytes;
    }

    @Override
    public String toString() {
        return "UrgentDataEvent(" + urgentBytes + " urgent bytes to read)";
    }
}
