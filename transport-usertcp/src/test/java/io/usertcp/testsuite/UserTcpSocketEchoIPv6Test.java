package io.usertcp.testsuite;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.testsuite.transport.TestsuitePermutation;
import io.netty.testsuite.transport.socket.SocketEchoTest;

import java.net.SocketAddress;
import java.util.List;

/** Netty's {@link SocketEchoTest} on usertcp over the stack's IPv6 loopback (::1). */
class UserTcpSocketEchoIPv6Test extends SocketEchoTest {
    @Override
    protected List<TestsuitePermutation.BootstrapComboFactory<ServerBootstrap, Bootstrap>> newFactories() {
        return UserTcpSocketTestPermutation.INSTANCE.socket();
    }

    @Override
    protected SocketAddress newSocketAddress() {
        return UserTcpSocketTestPermutation.newIpv6SocketAddress();
    }
}
