package io.usertcp.channel;

import io.usertcp.stats.ConnectionInfo;

import java.net.InetSocketAddress;
import java.util.List;
import java.util.function.Function;
import javax.management.MBeanOperationInfo;
import javax.management.openmbean.OpenDataException;
import javax.management.openmbean.CompositeDataSupport;
import javax.management.openmbean.CompositeType;
import javax.management.openmbean.OpenType;
import javax.management.openmbean.SimpleType;
import javax.management.openmbean.TabularData;
import javax.management.openmbean.TabularDataSupport;
import javax.management.openmbean.TabularType;

/**
 * The connection table as JMX sees it: the operations {@code connections} (the table as {@code ss}-like text, for
 * jconsole's result dialog) and {@code connectionTable} (open data: a {@link TabularData} of one
 * {@code CompositeData} per {@link ConnectionInfo} row, indexed by row number, for exporters and scripts).
 */
final class ConnectionTableJmx {
    /** The operation that returns the table as text. */
    static final String TEXT = "connections";
    /** The operation that returns the table as open data. */
    static final String TABULAR = "connectionTable";

    private static final Item[] ITEMS = {
        new Item("row", SimpleType.INTEGER, null),
        new Item("protocol", SimpleType.STRING, ConnectionInfo::protocol),
        new Item("state", SimpleType.STRING, ConnectionInfo::state),
        new Item("localAddress", SimpleType.STRING, r -> address(r.localAddress())),
        new Item("remoteAddress", SimpleType.STRING, r -> address(r.remoteAddress())),
        new Item("receiveQueue", SimpleType.LONG, ConnectionInfo::receiveQueue),
        new Item("sendQueue", SimpleType.LONG, ConnectionInfo::sendQueue),
        new Item("srttNanos", SimpleType.LONG, ConnectionInfo::srttNanos),
        new Item("rttvarNanos", SimpleType.LONG, ConnectionInfo::rttvarNanos),
        new Item("rtoNanos", SimpleType.LONG, ConnectionInfo::rtoNanos),
        new Item("cwnd", SimpleType.LONG, ConnectionInfo::cwnd),
        new Item("ssthresh", SimpleType.LONG, ConnectionInfo::ssthresh),
        new Item("congestionControl", SimpleType.STRING, ConnectionInfo::congestionControl),
        new Item("mss", SimpleType.INTEGER, ConnectionInfo::mss),
        new Item("sendWindowScale", SimpleType.INTEGER, ConnectionInfo::sendWindowScale),
        new Item("receiveWindowScale", SimpleType.INTEGER, ConnectionInfo::receiveWindowScale),
        new Item("sack", SimpleType.BOOLEAN, ConnectionInfo::sack),
        new Item("timestamps", SimpleType.BOOLEAN, ConnectionInfo::timestamps),
        new Item("retransmits", SimpleType.LONG, ConnectionInfo::retransmits),
        new Item("retries", SimpleType.INTEGER, ConnectionInfo::retries),
        new Item("timer", SimpleType.STRING, ConnectionInfo::timer),
        new Item("timerNanos", SimpleType.LONG, ConnectionInfo::timerNanos),
        new Item("bytesAcked", SimpleType.LONG, ConnectionInfo::bytesAcked),
        new Item("bytesReceived", SimpleType.LONG, ConnectionInfo::bytesReceived),
        new Item("lastSendNanos", SimpleType.LONG, ConnectionInfo::lastSendNanos),
        new Item("lastReceiveNanos", SimpleType.LONG, ConnectionInfo::lastReceiveNanos),
    };
    private static final String[] NAMES = java.util.Arrays.stream(ITEMS).map(i -> i.name).toArray(String[]::new);
    private static final CompositeType ROW;
    private static final TabularType TABLE;

    static {
        try {
            ROW = new CompositeType("io.usertcp.ConnectionInfo", "one connection, listener or socket of a stack",
                    NAMES, NAMES, java.util.Arrays.stream(ITEMS).map(i -> i.type).toArray(OpenType<?>[]::new));
            TABLE = new TabularType("io.usertcp.ConnectionTable", "a stack's connection table", ROW,
                    new String[] {"row"});
        } catch (OpenDataException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /** The two operations' descriptions, for the MBean's info. */
    static final MBeanOperationInfo[] OPERATIONS = {
        new MBeanOperationInfo(TEXT, "the connection table as text, as ss -tuai prints it (taken on the loop)",
                null, String.class.getName(), MBeanOperationInfo.INFO),
        new MBeanOperationInfo(TABULAR, "the connection table as open data, one row per connection (taken on the "
                + "loop)", null, TabularData.class.getName(), MBeanOperationInfo.INFO),
    };

    private ConnectionTableJmx() {
    }

    /** The rows as open data. */
    static TabularData tabular(List<ConnectionInfo> rows) throws OpenDataException {
        TabularDataSupport t = new TabularDataSupport(TABLE);
        Object[] values = new Object[ITEMS.length];
        for (int r = 0; r < rows.size(); r++) {
            values[0] = r;
            for (int i = 1; i < ITEMS.length; i++) {
                values[i] = ITEMS[i].value.apply(rows.get(r));
            }
            t.put(new CompositeDataSupport(ROW, NAMES, values));
        }
        return t;
    }

    private static String address(InetSocketAddress a) {
        return a == null ? null : a.getAddress().getHostAddress() + ":" + a.getPort();
    }

    /** One column: its name, open type and how it is read from a row. */
    private static final class Item {
        final String name;
        final OpenType<?> type;
        final Function<ConnectionInfo, Object> value;

        Item(String name, OpenType<?> type, Function<ConnectionInfo, Object> value) {
            this.name = name;
            this.type = type;
            this.value = value;
        }
    }
}
