package io.usertcp.testsuite;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.handler.ssl.OpenSsl;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.testsuite.transport.TestsuitePermutation;
import io.netty.testsuite.transport.socket.SocketSslSessionReuseTest;
import org.junit.jupiter.api.TestInfo;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.net.SocketAddress;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Netty's {@link SocketSslSessionReuseTest} on usertcp. */
class UserTcpSocketSslSessionReuseTest extends SocketSslSessionReuseTest {
    @Override
    protected List<TestsuitePermutation.BootstrapComboFactory<ServerBootstrap, Bootstrap>> newFactories() {
        return UserTcpSocketTestPermutation.INSTANCE.socket();
    }

    @Override
    protected SocketAddress newSocketAddress() {
        return UserTcpSocketTestPermutation.newSocketAddress();
    }

    /**
     * The testsuite's {@code jdkAndOpenSSL}, without the OpenSSL case when netty-tcnative (an optional
     * dependency of the testsuite, not on our class path) is missing, as Netty's other SSL tests do with
     * {@link OpenSsl#isAvailable()}. The transport does not care which engine SslHandler uses.
     */
    static Collection<Object[]> jdkAndOpenSslIfAvailable() throws Exception {
        return OpenSsl.isAvailable() ? jdkAndOpenSSL() : jdkOnly();
    }

    @ParameterizedTest(name = "{index}: serverEngine = {0}, clientEngine = {1}")
    @MethodSource("jdkAndOpenSslIfAvailable")
    @Timeout(value = 30000, unit = TimeUnit.MILLISECONDS)
    @Override
    public void testSslSessionTrustManagerResumption(SslContextBuilder serverCtx, SslContextBuilder clientCtx,
                                                     TestInfo testInfo) throws Throwable {
        super.testSslSessionTrustManagerResumption(serverCtx, clientCtx, testInfo);
    }
}
