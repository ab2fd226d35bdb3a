package io.usertcp.script;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.usertcp.link.MemoryLink;
import io.usertcp.sim.VirtualClock;
import io.usertcp.stack.Stack;
import io.usertcp.stack.StackConfig;
import io.usertcp.stats.StackStats;
import io.usertcp.tcp.TcpConnection;
import io.usertcp.tcp.TcpListener;
import io.usertcp.tcp.TcpState;
import io.usertcp.wire.Arp;
import io.usertcp.wire.Checksum;
import io.usertcp.wire.Ethernet;
import io.usertcp.wire.Ipv4;
import io.usertcp.wire.MacAddress;
import io.usertcp.wire.Tcp;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * A scripted TCP peer in the spirit of packetdrill: one real {@link Stack} (198.18.0.2/24) on one end of a
 * {@link MemoryLink}, the script on the other end, everything in virtual time.
 *
 * <p>Each script line happens at its time: the clock moves there, running the stack's timers on the way.
 * A {@code <} line builds the segment and hands it to the stack; a {@code >} line waits (up to the
 * tolerance past its time) for the next segment the stack sends and compares it field by field; a call line
 * drives the stack's socket API. Any segment the stack sends that no {@code >} line consumed fails the
 * script at the next line (or at the end). ARP is answered automatically (every address of the /24 other
 * than the stack's is at {@link #PEER_MAC}) and never appears in expectations.
 *
 * <p>Sequence numbers are relative, as in packetdrill: the peer's to {@code peer_isn} (a setting), the
 * stack's to its ISN, learned from each SYN or SYN-ACK it sends. Data the peer sends carries a pattern
 * keyed by sequence number, and so does data written by {@code write(n)}: {@code read(n)} and every
 * data segment the stack sends are checked byte for byte.
 *
 * <p>Every frame from the stack is also checked for what any segment must satisfy: a valid IPv4 header
 * checksum, a valid TCP checksum (RFC 9293 MUST-2), zero reserved bits, the right addresses.
 *
 * <p>Socket calls: {@code listen(port[, backlog])}, {@code close_listener()},
 * {@code connect(ip:port[, rcvbuf=N][, sndbuf=N][, local_port=N][, local_ip=A])}, {@code write(n)},
 * {@code read(n)} (at least n bytes are readable; reads n and checks them), {@code expect_readable(n)}
 * (exactly n), {@code expect_eof()}, {@code shutdown_write()}, {@code close()}, {@code abort()},
 * {@code expect_state(STATE)}, {@code expect_closed([error substring])}, {@code nodelay(bool)},
 * {@code congestion_control(name)}, {@code keepalive(idle, interval, count)} (seconds),
 * {@code user_timeout(seconds)}, {@code expect_stat(counter=value)}, {@code expect_connections(n)},
 * {@code expect_isn_increased()}, {@code expect_isn_step(n[, slack])}, {@code hold_input()} and
 * {@code release_input()} (segments injected in between reach the stack as one batch),
 * {@code icmp_error(type, code[, seq])} (about the current connection, quoting {@code seq}, relative to the
 * stack's ISN; by default SND.UNA as far as the script knows it). {@code call(...) = error [substring]} expects
 * the call to throw.
 *
 * <p>Settings ({@code %} lines): {@code rcvbuf}, {@code sndbuf}, {@code min_rto}, {@code time_wait} (seconds),
 * {@code mtu}, {@code peer_isn}, {@code peer_port}, {@code max_half_open}, {@code max_syn_backlog}, {@code max_orphans}, {@code max_time_wait},
 * {@code syncookies} (0 or 1).
 */
public final class ScriptedPeer {
    /** 198.18.0.1: the scripted peer. */
    static final int PEER_IP = 0xC6120001;
    /** 198.18.0.2: the stack under test. */
    static final int STACK_IP = 0xC6120002;
    /** The MAC the harness answers ARP with, for every address of the /24 but the stack's. */
    static final long PEER_MAC = 0x02_00_5e_00_00_01L;
    static final int DEFAULT_STACK_PORT = 8080;

    private final Script script;
    private final VirtualClock clock = new VirtualClock();
    private final MemoryLink stackEnd;
    private final MemoryLink peerEnd;
    private final Stack stack;
    private final ByteBufAllocator alloc = PooledByteBufAllocator.DEFAULT;
    private final ArrayDeque<WireSegment> pending = new ArrayDeque<>();
    private final List<String> trace = new ArrayList<>();
    private final List<TcpListener> listeners = new ArrayList<>();
    private final List<TcpConnection> adopted = new ArrayList<>();
    private final long t0;
    private final int peerIsn;
    private int stackIsn;
    private int stackPort = DEFAULT_STACK_PORT;
    private int peerPort;
    private TcpConnection conn;
    private int connEvents; // events told to the adopted connection's owner since last checked
    private long writeOffset;
    private long readOffset;
    private Long connPeerSynRel;     // relative seq of the current connection's peer SYN
    private long lastInboundSynRel;
    private boolean isnKnown;
    private int maxSeqSent;          // highest sequence number the stack sent with its current ISN
    private int peerAcked;           // SND.UNA as far as the script knows: the highest ACK it sent for that ISN
    private Integer previousMaxSeq;  // ... and with the ISN before (for expect_isn_increased)
    private Integer previousIsn;     // the stack's ISN before the latest one
    private Integer stackTsBase;     // the first TSval of the stack's current connection
    private int ipId;
    private boolean holding;         // hold_input(): injected segments wait to be read as one batch
    private Script.Event current;

    private ScriptedPeer(Script script) {
        this.script = script;
        Map<String, String> s = script.settings;
        int mtu = Integer.parseInt(s.getOrDefault("mtu", "1500"));
        MemoryLink[] pair = MemoryLink.pair(mtu, clock);
        stackEnd = pair[0];
        peerEnd = pair[1];
        StackConfig.Builder b = StackConfig.builder().link(stackEnd.factory()).address("198.18.0.2/24")
                .minRto(Duration.ofNanos(Script.seconds(s.getOrDefault("min_rto", "0.2"))))
                .timeWait(Duration.ofNanos(Script.seconds(s.getOrDefault("time_wait", "60"))));
        if (s.containsKey("rcvbuf")) {
            b.defaultReceiveBuffer(Integer.parseInt(s.get("rcvbuf")));
        }
        if (s.containsKey("sndbuf")) {
            b.defaultSendBuffer(Integer.parseInt(s.get("sndbuf")));
        }
        if (s.containsKey("max_half_open")) {
            b.maxHalfOpen(Integer.parseInt(s.get("max_half_open")));
        }
        if (s.containsKey("max_syn_backlog")) {
            b.maxSynBacklog(Integer.parseInt(s.get("max_syn_backlog")));
        }
        if (s.containsKey("max_orphans")) {
            b.maxOrphans(Integer.parseInt(s.get("max_orphans")));
        }
        if (s.containsKey("max_time_wait")) {
            b.maxTimeWait(Integer.parseInt(s.get("max_time_wait")));
        }
        if (s.containsKey("syncookies")) {
            b.synCookies(Integer.parseInt(s.get("syncookies")) != 0);
        }
        for (String k : s.keySet()) {
            if (!List.of("mtu", "min_rto", "time_wait", "rcvbuf", "sndbuf", "max_half_open", "max_syn_backlog",
                    "syncookies", "max_orphans", "max_time_wait", "peer_isn", "peer_port").contains(k)) {
                throw new IllegalArgumentException(script.name + ": unknown setting '" + k + "'");
            }
        }
        stack = new Stack(b.build(), stackEnd, clock, alloc);
        peerIsn = (int) SegmentText.num(s.getOrDefault("peer_isn", "0x5eed0000"));
        peerPort = Integer.parseInt(s.getOrDefault("peer_port", "40000"));
        t0 = clock.nanoTime();
    }

    /** Runs the script {@code io/usertcp/script/NAME} from the test resources; throws AssertionError on failure. */
    public static void runResource(String name) {
        run(Script.resource(name));
    }

    /** Runs script text. */
    public static void runText(String name, String text) {
        run(Script.parse(name, text));
    }

    static void run(Script script) {
        ScriptedPeer p = new ScriptedPeer(script);
        try {
            p.execute();
        } finally {
            p.cleanup();
        }
    }

    // ------------------------------------------------------------------ the run

    private void execute() {
        for (Script.Event e : script.events) {
            current = e;
            long at = t0 + e.time;
            if (holding && at != clock.nanoTime()) {
                throw failure("time cannot pass while input is held (use +0 until release_input())", null);
            }
            if (e instanceof Script.SegmentEvent && !((Script.SegmentEvent) e).inbound) {
                if (holding) {
                    throw failure("release_input() before expecting a segment", null);
                }
                expectOutbound((Script.SegmentEvent) e, at);
                continue;
            }
            if (!holding) {
                runUntil(at, true);
                failIfPending("before this line");
            }
            if (e instanceof Script.SegmentEvent) {
                inject(((Script.SegmentEvent) e).spec);
            } else {
                trace.add(String.format("%9s   %s", Script.secondsText(clock.nanoTime() - t0),
                        e.text.substring(e.text.indexOf(' ') + 1).trim()));
                call((Script.CallEvent) e);
            }
            if (!holding) {
                runUntil(clock.nanoTime(), false);
            }
        }
        if (holding) {
            throw failure("input is still held at the end (release_input() missing)", null);
        }
        current = null;
        runUntil(clock.nanoTime() + script.finalTolerance, true);
        failIfPending("after the last line");
    }

    private void failIfPending(String where) {
        if (!pending.isEmpty()) {
            WireSegment s = pending.peek();
            throw failure("unexpected segment from the stack " + where + ":\n  actual:   " + formatOut(s) + "   (at "
                    + Script.secondsText(s.time - t0) + ")", null);
        }
    }

    private void expectOutbound(Script.SegmentEvent e, long at) {
        long lo = at - e.tolerance;
        long hi = at + e.tolerance;
        runUntil(hi, true);
        String expected = "  expected: " + e.spec.format(true, stackPort + ">" + peerPort) + "   (at "
                + Script.secondsText(at - t0) + (e.tolerance > 0 ? " ±" + Script.secondsText(e.tolerance) : "") + ")";
        if (pending.isEmpty()) {
            throw failure("the stack sent nothing by " + Script.secondsText(hi - t0) + "\n" + expected, null);
        }
        WireSegment s = pending.poll();
        String actual = "  actual:   " + formatOut(s) + "   (at " + Script.secondsText(s.time - t0) + ")";
        if (s.time - lo < 0) {
            throw failure("the segment came too early\n" + expected + "\n" + actual, null);
        }
        List<String> d = e.spec.differences(s, stackIsn, peerIsn, tsBase(), stackPort, peerPort);
        if (!d.isEmpty()) {
            throw failure("the segment differs\n" + expected + "\n" + actual + "\n  differs in: " + String.join(", ", d),
                    null);
        }
        checkPayload(s);
    }

    /** Outbound data must be what write() wrote at that sequence number. */
    private void checkPayload(WireSegment s) {
        if (s.payload.length == 0 || conn == null || s.srcPort != stackPort || s.dstPort != peerPort) {
            return;
        }
        long rel = (s.seq - stackIsn) & 0xffff_ffffL;
        for (int i = 0; i < s.payload.length; i++) {
            if (s.payload[i] != pattern(rel + i)) {
                throw failure("the segment's data differs from what was written at relative sequence number "
                        + (rel + i) + " (byte " + i + " of the segment)\n  actual:   " + formatOut(s), null);
            }
        }
    }

    /**
     * Runs the stack until {@code t} (and until nothing more happens at {@code t}); with {@code stopOnSegment}
     * returns as soon as a segment from the stack is pending.
     */
    private void runUntil(long t, boolean stopOnSegment) {
        for (int guard = 0; ; guard++) {
            if (guard > 10_000_000) {
                throw failure("the stack keeps working without time passing (livelock?)", null);
            }
            int w = turn();
            if (stopOnSegment && !pending.isEmpty()) {
                return;
            }
            if (w > 0) {
                continue;
            }
            long now = clock.nanoTime();
            if (now - t >= 0) {
                return;
            }
            long next = Math.min(stack.nextDeadline(), Math.min(stackEnd.nextArrival(), peerEnd.nextArrival()));
            if (next == Long.MAX_VALUE || next - t > 0) {
                next = t;
            }
            clock.advanceTo(next);
        }
    }

    private int turn() {
        try {
            int w = stack.pollLink(64);
            w += stack.runTimers();
            w += stack.dispatchEvents();
            stack.flush();
            w += acceptNew();
            w += drainPeerEnd();
            return w;
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    private int acceptNew() {
        int n = 0;
        for (TcpListener l : listeners) {
            TcpConnection c;
            while ((c = l.accept()) != null) {
                adopt(c, lastInboundSynRel);
                trace.add(String.format("%9s   (accepted %s)", Script.secondsText(clock.nanoTime() - t0), c));
                n++;
            }
        }
        return n;
    }

    private void adopt(TcpConnection c, Long peerSynRel) {
        c.handler(ev -> connEvents |= ev);
        conn = c;
        adopted.add(c);
        writeOffset = 0;
        readOffset = 0;
        connPeerSynRel = peerSynRel;
        stackPort = c.localAddress().getPort();
        peerPort = c.remoteAddress().getPort();
    }

    // ------------------------------------------------------------------ frames from the stack

    private int drainPeerEnd() throws IOException {
        int n = 0;
        ByteBuf f;
        while ((f = peerEnd.receive(alloc)) != null) {
            try {
                fromStack(f);
            } finally {
                f.release();
            }
            n++;
        }
        return n;
    }

    private void fromStack(ByteBuf f) throws IOException {
        long now = clock.nanoTime();
        int b = f.readerIndex();
        int len = f.readableBytes();
        if (len < Ethernet.HEADER_LENGTH) {
            pending.add(WireSegment.bad(now, "runt frame of " + len + " bytes"));
            return;
        }
        int type = Ethernet.type(f, b);
        int o = b + Ethernet.HEADER_LENGTH;
        if (type == Ethernet.TYPE_ARP) {
            int tpa = Arp.tpa(f, o);
            int host = tpa & 0xff;
            if (Arp.op(f, o) == Arp.OP_REQUEST && tpa != STACK_IP && (tpa & 0xffffff00) == (STACK_IP & 0xffffff00)
                    && host != 0 && host != 255) {
                ByteBuf r = alloc.buffer(Ethernet.HEADER_LENGTH + Arp.LENGTH);
                r.writeZero(Ethernet.HEADER_LENGTH + Arp.LENGTH);
                Ethernet.write(r, 0, Arp.sha(f, o), PEER_MAC, Ethernet.TYPE_ARP);
                Arp.write(r, Ethernet.HEADER_LENGTH, Arp.OP_REPLY, PEER_MAC, tpa, Arp.sha(f, o), Arp.spa(f, o));
                peerEnd.transmit(r);
                r.release();
            }
            return;
        }
        if (type != Ethernet.TYPE_IPV4) {
            pending.add(WireSegment.bad(now, "frame of EtherType 0x" + Integer.toHexString(type)));
            return;
        }
        String wrongMac = Ethernet.dst(f, b) == PEER_MAC ? null
                : "to MAC " + MacAddress.of(Ethernet.dst(f, b)) + ", not the peer's";
        int hl = Ipv4.headerLength(f, o);
        int total = Ipv4.totalLength(f, o);
        if (Ipv4.version(f, o) != 4 || hl < 20 || total > len - Ethernet.HEADER_LENGTH || total < hl + 20) {
            pending.add(WireSegment.bad(now, "malformed IPv4 header"));
            return;
        }
        if (Checksum.fold(Checksum.add(f, o, hl, 0)) != 0xffff) {
            pending.add(WireSegment.bad(now, "bad IPv4 header checksum"));
            return;
        }
        int src = Ipv4.src(f, o);
        int dst = Ipv4.dst(f, o);
        if (Ipv4.protocol(f, o) != Ipv4.PROTO_TCP) {
            pending.add(WireSegment.bad(now, "IPv4 protocol " + Ipv4.protocol(f, o) + " " + Ipv4.toString(src)
                    + " > " + Ipv4.toString(dst)));
            return;
        }
        if (src != STACK_IP) {
            pending.add(WireSegment.bad(now, "TCP from " + Ipv4.toString(src)));
            return;
        }
        int t = o + hl;
        int tcpLen = total - hl;
        if (Checksum.fold(Checksum.add(f, t, tcpLen, Checksum.ipv4Pseudo(src, dst, Ipv4.PROTO_TCP, tcpLen))) != 0xffff) {
            pending.add(WireSegment.bad(now, "bad TCP checksum (RFC 9293 MUST-2)"));
            return;
        }
        int th = Tcp.headerLength(f, t);
        if (th < 20 || th > tcpLen) {
            pending.add(WireSegment.bad(now, "bad TCP data offset " + th));
            return;
        }
        byte[] opts = new byte[th - 20];
        f.getBytes(t + 20, opts);
        byte[] payload = new byte[tcpLen - th];
        f.getBytes(t + th, payload);
        WireSegment s = new WireSegment(now, src, dst, Tcp.srcPort(f, t), Tcp.dstPort(f, t), Tcp.seq(f, t),
                Tcp.ack(f, t), Tcp.flags(f, t), f.getUnsignedByte(t + 12) & 0x0f, Tcp.window(f, t),
                f.getUnsignedShort(t + 18), opts, payload);
        if (s.has(Tcp.SYN)) {
            if (isnKnown && s.seq != stackIsn) {
                previousMaxSeq = maxSeqSent;
                previousIsn = stackIsn;
            }
            if (!isnKnown || s.seq != stackIsn) {
                stackTsBase = tsVal(opts); // a new connection: a new random TSval offset (RFC 7323 §5.4)
            }
            if (!isnKnown || s.seq != stackIsn) {
                maxSeqSent = s.seq;
                peerAcked = s.seq;
            }
            stackIsn = s.seq;
            isnKnown = true;
        }
        if (stackTsBase == null) {
            stackTsBase = tsVal(opts);
        }
        int end = s.seq + payload.length + (s.has(Tcp.SYN) ? 1 : 0) + (s.has(Tcp.FIN) ? 1 : 0);
        if (isnKnown && end - maxSeqSent > 0) {
            maxSeqSent = end;
        }
        if (wrongMac != null) {
            WireSegment bad = WireSegment.bad(now, wrongMac + ": " + formatOut(s).substring(2) + " to "
                    + Ipv4.toString(dst));
            pending.add(bad);
            trace.add(String.format("%9s   %s", Script.secondsText(now - t0), formatOut(bad)));
            return;
        }
        pending.add(s);
        trace.add(String.format("%9s   %s", Script.secondsText(now - t0), formatOut(s)));
    }

    private String formatOut(WireSegment s) {
        return SegmentText.format(s, true, stackIsn, peerIsn, tsBase(), 0, stackPort + ">" + peerPort);
    }

    private int tsBase() {
        return stackTsBase == null ? 0 : stackTsBase;
    }

    /** The TSval of a timestamp option among {@code opts}, or null. */
    private static Integer tsVal(byte[] opts) {
        int i = 0;
        while (i < opts.length) {
            int kind = opts[i] & 0xff;
            if (kind == Tcp.OPT_EOL) {
                return null;
            }
            if (kind == Tcp.OPT_NOP) {
                i++;
                continue;
            }
            if (i + 1 >= opts.length || (opts[i + 1] & 0xff) < 2) {
                return null;
            }
            if (kind == Tcp.OPT_TIMESTAMP && (opts[i + 1] & 0xff) == 10 && i + 10 <= opts.length) {
                return ((opts[i + 2] & 0xff) << 24) | ((opts[i + 3] & 0xff) << 16) | ((opts[i + 4] & 0xff) << 8)
                        | (opts[i + 5] & 0xff);
            }
            i += opts[i + 1] & 0xff;
        }
        return null;
    }

    // ------------------------------------------------------------------ segments to the stack

    private void inject(SegmentSpec s) {
        int src = s.srcIp != null ? s.srcIp : PEER_IP;
        int dst = s.dstIp != null ? s.dstIp : STACK_IP;
        int sport = s.srcPort >= 0 ? s.srcPort : peerPort;
        int dport = s.dstPort >= 0 ? s.dstPort : stackPort;
        long start = s.start;
        int seq = peerIsn + (int) start;
        int ack = s.ackGiven ? stackIsn + (int) (long) s.ack : 0;
        byte[] opts = SegmentText.encodeOptions(s.options, stackIsn, 0, tsBase());
        boolean syn = (s.flags & Tcp.SYN) != 0;
        byte[] payload = new byte[(int) (long) s.len];
        for (int i = 0; i < payload.length; i++) {
            payload[i] = pattern(start + (syn ? 1 : 0) + i);
        }
        int th = 20 + opts.length;
        int tcpLen = th + payload.length;
        int ihl = Ipv4.MIN_HEADER_LENGTH + s.ipOptions.length;
        int frameLen = Ethernet.HEADER_LENGTH + ihl + tcpLen;
        ByteBuf f = alloc.buffer(frameLen);
        try {
            f.writeZero(frameLen);
            int o = Ethernet.HEADER_LENGTH;
            int t = o + ihl;
            Ethernet.write(f, 0, stackEnd.macAddress().toLong(), PEER_MAC, Ethernet.TYPE_IPV4);
            writeIpv4(f, o, s.ipOptions, ihl + tcpLen, Ipv4.PROTO_TCP, src, dst);
            Tcp.writeHeader(f, t, sport, dport, seq, ack, th, s.flags, s.winGiven ? s.win : 65535);
            f.setShort(t + 18, s.urgent);
            f.setBytes(t + 20, opts);
            f.setBytes(t + th, payload);
            int csum = Checksum.finish(Checksum.add(f, t, tcpLen, Checksum.ipv4Pseudo(src, dst, Ipv4.PROTO_TCP, tcpLen)));
            if (s.badChecksum) {
                csum ^= 0x0101;
            }
            f.setShort(t + 16, csum);
            WireSegment w = new WireSegment(clock.nanoTime(), src, dst, sport, dport, seq, ack, s.flags, 0,
                    s.winGiven ? s.win : 65535, s.urgent, opts, payload);
            trace.add(String.format("%9s   %s%s%s", Script.secondsText(clock.nanoTime() - t0),
                    SegmentText.format(w, false, peerIsn, stackIsn, 0, tsBase(), peerPort + ">" + stackPort),
                    s.badChecksum ? " bad_csum" : "",
                    s.ipOptions.length > 0 ? " ip_options " + SegmentText.hex(s.ipOptions, 0, s.ipOptions.length) : ""));
            if (!peerEnd.transmit(f)) {
                throw failure("the cable refused the frame (longer than the MTU?)", null);
            }
        } finally {
            f.release();
        }
        if (isnKnown && (s.flags & Tcp.ACK) != 0 && ack - peerAcked > 0 && ack - maxSeqSent <= 0) {
            peerAcked = ack;
        }
        if (syn) {
            lastInboundSynRel = start;
            if (conn != null && conn.state() == TcpState.SYN_SENT) {
                connPeerSynRel = start;
            }
        }
    }

    /** An IPv4 header with {@code options} (whole words) and its checksum. */
    private void writeIpv4(ByteBuf f, int o, byte[] options, int totalLength, int protocol, int src, int dst) {
        int ihl = Ipv4.MIN_HEADER_LENGTH + options.length;
        Ipv4.write(f, o, totalLength, ipId++ & 0xffff, 64, protocol, src, dst, true);
        if (options.length > 0) {
            f.setByte(o, 0x40 | (ihl >>> 2));
            f.setBytes(o + Ipv4.MIN_HEADER_LENGTH, options);
            f.setShort(o + 10, 0);
            f.setShort(o + 10, Checksum.compute(f, o, ihl));
        }
    }

    /**
     * An ICMP error from the peer about the current connection (RFC 792 layout: the stack's IP header and the
     * first 8 bytes of a segment it sent). The quoted sequence number is {@code seq} (relative to the stack's
     * ISN), by default SND.UNA as far as the script knows it (the highest ACK it sent): the oldest byte in
     * flight, if any is (RFC 5927 §4.1 makes TCP ignore a quote outside SND.UNA..SND.NXT-1).
     */
    private void injectIcmpError(int type, int code, Long seq) {
        int quoteLength = Ipv4.MIN_HEADER_LENGTH + 8;
        int icmpLen = 8 + quoteLength;
        int frameLen = Ethernet.HEADER_LENGTH + Ipv4.MIN_HEADER_LENGTH + icmpLen;
        ByteBuf f = alloc.buffer(frameLen);
        try {
            f.writeZero(frameLen);
            int o = Ethernet.HEADER_LENGTH;
            int i = o + Ipv4.MIN_HEADER_LENGTH;
            Ethernet.write(f, 0, stackEnd.macAddress().toLong(), PEER_MAC, Ethernet.TYPE_IPV4);
            writeIpv4(f, o, new byte[0], Ipv4.MIN_HEADER_LENGTH + icmpLen, Ipv4.PROTO_ICMP, PEER_IP, STACK_IP);
            f.setByte(i, type);
            f.setByte(i + 1, code);
            Ipv4.write(f, i + 8, Ipv4.MIN_HEADER_LENGTH + 20, 0, 64, Ipv4.PROTO_TCP, STACK_IP, PEER_IP, true);
            f.setShort(i + 28, stackPort);
            f.setShort(i + 30, peerPort);
            int quotedSeq = seq != null ? stackIsn + (int) (long) seq : peerAcked;
            f.setInt(i + 32, quotedSeq);
            f.setShort(i + 2, Checksum.compute(f, i, icmpLen));
            trace.add(String.format("%9s   < ICMP type %d code %d about %d>%d seq %d", Script.secondsText(clock.nanoTime() - t0),
                    type, code, stackPort, peerPort, (quotedSeq - stackIsn) & 0xffff_ffffL));
            peerEnd.transmit(f);
        } finally {
            f.release();
        }
    }

    /** The byte at relative sequence number {@code rel} of either side's data. */
    static byte pattern(long rel) {
        return (byte) ((rel * 0x9E3779B97F4A7C15L) >>> 56);
    }

    // ------------------------------------------------------------------ socket calls

    private void call(Script.CallEvent e) {
        try {
            doCall(e);
        } catch (ScriptFailure f) {
            throw f;
        } catch (IOException | ReflectiveOperationException | RuntimeException ex) {
            if (e.expectedError == null) {
                throw failure(e.name + " threw " + ex, ex);
            }
            if (!String.valueOf(ex.getMessage()).toLowerCase(Locale.ROOT)
                    .contains(e.expectedError.toLowerCase(Locale.ROOT))) {
                throw failure(e.name + " threw " + ex + ", expected an error containing '" + e.expectedError + "'", ex);
            }
            trace.add(String.format("%9s   (failed as expected: %s)", Script.secondsText(clock.nanoTime() - t0), ex));
            return;
        }
        if (e.expectedError != null) {
            throw failure(e.name + " succeeded; it should have failed", null);
        }
    }

    private void doCall(Script.CallEvent e) throws IOException, ReflectiveOperationException {
        List<String> a = e.args;
        {
            switch (e.name) {
                case "listen": {
                    int port = Integer.parseInt(arg(a, 0));
                    int backlog = a.size() > 1 ? Integer.parseInt(a.get(1)) : 16;
                    listeners.add(stack.tcp().listen(null, port, backlog));
                    stackPort = port;
                    break;
                }
                case "close_listener":
                    for (TcpListener l : listeners) {
                        l.close();
                    }
                    listeners.clear();
                    break;
                case "connect": {
                    String[] hp = arg(a, 0).split(":");
                    int ip = Stack.toInt(StackConfig.parseLiteral(hp[0]));
                    int port = Integer.parseInt(hp[1]);
                    int rcv = 0;
                    int snd = 0;
                    int localIp = 0;
                    int localPort = 0;
                    for (String kv : a.subList(1, a.size())) {
                        String[] p = kv.split("=");
                        switch (p[0]) {
                            case "rcvbuf": rcv = Integer.parseInt(p[1]); break;
                            case "sndbuf": snd = Integer.parseInt(p[1]); break;
                            case "local_port": localPort = Integer.parseInt(p[1]); break;
                            case "local_ip": localIp = Stack.toInt(StackConfig.parseLiteral(p[1])); break;
                            default: throw new IllegalArgumentException("unknown connect option " + kv);
                        }
                    }
                    TcpConnection c = stack.tcp().connect(localIp, localPort, ip, port, rcv, snd);
                    adopt(c, null);
                    break;
                }
                case "write": {
                    int n = Integer.parseInt(arg(a, 0));
                    ByteBuf b = Unpooled.buffer(n);
                    for (int i = 0; i < n; i++) {
                        b.writeByte(pattern(1 + writeOffset + i));
                    }
                    try {
                        int w = conn().write(b);
                        if (w != n) {
                            throw failure("write(" + n + ") took only " + w + " bytes", null);
                        }
                    } finally {
                        b.release();
                    }
                    writeOffset += n;
                    conn().push();
                    break;
                }
                case "read": {
                    int n = Integer.parseInt(arg(a, 0));
                    int r = conn().readableBytes();
                    if (r < n) {
                        throw failure("expected at least " + n + " readable bytes, found " + r, null);
                    }
                    ByteBuf b = Unpooled.buffer(n, n);
                    try {
                        if (conn().read(b) != n) {
                            throw failure("read returned " + b.readableBytes() + " bytes of " + n, null);
                        }
                        if (connPeerSynRel == null) {
                            throw failure("read before the peer's SYN", null);
                        }
                        for (int i = 0; i < n; i++) {
                            long rel = connPeerSynRel + 1 + readOffset + i;
                            if (b.getByte(i) != pattern(rel)) {
                                throw failure("byte " + (readOffset + i) + " of the stream (relative sequence number "
                                        + rel + ") is not what the peer sent there", null);
                            }
                        }
                    } finally {
                        b.release();
                    }
                    readOffset += n;
                    break;
                }
                case "expect_readable": {
                    int n = Integer.parseInt(arg(a, 0));
                    if (conn().readableBytes() != n) {
                        throw failure("expected " + n + " readable bytes, found " + conn().readableBytes(), null);
                    }
                    break;
                }
                case "expect_urgent_event": {
                    // Whether the owner was told of urgent data (TcpSocket.EV_URGENT) since the last check.
                    boolean want = Boolean.parseBoolean(arg(a, 0));
                    boolean have = (connEvents & io.usertcp.tcp.TcpSocket.EV_URGENT) != 0;
                    connEvents &= ~io.usertcp.tcp.TcpSocket.EV_URGENT;
                    if (have != want) {
                        throw failure("expected the urgent-data event " + (want ? "" : "not ") + "to have fired", null);
                    }
                    break;
                }
                case "expect_urgent": {
                    int n = Integer.parseInt(arg(a, 0));
                    if (conn().urgentBytes() != n) {
                        throw failure("expected " + n + " urgent bytes to read, found " + conn().urgentBytes(), null);
                    }
                    break;
                }
                case "expect_eof":
                    if (!conn().isInputEnded()) {
                        throw failure("expected the end of input (FIN received, all read)", null);
                    }
                    break;
                case "shutdown_write":
                    conn().shutdownOutput();
                    break;
                case "close":
                    conn().close();
                    break;
                case "abort":
                    conn().abort();
                    break;
                case "congestion_control":
                    conn().congestionControl(arg(a, 0));
                    break;
                case "nodelay":
                    conn().noDelay(Boolean.parseBoolean(arg(a, 0)));
                    break;
                case "keepalive":
                    conn().keepAlive(Script.seconds(arg(a, 0)), Script.seconds(arg(a, 1)), Integer.parseInt(arg(a, 2)));
                    break;
                case "user_timeout":
                    conn().userTimeout(Script.seconds(arg(a, 0)));
                    break;
                case "expect_state": {
                    String want = arg(a, 0).toUpperCase(Locale.ROOT).replace('-', '_');
                    String have = conn != null ? conn.state().name() : listeners.isEmpty() ? "CLOSED" : "LISTEN";
                    if (!have.equals(want)) {
                        throw failure("expected state " + want + ", the connection is " + have
                                + (conn != null && conn.error() != null ? " (" + conn.error() + ")" : ""), null);
                    }
                    break;
                }
                case "expect_closed": {
                    TcpConnection c = conn();
                    if (!c.isClosed()) {
                        throw failure("expected the connection closed, it is " + c.state(), null);
                    }
                    if (a.isEmpty() && c.error() != null) {
                        throw failure("expected a clean close, got error: " + c.error(), null);
                    }
                    if (!a.isEmpty() && (c.error() == null || !String.valueOf(c.error().getMessage())
                            .toLowerCase(Locale.ROOT).contains(a.get(0).toLowerCase(Locale.ROOT)))) {
                        throw failure("expected an error containing '" + a.get(0) + "', got: " + c.error(), null);
                    }
                    break;
                }
                case "expect_stat": {
                    String[] kv = arg(a, 0).split("=");
                    long want = Long.parseLong(kv[1].trim());
                    long have = StackStats.class.getField(kv[0].trim()).getLong(stack.stats());
                    if (have != want) {
                        throw failure("expected stats." + kv[0] + " = " + want + ", it is " + have + "; "
                                + stack.stats(), null);
                    }
                    break;
                }
                case "expect_connections": {
                    int want = Integer.parseInt(arg(a, 0));
                    if (stack.tcp().connectionCount() != want) {
                        throw failure("expected " + want + " connections in the demux table, found "
                                + stack.tcp().connectionCount(), null);
                    }
                    break;
                }
                case "expect_isn_increased":
                    if (previousMaxSeq == null) {
                        throw failure("no earlier incarnation to compare the ISN with", null);
                    }
                    if (stackIsn - previousMaxSeq <= 0) {
                        throw failure("the new ISN " + Integer.toUnsignedString(stackIsn)
                                + " is not above the highest sequence number of the previous incarnation "
                                + Integer.toUnsignedString(previousMaxSeq), null);
                    }
                    break;
                case "expect_isn_step": {
                    long want = SegmentText.num(arg(a, 0));
                    long slack = a.size() > 1 ? SegmentText.num(a.get(1)) : 0;
                    if (previousIsn == null) {
                        throw failure("only one ISN seen so far", null);
                    }
                    long step = (stackIsn - previousIsn) & 0xffff_ffffL;
                    if (Math.abs(step - want) > slack) {
                        throw failure("the ISN moved by " + step + ", expected " + want + " ± " + slack, null);
                    }
                    break;
                }
                case "hold_input":
                    holding = true;
                    break;
                case "release_input":
                    holding = false;
                    break;
                case "icmp_error":
                    injectIcmpError(Integer.parseInt(arg(a, 0)), Integer.parseInt(arg(a, 1)),
                            a.size() > 2 ? SegmentText.num(a.get(2)) : null);
                    break;
                default:
                    throw new IllegalArgumentException("unknown call " + e.name);
            }
        }
    }

    private TcpConnection conn() {
        if (conn == null) {
            throw failure("no connection yet (listen and complete a handshake, or connect)", null);
        }
        return conn;
    }

    private static String arg(List<String> a, int i) {
        if (i >= a.size()) {
            throw new IllegalArgumentException("missing argument " + (i + 1));
        }
        return a.get(i);
    }

    // ------------------------------------------------------------------ reporting

    /** Thrown for a mismatch; carries the line and the trace. */
    static final class ScriptFailure extends AssertionError {
        ScriptFailure(String message, Throwable cause) {
            super(message, cause);
        }
    }

    private ScriptFailure failure(String what, Throwable cause) {
        if (cause instanceof ScriptFailure) {
            return (ScriptFailure) cause;
        }
        StringBuilder sb = new StringBuilder();
        sb.append(script.name);
        if (current != null) {
            sb.append(" line ").append(current.line).append(": ").append(current.text);
        } else {
            sb.append(" (end of script)");
        }
        sb.append("\n  ").append(what).append("\ntrace (seconds from the start; < peer to stack, > stack to peer):\n");
        for (String t : trace) {
            sb.append("  ").append(t).append('\n');
        }
        sb.append("stats: ").append(stack.stats());
        return new ScriptFailure(sb.toString(), cause);
    }

    private void cleanup() {
        try {
            stack.close();
        } finally {
            peerEnd.close();
            for (TcpConnection c : adopted) {
                c.releaseBuffers();
            }
        }
    }
}
