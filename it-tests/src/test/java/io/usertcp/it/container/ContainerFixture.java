package io.usertcp.it.container;

import com.github.dockerjava.api.exception.NotFoundException;
import com.github.dockerjava.api.model.Capability;
import com.github.dockerjava.api.model.Device;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Assumptions;
import org.testcontainers.DockerClientFactory;
import org.testcontainers.containers.Container.ExecResult;
import org.testcontainers.containers.GenericContainer;
import org.testcontainers.containers.output.OutputFrame;
import org.testcontainers.containers.wait.strategy.Wait;
import org.testcontainers.utility.DockerImageName;
import org.testcontainers.utility.MountableFile;

import java.io.File;
import java.io.IOException;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;

/**
 * What the container tests share: the check for a Docker engine, the test image (built from local files by
 * {@code container/build-image.sh}, never pulled), the examples jar, and a container that runs one example
 * on a TAP device inside it.
 *
 * <p>The container gets only what a TAP device needs: {@code --cap-add NET_ADMIN --device /dev/net/tun} and
 * network mode {@code none}, so the TAP device, the usertcp stack and the kernel-side client (python3 or
 * ping, run with {@code docker exec}) all live in the container's own network namespace. With
 * {@code USERTCP_CONTAINER_PRIVILEGED=true} it runs with {@code --privileged} instead.
 *
 * <p>Without a reachable Docker engine the tests are skipped with a message saying so, except when the
 * environment variable {@code CI} is {@code true}: there they fail, since CI must run them.
 */
final class ContainerFixture {

    /** Where the examples jar is copied in each container. */
    static final String JAR_IN_CONTAINER = "/opt/usertcp-examples.jar";
    /** The label on every container (and, from build-image.sh, image) the tests make; .ci/run removes them. */
    static final String LABEL = "io.usertcp.test";
    static final String KERNEL_CIDR = "198.18.0.1/24";
    static final String STACK = "198.18.0.2";
    static final String TAP = "tap0";

    private static final String BUILD_SCRIPT = "container/build-image.sh";
    private static final String NO_IP_BUILD_SCRIPT = "container/build-noip-image.sh";
    private static String image;
    private static String imageWithoutIp;

    private ContainerFixture() {
    }

    /**
     * Returns null when a Docker engine is reachable, else why the container tests are skipped (the caller
     * makes each test a JUnit assumption failure with it, see {@link #skipUnless}); fails instead when
     * {@code CI=true}.
     */
    static String whyNoDocker() {
        String problem;
        try {
            DockerClientFactory.instance().client();
            return null;
        } catch (Throwable t) { // IllegalStateException "Could not find a valid Docker environment", or worse
            problem = t.toString();
        }
        String what = "no Docker engine is reachable (" + problem + ")";
        if ("true".equalsIgnoreCase(System.getenv("CI"))) {
            Assertions.fail("CI=true, but " + what + ": the container tests must run in CI. `.ci/run` starts"
                    + " dockerd (`dockerd --bridge=none --iptables=false`) when none runs.");
        }
        return "skipping the container tests: " + what + ". Start dockerd (as `.ci/run` does) or set DOCKER_HOST"
                + " to run them.";
    }

    /**
     * Prints the reason once per class, then makes each test an assumption failure with it: each test then
     * counts as skipped, with the reason in the report (an assumption failing in {@code @BeforeAll} would make
     * the class run no test at all, with no trace in the summary).
     */
    static void skipUnless(String whyNot, Class<?> testClass, boolean firstTime) {
        if (whyNot != null && firstTime) {
            System.out.println("[container] " + testClass.getSimpleName() + ": " + whyNot);
        }
        Assumptions.assumeTrue(whyNot == null, whyNot);
    }

    /**
     * The tag of the local test image, built by build-image.sh (debootstrap and {@code docker import}, as root)
     * when the Docker engine does not have it yet. {@code .ci/run} builds it before Maven runs.
     */
    static synchronized String image() throws IOException, InterruptedException {
        if (image == null) {
            image = builtImage(BUILD_SCRIPT, "debootstrap, about a minute from scratch");
        }
        return image;
    }

    /**
     * The tag of the test image without iproute2 (no {@code ip} binary), derived from {@link #image()} by
     * build-noip-image.sh (a few seconds) when the Docker engine does not have it yet.
     */
    static synchronized String imageWithoutIp() throws IOException, InterruptedException {
        if (imageWithoutIp == null) {
            imageWithoutIp = builtImage(NO_IP_BUILD_SCRIPT, "the test image with iproute2 purged, seconds");
        }
        return imageWithoutIp;
    }

    private static String builtImage(String scriptResource, String how) throws IOException, InterruptedException {
        Path script = buildScript(scriptResource);
        Result tag = run(Duration.ofSeconds(30), "bash", script.toString(), "--print-tag");
        Assertions.assertTrue(tag.ok(), () -> "build-image.sh --print-tag failed: " + tag);
        String name = tag.output().trim();
        if (!imageExists(name)) {
            System.out.println("[container] image " + name + " is missing: building it with " + script
                    + " (" + how + ")");
            Result build = run(Duration.ofMinutes(15), "bash", script.toString(), name);
            Assertions.assertTrue(build.ok(), () -> "could not build the test image " + name + ": " + build);
            Assertions.assertTrue(imageExists(name), () -> script.getFileName() + " did not make image " + name
                    + ": " + build);
        }
        return name;
    }

    private static boolean imageExists(String name) {
        try {
            DockerClientFactory.instance().client().inspectImageCmd(name).exec();
            return true;
        } catch (NotFoundException e) {
            return false;
        }
    }

    private static Path buildScript(String resource) {
        URL url = ContainerFixture.class.getClassLoader().getResource(resource);
        Assertions.assertNotNull(url, resource + " is not on the test class path");
        try {
            return Paths.get(url.toURI());
        } catch (URISyntaxException | IllegalArgumentException e) {
            throw new IllegalStateException(resource + " is not a file: " + url, e);
        }
    }

    /**
     * The shaded examples jar ({@code examples/target/usertcp-examples.jar}, made by {@code mvn package}); the
     * pom passes its path as the system property {@code usertcp.examples.jar}.
     */
    static Path examplesJar() {
        Path jar = Paths.get(System.getProperty("usertcp.examples.jar", "../examples/target/usertcp-examples.jar"))
                .toAbsolutePath().normalize();
        Assertions.assertTrue(Files.isRegularFile(jar), () -> "the examples jar " + jar + " is missing: build it"
                + " with `mvn package` (or run `mvn verify`, which packages it before these tests)");
        return jar;
    }

    /** What {@code java -jar usertcp-examples.jar --help} prints, run on this machine's JVM. */
    static String examplesHelp() throws IOException, InterruptedException {
        String java = Paths.get(System.getProperty("java.home"), "bin", "java").toString();
        Result r = run(Duration.ofSeconds(60), java, "-jar", examplesJar().toString(), "--help");
        Assertions.assertTrue(r.ok(), () -> "usertcp-examples.jar --help failed: " + r);
        return r.output();
    }

    /** Whether {@code --privileged} was asked for (USERTCP_CONTAINER_PRIVILEGED=true) instead of the capability. */
    static boolean privileged() {
        return "true".equalsIgnoreCase(System.getenv("USERTCP_CONTAINER_PRIVILEGED"));
    }

    /**
     * A container that runs {@code java -jar /opt/usertcp-examples.jar <example args>} as its main process,
     * with NET_ADMIN, /dev/net/tun and network mode none, and counts as started once the example prints a line
     * matching {@code readyRegex}. Netty's leak detector runs at paranoid in it; {@link #leakReports} finds
     * its reports in the container's output.
     */
    static GenericContainer<?> stackContainer(String readyRegex, String... exampleArgs)
            throws IOException, InterruptedException {
        return stackContainerIn(image(), readyRegex, exampleArgs);
    }

    /** As {@link #stackContainer}, in the image {@code imageTag} (one of the test images). */
    static GenericContainer<?> stackContainerIn(String imageTag, String readyRegex, String... exampleArgs) {
        List<String> cmd = new ArrayList<>(List.of("java", "-Dio.netty.leakDetection.level=paranoid",
                "-Dio.netty.leakDetection.acquireAndReleaseOnly=true", "-jar", JAR_IN_CONTAINER));
        cmd.addAll(Arrays.asList(exampleArgs));
        boolean privileged = privileged();
        @SuppressWarnings("resource") // the caller stops it
        GenericContainer<?> c = new GenericContainer<>(DockerImageName.parse(imageTag))
                .withCopyFileToContainer(MountableFile.forHostPath(examplesJar()), JAR_IN_CONTAINER)
                .withLabel(LABEL, "true")
                .withNetworkMode("none")
                .withPrivilegedMode(privileged)
                .withCreateContainerCmdModifier(create -> {
                    if (!privileged) {
                        create.getHostConfig()
                                .withCapAdd(Capability.NET_ADMIN)
                                .withDevices(Device.parse("/dev/net/tun"));
                    }
                    create.getHostConfig().withNetworkMode("none");
                })
                .withCommand(cmd.toArray(new String[0]))
                .withLogConsumer(ContainerFixture::log)
                .withStartupAttempts(1)
                .waitingFor(Wait.forLogMessage(readyRegex, 1).withStartupTimeout(Duration.ofSeconds(90)));
        System.out.println("[container] starting " + String.join(" ", cmd) + " in " + imageTag
                + (privileged ? " (--privileged)" : " (--cap-add NET_ADMIN --device /dev/net/tun)")
                + " --network none");
        return c;
    }

    private static void log(OutputFrame frame) {
        String s = frame.getUtf8String();
        if (!s.isEmpty()) {
            System.out.print("[container " + frame.getType().name().toLowerCase(Locale.ROOT) + "] " + s
                    + (s.endsWith("\n") ? "" : "\n"));
        }
    }

    /** The lines of the container's output that report a Netty leak. */
    static List<String> leakReports(GenericContainer<?> c) {
        List<String> out = new ArrayList<>();
        for (String line : c.getLogs().split("\n")) {
            if (line.contains("LEAK:")) {
                out.add(line);
            }
        }
        return out;
    }

    /**
     * Runs a command in the container (as {@code docker exec}) under {@code timeout SECONDS}, so a hung client
     * ends with status 124, and fails unless it exits with 0. Returns its standard output.
     */
    static String execOk(GenericContainer<?> c, Duration timeout, String... command)
            throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of("timeout", "-k", "5", String.valueOf(timeout.toSeconds())));
        cmd.addAll(Arrays.asList(command));
        ExecResult r = c.execInContainer(cmd.toArray(new String[0]));
        String shown = String.join(" ", command);
        if (shown.length() > 120) {
            shown = shown.substring(0, 117) + "...";
        }
        String out = (r.getStdout() + r.getStderr()).trim();
        System.out.println("[container] `" + shown.replace("\n", "\\n") + "` "
                + (r.getExitCode() == 0 ? "ok" : "FAILED (" + r.getExitCode() + ")") + ":"
                + (out.contains("\n") ? "\n    " + out.replace("\n", "\n    ") : " " + out));
        if (r.getExitCode() != 0) {
            Assertions.fail("`" + shown.replace("\n", "\\n") + "` in the container "
                    + (r.getExitCode() == 124 ? "timed out after " + timeout.toSeconds() + " s"
                    : "exited with " + r.getExitCode()) + ":\n" + out);
        }
        return r.getStdout();
    }

    /** Runs a python3 script in the container with arguments; see {@link #execOk}. */
    static String python(GenericContainer<?> c, Duration timeout, String script, String... args)
            throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of("python3", "-c", script));
        cmd.addAll(Arrays.asList(args));
        return execOk(c, timeout, cmd.toArray(new String[0]));
    }

    private record Result(List<String> command, int exitCode, boolean timedOut, String output) {
        boolean ok() {
            return !timedOut && exitCode == 0;
        }

        @Override
        public String toString() {
            return "`" + String.join(" ", command) + "` " + (timedOut ? "timed out" : "exited with " + exitCode)
                    + (output.isEmpty() ? "" : "\n" + output);
        }
    }

    /** Runs a command on this machine, with its output (stdout and stderr together) captured. */
    private static Result run(Duration timeout, String... command) throws IOException, InterruptedException {
        Path out = Files.createTempFile("usertcp-container-", ".log");
        try {
            Process p = new ProcessBuilder(command)
                    .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                    .redirectErrorStream(true)
                    .redirectOutput(out.toFile())
                    .start();
            boolean exited = p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS);
            if (!exited) {
                p.destroyForcibly();
                p.waitFor(10, TimeUnit.SECONDS);
            }
            String text = Files.readString(out, StandardCharsets.UTF_8);
            if (text.length() > 16_000) {
                text = "[...]\n" + text.substring(text.length() - 16_000);
            }
            return new Result(List.of(command), exited ? p.exitValue() : -1, !exited, text);
        } finally {
            Files.deleteIfExists(out);
        }
    }
}
