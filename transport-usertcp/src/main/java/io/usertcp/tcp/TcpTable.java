package io.usertcp.tcp;

import io.usertcp.stats.ConnectionInfo;
import io.usertcp.wire.IpAddress;

import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * The TCP rows of a stack's connection table ({@link ConnectionInfo}): each listener, its half-open records and
 * each connection (TIME-WAIT ones whole or as {@link TimeWaitRecord}s), read from their variables ({@link Tcb},
 * the timers) when asked. Call it on the stack's thread; it allocates, so it is never called on the packet path.
 */
public final class TcpTable {
    /** A connection's row with what it is sorted by. */
    private record Entry(int localPort, String local, String remote, int remotePort, ConnectionInfo row) {
    }

    private static final Comparator<Entry> ORDER = Comparator.comparingInt(Entry::localPort)
            .thenComparing(Entry::local).thenComparing(Entry::remote).thenComparingInt(Entry::remotePort);

    private TcpTable() {
    }

    /**
     * Every listener (by port, each followed by its SYN-RECEIVED records) and every connection, TIME-WAIT included
     * (by local port, then peer).
     */
    public static List<ConnectionInfo> rows(TcpLayer tcp) {
        List<TcpListener> listeners = new ArrayList<>();
        tcp.listeners.values().forEach(listeners::addAll);
        listeners.sort(Comparator.comparingInt((TcpListener l) -> l.port)
                .thenComparing(l -> l.local == null ? "" : l.local.toString()));
        long now = tcp.env.now();
        List<Entry> connections = new ArrayList<>();
        for (TcpConnection c : tcp.connections.values()) {
            connections.add(new Entry(c.localPort, c.local().toString(), c.remote().toString(), c.remotePort,
                    row(c, now)));
        }
        for (TimeWaitRecord r : tcp.timeWait.listed()) {
            connections.add(new Entry(r.localPort(), IpAddress.of(r.localHi, r.localLo).toString(),
                    IpAddress.of(r.remoteHi, r.remoteLo).toString(), r.remotePort(), row(r, now)));
        }
        connections.sort(ORDER);
        List<ConnectionInfo> rows = new ArrayList<>(listeners.size() + connections.size());
        for (TcpListener l : listeners) {
            rows.add(row(l));
            for (SynReceived r : tcp.passive.queue.of(l)) {
                rows.add(row(r, now));
            }
        }
        for (Entry e : connections) {
            rows.add(e.row());
        }
        return rows;
    }

    /** A listener's row: LISTEN, connections waiting to be accepted and the backlog as its queues (as ss). */
    public static ConnectionInfo row(TcpListener l) {
        return ConnectionInfo.builder(ConnectionInfo.TCP, "LISTEN").addresses(l.localAddress(), null)
                .queues(l.pending(), l.backlog()).build();
    }

    /** A connection's row, as of now (its record's while a record holds its TIME-WAIT). */
    public static ConnectionInfo row(TcpConnection c) {
        TimeWaitRecord r = c.released;
        return r != null && r.live ? row(r, c.tcp.env.now()) : row(c, c.tcp.env.now());
    }

    /** A TIME-WAIT record's row: its addresses, the options the connection had, and the TIME-WAIT timer. */
    private static ConnectionInfo row(TimeWaitRecord r, long now) {
        return ConnectionInfo.builder(ConnectionInfo.TCP, "TIME-WAIT")
                .addresses(new InetSocketAddress(IpAddress.of(r.localHi, r.localLo).toInet(), r.localPort()),
                        new InetSocketAddress(IpAddress.of(r.remoteHi, r.remoteLo).toInet(), r.remotePort()))
                .options(r.mss, r.sndWscale, r.rcvWscale, r.sackOk, r.tsOk)
                .timer("timewait", r.deadline - now).build();
    }

    private static ConnectionInfo row(TcpConnection c, long now) {
        Tcb t = c.tcb;
        ConnectionInfo.Builder b = ConnectionInfo.builder(ConnectionInfo.TCP, name(t.state))
                .addresses(c.localAddress(), c.remoteAddress())
                .queues(t.receiveQueue.size(), t.sendBuffer.size())
                .rtt(t.rtt.srtt(), t.rtt.rttvar(), t.rtt.currentRto())
                .congestion(t.cwnd, t.ssthresh,
                        t.cc == null || t.cc instanceof CongestionControl.Cubic ? "cubic" : "newreno")
                .options(t.mss, t.windowScaleOk ? t.sndWscale : -1, t.windowScaleOk ? t.rcvWscale : -1, t.sackOk,
                        t.tsOk)
                .retransmits(t.retransmits, t.retries)
                .bytes(t.bytesAcked, t.rcvNxtOffset)
                .lastActivity(t.lastSend != 0 ? now - t.lastSend : -1,
                        t.lastReceived != 0 ? now - t.lastReceived : -1);
        ConnectionTimers tm = c.timers;
        int next = tm.earliest();
        if (next >= 0) {
            String[] names = {"retransmit", "persist", "probe", "reorder", "keepalive",
                t.state == TcpState.TIME_WAIT ? "timewait" : "finwait2"}; // by kind: ConnectionTimers.RTX ... CLOSE
            b.timer(names[next], tm.deadlineOf(next) - now);
        }
        return b.build();
    }

    /** A half-open record's row: SYN-RECEIVED, the peer's SYN options, the SYN-ACK resends and their timer. */
    private static ConnectionInfo row(SynReceived r, long now) {
        return ConnectionInfo.builder(ConnectionInfo.TCP, "SYN-RECEIVED")
                .addresses(new InetSocketAddress(IpAddress.of(r.localHi, r.localLo).toInet(), r.localPort),
                        new InetSocketAddress(IpAddress.of(r.remoteHi, r.remoteLo).toInet(), r.remotePort))
                .options(r.peerMss, -1, -1, r.sackPermitted, r.timestamps)
                .retransmits(r.retries, r.retries)
                .timer("synack", r.deadline - now).build();
    }

    /** The RFC 9293 §3.3.2 name of a state ({@code FIN-WAIT-1}, {@code TIME-WAIT}, ...). */
    public static String name(TcpState s) {
        return s.name().replace('_', '-');
    }
}
