package io.usertcp.it;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.testsuite.transport.TestsuitePermutation;
import io.netty.testsuite.transport.socket.SocketShutdownOutputByPeerTest;

import java.net.SocketAddress;
import java.util.List;

/**
 * Netty's {@link SocketShutdownOutputByPeerTest} across transports: a usertcp server whose peer is the
 * testsuite's own client, a {@code java.net.Socket} (the kernel's TCP), made and connected inside the namespace.
 */
class CrossSocketShutdownOutputByPeerTest extends SocketShutdownOutputByPeerTest {
    @Override
    protected List<TestsuitePermutation.BootstrapFactory<ServerBootstrap>> newFactories() {
        return CrossTransport.get().usertcpServer();
    }

    @Override
    protected SocketAddress newSocketAddress() {
        return CrossTransport.get().newSocketAddress();
    }

    /** The body runs on the namespace's thread, so that the kernel socket it creates lives there. */
    @Override
    public void testShutdownOutput(ServerBootstrap sb) throws Throwable {
        CrossTransport.get().runInNamespace(() -> super.testShutdownOutput(sb));
    }

    /** As {@link #testShutdownOutput(ServerBootstrap)}. */
    @Override
    public void testShutdownOutputWithoutOption(ServerBootstrap sb) throws Throwable {
        CrossTransport.get().runInNamespace(() -> super.testShutdownOutputWithoutOption(sb));
    }
}
