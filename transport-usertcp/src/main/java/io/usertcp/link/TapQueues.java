package io.usertcp.link;

import jnr.constants.platform.Errno;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Paths;

/**
 * The queues of a multi-queue TAP device ({@code IFF_MULTI_QUEUE}, issue #12): every {@code TUNSETIFF} with the same
 * name and that flag on a new {@code /dev/net/tun} descriptor attaches one more queue, and the tun driver spreads the
 * kernel's frames over them (by its flow table, else by a hash of the flow). A descriptor looks the device up in the
 * network namespace it was opened in, so once the first queue moved the device into a namespace the others are
 * opened from inside it ({@code setns(2)} on the calling thread only, then back).
 */
final class TapQueues {
    /** {@code IFF_MULTI_QUEUE} (linux/if_tun.h). */
    static final short IFF_MULTI_QUEUE = 0x0100;
    private static final int O_RDONLY = 0;

    private TapQueues() {
    }

    /**
     * Opens {@code /dev/net/tun} for queue {@code queue} (-1: a device of one queue) of a device in {@code namespace}
     * (null: this thread's):
     * returns the descriptor, or -1 with errno set by the failed {@code open}.
     */
    static int openTun(String path, int flags, String namespace, int queue) throws IOException {
        LibC c = LibC.INSTANCE;
        if (queue <= 0 || namespace == null) {
            return c.open(path, flags);
        }
        int self = c.open("/proc/thread-self/ns/net", O_RDONLY | LibC.O_CLOEXEC);
        if (self < 0) {
            throw new IOException("cannot open this thread's network namespace to attach queue " + queue
                    + ": " + LibC.errnoMessage(LibC.errno()));
        }
        int target = c.open(namespacePath(namespace), O_RDONLY | LibC.O_CLOEXEC);
        if (target < 0) {
            int e = LibC.errno();
            c.close(self);
            throw new IOException("cannot open network namespace '" + namespace + "' to attach queue " + queue
                    + " of its TAP device: " + LibC.errnoMessage(e));
        }
        try {
            if (c.setns(target, LibC.CLONE_NEWNET) < 0) {
                throw new IOException("cannot enter network namespace '" + namespace + "' to attach queue " + queue
                        + " of its TAP device: " + LibC.errnoMessage(LibC.errno())
                        + " (needs CAP_SYS_ADMIN; or leave the device in this namespace)");
            }
            try {
                return c.open(path, flags);
            } finally {
                if (c.setns(self, LibC.CLONE_NEWNET) < 0) {
                    // The thread would stay in the other namespace: nothing it does could be trusted.
                    throw new IllegalStateException("cannot return to this thread's network namespace: "
                            + LibC.errnoMessage(LibC.errno()));
                }
            }
        } finally {
            c.close(target);
            c.close(self);
        }
    }

    private static String namespacePath(String ns) {
        if (ns.chars().allMatch(Character::isDigit)) {
            return Paths.get("/proc", ns, "ns", "net").toString(); // ip takes a PID too
        }
        return (Files.exists(Paths.get("/run/netns", ns)) ? Paths.get("/run/netns", ns)
                : Paths.get("/var/run/netns", ns)).toString();
    }

    /** Why {@code TUNSETIFF} with {@code IFF_MULTI_QUEUE} failed for queue {@code queue}, and what to do. */
    static IOException attachError(String dev, int errno, int queue, IOException general) {
        if (errno == Errno.EINVAL.intValue()) {
            return new IOException("cannot attach queue " + queue + " of TAP device " + dev + " ("
                    + LibC.errnoMessage(errno) + "): it exists without multi-queue (made by `ip tuntap add` without"
                    + " multi_queue, or held by another process) or is not a TAP device. Several event loops need a"
                    + " multi-queue device: delete it (`ip link del " + dev + "`) and let usertcp create it, or"
                    + " create it with `ip tuntap add dev " + dev + " mode tap multi_queue`; or build the group with"
                    + " one thread (new MultiThreadIoEventLoopGroup(1, UserTcpIoHandler.newFactory(config)))");
        }
        return general;
    }
}
