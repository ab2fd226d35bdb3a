package io.usertcp.it;

import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoHandler;
import io.netty.channel.IoHandlerFactory;
import io.netty.util.concurrent.EventExecutor;
import io.netty.util.concurrent.ThreadAwareExecutor;
import io.usertcp.channel.UserTcp;
import io.usertcp.channel.UserTcpIoHandler;
import io.usertcp.stack.Stack;
import io.usertcp.stats.StackStats;

import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.function.ToLongFunction;

/**
 * The number of usertcp event loops the it-tests give their groups (issue #12: every it-test passes with one loop
 * and with several): the system property {@value #PROPERTY}, 1 by default. A group of several loops over one
 * {@code TapConfig} makes the TAP device multi-queue, one queue and one stack per loop. Counters the tests read
 * are then the sums over the group's stacks.
 */
final class ItLoops {
    /** The system property with the number of loops; the pom's {@code several-loops} execution sets it to 2. */
    static final String PROPERTY = "usertcp.it.loops";

    private ItLoops() {
    }

    /** The number of usertcp event loops per group: {@value #PROPERTY}, 1 unless set. */
    static int count() {
        String v = System.getProperty(PROPERTY, "1").trim();
        int n;
        try {
            n = Integer.parseInt(v);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(PROPERTY + " must be a number of event loops, not '" + v + "'", e);
        }
        if (n < 1) {
            throw new IllegalArgumentException(PROPERTY + " must be at least 1, not " + n);
        }
        return n;
    }

    /** The counters of every stack of {@code group} (each read on its loop, by {@link UserTcp#stats}), summed. */
    static Map<String, Long> stats(EventLoopGroup group) throws Exception {
        Map<String, Long> sum = new TreeMap<>();
        for (EventExecutor e : group) {
            UserTcp.stats((EventLoop) e).get(10, TimeUnit.SECONDS).forEach((k, v) -> sum.merge(k, v, Long::sum));
        }
        return sum;
    }

    /**
     * A factory that makes {@code UserTcpIoHandler}s through {@code factory} and remembers each with its loop, so
     * that a test can read what every stack of its group holds (counters, the connection table's size).
     */
    static final class Stacks implements IoHandlerFactory {
        private record Made(ThreadAwareExecutor loop, UserTcpIoHandler handler) {
        }

        private final IoHandlerFactory factory;
        private final List<Made> made = new CopyOnWriteArrayList<>();

        Stacks(IoHandlerFactory factory) {
            this.factory = factory;
        }

        @Override
        public IoHandler newHandler(ThreadAwareExecutor executor) {
            UserTcpIoHandler h = (UserTcpIoHandler) factory.newHandler(executor);
            made.add(new Made(executor, h));
            return h;
        }

        /** {@code f} of every stack, each computed on its own loop's thread, summed. */
        long sum(ToLongFunction<Stack> f) throws Exception {
            long sum = 0;
            for (Long v : onEach(s -> f.applyAsLong(s))) {
                sum += v;
            }
            return sum;
        }

        /** The counters of every stack (each read on its own loop's thread), summed by name. */
        Map<String, Long> counters() throws Exception {
            Map<String, Long> sum = new TreeMap<>();
            for (Map<String, Long> m : onEach(s -> s.stats().snapshot())) {
                m.forEach((k, v) -> sum.merge(k, v, Long::sum));
            }
            return sum;
        }

        /** {@link #counters()} as a {@code StackStats}. */
        StackStats stats() throws Exception {
            Map<String, Long> sum = counters();
            StackStats total = new StackStats();
            for (Field f : StackStats.class.getFields()) {
                if (f.getType() == long.class && !Modifier.isStatic(f.getModifiers())) {
                    f.setLong(total, sum.get(f.getName()));
                }
            }
            return total;
        }

        /** {@code f} of every stack, each on its own loop's thread, in the order the loops started. */
        private <T> List<T> onEach(Function<Stack, T> f) throws Exception {
            if (made.isEmpty()) {
                throw new IllegalStateException("no usertcp event loop has started");
            }
            List<T> out = new ArrayList<>();
            for (Made m : made) {
                CompletableFuture<T> v = new CompletableFuture<>();
                m.loop().execute(() -> {
                    try {
                        v.complete(f.apply(m.handler().stack()));
                    } catch (Throwable t) {
                        v.completeExceptionally(t);
                    }
                });
                out.add(v.get(10, TimeUnit.SECONDS));
            }
            return out;
        }
    }
}
