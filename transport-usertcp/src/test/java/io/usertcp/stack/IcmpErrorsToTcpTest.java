package io.usertcp.stack;

import io.usertcp.time.TimerQueue;

import io.usertcp.stats.StackStats;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.usertcp.link.FaultModel;
import io.usertcp.ip.PathMtuCache;
import io.usertcp.sim.Transfer;
import io.usertcp.sim.TwoStacks;
import io.usertcp.tcp.TcpConnection;
import io.usertcp.tcp.TcpListener;
import io.usertcp.tcp.TcpSocket;
import io.usertcp.tcp.TcpState;
import io.usertcp.wire.Ethernet;
import io.usertcp.wire.Icmpv4;
import io.usertcp.wire.Icmpv6;
import io.usertcp.wire.IpAddress;
import io.usertcp.wire.Ipv4;
import io.usertcp.wire.Ipv6;
import io.usertcp.wire.Tcp;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.ConnectException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import static io.usertcp.stack.Raw6Peer.PEER6;
import static io.usertcp.stack.Raw6Peer.PEER_IP;
import static io.usertcp.stack.Raw6Peer.PREFIX_HI;
import static io.usertcp.stack.Raw6Peer.STACK6;
import static io.usertcp.stack.Raw6Peer.STACK_IP;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * ICMP errors into TCP (RFC 9293 §3.9.2.2, RFC 5927, RFC 1191, RFC 8201), over IPv4 and IPv6: a stack connects to
 * a raw peer that plays the TCP receiver by hand and, as a router on the path would, sends ICMP messages quoting
 * segments the stack really sent.
 */
@ExtendWith(StackLeakCheck.class)
class IcmpErrorsToTcpTest {
    private static final long MS = 1_000_000L;
    private static final long SEC = 1000 * MS;
    private static final int PEER_PORT = 7000;
    private static final int PEER_ISN = 0x1000_0000;

    /** What differs between the families. */
    enum Family {
        V4(IpAddress.v4(STACK_IP), IpAddress.v4(PEER_IP), IpAddress.v4(0xC61200FE), 20, 1460,
                PathMtuCache.MIN_IPV4_MTU, Icmpv4.DEST_UNREACHABLE, 3, 1, "host unreachable"),
        V6(STACK6, PEER6, IpAddress.of(PREFIX_HI, 0xfe), 40, 1440,
                PathMtuCache.MIN_IPV6_MTU, Icmpv6.DEST_UNREACHABLE, Icmpv6.PORT_UNREACHABLE,
                Icmpv6.ADDRESS_UNREACHABLE, "address unreachable");

        final IpAddress stack;
        final IpAddress peer;
        final IpAddress router;
        final int ipHeader;
        final int fullMss;
        final int floor;
        final int unreachable;
        final int portUnreachable;
        final int hostUnreachable;
        final String hostUnreachableText;

        Family(IpAddress stack, IpAddress peer, IpAddress router, int ipHeader, int fullMss, int floor,
               int unreachable, int portUnreachable, int hostUnreachable, String hostUnreachableText) {
            this.stack = stack;
            this.peer = peer;
            this.router = router;
            this.ipHeader = ipHeader;
            this.fullMss = fullMss;
            this.floor = floor;
            this.unreachable = unreachable;
            this.portUnreachable = portUnreachable;
            this.hostUnreachable = hostUnreachable;
            this.hostUnreachableText = hostUnreachableText;
        }

        /** The MSS for a path MTU: less the IP header and 20 bytes of TCP header (RFC 9293 §3.7.1). */
        int mssFor(int mtu) {
            return mtu - ipHeader - Tcp.MIN_HEADER_LENGTH;
        }
    }

    /** A TCP segment the stack sent, as the IP packet that carried it. */
    record Seg(byte[] ip, int l4, int seq, int ack, int flags, byte[] data) {
        int end() {
            return seq + data.length;
        }
    }

    private final Raw6Peer peer = new Raw6Peer().learnPeer();
    private final StackStats stats = peer.stack.stats();
    private final List<Integer> events = new ArrayList<>();
    private Family fam;
    private TcpConnection c;
    private int rcvNxt;      // what the peer has received of the stack's stream, as a sequence number
    private int stackIsn;
    private long sent;       // bytes written into the connection so far

    @AfterEach
    void close() {
        if (c != null) {
            c.abort();
        }
        peer.close();
    }

    // ------------------------------------------------------------------ the raw TCP peer

    private static int u16(byte[] b, int i) {
        return (b[i] & 0xff) << 8 | (b[i + 1] & 0xff);
    }

    private static int s32(byte[] b, int i) {
        return u16(b, i) << 16 | u16(b, i + 2);
    }

    private static Seg parse(ByteBuf f) {
        byte[] ip = Raw6Peer.ipBytes(f);
        int proto;
        int l4;
        int total;
        if (Ethernet.type(f, 0) == Ethernet.TYPE_IPV4) {
            proto = ip[9] & 0xff;
            l4 = (ip[0] & 0xf) * 4;
            total = u16(ip, 2);
        } else if (Ethernet.type(f, 0) == Ethernet.TYPE_IPV6) {
            proto = ip[6] & 0xff;
            l4 = Ipv6.HEADER_LENGTH;
            total = Ipv6.HEADER_LENGTH + u16(ip, 4);
        } else {
            return null;
        }
        if (proto != Ipv4.PROTO_TCP) {
            return null;
        }
        int hdr = ((ip[l4 + 12] & 0xff) >>> 4) * 4;
        return new Seg(ip, l4, s32(ip, l4 + 4), s32(ip, l4 + 8), ip[l4 + 13] & 0xff,
                Raw6Peer.slice(ip, l4 + hdr, total - l4 - hdr));
    }

    /** The TCP segments the stack sent (neighbour and ARP requests answered on the way). */
    private List<Seg> segments() {
        List<Seg> out = new ArrayList<>();
        try (Raw6Peer.Frames frames = peer.drainAnswering()) {
            for (ByteBuf f : frames) {
                Seg s = parse(f);
                if (s != null) {
                    out.add(s);
                }
            }
        }
        return out;
    }

    private void peerSends(int flags, int seq, int ack, byte[] options) {
        int localPort = c.localAddress().getPort();
        peer.inputIp(Raw6Peer.ip(fam.peer, fam.stack, Ipv4.PROTO_TCP, Raw6Peer.tcp(fam.peer, fam.stack, PEER_PORT,
                localPort, seq, ack, flags, 65535, options, new byte[0])));
    }

    private void ack(int ackNo) {
        peerSends(Tcp.ACK, PEER_ISN + 1, ackNo, new byte[0]);
    }

    /** Opens a connection to the peer; returns the SYN. */
    private Seg connect(Family f) throws IOException {
        fam = f;
        c = peer.stack.tcp().connect(null, 0, f.peer, PEER_PORT, 0, 0);
        c.handler(events::add);
        List<Seg> syn = segments();
        assertThat(syn).hasSize(1);
        assertThat(syn.get(0).flags()).isEqualTo(Tcp.SYN);
        stackIsn = syn.get(0).seq();
        return syn.get(0);
    }

    /** Opens the connection and completes the handshake (the peer announces the MSS of a 1500-byte link, no other option). */
    private void establish(Family f) throws IOException {
        connect(f);
        synAck();
        assertThat(c.state()).isEqualTo(TcpState.ESTABLISHED);
        assertThat(c.mss()).isEqualTo(f.fullMss);
    }

    private void synAck() {
        int mss = fam.fullMss;
        peerSends(Tcp.SYN | Tcp.ACK, PEER_ISN, stackIsn + 1, new byte[] {2, 4, (byte) (mss >>> 8), (byte) mss});
        rcvNxt = stackIsn + 1;
        segments(); // the stack's ACK
    }

    /** Writes the pattern into the connection up to {@code total} bytes, as far as the send buffer takes. */
    private void pump(long total) throws IOException {
        while (sent < total && c.writableBytes() > 0) {
            int n = (int) Math.min(16384, Math.min(total - sent, c.writableBytes()));
            byte[] chunk = new byte[n];
            for (int i = 0; i < n; i++) {
                chunk[i] = pattern(sent + i);
            }
            ByteBuf b = Unpooled.wrappedBuffer(chunk);
            try {
                sent += c.write(b);
            } finally {
                b.release();
            }
        }
        c.push();
    }

    private static byte pattern(long i) {
        return (byte) ((i * 2654435761L) >>> 13 ^ (i >>> 9));
    }

    /** Writes {@code n} bytes and returns the flight the stack sent at once. */
    private List<Seg> writeAndCapture(int n) throws IOException {
        pump(n);
        List<Seg> flight = segments();
        assertThat(flight).isNotEmpty();
        return flight;
    }

    /**
     * Plays the receiver behind a router whose next link has {@code routerMtu}: a bigger packet is dropped and,
     * if {@code ptbMtu > 0}, answered with a packet-too-big reporting it; the rest is taken in order and
     * acknowledged. Starts with {@code arrived} (segments already captured), then runs until the whole stream of
     * {@code total} bytes is in (or 120 s of virtual time passed); returns it. Every segment seen goes to {@code log}.
     */
    private byte[] receive(long total, int routerMtu, int ptbMtu, List<Seg> arrived, List<Seg> log)
            throws IOException {
        ByteArrayOutputStream got = new ByteArrayOutputStream();
        rcvNxt = stackIsn + 1;
        long end = peer.clock.nanoTime() + 120 * SEC;
        List<Seg> segs = arrived;
        while (got.size() < total && peer.clock.nanoTime() - end < 0) {
            if (segs.isEmpty()) {
                long next = peer.stack.nextDeadline();
                if (next == TimerQueue.NONE) {
                    break;
                }
                peer.clock.advanceTo(next);
                peer.turn();
            }
            boolean data = false;
            for (Seg s : segs) {
                log.add(s);
                if (s.ip().length > routerMtu) {
                    if (ptbMtu > 0) {
                        packetTooBig(s, ptbMtu);
                    }
                    continue;
                }
                if (s.data().length > 0) {
                    data = true;
                    if (s.seq() == rcvNxt) {
                        got.write(s.data(), 0, s.data().length);
                        rcvNxt += s.data().length;
                    }
                }
            }
            if (data) {
                ack(rcvNxt);
            }
            pump(total);
            segs = segments();
        }
        return got.toByteArray();
    }

    private static void assertPattern(byte[] got, long total) {
        assertThat((long) got.length).as("bytes received").isEqualTo(total);
        for (int i = 0; i < got.length; i++) {
            if (got[i] != pattern(i)) {
                throw new AssertionError("byte " + i + " differs");
            }
        }
    }

    // ------------------------------------------------------------------ ICMP messages from the path

    /** The quote of {@code s}: its IP header and 8 bytes (RFC 792's minimum) or as much as a router sends. */
    private byte[] quote(Seg s, boolean minimal) {
        int n = minimal ? s.l4() + 8 : Math.min(s.ip().length, fam == Family.V4 ? 576 - 28 : 1280 - 48);
        return Raw6Peer.slice(s.ip(), 0, n);
    }

    /** The quote of {@code s} with its TCP sequence number replaced by {@code seq}. */
    private byte[] quoteWithSeq(Seg s, int seq) {
        byte[] q = quote(s, false);
        Raw6Peer.putInt(q, s.l4() + 4, seq);
        return q;
    }

    /** An ICMP error of the family from the router on the path to the stack. */
    private void icmp(int type, int code, int word, byte[] quote) {
        if (fam == Family.V4) {
            peer.inputIp(Raw6Peer.ipv4(fam.router.v4(), STACK_IP, Ipv4.PROTO_ICMP,
                    Raw6Peer.icmpv4(type, code, word, quote)));
        } else {
            peer.inputIp(Raw6Peer.ipv6(fam.router, STACK6, Ipv6.ICMPV6, 64,
                    Raw6Peer.icmpv6(fam.router, STACK6, type, code, word, quote)));
        }
    }

    private void portUnreachable(byte[] quote) {
        icmp(fam.unreachable, fam.portUnreachable, 0, quote);
    }

    private void hostUnreachable(byte[] quote) {
        icmp(fam.unreachable, fam.hostUnreachable, 0, quote);
    }

    /** ICMP fragmentation needed (type 3 code 4, next-hop MTU in bytes 6-7) or ICMPv6 packet too big. */
    private void packetTooBig(byte[] quote, int mtu) {
        if (fam == Family.V4) {
            icmp(Icmpv4.DEST_UNREACHABLE, Icmpv4.CODE_FRAG_NEEDED, mtu & 0xffff, quote);
        } else {
            icmp(Icmpv6.PACKET_TOO_BIG, 0, mtu, quote);
        }
    }

    private void packetTooBig(Seg s, int mtu) {
        packetTooBig(quote(s, false), mtu);
    }

    private int pathMtuToPeer() {
        return peer.stack.mtuTo(fam.peer);
    }

    // ------------------------------------------------------------------ (a) SYN-SENT

    @ParameterizedTest
    @EnumSource(Family.class)
    @DisplayName("RFC 9293 §3.7.1 (MUST-15): without an MSS option the send MSS is 536 over IPv4, 1220 over IPv6")
    void withoutAnMssOptionTheDefaultDependsOnTheFamily(Family f) throws Exception {
        connect(f);
        peerSends(Tcp.SYN | Tcp.ACK, PEER_ISN, stackIsn + 1, new byte[0]);
        segments(); // the stack's ACK
        assertThat(c.state()).isEqualTo(TcpState.ESTABLISHED);
        assertThat(c.mss()).isEqualTo(f == Family.V4 ? 536 : 1220);
        List<Seg> flight = writeAndCapture(4000);
        assertThat(flight).allSatisfy(s -> assertThat(s.data().length).isLessThanOrEqualTo(c.mss()));
        assertThat(flight.get(0).data().length).isEqualTo(c.mss());
    }

    @ParameterizedTest
    @EnumSource(Family.class)
    @DisplayName("RFC 9293 §3.9.2.2, RFC 1122 §4.2.3.9: port unreachable (a hard error) quoting the SYN fails the connect")
    void hardErrorInSynSentFailsTheConnect(Family f) throws Exception {
        Seg syn = connect(f);
        portUnreachable(quote(syn, f == Family.V4)); // IPv4: the minimal quote of RFC 792
        assertThat(c.state()).isEqualTo(TcpState.CLOSED);
        assertThat(c.error()).isInstanceOf(ConnectException.class)
                .hasMessageContaining("port unreachable").hasMessageContaining(f.router.toString());
        assertThat(events).as("the owner hears of it").anyMatch(e -> (e & TcpSocket.EV_CLOSED) != 0);
        assertThat(stats.tcpIcmpErrors).isEqualTo(1);
        assertThat(peer.stack.tcp().connectionCount()).isZero();
        peer.advance(10 * SEC);
        assertThat(segments()).as("no SYN is sent again").isEmpty();
        c = null;
    }

    @ParameterizedTest
    @EnumSource(Family.class)
    @DisplayName("RFC 9293 §3.9.2.2: host unreachable in SYN-SENT is soft: the open goes on and can succeed")
    void softErrorInSynSentDoesNotAbort(Family f) throws Exception {
        Seg syn = connect(f);
        hostUnreachable(quote(syn, false));
        assertThat(c.state()).isEqualTo(TcpState.SYN_SENT);
        assertThat(c.softError()).contains(f.hostUnreachableText);
        peer.advance(1100 * MS);
        List<Seg> again = segments();
        assertThat(again).as("the SYN is retransmitted").hasSize(1);
        assertThat(again.get(0).flags()).isEqualTo(Tcp.SYN);
        synAck();
        assertThat(c.state()).isEqualTo(TcpState.ESTABLISHED);
    }

    @ParameterizedTest
    @EnumSource(Family.class)
    @DisplayName("RFC 9293 §3.9.2.2, RFC 1122 §4.2.3.9: a connect that times out after a soft error names that error")
    void timedOutConnectNamesTheSoftError(Family f) throws Exception {
        Seg syn = connect(f);
        hostUnreachable(quote(syn, false));
        for (int s = 0; s < 600 && !c.isClosed(); s++) {
            peer.advance(SEC);
            segments();
        }
        assertThat(c.isClosed()).isTrue();
        assertThat(c.error()).isInstanceOf(ConnectException.class).hasMessageContaining("timed out")
                .hasMessageContaining(f.hostUnreachableText);
        c = null;
    }

    // ------------------------------------------------------------------ (b) soft errors when established

    @ParameterizedTest
    @EnumSource(Family.class)
    @DisplayName("RFC 9293 §3.9.2.2: host unreachable on an established connection is soft: kept, reported, still transferring")
    void softErrorOnEstablishedConnectionKeepsIt(Family f) throws Exception {
        establish(f);
        int total = 60_000;
        List<Seg> flight = writeAndCapture(total);
        hostUnreachable(quote(flight.get(0), false));
        assertThat(c.state()).isEqualTo(TcpState.ESTABLISHED);
        assertThat(c.softError()).contains(f.hostUnreachableText).contains(f.router.toString());
        assertThat(stats.tcpIcmpErrors).isEqualTo(1);
        // The transfer goes on: the flight is taken, the rest follows.
        assertPattern(receive(total, 1500, 0, flight, new ArrayList<>()), total);
        assertThat(c.state()).isEqualTo(TcpState.ESTABLISHED);
    }

    @ParameterizedTest
    @EnumSource(Family.class)
    @DisplayName("RFC 5461, RFC 9293 §3.9.2.2: port unreachable on an established connection does not end it")
    void portUnreachableOnEstablishedConnectionIsSoft(Family f) throws Exception {
        establish(f);
        List<Seg> flight = writeAndCapture(3000);
        portUnreachable(quote(flight.get(0), false));
        assertThat(c.state()).isEqualTo(TcpState.ESTABLISHED);
        assertThat(c.error()).isNull();
        assertThat(c.softError()).contains("port unreachable");
    }

    // ------------------------------------------------------------------ (c) the sequence number check

    @ParameterizedTest
    @EnumSource(Family.class)
    @DisplayName("RFC 5927 §4.1: an error quoting a sequence number outside SND.UNA..SND.NXT is ignored")
    void errorOutsideTheWindowIsIgnored(Family f) throws Exception {
        establish(f);
        List<Seg> flight = writeAndCapture(3000);
        int una = flight.get(0).seq();
        int nxt = flight.get(flight.size() - 1).end();
        portUnreachable(quoteWithSeq(flight.get(0), una - 1));           // already acknowledged
        hostUnreachable(quoteWithSeq(flight.get(0), nxt));               // not sent yet
        hostUnreachable(quoteWithSeq(flight.get(0), una + 0x4000_0000)); // far off
        assertThat(stats.tcpIcmpIgnored).isEqualTo(3);
        assertThat(stats.tcpIcmpErrors).isZero();
        assertThat(c.softError()).isNull();
        assertThat(c.state()).isEqualTo(TcpState.ESTABLISHED);
        // The edges: SND.UNA is in, SND.NXT - 1 too.
        hostUnreachable(quoteWithSeq(flight.get(0), nxt - 1));
        assertThat(stats.tcpIcmpErrors).isEqualTo(1);
        assertThat(c.softError()).isNotNull();
    }

    @ParameterizedTest
    @EnumSource(Family.class)
    @DisplayName("RFC 5927 §4.1: in SYN-SENT only the ISN is in flight: a hard error quoting ISN+1 is ignored")
    void hardErrorWithWrongSequenceInSynSentIsIgnored(Family f) throws Exception {
        Seg syn = connect(f);
        byte[] q = quote(syn, false);
        Raw6Peer.putInt(q, syn.l4() + 4, syn.seq() + 1);
        portUnreachable(q);
        // Nor does an error about another connection (another local port) reach it.
        byte[] other = quote(syn, false);
        Raw6Peer.putShort(other, syn.l4(), u16(syn.ip(), syn.l4()) ^ 1);
        portUnreachable(other);
        assertThat(c.state()).isEqualTo(TcpState.SYN_SENT);
        assertThat(stats.tcpIcmpIgnored).isEqualTo(2);
        assertThat(c.error()).isNull();
    }

    // ------------------------------------------------------------------ (d) packet too big

    @ParameterizedTest
    @EnumSource(Family.class)
    @DisplayName("RFC 1191 §6.4-6.5, RFC 8201 §5.4: packet too big (1280) shrinks the MSS, resends the flight at once, and every byte arrives")
    void packetTooBigShrinksTheMssAndTheTransferCompletes(Family f) throws Exception {
        establish(f);
        long total = 300_000;
        List<Seg> flight = writeAndCapture((int) total);
        int inflight = 0;
        for (Seg s : flight) {
            assertThat(s.ip()).as("full-size segments before the report").hasSize(1500);
            inflight += s.data().length;
        }
        // The router cannot forward them: it reports the first one.
        long retransmitsBefore = stats.tcpRetransmits;
        packetTooBig(flight.get(0), 1280);
        int newMss = f.mssFor(1280);
        assertThat(newMss).isEqualTo(f == Family.V4 ? 1280 - 40 : 1280 - 60);
        assertThat(c.mss()).isEqualTo(newMss);
        assertThat(stats.tcpPathMtuReductions).isEqualTo(1);
        assertThat(pathMtuToPeer()).isEqualTo(1280);
        assertThat(stats.tcpRetransmits).isGreaterThan(retransmitsBefore);
        // At once, with no timer: the flight again, from SND.UNA, in segments that fit.
        List<Seg> resent = segments();
        assertThat(resent).isNotEmpty();
        int expect = flight.get(0).seq();
        for (Seg s : resent) {
            assertThat(s.ip().length).as("resent segments fit 1280").isLessThanOrEqualTo(1280);
            assertThat(s.seq()).as("contiguous from SND.UNA").isEqualTo(expect);
            expect = s.end();
        }
        assertThat(expect - flight.get(0).seq()).as("the flight is resent, not one segment")
                .isGreaterThanOrEqualTo(inflight - newMss);
        // Now the peer takes them, and the rest of the transfer runs through the 1280 link.
        List<Seg> log = new ArrayList<>();
        assertPattern(receive(total, 1280, 1280, resent, log), total);
        assertThat(log).allSatisfy(s -> assertThat(s.ip().length).isLessThanOrEqualTo(1280));
        assertThat(stats.tcpPathMtuReductions).isEqualTo(1);
        assertThat(c.state()).isEqualTo(TcpState.ESTABLISHED);
    }

    @ParameterizedTest
    @EnumSource(Family.class)
    @DisplayName("RFC 8201 §4 (IPv6 1280), IPv4 floor 552: a packet too big below the floor lowers the MSS only to the floor")
    void packetTooBigBelowTheFloorStopsThere(Family f) throws Exception {
        establish(f);
        List<Seg> flight = writeAndCapture(20_000);
        packetTooBig(flight.get(0), f == Family.V4 ? 300 : 1000);
        assertThat(pathMtuToPeer()).isEqualTo(f.floor);
        assertThat(c.mss()).isEqualTo(f.mssFor(f.floor));
        List<Seg> resent = segments();
        assertThat(resent).isNotEmpty();
        assertThat(resent).allSatisfy(s -> assertThat(s.ip().length).isLessThanOrEqualTo(f.floor));
        assertThat(resent.get(0).ip()).as("full segments of the floor MTU").hasSize(f.floor);
    }

    @ParameterizedTest
    @EnumSource(Family.class)
    @DisplayName("RFC 5927 §4.1, §7.2: a packet too big quoting a sequence number outside the window changes nothing")
    void packetTooBigOutsideTheWindowIsIgnored(Family f) throws Exception {
        establish(f);
        List<Seg> flight = writeAndCapture(20_000);
        int nxt = flight.get(flight.size() - 1).end();
        packetTooBig(quoteWithSeq(flight.get(0), nxt + 1000), 1280);
        packetTooBig(quoteWithSeq(flight.get(0), flight.get(0).seq() - 1), 1280);
        assertThat(c.mss()).isEqualTo(f.fullMss);
        assertThat(pathMtuToPeer()).isEqualTo(1500);
        assertThat(stats.tcpIcmpIgnored).isEqualTo(2);
        assertThat(stats.tcpPathMtuReductions).isZero();
        assertThat(segments()).as("nothing resent").isEmpty();
    }

    @ParameterizedTest
    @EnumSource(Family.class)
    @DisplayName("RFC 1191 §3, RFC 8201 §4: a packet too big at or above the current path MTU changes nothing")
    void packetTooBigNotBelowThePathMtuIsIgnored(Family f) throws Exception {
        establish(f);
        List<Seg> flight = writeAndCapture(20_000);
        packetTooBig(flight.get(0), 1500);
        packetTooBig(flight.get(0), 9000);
        assertThat(c.mss()).isEqualTo(f.fullMss);
        assertThat(pathMtuToPeer()).isEqualTo(1500);
        assertThat(stats.tcpPathMtuReductions).isZero();
        assertThat(segments()).isEmpty();
    }

    // ------------------------------------------------------------------ (e) RFC 1191 plateaus

    @Test
    @DisplayName("RFC 1191 §5, §7: fragmentation needed with next-hop MTU 0 uses the plateau below the quoted length (1492)")
    void fragmentationNeededWithoutMtuUsesThePlateau() throws Exception {
        establish(Family.V4);
        List<Seg> flight = writeAndCapture(20_000);
        assertThat(u16(flight.get(0).ip(), 2)).as("quoted total length").isEqualTo(1500);
        assertThat(u16(flight.get(0).ip(), 6) & Ipv4.FLAG_DF).as("DF set on TCP segments").isNotZero();
        packetTooBig(flight.get(0), 0);
        assertThat(pathMtuToPeer()).isEqualTo(1492);
        assertThat(c.mss()).isEqualTo(1492 - 40);
        assertThat(segments()).allSatisfy(s -> assertThat(s.ip().length).isLessThanOrEqualTo(1492));
    }

    // ------------------------------------------------------------------ between two stacks

    @ParameterizedTest
    @EnumSource(Family.class)
    @DisplayName("RFC 1191, RFC 8201: between two stacks, a packet too big mid-transfer shrinks what is sent and the bulk transfer stays intact")
    void packetTooBigBetweenTwoStacks(Family f) throws Exception {
        try (TwoStacks net = new TwoStacks(20 * MS, FaultModel.NONE, FaultModel.NONE)) {
            boolean v6 = f == Family.V6;
            IpAddress a = v6 ? TwoStacks.A_IP6 : IpAddress.v4(TwoStacks.A_IP);
            IpAddress b = v6 ? TwoStacks.B_IP6 : IpAddress.v4(TwoStacks.B_IP);
            long bytes = 2_000_000;
            TcpListener l = net.b.tcp().listen((IpAddress) null, 6000, 4);
            AtomicReference<Transfer> server = new AtomicReference<>();
            l.handler(ev -> {
                TcpConnection sc;
                while ((sc = l.accept()) != null) {
                    Transfer t = new Transfer(sc, 0);
                    server.set(t);
                    t.drain();
                }
            });
            TcpConnection cc = net.a.tcp().connect(null, 0, b, 6000, 0, 0);
            Transfer client = new Transfer(cc, bytes);
            // Catch a full-size data segment from a, still in flight (20 ms to go) when the report comes.
            AtomicReference<byte[]> big = new AtomicReference<>();
            AtomicInteger oversize = new AtomicInteger();
            net.linkA.tap(fr -> {
                int ipLen = fr.readableBytes() - Ethernet.HEADER_LENGTH;
                if (big.get() == null && ipLen == 1500) {
                    big.set(Raw6Peer.ipBytes(fr));
                } else if (big.get() != null && ipLen > 1280) {
                    oversize.incrementAndGet();
                }
            });
            assertThat(net.runUntil(() -> big.get() != null, 10 * SEC)).isTrue();
            oversize.set(0); // the rest of that first flight, sent in the same turn
            // A router on the path reports it (the frame goes from b's MAC to a, as the router would be b's side).
            byte[] quote = Raw6Peer.slice(big.get(), 0, v6 ? 1232 : 548);
            IpAddress router = v6 ? IpAddress.of(PREFIX_HI, 0xfe) : IpAddress.v4(0xC61200FE);
            ByteBuf ip = v6 ? Raw6Peer.ipv6(router, a, Ipv6.ICMPV6, 64,
                    Raw6Peer.icmpv6(router, a, Icmpv6.PACKET_TOO_BIG, 0, 1280, quote))
                    : Raw6Peer.ipv4(router.v4(), a.v4(), Ipv4.PROTO_ICMP,
                    Raw6Peer.icmpv4(Icmpv4.DEST_UNREACHABLE, Icmpv4.CODE_FRAG_NEEDED, 1280, quote));
            ByteBuf frame = Unpooled.buffer(Ethernet.HEADER_LENGTH + ip.readableBytes());
            frame.writerIndex(Ethernet.HEADER_LENGTH);
            Ethernet.write(frame, 0, net.linkA.macAddress().toLong(), net.linkB.macAddress().toLong(),
                    v6 ? Ethernet.TYPE_IPV6 : Ethernet.TYPE_IPV4);
            frame.writeBytes(ip);
            ip.release();
            try {
                net.a.input(frame);
            } finally {
                frame.release();
            }
            assertThat(cc.mss()).isEqualTo(f.mssFor(1280));
            assertThat(net.a.stats().tcpPathMtuReductions).isEqualTo(1);
            boolean done = net.runUntil(() -> server.get() != null && server.get().finSeen(), 120 * SEC);
            assertThat(done).as("transfer finished; a " + net.a.stats()).isTrue();
            assertThat(server.get().received()).isEqualTo(bytes);
            assertThat(server.get().firstBadOffset()).isEqualTo(-1);
            assertThat(oversize.get()).as("packets over 1280 bytes sent after the report").isZero();
            client.release();
            server.get().release();
        }
    }
}
