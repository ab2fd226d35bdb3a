package io.usertcp.channel;

import io.usertcp.stats.StackStats;

import java.lang.management.ManagementFactory;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import javax.management.Attribute;
import javax.management.AttributeList;
import javax.management.AttributeNotFoundException;
import javax.management.DynamicMBean;
import javax.management.JMException;
import javax.management.MBeanAttributeInfo;
import javax.management.MBeanInfo;
import javax.management.MBeanServer;
import javax.management.ObjectName;

/**
 * A stack's counters as a read-only JMX MBean ({@code io.usertcp:type=Stack,name=<link>,id=<n>}), one attribute per
 * {@link StackStats} counter, so that jconsole, VisualVM or a JMX exporter sees them without code. Registered when an
 * event loop's stack starts and unregistered when it is destroyed. Values are read from the JMX thread while the
 * stack's thread writes them: each is a plain long and may be slightly stale.
 */
final class StackStatsMBean implements DynamicMBean {
    private static final AtomicInteger IDS = new AtomicInteger();
    private static final List<String> NAMES = StackStats.names();
    private static final MBeanInfo INFO = new MBeanInfo(StackStatsMBean.class.getName(),
            "usertcp stack counters (see StackStats and the README's tables)",
            NAMES.stream().map(n -> new MBeanAttributeInfo(n, "long", n, true, false, false))
                    .toArray(MBeanAttributeInfo[]::new), null, null, null);

    private final StackStats stats;
    private final ObjectName name;

    private StackStatsMBean(StackStats stats, ObjectName name) {
        this.stats = stats;
        this.name = name;
    }

    /** Registers {@code stats} under a name made of {@code link}; returns null (and registers nothing) on failure. */
    static StackStatsMBean register(StackStats stats, String link) {
        try {
            ObjectName n = new ObjectName("io.usertcp:type=Stack,name=" + ObjectName.quote(link) + ",id="
                    + IDS.incrementAndGet());
            StackStatsMBean bean = new StackStatsMBean(stats, n);
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
    public Object invoke(String actionName, Object[] params, String[] signature) {
        throw new UnsupportedOperationException("no operations");
    }

    @Override
    public MBeanInfo getMBeanInfo() {
        return INFO;
    }
}
