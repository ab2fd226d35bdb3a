package io.usertcp.link;

import jnr.constants.platform.Errno;
import jnr.ffi.LastError;
import jnr.ffi.LibraryLoader;
import jnr.ffi.Runtime;
import jnr.ffi.annotations.SaveError;
import jnr.ffi.types.size_t;
import jnr.ffi.types.ssize_t;

/**
 * The few Linux libc calls the TAP link needs, bound with jnr-ffi. Buffers are passed as raw native
 * addresses ({@code long}), e.g. from Netty's {@code ByteBuf.memoryAddress()}, so a call allocates
 * nothing on the Java heap. Every call saves {@code errno}; read it with {@link #errno()} right after a
 * call that returned -1, on the same thread.
 *
 * <p>Linux on a 64-bit CPU only: the constants below are the Linux generic values (x86-64, arm64).
 */
public interface LibC {

    /** {@code O_RDWR}. */
    int O_RDWR = 0x2;
    /** {@code O_NONBLOCK}. */
    int O_NONBLOCK = 0x800;
    /** {@code O_CLOEXEC}. */
    int O_CLOEXEC = 0x80000;
    /** {@code EFD_NONBLOCK} (same as {@code O_NONBLOCK}). */
    int EFD_NONBLOCK = O_NONBLOCK;
    /** {@code EFD_CLOEXEC} (same as {@code O_CLOEXEC}). */
    int EFD_CLOEXEC = O_CLOEXEC;
    /** {@code POLLIN}. */
    short POLLIN = 0x1;
    /** {@code POLLERR}. */
    short POLLERR = 0x8;
    /** {@code POLLHUP}. */
    short POLLHUP = 0x10;
    /** {@code POLLNVAL}. */
    short POLLNVAL = 0x20;

    /** The bound library. */
    LibC INSTANCE = LibraryLoader.create(LibC.class).load("c");
    /** The jnr runtime of {@link #INSTANCE} (for {@code Memory.allocateDirect} and {@link LastError}). */
    Runtime RUNTIME = Runtime.getRuntime(INSTANCE);

    /** {@code open(2)}: returns a descriptor or -1. */
    @SaveError
    int open(String path, int flags);

    /** {@code close(2)}: returns 0 or -1. */
    @SaveError
    int close(int fd);

    /** {@code ioctl(2)} with a pointer argument given as a native address: returns ≥ 0 or -1. */
    @SaveError
    int ioctl(int fd, long request, long argAddress);

    /** {@code read(2)} into native memory at {@code bufAddress}: returns the byte count or -1. */
    @SaveError
    @ssize_t
    long read(int fd, long bufAddress, @size_t long count);

    /** {@code write(2)} from native memory at {@code bufAddress}: returns the byte count or -1. */
    @SaveError
    @ssize_t
    long write(int fd, long bufAddress, @size_t long count);

    /**
     * {@code ppoll(2)}: {@code fdsAddress} points to {@code nfds} 8-byte {@code struct pollfd}s,
     * {@code timeoutAddress} to a {@code struct timespec} (0 = wait forever), {@code sigmaskAddress} to a
     * signal set (0 = keep the mask). Returns the number of ready descriptors, 0 on timeout, or -1.
     */
    @SaveError
    int ppoll(long fdsAddress, @size_t long nfds, long timeoutAddress, long sigmaskAddress);

    /** {@code eventfd(2)}: returns a descriptor or -1. */
    @SaveError
    int eventfd(int initval, int flags);

    /** {@code setns(2)}: moves the calling thread into the namespace of {@code fd}; returns 0 or -1. */
    @SaveError
    int setns(int fd, int nstype);

    /** {@code CLONE_NEWNET}, the {@code nstype} of a network namespace. */
    int CLONE_NEWNET = 0x40000000;

    /** The {@code errno} saved by this thread's last call through {@link #INSTANCE}. */
    static int errno() {
        return LastError.getLastError(RUNTIME);
    }

    /** A readable form of an errno value, e.g. {@code EAGAIN (Resource temporarily unavailable)}. */
    static String errnoMessage(int errno) {
        Errno e = Errno.valueOf(errno);
        if (e == null || !e.defined() || e == Errno.__UNKNOWN_CONSTANT__) {
            return "errno " + errno;
        }
        return e.name() + " (" + e.description() + ")";
    }
}
