package io.usertcp.examples;

import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.util.concurrent.EventExecutor;
import io.usertcp.channel.UserTcp;
import io.usertcp.stats.ConnectionTable;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.lang.reflect.Proxy;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Looking inside a running example: a line {@code ss} typed on its standard input prints the connection table of
 * its stack (as {@code ss -tuai}), {@code stats} the counters that are not zero; {@code kill -USR2 <pid>} prints
 * both, for an example that runs without a console (in a container, under systemd, with stdin from /dev/null).
 */
final class Inspect {
    static final String HELP = "commands: ss (the connection table), stats (the counters that are not zero)";

    private Inspect() {
    }

    /** Starts the console reader (a daemon thread) and the SIGUSR2 handler; both print to {@code out}. */
    static void install(EventLoopGroup group, PrintStream out) {
        Thread console = new Thread(() -> console(new BufferedReader(new InputStreamReader(System.in,
                StandardCharsets.UTF_8)), out, group), "usertcp-console");
        console.setDaemon(true);
        console.start();
        onSignal("USR2", () -> out.print(report(group, true, true)));
    }

    /** Answers each line of {@code in} until it ends (at once when stdin is /dev/null or closed). */
    static void console(BufferedReader in, PrintStream out, EventLoopGroup group) {
        try {
            for (String line; (line = in.readLine()) != null; ) {
                String cmd = line.trim();
                if (cmd.equals("ss")) {
                    out.print(report(group, true, false));
                } else if (cmd.equals("stats")) {
                    out.print(report(group, false, true));
                } else if (!cmd.isEmpty()) {
                    out.println(HELP);
                }
                out.flush();
            }
        } catch (IOException e) {
            // stdin went away: nothing more to answer
        }
    }

    /** The connection table and/or the non-zero counters of every usertcp loop of {@code group}, as text. */
    static String report(EventLoopGroup group, boolean table, boolean stats) {
        StringBuilder sb = new StringBuilder();
        int index = 0;
        for (EventExecutor e : group) {
            int i = index++;
            if (!(e instanceof EventLoop) || UserTcp.linkName((EventLoop) e) == null) {
                continue;
            }
            EventLoop loop = (EventLoop) e;
            String name = "usertcp stack on " + UserTcp.linkName(loop) + " (loop " + i + ")";
            try {
                if (table) {
                    sb.append(name).append(", connections:\n")
                            .append(ConnectionTable.format(UserTcp.connections(loop).get(5, TimeUnit.SECONDS)));
                }
                if (stats) {
                    sb.append(name).append(", counters that are not zero:\n");
                    StringBuilder line = new StringBuilder(" ");
                    for (Map.Entry<String, Long> c : UserTcp.stats(loop).get(5, TimeUnit.SECONDS).entrySet()) {
                        if (c.getValue() != 0) {
                            String item = " " + c.getKey() + "=" + c.getValue();
                            if (line.length() + item.length() > 110) {
                                sb.append(line).append('\n');
                                line.setLength(1);
                            }
                            line.append(item);
                        }
                    }
                    sb.append(line).append('\n');
                }
            } catch (Exception ex) {
                sb.append(name).append(": ").append(EchoServer.describe(ex)).append('\n');
            }
        }
        return sb.toString();
    }

    /**
     * Runs {@code action} on each delivery of signal {@code name} (sun.misc.Signal from jdk.unsupported, reached by
     * reflection: a runtime image without that module just goes without). Returns whether the handler is in place.
     */
    static boolean onSignal(String name, Runnable action) {
        try {
            Class<?> signal = Class.forName("sun.misc.Signal");
            Class<?> handler = Class.forName("sun.misc.SignalHandler");
            Object h = Proxy.newProxyInstance(Inspect.class.getClassLoader(), new Class<?>[] {handler},
                    (proxy, method, args) -> {
                        if (method.getName().equals("handle")) {
                            action.run();
                            return null;
                        }
                        if (method.getName().equals("equals")) {
                            return proxy == args[0];
                        }
                        return method.getName().equals("hashCode") ? System.identityHashCode(proxy) : "usertcp " + name;
                    });
            Object sig = signal.getConstructor(String.class).newInstance(name);
            signal.getMethod("handle", signal, handler).invoke(null, sig, h);
            return true;
        } catch (ReflectiveOperationException | RuntimeException | LinkageError e) {
            return false; // no jdk.unsupported, or the signal is the VM's: ss on stdin still works
        }
    }
}
