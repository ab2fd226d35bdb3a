package io.usertcp.stack;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.usertcp.link.FaultModel;
import io.usertcp.sim.TwoStacks;
import io.usertcp.tcp.TcpConnection;
import io.usertcp.tcp.TcpListener;
import io.usertcp.tcp.TcpSocket;
import io.usertcp.wire.Ethernet;
import io.usertcp.wire.Ipv4;
import io.usertcp.wire.Tcp;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The order of work in a turn of the stack's loop (issue #12, latency under load): a socket that left work for
 * later ({@link TcpSocket#signalNextTurn}, as a channel's read loop does when it stops at its budget with data
 * left) is told once per turn, round-robin with the others like it, after the sockets the turn's input made
 * ready. So a request on one connection is answered on the turn its segment is read while another connection
 * still has a backlog to read, and the backlog is still read to the end, a chunk every turn.
 */
class TurnFairnessTest {
    private static final long MS = 1_000_000L;
    private static final int CHUNK = 64 * 1024;

    /** What stack b's application does with a connection: as the channel, one chunk per event. */
    private static class Reader implements TcpSocket.Handler {
        final TcpConnection c;
        final boolean echo;
        final String name;
        final List<String> log;
        boolean paused;
        long read;

        Reader(TcpConnection c, boolean echo, String name, List<String> log) {
            this.c = c;
            this.echo = echo;
            this.name = name;
            this.log = log;
            c.handler(this);
        }

        @Override
        public void onTcpEvents(int events) {
            if (paused || (events & TcpSocket.EV_READABLE) == 0) {
                return;
            }
            ByteBuf b = Unpooled.buffer(CHUNK);
            int n = c.read(b, CHUNK);
            read += n;
            log.add(name);
            try {
                if (echo && n > 0) {
                    c.write(b);
                    c.push();
                }
            } catch (IOException e) {
                throw new IllegalStateException(e);
            } finally {
                b.release();
            }
            if (c.readableBytes() > 0) {
                c.signalNextTurn(TcpSocket.EV_READABLE); // the rest on a later turn
            }
        }
    }

    /** Connections from a to b's port 7000: a's ends and b's. */
    private static TcpConnection[][] connect(TwoStacks net, int n) throws IOException {
        TcpListener l = net.b.tcp().listen(null, 7000, 8);
        List<TcpConnection> accepted = new ArrayList<>();
        l.handler(ev -> {
            TcpConnection c;
            while ((c = l.accept()) != null) {
                c.handler(e -> { });
                accepted.add(c);
            }
        });
        TcpConnection[] mine = new TcpConnection[n];
        for (int i = 0; i < n; i++) {
            mine[i] = net.a.tcp().connect(0, 0, TwoStacks.B_IP, 7000);
            mine[i].handler(ev -> { });
            int want = i + 1;
            assertThat(net.runUntil(() -> accepted.size() == want, 5000 * MS)).isTrue();
        }
        return new TcpConnection[][] {mine, accepted.toArray(new TcpConnection[0])};
    }

    /** Writes {@code bytes} on a's end {@code c} and runs until b's end {@code peer} holds them all, unread. */
    private static void backlog(TwoStacks net, TcpConnection c, TcpConnection peer, int bytes) throws IOException {
        ByteBuf data = Unpooled.wrappedBuffer(new byte[bytes]);
        try {
            while (data.isReadable()) {
                c.write(data);
                c.push();
                net.turn();
            }
        } finally {
            data.release();
        }
        assertThat(net.runUntil(() -> peer.readableBytes() == bytes, 5000 * MS)).isTrue();
    }

    /** Sends one byte on a's end {@code c} and lets time pass until it can be read at b. */
    private static void request(TwoStacks net, TcpConnection c) throws IOException {
        ByteBuf request = Unpooled.wrappedBuffer(new byte[] {42});
        c.write(request);
        request.release();
        c.push();
        net.clock.advanceTo(net.linkB.nextArrival());
    }

    /** One turn of stack b alone, as its loop runs it. */
    private static void turnB(TwoStacks net) throws IOException {
        net.b.pollLink(256);
        net.b.runTimers();
        net.b.dispatchEvents();
        net.b.flush();
    }

    @Test
    void aRequestIsAnsweredOnTheTurnItIsReadWhileABulkConnectionHasABacklog() throws Exception {
        try (TwoStacks net = new TwoStacks(MS, FaultModel.NONE, FaultModel.NONE)) {
            TcpConnection[][] c = connect(net, 2);
            List<String> log = new ArrayList<>();
            Reader bulk = new Reader(c[1][0], false, "bulk", log);
            Reader rr = new Reader(c[1][1], true, "rr", log);
            bulk.paused = true;
            int backlog = 512 * 1024;
            backlog(net, c[0][0], c[1][0], backlog);
            bulk.paused = false;
            c[1][0].signalNextTurn(TcpSocket.EV_READABLE); // the application asks to read: a later turn
            net.turn(); // a: nothing yet; b: one chunk of the backlog
            assertThat(bulk.read).isEqualTo(CHUNK);
            assertThat(net.b.hasNextTurnEvents()).isTrue();

            // The request: one byte on the rr connection, sent by a, in flight for 1 ms.
            ByteBuf request = Unpooled.wrappedBuffer(new byte[] {42});
            c[0][1].write(request);
            request.release();
            c[0][1].push();
            List<Integer> answers = new ArrayList<>();
            net.linkB.tap(f -> {
                int ip = f.readerIndex() + Ethernet.HEADER_LENGTH;
                if (Ethernet.type(f, f.readerIndex()) == Ethernet.TYPE_IPV4 && Ipv4.protocol(f, ip) == Ipv4.PROTO_TCP) {
                    int t = ip + Ipv4.headerLength(f, ip);
                    answers.add(Ipv4.totalLength(f, ip) - Ipv4.headerLength(f, ip) - Tcp.headerLength(f, t));
                }
            });
            net.clock.advanceTo(net.linkB.nextArrival());
            log.clear();
            turnB(net);
            assertThat(rr.read).as("the request is read on the turn its segment arrives").isEqualTo(1);
            assertThat(answers).as("and answered on that turn").contains(1);
            assertThat(log).as("before the bulk connection's chunk of that turn").containsExactly("rr", "bulk");
            assertThat(bulk.read).as("the bulk connection took one chunk on that turn").isEqualTo(2 * CHUNK);

            // Nothing starves the bulk connection either: a chunk every turn until its backlog is read.
            int turns = 0;
            while (c[1][0].readableBytes() > 0 && turns < 100) {
                long before = bulk.read;
                turnB(net);
                turns++;
                assertThat(bulk.read - before).isBetween(1L, (long) CHUNK);
            }
            assertThat(bulk.read).isEqualTo(backlog);
            assertThat(turns).isEqualTo(backlog / CHUNK - 2);
            assertThat(net.b.hasNextTurnEvents()).isFalse();
        }
    }

    @Test
    void connectionsWithABacklogTakeTurnsOneChunkPerTurn() throws Exception {
        try (TwoStacks net = new TwoStacks(MS, FaultModel.NONE, FaultModel.NONE)) {
            TcpConnection[][] c = connect(net, 3);
            List<String> log = new ArrayList<>();
            Reader[] r = new Reader[3];
            for (int i = 0; i < 3; i++) {
                r[i] = new Reader(c[1][i], false, "c" + i, log);
                r[i].paused = true;
                backlog(net, c[0][i], c[1][i], 4 * CHUNK);
            }
            for (int i = 0; i < 3; i++) {
                r[i].paused = false;
                c[1][i].signalNextTurn(TcpSocket.EV_READABLE);
            }
            List<List<String>> perTurn = new ArrayList<>();
            while (net.b.hasNextTurnEvents()) {
                log.clear();
                turnB(net);
                perTurn.add(List.copyOf(log));
            }
            assertThat(perTurn).hasSize(12).allSatisfy(t -> assertThat(t).hasSize(1));
            List<String> order = perTurn.stream().map(t -> t.get(0)).toList();
            assertThat(order).containsExactly("c0", "c1", "c2", "c0", "c1", "c2", "c0", "c1", "c2", "c0", "c1", "c2");
            for (Reader x : r) {
                assertThat(x.read).isEqualTo(4 * CHUNK);
            }
        }
    }

    @Test
    void aSocketToldAloneTurnAfterTurnHasTheLoopAloneUntilAnotherIsTold() throws Exception {
        try (TwoStacks net = new TwoStacks(MS, FaultModel.NONE, FaultModel.NONE)) {
            TcpConnection[][] c = connect(net, 2);
            List<String> log = new ArrayList<>();
            List<Boolean> alone = new ArrayList<>();
            TcpConnection bulkB = c[1][0];
            Reader bulk = new Reader(bulkB, false, "bulk", log) {
                @Override
                public void onTcpEvents(int events) {
                    alone.add(net.b.hadTheLoopAlone(bulkB));
                    super.onTcpEvents(events);
                }
            };
            new Reader(c[1][1], true, "rr", log);
            bulk.paused = true;
            backlog(net, c[0][0], bulkB, 15 * CHUNK); // told alone meanwhile: a request ends that first
            request(net, c[0][1]);
            turnB(net);
            assertThat(log).containsExactly("rr");
            assertThat(net.b.hadTheLoopAlone(bulkB)).isFalse();
            bulk.paused = false;
            alone.clear();
            bulkB.signalNextTurn(TcpSocket.EV_READABLE);
            for (int i = 0; i < Stack.SOLO_TURNS + 2; i++) {
                turnB(net);
            }
            List<Boolean> expected = new ArrayList<>();
            for (int i = 0; i < Stack.SOLO_TURNS + 2; i++) {
                expected.add(i >= Stack.SOLO_TURNS);
            }
            assertThat(alone).as("alone from its %dth turn in a row on", Stack.SOLO_TURNS + 1).isEqualTo(expected);

            request(net, c[0][1]);
            alone.clear();
            log.clear();
            turnB(net);
            assertThat(log).containsExactly("rr", "bulk");
            assertThat(alone).as("not alone once another socket was told").containsExactly(false);
            assertThat(net.b.hadTheLoopAlone(c[1][1])).isFalse();
        }
    }

    @Test
    void aFailedLinkTellsEverySocketThatWaitsForALaterTurnAndClosingLeavesNoneWaiting() throws Exception {
        try (TwoStacks net = new TwoStacks(MS, FaultModel.NONE, FaultModel.NONE)) {
            TcpConnection[][] c = connect(net, 3);
            int[] closed = new int[1];
            for (TcpConnection b : c[1]) {
                b.handler(ev -> closed[0] += (ev & TcpSocket.EV_CLOSED) != 0 ? 1 : 0);
                b.signalNextTurn(TcpSocket.EV_READABLE);
            }
            assertThat(net.b.hasNextTurnEvents()).isTrue();
            net.b.linkFailed(new IOException("the link is gone"));
            assertThat(closed[0]).as("each told of its end at once, not one per turn").isEqualTo(3);
            assertThat(net.b.hasNextTurnEvents()).isFalse();

            for (TcpConnection a : c[0]) {
                a.handler(ev -> { });
                a.signalNextTurn(TcpSocket.EV_READABLE);
            }
            assertThat(net.a.hasNextTurnEvents()).isTrue();
            net.a.close();
            assertThat(net.a.hasNextTurnEvents()).isFalse();
        }
    }
}
