package io.usertcp.it;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

/**
 * A throw-away Linux network namespace for tests: {@link #create()} makes one with a unique name
 * ({@code ut-<random hex>}) and its loopback up, {@link #exec} runs a command inside it and returns its exit
 * status and output, {@link #start} runs one in the background, and {@link #close()} stops every process still
 * in the namespace and deletes it. A JVM shutdown hook deletes it too if the test never gets to close it.
 *
 * <p>Needs root (or CAP_SYS_ADMIN and CAP_NET_ADMIN). Tests give addresses only from 198.18.0.0/15
 * (RFC 2544's benchmarking range), which no real network uses.
 */
public final class NetNs implements AutoCloseable {

    /** How long a command may run unless the caller says otherwise. */
    public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(30);

    private static final SecureRandom RANDOM = new SecureRandom();
    private static final int MAX_OUTPUT = 16_000;

    private final String name;
    private final List<Background> background = new CopyOnWriteArrayList<>();
    private final Thread shutdownHook;
    private boolean closed;

    private NetNs(String name) {
        this.name = name;
        this.shutdownHook = new Thread(this::cleanUp, "netns-cleanup-" + name);
        Runtime.getRuntime().addShutdownHook(shutdownHook);
    }

    /** Creates a new namespace {@code ut-<8 hex digits>} and brings its loopback up. */
    public static NetNs create() throws IOException {
        String name = "ut-" + randomHex(4);
        Result add = run(DEFAULT_TIMEOUT, "ip", "netns", "add", name);
        if (!add.ok()) {
            throw new IOException("cannot create network namespace " + name
                    + " (tests need root or CAP_SYS_ADMIN+CAP_NET_ADMIN: run `sudo bash .ci/run`): " + add);
        }
        NetNs ns = new NetNs(name);
        try {
            ns.execOk(DEFAULT_TIMEOUT, "ip", "link", "set", "lo", "up");
        } catch (IOException | RuntimeException e) {
            ns.close();
            throw e;
        }
        return ns;
    }

    /** A TAP device name that no one else uses: "ut" and 12 hex digits (Linux allows 15 characters). */
    public static String uniqueTapName() {
        return "ut" + randomHex(6);
    }

    /** The namespace's name, as {@code ip netns} knows it. */
    public String name() {
        return name;
    }

    /** Runs {@code command} inside the namespace with the default timeout. */
    public Result exec(String... command) throws IOException {
        return exec(DEFAULT_TIMEOUT, command);
    }

    /**
     * Runs {@code command} inside the namespace ({@code ip netns exec NAME command...}); kills it when it runs
     * longer than {@code timeout} (the result then says {@link Result#timedOut()}).
     */
    public Result exec(Duration timeout, String... command) throws IOException {
        return run(timeout, inside(command));
    }

    /** Like {@link #exec(Duration, String...)} but throws when the command does not exit with status 0. */
    public Result execOk(Duration timeout, String... command) throws IOException {
        Result r = exec(timeout, command);
        if (!r.ok()) {
            throw new IOException("command failed in netns " + name + ": " + r);
        }
        return r;
    }

    /**
     * Starts {@code command} inside the namespace in the background, its stdout and stderr going to a log
     * file. {@link #close()} stops it if it still runs.
     */
    public Background start(String... command) throws IOException {
        checkOpen();
        List<String> cmd = inside(command);
        Path log = Files.createTempFile("netns-" + name + "-", ".log");
        Process p = new ProcessBuilder(cmd)
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                .redirectErrorStream(true)
                .redirectOutput(log.toFile())
                .start();
        Background b = new Background(String.join(" ", command), p, log);
        background.add(b);
        return b;
    }

    /**
     * Creates a veth pair with one end, {@code name}, in this namespace and the other, {@code peerName}, in
     * {@code peer} (both down, without addresses). Neither end ever exists in the root namespace, and deleting
     * either namespace deletes the pair, so {@link #close()} cleans it up like everything else in here.
     */
    public void addVeth(String name, NetNs peer, String peerName) throws IOException {
        execOk(DEFAULT_TIMEOUT, "ip", "link", "add", name, "type", "veth", "peer", "name", peerName,
                "netns", peer.name());
    }

    /**
     * The namespace's kernel counters, named as {@code nstat} names them: {@code /proc/net/snmp} (e.g.
     * {@code IpFragCreates}, {@code IcmpOutDestUnreachs}), {@code /proc/net/snmp6} (e.g.
     * {@code Icmp6OutPktTooBigs}, {@code Ip6ReasmOKs}) and {@code /proc/net/netstat} (e.g.
     * {@code TcpExtTCPTimeouts}), read inside the namespace.
     */
    public Map<String, Long> counters() throws IOException {
        Result r = execOk(DEFAULT_TIMEOUT, "cat", "/proc/net/snmp", "/proc/net/snmp6", "/proc/net/netstat");
        Map<String, Long> out = new TreeMap<>();
        List<String> lines = r.stdout().lines().toList();
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i);
            int colon = line.indexOf(':');
            if (colon > 0 && i + 1 < lines.size() && lines.get(i + 1).startsWith(line.substring(0, colon + 1))) {
                // "Ip: Forwarding DefaultTTL ..." followed by "Ip: 1 64 ...": names, then values
                String prefix = line.substring(0, colon);
                String[] names = line.substring(colon + 1).trim().split("\\s+");
                String[] values = lines.get(i + 1).substring(colon + 1).trim().split("\\s+");
                for (int k = 0; k < Math.min(names.length, values.length); k++) {
                    if (values[k].matches("-?\\d+")) {
                        out.put(prefix + names[k], Long.parseLong(values[k]));
                    }
                }
                i++;
            } else {
                String[] f = line.trim().split("\\s+"); // snmp6: "Ip6InReceives    12"
                if (f.length == 2 && f[1].matches("\\d+")) {
                    out.put(f[0], Long.parseLong(f[1]));
                }
            }
        }
        return out;
    }

    /** Stops the background processes and every other process left in the namespace, then deletes it. */
    @Override
    public void close() {
        cleanUp();
        try {
            Runtime.getRuntime().removeShutdownHook(shutdownHook);
        } catch (IllegalStateException e) {
            // the JVM is shutting down: the hook runs (or ran) cleanUp, which is idempotent
        }
    }

    private synchronized void cleanUp() {
        if (closed) {
            return;
        }
        closed = true;
        for (Background b : background) {
            b.close();
        }
        try {
            // Anything else still running in the namespace (a client a test left behind) would keep it alive.
            Result pids = run(DEFAULT_TIMEOUT, "ip", "netns", "pids", name);
            for (String pid : pids.stdout().trim().split("\\s+")) {
                if (pid.matches("\\d+")) {
                    ProcessHandle.of(Long.parseLong(pid)).ifPresent(ProcessHandle::destroyForcibly);
                }
            }
            Result del = run(DEFAULT_TIMEOUT, "ip", "netns", "del", name);
            if (!del.ok()) {
                System.err.println("[netns] could not delete " + name + ": " + del);
            }
        } catch (IOException e) {
            System.err.println("[netns] could not delete " + name + ": " + e);
        }
    }

    private synchronized void checkOpen() {
        if (closed) {
            throw new IllegalStateException("netns " + name + " is closed");
        }
    }

    private List<String> inside(String... command) {
        checkOpen();
        List<String> cmd = new ArrayList<>(List.of("ip", "netns", "exec", name));
        cmd.addAll(Arrays.asList(command));
        return cmd;
    }

    /** Runs a command in the test's own namespace. */
    public static Result run(Duration timeout, String... command) throws IOException {
        return run(timeout, Arrays.asList(command));
    }

    /** Runs a command in the test's own namespace, with stdin from /dev/null and the output captured. */
    public static Result run(Duration timeout, List<String> command) throws IOException {
        Path out = Files.createTempFile("netns-out-", ".txt");
        Path err = Files.createTempFile("netns-err-", ".txt");
        try {
            Process p = new ProcessBuilder(command)
                    .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                    .redirectOutput(out.toFile())
                    .redirectError(err.toFile())
                    .start();
            boolean exited;
            try {
                exited = p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                p.destroyForcibly();
                Thread.currentThread().interrupt();
                throw new IOException("interrupted while running " + command, e);
            }
            if (!exited) {
                p.destroyForcibly();
                try {
                    p.waitFor(5, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            return new Result(command, exited ? p.exitValue() : -1, !exited, read(out), read(err));
        } finally {
            Files.deleteIfExists(out);
            Files.deleteIfExists(err);
        }
    }

    private static String read(Path file) throws IOException {
        return tail(new String(Files.readAllBytes(file), StandardCharsets.UTF_8));
    }

    private static String tail(String s) {
        return s.length() <= MAX_OUTPUT ? s : "[... " + (s.length() - MAX_OUTPUT) + " characters cut]\n"
                + s.substring(s.length() - MAX_OUTPUT);
    }

    private static String randomHex(int bytes) {
        byte[] b = new byte[bytes];
        RANDOM.nextBytes(b);
        StringBuilder sb = new StringBuilder(bytes * 2);
        for (byte x : b) {
            sb.append(String.format("%02x", x & 0xff));
        }
        return sb.toString();
    }

    /** What a finished command did. {@code exitCode} is -1 when it was killed for running too long. */
    public record Result(List<String> command, int exitCode, boolean timedOut, String stdout, String stderr) {

        /** Whether the command exited by itself with status 0. */
        public boolean ok() {
            return !timedOut && exitCode == 0;
        }

        @Override
        public String toString() {
            return "`" + String.join(" ", command).replace("\n", "\\n") + "` "
                    + (timedOut ? "timed out and was killed" : "exited with " + exitCode)
                    + (stdout.isEmpty() ? "" : "\n--- stdout ---\n" + stdout)
                    + (stderr.isEmpty() ? "" : "\n--- stderr ---\n" + stderr);
        }
    }

    /** A process started with {@link #start}; {@link #close()} stops it. */
    public static final class Background implements AutoCloseable {
        private final String description;
        private final Process process;
        private final Path log;

        private Background(String description, Process process, Path log) {
            this.description = description;
            this.process = process;
            this.log = log;
        }

        /** The process. */
        public Process process() {
            return process;
        }

        /** What it has printed so far (stdout and stderr together). */
        public String output() {
            try {
                return Files.exists(log) ? read(log) : "";
            } catch (IOException e) {
                return "(cannot read " + log + ": " + e + ")";
            }
        }

        /** Stops the process (SIGTERM, then SIGKILL after 5 s) and deletes its log. Idempotent. */
        @Override
        public void close() {
            try {
                if (process.isAlive()) {
                    process.destroy();
                    if (!process.waitFor(5, TimeUnit.SECONDS)) {
                        process.destroyForcibly();
                        process.waitFor(5, TimeUnit.SECONDS);
                    }
                }
            } catch (InterruptedException e) {
                process.destroyForcibly();
                Thread.currentThread().interrupt();
            } finally {
                try {
                    Files.deleteIfExists(log);
                } catch (IOException e) {
                    // a stray temp file is harmless
                }
            }
        }

        @Override
        public String toString() {
            return description + " (pid " + process.pid() + ")";
        }
    }
}
