package io.usertcp.channel;

import io.usertcp.stats.ConnectionInfo;
import io.usertcp.stats.ConnectionTable;
import io.usertcp.stats.StackStats;

import java.lang.management.ManagementFactory;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Supplier;
import java.util.concurrent.atomic.AtomicInteger;
import javax.management.Attribute;
import javax.management.AttributeList;
import javax.management.AttributeNotFoundException;
import javax.management.DynamicMBean;
import javax.management.JMException;
import javax.management.MBeanAttributeInfo;
import javax.management.MBeanException;
import javax.management.MBeanInfo;
import javax.management.MBeanServer;
import javax.management.ObjectName;
import javax.management.openmbean.OpenDataException;
import javax.management.ReflectionException;

/**
 * A stack's counters as a read-only JMX MBean ({@code io.usertcp:type=Stack,name=<link>,id=<n>}), one attribute per
 * {@link StackStats} counter, so that jconsole, VisualVM or a JMX exporter sees them without code. Registered when an
 * event loop's stack starts and unregistered when it is destroyed. Values are read from the JMX thread while the
 * stack's thread writes them: each is a plain long and may be slightly stale.
 *
 * <p>Two operations return the stack's connection table, taken on the loop's thread: {@code connections} as
 * {@code ss}-like text and {@code connectionTable} as open data ({@link ConnectionTableJmx}).
 */
final class StackStatsMBean implements DynamicMBean {
    private static final AtomicInteger IDS = new AtomicInteger();
    private static final List<String> NAMES = StackStats.names();
    private static final MBeanInfo INFO = new MBeanInfo(StackStatsMBean.class.getName(),
            "usertcp stack counters (see StackStats and the README's tables)",
            NAMES.stream().map(n -> new MBeanAttributeInfo(n, "long", n, true, false, false))
                    .toArray(MBeanAttributeInfo[]::new), null, ConnectionTableJmx.OPERATIONS, null);
    /** How long an operation waits for the loop to take the table. */
    private static final long TABLE_TIMEOUT_SECONDS = 10;

    private final StackStats stats;
    private final ObjectName name;
    private final Supplier<CompletableFuture<List<ConnectionInfo>>> table;

    private StackStatsMBean(StackStats stats, ObjectName name, Supplier<CompletableFuture<List<ConnectionInfo>>> table) {
        this.stats = stats;
        this.name = name;
        this.table = table;
    }

    /**
     * Registers {@code stats} under a name made of {@code link}, with {@code table} taking the connection table on
     * the loop; returns null (and registers nothing) on failure.
     */
    static StackStatsMBean register(StackStats stats, String link,
                                    Supplier<CompletableFuture<List<ConnectionInfo>>> table) {
        try {
            ObjectName n = new ObjectName("io.usertcp:type=Stack,name=" + ObjectName.quote(link) + ",id="
                    + IDS.incrementAndGet());
            StackStatsMBean bean = new StackStatsMBean(stats, n, table);
            ManagementFactory.getPlatformMBeanServer().registerMBean(bean, n);
            return bean;
        } catch (JMException | SecurityException e) {
            return null; // monitoring is optional: a JVM without a platform MBean server still runs the stack
        }
    }

    ObjectName objectName() {
        return name;
    }

    void unregister() {
        MBeanServer s = ManagementFactory.getPlatformMBeanServer();
        try {
            if (s.isRegistered(name)) {
                s.unregisterMBean(name);
            }
        } catch (JMException e) {
            // already gone
        }
    }

    @Override
    public Object getAttribute(String attribute) throws AttributeNotFoundException {
        try {
            return stats.get(attribute);
        } catch (IllegalArgumentException e) {
            throw new AttributeNotFoundException(attribute);
        }
    }

    @Override
    public void setAttribute(Attribute attribute) {
        throw new UnsupportedOperationException("the counters are read-only");
    }

    @Override
    public AttributeList getAttributes(String[] attributes) {
        AttributeList l = new AttributeList();
        for (String a : attributes) {
            if (NAMES.contains(a)) {
                l.add(new Attribute(a, stats.get(a)));
            }
        }
        return l;
    }

    @Override
    public AttributeList setAttributes(AttributeList attributes) {
        return new AttributeList();
    }

    @Override
    public Object invoke(String actionName, Object[] params, String[] signature) throws MBeanException,
            ReflectionException {
        boolean text = ConnectionTableJmx.TEXT.equals(actionName);
        if (!text && !ConnectionTableJmx.TABULAR.equals(actionName)) {
            throw new ReflectionException(new NoSuchMethodException(actionName),
                    "no operation " + actionName + ": the operations are " + ConnectionTableJmx.TEXT + " and "
                    + ConnectionTableJmx.TABULAR);
        }
        try {
            List<ConnectionInfo> rows = table.get().get(TABLE_TIMEOUT_SECONDS, TimeUnit.SECONDS);
            return text ? ConnectionTable.format(rows) : ConnectionTableJmx.tabular(rows);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new MBeanException(e, "interrupted while the event loop took the connection table");
        } catch (ExecutionException | TimeoutException | OpenDataException e) {
            throw new MBeanException(e, "the event loop did not return the connection table: " + e);
        }
    }

    @Override
    public MBeanInfo getMBeanInfo() {
        return INFO;
    }
}
