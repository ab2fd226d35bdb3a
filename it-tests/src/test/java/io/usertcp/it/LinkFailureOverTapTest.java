package io.usertcp.it;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.usertcp.channel.UserTcpChannel;
import io.usertcp.channel.UserTcpIoHandler;
import io.usertcp.channel.UserTcpServerChannel;
import io.usertcp.link.TapConfig;
import io.usertcp.stack.StackConfig;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The TAP device is deleted ({@code ip link del}) under a running stack in the middle of a transfer: the loop
 * must not spin on the dead descriptor (ppoll reports POLLERR on it for ever), must log the failure once, count
 * it, fail the connection on it with an exception that says the link is gone, and keep running other tasks.
 */
@Timeout(value = 2, unit = TimeUnit.MINUTES)
class LinkFailureOverTapTest {
    static final String STACK = "198.18.6.2";

    NetNs ns;
    EventLoopGroup group;
    final List<LogRecord> warnings = new CopyOnWriteArrayList<>();
    /** Held strongly: java.util.logging forgets the configuration of loggers nobody references. */
    final Logger usertcpLog = Logger.getLogger("io.usertcp");
    final Handler counter = new Handler() {
        @Override
        public void publish(LogRecord r) {
            if (r.getLevel().intValue() >= Level.WARNING.intValue()) {
                warnings.add(r);
            }
        }

        @Override
        public void flush() {
        }

        @Override
        public void close() {
        }
    };

    @AfterEach
    void stop() throws Exception {
        usertcpLog.removeHandler(counter);
        try {
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
    void deletedTapFailsTheConnectionOnceAndTheLoopGoesQuiet() throws Exception {
        usertcpLog.addHandler(counter);
        ns = NetNs.create();
        String tap = NetNs.uniqueTapName();
        StackConfig cfg = StackConfig.builder()
                .link(TapConfig.builder(tap).kernelAddress("198.18.6.1/24").namespace(ns.name()).build())
                .address(STACK + "/24").build();
        // One loop: the test measures the CPU of the one loop thread and counts one warning and one linkFailures.
        group = new MultiThreadIoEventLoopGroup(1, UserTcpIoHandler.newFactory(cfg));
        CompletableFuture<UserTcpChannel> accepted = new CompletableFuture<>();
        CompletableFuture<Throwable> failure = new CompletableFuture<>();
        Channel server = new ServerBootstrap().group(group).channel(UserTcpServerChannel.class)
                .childHandler(new ChannelInboundHandlerAdapter() {
                    @Override
                    public void channelActive(ChannelHandlerContext ctx) {
                        accepted.complete((UserTcpChannel) ctx.channel());
                        ctx.fireChannelActive();
                    }

                    @Override
                    public void channelRead(ChannelHandlerContext ctx, Object msg) {
                        // Echo. Data that arrived before the link went stays readable (as before a reset); echoing it
                        // then fails the write with the link's error as its cause, before the read reports it.
                        ctx.writeAndFlush(msg).addListener(f -> {
                            if (!f.isSuccess()) {
                                failure.complete(f.cause());
                            }
                        });
                    }

                    @Override
                    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
                        failure.complete(cause);
                        ctx.close();
                    }
                }).bind(7).sync().channel();

        // A client in the namespace streams as fast as it can for longer than the test.
        String script = String.join("\n",
                "import socket, sys, time",
                "s = socket.create_connection((sys.argv[1], 7), timeout=10)",
                "s.setblocking(False)",
                "b = b'x' * 65536",
                "end = time.time() + 30",
                "while time.time() < end:",
                "    try:",
                "        s.send(b)",
                "        s.recv(65536)",
                "    except (BlockingIOError, OSError):",
                "        time.sleep(0.001)");
        NetNs.Background client = ns.start(EchoOverTapTest.PYTHON, "-c", script, STACK);
        try {
            UserTcpChannel ch = accepted.get(20, TimeUnit.SECONDS);
            long loopThread = group.next().submit(() -> Thread.currentThread().getId()).get();
            Thread.sleep(300); // mid-transfer
            int before = warnings.size();

            ns.execOk(Duration.ofSeconds(10), "ip", "link", "del", tap);

            ThreadMXBean mx = ManagementFactory.getThreadMXBean();
            Thread.sleep(300); // the failure is noticed within a turn
            long cpu0 = mx.getThreadCpuTime(loopThread);
            Thread.sleep(2000);
            long cpuMs = TimeUnit.NANOSECONDS.toMillis(mx.getThreadCpuTime(loopThread) - cpu0);
            int logged = warnings.size() - before;

            System.out.printf("loop CPU in the 2 s after the delete: %d ms, warnings: %d%n", cpuMs, logged);
            assertThat(cpuMs).as("CPU the event loop burned in 2 s after the delete (ms)").isLessThan(300);
            assertThat(logged).as("warnings after the delete: %s", warnings).isEqualTo(1);
            assertThat(warnings.get(before).getMessage()).contains(tap);

            Throwable cause = failure.get(5, TimeUnit.SECONDS);
            java.util.List<String> chain = new java.util.ArrayList<>();
            for (Throwable t = cause; t != null; t = t.getCause()) {
                chain.add(String.valueOf(t.getMessage()));
            }
            assertThat(chain).as("the failure or one of its causes names the deleted device")
                    .anySatisfy(m -> assertThat(m).contains(tap).contains("deleted"));
            assertThat(ch.closeFuture().await(5, TimeUnit.SECONDS)).as("the channel closed").isTrue();

            // The loop still runs tasks, and the server can be closed cleanly.
            assertThat(group.next().submit(() -> 42).get(5, TimeUnit.SECONDS)).isEqualTo(42);
            assertThat(io.usertcp.channel.UserTcp.stats(group.next()).get(5, TimeUnit.SECONDS))
                    .containsEntry("linkFailures", 1L);
            assertThat(server.close().await(5, TimeUnit.SECONDS)).isTrue();
        } finally {
            client.close();
        }
    }
}
