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
 * Fails a test class when Netty's {@link ResourceLeakDetector} reports a leak ("LEAK: ...") while it runs, and
 * fails it too when it cannot see the reports. It runs for every test class of this module: it is registered
 * through {@code META-INF/services/org.junit.jupiter.api.extension.Extension} and
 * {@code junit.jupiter.extensions.autodetection.enabled=true} in {@code junit-platform.properties}, so a class
 * needs no annotation ({@code @ExtendWith(StackLeakCheck.class)} still works and runs the check once).
 * {@link StackLeakCheckTest} shows that it fails a class that leaks. A copy lives in the it-tests module
 * ({@code io.usertcp.it.LeakCheck}).
 *
 * <p>How it sees the reports: it installs a {@link ResourceLeakDetectorFactory} whose detectors record every
 * report (and still log it). Netty makes most detectors once, in static initialisers (the one for
 * {@code ByteBuf} when the first buffer class loads), so the factory only catches what loads after
 * {@link #install()}; auto-registration installs it when the test engine starts, before any test class runs.
 * As a fallback it also watches the JDK logger Netty reports through when no SLF4J or Log4j is on the class
 * path.
 *
 * <p>How it makes sure it is not blind: leak detection must be at level PARANOID (every buffer tracked);
 * {@link #install()} raises it, and a class that lowers it fails. A leak is only reported when the detector's
 * weak reference has been cleared by a GC <em>and</em> the detector tracks a new object, so at the end of each
 * class it leaks a marked "canary" buffer on purpose, runs the GC and allocates until the canary's report
 * arrives (up to 10 s), then one more round for reports queued behind it; a class whose canary never shows up
 * fails (the reports go somewhere this class cannot see). The canary's report is not logged.
 *
 * <p>Attribution: the check at the end of a class catches what the class leaked and dropped. A report that
 * arrives later (a buffer held past the class, by a static or a thread that outlived it) fails the class that
 * is running then, naming the class before it as the likely culprit.
 */
public final class StackLeakCheck implements BeforeAllCallback, AfterAllCallback {

    /** Marks a buffer leaked on purpose (the canary, the self-test's): reported and recorded, not logged. */
    static final String DELIBERATE = "LeakCheck-deliberate-";
    private static final String CANARY = DELIBERATE + "canary-";
    private static final long CANARY_TIMEOUT_NANOS = TimeUnit.SECONDS.toNanos(10);
    private static final Queue<String> REPORTS = new ConcurrentLinkedQueue<>();
    private static final List<RecordingDetector<?>> DETECTORS = new CopyOnWriteArrayList<>();
    /** Set while our own detector logs, so that the log watcher does not count the same report twice. */
    private static final ThreadLocal<Boolean> OWN_REPORT = ThreadLocal.withInitial(() -> Boolean.FALSE);
    private static final AtomicInteger CANARIES = new AtomicInteger();
    /** Held strongly: java.util.logging forgets the configuration of loggers nobody references. */
    private static final Logger JUL = Logger.getLogger(ResourceLeakDetector.class.getName());
    private static final ExtensionContext.Namespace NAMESPACE = ExtensionContext.Namespace.create(StackLeakCheck.class);
    private static boolean installed;
    /** The last class checked, to name in a report that arrives after its check. */
    private static volatile String lastChecked = "(none: the first class)";

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
            ResourceLeakDetector.setLevel(ResourceLeakDetector.Level.PARANOID);
        }
        ResourceLeakDetectorFactory.setResourceLeakDetectorFactory(new RecordingFactory());
        Filter previous = JUL.getFilter();
        JUL.setFilter(record -> {
            String msg = record.getMessage();
            if (msg != null && msg.contains("LEAK:") && !OWN_REPORT.get()) {
                REPORTS.add(msg);
                if (msg.contains(DELIBERATE)) {
                    return false; // a planted leak: recorded, not logged
                }
            }
            return previous == null || previous.isLoggable(record);
        });
    }

    @Override
    public void beforeAll(ExtensionContext context) {
        install();
        if (!firstCall(context, "before")) {
            return;
        }
        List<String> earlier = drain();
        if (!earlier.isEmpty()) {
            // Failed at the end of this class, so that its tests still run.
            context.getStore(NAMESPACE).put(key(context, "earlier"), earlier);
        }
    }

    @Override
    @SuppressWarnings("unchecked")
    public void afterAll(ExtensionContext context) {
        if (!firstCall(context, "after")) {
            return;
        }
        String where = context.getDisplayName();
        List<String> earlier = (List<String>) context.getStore(NAMESPACE).get(key(context, "earlier"), List.class);
        String previous = lastChecked;
        lastChecked = where;
        if (earlier != null) {
            throw new AssertionError(earlier.size() + " leak(s) reported by Netty's ResourceLeakDetector after the"
                    + " check of " + previous + " and before " + where + " started (a buffer that outlived its"
                    + " class, most likely " + previous + "'s):\n" + String.join("\n\n", earlier));
        }
        assertNoLeaks(where);
    }

    /** True the first time a callback runs for this class: the extension may be registered twice. */
    private static boolean firstCall(ExtensionContext context, String callback) {
        boolean[] first = {false};
        context.getStore(NAMESPACE).getOrComputeIfAbsent(key(context, callback), k -> {
            first[0] = true;
            return Boolean.TRUE;
        }, Boolean.class);
        return first[0];
    }

    private static String key(ExtensionContext context, String what) {
        return context.getUniqueId() + "/" + what; // stores are inherited: nested classes need keys of their own
    }

    /**
     * Collects the reports of everything that leaked and is now unreachable, and throws an
     * {@link AssertionError} listing them, if any. Also throws when leak reports cannot be seen: the level is
     * not PARANOID, or a buffer leaked on purpose is not reported within 10 s.
     */
    public static void assertNoLeaks(String where) {
        install();
        ResourceLeakDetector.Level level = ResourceLeakDetector.getLevel();
        if (level != ResourceLeakDetector.Level.PARANOID) {
            throw new AssertionError("Netty's leak detection level is " + level + " at the end of " + where
                    + ", not PARANOID: leaks may have gone unseen. Do not lower it in tests"
                    + " (io.netty.leakDetection.level comes from the build's leak.level property).");
        }
        String canary = CANARY + CANARIES.incrementAndGet() + ".";
        plantCanary(canary);
        long deadline = System.nanoTime() + CANARY_TIMEOUT_NANOS;
        boolean seen = false;
        while (!seen && System.nanoTime() < deadline) {
            collect(50);
            seen = REPORTS.stream().anyMatch(r -> r.contains(canary));
        }
        collect(50); // leaks whose references the same GC cleared but were queued after the canary's
        List<String> leaks = drain();
        if (!seen) {
            throw new AssertionError("StackLeakCheck is blind in " + where + ": a buffer leaked on purpose was not"
                    + " reported within 10 s (leak detection level " + ResourceLeakDetector.getLevel() + "). It"
                    + " must be installed before Netty's buffer classes load (auto-registration does that), or"
                    + " Netty must log through java.util.logging."
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
            if (!records.contains(DELIBERATE)) {
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
