package io.usertcp.testsuite;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.testsuite.transport.TestsuitePermutation;
import io.netty.testsuite.transport.socket.TrafficShapingHandlerTest;

import java.net.SocketAddress;
import java.util.List;

/** Netty's {@link TrafficShapingHandlerTest} on usertcp. */
class UserTcpTrafficShapingHandlerTest extends TrafficShapingHandlerTest {
    @Override
    protected List<TestsuitePermutation.BootstrapComboFactory<ServerBootstrap, Bootstrap>> newFactories() {
        return UserTcpSocketTestPermutation.INSTANCE.socket();
    }

    @Override
    protected SocketAddress newSocketAddress() {
        return UserTcpSocketTestPermutation.newSocketAddress();
    }
}
