package io.usertcp.testsuite;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.testsuite.transport.TestsuitePermutation;
import io.netty.testsuite.transport.socket.SocketStringEchoTest;

import java.net.SocketAddress;
import java.util.List;

/** Netty's {@link SocketStringEchoTest} on usertcp over the stack's IPv6 loopback (::1). */
class UserTcpSocketStringEchoIPv6Test extends SocketStringEchoTest {
    @Override
    protected List<TestsuitePermutation.BootstrapComboFactory<ServerBootstrap, Bootstrap>> newFactories() {
        return UserTcpSocketTestPermutation.INSTANCE.socket();
    }

    @Override
    protected SocketAddress newSocketAddress() {
        return UserTcpSocketTestPermutation.newIpv6SocketAddress();
    }
}
