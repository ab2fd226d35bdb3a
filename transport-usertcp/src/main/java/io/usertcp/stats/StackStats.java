package io.usertcp.stats;

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
    /** Frames not queued behind an unresolved address: its queue (frames or bytes) or all queues were full. */
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
    /** Datagrams dropped because the stack's memory budget had no room for them ({@link MemoryBudget}). */
    public long dropUdpMemory;
    /** ICMP errors sent (port unreachable, reassembly time exceeded), and those the rate limit held back. */
    public long icmpErrorsOut;
    public long icmpErrorsRateLimited;
    /** ICMP errors received. */
    public long icmpErrorsIn;

    // IPv6 fragment reassembly (RFC 8200 §4.5)
    /** IPv6 fragments taken by reassembly, atomic fragments included. */
    public long ip6FragmentsIn;
    /** IPv6 datagrams reassembled from several fragments and delivered. */
    public long ip6Reassembled;
    /** Atomic fragments (offset 0, M clear) delivered as whole datagrams on their own (RFC 6946). */
    public long ip6AtomicFragments;
    /** IPv6 fragments dropped alone: exact duplicates, and the later fragments of a discarded datagram. */
    public long ip6FragDropped;
    /**
     * IPv6 fragments refused as malformed: a length not a multiple of 8 with M set, a datagram over 65535
     * bytes, two different ends, data past the end.
     */
    public long ip6FragMalformed;
    /** IPv6 first fragments without the whole header chain up to the upper-layer header (RFC 7112). */
    public long ip6FragIncompleteChain;
    /** IPv6 datagrams discarded because fragments overlapped (RFC 5722). */
    public long ip6FragOverlap;
    /** IPv6 datagrams not complete within the reassembly timeout. */
    public long ip6FragTimeouts;
    /** IPv6 fragments refused and datagrams evicted to keep reassembly within its memory bound. */
    public long ip6FragMemory;
    /** IPv6 datagrams with more fragments than reassembly accepts. */
    public long ip6FragTooMany;

    // IPv6, NDP and ICMP errors into TCP (issue #5)
    /** IPv6 packets dropped as malformed (bad version or length, bad extension headers, bad addresses). */
    public long dropIp6Malformed;
    /** IPv6 packets for an address that is not ours. */
    public long dropIp6NotForUs;
    /** IPv6 packets whose next header no layer takes. */
    public long dropIp6UnknownProtocol;
    /** ICMPv6 messages dropped as malformed (short, bad checksum, NDP rules of RFC 4861 broken). */
    public long dropIcmp6Malformed;
    /** ICMPv6 echo replies sent. */
    public long icmp6EchoReplies;
    /** ICMPv6 error messages received. */
    public long icmp6ErrorsIn;
    /** ICMPv6 error messages sent. */
    public long icmp6ErrorsOut;
    /** Neighbour solicitations sent. */
    public long ndpSolicitationsOut;
    /** Neighbour advertisements sent. */
    public long ndpAdvertisementsOut;
    /** Frames dropped because the neighbour did not answer solicitations. */
    public long dropNdpUnresolved;
    /** IPv6 datagrams sent as fragments. */
    public long ip6Fragmented;
    /** IPv6 fragments sent. */
    public long ip6FragmentsOut;
    /** ICMP errors that reached a TCP connection (quoted sequence number in the window). */
    public long tcpIcmpErrors;
    /** ICMP errors TCP ignored: no connection, or a quoted sequence number outside SND.UNA..SND.NXT. */
    public long tcpIcmpIgnored;
    /** Times a connection's MSS went down because the path MTU did. */
    public long tcpPathMtuReductions;
    /** ACKs not sent for out-of-window pure segments, beyond one per 500 ms per connection (RFC 5961 §7). */
    public long tcpOutOfWindowAcksLimited;


    // A hostile network (issue #10)
    /** ICMP errors about UDP that no connected socket matched (port 0, unconnected sockets, unknown flows). */
    public long udpIcmpIgnored;
    /**
     * Frames whose processing threw: each was dropped, the loop went on (a bug in the stack; the cause is logged
     * at most once a second).
     */
    public long inputExceptions;
    /** Timers whose expiry threw (the connection or entry it served is aborted when it can be named). */
    public long timerExceptions;
    /** Event dispatches to a channel or socket handler that threw. */
    public long dispatchExceptions;
    /** Deferred ACK flushes that threw. */
    public long flushExceptions;
    /**
     * IPv4 datagrams from the link to 127/8 or with one of our own addresses as source (RFC 1122 §3.2.1.3):
     * never answered.
     */
    public long dropIpMartian;
    /** IPv6 packets from the link with one of our own addresses as source. */
    public long dropIp6Martian;
    /** ARP packets whose sender claims 127/8, a group or broadcast address, or one of our addresses. */
    public long dropArpMartian;
    /** RSTs not sent for segments that match nothing, beyond the stack-wide rate (1000/s, bursts of 100). */
    public long tcpResetsRateLimited;
    /** Challenge ACKs (RFC 5961 §7) not sent, beyond the stack-wide rate (1000/s, bursts of 100). */
    public long tcpChallengeAcksLimited;
    /**
     * Connections aborted by the persist timer: a zero window whose probes went unanswered 15 times, or 8 probes
     * after the application closed.
     */
    public long tcpPersistAborts;
    /** TCP segments (in-order or out-of-order data) and SYNs turned away because the memory budget was used up. */
    public long dropTcpMemory;
    /** Connections reset when the application closed them because StackConfig.maxOrphans were still finishing. */
    public long tcpOrphansReset;
    /** Connections closed without TIME-WAIT because StackConfig.maxTimeWait were in it. */
    public long tcpTimeWaitOverflows;
    // SYN queues and SYN cookies (issue #10, RFC 4987)
    /** SYNs that found their listener's SYN queue (or all listeners' together, maxHalfOpen) full. */
    public long tcpSynQueueOverflows;
    /** SYN-ACKs sent with a SYN cookie instead of a SYN queue record. */
    public long tcpSynCookiesSent;
    /** ACKs that returned a valid SYN cookie and made a connection. */
    public long tcpSynCookiesValid;
    /** ACKs to a listener that had sent SYN cookies, with no record and no valid cookie: answered with RST. */
    public long tcpSynCookiesInvalid;
    /** Handshake-completing ACKs dropped because the listener's accept queue was full (the record stays). */
    public long tcpAcceptQueueOverflows;
    /** SYNs dropped because the listener's accept queue was full. */
    public long tcpSynDropsAcceptQueueFull;
    /** SYN-ACKs resent by the SYN queue's timer. */
    public long tcpSynAckRetransmits;
    /** Half-open connections dropped after their last SYN-ACK retransmission went unanswered. */
    public long tcpSynAckRetriesExhausted;
    /** Duplicate SYNs and out-of-window segments for a half-open connection not answered (rate limit). */
    public long tcpSynRecvAnswersLimited;
    /**
     * SYNs to a flooded listener dropped unanswered because the loop was behind its link and their source had not
     * completed a handshake recently (beyond the turn's share for such sources).
     */
    public long tcpSynDropsBehind;
    /** SYN filters handed to the link to drop a flood in the kernel, before the loop reads it (tcp.KernelSynFilter). */
    public long tcpSynFilterUpdates;
    /**
     * SYNs the link's filter dropped in the kernel, estimated from the sample that passed (what passed divided by
     * the pass probability, less what passed).
     */
    public long tcpSynDropsKernelEstimated;
    // Bounds against SACK, hash-flooding and neighbour-cache attacks (issue #10)
    /** SACK blocks ignored because the scoreboard already held its 32 ranges. */
    public long tcpSackBlocksIgnored;
    /** SACK block edges inside a wire segment, rounded off (that segment stays unSACKed). */
    public long tcpSackRoundedOff;
    /** ACKs whose SACK blocks needed more than the per-ACK work budget (the rest waits for the next ACK). */
    public long tcpSackWorkDeferred;
    /** Splits of RACK entries refused at their bound (the entry is treated coarsely). */
    public long tcpRackSplitsRefused;
    /** ARP entries evicted to make room for a new one (INCOMPLETE first, then unused, then least recently used). */
    public long arpEntriesEvicted;
    /** ARP entries that input would have created beyond the rate limit (RFC 6583 §7). */
    public long arpNewEntriesRateLimited;
    /** Neighbour cache entries evicted to make room for a new one. */
    public long ndpEntriesEvicted;
    /** Neighbour cache entries that NDP input would have created beyond the rate limit (RFC 6583 §7). */
    public long ndpNewEntriesRateLimited;
    /** Frames not queued behind an INCOMPLETE neighbour: its queue (frames or bytes) or all queues were full. */
    public long dropNdpQueueFull;

    /** Frames dropped because resolving a new IPv4 address was over the rate (ArpTable.RESOLUTIONS_PER_SECOND). */
    public long arpResolutionsRateLimited;
    /** Frames dropped because resolving a new IPv6 address was over the rate (NeighborCache.RESOLUTIONS_PER_SECOND). */
    public long ndpResolutionsRateLimited;
    /** Times the link failed for good (e.g. its TAP device was deleted): its connections were closed. */
    public long linkFailures;
    /** Packets (segments, datagrams, ARP/NDP frames) this stack handed to another stack of its group (issue #12). */
    public long groupForwarded;
    /** Packets another stack of the group handed to this one. */
    public long groupReceived;
    /** Packets not handed to another stack of the group because its inbox was full. */
    public long dropGroupInboxFull;
    /**
     * Frames the link dropped on their way in because the stack was behind (a full TAP receive ring), brought up
     * to date once a second; stays 0 on links that cannot tell (a tun queue's drops are the device's TX drops).
     */
    public long linkReceiveDrops;
    /** Packets not handed to another stack of the group because that stack was closing (its inbox closed). */
    public long dropGroupMemberClosed;
    /**
     * Queues of the group's multi-queue TAP device that another process holds, as the last check found (a level, not
     * a count; checked once a second by the group's first loop, on its stack): the kernel spreads flows over them too,
     * and the group loses what lands there.
     */
    public long tapForeignQueues;

    /** The sum of all drop counters for malformed or unwanted input. */
    public long droppedInput() {
        return dropShortFrame + dropNotForUs + dropUnknownEtherType + dropArpMalformed + dropIpMalformed
                + dropIpChecksum + dropIpNotForUs + dropIpFragment + dropIpUnknownProtocol + dropIcmpMalformed
                + dropTcpMalformed + dropTcpChecksum + dropTcpNoListener + dropTcpUnacceptable
                + dropIpReassemblyOverlap + dropIpTinyFragment + dropUdpMalformed + dropUdpChecksum + dropUdpNoPort
                + dropIp6Malformed + dropIp6NotForUs + dropIp6UnknownProtocol + dropIcmp6Malformed
                + dropIpMartian + dropIp6Martian + dropArpMartian;
    }

    /** The counters' fields, in declaration order (public long fields only). */
    private static final java.lang.reflect.Field[] COUNTERS = java.util.Arrays.stream(StackStats.class.getFields())
            .filter(f -> f.getType() == long.class && !java.lang.reflect.Modifier.isStatic(f.getModifiers()))
            .toArray(java.lang.reflect.Field[]::new);

    /** The names of every counter, in a stable order (their declaration order). */
    public static java.util.List<String> names() {
        return java.util.Arrays.stream(COUNTERS).map(java.lang.reflect.Field::getName).toList();
    }

    /**
     * The value of the counter {@code name}.
     *
     * @throws IllegalArgumentException if there is no such counter ({@link #names()} lists them)
     */
    public long get(String name) {
        for (java.lang.reflect.Field f : COUNTERS) {
            if (f.getName().equals(name)) {
                return read(f);
            }
        }
        throw new IllegalArgumentException("no counter named '" + name + "': see StackStats.names()");
    }

    /**
     * A copy of every counter, by name in declaration order, zeros included. Take it on the stack's thread for a
     * consistent view (as {@code UserTcp.stats(EventLoop)} does); from another thread each value may be slightly
     * stale.
     */
    public java.util.Map<String, Long> snapshot() {
        java.util.Map<String, Long> m = new java.util.LinkedHashMap<>();
        for (java.lang.reflect.Field f : COUNTERS) {
            m.put(f.getName(), read(f));
        }
        return java.util.Collections.unmodifiableMap(m);
    }

    private long read(java.lang.reflect.Field f) {
        try {
            return f.getLong(this);
        } catch (IllegalAccessException e) {
            throw new AssertionError(e);
        }
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder("StackStats{");
        for (java.lang.reflect.Field f : COUNTERS) {
            long v = read(f);
            if (v != 0) {
                sb.append(f.getName()).append('=').append(v).append(", ");
            }
        }
        if (sb.length() > 11) {
            sb.setLength(sb.length() - 2);
        }
        return sb.append('}').toString();
    }
}
