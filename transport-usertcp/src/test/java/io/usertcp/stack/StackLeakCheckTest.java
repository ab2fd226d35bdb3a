package io.usertcp.stack;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.util.ResourceLeakDetector;
import org.junit.jupiter.api.Test;
import org.junit.platform.engine.TestExecutionResult;
import org.junit.platform.engine.support.descriptor.ClassSource;
import org.junit.platform.launcher.Launcher;
import org.junit.platform.launcher.TestExecutionListener;
import org.junit.platform.launcher.TestIdentifier;
import org.junit.platform.launcher.core.LauncherFactory;

import java.util.HashMap;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;
import static org.junit.platform.engine.discovery.DiscoverySelectors.selectClass;
import static org.junit.platform.launcher.core.LauncherDiscoveryRequestBuilder.request;

/**
 * The leak check itself can fail: fixture classes without any annotation run through a JUnit launcher of
 * their own, in this JVM, with this module's {@code junit-platform.properties} (auto-detected extensions);
 * {@link StackLeakCheck} must fail the one that leaks a buffer and the one that lowers the leak detection
 * level, and pass the one that releases what it allocates. The fixtures are nested classes, which surefire
 * does not run on its own, and they skip unless this test launches them.
 */
class StackLeakCheckTest {
    private static final String MARKER = StackLeakCheck.DELIBERATE + "StackLeakCheckTest";
    private static volatile boolean launching;

    @Test
    void failsAClassThatLeaksABuffer() {
        TestExecutionResult r = run(LeakyFixture.class);
        assertThat(r.getStatus()).as("the leaking class's result").isEqualTo(TestExecutionResult.Status.FAILED);
        assertThat(r.getThrowable()).get().isInstanceOf(AssertionError.class)
                .extracting(Throwable::getMessage).asString()
                .contains("1 leak(s) reported by Netty's ResourceLeakDetector during StackLeakCheckTest$LeakyFixture:")
                .contains(MARKER);
    }

    @Test
    void passesAClassThatReleasesWhatItAllocates() {
        TestExecutionResult r = run(CleanFixture.class);
        assertThat(r.getStatus()).as("the clean class's result: " + r.getThrowable())
                .isEqualTo(TestExecutionResult.Status.SUCCESSFUL);
    }

    @Test
    void failsAClassThatLowersTheLeakDetectionLevel() {
        ResourceLeakDetector.Level level = ResourceLeakDetector.getLevel();
        try {
            TestExecutionResult r = run(BlindFixture.class);
            assertThat(r.getStatus()).as("the class that lowered the level").isEqualTo(TestExecutionResult.Status.FAILED);
            assertThat(r.getThrowable()).get().extracting(Throwable::getMessage).asString()
                    .contains("leak detection level is SIMPLE");
        } finally {
            ResourceLeakDetector.setLevel(level);
        }
    }

    /** Runs one fixture class alone; returns the result of its class container. */
    private static TestExecutionResult run(Class<?> fixture) {
        Map<String, TestExecutionResult> results = new HashMap<>();
        Launcher launcher = LauncherFactory.create();
        launching = true;
        try {
            launcher.execute(request().selectors(selectClass(fixture)).build(), new TestExecutionListener() {
                @Override
                public void executionFinished(TestIdentifier id, TestExecutionResult result) {
                    id.getSource().filter(ClassSource.class::isInstance).map(ClassSource.class::cast)
                            .ifPresent(s -> results.put(s.getClassName(), result));
                }
            });
        } finally {
            launching = false;
        }
        assertThat(results).as("the fixture ran").containsKey(fixture.getName());
        return results.get(fixture.getName());
    }

    static class LeakyFixture {
        @Test
        void dropsABufferWithoutReleasingIt() {
            assumeTrue(launching, "a fixture of StackLeakCheckTest");
            ByteBuf b = PooledByteBufAllocator.DEFAULT.directBuffer(64);
            b.touch(MARKER);
            b.writeLong(42); // and drops it
        }
    }

    static class CleanFixture {
        @Test
        void releasesItsBuffer() {
            assumeTrue(launching, "a fixture of StackLeakCheckTest");
            ByteBuf b = PooledByteBufAllocator.DEFAULT.directBuffer(64);
            b.writeLong(42);
            b.release();
        }
    }

    static class BlindFixture {
        @Test
        void lowersTheLevel() {
            assumeTrue(launching, "a fixture of StackLeakCheckTest");
            ResourceLeakDetector.setLevel(ResourceLeakDetector.Level.SIMPLE);
        }
    }
}
