package io.usertcp.examples;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The {@code --pcap FILE} option every example takes, anywhere among its arguments: the stack then writes every frame
 * it receives and sends (and its loopback traffic) into {@code FILE} as pcapng, for Wireshark, {@code tshark -r} or
 * {@code tcpdump -r}.
 *
 * @param rest the arguments without the option
 * @param file the capture file, or null
 */
record CaptureOption(String[] rest, Path file) {
    static final String FLAG = "--pcap";

    /** Takes {@code --pcap FILE} out of {@code args}; a missing FILE is an IllegalArgumentException. */
    static CaptureOption extract(String[] args) {
        List<String> rest = new ArrayList<>();
        Path file = null;
        for (int i = 0; i < args.length; i++) {
            if (args[i].equals(FLAG)) {
                if (i + 1 >= args.length || args[i + 1].isEmpty() || args[i + 1].startsWith("--")) {
                    throw new IllegalArgumentException(FLAG + " needs a file name, e.g. " + FLAG + " /tmp/usertcp.pcapng");
                }
                if (file != null) {
                    throw new IllegalArgumentException(FLAG + " given twice");
                }
                file = Path.of(args[++i]);
            } else {
                rest.add(args[i]);
            }
        }
        return new CaptureOption(rest.toArray(new String[0]), file);
    }
}
