package io.usertcp.wire;

/** ICMPv4 (RFC 792) message types and codes used by the stack. */
public final class Icmpv4 {
    /** Echo reply. */
    public static final int ECHO_REPLY = 0;
    /** Destination unreachable. */
    public static final int DEST_UNREACHABLE = 3;
    /** Echo request. */
    public static final int ECHO_REQUEST = 8;
    /** Time exceeded. */
    public static final int TIME_EXCEEDED = 11;
    /** Code of "port unreachable" within destination unreachable. */
    public static final int CODE_PORT_UNREACHABLE = 3;
    /** Code of "fragmentation needed and DF set". */
    public static final int CODE_FRAG_NEEDED = 4;
    /** Header length (type, code, checksum, rest-of-header). */
    public static final int HEADER_LENGTH = 8;

    private Icmpv4() {
    }
}
