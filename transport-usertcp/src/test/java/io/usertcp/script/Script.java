package io.usertcp.script;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A parsed script: its settings ({@code %} lines) and its events, one a line, each at a time given
 * relative to the line before ({@code +0.2}) or from the start ({@code 1.5}).
 *
 * <pre>
 * % rcvbuf=4096 peer_isn=0xffffff00     settings, before the first event
 * ~0.02                                 tolerance for outbound lines from here on (seconds)
 * +0 listen(8080)                       a socket call
 * +0 &lt; S 0:0(0) win 65535 &lt;mss 1460&gt;   a segment the peer sends
 * +0 &gt; S. 0:0(0) ack 1 &lt;...&gt;           a segment the stack must send (within the tolerance)
 * +0 connect(224.0.0.1:80) = error        a call that must throw (optionally: a substring of the message)
 * // or # start a comment
 * </pre>
 */
final class Script {
    /** One line of the script. */
    abstract static class Event {
        final int line;
        final String text;
        final long time; // nanoseconds from the start of the script

        Event(int line, String text, long time) {
            this.line = line;
            this.text = text;
            this.time = time;
        }
    }

    /** {@code <} or {@code >}. */
    static final class SegmentEvent extends Event {
        final boolean inbound;
        final SegmentSpec spec;
        final long tolerance;

        SegmentEvent(int line, String text, long time, boolean inbound, SegmentSpec spec, long tolerance) {
            super(line, text, time);
            this.inbound = inbound;
            this.spec = spec;
            this.tolerance = tolerance;
        }
    }

    /** {@code name(arg, ...)}, or {@code name(arg, ...) = error [substring]} when the call must fail. */
    static final class CallEvent extends Event {
        final String name;
        final List<String> args;
        final String expectedError; // null: the call must succeed; "" or a substring: it must throw

        CallEvent(int line, String text, long time, String name, List<String> args, String expectedError) {
            super(line, text, time);
            this.name = name;
            this.args = args;
            this.expectedError = expectedError;
        }
    }

    final String name;
    final Map<String, String> settings;
    final List<Event> events;
    final long finalTolerance;

    private Script(String name, Map<String, String> settings, List<Event> events, long finalTolerance) {
        this.name = name;
        this.settings = Collections.unmodifiableMap(settings);
        this.events = Collections.unmodifiableList(events);
        this.finalTolerance = finalTolerance;
    }

    /** Loads {@code io/usertcp/script/NAME} from the test class path. */
    static Script resource(String name) {
        String path = "io/usertcp/script/" + name;
        try (InputStream in = Script.class.getClassLoader().getResourceAsStream(path)) {
            if (in == null) {
                throw new IllegalArgumentException("no script " + path + " on the class path");
            }
            return parse(path, new String(in.readAllBytes(), StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static final long DEFAULT_TOLERANCE = 10_000_000L; // 10 ms

    /** Parses script text; a syntax error names the line. */
    static Script parse(String name, String text) {
        Map<String, String> settings = new LinkedHashMap<>();
        List<Event> events = new ArrayList<>();
        long time = 0;
        long tolerance = DEFAULT_TOLERANCE;
        String[] lines = text.split("\n", -1);
        for (int n = 0; n < lines.length; n++) {
            String raw = lines[n];
            String l = stripComment(raw).trim();
            if (l.isEmpty()) {
                continue;
            }
            try {
                if (l.startsWith("%")) {
                    if (!events.isEmpty()) {
                        throw new IllegalArgumentException("settings (%) must come before the first event");
                    }
                    for (String kv : l.substring(1).trim().split("\\s+")) {
                        int eq = kv.indexOf('=');
                        if (eq <= 0) {
                            throw new IllegalArgumentException("write settings as key=value: '" + kv + "'");
                        }
                        settings.put(kv.substring(0, eq), kv.substring(eq + 1));
                    }
                    continue;
                }
                if (l.startsWith("~")) {
                    tolerance = seconds(l.substring(1).trim());
                    continue;
                }
                int sp = l.indexOf(' ');
                if (sp < 0) {
                    throw new IllegalArgumentException("expected 'TIME EVENT'");
                }
                String t = l.substring(0, sp);
                String ev = l.substring(sp + 1).trim();
                long at = t.startsWith("+") ? time + seconds(t.substring(1)) : seconds(t);
                if (at < time) {
                    throw new IllegalArgumentException("time goes backwards");
                }
                time = at;
                if (ev.startsWith("<") || ev.startsWith(">")) {
                    boolean inbound = ev.charAt(0) == '<';
                    events.add(new SegmentEvent(n + 1, l, time, inbound, SegmentSpec.parse(ev.substring(1), inbound),
                            tolerance));
                } else {
                    String error = null;
                    int eq = ev.lastIndexOf(") = error");
                    if (eq > 0) {
                        error = ev.substring(eq + ") = error".length()).trim();
                        ev = ev.substring(0, eq + 1);
                    }
                    int p = ev.indexOf('(');
                    if (p <= 0 || !ev.endsWith(")")) {
                        throw new IllegalArgumentException("expected '< segment', '> segment' or 'call(args)'");
                    }
                    String inner = ev.substring(p + 1, ev.length() - 1).trim();
                    List<String> args = inner.isEmpty() ? List.of() : Arrays.asList(inner.split("\\s*,\\s*"));
                    events.add(new CallEvent(n + 1, l, time, ev.substring(0, p).trim(), args, error));
                }
            } catch (RuntimeException e) {
                throw new IllegalArgumentException(name + " line " + (n + 1) + ": " + e.getMessage() + "\n    " + raw, e);
            }
        }
        return new Script(name, settings, events, tolerance);
    }

    private static String stripComment(String l) {
        int c = l.indexOf("//");
        int h = l.indexOf('#');
        int cut = c < 0 ? h : h < 0 ? c : Math.min(c, h);
        return cut < 0 ? l : l.substring(0, cut);
    }

    /** Seconds as text to nanoseconds, exactly. */
    static long seconds(String s) {
        try {
            return new BigDecimal(s).movePointRight(9).longValueExact();
        } catch (ArithmeticException | NumberFormatException e) {
            throw new IllegalArgumentException("bad time '" + s + "' (seconds, e.g. 0.2)");
        }
    }

    /** Nanoseconds as seconds text, e.g. {@code 1.200}. */
    static String secondsText(long nanos) {
        return BigDecimal.valueOf(nanos, 9).setScale(nanos % 1_000_000 == 0 ? 3 : 6, java.math.RoundingMode.HALF_UP)
                .toPlainString();
    }
}
