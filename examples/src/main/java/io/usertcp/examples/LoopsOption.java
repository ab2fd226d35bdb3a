package io.usertcp.examples;

import java.util.ArrayList;
import java.util.List;

/**
 * The {@code --loops N} option of the server examples, anywhere among their arguments: the number of event loops,
 * each with its own stack over its own queue of a multi-queue TAP device (issue #12). By default, as root (which
 * creates the device with one queue per loop), one loop per core; otherwise one, since a device made beforehand with
 * {@code ip tuntap add} has one queue unless it was made with {@code multi_queue}. A capture ({@code --pcap}) takes
 * one loop: the stacks would share its file.
 *
 * @param rest  the arguments without the option
 * @param loops the number of event loops, at least 1
 */
record LoopsOption(String[] rest, int loops) {
    static final String FLAG = "--loops";

    /** Takes {@code --loops N} out of {@code args}; a missing or bad N is an IllegalArgumentException. */
    static LoopsOption extract(String[] args, boolean root, boolean capture) {
        List<String> rest = new ArrayList<>();
        Integer loops = null;
        for (int i = 0; i < args.length; i++) {
            if (!args[i].equals(FLAG)) {
                rest.add(args[i]);
                continue;
            }
            if (loops != null) {
                throw new IllegalArgumentException(FLAG + " given twice");
            }
            String n = i + 1 < args.length ? args[++i] : "";
            try {
                loops = Integer.parseInt(n.trim());
            } catch (NumberFormatException e) {
                loops = 0;
            }
            if (loops < 1 || loops > 1024) {
                throw new IllegalArgumentException(FLAG + " needs a number of event loops from 1 to 1024, e.g. "
                        + FLAG + " 4: '" + n + "'");
            }
        }
        if (loops == null) {
            loops = root && !capture ? Runtime.getRuntime().availableProcessors() : 1;
        } else if (loops > 1 && capture) {
            throw new IllegalArgumentException(CaptureOption.FLAG + " captures one stack: use " + FLAG + " 1");
        }
        return new LoopsOption(rest.toArray(new String[0]), loops);
    }
}
