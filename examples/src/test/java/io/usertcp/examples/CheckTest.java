package io.usertcp.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.usertcp.channel.UserTcp;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The {@code check} command's output and exit code. */
class CheckTest {

    @Test
    void availableVerdict() {
        String out = Check.format(new Check.Verdict(true, null, true,
                "character device, rw-rw-rw-, readable and writable by this process"));
        assertEquals("""
                usertcp available: yes
                CAP_NET_ADMIN: held (this process can create TAP devices and configure their kernel side)
                /dev/net/tun: character device, rw-rw-rw-, readable and writable by this process
                """, out);
    }

    @Test
    void unavailableVerdictNamesTheCauseAndTheFix() {
        Throwable cause = new UnsupportedOperationException("/dev/net/tun does not exist: load the tun module"
                + " (modprobe tun) or, in a container, pass --device /dev/net/tun");
        String[] lines = Check.format(new Check.Verdict(false, cause, false, "missing")).split("\n");
        assertEquals(5, lines.length, String.join("\n", lines));
        assertEquals("usertcp available: no", lines[0]);
        assertEquals("cause: " + cause.getMessage(), lines[1]);
        assertEquals("fix: load the tun module (modprobe tun); in a container run with --device /dev/net/tun",
                lines[2]);
        assertTrue(lines[3].startsWith("CAP_NET_ADMIN: not held (") && lines[3].contains("--cap-add NET_ADMIN"),
                lines[3]);
        assertEquals("/dev/net/tun: missing", lines[4]);
    }

    @Test
    void fixForADeviceThatDoesNotOpen() {
        Throwable cause = new UnsupportedOperationException("cannot open /dev/net/tun: Permission denied");
        String fix = Check.fix(new Check.Verdict(false, cause, false,
                "character device, rw-------, NOT readable and writable by this process"));
        assertTrue(fix.startsWith("make /dev/net/tun readable and writable"), fix);
    }

    @Test
    void describesTheDeviceFile(@TempDir Path dir) throws Exception {
        assertEquals("missing", Check.describeTun(dir.resolve("tun")));
        Path plain = Files.createFile(dir.resolve("plain"),
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-r-----")));
        String d = Check.describeTun(plain);
        assertTrue(d.startsWith("not a character device, rw-r-----, "), d);
        assertTrue(Check.describeTun(Paths.get("/dev/null")).startsWith("character device, rw-rw-rw-,"),
                Check.describeTun(Paths.get("/dev/null")));
    }

    @Test
    void exitCodeAndFirstLineFollowIsAvailable() {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        int rc = Check.run(new String[0], new PrintStream(bytes, true, StandardCharsets.UTF_8));
        String out = bytes.toString(StandardCharsets.UTF_8);
        boolean available = UserTcp.isAvailable();
        assertEquals(available ? 0 : 1, rc, out);
        assertTrue(out.startsWith("usertcp available: " + (available ? "yes\n" : "no\ncause: ")), out);
        assertTrue(out.contains("\nCAP_NET_ADMIN: " + (UserTcp.hasNetAdmin() ? "held" : "not held")), out);
        assertTrue(out.endsWith("\n/dev/net/tun: " + Check.describeTun(Paths.get(Check.TUN)) + "\n"), out);
    }
}
