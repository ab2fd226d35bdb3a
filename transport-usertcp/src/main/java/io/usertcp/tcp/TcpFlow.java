package io.usertcp.tcp;

/**
 * What a TCP layer holds for one four-tuple: a {@link TcpConnection}, or the compact record that replaces a
 * connection in TIME-WAIT once its application closed it. {@link FlowSteering} names flows by it; it may be read
 * from another stack's thread, so it answers only what never changes.
 */
public interface TcpFlow {
    /** The TCP layer (and so the stack) that holds the flow. */
    TcpLayer layer();
}
