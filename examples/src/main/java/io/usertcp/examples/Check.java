package io.usertcp.examples;

import io.usertcp.channel.UserTcp;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.attribute.PosixFilePermissions;

/**
 * The {@code check} command: prints whether usertcp can run here ({@link UserTcp#isAvailable()}), and when not
 * the cause and the fix, whether this process holds CAP_NET_ADMIN ({@link UserTcp#hasNetAdmin()}) and what
 * {@code /dev/net/tun} is. Exits with 0 when usertcp is available, else 1. One {@code key: value} line each:
 *
 * <pre>
 * usertcp available: yes
 * CAP_NET_ADMIN: held (this process can create TAP devices and configure their kernel side)
 * /dev/net/tun: character device, rw-rw-rw-, readable and writable by this process
 * </pre>
 */
final class Check {
    static final String TUN = "/dev/net/tun";

    private Check() {
    }

    /** What the check found; {@code cause} is null when available. */
    record Verdict(boolean available, Throwable cause, boolean netAdmin, String tun) {
    }

    static int run(String[] args, PrintStream out) {
        Verdict v = probe();
        out.print(format(v));
        out.flush();
        return v.available() ? 0 : 1;
    }

    /** The verdict of this process, on this machine. */
    static Verdict probe() {
        return new Verdict(UserTcp.isAvailable(), UserTcp.unavailabilityCause(), UserTcp.hasNetAdmin(),
                describeTun(Paths.get(TUN)));
    }

    /** What the device file at {@code path} is: missing, not a character device, or its mode and our access. */
    static String describeTun(Path path) {
        if (!Files.exists(path, LinkOption.NOFOLLOW_LINKS)) {
            return "missing";
        }
        String kind;
        String mode = "";
        try {
            Object character = Files.getAttribute(path, "unix:mode", LinkOption.NOFOLLOW_LINKS);
            boolean isChar = character instanceof Integer m && (m & 0170000) == 0020000; // S_IFCHR
            kind = isChar ? "character device" : "not a character device";
            mode = ", " + PosixFilePermissions.toString(Files.getPosixFilePermissions(path));
        } catch (IOException | UnsupportedOperationException | IllegalArgumentException e) {
            kind = "present (its mode cannot be read: " + e.getMessage() + ")";
        }
        boolean rw = Files.isReadable(path) && Files.isWritable(path);
        return kind + mode + (rw ? ", readable and writable by this process"
                : ", NOT readable and writable by this process");
    }

    /** The report, one {@code key: value} line each, ending with a line break. */
    static String format(Verdict v) {
        StringBuilder sb = new StringBuilder();
        sb.append("usertcp available: ").append(v.available() ? "yes" : "no").append('\n');
        if (!v.available()) {
            String cause = v.cause() == null ? "unknown" : v.cause().getMessage();
            sb.append("cause: ").append(cause).append('\n');
            sb.append("fix: ").append(fix(v)).append('\n');
        }
        sb.append("CAP_NET_ADMIN: ").append(v.netAdmin()
                ? "held (this process can create TAP devices and configure their kernel side)"
                : "not held (creating a TAP device needs it: run as root, in a container add --cap-add NET_ADMIN,"
                + " or create the device once for your user with `ip tuntap add dev tap0 mode tap user $USER`)")
                .append('\n');
        sb.append(TUN).append(": ").append(v.tun()).append('\n');
        return sb.toString();
    }

    /** The fix for an unavailable verdict, from what is known about the device file. */
    static String fix(Verdict v) {
        String cause = v.cause() == null ? "" : String.valueOf(v.cause().getMessage());
        if (cause.startsWith("usertcp needs Linux")) {
            return "run on Linux (or fall back to NIO where UserTcp.isAvailable() is false)";
        }
        if (cause.contains("C library")) {
            return "run on a glibc or musl Linux where jnr-ffi loads (see the cause's stack trace)";
        }
        if (v.tun().equals("missing")) {
            return "load the tun module (modprobe tun); in a container run with --device /dev/net/tun";
        }
        return "make " + TUN + " readable and writable for this process (usually crw-rw-rw-); in a container run"
                + " with --device /dev/net/tun";
    }
}
