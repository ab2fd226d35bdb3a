package io.usertcp.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.usertcp.channel.UserTcpIoHandler;
import io.usertcp.channel.UserTcpServerChannel;
import io.usertcp.stack.StackConfig;

import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.StringReader;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The examples' "ss" and "stats" console commands and SIGUSR2, on a loopback stack (no TAP device). */
class InspectTest {
    private EventLoopGroup group;

    @BeforeEach
    void start() throws Exception {
        group = new MultiThreadIoEventLoopGroup(1,
                UserTcpIoHandler.newFactory(StackConfig.builder().address("198.18.0.2/24").build()));
        Channel server = new ServerBootstrap().group(group).channel(UserTcpServerChannel.class)
                .childHandler(new EchoServerHandler()).bind(7).sync().channel();
        assertTrue(server.isActive());
    }

    @AfterEach
    void stop() throws Exception {
        group.shutdownGracefully(0, 5, TimeUnit.SECONDS).sync();
    }

    @Test
    void consoleCommandsPrintTheTableAndTheCounters() {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        PrintStream out = new PrintStream(bytes, true, StandardCharsets.UTF_8);
        Inspect.console(new BufferedReader(new StringReader("ss\n\nstats\nwhat\n")), out, group);
        String[] lines = bytes.toString(StandardCharsets.UTF_8).split("\n");
        assertEquals("usertcp stack on loopback (loop 0), connections:", lines[0]);
        assertTrue(lines[1].startsWith("Netid State"), lines[1]);
        assertTrue(lines[2].startsWith("tcp   LISTEN 0      ") && lines[2].endsWith(" *:7                *:*"),
                lines[2]); // Send-Q: the backlog, Netty's default (somaxconn)
        assertEquals("usertcp stack on loopback (loop 0), counters that are not zero:", lines[3]);
        assertEquals(Inspect.HELP, lines[lines.length - 1]);
    }

    @Test
    void sigusr2PrintsBoth() throws Exception {
        CountDownLatch printed = new CountDownLatch(1);
        StringBuilder got = new StringBuilder();
        boolean installed = Inspect.onSignal("USR2", () -> {
            got.append(Inspect.report(group, true, true));
            printed.countDown();
        });
        assertTrue(installed, "sun.misc.Signal takes SIGUSR2 on this JVM");
        Process kill = new ProcessBuilder("kill", "-USR2", Long.toString(ProcessHandle.current().pid())).start();
        assertEquals(0, kill.waitFor());
        assertTrue(printed.await(10, TimeUnit.SECONDS), "the handler ran");
        String text = got.toString();
        assertTrue(text.contains("LISTEN") && text.contains("counters that are not zero"), text);
    }
}
