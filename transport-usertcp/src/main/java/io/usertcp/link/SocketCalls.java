package io.usertcp.link;

import jnr.ffi.LibraryLoader;
import jnr.ffi.annotations.SaveError;
import jnr.ffi.types.size_t;
import jnr.ffi.types.ssize_t;

/**
 * The libc socket calls of the link layer's own sockets (the rtnetlink socket of {@link Rtnetlink}, the packet
 * socket of {@link PacketRing}), bound once with jnr-ffi. Every call saves {@code errno}: read it with
 * {@link LibC#errno()} right after. Public only because jnr-ffi generates its implementation in another class
 * loader; not part of the API.
 */
public interface SocketCalls {
    /** The bound library. */
    SocketCalls C = LibraryLoader.create(SocketCalls.class).load("c");

    /** {@code socket(2)}. */
    @SaveError
    int socket(int domain, int type, int protocol);

    /** {@code bind(2)} to the address at {@code addrAddress}. */
    @SaveError
    int bind(int fd, long addrAddress, int addrLen);

    /** {@code setsockopt(2)} with the option value at {@code valueAddress}. */
    @SaveError
    int setsockopt(int fd, int level, int name, long valueAddress, int valueLen);

    /** {@code getsockopt(2)} into the value at {@code valueAddress}, its length at {@code lengthAddress}. */
    @SaveError
    int getsockopt(int fd, int level, int name, long valueAddress, long lengthAddress);

    /**
     * {@code send(2)} from native memory (an unconnected netlink socket sends to the kernel). Not
     * {@code sendto}: through jnr-ffi 2.2.17 its sixth argument reached the kernel as garbage (EINVAL).
     */
    @SaveError
    @ssize_t
    long send(int fd, long bufAddress, @size_t long len, int flags);

    /** {@code recv(2)} into native memory. */
    @SaveError
    @ssize_t
    long recv(int fd, long bufAddress, @size_t long len, int flags);

    /** {@code munmap(2)}. */
    @SaveError
    int munmap(long addr, @size_t long length);

    /** {@code if_nametoindex(3)}: 0 when there is no such interface. */
    @SaveError
    int if_nametoindex(String name);

    /** {@code close(2)}. */
    @SaveError
    int close(int fd);
}
