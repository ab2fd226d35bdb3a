package io.usertcp.it;

import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.testsuite.transport.TestsuitePermutation;
import io.netty.testsuite.transport.socket.DatagramUnicastInetTest;

import java.net.SocketAddress;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Netty's {@link DatagramUnicastInetTest} across transports (issue #14): usertcp's UserUdpChannel against Netty's
 * NIO datagram channel on the kernel's UDP, both ways, through the TAP device. Each side binds on its own side's
 * address; {@code testReceiveEmptyDatagrams}' JDK sender is made inside the namespace.
 */
class CrossDatagramUnicastTest extends DatagramUnicastInetTest {
    /** True while the testsuite sets up its client channel (which binds {@link #newSocketAddress()} too). */
    private boolean settingUpClient;

    @Override
    protected List<TestsuitePermutation.BootstrapComboFactory<Bootstrap, Bootstrap>> newFactories() {
        return CrossTransport.get().datagram();
    }

    @Override
    protected SocketAddress newSocketAddress() {
        return settingUpClient ? CrossTransport.get().newClientSocketAddress() : CrossTransport.get().newSocketAddress();
    }

    @Override
    protected Channel setupClientChannel(Bootstrap cb, byte[] bytes, CountDownLatch latch,
                                         AtomicReference<Throwable> errorRef) throws Throwable {
        settingUpClient = true;
        try {
            return super.setupClientChannel(cb, bytes, latch, errorRef);
        } finally {
            settingUpClient = false;
        }
    }

    /** The body runs on the namespace's thread, so that its JDK DatagramSocket sender lives there. */
    @Override
    public void testReceiveEmptyDatagrams(Bootstrap sb, Bootstrap cb) throws Throwable {
        CrossTransport.get().runInNamespace(() -> super.testReceiveEmptyDatagrams(sb, cb));
    }
}
