package io.usertcp.sim;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.usertcp.link.ForwardingLink;
import io.usertcp.link.Link;
import io.usertcp.link.MemoryLink;
import io.usertcp.stack.Stack;
import io.usertcp.stack.StackConfig;
import io.usertcp.stack.StackLeakCheck;
import io.usertcp.tcp.TcpConnection;
import io.usertcp.tcp.TcpListener;
import io.usertcp.tcp.TcpSocket;
import io.usertcp.wire.Checksum;
import io.usertcp.wire.Ethernet;
import io.usertcp.wire.Ipv4;
import io.usertcp.wire.SynFilter;
import io.usertcp.wire.Tcp;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.UnaryOperator;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A spoofed SYN flood (RFC 4987) against a stack with two listeners, in virtual time, while a legitimate client
 * (a second stack) keeps connecting: every legitimate connect must succeed on its first SYN, the half-open state
 * must stay within its bounds, and once the flood stops connects succeed at once.
 *
 * <p>The flood comes from random sources in 198.19.0.0/16 (off the stacks' 198.18.0.0/24, so the victim's SYN-ACKs
 * go to its gateway, the client, which drops them as a router with no route would), to both listening ports.
 */
@ExtendWith(StackLeakCheck.class)
class SynFloodTest {
    private static final long MS = 1_000_000L;
    private static final long SEC = 1000 * MS;
    private static final int CLIENT_IP = 0xC6120001; // 198.18.0.1, also the victim's gateway
    private static final int SERVER_IP = 0xC6120002; // 198.18.0.2
    private static final int[] PORTS = {80, 443};
    private static final int BACKLOG = 128;

    /** The two stacks on an in-memory cable (1 ms one way), and the attacker's frame. */
    static final class Bench implements AutoCloseable {
        final VirtualClock clock = new VirtualClock();
        final MemoryLink clientLink;
        final MemoryLink serverLink;
        final Stack client;
        final Stack server;
        final StackConfig serverConfig;
        final List<TcpListener> listeners = new ArrayList<>();
        final List<TcpConnection> accepted = new ArrayList<>();
        private final ByteBuf spoofed = PooledByteBufAllocator.DEFAULT.directBuffer(64);
        private final long serverMac;
        long clientSyns; // SYNs (without ACK) the client sent: one per connect unless a SYN was retransmitted
        long spoofedSyns;
        int peakHalfOpen;

        Bench(UnaryOperator<StackConfig.Builder> config) throws IOException {
            this(config, l -> l);
        }

        /** A bench whose server reads its link through {@code wrap}. */
        Bench(UnaryOperator<StackConfig.Builder> config, UnaryOperator<Link> wrap) throws IOException {
            MemoryLink[] pair = MemoryLink.pair(1500, clock);
            clientLink = pair[0].delay(MS);
            serverLink = pair[1].delay(MS);
            clientLink.tap(f -> {
                int ip = f.readerIndex() + Ethernet.HEADER_LENGTH;
                if (Ethernet.type(f, f.readerIndex()) == Ethernet.TYPE_IPV4 && Ipv4.protocol(f, ip) == Ipv4.PROTO_TCP
                        && Ipv4.src(f, ip) == CLIENT_IP) {
                    int t = ip + Ipv4.headerLength(f, ip);
                    if ((Tcp.flags(f, t) & (Tcp.SYN | Tcp.ACK)) == Tcp.SYN) {
                        clientSyns++;
                    }
                }
            });
            client = new Stack(StackConfig.builder().link(clientLink.factory()).address("198.18.0.1/24")
                    .minRto(Duration.ofMillis(200)).seed(1).build(), clientLink, clock, PooledByteBufAllocator.DEFAULT);
            serverConfig = config.apply(StackConfig.builder().link(serverLink.factory())
                    .address("198.18.0.2/24").gateway("198.18.0.1").minRto(Duration.ofMillis(200)).seed(2)).build();
            server = new Stack(serverConfig, wrap.apply(serverLink), clock, PooledByteBufAllocator.DEFAULT);
            serverMac = serverLink.macAddress().toLong();
            for (int port : PORTS) {
                TcpListener l = server.tcp().listen(null, port, BACKLOG);
                l.handler(ev -> {
                    TcpConnection c;
                    while ((c = l.accept()) != null) {
                        accepted.add(c);
                        c.close(); // the server's application answers nothing: FIN at once
                    }
                });
                listeners.add(l);
            }
        }

        /** Sends one spoofed SYN from a random source to a random listening port. */
        void spoof(SplittableRandom r) {
            int src = 0xC6130000 | r.nextInt(1 << 16); // 198.19.x.y
            int dport = PORTS[r.nextInt(PORTS.length)];
            ByteBuf f = spoofed.clear();
            int ip = Ethernet.HEADER_LENGTH;
            int t = ip + Ipv4.MIN_HEADER_LENGTH;
            int tcpLen = Tcp.MIN_HEADER_LENGTH + 4;
            Ethernet.write(f, 0, serverMac, 0x02_00_00_00_66_66L, Ethernet.TYPE_IPV4);
            Ipv4.write(f, ip, Ipv4.MIN_HEADER_LENGTH + tcpLen, r.nextInt(1 << 16), 64, Ipv4.PROTO_TCP, src, SERVER_IP,
                    true);
            Tcp.writeHeader(f, t, 1024 + r.nextInt(64512), dport, r.nextInt(), 0, tcpLen, Tcp.SYN, 65535);
            f.setByte(t + 20, Tcp.OPT_MSS);
            f.setByte(t + 21, 4);
            f.setShort(t + 22, 1460);
            f.writerIndex(t + tcpLen);
            f.setShort(t + 16, Checksum.finish(Checksum.add(f, t, tcpLen,
                    Checksum.ipv4Pseudo(src, SERVER_IP, Ipv4.PROTO_TCP, tcpLen))));
            clientLink.transmit(f); // copies: the frame arrives at the server after the cable's delay
            spoofedSyns++;
        }

        int turn() {
            try {
                int w = 0;
                for (Stack s : new Stack[] {client, server}) {
                    w += s.pollLink(64);
                    w += s.runTimers();
                    w += s.dispatchEvents();
                    s.flush();
                }
                return w;
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }

        /** Runs both stacks until virtual time {@code t}. */
        void runTo(long t) {
            while (true) {
                if (turn() > 0) {
                    continue;
                }
                if (clock.nanoTime() - t >= 0) {
                    return;
                }
                long next = Math.min(Math.min(client.nextDeadline(), server.nextDeadline()),
                        Math.min(clientLink.nextArrival(), serverLink.nextArrival()));
                clock.advanceTo(Math.min(next, t));
            }
        }

        @Override
        public void close() {
            spoofed.release();
            client.close();
            server.close();
        }
    }

    /** A legitimate connect: when it started, and when (if) it was established. */
    static final class Attempt {
        final TcpConnection c;
        final long start;
        long established = -1;

        Attempt(TcpConnection c, long start) {
            this.c = c;
            this.start = start;
        }
    }

    static Attempt connect(Bench b, int port) throws IOException {
        TcpConnection c = b.client.tcp().connect(0, 0, SERVER_IP, port);
        Attempt a = new Attempt(c, b.clock.nanoTime());
        c.handler(ev -> {
            if ((ev & TcpSocket.EV_CONNECTED) != 0 && a.established < 0 && c.isEstablished()) {
                a.established = b.clock.nanoTime();
            }
            if ((ev & TcpSocket.EV_INPUT_CLOSED) != 0) {
                c.close();
            }
        });
        return a;
    }

    /**
     * Floods {@code syns} spoofed SYNs at {@code perMs} a millisecond while the client connects every 50 ms, and
     * checks after every millisecond that the half-open state stays within its bounds; returns the client's
     * attempts.
     */
    static List<Attempt> flood(Bench b, int syns, int perMs, SplittableRandom r) throws IOException {
        List<Attempt> attempts = new ArrayList<>();
        long t0 = b.clock.nanoTime();
        int ms = 0;
        while (b.spoofedSyns < syns) {
            for (int i = 0; i < perMs && b.spoofedSyns < syns; i++) {
                b.spoof(r);
            }
            if (ms % 50 == 0) {
                attempts.add(connect(b, PORTS[(ms / 50) % PORTS.length]));
            }
            ms++;
            b.runTo(t0 + ms * MS);
            int halfOpen = 0;
            for (TcpListener l : b.listeners) {
                assertThat(l.halfOpen()).as("%s's SYN queue", l).isLessThanOrEqualTo(l.synQueueLimit());
                halfOpen += l.halfOpen();
            }
            assertThat(b.server.tcp().halfOpenCount()).isEqualTo(halfOpen)
                    .isLessThanOrEqualTo(b.serverConfig.maxHalfOpen());
            b.peakHalfOpen = Math.max(b.peakHalfOpen, halfOpen);
            // Besides the records: the legitimate connections, closing (a few per 50 ms) and in TIME-WAIT.
            assertThat(b.server.tcp().connectionCount() - halfOpen).isLessThanOrEqualTo(attempts.size());
        }
        return attempts;
    }

    @Test
    void legitimateConnectsSucceedDuringASpoofedSynFlood() throws IOException {
        try (Bench b = new Bench(c -> c)) {
            b.runTo(b.clock.nanoTime() + SEC); // settle (nothing yet)
            long wall = System.nanoTime();
            List<Attempt> attempts = flood(b, 100_000, 10, new SplittableRandom(42));
            wall = System.nanoTime() - wall;
            b.runTo(b.clock.nanoTime() + SEC); // let the last ones finish
            long failed = attempts.stream().filter(a -> a.established < 0).count();
            long worst = attempts.stream().mapToLong(a -> a.established - a.start).max().orElse(0);
            System.out.printf("SYN flood: %d spoofed SYNs in 10 virtual s (%.0f ms wall, both stacks and the cable); "
                            + "%d legitimate connects, %d failed, slowest %.1f ms; client SYNs %d; peak half-open %d "
                            + "(%d B as records); server %s%n", b.spoofedSyns, wall / 1e6, attempts.size(), failed,
                    worst / 1e6, b.clientSyns, b.peakHalfOpen, b.peakHalfOpen * 112, b.server.stats());
            assertThat(failed).as("legitimate connects that failed").isZero();
            assertThat(b.clientSyns).as("the client's SYNs: one per connect, none retransmitted")
                    .isEqualTo(attempts.size());
            assertThat(worst).as("slowest legitimate connect").isLessThan(100 * MS);
            assertThat(b.accepted).hasSize(attempts.size());
            assertThat(b.peakHalfOpen).as("the SYN queues filled").isEqualTo(2 * BACKLOG);
            assertThat(b.server.stats().tcpSynCookiesSent).isGreaterThan(99_000);
            assertThat(b.server.stats().tcpSynCookiesValid + b.server.stats().tcpPassiveOpens)
                    .isGreaterThanOrEqualTo(attempts.size());

            // After the flood: connects succeed at once.
            Attempt after = connect(b, 80);
            b.runTo(b.clock.nanoTime() + 100 * MS);
            assertThat(after.established).as("a connect right after the flood").isPositive();
            assertThat(after.established - after.start).isLessThan(10 * MS);
            // And 63 s after the last spoofed SYN, every half-open record is gone.
            b.runTo(b.clock.nanoTime() + 63 * SEC);
            assertThat(b.server.tcp().halfOpenCount()).isZero();
            assertThat(b.server.stats().tcpSynAckRetriesExhausted).isEqualTo(2 * BACKLOG); // all spoofed
        }
    }

    @Test
    void withoutSynCookiesTheSameFloodLocksClientsOut() throws IOException {
        // The bench can fail: with cookies off the records' 63 s life keeps the SYN queues full.
        try (Bench b = new Bench(c -> c.synCookies(false))) {
            List<Attempt> attempts = flood(b, 20_000, 10, new SplittableRandom(42));
            b.runTo(b.clock.nanoTime() + SEC);
            long failed = attempts.stream().filter(a -> a.established < 0).count();
            assertThat(failed).as("legitimate connects still waiting for a SYN-ACK").isGreaterThan(attempts.size() / 2);
            assertThat(b.clientSyns).as("SYNs retransmitted").isGreaterThan(attempts.size());
            assertThat(b.server.stats().tcpSynCookiesSent).isZero();
            assertThat(b.server.stats().dropTcpListenOverflow).isGreaterThan(19_000);
        }
    }

    @Test
    void theStackWideHalfOpenBoundHoldsAcrossListeners() throws IOException {
        try (Bench b = new Bench(c -> c.maxHalfOpen(100))) {
            List<Attempt> attempts = flood(b, 20_000, 10, new SplittableRandom(7));
            b.runTo(b.clock.nanoTime() + SEC);
            assertThat(attempts).allMatch(a -> a.established >= 0);
            assertThat(b.clientSyns).isEqualTo(attempts.size());
            assertThat(b.peakHalfOpen).isEqualTo(100);
        }
    }

    @Test
    void aSmallerSynBacklogCapsEachListener() throws IOException {
        try (Bench b = new Bench(c -> c.maxSynBacklog(16))) {
            List<Attempt> attempts = flood(b, 5_000, 10, new SplittableRandom(9));
            b.runTo(b.clock.nanoTime() + SEC);
            assertThat(b.listeners).allMatch(l -> l.synQueueLimit() == 16);
            assertThat(attempts).allMatch(a -> a.established >= 0);
            assertThat(b.peakHalfOpen).isEqualTo(32);
        }
    }

    @Test
    void behindItsLinkAFloodedStackAnswersTheSourcesThatCompletedAHandshake() throws IOException {
        try (Bench b = new Bench(c -> c)) {
            Attempt first = connect(b, 80);
            b.runTo(b.clock.nanoTime() + 100 * MS);
            assertThat(first.established).as("the client's first connect, before the flood").isPositive();
            // A burst far beyond one turn's read budget (64 frames in this bench): the server is behind its link
            // for ~80 turns while the client connects again from the address it completed a handshake from.
            SplittableRandom r = new SplittableRandom(5);
            for (int i = 0; i < 2_500; i++) {
                b.spoof(r);
            }
            Attempt during = connect(b, 443);
            for (int i = 0; i < 2_500; i++) {
                b.spoof(r);
            }
            b.runTo(b.clock.nanoTime() + 200 * MS);
            assertThat(during.established).as("the known client's connect during the burst").isPositive();
            assertThat(b.clientSyns).as("the client's SYNs: none retransmitted").isEqualTo(2);
            // The listeners' SYN queues took the first 256 spoofed SYNs. The rest came in one instant of virtual
            // time: once the server was behind, unknown sources got only the answer rate's first burst of cookies
            // (SynAdmission.BURST) and the others were dropped unanswered.
            long cookies = b.server.stats().tcpSynCookiesSent;
            long dropped = b.server.stats().tcpSynDropsBehind;
            assertThat(cookies + dropped).isGreaterThanOrEqualTo(5_000 - 2 * BACKLOG);
            assertThat(cookies).as("cookie SYN-ACKs to unknown sources").isLessThanOrEqualTo(64 + 64);
            assertThat(dropped).as("SYNs dropped while behind").isGreaterThan(4_000);
        }
    }

    /** The burst of the test above, against a server whose link takes SYN filters (as the TAP ring does). */
    @Test
    void behindItsLinkTheStackHandsItsLinkAFilterThatKeepsTheKnownClientAndTakesItBackAfter() throws IOException {
        List<SynFilter> given = new ArrayList<>();
        try (Bench b = new Bench(c -> c, l -> new ForwardingLink(l) {
            @Override
            public boolean filterSyns(SynFilter filter) {
                given.add(filter);
                return true;
            }
        })) {
            Attempt first = connect(b, 80);
            b.runTo(b.clock.nanoTime() + 100 * MS);
            assertThat(first.established).isPositive();
            SplittableRandom r = new SplittableRandom(5);
            for (int i = 0; i < 5_000; i++) {
                b.spoof(r);
            }
            b.runTo(b.clock.nanoTime() + 100 * MS);
            assertThat(given).as("filters handed to the link").isNotEmpty();
            SynFilter on = given.get(0);
            assertThat(on.isNone()).isFalse();
            assertThat(on.covers(CLIENT_IP, 80)).as("the client that completed a handshake").isFalse();
            assertThat(on.covers(0xC6130001, 80)).as("a spoofed source").isTrue();
            assertThat(on.pass()).isLessThanOrEqualTo(1L << 31);
            // The flood is over (nothing more comes): the next measuring window takes the filter back.
            b.runTo(b.clock.nanoTime() + 500 * MS);
            assertThat(given.get(given.size() - 1).isNone()).as("the last filter: %s", given).isTrue();
            assertThat(b.server.stats().tcpSynFilterUpdates).isEqualTo(given.size() - 1);
        }
    }

    /** A link whose filter throws (a bug): the loop goes on, counts it, and drops SYNs itself as before. */
    @Test
    void aLinkWhoseFilterThrowsIsCountedOnceAndTheLoopDropsTheFloodItself() throws IOException {
        int[] calls = {0};
        try (Bench b = new Bench(c -> c, l -> new ForwardingLink(l) {
            @Override
            public boolean filterSyns(SynFilter filter) {
                calls[0]++;
                throw new IllegalStateException("a bug in the link's filter");
            }
        })) {
            Attempt first = connect(b, 80);
            b.runTo(b.clock.nanoTime() + 100 * MS);
            assertThat(first.established).isPositive();
            SplittableRandom r = new SplittableRandom(5);
            for (int i = 0; i < 2_500; i++) {
                b.spoof(r);
            }
            Attempt during = connect(b, 443);
            for (int i = 0; i < 2_500; i++) {
                b.spoof(r);
            }
            b.runTo(b.clock.nanoTime() + 200 * MS);
            assertThat(during.established).as("the known client's connect during the burst").isPositive();
            assertThat(calls[0]).as("the link is asked once").isEqualTo(1);
            assertThat(b.server.stats().inputExceptions).isEqualTo(1);
            assertThat(b.server.stats().tcpSynDropsBehind).isGreaterThan(4_000);
        }
    }
}
