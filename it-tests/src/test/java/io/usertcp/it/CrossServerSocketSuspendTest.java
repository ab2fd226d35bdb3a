package io.usertcp.it;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.testsuite.transport.TestsuitePermutation;
import io.netty.testsuite.transport.socket.ServerSocketSuspendTest;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;

import java.net.SocketAddress;
import java.util.List;

/**
 * Netty's {@link ServerSocketSuspendTest} across transports: a usertcp server that stops and resumes accepting
 * (AUTO_READ) while the testsuite's {@code java.net.Socket} clients (the kernel's TCP, made inside the namespace)
 * connect to it.
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
     * Netty disables this test ("Need to investigate why it fails on osx"); on Linux, against usertcp, it runs:
     * the override is not disabled.
     */
    @Test
    @Override
    public void testSuspendAndResumeAccept(TestInfo testInfo) throws Throwable {
        run(testInfo, this::testSuspendAndResumeAccept);
    }

    /** The body runs on the namespace's thread, so that the kernel sockets it creates live there. */
    @Override
    public void testSuspendAndResumeAccept(ServerBootstrap sb) throws Throwable {
        CrossTransport.get().runInNamespace(() -> super.testSuspendAndResumeAccept(sb));
    }
}
