package io.usertcp.link;

import jnr.constants.platform.Errno;
import jnr.ffi.Memory;
import jnr.ffi.Pointer;

import java.io.IOException;

/**
 * Waits with {@code ppoll(2)} until one of a fixed set of descriptors is readable or a timeout passes.
 * The native {@code pollfd} array and {@code timespec} are allocated once, so {@link #poll} allocates
 * nothing. Used by one thread at a time.
 */
public final class Poller {
    private static final int POLLFD_SIZE = 8;     // int fd; short events; short revents;
    private static final int READY = LibC.POLLIN | LibC.POLLERR | LibC.POLLHUP | LibC.POLLNVAL;
    private static final int EINTR = Errno.EINTR.intValue();

    private final int count;
    private final Pointer mem;
    private final long fdsAddress;
    private final long timespecAddress;

    /**
     * A poller watching {@code fds} for POLLIN; {@link #readable(int)} indexes follow this order. A
     * negative descriptor is ignored by the kernel (never ready).
     */
    public Poller(int... fds) {
        count = fds.length;
        mem = Memory.allocateDirect(LibC.RUNTIME, count * POLLFD_SIZE + 16, true);
        fdsAddress = mem.address();
        timespecAddress = fdsAddress + count * POLLFD_SIZE;
        for (int i = 0; i < count; i++) {
            mem.putInt(i * POLLFD_SIZE, fds[i]);
            mem.putShort(i * POLLFD_SIZE + 4, LibC.POLLIN);
            mem.putShort(i * POLLFD_SIZE + 6, (short) 0);
        }
    }

    /** How many descriptors this poller watches. */
    public int size() {
        return count;
    }

    /**
     * Stops watching the descriptor at {@code index} (the kernel ignores a negative descriptor): for one that
     * failed for good, which ppoll would otherwise report ready (POLLERR) at once on every call. Indexes stay.
     */
    public void disable(int index) {
        mem.putInt(checkIndex(index) * POLLFD_SIZE, -1);
    }

    /** The descriptor at {@code index}, or -1 once {@link #disable disabled}. */
    public int fd(int index) {
        return mem.getInt(checkIndex(index) * POLLFD_SIZE);
    }

    /**
     * Waits until a descriptor is ready or the timeout passes.
     *
     * @param timeoutNanos how long to wait: negative waits forever, 0 only checks
     * @return the number of ready descriptors; 0 on timeout or when a signal interrupted the wait (EINTR)
     * @throws IOException on any other error (e.g. EINVAL, ENOMEM)
     */
    public int poll(long timeoutNanos) throws IOException {
        for (int i = 0; i < count; i++) {
            mem.putShort(i * POLLFD_SIZE + 6, (short) 0);
        }
        long ts = 0;
        if (timeoutNanos >= 0) {
            mem.putLong(count * POLLFD_SIZE, timeoutNanos / 1_000_000_000L);
            mem.putLong(count * POLLFD_SIZE + 8, timeoutNanos % 1_000_000_000L);
            ts = timespecAddress;
        }
        int n = LibC.INSTANCE.ppoll(fdsAddress, count, ts, 0);
        if (n < 0) {
            int errno = LibC.errno();
            if (errno == EINTR) {
                return 0;
            }
            throw new IOException("ppoll failed: " + LibC.errnoMessage(errno));
        }
        return n;
    }

    /**
     * Whether the last {@link #poll} found descriptor {@code index} ready: readable, or in an error or
     * hang-up state (so that a read returns data or reports the error instead of the caller spinning).
     */
    public boolean readable(int index) {
        return (revents(index) & READY) != 0;
    }

    /** The raw {@code revents} the last {@link #poll} reported for descriptor {@code index}. */
    public int revents(int index) {
        return mem.getShort(checkIndex(index) * POLLFD_SIZE + 6) & 0xffff;
    }

    private int checkIndex(int index) {
        if (index < 0 || index >= count) {
            throw new IndexOutOfBoundsException("index " + index + " of " + count + " descriptors");
        }
        return index;
    }
}
