package io.usertcp.micrometer;

import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tag;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.binder.MeterBinder;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.util.concurrent.EventExecutor;
import io.usertcp.channel.UserTcp;
import io.usertcp.stats.StackStats;

import java.time.Duration;
import java.util.Map;
import java.util.Objects;

/**
 * Exposes the counters of every usertcp stack of an event loop group to Micrometer: one {@link FunctionCounter}
 * per {@link StackStats} counter and loop, named {@code usertcp.<counter>} ({@code usertcp.framesIn},
 * {@code usertcp.tcpRetransmits}, {@code usertcp.dropTcpChecksum}, ...; Prometheus shows them as
 * {@code usertcp_framesIn_total}) and tagged {@code loop} (the loop's index in the group) and {@code link} (the TAP
 * device, {@code loopback} for a stack without one), plus the tags given here.
 *
 * <pre>{@code
 * EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, UserTcpIoHandler.newFactory(config));
 * new UserTcpMetrics(group).bindTo(registry);
 * }</pre>
 *
 * <p>The values are read the way {@link UserTcp#stats} reads them: a copy of all counters taken on the loop's thread,
 * so a scrape sees values consistent with each other. One copy serves every meter of a loop for {@code maxAge}
 * (default one second), so a scrape costs one task per loop; the scraping thread waits for it at most
 * {@code timeout} (default one second) and otherwise, or when the loop is gone or the meter is read on the loop's
 * own thread, the last copy is reported. After the group shuts down the counters keep their last values; remove
 * the meters from the registry if they should go.
 */
public final class UserTcpMetrics implements MeterBinder {
    private static final Duration DEFAULT_MAX_AGE = Duration.ofSeconds(1);
    private static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(1);

    private final EventLoopGroup group;
    private final Iterable<Tag> tags;
    private final long maxAgeNanos;
    private final long timeoutNanos;

    /** The counters of {@code group}'s usertcp loops, with the default freshness and wait. */
    public UserTcpMetrics(EventLoopGroup group) {
        this(group, Tags.empty(), DEFAULT_MAX_AGE, DEFAULT_TIMEOUT);
    }

    /**
     * The counters of {@code group}'s usertcp loops, with {@code tags} on every meter.
     *
     * @param maxAge how long one copy of a loop's counters serves (zero: a fresh copy for every read)
     * @param timeout how long a read waits for the loop to take a copy before the last one is reported
     */
    public UserTcpMetrics(EventLoopGroup group, Iterable<Tag> tags, Duration maxAge, Duration timeout) {
        this.group = Objects.requireNonNull(group, "group");
        this.tags = Objects.requireNonNull(tags, "tags");
        this.maxAgeNanos = maxAge.toNanos();
        this.timeoutNanos = timeout.toNanos();
    }

    /**
     * Registers the counters of each usertcp loop of the group (loops of other transports are skipped).
     *
     * @throws IllegalArgumentException if the group has no live usertcp loop
     */
    @Override
    public void bindTo(MeterRegistry registry) {
        int index = 0;
        int bound = 0;
        for (EventExecutor e : group) {
            int i = index++;
            if (!(e instanceof EventLoop)) {
                continue;
            }
            EventLoop loop = (EventLoop) e;
            String link = UserTcp.linkName(loop);
            if (link == null) {
                continue;
            }
            Tags loopTags = Tags.of(tags).and("loop", Integer.toString(i), "link", link);
            LoopCounters counters = new LoopCounters(loop, maxAgeNanos, timeoutNanos);
            for (String name : StackStats.names()) {
                // The function holds the counters strongly: a meter holds its state object only weakly, and
                // nothing else refers to it, so a garbage collection would freeze every meter at its last value.
                FunctionCounter.builder("usertcp." + name, counters, c -> counters.value(name))
                        .description("usertcp StackStats." + name).tags(loopTags).register(registry);
            }
            bound++;
        }
        if (bound == 0) {
            throw new IllegalArgumentException(group + " has no live usertcp event loop: build it with "
                    + "UserTcpIoHandler.newFactory(config)");
        }
    }

    /** The last copy of one loop's counters, renewed through {@link UserTcp#stats} when it is older than allowed. */
    static final class LoopCounters {
        private final EventLoop loop;
        private final long maxAgeNanos;
        private final long timeoutNanos;
        private volatile Map<String, Long> last = Map.of();
        private volatile long takenAt;
        private volatile boolean taken;

        LoopCounters(EventLoop loop, long maxAgeNanos, long timeoutNanos) {
            this.loop = loop;
            this.maxAgeNanos = maxAgeNanos;
            this.timeoutNanos = timeoutNanos;
        }

        double value(String name) {
            Long v = current().get(name);
            return v == null ? 0 : v;
        }

        private Map<String, Long> current() {
            if (taken && System.nanoTime() - takenAt < maxAgeNanos || loop.inEventLoop()) {
                return last; // waiting on the loop's own thread for a task of that loop would never end
            }
            synchronized (this) {
                if (!(taken && System.nanoTime() - takenAt < maxAgeNanos)) {
                    renew();
                }
                return last;
            }
        }

        private void renew() {
            try {
                io.netty.util.concurrent.Future<Map<String, Long>> f = UserTcp.stats(loop);
                if (f.await(timeoutNanos, java.util.concurrent.TimeUnit.NANOSECONDS) && f.isSuccess()) {
                    last = f.getNow();
                    takenAt = System.nanoTime();
                    taken = true;
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } catch (RuntimeException e) {
                // the loop no longer takes tasks (shut down): keep the last values
            }
        }
    }
}
