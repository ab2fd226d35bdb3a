package io.usertcp.stack;

/**
 * Counters of a stack: what came in, what went out, and every reason a frame was dropped. Written only by
 * the stack's thread; other threads may read them (plain longs: a read may be slightly stale).
 */
public final class StackStats {
    public long framesIn;
    public long framesOut;
    public long framesOutDropped;
    public long bytesIn;
    public long bytesOut;

    public long dropShortFrame;
    public long dropNotForUs;
    public long dropUnknownEtherType;
    public long dropArpMalformed;
    public long dropIpMalformed;
    public long dropIpChecksum;
    public long dropIpNotForUs;
    public long dropIpFragment;
    public long dropIpUnknownProtocol;
    public long dropIcmpMalformed;
    public long dropTcpMalformed;
    public long dropTcpChecksum;
    public long dropTcpNoListener;
    public long dropTcpUnacceptable;
    public long dropTcpListenOverflow;
    public long dropArpQueueFull;
    public long dropArpUnresolved;

    public long arpRequestsOut;
    public long arpRepliesOut;
    public long icmpEchoReplies;

    public long tcpActiveOpens;
    public long tcpPassiveOpens;
    public long tcpSegmentsIn;
    public long tcpSegmentsOut;
    public long tcpRetransmits;
    public long tcpResetsOut;
    public long tcpResetsIn;
    public long tcpOutOfOrderDropped;
    public long tcpTimeouts;

    /** The sum of all drop counters for malformed or unwanted input. */
    public long droppedInput() {
        return dropShortFrame + dropNotForUs + dropUnknownEtherType + dropArpMalformed + dropIpMalformed
                + dropIpChecksum + dropIpNotForUs + dropIpFragment + dropIpUnknownProtocol + dropIcmpMalformed
                + dropTcpMalformed + dropTcpChecksum + dropTcpNoListener + dropTcpUnacceptable;
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder("StackStats{");
        for (java.lang.reflect.Field f : StackStats.class.getFields()) {
            try {
                long v = f.getLong(this);
                if (v != 0) {
                    sb.append(f.getName()).append('=').append(v).append(", ");
                }
            } catch (IllegalAccessException e) {
                throw new AssertionError(e);
            }
        }
        if (sb.length() > 11) {
            sb.setLength(sb.length() - 2);
        }
        return sb.append('}').toString();
    }
}
