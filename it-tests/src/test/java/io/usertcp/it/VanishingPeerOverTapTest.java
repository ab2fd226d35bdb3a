package io.usertcp.it;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.usertcp.channel.UserTcpChannel;
import io.usertcp.channel.UserTcpChannelOption;
import io.usertcp.channel.UserTcpIoHandler;
import io.usertcp.channel.UserTcpServerChannel;
import io.usertcp.link.TapConfig;
import io.usertcp.stack.StackConfig;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A Linux peer that vanishes mid-transfer (nftables drops everything to and from the TAP device in its
 * namespace): with TCP_USER_TIMEOUT the connection must end with a timeout (RFC 9293 §3.8.3, RFC 5482) and
 * give its buffers back, instead of retrying for a quarter of an hour.
 */
@ExtendWith(LeakCheck.class)
@Timeout(value = 3, unit = TimeUnit.MINUTES)
class VanishingPeerOverTapTest {
    static final String STACK = "198.18.5.2";
    static NetNs ns;
    static String tap;
    static EventLoopGroup group;
    static Channel server;
    static final CompletableFuture<UserTcpChannel> accepted = new CompletableFuture<>();
    static final CompletableFuture<Throwable> failure = new CompletableFuture<>();

    @BeforeAll
    static void start() throws Exception {
        ns = NetNs.create();
        tap = NetNs.uniqueTapName();
        StackConfig cfg = StackConfig.builder()
                .link(TapConfig.builder(tap).kernelAddress("198.18.5.1/24").namespace(ns.name()).build())
                .address(STACK + "/24").build();
        group = new MultiThreadIoEventLoopGroup(ItLoops.count(), UserTcpIoHandler.newFactory(cfg));
        server = new ServerBootstrap().group(group).channel(UserTcpServerChannel.class)
                .childOption(UserTcpChannelOption.TCP_USER_TIMEOUT, 3000)
                .childHandler(new ChannelInboundHandlerAdapter() {
                    @Override
                    public void channelActive(ChannelHandlerContext ctx) {
                        accepted.complete((UserTcpChannel) ctx.channel());
                        ctx.fireChannelActive();
                    }

                    @Override
                    public void channelRead(ChannelHandlerContext ctx, Object msg) {
                        ((ByteBuf) msg).release();
                        // Each request asks for 256 KiB: more than the kernel's receive window once it
                        // stops answering, so data stays unacknowledged.
                        ByteBuf b = ctx.alloc().buffer(256 * 1024);
                        b.writeZero(256 * 1024);
                        ctx.writeAndFlush(b);
                    }

                    @Override
                    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
                        failure.complete(cause);
                        ctx.close();
                    }
                }).bind(7).sync().channel();
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
    void userTimeoutEndsTheConnectionAndFreesItsBuffers() throws Exception {
        // The client asks once, reads a little, then sleeps while the peer "vanishes".
        String script = String.join("\n",
                "import socket, sys, time",
                "s = socket.create_connection((sys.argv[1], 7), timeout=10)",
                "s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16384)",
                "s.sendall(b'go')",
                "s.recv(1000)",
                "time.sleep(30)");
        NetNs.Background client = ns.start(EchoOverTapTest.PYTHON, "-c", script, STACK);
        try {
            UserTcpChannel ch = accepted.get(20, TimeUnit.SECONDS);
            // The peer vanishes: nothing from our TAP reaches it, nothing of its reaches us.
            ns.execOk(Duration.ofSeconds(10), "nft", "add", "table", "inet", "gone");
            ns.execOk(Duration.ofSeconds(10), "nft", "add", "chain", "inet", "gone", "in",
                    "{ type filter hook input priority 0; }");
            ns.execOk(Duration.ofSeconds(10), "nft", "add", "chain", "inet", "gone", "out",
                    "{ type filter hook output priority 0; }");
            ns.execOk(Duration.ofSeconds(10), "nft", "add", "rule", "inet", "gone", "in", "iifname", tap, "drop");
            ns.execOk(Duration.ofSeconds(10), "nft", "add", "rule", "inet", "gone", "out", "oifname", tap, "drop");
            long t0 = System.nanoTime();
            assertTrue(ch.closeFuture().await(20, TimeUnit.SECONDS), "the connection outlived its user timeout");
            long seconds = TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - t0);
            assertTrue(seconds <= 10, "closed only after " + seconds + " s with a 3 s user timeout");
            Throwable cause = failure.get(5, TimeUnit.SECONDS);
            assertTrue(String.valueOf(cause.getMessage()).contains("timed out"), () -> "unexpected cause: " + cause);
            int unacked = ch.eventLoop().submit(() -> ch.connection().unacknowledgedBytes()).get();
            assertEquals(0, unacked, "send buffer not freed");
            assertTrue(ch.eventLoop().submit(() -> ch.connection().isClosed()).get());
        } finally {
            client.close();
        }
    }
}
