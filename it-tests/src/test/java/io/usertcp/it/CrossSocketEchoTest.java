package io.usertcp.it;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.testsuite.transport.TestsuitePermutation;
import io.netty.testsuite.transport.socket.SocketEchoTest;

import java.net.SocketAddress;
import java.util.List;

/** Netty's {@link SocketEchoTest} across transports: usertcp server with NIO client, and NIO server with usertcp client. */
class CrossSocketEchoTest extends SocketEchoTest {
    @Override
    protected List<TestsuitePermutation.BootstrapComboFactory<ServerBootstrap, Bootstrap>> newFactories() {
        return CrossTransport.get().socket();
    }

    @Override
    protected SocketAddress newSocketAddress() {
        return CrossTransport.get().newSocketAddress();
    }
}
