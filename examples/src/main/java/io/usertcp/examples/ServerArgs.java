package io.usertcp.examples;

import io.usertcp.stack.StackConfig;

import java.net.Inet6Address;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.List;

/**
 * The arguments of the server examples ({@code echo-server}, {@code http-server}, {@code udp-echo-server}):
 * {@code [tap-device] [kernel-address/prefix[,...]] [stack-address[,...]] [port]}.
 *
 * <p>The kernel and stack addresses are comma-separated lists, IPv4 and IPv6 mixed, e.g.
 * {@code 198.18.0.1/24,fd00:198::1/64 198.18.0.2,fd00:198::2}. Every kernel address needs a prefix length. A
 * stack address without one takes that of the (first) kernel address of its family: the stack sits on the
 * kernel's subnet.
 *
 * @param tap             the TAP device name
 * @param kernelAddresses the kernel side's addresses with prefix, e.g. {@code 198.18.0.1/24}, as given
 * @param stackAddresses  the stack's addresses, each with its prefix length, e.g. {@code 198.18.0.2/24}
 * @param port            the port to serve on
 */
record ServerArgs(String tap, List<String> kernelAddresses, List<String> stackAddresses, int port) {

    ServerArgs {
        kernelAddresses = List.copyOf(kernelAddresses);
        stackAddresses = List.copyOf(stackAddresses);
    }

    /**
     * Parses up to four arguments; missing ones take the defaults of {@link EchoServer} (and
     * {@code defaultPort}).
     *
     * @throws IllegalArgumentException with a message naming the problem (too many arguments, bad port, a
     *                                  kernel address without prefix, a bad address, a stack address whose
     *                                  family has no kernel address to take its prefix length from)
     */
    static ServerArgs parse(String[] args, int defaultPort) {
        if (args.length > 4) {
            throw new IllegalArgumentException("too many arguments (" + args.length
                    + "): expected [tap-device] [kernel-address/prefix[,...]] [stack-address[,...]] [port]");
        }
        String tap = EchoServer.arg(args, 0, EchoServer.DEFAULT_TAP);
        String portText = EchoServer.arg(args, 3, String.valueOf(defaultPort));
        int port;
        try {
            port = Integer.parseInt(portText.trim());
        } catch (NumberFormatException e) {
            port = -1;
        }
        if (port < 1 || port > 65535) {
            throw new IllegalArgumentException("bad port '" + portText + "': use 1..65535");
        }

        List<String> kernel = new ArrayList<>();
        Integer kernelPrefix4 = null;
        Integer kernelPrefix6 = null;
        for (String k : split(EchoServer.arg(args, 1, EchoServer.DEFAULT_KERNEL_ADDRESS), "kernel address")) {
            int slash = k.indexOf('/');
            if (slash < 0) {
                throw new IllegalArgumentException("the kernel address needs a prefix length, e.g. "
                        + EchoServer.DEFAULT_KERNEL_ADDRESS + " or fd00:198::1/64: '" + k + "'");
            }
            StackConfig.InterfaceAddress a = parseAddress(k, "kernel address");
            if (a.address() instanceof Inet6Address) {
                kernelPrefix6 = kernelPrefix6 != null ? kernelPrefix6 : a.prefixLength();
            } else {
                kernelPrefix4 = kernelPrefix4 != null ? kernelPrefix4 : a.prefixLength();
            }
            kernel.add(k);
        }

        List<String> stack = new ArrayList<>();
        for (String s : split(EchoServer.arg(args, 2, EchoServer.DEFAULT_STACK_ADDRESS), "stack address")) {
            if (s.indexOf('/') >= 0) {
                parseAddress(s, "stack address");
                stack.add(s);
                continue;
            }
            InetAddress a;
            try {
                a = StackConfig.parseLiteral(s);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("bad stack address '" + s + "': " + e.getMessage(), e);
            }
            boolean v6 = a instanceof Inet6Address;
            Integer prefix = v6 ? kernelPrefix6 : kernelPrefix4;
            if (prefix == null) {
                String family = v6 ? "IPv6" : "IPv4";
                throw new IllegalArgumentException("stack address " + s + " is " + family + " but no " + family
                        + " kernel address was given to take its prefix length from: add one (e.g. "
                        + (v6 ? "fd00:198::1/64" : EchoServer.DEFAULT_KERNEL_ADDRESS)
                        + ") to the kernel addresses, or give the stack address a prefix length ("
                        + s + (v6 ? "/64" : "/24") + ")");
            }
            stack.add(s + "/" + prefix);
        }
        return new ServerArgs(tap, kernel, stack, port);
    }

    /** The stack's addresses with the port, e.g. {@code 198.18.0.2:7, [fd00:198::2]:7}. */
    String listening() {
        List<String> out = new ArrayList<>();
        for (String s : stackAddresses) {
            String addr = s.substring(0, s.indexOf('/'));
            out.add((addr.indexOf(':') >= 0 ? "[" + addr + "]" : addr) + ":" + port);
        }
        return String.join(", ", out);
    }

    /** The kernel addresses as given, comma-separated. */
    String kernelSide() {
        return String.join(", ", kernelAddresses);
    }

    /** The commands that configure the kernel side by hand, for a user who is not root. */
    List<String> manualSetup() {
        List<String> out = new ArrayList<>();
        out.add("sudo ip tuntap add dev " + tap + " mode tap user $USER");
        for (String k : kernelAddresses) {
            out.add("sudo ip addr add " + k + " dev " + tap + (k.indexOf(':') >= 0 ? " nodad" : ""));
        }
        out.add("sudo ip link set " + tap + " up");
        return out;
    }

    private static List<String> split(String list, String what) {
        List<String> out = new ArrayList<>();
        for (String item : list.split(",", -1)) {
            String t = item.trim();
            if (t.isEmpty()) {
                throw new IllegalArgumentException("empty " + what + " in '" + list
                        + "': separate addresses with single commas, e.g. 198.18.0.1/24,fd00:198::1/64");
            }
            out.add(t);
        }
        return out;
    }

    private static StackConfig.InterfaceAddress parseAddress(String text, String what) {
        try {
            return StackConfig.InterfaceAddress.parse(text, 24);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("bad " + what + " '" + text + "': " + e.getMessage(), e);
        }
    }
}
