package io.usertcp.link;

import io.netty.util.internal.logging.InternalLogger;
import io.netty.util.internal.logging.InternalLoggerFactory;

import java.io.IOException;

/**
 * Watches that no other process attaches a queue to the multi-queue TAP device of a group of stacks (issue #12). The
 * kernel cannot keep a multi-queue device to one process ({@code IFF_TUN_EXCL} only refuses a device that exists; a
 * process with CAP_NET_ADMIN may attach at any time), and once another process holds a queue the tun driver spreads
 * the kernel's flows over it too: the group silently loses the connections and datagrams that land there. Opening
 * a queue refuses a device that already has foreign queues ({@link TapDevice#openQueue}); this watch finds those
 * that come later, by asking the kernel how many queues the device has ({@code RTM_GETLINK}, {@code numqueues} in
 * {@code ip -d link}) through a netlink socket kept open in the device's namespace.
 *
 * <p>{@link #check} logs a warning when foreign queues appear (once, until they are gone) and a line when they are
 * gone. Used by one thread.
 */
public final class TapQueueWatch implements AutoCloseable {
    private static final InternalLogger logger = InternalLoggerFactory.getInstance(TapQueueWatch.class);

    private final String device;
    private final int ours;
    private final Rtnetlink netlink;
    /** Foreign queues the last check found. */
    private int foreign;
    /** Whether the last check failed (logged once until one succeeds). */
    private boolean failing;

    private TapQueueWatch(String device, int ours, Rtnetlink netlink) {
        this.device = device;
        this.ours = ours;
        this.netlink = netlink;
    }

    /**
     * Watches {@code device}, of which the group holds {@code ours} queues.
     *
     * @throws IOException if no netlink socket can be opened in the device's namespace
     */
    public static TapQueueWatch open(TapDevice device, int ours) throws IOException {
        return new TapQueueWatch(device.name(), ours, TapQueues.netlink(device.namespace()));
    }

    /**
     * Asks the kernel: the number of the device's queues that another process holds (0 when none), or -1 when the
     * kernel does not say (the device is gone, or the request failed: logged at debug level once).
     */
    public int check() {
        int attached;
        try {
            attached = netlink.tunQueues(device);
        } catch (IOException e) {
            if (!failing) {
                failing = true;
                logger.debug("cannot count the queues of TAP device {}: {}", device, e.getMessage());
            }
            return -1;
        }
        failing = false;
        if (attached < 0) {
            return -1;
        }
        int now = Math.max(0, attached - ours);
        if (now > 0 && foreign == 0) {
            logger.warn("{}. Stop the other process, or give each its own device",
                    TapQueues.othersHold(device, attached, ours));
        } else if (now == 0 && foreign > 0) {
            logger.info("TAP device {} has no queues of another process any more", device);
        }
        foreign = now;
        return now;
    }

    /** The foreign queues the last {@link #check} found. */
    public int foreignQueues() {
        return foreign;
    }

    @Override
    public void close() {
        netlink.close();
    }
}
