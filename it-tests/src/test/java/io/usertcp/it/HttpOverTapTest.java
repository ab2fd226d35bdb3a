package io.usertcp.it;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.usertcp.channel.UserTcpIoHandler;
import io.usertcp.channel.UserTcpServerChannel;
import io.usertcp.examples.HttpServer;
import io.usertcp.link.TapConfig;
import io.usertcp.stack.StackConfig;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The {@code http-server} example's pipeline (Netty's HTTP hello world, unchanged but for the group and the
 * channel class) on a TAP device, driven from the kernel's side by curl and wrk.
 */
@ExtendWith(LeakCheck.class)
@Timeout(value = 3, unit = TimeUnit.MINUTES)
class HttpOverTapTest {
    static final String STACK = "198.18.2.2";
    static NetNs ns;
    static EventLoopGroup group;
    static Channel server;

    @BeforeAll
    static void start() throws Exception {
        ns = NetNs.create();
        StackConfig cfg = StackConfig.builder()
                .link(TapConfig.builder(NetNs.uniqueTapName()).kernelAddress("198.18.2.1/24").namespace(ns.name())
                        .build())
                .address(STACK + "/24").build();
        group = new MultiThreadIoEventLoopGroup(ItLoops.count(), UserTcpIoHandler.newFactory(cfg));
        server = new ServerBootstrap().group(group).channel(UserTcpServerChannel.class)
                .childHandler(HttpServer.initializer()).bind(80).sync().channel();
    }

    @AfterAll
    static void stop() throws Exception {
        try {
            if (server != null) {
                server.close().sync();
            }
            if (group != null) {
                group.shutdownGracefully(0, 5, TimeUnit.SECONDS).sync();
            }
        } finally {
            if (ns != null) {
                ns.close();
            }
        }
    }

    @Test
    void curlKeepAliveReusesOneConnectionForEveryRequest() throws Exception {
        String url = "http://" + STACK + "/";
        NetNs.Result r = ns.execOk(Duration.ofSeconds(30), "curl", "-sS", "--max-time", "20",
                "-w", "\\n%{http_code} %{num_connects}\\n", url, url, url, url, url);
        // Five bodies, each followed by "200 n": the first request connects once, the rest reuse it.
        assertEquals(5, count(r.stdout(), "Hello World"), r.stdout());
        assertEquals(5, count(r.stdout(), "\n200 "), r.stdout());
        assertEquals(1, count(r.stdout(), "\n200 1"), "curl opened more than one connection:\n" + r.stdout());
    }

    @Test
    void curlWithConnectionCloseGetsTheAnswerAndAClosedConnection() throws Exception {
        for (int i = 0; i < 20; i++) {
            NetNs.Result r = ns.execOk(Duration.ofSeconds(30), "curl", "-sS", "--max-time", "10", "-i",
                    "-H", "Connection: close", "http://" + STACK + "/");
            assertTrue(r.stdout().startsWith("HTTP/1.1 200 OK"), r.stdout());
            assertTrue(r.stdout().toLowerCase().contains("connection: close"), r.stdout());
            assertTrue(r.stdout().endsWith("Hello World"), r.stdout());
        }
    }

    @Test
    void wrkForThreeSecondsGetsOnlyGoodResponses() throws Exception {
        NetNs.Result r = ns.execOk(Duration.ofSeconds(60), "wrk", "-t1", "-c16", "-d3s", "--latency",
                "http://" + STACK + "/");
        String out = r.stdout();
        System.out.println("[it] wrk: " + out);
        Matcher m = Pattern.compile("(\\d+) requests in").matcher(out);
        assertTrue(m.find(), out);
        assertTrue(Long.parseLong(m.group(1)) > 1000, "too few requests:\n" + out);
        assertTrue(!out.contains("Non-2xx"), "bad responses:\n" + out);
        assertTrue(!out.contains("Socket errors"), "socket errors:\n" + out);
    }

    private static int count(String s, String what) {
        int n = 0;
        for (int i = s.indexOf(what); i >= 0; i = s.indexOf(what, i + 1)) {
            n++;
        }
        return n;
    }
}
