package io.usertcp.link;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.List;
import java.util.Locale;

/**
 * Whether this process can use TAP devices at all, checked once: the operating system is Linux, the C library
 * loads through jnr-ffi, and {@code /dev/net/tun} opens. Creating a device also needs CAP_NET_ADMIN (attaching to
 * one created for this user with {@code ip tuntap add ... user} does not), which {@link #hasNetAdmin()} reports
 * from {@code /proc/self/status}. The public face of this is {@code io.usertcp.channel.UserTcp}.
 */
public final class TapAvailability {
    /** CAP_NET_ADMIN's bit in the capability sets (linux/capability.h). */
    static final int CAP_NET_ADMIN = 12;
    static final String TUN_PATH = "/dev/net/tun";

    private static final Throwable CAUSE = check();

    private TapAvailability() {
    }

    /** Why TAP devices cannot be used here, or {@code null} if they can. */
    public static Throwable unavailabilityCause() {
        return CAUSE;
    }

    /**
     * Whether this process has CAP_NET_ADMIN in its effective set (needed to create a TAP device, to attach to one
     * it does not own, and to move one into a namespace).
     */
    public static boolean hasNetAdmin() {
        Long eff = effectiveCapabilities(Paths.get("/proc/self/status"));
        return eff != null && (eff & (1L << CAP_NET_ADMIN)) != 0;
    }

    /**
     * What to say about a missing CAP_NET_ADMIN: root in a container that was not given the capability is told how
     * to give it; anyone else to run as root or use a device created for them.
     */
    static String netAdminAdvice(String dev) {
        boolean root = "root".equals(System.getProperty("user.name"));
        if (root) {
            return "this process runs as root but without CAP_NET_ADMIN (a container started without"
                    + " --cap-add NET_ADMIN, or a restricted capability set): grant NET_ADMIN, e.g."
                    + " `docker run --cap-add NET_ADMIN --device /dev/net/tun ...`";
        }
        return "it needs CAP_NET_ADMIN: run as root (in a container also pass --device /dev/net/tun --cap-add"
                + " NET_ADMIN), or create it once with `ip tuntap add dev " + dev + " mode tap user $USER` and run"
                + " again";
    }

    /** The CapEff line of a {@code /proc/<pid>/status} file, or null if it cannot be read. */
    static Long effectiveCapabilities(Path status) {
        try {
            List<String> lines = Files.readAllLines(status);
            for (String l : lines) {
                if (l.startsWith("CapEff:")) {
                    return Long.parseUnsignedLong(l.substring(7).trim(), 16);
                }
            }
        } catch (IOException | NumberFormatException e) {
            return null;
        }
        return null;
    }

    private static Throwable check() {
        String os = System.getProperty("os.name", "").toLowerCase(Locale.ROOT);
        if (!os.startsWith("linux")) {
            return new UnsupportedOperationException("usertcp needs Linux (TAP devices through " + TUN_PATH
                    + "); this is " + System.getProperty("os.name"));
        }
        LibC c;
        try {
            c = LibC.INSTANCE;
        } catch (Throwable t) { // jnr-ffi could not load libc: LinkageError or a runtime exception
            return new UnsupportedOperationException("usertcp cannot load the C library through jnr-ffi: " + t, t);
        }
        if (!Files.exists(Paths.get(TUN_PATH))) {
            return new UnsupportedOperationException(TUN_PATH + " does not exist: load the tun module (modprobe tun)"
                    + " or, in a container, pass --device /dev/net/tun");
        }
        int fd = c.open(TUN_PATH, LibC.O_RDWR | LibC.O_CLOEXEC);
        if (fd < 0) {
            return new UnsupportedOperationException("cannot open " + TUN_PATH + ": "
                    + LibC.errnoMessage(LibC.errno()) + " (in a container pass --device /dev/net/tun; check its"
                    + " permissions, usually crw-rw-rw-)");
        }
        c.close(fd);
        return null;
    }
}
