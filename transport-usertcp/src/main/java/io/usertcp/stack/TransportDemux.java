package io.usertcp.stack;

import io.netty.buffer.ByteBuf;
import io.usertcp.ip.TransportDispatcher;
import io.usertcp.tcp.TcpLayer;
import io.usertcp.udp.UdpLayer;
import io.usertcp.wire.IpAddress;

/** The network layer's way up: what it received, to the stack's TCP and UDP layers. */
final class TransportDemux implements TransportDispatcher {
    private final Stack stack;

    TransportDemux(Stack stack) {
        this.stack = stack;
    }

    @Override
    public void tcp(ByteBuf f, int o, int len, int src, int dst, boolean checksumTrusted) {
        stack.tcp().input(f, o, len, src, dst, checksumTrusted);
    }

    @Override
    public void tcp(ByteBuf f, int o, int len, long srcHi, long srcLo, long dstHi, long dstLo,
                    boolean checksumTrusted) {
        stack.tcp().input(f, o, len, srcHi, srcLo, dstHi, dstLo, checksumTrusted);
    }

    @Override
    public boolean udp(ByteBuf f, int o, int len, int src, int dst, boolean checksumTrusted, boolean broadcast) {
        GroupMember m = stack.groupMember();
        if (m != null && m.udpElsewhere(f, o, len, 0, IpAddress.mappedLo(src), 0, IpAddress.mappedLo(dst),
                checksumTrusted, broadcast)) {
            return true; // another stack of the group has the port bound
        }
        return stack.udp().input(f, o, len, src, dst, checksumTrusted, broadcast);
    }

    @Override
    public boolean udp(ByteBuf f, int o, int len, long srcHi, long srcLo, long dstHi, long dstLo,
                       boolean checksumTrusted) {
        GroupMember m = stack.groupMember();
        if (m != null && m.udpElsewhere(f, o, len, srcHi, srcLo, dstHi, dstLo, checksumTrusted, false)) {
            return true;
        }
        return stack.udp().input(f, o, len, srcHi, srcLo, dstHi, dstLo, checksumTrusted, false);
    }

    @Override
    public void tcpError(long localHi, long localLo, int localPort, long remoteHi, long remoteLo, int remotePort,
                         int seq, boolean hard, String description) {
        GroupMember m = stack.groupMember();
        if (m != null && m.tcpIcmpElsewhere(localHi, localLo, localPort, remoteHi, remoteLo, remotePort, seq, hard, -1,
                description)) {
            return; // about a connection of another stack of the group
        }
        TcpLayer tcp = stack.tcp();
        tcp.icmpError(localHi, localLo, localPort, remoteHi, remoteLo, remotePort, seq, hard, description);
    }

    @Override
    public void tcpPacketTooBig(long localHi, long localLo, int localPort, long remoteHi, long remoteLo,
                                int remotePort, int seq, int mtu) {
        GroupMember m = stack.groupMember();
        if (m != null && m.tcpIcmpElsewhere(localHi, localLo, localPort, remoteHi, remoteLo, remotePort, seq, false,
                mtu, null)) {
            return;
        }
        stack.tcp().icmpPacketTooBig(localHi, localLo, localPort, remoteHi, remoteLo, remotePort, seq, mtu);
    }

    @Override
    public void udpError(int code, long localHi, long localLo, int localPort, long remoteHi, long remoteLo,
                         int remotePort, IpAddress from) {
        GroupMember m = stack.groupMember();
        if (m != null && m.udpIcmpElsewhere(code, localHi, localLo, localPort, remoteHi, remoteLo, remotePort, from)) {
            return; // about a datagram of a socket of another stack of the group
        }
        UdpLayer udp = stack.udp();
        udp.icmpError(code, localHi, localLo, localPort, remoteHi, remoteLo, remotePort, from);
    }
}
