package io.usertcp.it;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.testsuite.transport.TestsuitePermutation;
import io.netty.testsuite.transport.socket.SocketFixedLengthEchoTest;

import java.net.SocketAddress;
import java.util.List;

/** Netty's {@link SocketFixedLengthEchoTest} across transports over IPv6: usertcp server with NIO client, and NIO server with usertcp client. */
class CrossSocketFixedLengthEchoIPv6Test extends SocketFixedLengthEchoTest {
    @Override
    protected List<TestsuitePermutation.BootstrapComboFactory<ServerBootstrap, Bootstrap>> newFactories() {
        return CrossTransport.get().socket();
    }

    @Override
    protected SocketAddress newSocketAddress() {
        return CrossTransport.get().newIpv6SocketAddress();
    }
}
