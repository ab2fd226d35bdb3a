package io.usertcp.testsuite;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.testsuite.transport.TestsuitePermutation;
import io.netty.testsuite.transport.socket.ServerSocketSuspendTest;

import java.net.SocketAddress;
import java.util.List;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Netty's {@link ServerSocketSuspendTest} on usertcp: its clients are always the kernel's ({@code java.net.Socket}),
 * which cannot reach a stack without a link, so it is skipped here, saying so; it-tests'
 * {@code CrossServerSocketSuspendTest} runs it against a usertcp server on a TAP device.
 */
class UserTcpServerSocketSuspendTest extends ServerSocketSuspendTest {
    @Override
    protected List<TestsuitePermutation.BootstrapFactory<ServerBootstrap>> newFactories() {
        return UserTcpSocketTestPermutation.INSTANCE.serverSocket();
    }

    @Override
    protected SocketAddress newSocketAddress() {
        return UserTcpSocketTestPermutation.newSocketAddress();
    }

    @Override
    public void testSuspendAndResumeAccept(ServerBootstrap sb) {
        assumeTrue(false, "the testsuite's clients are kernel sockets (java.net.Socket), which cannot reach a stack "
                + "without a link; it-tests' CrossServerSocketSuspendTest runs this against usertcp over a TAP device");
    }
}
