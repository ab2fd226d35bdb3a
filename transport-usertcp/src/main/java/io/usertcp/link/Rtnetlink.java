package io.usertcp.link;

import jnr.constants.platform.Errno;
import jnr.ffi.LastError;
import jnr.ffi.Pointer;
import jnr.ffi.Runtime;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

import static io.usertcp.link.NetlinkMessage.AF_UNSPEC;
import static io.usertcp.link.NetlinkMessage.NLMSG_DONE;
import static io.usertcp.link.NetlinkMessage.NLMSG_ERROR;
import static io.usertcp.link.NetlinkMessage.NLM_F_ACK;
import static io.usertcp.link.NetlinkMessage.NLM_F_CREATE;
import static io.usertcp.link.NetlinkMessage.NLM_F_REPLACE;
import static io.usertcp.link.NetlinkMessage.NLM_F_REQUEST;
import static io.usertcp.link.NetlinkMessage.RTM_NEWLINK;

/**
 * A {@code NETLINK_ROUTE} socket and the few requests the TAP setup makes through it, each acknowledged by the
 * kernel ({@code NLM_F_ACK}); a refusal becomes an {@link IOException} naming the request and the errno (and the
 * kernel's own text when it sends one). Replaces {@code ip link set} and {@code ip addr replace}.
 *
 * <p>A netlink socket acts on the network namespace it was created in, for its whole life: {@link #openIn}
 * creates one inside another namespace from a short-lived thread that {@code setns(2)}s into it.
 */
final class Rtnetlink implements AutoCloseable {
    private static final int AF_NETLINK = 16;
    private static final int SOCK_RAW = 3;
    private static final int SOCK_CLOEXEC = 0x80000;
    private static final int NETLINK_ROUTE = 0;
    private static final int SOL_SOCKET = 1;
    private static final int SO_RCVTIMEO = 20;
    private static final int SOL_NETLINK = 270;
    private static final int NETLINK_CAP_ACK = 10;
    private static final int NETLINK_EXT_ACK = 11;
    /** {@code sizeof(struct sockaddr_nl)}: family, pad, port id, groups. */
    private static final int SOCKADDR_NL_LEN = 12;
    private static final int BUFFER_SIZE = 32 * 1024;
    private static final int RECEIVE_TIMEOUT_SECONDS = 5;
    private static final int EINTR = Errno.EINTR.intValue();
    private static final int EAGAIN = Errno.EAGAIN.intValue();
    private static final int EPERM = Errno.EPERM.intValue();
    private static final String NO_NET_ADMIN = " (changing an interface needs CAP_NET_ADMIN: grant it, e.g. with"
            + " docker run --cap-add NET_ADMIN, or configure the device beforehand and open it without kernel"
            + " addresses)";

    private static final SocketCalls C = SocketCalls.C;
    private static final Runtime RUNTIME = Runtime.getRuntime(C);

    private final int fd;
    private final ByteBuffer buf = ByteBuffer.allocateDirect(BUFFER_SIZE).order(ByteOrder.nativeOrder());
    private final long bufAddress = Pointer.wrap(RUNTIME, buf).address();
    /** A zeroed {@code sockaddr_nl} with family AF_NETLINK: bound to it, the kernel assigns our port id. */
    private final ByteBuffer kernel = ByteBuffer.allocateDirect(SOCKADDR_NL_LEN).order(ByteOrder.nativeOrder());
    private final long kernelAddress = Pointer.wrap(RUNTIME, kernel).address();
    private int seq;
    /** {@link NetlinkMessage#tunQueues} of the last {@code RTM_NEWLINK} answer. */
    private int tunQueues = -1;

    private Rtnetlink(int fd) {
        this.fd = fd;
        kernel.putShort(0, (short) AF_NETLINK);
    }

    /** Opens a socket in the calling thread's network namespace. */
    static Rtnetlink open() throws IOException {
        int fd = C.socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
        if (fd < 0) {
            throw new IOException("cannot open a NETLINK_ROUTE socket: " + LibC.errnoMessage(errno()));
        }
        Rtnetlink nl = new Rtnetlink(fd);
        try {
            nl.setUp();
            return nl;
        } catch (IOException | RuntimeException e) {
            nl.close();
            throw e;
        }
    }

    /**
     * Opens a socket in the network namespace behind {@code nsFd} (a descriptor of {@code /run/netns/NAME} or
     * {@code /proc/PID/ns/net}). A thread of its own enters the namespace, opens the socket and ends, so no
     * thread of the caller changes namespace. Needs CAP_SYS_ADMIN, as {@code ip -n} does.
     */
    static Rtnetlink openIn(int nsFd, String nsName) throws IOException {
        return InNamespace.call(nsFd, nsName, "opening a netlink socket", Rtnetlink::open);
    }

    private void setUp() throws IOException {
        // Extended acks carry the kernel's text about an error; capped acks leave out the copy of our request.
        setIntOption(SOL_NETLINK, NETLINK_EXT_ACK, 1); // refused before Linux 4.12: acks without text then
        setIntOption(SOL_NETLINK, NETLINK_CAP_ACK, 1);
        // The kernel answers a request before sendto returns; the timeout only guards against a lost answer.
        buf.clear();
        buf.putLong(0, RECEIVE_TIMEOUT_SECONDS).putLong(8, 0); // struct timeval
        if (C.setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, bufAddress, 16) != 0) {
            throw new IOException("cannot set SO_RCVTIMEO on a netlink socket: " + LibC.errnoMessage(errno()));
        }
        if (C.bind(fd, kernelAddress, SOCKADDR_NL_LEN) != 0) { // port id 0: the kernel assigns one
            throw new IOException("cannot bind a netlink socket: " + LibC.errnoMessage(errno()));
        }
    }

    private void setIntOption(int level, int name, int value) {
        buf.putInt(0, value);
        C.setsockopt(fd, level, name, bufAddress, 4);
    }

    /** The index of the interface {@code name} in this socket's namespace ({@code RTM_GETLINK}). */
    int linkIndex(String name) throws IOException {
        NetlinkMessage m = begin(NetlinkMessage.RTM_GETLINK, 0);
        m.ifinfomsg(AF_UNSPEC, 0, 0, 0).attrString(NetlinkMessage.IFLA_IFNAME, name);
        int index = transact(m, "RTM_GETLINK " + name);
        if (index <= 0) {
            throw new IOException("RTM_GETLINK " + name + ": the kernel sent no interface index");
        }
        return index;
    }

    /**
     * The number of queues attached to the multi-queue TAP device {@code name} in this socket's namespace
     * ({@code RTM_GETLINK}), or -1 if the kernel does not say (not a multi-queue tun/tap device).
     */
    int tunQueues(String name) throws IOException {
        NetlinkMessage m = begin(NetlinkMessage.RTM_GETLINK, 0);
        m.ifinfomsg(AF_UNSPEC, 0, 0, 0).attrString(NetlinkMessage.IFLA_IFNAME, name);
        tunQueues = -1;
        transact(m, "RTM_GETLINK " + name);
        return tunQueues;
    }

    /** Moves interface {@code index} into the namespace behind {@code nsFd} ({@code ip link set netns}). */
    void moveToNamespace(int index, int nsFd, String what) throws IOException {
        NetlinkMessage m = begin(NetlinkMessage.RTM_SETLINK, 0);
        m.ifinfomsg(AF_UNSPEC, index, 0, 0).attrInt(NetlinkMessage.IFLA_NET_NS_FD, nsFd);
        transact(m, "RTM_SETLINK IFLA_NET_NS_FD (" + what + ")");
    }

    /** Sets the MTU and transmit queue length of interface {@code index} ({@code ip link set mtu txqueuelen}). */
    void setMtu(int index, int mtu, int txQueueLength, String what) throws IOException {
        NetlinkMessage m = begin(NetlinkMessage.RTM_SETLINK, 0);
        m.ifinfomsg(AF_UNSPEC, index, 0, 0).attrInt(NetlinkMessage.IFLA_MTU, mtu)
                .attrInt(NetlinkMessage.IFLA_TXQLEN, txQueueLength);
        transact(m, "RTM_SETLINK IFLA_MTU " + mtu + " IFLA_TXQLEN " + txQueueLength + " (" + what + ")");
    }

    /** Brings interface {@code index} up ({@code ip link set up}). */
    void setUp(int index, String what) throws IOException {
        NetlinkMessage m = begin(NetlinkMessage.RTM_SETLINK, 0);
        m.ifinfomsg(AF_UNSPEC, index, NetlinkMessage.IFF_UP, NetlinkMessage.IFF_UP);
        transact(m, "RTM_SETLINK IFF_UP (" + what + ")");
    }

    /**
     * Adds or replaces an address of interface {@code index} ({@code ip addr replace}): {@code address} is 4 or 16
     * bytes in network order; {@code flags} e.g. {@link NetlinkMessage#IFA_F_NODAD}.
     */
    void replaceAddress(int index, byte[] address, int prefixLength, int flags, String what) throws IOException {
        NetlinkMessage m = begin(NetlinkMessage.RTM_NEWADDR, NLM_F_CREATE | NLM_F_REPLACE);
        int family = address.length == 4 ? NetlinkMessage.AF_INET : NetlinkMessage.AF_INET6;
        m.ifaddrmsg(family, prefixLength, flags, 0, index)
                .attrBytes(NetlinkMessage.IFA_LOCAL, address)
                .attrBytes(NetlinkMessage.IFA_ADDRESS, address);
        transact(m, "RTM_NEWADDR " + what);
    }

    private NetlinkMessage begin(int type, int flags) {
        buf.clear();
        return new NetlinkMessage(buf).begin(type, NLM_F_REQUEST | NLM_F_ACK | flags, ++seq);
    }

    /**
     * Sends the message in {@link #buf} and reads answers until the acknowledgement of it.
     *
     * @return the interface index of an {@code RTM_NEWLINK} answer before the acknowledgement, or 0
     */
    private int transact(NetlinkMessage m, String what) throws IOException {
        int len = m.end();
        for (;;) {
            long n = C.send(fd, bufAddress, len, 0);
            if (n == len) {
                break;
            }
            if (n >= 0 || errno() != EINTR) {
                throw new IOException(what + ": cannot send to the kernel: "
                        + (n >= 0 ? "short write" : LibC.errnoMessage(errno())));
            }
        }
        int expected = seq;
        int index = 0;
        for (;;) {
            buf.clear();
            long n = C.recv(fd, bufAddress, buf.capacity(), 0);
            if (n < 0) {
                int errno = errno();
                if (errno == EINTR) {
                    continue;
                }
                throw new IOException(what + ": no answer from the kernel: " + LibC.errnoMessage(errno)
                        + (errno == EAGAIN ? " (after " + RECEIVE_TIMEOUT_SECONDS + " s)" : ""));
            }
            buf.limit((int) n);
            for (int o = 0; NetlinkMessage.ok(buf, o); o = NetlinkMessage.next(buf, o)) {
                if (NetlinkMessage.seq(buf, o) != expected) {
                    continue; // an answer to an earlier request that timed out
                }
                int type = NetlinkMessage.type(buf, o);
                if (type == RTM_NEWLINK) {
                    index = NetlinkMessage.ifIndex(buf, o);
                    tunQueues = NetlinkMessage.tunQueues(buf, o);
                } else if (type == NLMSG_ERROR) {
                    int errno = NetlinkMessage.errno(buf, o);
                    if (errno == 0) {
                        return index;
                    }
                    String text = NetlinkMessage.extAckMessage(buf, o);
                    throw new IOException(what + " failed: " + (errno < 0 ? "a truncated error message"
                            : LibC.errnoMessage(errno)) + (text != null ? ": " + text : "")
                            + (errno == EPERM ? NO_NET_ADMIN : ""));
                } else if (type == NLMSG_DONE) {
                    return index;
                }
            }
        }
    }

    private static int errno() {
        return LastError.getLastError(RUNTIME);
    }

    @Override
    public void close() {
        C.close(fd);
    }
}
