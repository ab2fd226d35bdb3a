package io.usertcp.it;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * No file of the repository names a path outside its checkout.
 *
 * <p>Why: CI (GitHub's runners) and every fresh clone elsewhere have the checkout and the system, nothing else.
 * A test or script that builds a tool from a directory beside the checkout, or reads a file from one developer's
 * home or work directory, passes on that machine and fails everywhere else before it starts (issue #13: the
 * IPv6 it-test built its load client from an absolute path outside the repository, and {@code bench/run.sh}
 * took it from a directory beside the checkout). Every tool the tests and benchmarks run lives in the
 * repository ({@code bench/echoload.c}) and is found relative to the checkout ({@link Checkout}).
 *
 * <p>What it reads: every tracked file ({@code git ls-files}; without git, the files on disk outside
 * {@code target} directories) that is source, script, build file or documentation (by suffix, or a script's
 * {@code #!} line). What it flags, by line:
 * <ul>
 *   <li>an absolute path of two or more components whose first directory is not a well-known system one
 *       ({@link #SYSTEM_DIRECTORIES}, such as dev, proc, sys, usr, etc, tmp) nor a directory of the project's
 *       classpath resources (a directory right under {@code src/X/resources}, as {@code getResource} names it);</li>
 *   <li>a home, root, work or mount directory even on its own ({@link #NEVER_IN_A_CHECKOUT});</li>
 *   <li>a relative path whose leading {@code ../} steps climb above the checkout's root from the file's own
 *       directory (a sibling checkout, a shared directory beside the repository), or that names nothing in the
 *       checkout from the file's directory nor from any directory above it (a module's pom, and the tests it
 *       runs, resolve paths from the module's directory).</li>
 * </ul>
 * A URL is not a path: what follows {@code scheme://} is skipped, as are parts of words ({@code MiB/s}) and
 * prefix lengths ({@code 198.18.0.0/15}).
 */
class NoPathOutsideCheckoutTest {

    /** First directories that every Linux system (or container image) has: paths under them are portable. */
    static final Set<String> SYSTEM_DIRECTORIES = Set.of("bin", "boot", "dev", "etc", "lib", "lib32", "lib64",
            "opt", "proc", "run", "sbin", "srv", "sys", "tmp", "usr", "var");
    /** First directories that are one person's or one machine's: never part of a checkout elsewhere. */
    static final Set<String> NEVER_IN_A_CHECKOUT = Set.of("home", "root", "work", "mnt", "media", "Users");
    /** File names read: source, scripts, build files, documentation. */
    static final Pattern READ = Pattern.compile(
            ".*\\.(java|kt|sh|bash|py|c|h|xml|yml|yaml|md|properties|txt|json|toml|cfg|conf)|Dockerfile.*|Makefile");

    /** A path that starts at the root: after the start of the line or a separator, never inside a word or URL. */
    private static final Pattern ABSOLUTE = Pattern.compile(
            "(?<![^\\s\"'`=(\\[{,:;>|])/([A-Za-z0-9_.+-]+)(/|(?=[\\s\"'`)\\]},;:|]|$))");
    /** Leading parent-directory steps of a relative path. */
    private static final Pattern PARENT_STEPS = Pattern.compile(
            "(?<![^\\s\"'`=(\\[{,:;>|])((?:\\.\\./)+)([A-Za-z0-9_+-][A-Za-z0-9_.+-]*)?");

    @Test
    void noTrackedFileNamesAPathOutsideTheCheckout() throws IOException {
        Path root = Checkout.root();
        List<String> files = trackedFiles(root);
        Set<String> resources = resourceDirectories(files);
        List<String> findings = new ArrayList<>();
        int read = 0;
        for (String file : files) {
            Path p = root.resolve(file);
            if (!Files.isRegularFile(p) || !isRead(p)) {
                continue;
            }
            read++;
            findings.addAll(findings(file, Files.readString(p, StandardCharsets.ISO_8859_1), resources,
                    name -> Files.exists(root.resolve(name))));
        }
        int filesRead = read;
        System.out.println("[it] read " + filesRead + " of " + files.size() + " files under " + root + ": "
                + findings.size() + " path(s) outside the checkout");
        assertTrue(filesRead >= 10, () -> "read only " + filesRead + " files under " + root + ": " + files);
        assertTrue(findings.isEmpty(), () -> findings.size() + " path(s) outside the checkout (CI and other"
                + " machines do not have them; carry the tool in the repository and find it relative to the"
                + " checkout):\n" + String.join("\n", findings));
    }

    /**
     * The scan itself: what it must flag and what it must leave alone (else the test above proves nothing). The
     * samples write '%' for '/', so that this file does not contain the paths it must flag.
     */
    @Test
    void theScanFlagsPathsOutsideTheCheckoutAndOnlyThose() {
        // flagged
        assertFlags(1, "it-tests/src/test/java/T.java", "String SRC = \"%work%shared%bench%tcpbench.c\";");
        assertFlags(1, "bench/run.sh", "SRC=%home%alice%tcpbench.c");
        assertFlags(1, "bench/run.sh", "cp x %root%.m2%settings.xml");
        assertFlags(1, "README.md", "cd %work");
        assertFlags(1, "README.md", "see `..%shared%bench`");
        assertFlags(1, "bench/run.sh", "gcc \"..%..%shared%x.c\"");
        assertFlags(1, "bench/run.sh", "# default: ..%shared%bench%tcpbench.c beside the repository");
        assertFlags(1, "it-tests/src/test/java/io/usertcp/it/T.java", "Path.of(\"..%shared%tcpbench.c\")");
        assertFlags(1, "a.yml", "path: %data%reports%");
        assertFlags(2, "x.md", "a\n%work%x\nb\n(%home%y)");
        // not flagged: system paths, URLs, classpath resources, words, prefixes, relative paths that stay inside
        assertFlags(0, "it-tests/pom.xml", String.join("\n",
                "open(\"%dev%net%tun\"); cat %proc%net%snmp %sys%class%net; %usr%bin%python3 %etc%hosts",
                "mktemp -d %tmp%usertcp.XXXXXX; %var%cache%usertcp-test; %opt%usertcp-examples.jar",
                "https:%%github.com%netty%netty%blob%4.2%README.md and http:%%maven.apache.org%POM%4.0.0",
                "getResourceAsStream(\"%attack%\" + name)",
                "MiB%s, TCP%IP, 198.18.0.0%15 outside the client's %24, fe80::%64, send%receive",
                "<usertcp.checkout>${project.basedir}%..<%usertcp.checkout>",
                "src = \"..%bench%echoload.c\"",
                "see ..%README.md and ..%.. and (..%)",
                "**%target%surefire-reports%**",
                "%% a comment: %* and *%"));
    }

    private static void assertFlags(int expected, String file, String sample) {
        String text = sample.replace('%', '/');
        Set<String> tree = Set.of("bench", "bench/echoload.c", "it-tests", "it-tests/pom.xml", "README.md");
        List<String> found = findings(file, text, Set.of("attack"), tree::contains);
        assertEquals(expected, found.size(), () -> "in " + file + ":\n" + text + "\nfound " + found);
    }

    /** Every finding in one file's text: "file:line: path (why)". */
    static List<String> findings(String file, String text, Set<String> resourceDirectories,
                                 Predicate<String> existsInCheckout) {
        int depth = (int) file.chars().filter(c -> c == '/').count(); // directories between the root and the file
        List<String> findings = new ArrayList<>();
        String[] lines = text.split("\n", -1);
        for (int i = 0; i < lines.length; i++) {
            String line = lines[i];
            Matcher m = ABSOLUTE.matcher(line);
            while (m.find()) {
                String first = m.group(1);
                boolean deeper = m.group(2).equals("/");
                if (NEVER_IN_A_CHECKOUT.contains(first)
                        || deeper && !SYSTEM_DIRECTORIES.contains(first) && !resourceDirectories.contains(first)) {
                    findings.add(file + ":" + (i + 1) + ": " + excerpt(line, m.start())
                            + " (an absolute path outside the system directories)");
                }
            }
            Matcher u = PARENT_STEPS.matcher(line);
            while (u.find()) {
                int steps = u.group(1).length() / 3;
                if (steps > depth) {
                    findings.add(file + ":" + (i + 1) + ": " + excerpt(line, u.start()) + " (" + steps
                            + " step(s) up from " + (depth == 0 ? "the root" : "a directory " + depth + " deep")
                            + " leave the checkout)");
                } else if (u.group(2) != null && !namesSomethingInside(file, steps, u.group(2), existsInCheckout)) {
                    findings.add(file + ":" + (i + 1) + ": " + excerpt(line, u.start()) + " (names nothing in the"
                            + " checkout from the file's directory or any directory above it: outside it?)");
                }
            }
        }
        return findings;
    }

    /**
     * Whether {@code steps} levels up and then {@code name} exists in the checkout from the file's directory or
     * from one of the directories above it (a module's pom and the tests it runs resolve paths from the module's
     * directory, not from the source file's).
     */
    private static boolean namesSomethingInside(String file, int steps, String name, Predicate<String> exists) {
        List<String> dirs = new ArrayList<>(List.of(file.split("/")));
        dirs.remove(dirs.size() - 1); // the file's name
        while (dirs.size() >= steps) {
            List<String> target = new ArrayList<>(dirs.subList(0, dirs.size() - steps));
            target.add(name);
            if (exists.test(String.join("/", target))) {
                return true;
            }
            if (dirs.isEmpty()) {
                break;
            }
            dirs.remove(dirs.size() - 1);
        }
        return false;
    }

    private static String excerpt(String line, int at) {
        int end = at;
        while (end < line.length() && !Character.isWhitespace(line.charAt(end))
                && "\"'`)]},;".indexOf(line.charAt(end)) < 0) {
            end++;
        }
        return line.substring(at, end);
    }

    private static boolean isRead(Path p) throws IOException {
        if (READ.matcher(p.getFileName().toString()).matches()) {
            return true;
        }
        try (var in = Files.newInputStream(p)) {
            byte[] head = in.readNBytes(2);
            return head.length == 2 && head[0] == '#' && head[1] == '!';
        }
    }

    /** The names of the directories right under any {@code src/X/resources/}: classpath resources. */
    static Set<String> resourceDirectories(List<String> files) {
        Set<String> dirs = new TreeSet<>();
        Pattern p = Pattern.compile("(?:^|.*/)src/[^/]+/resources/([^/]+)/.*");
        for (String f : files) {
            Matcher m = p.matcher(f);
            if (m.matches()) {
                dirs.add(m.group(1));
            }
        }
        return dirs;
    }

    /** {@code git ls-files}, or without git (an exported source tree) every file outside target and .git. */
    static List<String> trackedFiles(Path root) throws IOException {
        // Read here, not through NetNs.run, which keeps only the start of a command's output.
        Process git = new ProcessBuilder("git", "-C", root.toString(), "ls-files", "-z")
                .redirectError(ProcessBuilder.Redirect.DISCARD).start();
        String out = new String(git.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        try {
            if (git.waitFor() == 0 && !out.isEmpty()) {
                return List.of(out.split("\0"));
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while running git ls-files", e);
        }
        System.out.println("[it] not a git checkout (git ls-files failed): reading the files on disk");
        try (Stream<Path> walk = Files.walk(root)) {
            return walk.filter(Files::isRegularFile)
                    .map(p -> root.relativize(p).toString())
                    .filter(f -> {
                        for (Path name : Path.of(f)) {
                            if (name.toString().equals(".git") || name.toString().equals("target")) {
                                return false;
                            }
                        }
                        return true;
                    })
                    .toList();
        }
    }
}
