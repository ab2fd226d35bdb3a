package io.usertcp.link;

import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.HexFormat;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The rtnetlink messages {@link NetlinkMessage} emits, byte for byte against the layout of the Linux uapi headers
 * (host byte order; these expectations are little-endian, as on x86-64 and arm64), and its parsing of the kernel's
 * answers, including truncated ones. Also {@link KernelSide#parseCidr}. Needs no privileges.
 */
class NetlinkMessageTest {

    private static ByteBuffer buffer() {
        return ByteBuffer.allocate(256);
    }

    private static String hex(ByteBuffer b, int len) {
        assumeTrue(ByteOrder.nativeOrder() == ByteOrder.LITTLE_ENDIAN, "expectations written for a little-endian host");
        byte[] out = new byte[len];
        b.get(0, out);
        return HexFormat.of().formatHex(out);
    }

    @Test
    void setLinkWithMtuAndQueueLength() {
        ByteBuffer b = buffer();
        int len = new NetlinkMessage(b).begin(NetlinkMessage.RTM_SETLINK,
                        NetlinkMessage.NLM_F_REQUEST | NetlinkMessage.NLM_F_ACK, 7)
                .ifinfomsg(NetlinkMessage.AF_UNSPEC, 42, 0, 0)
                .attrInt(NetlinkMessage.IFLA_MTU, 1400)
                .attrInt(NetlinkMessage.IFLA_TXQLEN, 4096)
                .end();
        assertThat(len).isEqualTo(16 + 16 + 8 + 8);
        assertThat(hex(b, len)).isEqualTo(
                "30000000" + "1300" + "0500" + "07000000" + "00000000"   // nlmsghdr: len 48, RTM_SETLINK, REQUEST|ACK
                + "00" + "00" + "0000" + "2a000000" + "00000000" + "00000000" // ifinfomsg: index 42
                + "0800" + "0400" + "78050000"                       // IFLA_MTU 1400
                + "0800" + "0d00" + "00100000");                     // IFLA_TXQLEN 4096
    }

    @Test
    void setLinkUpAndIntoNamespace() {
        ByteBuffer b = buffer();
        int len = new NetlinkMessage(b).begin(NetlinkMessage.RTM_SETLINK, 0x5, 1)
                .ifinfomsg(NetlinkMessage.AF_UNSPEC, 3, NetlinkMessage.IFF_UP, NetlinkMessage.IFF_UP)
                .attrInt(NetlinkMessage.IFLA_NET_NS_FD, 9)
                .end();
        assertThat(hex(b, len)).isEqualTo("28000000" + "1300" + "0500" + "01000000" + "00000000"
                + "00000000" + "03000000" + "01000000" + "01000000"
                + "0800" + "1c00" + "09000000");                      // IFLA_NET_NS_FD (28) 9
    }

    @Test
    void getLinkByNameIsNulTerminatedAndPadded() {
        ByteBuffer b = buffer();
        int len = new NetlinkMessage(b).begin(NetlinkMessage.RTM_GETLINK, 0x5, 2)
                .ifinfomsg(NetlinkMessage.AF_UNSPEC, 0, 0, 0)
                .attrString(NetlinkMessage.IFLA_IFNAME, "tap0")
                .end();
        // "tap0\0": rta_len 9 (header + 5), padded to 12.
        assertThat(len).isEqualTo(16 + 16 + 12);
        assertThat(hex(b, len).substring(64)).isEqualTo("0900" + "0300" + "7461703000" + "000000");
        assertThat(NetlinkMessage.align(len)).isEqualTo(len);
    }

    @Test
    void newAddressV4AndV6() {
        ByteBuffer b = buffer();
        NetlinkMessage m = new NetlinkMessage(b);
        int len4 = m.begin(NetlinkMessage.RTM_NEWADDR, 0x505, 3)
                .ifaddrmsg(NetlinkMessage.AF_INET, 24, 0, 0, 5)
                .attrBytes(NetlinkMessage.IFA_LOCAL, new byte[] {(byte) 198, 18, 0, 1})
                .attrBytes(NetlinkMessage.IFA_ADDRESS, new byte[] {(byte) 198, 18, 0, 1})
                .end();
        assertThat(hex(b, len4)).isEqualTo("28000000" + "1400" + "0505" + "03000000" + "00000000"
                + "02" + "18" + "00" + "00" + "05000000"                 // ifaddrmsg: AF_INET /24 index 5
                + "0800" + "0200" + "c6120001"                           // IFA_LOCAL, network order
                + "0800" + "0100" + "c6120001");                         // IFA_ADDRESS

        int start = b.position();
        byte[] v6 = KernelSide.parseCidr("fd00::1/64").bytes();
        int len6 = m.begin(NetlinkMessage.RTM_NEWADDR, 0x505, 4)
                .ifaddrmsg(NetlinkMessage.AF_INET6, 64, NetlinkMessage.IFA_F_NODAD, 0, 5)
                .attrBytes(NetlinkMessage.IFA_LOCAL, v6)
                .end();
        assertThat(len6).isEqualTo(16 + 8 + 20);
        assertThat(b.getInt(start)).as("the second message's own length").isEqualTo(len6);
        byte[] body = new byte[len6 - 16];
        b.get(start + 16, body);
        assertThat(HexFormat.of().formatHex(body)).isEqualTo("0a" + "40" + "02" + "00" + "05000000"
                + "1400" + "0200" + "fd000000000000000000000000000001");
    }

    @Test
    void parsesAckErrorAndExtendedAckText() {
        ByteBuffer b = ByteBuffer.allocate(256).order(ByteOrder.nativeOrder());
        // An acknowledgement (error 0) of seq 7, then an error -EEXIST (17) of seq 8, capped, with a message.
        int o = 0;
        b.putInt(o, 36).putShort(o + 4, (short) NetlinkMessage.NLMSG_ERROR).putShort(o + 6, (short) 0x100)
                .putInt(o + 8, 7).putInt(o + 16, 0);
        int o2 = NetlinkMessage.align(36);
        String text = "Address already assigned";
        int attrLen = 4 + text.length() + 1;
        int len2 = 16 + 4 + 16 + NetlinkMessage.align(attrLen);
        b.putInt(o2, len2).putShort(o2 + 4, (short) NetlinkMessage.NLMSG_ERROR)
                .putShort(o2 + 6, (short) (NetlinkMessage.NLM_F_CAPPED | NetlinkMessage.NLM_F_ACK_TLVS))
                .putInt(o2 + 8, 8).putInt(o2 + 16, -17).putInt(o2 + 20, 40);
        b.putShort(o2 + 36, (short) attrLen).putShort(o2 + 38, (short) NetlinkMessage.NLMSGERR_ATTR_MSG);
        b.put(o2 + 40, text.getBytes(java.nio.charset.StandardCharsets.US_ASCII));
        b.limit(o2 + len2);

        assertThat(NetlinkMessage.ok(b, o)).isTrue();
        assertThat(NetlinkMessage.type(b, o)).isEqualTo(NetlinkMessage.NLMSG_ERROR);
        assertThat(NetlinkMessage.seq(b, o)).isEqualTo(7);
        assertThat(NetlinkMessage.errno(b, o)).isZero();
        assertThat(NetlinkMessage.extAckMessage(b, o)).isNull();
        assertThat(NetlinkMessage.next(b, o)).isEqualTo(o2);
        assertThat(NetlinkMessage.ok(b, o2)).isTrue();
        assertThat(NetlinkMessage.seq(b, o2)).isEqualTo(8);
        assertThat(NetlinkMessage.errno(b, o2)).isEqualTo(17);
        assertThat(NetlinkMessage.extAckMessage(b, o2)).isEqualTo(text);
        assertThat(NetlinkMessage.ok(b, NetlinkMessage.next(b, o2))).as("end of the datagram").isFalse();
    }

    @Test
    void uncappedErrorSkipsTheCopiedRequest() {
        ByteBuffer b = ByteBuffer.allocate(256).order(ByteOrder.nativeOrder());
        int request = 16 + 8 + 8; // a copied request of 32 bytes
        int len = 16 + 4 + request + 12;
        b.putInt(0, len).putShort(4, (short) 2).putShort(6, (short) NetlinkMessage.NLM_F_ACK_TLVS).putInt(16, -22)
                .putInt(20, request);
        b.putShort(20 + request, (short) 7).putShort(20 + request + 2, (short) 1).put(20 + request + 4, (byte) 'b')
                .put(20 + request + 5, (byte) 'a').put(20 + request + 6, (byte) 'd');
        b.limit(len);
        assertThat(NetlinkMessage.errno(b, 0)).isEqualTo(22);
        assertThat(NetlinkMessage.extAckMessage(b, 0)).isEqualTo("bad");
    }

    @Test
    void truncatedMessagesAreNotOk() {
        ByteBuffer b = ByteBuffer.allocate(64).order(ByteOrder.nativeOrder());
        b.limit(12);
        assertThat(NetlinkMessage.ok(b, 0)).as("shorter than a header").isFalse();
        b.limit(64).putInt(0, 100);
        assertThat(NetlinkMessage.ok(b, 0)).as("claims more than was received").isFalse();
        b.putInt(0, 8);
        assertThat(NetlinkMessage.ok(b, 0)).as("claims less than a header").isFalse();
        b.putInt(0, 16).putShort(4, (short) 2);
        assertThat(NetlinkMessage.ok(b, 0)).isTrue();
        assertThat(NetlinkMessage.errno(b, 0)).as("an error without its number").isEqualTo(-1);
        assertThat(NetlinkMessage.ifIndex(b, 0)).isEqualTo(-1);
        // An attribute running past the message ends the extended-ack parse.
        b.putInt(0, 40).putShort(6, (short) (NetlinkMessage.NLM_F_CAPPED | NetlinkMessage.NLM_F_ACK_TLVS))
                .putShort(36, (short) 200).putShort(38, (short) 1);
        assertThat(NetlinkMessage.extAckMessage(b, 0)).isNull();
    }

    @Test
    void parsesKernelAddresses() {
        KernelSide.Address v4 = KernelSide.parseCidr("198.18.0.1/24");
        assertThat(v4.bytes()).containsExactly(198, 18, 0, 1);
        assertThat(v4.prefixLength()).isEqualTo(24);
        KernelSide.Address v6 = KernelSide.parseCidr("fd00:0:0:1::2/128");
        assertThat(v6.bytes()).hasSize(16);
        assertThat(v6.bytes()[15]).isEqualTo((byte) 2);
        assertThat(v6.prefixLength()).isEqualTo(128);
        assertThat(KernelSide.parseCidr("::ffff:198.18.0.1/96").bytes()).as("stays IPv6").hasSize(16);

        for (String bad : new String[] {"198.18.0.1/33", "fd00::1/129", "198.18.0.1/", "198.18.0.1/x",
                "localhost/8", "198.18.1/24", "/24", "198.18.0.256/24", "fd00::g/64"}) {
            assertThatThrownBy(() -> KernelSide.parseCidr(bad)).as(bad)
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining(bad);
        }
    }

    @Test
    void namespacePaths() {
        assertThat(KernelSide.namespacePath("1234").toString()).isEqualTo("/proc/1234/ns/net");
        assertThat(KernelSide.namespacePath("/proc/1/ns/net").toString()).isEqualTo("/proc/1/ns/net");
        assertThat(KernelSide.namespacePath("blue").toString()).endsWith("/run/netns/blue");
    }

    @Test
    void queuesOfAMultiQueueTunDeviceFromItsNewLink() {
        ByteBuffer b = ByteBuffer.allocate(256).order(ByteOrder.nativeOrder());
        // RTM_NEWLINK: header, ifinfomsg, IFLA_MTU, then IFLA_LINKINFO (nested) with IFLA_INFO_KIND "tun" and
        // IFLA_INFO_DATA (nested) with IFLA_TUN_TYPE, IFLA_TUN_MULTI_QUEUE, IFLA_TUN_NUM_QUEUES 3.
        int o = 0;
        b.position(NetlinkMessage.NLMSG_HDRLEN + NetlinkMessage.IFINFOMSG_LEN);
        b.putShort((short) 8).putShort((short) NetlinkMessage.IFLA_MTU).putInt(1500);
        int info = b.position();
        b.putShort((short) 0).putShort((short) (NetlinkMessage.IFLA_LINKINFO | 0x8000));
        b.putShort((short) 8).putShort((short) 1).put("tun".getBytes()).put((byte) 0);
        int data = b.position();
        b.putShort((short) 0).putShort((short) (NetlinkMessage.IFLA_INFO_DATA | 0x8000));
        b.putShort((short) 5).putShort((short) 3).put((byte) 2).put(new byte[3]); // IFLA_TUN_TYPE tap, padded
        b.putShort((short) 5).putShort((short) 7).put((byte) 1).put(new byte[3]); // IFLA_TUN_MULTI_QUEUE
        int queues = b.position();
        b.putShort((short) 8).putShort((short) NetlinkMessage.IFLA_TUN_NUM_QUEUES).putInt(3);
        int end = b.position();
        b.putShort(data, (short) (end - data)).putShort(info, (short) (end - info));
        b.putInt(0, end).putShort(4, (short) NetlinkMessage.RTM_NEWLINK);
        b.limit(end);
        assertThat(NetlinkMessage.tunQueues(b, o)).isEqualTo(3);
        // Without the count (a device of one queue): -1.
        b.putShort(queues + 2, (short) 9);
        assertThat(NetlinkMessage.tunQueues(b, o)).isEqualTo(-1);
        b.putShort(queues + 2, (short) NetlinkMessage.IFLA_TUN_NUM_QUEUES);
        // A nested length past the message: -1, nothing read beyond it.
        b.putShort(data, (short) (end - data + 8));
        assertThat(NetlinkMessage.tunQueues(b, o)).isEqualTo(-1);
        b.putShort(data, (short) (end - data));
        // A count attribute too short for its value: -1.
        b.putShort(queues, (short) 6);
        assertThat(NetlinkMessage.tunQueues(b, o)).isEqualTo(-1);
        // No IFLA_LINKINFO at all.
        b.putInt(0, info).limit(info);
        assertThat(NetlinkMessage.tunQueues(b, o)).isEqualTo(-1);
    }
}
