package io.usertcp.it;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.usertcp.channel.UserTcpIoHandler;
import io.usertcp.channel.UserTcpServerChannel;
import io.usertcp.examples.EchoServerHandler;
import io.usertcp.link.FaultModel;
import io.usertcp.link.FaultyLink;
import io.usertcp.link.TapConfig;
import io.usertcp.stack.StackConfig;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * TCP against Linux on a bad network (issue #3): the kernel's side drops 5% of what reaches it (nftables
 * {@code numgen random}, inside the test namespace), and our side's {@link FaultyLink} drops 5%, reorders
 * 2% and duplicates 1% of what we send. Every byte is checked. Also a kernel-side reader that stops reading
 * for 30 s, which closes its window: our stack must probe the zero window and resume.
 */
@ExtendWith(LeakCheck.class)
@Timeout(value = 15, unit = TimeUnit.MINUTES)
class LossyNetworkOverTapTest {
    static final String STACK = "198.18.3.2";
    static final int ECHO_PORT = 7;
    static final int SOURCE_PORT = 19;
    static final int SOURCE_BYTES = 8 << 20;
    static NetNs ns;
    static String tap;
    static EventLoopGroup group;
    static List<Channel> servers;

    /** The byte at offset i of what the source port sends; the Python reader computes the same. */
    static byte sourceByte(long i) {
        return (byte) (i * 7 + (i >> 10));
    }

    @BeforeAll
    static void start() throws Exception {
        ns = NetNs.create();
        tap = NetNs.uniqueTapName();
        StackConfig cfg = StackConfig.builder()
                .link(FaultyLink.wrap(TapConfig.builder(tap).kernelAddress("198.18.3.1/24").namespace(ns.name())
                        .build(), FaultModel.of(0.05, 0.01, 0.02, 0, 3)))
                .address(STACK + "/24").build();
        group = new MultiThreadIoEventLoopGroup(ItLoops.count(), UserTcpIoHandler.newFactory(cfg));
        Channel echo = new ServerBootstrap().group(group).channel(UserTcpServerChannel.class)
                .childHandler(new EchoServerHandler()).bind(ECHO_PORT).sync().channel();
        Channel source = new ServerBootstrap().group(group).channel(UserTcpServerChannel.class)
                .childHandler(new SourceHandler()).bind(SOURCE_PORT).sync().channel();
        servers = List.of(echo, source);
        ns.execOk(Duration.ofSeconds(10), "nft", "add", "table", "inet", "loss");
        ns.execOk(Duration.ofSeconds(10), "nft", "add", "chain", "inet", "loss", "in",
                "{ type filter hook input priority 0; }");
        ns.execOk(Duration.ofSeconds(10), "nft", "add", "rule", "inet", "loss", "in", "iifname", tap,
                "numgen", "random", "mod", "100", "<", "5", "drop");
    }

    @AfterAll
    static void stop() throws Exception {
        try {
            if (servers != null) {
                for (Channel c : servers) {
                    c.close().sync();
                }
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

    /** Writes SOURCE_BYTES of the pattern as fast as the connection takes them, then closes. */
    static final class SourceHandler extends ChannelInboundHandlerAdapter {
        private long sent;

        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            pump(ctx);
        }

        @Override
        public void channelWritabilityChanged(ChannelHandlerContext ctx) {
            pump(ctx);
        }

        private void pump(ChannelHandlerContext ctx) {
            while (sent < SOURCE_BYTES && ctx.channel().isWritable()) {
                int n = (int) Math.min(65536, SOURCE_BYTES - sent);
                ByteBuf b = ctx.alloc().buffer(n);
                for (int i = 0; i < n; i++) {
                    b.writeByte(sourceByte(sent + i));
                }
                sent += n;
                if (sent == SOURCE_BYTES) {
                    ctx.writeAndFlush(b).addListener(ChannelFutureListener.CLOSE);
                } else {
                    ctx.writeAndFlush(b);
                }
            }
        }
    }

    @Test
    void sixtyFourMebibytesSurviveLossReorderingAndDuplication() throws Exception {
        NetNs.Result r = ns.exec(Duration.ofSeconds(600), EchoOverTapTest.PYTHON, "-c", EchoOverTapTest.BULK, STACK,
                String.valueOf(ECHO_PORT), "64");
        System.out.println("[it] lossy bulk: " + r.stdout() + r.stderr());
        assertTrue(r.ok(), () -> "64 MiB through loss failed: " + r);
    }

    @Test
    void readerThatStopsForThirtySecondsResumesAfterZeroWindow() throws Exception {
        String script = String.join("\n",
                "import socket, sys, time",
                "host, port, total = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])",
                "s = socket.create_connection((host, port), timeout=60)",
                "s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)",
                "time.sleep(30)  # the receive buffer fills, the window closes, the sender must probe",
                "got = 0",
                "expect = bytes(((i * 7 + (i >> 10)) & 255) for i in range(total))",
                "buf = bytearray()",
                "while True:",
                "    d = s.recv(1 << 20)",
                "    if not d:",
                "        break",
                "    buf += d",
                "if len(buf) != total:",
                "    sys.exit('got %d of %d bytes' % (len(buf), total))",
                "if buf != expect:",
                "    bad = next(i for i in range(total) if buf[i] != expect[i])",
                "    sys.exit('corrupt at %d' % bad)",
                "print('%d bytes intact after a 30 s stall' % total)");
        NetNs.Result r = ns.exec(Duration.ofSeconds(240), EchoOverTapTest.PYTHON, "-c", script, STACK,
                String.valueOf(SOURCE_PORT), String.valueOf(SOURCE_BYTES));
        System.out.println("[it] zero window: " + r.stdout() + r.stderr());
        assertTrue(r.ok(), () -> "zero-window stall failed: " + r);
    }
}
