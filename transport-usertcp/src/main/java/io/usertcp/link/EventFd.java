package io.usertcp.link;

import jnr.constants.platform.Errno;
import jnr.ffi.Memory;
import jnr.ffi.Pointer;

import java.io.IOException;
import java.io.UncheckedIOException;

/**
 * A Linux eventfd ({@code EFD_NONBLOCK | EFD_CLOEXEC}): a descriptor that other threads make readable with
 * {@link #signal()} to wake a thread blocked in {@link Poller#poll}. The owning thread clears it with
 * {@link #drain()}.
 *
 * <p>{@link #signal()} may be called from any thread; {@link #drain()} and {@link #close()} belong to the
 * owning thread. Close it only once no other thread will signal it any more (after close its descriptor
 * number may be reused by another file).
 */
public final class EventFd implements AutoCloseable {
    private static final LibC C = LibC.INSTANCE;
    private static final int EAGAIN = Errno.EAGAIN.intValue();
    private static final int EINTR = Errno.EINTR.intValue();

    private volatile int fd;
    /** Eight bytes holding the counter increment 1; never written after construction. */
    private final Pointer one;
    /** Eight bytes that drain() reads the counter into. */
    private final Pointer sink;

    /**
     * Creates the eventfd.
     *
     * @throws IOException naming the errno when the kernel refuses (e.g. EMFILE: too many open files)
     */
    public EventFd() throws IOException {
        one = Memory.allocateDirect(LibC.RUNTIME, 8, true);
        one.putLong(0, 1L);
        sink = Memory.allocateDirect(LibC.RUNTIME, 8, true);
        int f = C.eventfd(0, LibC.EFD_NONBLOCK | LibC.EFD_CLOEXEC);
        if (f < 0) {
            throw new IOException("eventfd() failed: " + LibC.errnoMessage(LibC.errno()));
        }
        fd = f;
    }

    /** The descriptor (readable while the counter is non-zero), or -1 once closed. */
    public int fd() {
        return fd;
    }

    /**
     * Adds 1 to the counter, making the descriptor readable. Thread-safe; does nothing after
     * {@link #close()} or when the counter is saturated (EAGAIN: it is readable anyway).
     *
     * @throws UncheckedIOException on an unexpected errno
     */
    public void signal() {
        int f = fd;
        if (f < 0) {
            return;
        }
        long n = C.write(f, one.address(), 8);
        if (n < 0) {
            int errno = LibC.errno();
            if (errno == EAGAIN || errno == EINTR || fd < 0) {
                return;
            }
            throw new UncheckedIOException(new IOException("eventfd write failed: " + LibC.errnoMessage(errno)));
        }
    }

    /**
     * Resets the counter to zero so the descriptor is no longer readable.
     *
     * @return the sum of the counter values read (how many signals were pending), 0 if none or closed
     * @throws IOException on an unexpected errno
     */
    public long drain() throws IOException {
        long total = 0;
        int f = fd;
        while (f >= 0) {
            long n = C.read(f, sink.address(), 8);
            if (n == 8) {
                total += sink.getLong(0);
                continue;
            }
            int errno = LibC.errno();
            if (n < 0 && errno == EINTR) {
                continue;
            }
            if (n < 0 && errno == EAGAIN) {
                break;
            }
            throw new IOException("eventfd read failed: " + (n < 0 ? LibC.errnoMessage(errno) : "short read " + n));
        }
        return total;
    }

    /** Closes the descriptor. Idempotent. */
    @Override
    public void close() {
        int f = fd;
        if (f >= 0) {
            fd = -1;
            C.close(f);
        }
    }
}
