package io.usertcp.testsuite;

import io.netty.bootstrap.Bootstrap;
import io.netty.testsuite.transport.TestsuitePermutation;
import io.netty.testsuite.transport.socket.DatagramUnicastIPv6MappedTest;
import org.junit.jupiter.api.Disabled;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;

import java.util.List;


/**
 * Netty's {@link DatagramUnicastIPv6MappedTest} on usertcp's {@code UserUdpChannel}: IPv6 sockets addressed with
 * IPv4-mapped addresses (::ffff:127.0.0.1), both on the shared testsuite stack.
 */
class UserUdpDatagramUnicastIPv6MappedTest extends DatagramUnicastIPv6MappedTest {
    @Override
    protected List<TestsuitePermutation.BootstrapComboFactory<Bootstrap, Bootstrap>> newFactories() {
        return List.of(new TestsuitePermutation.BootstrapComboFactory<Bootstrap, Bootstrap>() {
            @Override
            public Bootstrap newServerInstance() {
                return UserUdpDatagramUnicastTest.newBootstrap();
            }

            @Override
            public Bootstrap newClientInstance() {
                return UserUdpDatagramUnicastTest.newBootstrap();
            }
        });
    }

    @Test
    @Override
    @Disabled("its sender is a JDK DatagramSocket on the kernel's loopback, which cannot reach the "
                + "user-space stack; empty datagrams between UserUdpChannels: io.usertcp.channel.UserUdpEmptyDatagramTest")
    public void testReceiveEmptyDatagrams(TestInfo testInfo) {
        // not run: see @Disabled
    }
}
