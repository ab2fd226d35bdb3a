package io.usertcp.testsuite;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.testsuite.transport.TestsuitePermutation;
import io.netty.testsuite.transport.socket.SocketGatheringWriteTest;

import java.net.SocketAddress;
import java.util.List;

/** Netty's {@link SocketGatheringWriteTest} on usertcp. */
class UserTcpSocketGatheringWriteTest extends SocketGatheringWriteTest {
    @Override
    protected List<TestsuitePermutation.BootstrapComboFactory<ServerBootstrap, Bootstrap>> newFactories() {
        return UserTcpSocketTestPermutation.INSTANCE.socket();
    }

    @Override
    protected SocketAddress newSocketAddress() {
        return UserTcpSocketTestPermutation.newSocketAddress();
    }
}
