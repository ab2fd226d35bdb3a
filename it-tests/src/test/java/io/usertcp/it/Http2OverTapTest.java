package io.usertcp.it;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandler.Sharable;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpServerKeepAliveHandler;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http2.Http2FrameCodecBuilder;
import io.netty.handler.codec.http2.Http2MultiplexHandler;
import io.netty.handler.codec.http2.Http2SecurityUtil;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.handler.codec.http2.Http2StreamFrameToHttpObjectCodec;
import io.netty.handler.ssl.ApplicationProtocolConfig;
import io.netty.handler.ssl.ApplicationProtocolNames;
import io.netty.handler.ssl.ApplicationProtocolNegotiationHandler;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import io.netty.handler.ssl.SupportedCipherSuiteFilter;
import io.netty.pkitesting.CertificateBuilder;
import io.netty.pkitesting.X509Bundle;
import io.usertcp.channel.UserTcpIoHandler;
import io.usertcp.channel.UserTcpServerChannel;
import io.usertcp.link.TapConfig;
import io.usertcp.stack.StackConfig;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Netty's HTTP/2 server pipeline ({@code netty-codec-http2}: the frame codec, the multiplexer, and per stream
 * the frame-to-HTTP-object codec) on usertcp, over cleartext with prior knowledge (port 80) and over TLS with
 * ALPN choosing h2 or http/1.1 (port 443, the JDK's TLS), driven from the kernel's side of the namespace by
 * {@code curl} and {@code h2load}. Bodies are checked byte for byte.
 */
@ExtendWith(LeakCheck.class)
@Timeout(value = 3, unit = TimeUnit.MINUTES)
class Http2OverTapTest {

    static final String STACK = "198.18.17.2";
    static final String GREETING = "Hello from Netty's HTTP/2 server on usertcp";
    static final int BIG = 4 << 20;

    static NetNs ns;
    static EventLoopGroup group;
    static final List<Channel> servers = new ArrayList<>();
    static File caPem;
    static byte[] big;

    @BeforeAll
    static void start() throws Exception {
        big = new byte[BIG];
        new SplittableRandom(99).nextBytes(big);
        ns = NetNs.create();
        StackConfig cfg = StackConfig.builder()
                .link(TapConfig.builder(NetNs.uniqueTapName()).kernelAddress("198.18.17.1/24").namespace(ns.name())
                        .build())
                .address(STACK + "/24").build();
        group = new MultiThreadIoEventLoopGroup(ItLoops.count(), UserTcpIoHandler.newFactory(cfg));

        X509Bundle cert = new CertificateBuilder().subject("CN=" + STACK).addSanIpAddress(STACK)
                .setIsCertificateAuthority(true).algorithm(CertificateBuilder.Algorithm.ecp256).buildSelfSigned();
        caPem = cert.toTempRootCertPem();
        SslContext ssl = SslContextBuilder.forServer(cert.toKeyManagerFactory())
                .sslProvider(SslProvider.JDK)
                .ciphers(Http2SecurityUtil.CIPHERS, SupportedCipherSuiteFilter.INSTANCE)
                .applicationProtocolConfig(new ApplicationProtocolConfig(ApplicationProtocolConfig.Protocol.ALPN,
                        ApplicationProtocolConfig.SelectorFailureBehavior.NO_ADVERTISE,
                        ApplicationProtocolConfig.SelectedListenerFailureBehavior.ACCEPT,
                        ApplicationProtocolNames.HTTP_2, ApplicationProtocolNames.HTTP_1_1))
                .build();

        servers.add(new ServerBootstrap().group(group).channel(UserTcpServerChannel.class)
                .childHandler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        addHttp2(ch.pipeline());
                    }
                }).bind(80).sync().channel());
        servers.add(new ServerBootstrap().group(group).channel(UserTcpServerChannel.class)
                .childHandler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        ch.pipeline().addLast(ssl.newHandler(ch.alloc()),
                                new ApplicationProtocolNegotiationHandler(ApplicationProtocolNames.HTTP_1_1) {
                                    @Override
                                    protected void configurePipeline(ChannelHandlerContext ctx, String protocol) {
                                        if (ApplicationProtocolNames.HTTP_2.equals(protocol)) {
                                            addHttp2(ctx.pipeline());
                                        } else {
                                            ctx.pipeline().addLast(new HttpServerCodec(),
                                                    new HttpServerKeepAliveHandler(),
                                                    new HttpObjectAggregator(16 << 20), RESPONDER);
                                        }
                                    }
                                });
                    }
                }).bind(443).sync().channel());
    }

    /** HTTP/2: the frame codec and the multiplexer; each stream a child channel with HTTP objects. */
    static void addHttp2(ChannelPipeline p) {
        p.addLast(Http2FrameCodecBuilder.forServer().build(),
                new Http2MultiplexHandler(new ChannelInitializer<Http2StreamChannel>() {
                    @Override
                    protected void initChannel(Http2StreamChannel stream) {
                        stream.pipeline().addLast(new Http2StreamFrameToHttpObjectCodec(true),
                                new HttpObjectAggregator(16 << 20), RESPONDER);
                    }
                }));
    }

    static final Responder RESPONDER = new Responder();

    /** GET / greets, GET /big sends 4 MiB of generated bytes, POST /echo sends the body back. */
    @Sharable
    static final class Responder extends SimpleChannelInboundHandler<FullHttpRequest> {
        @Override
        protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest req) {
            FullHttpResponse res;
            if (req.method() == HttpMethod.POST && req.uri().equals("/echo")) {
                res = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK,
                        req.content().retainedDuplicate());
            } else if (req.uri().equals("/big")) {
                res = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK,
                        Unpooled.wrappedBuffer(big));
            } else if (req.uri().equals("/")) {
                res = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK,
                        Unpooled.copiedBuffer(GREETING, StandardCharsets.US_ASCII));
            } else {
                res = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.NOT_FOUND);
            }
            res.headers().set(HttpHeaderNames.CONTENT_TYPE, "application/octet-stream");
            HttpUtil.setContentLength(res, res.content().readableBytes());
            HttpUtil.setKeepAlive(res, HttpUtil.isKeepAlive(req));
            ctx.writeAndFlush(res).addListener(ChannelFutureListener.FIRE_EXCEPTION_ON_FAILURE);
        }
    }

    @AfterAll
    static void stop() throws Exception {
        try {
            for (Channel c : servers) {
                c.close().await(5, TimeUnit.SECONDS);
            }
            if (group != null) {
                group.shutdownGracefully(0, 5, TimeUnit.SECONDS).sync();
            }
        } finally {
            if (caPem != null) {
                Files.deleteIfExists(caPem.toPath());
            }
            if (ns != null) {
                ns.close();
            }
        }
    }

    /** Runs curl with {@code args}, the body into a file; returns curl's result and the body. */
    private static byte[] curl(String expectWritten, String... args) throws Exception {
        Path out = Files.createTempFile("h2-body-", ".bin");
        try {
            List<String> cmd = new ArrayList<>(List.of("curl", "-sS", "--max-time", "30", "--cacert",
                    caPem.toString(), "-o", out.toString(), "-w", "%{http_code} %{http_version}"));
            cmd.addAll(List.of(args));
            NetNs.Result r = ns.execOk(Duration.ofSeconds(40), cmd.toArray(new String[0]));
            assertEquals(expectWritten, r.stdout().trim(), r.toString());
            return Files.readAllBytes(out);
        } finally {
            Files.deleteIfExists(out);
        }
    }

    private static void curlGetPostAndBig(String version, String base, String expectVersion) throws Exception {
        assertEquals(GREETING, new String(curl("200 " + expectVersion, version, base + "/"),
                StandardCharsets.US_ASCII));
        assertArrayEquals(big, curl("200 " + expectVersion, version, base + "/big"));
        byte[] body = new byte[3 << 20];
        new SplittableRandom(5).nextBytes(body);
        Path in = Files.createTempFile("h2-upload-", ".bin");
        try {
            Files.write(in, body);
            assertArrayEquals(body, curl("200 " + expectVersion, version, "--data-binary", "@" + in,
                    "-H", "Content-Type: application/octet-stream", base + "/echo"));
        } finally {
            Files.deleteIfExists(in);
        }
    }

    @Test
    void curlCleartextWithPriorKnowledge() throws Exception {
        curlGetPostAndBig("--http2-prior-knowledge", "http://" + STACK, "2");
    }

    @Test
    void curlOverTlsNegotiatesH2WithAlpn() throws Exception {
        NetNs.Result v = ns.execOk(Duration.ofSeconds(30), "curl", "-sS", "-v", "--max-time", "20", "--http2",
                "--cacert", caPem.toString(), "-o", "/dev/null", "https://" + STACK + "/");
        assertTrue(v.stderr().contains("ALPN: server accepted h2"), v.stderr());
        curlGetPostAndBig("--http2", "https://" + STACK, "2");
    }

    @Test
    void curlOverTlsFallsBackToHttp11() throws Exception {
        curlGetPostAndBig("--http1.1", "https://" + STACK, "1.1");
    }

    @Test
    void h2loadCleartextGetsOnlyGoodResponses() throws Exception {
        h2load(6000, "http://" + STACK + "/");
    }

    @Test
    void h2loadOverTlsGetsOnlyGoodResponses() throws Exception {
        String out = h2load(4000, "https://" + STACK + "/");
        assertTrue(out.contains("Application protocol: h2"), out);
    }

    /** {@code n} requests on 4 connections, 16 streams at once on each; every one must succeed with 200. */
    private static String h2load(int n, String url) throws Exception {
        NetNs.Result r = ns.execOk(Duration.ofSeconds(90), "h2load", "-n", String.valueOf(n), "-c", "4", "-m", "16",
                url);
        String out = r.stdout();
        System.out.println("[it] h2load " + url + ":\n" + out);
        Matcher m = Pattern.compile("requests: (\\d+) total, (\\d+) started, (\\d+) done, (\\d+) succeeded, "
                + "(\\d+) failed, (\\d+) errored, (\\d+) timeout").matcher(out);
        assertTrue(m.find(), out);
        assertEquals(String.valueOf(n), m.group(4), "succeeded:\n" + out);
        assertEquals("0", m.group(5), "failed:\n" + out);
        assertEquals("0", m.group(6), "errored:\n" + out);
        assertTrue(out.contains("status codes: " + n + " 2xx"), out);
        return out;
    }
}
