package io.usertcp.testsuite;

import io.netty.bootstrap.Bootstrap;
import io.netty.testsuite.transport.TestsuitePermutation;
import io.netty.testsuite.transport.socket.DatagramConnectedWriteExceptionTest;

import java.util.List;

/**
 * Netty's {@link DatagramConnectedWriteExceptionTest} on usertcp's {@code UserUdpChannel}: after the server's channel
 * closes, the connected client's writes fail with a PortUnreachableException (the stack's ICMP over its loopback).
 */
class UserUdpDatagramConnectedWriteExceptionTest extends DatagramConnectedWriteExceptionTest {
    @Override
    protected List<TestsuitePermutation.BootstrapFactory<Bootstrap>> newFactories() {
        return List.of(UserUdpDatagramUnicastTest::newBootstrap);
    }
}
