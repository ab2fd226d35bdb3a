package io.usertcp.link;

import jnr.constants.platform.Errno;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Paths;

/** The messages of a TAP device that cannot be opened: each names the problem and how to fix it. */
final class TapOpenErrors {
    private static final String TUN_PATH = TapAvailability.TUN_PATH;
    private static final int EPERM = Errno.EPERM.intValue();
    private static final int EACCES = Errno.EACCES.intValue();
    private static final int EBUSY = Errno.EBUSY.intValue();
    private static final int EINVAL = Errno.EINVAL.intValue();
    private static final int ENOENT = Errno.ENOENT.intValue();
    private static final int ENODEV = Errno.ENODEV.intValue();
    private static final int ENXIO = Errno.ENXIO.intValue();

    private TapOpenErrors() {
    }

    /** Why {@code open(2)} of {@code /dev/net/tun} failed for {@code dev}, and what to do. */
    static IOException open(String dev, int errno) {
        String err = LibC.errnoMessage(errno);
        if (errno == ENOENT) {
            return new IOException("cannot open TAP device " + dev + ": " + TUN_PATH + " does not exist: load the tun"
                    + " module (modprobe tun) or, in a container, pass --device /dev/net/tun");
        }
        if (errno == ENODEV || errno == ENXIO) {
            return new IOException("cannot open TAP device " + dev + ": " + TUN_PATH + " is there but the tun driver"
                    + " is not (" + err + "): load the tun module (modprobe tun) or, in a container, pass"
                    + " --device /dev/net/tun");
        }
        if (errno == EPERM || errno == EACCES) {
            return new IOException("cannot open " + TUN_PATH + " (" + err + ") for TAP device " + dev + ": "
                    + TapAvailability.netAdminAdvice(dev));
        }
        return new IOException("cannot open " + TUN_PATH + " for TAP device " + dev + ": " + err);
    }

    /** Why {@code TUNSETIFF} failed for {@code dev}, and what to do. */
    static IOException setIff(String dev, int errno) {
        String err = LibC.errnoMessage(errno);
        if (errno == EPERM || errno == EACCES) {
            return new IOException("cannot attach to TAP device " + dev + " (" + err + "): "
                    + TapAvailability.netAdminAdvice(dev));
        }
        if (errno == EBUSY) {
            // Only a device without multi-queue answers EBUSY (one that exists with it takes a further queue, and
            // TapQueues refuses to share it with another process).
            return new IOException("TAP device " + dev + " is busy (" + err + "): another process, or another event"
                    + " loop group of this one, holds it. It was made without multi-queue, so it has one reader. A"
                    + " device belongs to one event loop group, whose loops share it as the queues of a multi-queue"
                    + " device (the group makes one itself, or give it one made with `ip tuntap add dev " + dev
                    + " mode tap multi_queue`); two groups or processes never share one, since the tun driver would"
                    + " spread the kernel's flows over both. Give each group its own device, stop the other process,"
                    + " or choose another name");
        }
        if (errno == EINVAL) {
            if (!Files.exists(Paths.get("/sys/class/net", dev, "tun_flags"))
                    && Files.exists(Paths.get("/sys/class/net", dev))) {
                return new IOException(dev + " exists but is not a TAP device without packet info (" + err
                        + "): it is another kind of interface; choose another name");
            }
            return new IOException(dev + " exists but is not a TAP device without packet info (" + err
                    + "): delete it with `ip link del " + dev + "` or choose another name");
        }
        return new IOException("cannot attach to TAP device " + dev + ": TUNSETIFF failed: " + err);
    }
}
