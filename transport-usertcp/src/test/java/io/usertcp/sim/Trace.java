package io.usertcp.sim;

import io.netty.buffer.ByteBuf;
import io.usertcp.wire.Ethernet;
import io.usertcp.wire.Ipv4;
import io.usertcp.wire.Ipv6;
import io.usertcp.wire.Tcp;

/** tcpdump-like one-line descriptions of frames, for test diagnostics. */
public final class Trace {
    private Trace() {
    }

    public static String describe(ByteBuf f) {
        int b = f.readerIndex();
        if (f.readableBytes() < 14) {
            return "runt";
        }
        int type = Ethernet.type(f, b);
        if (type == Ethernet.TYPE_ARP) {
            return "ARP";
        }
        int o = b + 14;
        int hl;
        int total;
        String ips;
        if (type == Ethernet.TYPE_IPV6 && f.readableBytes() >= 14 + Ipv6.HEADER_LENGTH) {
            hl = Ipv6.HEADER_LENGTH;
            total = hl + Ipv6.payloadLength(f, o);
            ips = Ipv6.toString(Ipv6.srcHi(f, o), Ipv6.srcLo(f, o)) + " > "
                    + Ipv6.toString(Ipv6.dstHi(f, o), Ipv6.dstLo(f, o));
            if (Ipv6.nextHeader(f, o) != Ipv6.TCP) {
                return ips + " next header " + Ipv6.nextHeader(f, o);
            }
        } else if (type == Ethernet.TYPE_IPV4) {
            hl = Ipv4.headerLength(f, o);
            total = Ipv4.totalLength(f, o);
            ips = Ipv4.toString(Ipv4.src(f, o)) + " > " + Ipv4.toString(Ipv4.dst(f, o));
            if (Ipv4.protocol(f, o) != Ipv4.PROTO_TCP) {
                return ips + " proto " + Ipv4.protocol(f, o);
            }
        } else {
            return "ethertype " + Integer.toHexString(type);
        }
        int t = o + hl;
        int th = Tcp.headerLength(f, t);
        int len = total - hl - th;
        int flags = Tcp.flags(f, t);
        return ips + " " + Tcp.srcPort(f, t) + ">" + Tcp.dstPort(f, t) + " [" + Tcp.flagsToString(flags) + "] seq "
                + Integer.toUnsignedString(Tcp.seq(f, t)) + ":" + Integer.toUnsignedString(Tcp.seq(f, t) + len)
                + ((flags & Tcp.ACK) != 0 ? " ack " + Integer.toUnsignedString(Tcp.ack(f, t)) : "")
                + " win " + Tcp.window(f, t) + " len " + len;
    }
}
