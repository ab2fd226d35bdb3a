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

    /**
     * Fails if the multi-queue device {@code dev} (in {@code namespace}, null: the calling thread's) has more queues
     * than the {@code queue + 1} a group has attached once its queue {@code queue} is in: another process attached
     * the others (the kernel has no way to keep a multi-queue device to one process: {@code IFF_TUN_EXCL} only
     * refuses a device that exists, and any process with CAP_NET_ADMIN may attach to it), and the tun driver
     * would spread the kernel's flows over its queues too. Run before the kernel's side is configured.
     */
    static void checkNoOtherQueues(String dev, String namespace, int queue) throws IOException {
        int attached = attached(dev, namespace);
        if (attached > queue + 1) {
            throw new IOException(othersHold(dev, attached, queue + 1) + ": refusing to share it. Stop the other"
                    + " process, or give each its own device (TapConfig.builder(name))");
        }
    }

    /** The first words of the message that names a device shared with another process. */
    static String othersHold(String dev, int attached, int ours) {
        int others = attached - ours;
        return "TAP device " + dev + " has " + attached + " queues attached and this event loop group holds " + ours
                + ": another process holds " + others + (others == 1 ? " queue" : " queues") + " of it (it opened the"
                + " device with IFF_MULTI_QUEUE too), and the tun driver spreads the kernel's flows over its queues"
                + " as well, so this group loses the connections and datagrams that land there";
    }

    /**
     * The queues attached to the multi-queue TAP device {@code dev} in {@code namespace} (null: the calling thread's)
     * as the kernel counts them, or -1 if it does not say.
     */
    static int attached(String dev, String namespace) throws IOException {
        try (Rtnetlink nl = netlink(namespace)) {
            return nl.tunQueues(dev);
        }
    }

    /** A netlink socket in {@code namespace} (null: the calling thread's). */
    static Rtnetlink netlink(String namespace) throws IOException {
        if (namespace == null) {
            return Rtnetlink.open();
        }
        String path = KernelSide.namespacePath(namespace).toString();
        int nsFd = LibC.INSTANCE.open(path, O_RDONLY | LibC.O_CLOEXEC);
        if (nsFd < 0) {
            throw new IOException("cannot open network namespace '" + namespace + "' (" + path + "): "
                    + LibC.errnoMessage(LibC.errno()));
        }
        try {
            return Rtnetlink.openIn(nsFd, namespace);
        } finally {
            LibC.INSTANCE.close(nsFd);
        }
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
