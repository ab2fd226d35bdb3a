package io.usertcp.udp;

/**
 * How a UDP layer takes part in a group of stacks that share one link: which ephemeral ports it may pick, and which
 * ports it has bound (so that the other stacks hand it the datagrams for them that reach their queues). Set with
 * {@link UdpLayer#steering(PortSteering)}; a stack alone has none. Called on the stack's own thread.
 */
public interface PortSteering {

    /** Whether this stack may pick {@code port} as an ephemeral port (ports are split among the group's stacks). */
    boolean mayUseEphemeral(int port);

    /** A socket of this stack was bound to {@code port}. */
    void bound(int port);

    /** A socket of this stack let go of {@code port} ({@code stillBound}: another socket here still has it). */
    void unbound(int port, boolean stillBound);
}
