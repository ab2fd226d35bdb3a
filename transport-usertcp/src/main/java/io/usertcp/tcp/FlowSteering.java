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
        public void opened(TcpConnection c, long lHi, long lLo, int lPort, long rHi, long rLo, int rPort) {
        }

        @Override
        public void closed(TcpConnection c, long lHi, long lLo, int lPort, long rHi, long rLo, int rPort) {
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
    void opened(TcpConnection c, long localHi, long localLo, int localPort, long remoteHi, long remoteLo,
                int remotePort);

    /** The connection {@code c} with this four-tuple left this stack's table. */
    void closed(TcpConnection c, long localHi, long localLo, int localPort, long remoteHi, long remoteLo,
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
