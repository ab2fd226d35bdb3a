package io.usertcp.fuzz;

import java.io.IOException;

/**
 * The input format of the {@code tcp} target: TCP segments and application calls on the {@link Victim}'s flows,
 * with sequence and acknowledgment numbers relative to where each side is, so that the fuzzer spends its time
 * in the connection's state machine (acceptability, SACK and RACK, windows, urgent data, FIN and RST handling,
 * timers) rather than on finding the right numbers.
 *
 * <pre>
 *   input  = options:u8 op*
 *   op     = code:u8 flow:u8 body
 *   flow   : bit 0 IPv6; bits 1-2: 0 the connection the peer opened, 1 the one the victim opened, 2 the one in
 *            SYN-SENT, 3 a new flow to the listener from peer port 41000 + bits 3-7
 *   code & 15:
 *     0-7   segment: flags:u8 seq:i16 ack:i16 window:u16 urgent:u16 optlen:u8 options[optlen] datalen:u16 data
 *             seq is added to the peer's next sequence number, ack to the victim's (SND.NXT as the peer saw it);
 *             SACK block edges in the options are offsets from the victim's ISN; datalen with bit 15 set means
 *             (datalen & 0x7fff) bytes of a pattern instead of bytes from the input (at most 4000). code bit 4: seq and ack are i32 instead, and ack is an
 *             offset from the victim's ISN; bit 5: the peer's next sequence number stays; bit 6: timestamps
 *             appended; bit 7: a wrong checksum
 *     8     the victim's application writes len:u16 bytes and pushes
 *     9     the application calls close (code bits 4-5 = 0), shutdownOutput (1), abort (2) or shutdownInput (3)
 *     10    the application stops or resumes reading
 *     11    STEPS[code bits 4-7] of virtual time pass
 *     12    an ICMP (ICMPv6) error quoting the victim's segment on the flow: kind:u8 code:u8 word:i32 seq:i16
 *             (relative to the victim's next sequence number); kind picks destination unreachable,
 *             fragmentation needed / packet too big, time exceeded or parameter problem
 *     13-15 segment, as 0-7
 * </pre>
 */
final class TcpOps {
    static final int NEW_FLOW_PORT = 41000;

    private TcpOps() {
    }

    /** Runs one input against a fresh victim and checks it; throws on any finding. */
    static void run(byte[] data) {
        try (Victim v = replay(data)) {
            v.check();
        }
    }

    /** A fresh victim after the input (not checked, not closed). */
    static Victim replay(byte[] data) {
        FuzzInput in = new FuzzInput(data);
        Victim v = new Victim(in.u8());
        int ops = 0;
        while (in.hasMore() && ops++ < 256) {
            int code = in.u8();
            Victim.Flow f = flow(v, in.u8());
            switch (code & 15) {
                case 8:
                    write(f, in.u16());
                    break;
                case 9:
                    app(f, (code >>> 4) & 3);
                    break;
                case 10:
                    f.appReads = !f.appReads;
                    if (f.appReads && f.conn != null) {
                        v.serve(f.conn);
                    }
                    break;
                case 11:
                    v.advance(Victim.STEPS[code >>> 4]);
                    continue;
                case 12:
                    v.input(icmpError(f, in.u8(), in.u8(), in.i32(), (short) in.u16()), false);
                    break;
                default:
                    segment(v, f, code, in);
                    break;
            }
            v.pump();
        }
        return v;
    }

    static Victim.Flow flow(Victim v, int sel) {
        boolean v6 = (sel & 1) != 0;
        switch ((sel >>> 1) & 3) {
            case 0:
                return v.flow(v6, Victim.LISTEN_PORT, Victim.PASSIVE_PEER_PORT);
            case 1:
                return v.flow(v6, Victim.ACTIVE_LOCAL_PORT, Victim.ACTIVE_PEER_PORT);
            case 2:
                return v.flow(v6, Victim.SYN_SENT_LOCAL_PORT, Victim.SYN_SENT_PEER_PORT);
            default: {
                int port = NEW_FLOW_PORT + (sel >>> 3);
                Victim.Flow f = v.existing(v6, Victim.LISTEN_PORT, port);
                if (f == null) {
                    f = v.flow(v6, Victim.LISTEN_PORT, port);
                    f.peerNxt = 0x4000_0000 + (port << 8);
                }
                return f;
            }
        }
    }

    private static void segment(Victim v, Victim.Flow f, int code, FuzzInput in) {
        int flags = in.u8();
        boolean wide = (code & 0x10) != 0;
        int seq = f.peerNxt + (wide ? in.i32() : (short) in.u16());
        int ack = wide ? f.victimIss + in.i32() : f.victimNxt + (short) in.u16();
        int window = in.u16();
        int urgent = in.u16();
        byte[] options = in.bytes(Math.min(40, in.u8()));
        int datalen = in.u16();
        int len = Math.min(4000, datalen & 0x7fff);
        byte[] payload = (datalen & 0x8000) != 0 ? Frames.pattern(len, seq) : in.bytes(len);
        len = payload.length;
        if (f.issKnown) {
            sackRelative(options, f.victimIss);
        }
        if ((code & 0x40) != 0) {
            options = Frames.concat(options, Victim.timestamps(f));
            if (options.length > 40) {
                options = Frames.slice(options, options.length - 40, 40);
            }
        }
        byte[] frame = Victim.tcpFrame(f, seq, ack, flags, window, urgent, options, payload);
        if ((code & 0x80) != 0) {
            frame[frame.length - payload.length - 1] ^= 0x40; // the last option or header byte
        }
        if ((code & 0x20) == 0) {
            f.peerNxt = seq + len + ((flags & Frames.SYN) != 0 ? 1 : 0) + ((flags & Frames.FIN) != 0 ? 1 : 0);
        }
        v.input(frame, false);
    }

    /** Adds {@code iss} to the edges of every SACK block (RFC 2018 §3) in {@code o}. */
    static void sackRelative(byte[] o, int iss) {
        for (int i = 0; i + 1 < o.length; ) {
            int kind = o[i] & 0xff;
            if (kind == 0 || kind == 1) {
                i++;
                continue;
            }
            int len = o[i + 1] & 0xff;
            if (len < 2) {
                return;
            }
            if (kind == 5) {
                for (int k = i + 2; k + 4 <= Math.min(o.length, i + len); k += 4) {
                    Frames.put32(o, k, Frames.i32(o, k) + iss);
                }
            }
            i += len;
        }
    }

    private static void write(Victim.Flow f, int n) {
        if (f.conn == null || f.conn.isClosed()) {
            return;
        }
        try {
            if (f.conn.writableBytes() > 0) {
                f.conn.write(io.netty.buffer.Unpooled.wrappedBuffer(Frames.pattern(Math.min(n, 20_000), n)));
            }
        } catch (IOException e) {
            // the input reset or shut down the connection
        }
        f.conn.push();
    }

    private static void app(Victim.Flow f, int what) {
        if (f.conn == null) {
            return;
        }
        switch (what) {
            case 0:
                f.conn.close();
                break;
            case 1:
                f.conn.shutdownOutput();
                break;
            case 2:
                f.conn.abort();
                break;
            default:
                f.conn.shutdownInput();
                break;
        }
    }

    /** An ICMP error from the peer's address quoting the victim's segment on {@code f} (RFC 792, RFC 4443). */
    static byte[] icmpError(Victim.Flow f, int kind, int code, int word, int seqDelta) {
        int seq = f.victimNxt + seqDelta;
        byte[] tcp = new byte[20];
        Frames.put16(tcp, 0, f.victimPort);
        Frames.put16(tcp, 2, f.peerPort);
        Frames.put32(tcp, 4, seq);
        tcp[12] = 0x50;
        tcp[13] = Frames.ACK;
        if (!f.v6) {
            int[][] types = {{3, code & 15}, {3, 4}, {11, code & 1}, {12, 0}};
            int[] t = types[kind & 3];
            // RFC 792: the quoted datagram's IP header and its first 8 data bytes (RFC 1812: more may follow).
            byte[] quoted = Frames.ipv4(Victim.VICTIM_IP, Victim.PEER_IP, Frames.TCP, 0, 0x4000, 64, null,
                    (kind & 4) != 0 ? tcp : Frames.slice(tcp, 0, 8));
            Frames.put16(quoted, 2, 40 + (code >>> 4) * 100);
            int w = t[0] == 3 && t[1] == 4 ? word & 0xffff : word;
            return Victim.ipFrame(Victim.PEER4, Victim.VICTIM4, Frames.ICMP, Frames.icmpv4(t[0], t[1], w, quoted));
        }
        int[][] types = {{1, code & 7}, {2, 0}, {3, code & 1}, {4, code & 3}};
        int[] t = types[kind & 3];
        byte[] quoted = Frames.ipv6(Victim.VICTIM6, Victim.PEER6, Frames.TCP, 64, tcp);
        return Victim.ipFrame(Victim.PEER6, Victim.VICTIM6, Frames.ICMPV6,
                Frames.icmpv6(Victim.PEER6, Victim.VICTIM6, t[0], t[1], word, quoted));
    }
}
