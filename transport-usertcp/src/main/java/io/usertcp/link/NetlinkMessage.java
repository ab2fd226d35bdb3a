package io.usertcp.link;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/**
 * rtnetlink messages (linux/netlink.h, linux/rtnetlink.h, linux/if_link.h, linux/if_addr.h): emit a request, and
 * parse the kernel's answers, in a {@link ByteBuffer} in host byte order.
 *
 * <p>Emitting: {@link #begin} writes a 16-byte {@code nlmsghdr}, then {@link #ifinfomsg} (16 bytes) or
 * {@link #ifaddrmsg} (8 bytes) and attributes ({@code rtattr}: 16-bit length counting its 4-byte header, 16-bit
 * type, the payload padded to 4 bytes); {@link #end} fills in {@code nlmsg_len}. Parsing: the static getters read
 * one message of a received datagram at an offset; {@link #next} steps to the following one.
 */
final class NetlinkMessage {
    /** {@code sizeof(struct nlmsghdr)}. */
    static final int NLMSG_HDRLEN = 16;
    /** {@code sizeof(struct ifinfomsg)}. */
    static final int IFINFOMSG_LEN = 16;
    /** {@code sizeof(struct ifaddrmsg)}. */
    static final int IFADDRMSG_LEN = 8;
    /** {@code sizeof(struct rtattr)}. */
    static final int RTA_HDRLEN = 4;

    static final int NLMSG_ERROR = 2;
    static final int NLMSG_DONE = 3;
    static final int RTM_NEWLINK = 16;
    static final int RTM_GETLINK = 18;
    static final int RTM_SETLINK = 19;
    static final int RTM_NEWADDR = 20;

    static final int NLM_F_REQUEST = 0x1;
    static final int NLM_F_ACK = 0x4;
    static final int NLM_F_REPLACE = 0x100;
    static final int NLM_F_CREATE = 0x400;
    /** In an NLMSG_ERROR: the request was not copied back behind the error (NETLINK_CAP_ACK). */
    static final int NLM_F_CAPPED = 0x100;
    /** In an NLMSG_ERROR: extended-ack attributes follow (NETLINK_EXT_ACK). */
    static final int NLM_F_ACK_TLVS = 0x200;
    /** The extended-ack attribute holding the kernel's text about the error. */
    static final int NLMSGERR_ATTR_MSG = 1;

    static final int AF_UNSPEC = 0;
    static final int AF_INET = 2;
    static final int AF_INET6 = 10;

    static final int IFLA_IFNAME = 3;
    static final int IFLA_MTU = 4;
    static final int IFLA_TXQLEN = 13;
    static final int IFLA_NET_NS_FD = 28;
    static final int IFLA_LINKINFO = 18;
    /** In {@link #IFLA_LINKINFO}: the kind's own attributes (nested). */
    static final int IFLA_INFO_DATA = 2;
    /** In a tun device's {@link #IFLA_INFO_DATA}: the queues attached (multi-queue devices only). */
    static final int IFLA_TUN_NUM_QUEUES = 8;
    static final int IFF_UP = 0x1;

    static final int IFA_ADDRESS = 1;
    static final int IFA_LOCAL = 2;
    /** No duplicate address detection: the IPv6 address is usable at once. */
    static final int IFA_F_NODAD = 0x02;

    private final ByteBuffer buf;
    private int start;

    /** Emits into {@code buf} (its byte order is set to the host's) from its position on. */
    NetlinkMessage(ByteBuffer buf) {
        this.buf = buf.order(ByteOrder.nativeOrder());
    }

    /** Starts a message: its {@code nlmsghdr} with length 0 until {@link #end}; port id 0 (the kernel fills it). */
    NetlinkMessage begin(int type, int flags, int seq) {
        start = buf.position();
        buf.putInt(0).putShort((short) type).putShort((short) flags).putInt(seq).putInt(0);
        return this;
    }

    /** {@code struct ifinfomsg}: family, pad, device type (0), index, flags and the mask of flags to change. */
    NetlinkMessage ifinfomsg(int family, int index, int flags, int change) {
        buf.put((byte) family).put((byte) 0).putShort((short) 0).putInt(index).putInt(flags).putInt(change);
        return this;
    }

    /** {@code struct ifaddrmsg}: family, prefix length, flags (e.g. {@link #IFA_F_NODAD}), scope, index. */
    NetlinkMessage ifaddrmsg(int family, int prefixLength, int flags, int scope, int index) {
        buf.put((byte) family).put((byte) prefixLength).put((byte) flags).put((byte) scope).putInt(index);
        return this;
    }

    /** A 32-bit attribute (host order, as {@code u32} attributes are). */
    NetlinkMessage attrInt(int type, int value) {
        buf.putShort((short) (RTA_HDRLEN + 4)).putShort((short) type).putInt(value);
        return this;
    }

    /** An attribute holding {@code value} as is (addresses: network order), padded to 4 bytes. */
    NetlinkMessage attrBytes(int type, byte[] value) {
        buf.putShort((short) (RTA_HDRLEN + value.length)).putShort((short) type).put(value);
        pad();
        return this;
    }

    /** A NUL-terminated string attribute, padded to 4 bytes. */
    NetlinkMessage attrString(int type, String value) {
        byte[] b = value.getBytes(StandardCharsets.US_ASCII);
        buf.putShort((short) (RTA_HDRLEN + b.length + 1)).putShort((short) type).put(b).put((byte) 0);
        pad();
        return this;
    }

    /** Writes the message's length into its header; returns it. */
    int end() {
        int len = buf.position() - start;
        buf.putInt(start, len);
        return len;
    }

    private void pad() {
        while ((buf.position() & 3) != 0) {
            buf.put((byte) 0);
        }
    }

    /** {@code NLMSG_ALIGN}. */
    static int align(int len) {
        return (len + 3) & ~3;
    }

    // ---- parsing: one message at offset o of a datagram whose bytes end at buf.limit() ----

    /** Whether a whole message (header and the length it claims) lies at {@code o}. */
    static boolean ok(ByteBuffer b, int o) {
        if (o + NLMSG_HDRLEN > b.limit()) {
            return false;
        }
        int len = length(b, o);
        return len >= NLMSG_HDRLEN && len <= b.limit() - o;
    }

    /** The offset of the message after the one at {@code o}. */
    static int next(ByteBuffer b, int o) {
        return o + align(length(b, o));
    }

    static int length(ByteBuffer b, int o) {
        return b.getInt(o);
    }

    static int type(ByteBuffer b, int o) {
        return b.getShort(o + 4) & 0xffff;
    }

    static int flags(ByteBuffer b, int o) {
        return b.getShort(o + 6) & 0xffff;
    }

    static int seq(ByteBuffer b, int o) {
        return b.getInt(o + 8);
    }

    /**
     * The error of the {@link #NLMSG_ERROR} message at {@code o} as a positive errno, 0 for an acknowledgement, or
     * -1 if the message is too short to hold one.
     */
    static int errno(ByteBuffer b, int o) {
        if (length(b, o) < NLMSG_HDRLEN + 4) {
            return -1;
        }
        return -b.getInt(o + NLMSG_HDRLEN);
    }

    /** The interface index of the {@code RTM_NEWLINK} message at {@code o}, or -1 if it is too short. */
    static int ifIndex(ByteBuffer b, int o) {
        if (length(b, o) < NLMSG_HDRLEN + IFINFOMSG_LEN) {
            return -1;
        }
        return b.getInt(o + NLMSG_HDRLEN + 4);
    }

    /**
     * The number of queues attached to the tun/tap device described by the {@code RTM_NEWLINK} message at {@code o}
     * ({@code IFLA_LINKINFO} > {@code IFLA_INFO_DATA} > {@code IFLA_TUN_NUM_QUEUES}, {@code numqueues} in
     * {@code ip -d link}; the kernel sends it for multi-queue devices only), or -1 if the message has none.
     */
    static int tunQueues(ByteBuffer b, int o) {
        int end = o + length(b, o);
        int info = attribute(b, o + NLMSG_HDRLEN + IFINFOMSG_LEN, end, IFLA_LINKINFO);
        if (info < 0) {
            return -1;
        }
        int data = attribute(b, info + RTA_HDRLEN, info + (b.getShort(info) & 0xffff), IFLA_INFO_DATA);
        if (data < 0) {
            return -1;
        }
        int q = attribute(b, data + RTA_HDRLEN, data + (b.getShort(data) & 0xffff), IFLA_TUN_NUM_QUEUES);
        return q < 0 || (b.getShort(q) & 0xffff) < RTA_HDRLEN + 4 ? -1 : b.getInt(q + RTA_HDRLEN);
    }

    /** The offset of the first whole attribute of {@code type} in {@code [a, end)}, or -1. */
    private static int attribute(ByteBuffer b, int a, int end, int type) {
        end = Math.min(end, b.limit());
        while (a + RTA_HDRLEN <= end) {
            int alen = b.getShort(a) & 0xffff;
            if (alen < RTA_HDRLEN || a + alen > end) {
                return -1;
            }
            if ((b.getShort(a + 2) & 0x3fff) == type) { // without NLA_F_NESTED and NLA_F_NET_BYTEORDER
                return a;
            }
            a += align(alen);
        }
        return -1;
    }

    /**
     * The kernel's text about the error in the {@link #NLMSG_ERROR} message at {@code o} (extended ack), or
     * {@code null} if it has none.
     */
    static String extAckMessage(ByteBuffer b, int o) {
        int len = length(b, o);
        int flags = flags(b, o);
        int request = o + NLMSG_HDRLEN + 4; // the nlmsghdr of the request, after the error number
        if ((flags & NLM_F_ACK_TLVS) == 0 || request + NLMSG_HDRLEN > o + len) {
            return null;
        }
        int a = (flags & NLM_F_CAPPED) != 0 ? request + NLMSG_HDRLEN : request + align(length(b, request));
        int end = o + len;
        while (a + RTA_HDRLEN <= end) {
            int alen = b.getShort(a) & 0xffff;
            int atype = b.getShort(a + 2) & 0x3fff; // without NLA_F_NESTED and NLA_F_NET_BYTEORDER
            if (alen < RTA_HDRLEN || a + alen > end) {
                return null;
            }
            if (atype == NLMSGERR_ATTR_MSG) {
                int n = 0;
                while (n < alen - RTA_HDRLEN && b.get(a + RTA_HDRLEN + n) != 0) {
                    n++;
                }
                byte[] text = new byte[n];
                b.get(a + RTA_HDRLEN, text);
                return new String(text, StandardCharsets.UTF_8);
            }
            a += align(alen);
        }
        return null;
    }
}
