package io.usertcp.script;

/**
 * One TCP segment as it was on the wire, with absolute numbers: either sent by the stack (captured on the
 * peer's end of the cable) or built from a script line and injected. {@code problem} is set instead when a
 * frame from the stack was not a well-formed TCP/IPv4 segment for the peer (bad checksum, wrong address,
 * an unexpected protocol); such a frame always fails the script.
 */
final class WireSegment {
    final long time;          // virtual nanoseconds when it was seen
    final int srcIp;
    final int dstIp;
    final int srcPort;
    final int dstPort;
    final int seq;
    final int ack;
    final int flags;          // the 8 control bits (CWR ... FIN)
    final int reserved;       // the 4 reserved bits
    final int window;
    final int urgent;
    final byte[] options;     // option bytes as sent (header length - 20)
    final byte[] payload;
    final String problem;

    WireSegment(long time, int srcIp, int dstIp, int srcPort, int dstPort, int seq, int ack, int flags, int reserved,
                int window, int urgent, byte[] options, byte[] payload) {
        this.time = time;
        this.srcIp = srcIp;
        this.dstIp = dstIp;
        this.srcPort = srcPort;
        this.dstPort = dstPort;
        this.seq = seq;
        this.ack = ack;
        this.flags = flags;
        this.reserved = reserved;
        this.window = window;
        this.urgent = urgent;
        this.options = options;
        this.payload = payload;
        this.problem = null;
    }

    private WireSegment(long time, String problem) {
        this.time = time;
        this.problem = problem;
        this.srcIp = 0;
        this.dstIp = 0;
        this.srcPort = 0;
        this.dstPort = 0;
        this.seq = 0;
        this.ack = 0;
        this.flags = 0;
        this.reserved = 0;
        this.window = 0;
        this.urgent = 0;
        this.options = new byte[0];
        this.payload = new byte[0];
    }

    /** A frame from the stack that is not a proper segment for the peer. */
    static WireSegment bad(long time, String problem) {
        return new WireSegment(time, problem);
    }

    boolean has(int flag) {
        return (flags & flag) != 0;
    }
}
