package io.usertcp.testsuite;

import io.netty.bootstrap.Bootstrap;
import io.netty.testsuite.transport.TestsuitePermutation;
import io.netty.testsuite.transport.socket.DatagramUnicastInetTest;
import io.usertcp.channel.UserUdpChannel;
import org.junit.jupiter.api.Disabled;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;

import java.util.Collections;
import java.util.List;

/**
 * Netty's {@link DatagramUnicastInetTest} on usertcp's {@link UserUdpChannel}: both sides on the shared
 * testsuite stack, talking over its loopback (127.0.0.1).
 */
class UserUdpDatagramUnicastTest extends DatagramUnicastInetTest {

    /** Datagram bootstraps on the testsuite's one usertcp loop. */
    static Bootstrap newBootstrap() {
        return new Bootstrap().group(UserTcpSocketTestPermutation.INSTANCE.group()).channel(UserUdpChannel.class);
    }

    @Override
    protected List<TestsuitePermutation.BootstrapComboFactory<Bootstrap, Bootstrap>> newFactories() {
        return Collections.singletonList(new TestsuitePermutation.BootstrapComboFactory<Bootstrap, Bootstrap>() {
            @Override
            public Bootstrap newServerInstance() {
                return newBootstrap();
            }

            @Override
            public Bootstrap newClientInstance() {
                return newBootstrap();
            }
        });
    }

    @Test
    @Disabled("its sender is a JDK DatagramSocket: the kernel's 127.0.0.1, which cannot reach the user-space stack")
    @Override
    public void testReceiveEmptyDatagrams(TestInfo testInfo) {
        // Not run (see @Disabled): the testsuite's sender is a JDK DatagramSocket on the kernel's 127.0.0.1, which
        // has no route into the user-space stack. Empty datagrams between usertcp sockets are asserted by
        // io.usertcp.ip.FragmentationTest#twoStacksExchangeDatagramsOfEverySize (size 0 among the others).
    }
}
