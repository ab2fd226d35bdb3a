package io.usertcp.it;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The project's load client, {@code bench/echoload.c} (modes rr, bulk, crr and burst against a TCP echo server),
 * built with gcc from the checkout, and its output: one {@code NAME VALUE} line per figure.
 */
final class Echoload {

    private Echoload() {
    }

    /** Compiles bench/echoload.c into {@code dir} and returns the binary; fails (with gcc's output) if it cannot. */
    static Path build(Path dir) throws IOException {
        Path src = Checkout.root().resolve("bench").resolve("echoload.c");
        if (!Files.isRegularFile(src)) {
            throw new IOException("the load client's source " + src + " is missing");
        }
        Path bin = dir.resolve("echoload");
        NetNs.Result cc = NetNs.run(Duration.ofSeconds(120), "gcc", "-O2", "-pthread", "-o", bin.toString(),
                src.toString());
        if (!cc.ok()) {
            throw new IOException("cannot build " + src + " (is gcc installed?): " + cc);
        }
        return bin;
    }

    /** The figures of echoload's standard output, by name, in the order printed. */
    static Map<String, String> figures(String stdout) {
        Map<String, String> figures = new LinkedHashMap<>();
        for (String line : stdout.split("\n")) {
            String[] nameValue = line.trim().split(" ", 2);
            if (nameValue.length == 2) {
                figures.put(nameValue[0], nameValue[1]);
            }
        }
        return figures;
    }
}
