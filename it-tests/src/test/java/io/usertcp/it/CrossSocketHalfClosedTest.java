package io.usertcp.it;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.testsuite.transport.TestsuitePermutation;
import io.netty.testsuite.transport.socket.SocketHalfClosedTest;

import org.junit.jupiter.api.Disabled;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;

import java.net.SocketAddress;
import java.util.List;


/** Netty's {@link SocketHalfClosedTest} across transports: usertcp server with NIO client, and NIO server with usertcp client. */
class CrossSocketHalfClosedTest extends SocketHalfClosedTest {
    @Override
    protected List<TestsuitePermutation.BootstrapComboFactory<ServerBootstrap, Bootstrap>> newFactories() {
        return CrossTransport.get().socket();
    }

    @Override
    protected SocketAddress newSocketAddress() {
        return CrossTransport.get().newSocketAddress();
    }

    @Test
    @Override
    @Disabled("its leader blocks its event loop in channelActive until the peer has written, closed with "
                + "RST and 200 ms passed, then expects its second write to fail: a kernel processes the RST while the "
                + "application's thread is blocked, but usertcp's stack runs on that blocked loop, so the write "
                + "succeeds; in every combination one case makes usertcp the leader")
    public void testAutoCloseFalseDoesShutdownOutput(TestInfo testInfo) {
        // not run: see @Disabled
    }
}
