package io.usertcp.script;

import org.junit.jupiter.api.Disabled;
import org.junit.jupiter.api.Test;
import org.junit.platform.commons.annotation.Testable;
import org.junit.platform.commons.support.AnnotationSupport;

import java.io.IOException;
import java.io.InputStream;
import java.lang.reflect.Method;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Keeps {@code RFC9293-MUST.md} true: one row per MUST label of RFC 9293 (MUST-1 to MUST-69, in order), each
 * with a known status; the counts in its header equal the rows per status; every test a row cites
 * ({@code Class#method}, {@code #method} for another method of the class named before it, or a class alone)
 * exists and is a test; a cited test is {@code @Disabled} exactly when its row says so, and a BUG row cites a
 * disabled test; every {@code .pkt} script a row names exists.
 *
 * <p>Classes are in {@code io.usertcp.script} unless the package is given. Classes of this module are checked
 * by reflection (a test method is one with an annotation meta-annotated {@link Testable}: {@code @Test},
 * {@code @ParameterizedTest}, ...); those of the it-tests module ({@code io.usertcp.it}), which are not on this
 * class path, by reading their source from the checkout.
 */
class MustTableTest {
    private static final String TABLE = "io/usertcp/script/RFC9293-MUST.md";
    private static final int LABELS = 69;
    private static final List<String> STATUSES = List.of("covered", "partly covered", "BUG", "not covered");
    private static final Pattern COUNTS = Pattern.compile(
            "Counts: (\\d+) covered, (\\d+) partly covered, (\\d+) BUG, (\\d+) not covered \\(of (\\d+)\\)\\.");
    /** A test reference: an optionally qualified class ending in Test, with a method, or a method alone. */
    private static final Pattern REFERENCE = Pattern.compile(
            "(?<![\\w.#])((?:io\\.usertcp\\.[a-z]+\\.)?[A-Z]\\w*Test)(?:#(\\w+))?|(?<![\\w.])#([a-z]\\w*)");
    private static final Pattern SCRIPT = Pattern.compile("\\b([a-z0-9_]+\\.pkt)\\b");

    /** One row of the table. */
    private record Row(String label, String status, String text) {
        boolean saysDisabled() {
            return text.contains("@Disabled");
        }
    }

    /** A test a row cites: a class, and a method of it or null for the class as a whole. */
    private record Cited(String className, String method) {
        @Override
        public String toString() {
            return className + (method == null ? "" : "#" + method);
        }
    }

    @Test
    void everyMustLabelHasOneRowWithAKnownStatus() throws IOException {
        List<Row> rows = rows();
        assertThat(rows).extracting(Row::label)
                .containsExactlyElementsOf(java.util.stream.IntStream.rangeClosed(1, LABELS)
                        .mapToObj(i -> "MUST-" + i).toList());
        for (Row r : rows) {
            assertThat(statusOf(r)).as(r.label() + "'s status '" + r.status() + "' (one of " + STATUSES + ")")
                    .isNotNull();
        }
    }

    @Test
    void headerCountsEqualTheRowsPerStatus() throws IOException {
        String md = table();
        Matcher m = COUNTS.matcher(md);
        assertThat(m.find()).as("a line 'Counts: N covered, N partly covered, N BUG, N not covered (of N).'")
                .isTrue();
        Map<String, Integer> counted = new LinkedHashMap<>();
        STATUSES.forEach(s -> counted.put(s, 0));
        List<Row> rows = rows();
        rows.forEach(r -> counted.merge(statusOf(r), 1, Integer::sum));
        Map<String, Integer> header = new LinkedHashMap<>();
        for (int i = 0; i < STATUSES.size(); i++) {
            header.put(STATUSES.get(i), Integer.parseInt(m.group(i + 1)));
        }
        assertThat(header).as("the header's counts against the rows").isEqualTo(counted);
        assertThat(Integer.parseInt(m.group(5))).as("the header's total").isEqualTo(rows.size());
    }

    @Test
    void everyCitedTestExistsAndIsDisabledOnlyWhereTheRowSaysSo() throws IOException {
        List<String> problems = new ArrayList<>();
        int cited = 0;
        for (Row r : rows()) {
            boolean anyDisabled = false;
            for (Cited c : cited(r)) {
                cited++;
                Found t = find(c);
                if (t == null) {
                    problems.add(r.label() + " cites " + c + ", which is not a test");
                    continue;
                }
                anyDisabled |= t.disabled;
                if (t.disabled && !r.saysDisabled()) {
                    problems.add(r.label() + " cites " + c + ", which is @Disabled, and does not say so");
                }
            }
            if (r.saysDisabled() && !anyDisabled) {
                problems.add(r.label() + " says @Disabled, but none of the tests it cites is");
            }
            if ("BUG".equals(statusOf(r)) && !anyDisabled) {
                problems.add(r.label() + " is a BUG row without a @Disabled test showing the bug");
            }
            for (Matcher m = SCRIPT.matcher(r.text()); m.find(); ) {
                if (MustTableTest.class.getClassLoader().getResource("io/usertcp/script/" + m.group(1)) == null) {
                    problems.add(r.label() + " names the script " + m.group(1) + ", which does not exist");
                }
            }
        }
        assertThat(cited).as("tests cited by the table").isGreaterThan(LABELS);
        assertThat(problems).as("rows of " + TABLE).isEmpty();
    }

    /** The tests a row cites, in its status and test/reason cells. */
    private static List<Cited> cited(Row r) {
        List<Cited> out = new ArrayList<>();
        String lastClass = null;
        for (Matcher m = REFERENCE.matcher(r.status() + " | " + r.text()); m.find(); ) {
            if (m.group(1) != null) {
                lastClass = m.group(1).contains(".") ? m.group(1) : "io.usertcp.script." + m.group(1);
                out.add(new Cited(lastClass, m.group(2)));
            } else {
                assertThat(lastClass).as(r.label() + ": #" + m.group(3) + " follows no class").isNotNull();
                out.add(new Cited(lastClass, m.group(3)));
            }
        }
        return out;
    }

    /** What is known of a cited test; null if it does not exist or is not a test. */
    private record Found(boolean disabled) {
    }

    private static Found find(Cited c) throws IOException {
        if (c.className().startsWith("io.usertcp.it.")) {
            return findInSource(c);
        }
        Class<?> k;
        try {
            k = Class.forName(c.className());
        } catch (ClassNotFoundException e) {
            return null;
        }
        boolean classDisabled = k.isAnnotationPresent(Disabled.class);
        boolean found = false;
        boolean disabled = false;
        for (Class<?> h = k; h != null && h != Object.class; h = h.getSuperclass()) {
            for (Method m : h.getDeclaredMethods()) {
                if ((c.method() == null || m.getName().equals(c.method())) && isTest(m)) {
                    found = true;
                    disabled |= m.isAnnotationPresent(Disabled.class);
                }
            }
        }
        return found ? new Found(classDisabled || disabled) : null;
    }

    private static boolean isTest(Method m) {
        return AnnotationSupport.isAnnotated(m, Testable.class); // @Test, @ParameterizedTest (via @TestTemplate), ...
    }

    /** A test of the it-tests module, from its source: an annotated test method, and whether it is disabled. */
    private static Found findInSource(Cited c) throws IOException {
        // Surefire runs in the module's directory; the it-tests module is its sibling in the checkout.
        Path src = Path.of("..", "it-tests", "src", "test", "java", c.className().replace('.', '/') + ".java");
        assertThat(src).as("the source of " + c.className()).exists();
        String java = Files.readString(src);
        Matcher classDecl = Pattern.compile("((?:@\\w+(?:\\([^)]*\\))?\\s*)*)(?:public\\s+)?(?:final\\s+)?class\\s+"
                + Pattern.quote(c.className().substring(c.className().lastIndexOf('.') + 1)) + "\\b").matcher(java);
        boolean classDisabled = classDecl.find() && classDecl.group(1).contains("@Disabled");
        String name = c.method() == null ? "\\w+" : Pattern.quote(c.method());
        // The annotations directly before the method, then its declaration.
        Matcher m = Pattern.compile("((?:@\\w+(?:\\((?:[^()]|\\([^()]*\\))*\\))?\\s*)+)(?:public\\s+|protected\\s+)?void\\s+"
                + name + "\\s*\\(").matcher(java);
        boolean found = false;
        boolean disabled = false;
        while (m.find()) {
            String annotations = m.group(1);
            if (annotations.matches("(?s).*@(Test|ParameterizedTest|RepeatedTest|TestFactory|TestTemplate)\\b.*")) {
                found = true;
                disabled |= annotations.contains("@Disabled");
            }
        }
        return found ? new Found(classDisabled || disabled) : null;
    }

    private static String statusOf(Row r) {
        String s = r.status();
        // "partly covered" and "not covered" first: "covered" is a prefix only of the plain status.
        for (String known : List.of("partly covered", "not covered", "BUG", "covered")) {
            if (s.equals(known) || s.startsWith(known + " ")) {
                return known;
            }
        }
        return null;
    }

    private static List<Row> rows() throws IOException {
        List<Row> rows = new ArrayList<>();
        for (String line : table().split("\n")) {
            if (!line.startsWith("| MUST-")) {
                continue;
            }
            String[] cells = line.substring(1, line.length() - (line.endsWith("|") ? 1 : 0)).split("\\|");
            assertThat(cells).as("four cells in: " + line).hasSize(4);
            rows.add(new Row(cells[0].trim(), cells[2].trim(), cells[3].trim()));
        }
        return rows;
    }

    private static String table() throws IOException {
        try (InputStream in = MustTableTest.class.getClassLoader().getResourceAsStream(TABLE)) {
            assertThat(in).as(TABLE).isNotNull();
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }
}
