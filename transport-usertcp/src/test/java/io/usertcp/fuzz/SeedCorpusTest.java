package io.usertcp.fuzz;

import io.usertcp.stack.StackLeakCheck;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.function.Function;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Keeps the committed seed corpus honest: every seed of {@link SeedCorpus} is in the corpus directory its
 * target replays (byte for byte), and every stack seed still reaches what it was made for (a handshake and an
 * echo, a reassembled datagram, an ICMP error taken by TCP, ...). Without this a change in the stack or the
 * harness could leave the corpus replaying inputs that stop at the first check, and regression mode would prove
 * nothing. {@code -Dfuzz.writeSeeds=true} (re)writes the seed files into {@code src/test/resources} first.
 */
@ExtendWith(StackLeakCheck.class)
class SeedCorpusTest {
    private static final Path RESOURCES = Paths.get("src", "test", "resources", "io", "usertcp", "fuzz");

    @Test
    void theCommittedCorpusHoldsEverySeed() throws IOException {
        boolean write = Boolean.getBoolean("fuzz.writeSeeds");
        List<String> missing = new ArrayList<>();
        for (SeedCorpus.Seed s : SeedCorpus.all()) {
            String resource = s.test() + "Inputs/" + s.target() + "/" + s.fileName();
            if (write) {
                Path p = RESOURCES.resolve(resource);
                Files.createDirectories(p.getParent());
                Files.write(p, s.bytes());
                continue;
            }
            try (InputStream in = SeedCorpusTest.class.getResourceAsStream(resource)) {
                if (in == null || !java.util.Arrays.equals(in.readAllBytes(), s.bytes())) {
                    missing.add(resource);
                }
            }
        }
        assertThat(missing).as("seeds missing from the committed corpus or different there; rewrite them with"
                + " -Dtest=SeedCorpusTest -Dfuzz.writeSeeds=true").isEmpty();
    }

    @Test
    void everyStackSeedReachesWhatItIsFor() {
        List<String> failed = new ArrayList<>();
        int checked = 0;
        for (SeedCorpus.Seed s : SeedCorpus.all()) {
            if (s.reaches() == null) {
                continue;
            }
            Victim v = replayer(s.target()).apply(s.bytes());
            try {
                checked++;
                if (!s.reaches().test(v)) {
                    failed.add(s.target() + "/" + s.fileName() + ": no " + s.what() + "; " + v.stack.stats()
                            + "\n  input " + HexFormat.of().formatHex(s.bytes()));
                }
            } finally {
                v.close();
            }
        }
        assertThat(checked).isGreaterThan(40);
        assertThat(failed).as("seeds that no longer reach what they were made for").isEmpty();
    }

    static Function<byte[], Victim> replayer(String target) {
        switch (target) {
            case "frames":
                return RawFrames::replay;
            case "tcp":
                return TcpOps::replay;
            case "udp":
                return UdpOps::replay;
            case "fragments":
                return Fragments::replay;
            default:
                throw new IllegalArgumentException("no stack target " + target);
        }
    }
}
