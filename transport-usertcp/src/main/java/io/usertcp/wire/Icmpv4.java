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
    /** Parameter problem (RFC 792). */
    public static final int PARAMETER_PROBLEM = 12;
    /** Source quench (RFC 792; deprecated by RFC 6633, ignored on receipt). */
    public static final int SOURCE_QUENCH = 4;
    /** Code of "port unreachable" within destination unreachable. */
    public static final int CODE_PORT_UNREACHABLE = 3;
    /** Code of "fragmentation needed and DF set". */
    public static final int CODE_FRAG_NEEDED = 4;
    /** Code of "fragment reassembly time exceeded" within time exceeded (RFC 792). */
    public static final int CODE_REASSEMBLY_TIME_EXCEEDED = 1;
    /** Header length (type, code, checksum, rest-of-header). */
    public static final int HEADER_LENGTH = 8;

    private Icmpv4() {
    }

    /**
     * Whether {@code type} is an ICMP error message (RFC 1122 §3.2.2: destination unreachable, source quench,
     * redirect, time exceeded, parameter problem), to which no ICMP error may ever be sent.
     */
    public static boolean isError(int type) {
        return type == DEST_UNREACHABLE || type == 4 || type == 5 || type == TIME_EXCEEDED || type == 12;
    }
}
