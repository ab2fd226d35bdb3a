package io.usertcp.testsuite;

import io.netty.bootstrap.Bootstrap;
import io.netty.testsuite.transport.TestsuitePermutation;
import io.netty.testsuite.transport.socket.WriteBeforeRegisteredTest;

import java.net.SocketAddress;
import java.util.List;

/** Netty's {@link WriteBeforeRegisteredTest} on usertcp. */
class UserTcpWriteBeforeRegisteredTest extends WriteBeforeRegisteredTest {
    @Override
    protected List<TestsuitePermutation.BootstrapFactory<Bootstrap>> newFactories() {
        return UserTcpSocketTestPermutation.INSTANCE.clientSocket();
    }

    @Override
    protected SocketAddress newSocketAddress() {
        return UserTcpSocketTestPermutation.newSocketAddress();
    }
}
