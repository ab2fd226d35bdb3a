package io.usertcp.testsuite;

import io.netty.bootstrap.Bootstrap;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.testsuite.transport.TestsuitePermutation;
import io.netty.testsuite.transport.socket.SocketConnectionAttemptTest;
import io.netty.testsuite.transport.socket.SocketTestPermutation;
import io.netty.util.concurrent.GlobalEventExecutor;
import io.netty.util.concurrent.Promise;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;

import java.net.ConnectException;
import java.net.SocketAddress;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;

/** Netty's {@link SocketConnectionAttemptTest} on usertcp. */
class UserTcpSocketConnectionAttemptTest extends SocketConnectionAttemptTest {
    @Override
    protected List<TestsuitePermutation.BootstrapFactory<Bootstrap>> newFactories() {
        return UserTcpSocketTestPermutation.INSTANCE.clientSocket();
    }

    @Override
    protected SocketAddress newSocketAddress() {
        return UserTcpSocketTestPermutation.newSocketAddress();
    }

    /**
     * The testsuite first checks that a kernel socket's connect to the unroutable test host times out and
     * skips the test if it does not (no network). That probe says nothing about usertcp: the loopback-only
     * stack has no route out and drops the SYN, so the attempt always hangs until cancelled.
     */
    @Test
    @Override
    public void testConnectCancellation(TestInfo testInfo) throws Throwable {
        run(testInfo, this::testConnectCancellation);
    }

    /** The testsuite's body, to 127.0.0.1 instead of {@code NetUtil.LOCALHOST} (may be ::1; no IPv6 yet). */
    @Override
    public void testConnectRefused(Bootstrap cb) throws Throwable {
        testConnectRefused0(cb, false);
    }

    /** As {@link #testConnectRefused(Bootstrap)}, with ALLOW_HALF_CLOSURE. */
    @Override
    public void testConnectRefusedHalfClosure(Bootstrap cb) throws Throwable {
        testConnectRefused0(cb, true);
    }

    private static void testConnectRefused0(Bootstrap cb, boolean halfClosure) {
        final Promise<Error> errorPromise = GlobalEventExecutor.INSTANCE.newPromise();
        cb.handler(new ChannelInboundHandlerAdapter() {
            @Override
            public void channelActive(ChannelHandlerContext ctx) {
                errorPromise.setFailure(new AssertionError("should have never been called"));
            }
        });
        cb.option(ChannelOption.ALLOW_HALF_CLOSURE, halfClosure);
        ChannelFuture future = cb.connect("127.0.0.1", SocketTestPermutation.UNASSIGNED_PORT)
                .awaitUninterruptibly();
        assertInstanceOf(ConnectException.class, future.cause());
        assertNull(errorPromise.cause());
    }
}
