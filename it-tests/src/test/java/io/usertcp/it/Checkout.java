package io.usertcp.it;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The repository checkout the tests run from, wherever it was cloned: every tool a test runs comes from here
 * (or from the system), never from a path beside or outside it.
 */
final class Checkout {

    private Checkout() {
    }

    /**
     * The checkout's root: the system property {@code usertcp.checkout} (this module's pom sets it to its parent
     * directory), else the first directory from the working directory upwards that holds the parent pom and
     * {@code bench/}.
     */
    static Path root() {
        String property = System.getProperty("usertcp.checkout");
        if (property != null && !property.isBlank()) {
            Path p = Path.of(property).toAbsolutePath().normalize();
            if (isRoot(p)) {
                return p;
            }
            throw new IllegalStateException("usertcp.checkout=" + property + " is not the repository's root"
                    + " (no pom.xml and bench/ there)");
        }
        for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
            if (isRoot(p)) {
                return p;
            }
        }
        throw new IllegalStateException("the repository's root is not above " + Path.of("").toAbsolutePath()
                + ": run the tests from the checkout, or set -Dusertcp.checkout=DIR");
    }

    private static boolean isRoot(Path p) {
        return Files.isRegularFile(p.resolve("pom.xml")) && Files.isDirectory(p.resolve("bench"))
                && Files.isDirectory(p.resolve("it-tests"));
    }
}
