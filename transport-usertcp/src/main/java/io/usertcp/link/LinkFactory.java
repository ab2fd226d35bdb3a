package io.usertcp.link;

import java.io.IOException;

/**
 * Opens a {@link Link}. A stack calls its factory once, on the thread that will own it; the factory is
 * where device permissions and names are checked, so its exceptions should say what to fix.
 */
@FunctionalInterface
public interface LinkFactory {

    /** Opens the link. */
    Link open() throws IOException;

    /**
     * Opens queue {@code queue} of {@code queues} of the link, for a group of stacks that share it (one per event
     * loop). With one queue this is {@link #open()}; a link that cannot be shared says so.
     *
     * @throws IOException naming the problem and the fix when the link cannot be shared
     */
    default Link openQueue(int queue, int queues) throws IOException {
        if (queues == 1) {
            return open();
        }
        throw new IOException("the link " + this + " cannot be shared by " + queues + " event loops: only a TAP"
                + " device (TapConfig) has one queue per loop. Build the group with one thread:"
                + " new MultiThreadIoEventLoopGroup(1, UserTcpIoHandler.newFactory(config))");
    }
}
