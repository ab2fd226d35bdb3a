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
    /** Fragments reassembly dropped alone: duplicates, and the rest of a discarded datagram. */
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
    /** ACKs carrying a D-SACK block (RFC 2883): the peer received something twice. */
    public long tcpDsacksIn;

    // IPv4 fragments, UDP and ICMP errors (issue #5)
    /** Fragments taken by reassembly. */
    public long ipFragmentsIn;
    /** Datagrams reassembled and delivered. */
    public long ipReassembled;
    /** Datagrams discarded because fragments overlapped (RFC 5722). */
    public long dropIpReassemblyOverlap;
    /** Datagrams not complete within the reassembly timeout. */
    public long dropIpReassemblyTimeout;
    /** Fragments refused and datagrams evicted to keep reassembly within its memory bound. */
    public long dropIpReassemblyMemory;
    /** Datagrams with more fragments than reassembly accepts. */
    public long dropIpReassemblyTooMany;
    /** First fragments without their whole transport header (RFC 1858). */
    public long dropIpTinyFragment;
    /** Datagrams sent in fragments, and the fragments. */
    public long ipFragmented;
    public long ipFragmentsOut;
    public long udpDatagramsIn;
    public long udpDatagramsOut;
    public long dropUdpMalformed;
    public long dropUdpChecksum;
    /** Datagrams to a port no socket is bound to. */
    public long dropUdpNoPort;
    /** Datagrams dropped because the socket's receive queue was full (SO_RCVBUF). */
    public long dropUdpReceiveBuffer;
    /** ICMP errors sent (port unreachable, reassembly time exceeded), and those the rate limit held back. */
    public long icmpErrorsOut;
    public long icmpErrorsRateLimited;
    /** ICMP errors received. */
    public long icmpErrorsIn;

    /** The sum of all drop counters for malformed or unwanted input. */
    public long droppedInput() {
        return dropShortFrame + dropNotForUs + dropUnknownEtherType + dropArpMalformed + dropIpMalformed
                + dropIpChecksum + dropIpNotForUs + dropIpFragment + dropIpUnknownProtocol + dropIcmpMalformed
                + dropTcpMalformed + dropTcpChecksum + dropTcpNoListener + dropTcpUnacceptable
                + dropIpReassemblyOverlap + dropIpTinyFragment + dropUdpMalformed + dropUdpChecksum + dropUdpNoPort;
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
