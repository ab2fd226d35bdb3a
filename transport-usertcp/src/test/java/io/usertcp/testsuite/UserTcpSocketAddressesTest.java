package io.usertcp.testsuite;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.testsuite.transport.TestsuitePermutation;
import io.netty.testsuite.transport.socket.SocketAddressesTest;

import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Netty's {@link SocketAddressesTest} on usertcp. */
class UserTcpSocketAddressesTest extends SocketAddressesTest {
    @Override
    protected List<TestsuitePermutation.BootstrapComboFactory<ServerBootstrap, Bootstrap>> newFactories() {
        return UserTcpSocketTestPermutation.INSTANCE.socket();
    }

    @Override
    protected SocketAddress newSocketAddress() {
        return UserTcpSocketTestPermutation.newSocketAddress();
    }

    /** Both ends are on the stack's loopback: every address is 127.0.0.1 with a real (non-zero) port. */
    @Override
    protected void assertAddress(SocketAddress address) {
        InetSocketAddress a = assertInstanceOf(InetSocketAddress.class, address);
        assertEquals("127.0.0.1", a.getAddress().getHostAddress());
        assertTrue(a.getPort() > 0, "port of " + a);
    }
}
