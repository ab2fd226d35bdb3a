package io.usertcp.sim;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The JVM's class histogram of live objects (as {@code jcmd GC.class_histogram} prints it), parsed, and the
 * difference of two of them per unit (per connection): what a footprint measurement's heap is made of.
 */
public final class HeapHistogram {
    private final Map<String, long[]> classes; // class name -> {instances, bytes}

    private HeapHistogram(Map<String, long[]> classes) {
        this.classes = classes;
    }

    /** Takes the histogram now (the diagnostic command runs a full GC first). */
    public static HeapHistogram take() throws Exception {
        String text = (String) java.lang.management.ManagementFactory.getPlatformMBeanServer().invoke(
                new javax.management.ObjectName("com.sun.management:type=DiagnosticCommand"), "gcClassHistogram",
                new Object[] {null}, new String[] {String[].class.getName()});
        Map<String, long[]> m = new HashMap<>();
        for (String line : text.split("\n")) {
            String[] f = line.trim().split("\\s+");
            if (f.length >= 4 && f[0].endsWith(":")) {
                m.put(f[3], new long[] {Long.parseLong(f[1]), Long.parseLong(f[2])});
            }
        }
        return new HeapHistogram(m);
    }

    /** Bytes of live objects of the classes that grew since {@code before}, summed. */
    public long grewSince(HeapHistogram before) {
        long total = 0;
        for (Map.Entry<String, long[]> e : classes.entrySet()) {
            long d = e.getValue()[1] - before.classes.getOrDefault(e.getKey(), new long[2])[1];
            if (d > 0) {
                total += d;
            }
        }
        return total;
    }

    /**
     * The classes whose bytes grew most from {@code before} to this one, as instances and bytes per {@code units},
     * at most {@code limit} lines, biggest first, with the total of what grew.
     */
    public String since(HeapHistogram before, long units, int limit) {
        List<Map.Entry<String, long[]>> grew = new ArrayList<>();
        long total = 0;
        for (Map.Entry<String, long[]> e : classes.entrySet()) {
            long[] b = before.classes.getOrDefault(e.getKey(), new long[2]);
            long[] d = {e.getValue()[0] - b[0], e.getValue()[1] - b[1]};
            if (d[1] > 0) {
                grew.add(Map.entry(e.getKey(), d));
                total += d[1];
            }
        }
        grew.sort((x, y) -> Long.compare(y.getValue()[1], x.getValue()[1]));
        StringBuilder sb = new StringBuilder(String.format("%10s %10s  %s%n", "objects/u", "bytes/u", "class"));
        for (int i = 0; i < Math.min(limit, grew.size()); i++) {
            long[] d = grew.get(i).getValue();
            sb.append(String.format("%10.2f %10.1f  %s%n", (double) d[0] / units, (double) d[1] / units,
                    grew.get(i).getKey()));
        }
        sb.append(String.format("%10s %10.1f  (every class that grew)%n", "", (double) total / units));
        return sb.toString();
    }
}
