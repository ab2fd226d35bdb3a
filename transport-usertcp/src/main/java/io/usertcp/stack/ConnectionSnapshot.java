package io.usertcp.stack;

import io.usertcp.stats.ConnectionInfo;
import io.usertcp.tcp.TcpTable;
import io.usertcp.udp.UdpSocket;

import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * A stack's connection table at one instant: its TCP rows ({@link TcpTable}: listeners, half-open records,
 * connections) and one row per bound UDP socket. Take it on the stack's thread (as
 * {@code UserTcp.connections(loop)} does); it allocates and is never taken on the packet path.
 */
public final class ConnectionSnapshot {
    private ConnectionSnapshot() {
    }

    /** Every row of {@code stack}: TCP first, then UDP by local port. */
    public static List<ConnectionInfo> take(Stack stack) {
        List<ConnectionInfo> rows = new ArrayList<>(TcpTable.rows(stack.tcp()));
        List<UdpSocket> udp = stack.udp().sockets();
        udp.sort(Comparator.comparingInt(UdpSocket::localPort));
        for (UdpSocket s : udp) {
            rows.add(row(s));
        }
        return rows;
    }

    /** A bound UDP socket's row: its addresses and the bytes its queued datagrams are charged. */
    static ConnectionInfo row(UdpSocket s) {
        InetSocketAddress remote = s.remoteAddress();
        return ConnectionInfo.builder(ConnectionInfo.UDP, remote == null ? "UNCONNECTED" : "CONNECTED")
                .addresses(s.localAddress(), remote).queues(s.queuedBytes(), 0).build();
    }
}
