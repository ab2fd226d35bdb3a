package io.usertcp.testsuite;

import io.netty.bootstrap.Bootstrap;
import io.netty.testsuite.transport.TestsuitePermutation;
import io.netty.testsuite.transport.socket.DatagramConnectNotExistsTest;

import java.util.List;

/**
 * Netty's {@link DatagramConnectNotExistsTest} on usertcp's {@code UserUdpChannel}: a connected datagram channel
 * whose peer port is closed gets the stack's own ICMP port unreachable over the loopback, as a
 * PortUnreachableException.
 */
class UserUdpDatagramConnectNotExistsTest extends DatagramConnectNotExistsTest {
    @Override
    protected List<TestsuitePermutation.BootstrapFactory<Bootstrap>> newFactories() {
        return List.of(UserUdpDatagramUnicastTest::newBootstrap);
    }
}
