package io.usertcp.stack;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.buffer.UnpooledByteBufAllocator;
import io.netty.util.ResourceLeakDetector;
import io.netty.util.ResourceLeakDetectorFactory;
import io.netty.util.ResourceLeakTracker;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

import java.util.ArrayList;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.logging.Filter;
import java.util.logging.Logger;

/**
 * Fails a test class when Netty's {@link ResourceLeakDetector} reports a leak ("LEAK: ...") while it runs: a copy
 * of the it-tests module's {@code LeakCheck} for the stack tests of this module, which read back pooled frames
 * and must release every one. Use it as {@code @ExtendWith(StackLeakCheck.class)}. Unlike the original, reports
 * left by earlier test classes in the same JVM are printed, not failed on, and a blind detector (Netty's buffer
 * classes loaded before {@link #install()} and logging elsewhere than java.util.logging, as can happen when the
 * whole suite runs in one JVM) only warns.
 *
 * <p>How it sees the reports: it installs a {@link ResourceLeakDetectorFactory} whose detectors record every
 * report (and still log it). Netty makes most detectors once, in static initialisers (the one for
 * {@code ByteBuf} when the first buffer class loads), so the factory only catches what loads after
 * {@link #install()}; as a fallback it also watches the JDK logger Netty reports through when no SLF4J or
 * Log4j is on the class path.
 *
 * <p>How it makes sure it is not blind: a leak is only reported when the detector's weak reference has been
 * cleared by a GC <em>and</em> the detector tracks a new object. At the end it therefore leaks a marked
 * "canary" buffer on purpose, runs the GC and allocates until the canary's report arrives (up to 10 s), then
 * one more round, and fails if the canary never shows up (leak detection is off or the reports go
 * elsewhere). The canary's report is not logged. Leak detection needs level PARANOID to see every buffer;
 * {@link #install()} raises the level to PARANOID if it is lower.
 */
public final class StackLeakCheck implements BeforeAllCallback, AfterAllCallback {

    private static final String CANARY = "LeakCheck-canary-";
    private static final Queue<String> REPORTS = new ConcurrentLinkedQueue<>();
    private static final List<RecordingDetector<?>> DETECTORS = new CopyOnWriteArrayList<>();
    /** Set while our own detector logs, so that the log watcher does not count the same report twice. */
    private static final ThreadLocal<Boolean> OWN_REPORT = ThreadLocal.withInitial(() -> Boolean.FALSE);
    private static final AtomicInteger CANARIES = new AtomicInteger();
    /** Held strongly: java.util.logging forgets the configuration of loggers nobody references. */
    private static final Logger JUL = Logger.getLogger(ResourceLeakDetector.class.getName());
    private static boolean installed;

    static {
        install();
    }

    /** Installs the recording factory and the log watcher, and sets the level to PARANOID. Idempotent. */
    public static synchronized void install() {
        if (installed) {
            return;
        }
        installed = true;
        if (ResourceLeakDetector.getLevel() != ResourceLeakDetector.Level.PARANOID) {
            System.err.println("[LeakCheck] raising Netty's leak detection level from "
                    + ResourceLeakDetector.getLevel() + " to PARANOID");
            ResourceLeakDetector.setLevel(ResourceLeakDetector.Level.PARANOID);
        }
        ResourceLeakDetectorFactory.setResourceLeakDetectorFactory(new RecordingFactory());
        Filter previous = JUL.getFilter();
        JUL.setFilter(record -> {
            String msg = record.getMessage();
            if (msg != null && msg.contains("LEAK:") && !OWN_REPORT.get()) {
                REPORTS.add(msg);
                if (msg.contains(CANARY)) {
                    return false; // the planted leak: recorded, not logged
                }
            }
            return previous == null || previous.isLoggable(record);
        });
    }

    @Override
    public void beforeAll(ExtensionContext context) {
        install();
        List<String> earlier = drain();
        if (!earlier.isEmpty()) {
            System.err.println("[StackLeakCheck] " + earlier.size() + " leak(s) reported before "
                    + context.getDisplayName() + " started (not this class's):\n" + String.join("\n\n", earlier));
        }
    }

    @Override
    public void afterAll(ExtensionContext context) {
        assertNoLeaks(context.getDisplayName());
    }

    /**
     * Collects the reports of everything that leaked and is now unreachable, and throws an
     * {@link AssertionError} listing them, if any. Also throws when leak reports do not reach this class.
     */
    public static void assertNoLeaks(String where) {
        install();
        String canary = CANARY + CANARIES.incrementAndGet() + ".";
        plantCanary(canary);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        boolean seen = false;
        while (!seen && System.nanoTime() < deadline) {
            collect(50);
            seen = REPORTS.stream().anyMatch(r -> r.contains(canary));
        }
        collect(200); // leaks whose references the same GC cleared but were queued after the canary's
        List<String> leaks = drain();
        if (!seen && leaks.isEmpty()) {
            System.err.println("[StackLeakCheck] blind in " + where + ": a buffer leaked on purpose was not"
                    + " reported within 10 s; run these classes alone to check for leaks");
            return;
        }
        if (!seen) {
            throw new AssertionError("LeakCheck is blind: a buffer leaked on purpose was not reported within 10 s"
                    + " (leak detection level " + ResourceLeakDetector.getLevel() + "). Install LeakCheck before"
                    + " Netty's buffer classes load, or let Netty log through java.util.logging."
                    + (leaks.isEmpty() ? "" : " Reports seen:\n" + String.join("\n\n", leaks)));
        }
        if (!leaks.isEmpty()) {
            throw new AssertionError(leaks.size() + " leak(s) reported by Netty's ResourceLeakDetector during "
                    + where + ":\n" + String.join("\n\n", leaks));
        }
    }

    /** Removes and returns the reports recorded so far, without the canaries'. */
    private static List<String> drain() {
        List<String> out = new ArrayList<>();
        for (String r; (r = REPORTS.poll()) != null; ) {
            if (!r.contains(CANARY)) {
                out.add(r);
            }
        }
        return out;
    }

    /** Leaks one marked buffer: the GC makes it unreachable and the next allocation reports it. */
    private static void plantCanary(String marker) {
        ByteBuf canary = Unpooled.directBuffer(1); // direct: Netty does not track unpooled heap buffers
        canary.touch(marker);
        // deliberately not released
    }

    /** Runs the GC, waits for the reference handler, then makes every detector look at its queue. */
    private static void collect(long waitMillis) {
        System.gc();
        try {
            Thread.sleep(waitMillis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        for (RecordingDetector<?> d : DETECTORS) {
            d.poke();
        }
        // Reaches the ByteBuf detector even when Netty made it before install().
        UnpooledByteBufAllocator.DEFAULT.directBuffer(1).release();
    }

    private static final class RecordingFactory extends ResourceLeakDetectorFactory {
        @Override
        public <T> ResourceLeakDetector<T> newResourceLeakDetector(Class<T> resource, int samplingInterval) {
            RecordingDetector<T> d = new RecordingDetector<>(resource, samplingInterval);
            DETECTORS.add(d);
            return d;
        }

        @Override
        @Deprecated
        public <T> ResourceLeakDetector<T> newResourceLeakDetector(Class<T> resource, int samplingInterval,
                                                                   long maxActive) {
            return newResourceLeakDetector(resource, samplingInterval);
        }
    }

    private static final class RecordingDetector<T> extends ResourceLeakDetector<T> {
        RecordingDetector(Class<T> resource, int samplingInterval) {
            super(resource, samplingInterval);
        }

        @Override
        protected boolean needReport() {
            return true; // report even when the logger would drop errors
        }

        @Override
        protected void reportTracedLeak(String resourceType, String records) {
            REPORTS.add("LEAK: " + resourceType + ".release() was not called before it was garbage-collected."
                    + records);
            if (!records.contains(CANARY)) {
                log(() -> super.reportTracedLeak(resourceType, records));
            }
        }

        @Override
        protected void reportUntracedLeak(String resourceType) {
            REPORTS.add("LEAK: " + resourceType + ".release() was not called before it was garbage-collected"
                    + " (untraced)");
            log(() -> super.reportUntracedLeak(resourceType));
        }

        private static void log(Runnable report) {
            OWN_REPORT.set(Boolean.TRUE);
            try {
                report.run();
            } finally {
                OWN_REPORT.set(Boolean.FALSE);
            }
        }

        /** Tracks and releases a dummy object: tracking is what makes a detector report its queue. */
        @SuppressWarnings("unchecked")
        void poke() {
            T probe = (T) new Object();
            ResourceLeakTracker<T> tracker = trackForcibly(probe);
            if (tracker != null) {
                tracker.close(probe);
            }
        }
    }
}
