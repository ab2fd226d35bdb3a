package io.usertcp.it;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.testsuite.transport.TestsuitePermutation;
import io.netty.testsuite.transport.socket.ServerSocketSuspendTest;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;

import java.net.SocketAddress;
import java.util.List;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Netty's {@link ServerSocketSuspendTest} across transports: a usertcp server that stops and resumes accepting
 * (AUTO_READ) while the testsuite's {@code java.net.Socket} clients (the kernel's TCP) connect to it. Netty disables
 * the test; so does this class, saying why (below).
 */
class CrossServerSocketSuspendTest extends ServerSocketSuspendTest {
    @Override
    protected List<TestsuitePermutation.BootstrapFactory<ServerBootstrap>> newFactories() {
        return CrossTransport.get().usertcpServer();
    }

    @Override
    protected SocketAddress newSocketAddress() {
        return CrossTransport.get().newSocketAddress();
    }

    /**
     * Skipped, saying why: Netty disables it too. Its ten clients connect one after another, each waiting up to 10 s,
     * while the server does not accept (AUTO_READ off) with SO_BACKLOG 1; a listener whose accept queue is full drops
     * SYNs, on Linux as on usertcp, so a connect beyond the backlog times out. (Run against usertcp it fails so:
     * "Connect timed out" after 10 s. The backlog's effect is shown by ChannelOptionsOnTheWireTest.)
     */
    @Test
    @Override
    public void testSuspendAndResumeAccept(TestInfo testInfo) {
        assumeTrue(false, "its clients connect beyond SO_BACKLOG 1 while accepting is suspended: a full accept queue "
                + "drops SYNs (Linux and usertcp alike), so the connect times out; Netty disables this test too");
    }
}
