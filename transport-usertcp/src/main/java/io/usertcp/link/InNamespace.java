package io.usertcp.link;

import jnr.constants.platform.Errno;

import java.io.IOException;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Runs a short task (opening a socket) inside the network namespace behind a descriptor of
 * {@code /run/netns/NAME} or {@code /proc/PID/ns/net}: a thread of its own enters the namespace with
 * {@code setns(2)}, runs the task and ends, so no thread of the caller changes namespace. A socket keeps the
 * namespace it was made in for its whole life. Needs CAP_SYS_ADMIN, as {@code ip -n} does.
 */
final class InNamespace {
    private static final int EPERM = Errno.EPERM.intValue();

    /** What runs inside the namespace. */
    interface Task<T> {
        /** Runs on the namespace's thread; must not block for long. */
        T run() throws IOException;
    }

    /** What the task returned, told apart from what it threw. */
    private record Done(Object value) {
    }

    private InNamespace() {
    }

    /**
     * Runs {@code task} in the namespace behind {@code nsFd} and returns what it returned.
     *
     * @param what what the task does, for the message when the thread is interrupted before it is done
     * @throws IOException what the task threw, or that the namespace could not be entered (and why)
     */
    @SuppressWarnings("unchecked")
    static <T> T call(int nsFd, String nsName, String what, Task<T> task) throws IOException {
        AtomicReference<Object> result = new AtomicReference<>();
        Thread t = new Thread(() -> {
            try {
                if (LibC.INSTANCE.setns(nsFd, LibC.CLONE_NEWNET) != 0) {
                    int errno = LibC.errno();
                    throw new IOException("cannot enter network namespace '" + nsName + "': setns failed: "
                            + LibC.errnoMessage(errno) + (errno == EPERM
                            ? " (entering a network namespace needs CAP_SYS_ADMIN)" : ""));
                }
                result.set(new Done(task.run()));
            } catch (IOException | RuntimeException | Error e) {
                result.set(e);
            }
        }, "usertcp-netns-" + nsName);
        t.setDaemon(true);
        t.start();
        boolean interrupted = false;
        for (;;) {
            try {
                t.join();
                break;
            } catch (InterruptedException e) {
                interrupted = true; // the thread does not block: wait for it so that what it opens is not lost
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
        Object r = result.get();
        if (r instanceof Done done) {
            return (T) done.value();
        }
        if (r instanceof IOException e) {
            throw new IOException(e.getMessage(), e);
        }
        if (r instanceof RuntimeException e) {
            throw e;
        }
        if (r instanceof Error e) {
            throw e;
        }
        throw new IOException("interrupted while " + what + " in network namespace '" + nsName + "'");
    }
}
