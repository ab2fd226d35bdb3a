package io.usertcp.tcp;

import io.netty.buffer.ByteBuf;

/**
 * How a TCP layer takes part in a group of stacks that share one link (one stack per event loop over the queues of
 * a multi-queue TAP device): which ephemeral ports it may pick, which flows it owns, and what to do with a
 * segment it has no connection for. Given by {@link TcpEnv#steering()}; a stack alone has {@link #NONE}.
 *
 * <p>Called on the stack's own thread. {@link #foreign} and {@link #listenerMissing} are called only on a local
 * miss, never for a segment of a connection the layer holds.
 */
public interface FlowSteering {

    /** A stack alone: every port, no directory, no other stack. */
    FlowSteering NONE = new FlowSteering() {
        @Override
        public boolean mayUseEphemeral(int port) {
            return true;
        }

        @Override
        public void opened(TcpFlow f, long lHi, long lLo, int lPort, long rHi, long rLo, int rPort) {
        }

        @Override
        public void replaced(TcpFlow old, TcpFlow now, long lHi, long lLo, int lPort, long rHi, long rLo,
                             int rPort) {
        }

        @Override
        public void closed(TcpFlow f, long lHi, long lLo, int lPort, long rHi, long rLo, int rPort) {
        }

        @Override
        public boolean foreign(ByteBuf f, int o, int len, long srcHi, long srcLo, long dstHi, long dstLo,
                               int srcPort, int dstPort) {
            return false;
        }

        @Override
        public boolean listenerMissing(long dstHi, long dstLo, int port) {
            return false;
        }
    };

    /** Whether this stack may pick {@code port} as an ephemeral port (ports are split among the group's stacks). */
    boolean mayUseEphemeral(int port);

    /** A connection with this four-tuple now lives in this stack. */
    void opened(TcpFlow flow, long localHi, long localLo, int localPort, long remoteHi, long remoteLo,
                int remotePort);

    /**
     * The flow {@code old} with this four-tuple is held as {@code now} in the same stack from here on (a connection
     * in TIME-WAIT was replaced by its compact record): the four-tuple stays directed to this stack throughout.
     */
    void replaced(TcpFlow old, TcpFlow now, long localHi, long localLo, int localPort, long remoteHi, long remoteLo,
                  int remotePort);

    /** The flow {@code flow} (a connection or a TIME-WAIT record) with this four-tuple left this stack's table. */
    void closed(TcpFlow flow, long localHi, long localLo, int localPort, long remoteHi, long remoteLo,
                int remotePort);

    /**
     * A segment (checksum verified) for a four-tuple this stack has neither a connection nor a half-open record
     * for: returns true if another stack of the group owns the flow and took a copy of the segment.
     */
    boolean foreign(ByteBuf f, int o, int len, long srcHi, long srcLo, long dstHi, long dstLo, int srcPort,
                    int dstPort);

    /**
     * No listener here for {@code port}: returns true if a listener of the group was installed in this stack just
     * now (the layer looks again).
     */
    boolean listenerMissing(long dstHi, long dstLo, int port);
}
