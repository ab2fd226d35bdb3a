package io.usertcp.examples;

import java.util.Arrays;

/**
 * Entry point of {@code usertcp-examples.jar}: dispatches to the example named by the first argument.
 */
public final class Main {

    static final String USAGE = String.join(System.lineSeparator(),
            "usage: java -jar usertcp-examples.jar <command> [arguments]",
            "",
            "commands:",
            "  echo-server [tap-device] [kernel-address/prefix[,...]] [stack-address[,...]] [port]",
            "      TCP echo server on the usertcp stack over a Linux TAP device.",
            "      Defaults: " + String.join(" ", EchoServer.DEFAULT_TAP, EchoServer.DEFAULT_KERNEL_ADDRESS,
                    EchoServer.DEFAULT_STACK_ADDRESS, String.valueOf(EchoServer.DEFAULT_PORT)),
            "      The addresses may be comma-separated lists of IPv4 and IPv6 addresses, e.g.",
            "        echo-server tap0 198.18.0.1/24,fd00:198::1/64 198.18.0.2,fd00:198::2 7000",
            "      (or IPv6 only: echo-server tap0 fd00:198::1/64 fd00:198::2 7000). A stack address",
            "      without /prefix takes the prefix length of the kernel address of its family.",
            "      As root it creates the TAP device and configures the kernel's side (link up, addresses);",
            "      otherwise it attaches to an existing TAP device.",
            "      -Dusertcp.netns=NS (or USERTCP_NETNS=NS) moves the TAP into network namespace NS.",
            "  udp-echo-server [tap-device] [kernel-address/prefix[,...]] [stack-address[,...]] [port]",
            "      UDP echo server (RFC 862) on the usertcp stack: each datagram goes back to its sender;",
            "      datagrams larger than the MTU travel as IP fragments. Same arguments and defaults as",
            "      echo-server.",
            "  http-server [tap-device] [kernel-address/prefix[,...]] [stack-address[,...]] [port]",
            "      Netty's HTTP hello-world server on usertcp (default port 80); same arguments otherwise.",
            "  echo-client [tap-device] [kernel-address/prefix] [stack-address] [port] [seconds] [size]",
            "      Netty's echo client on usertcp: connects to an echo server at the kernel address and",
            "      reports round trips per second.",
            "  nio-echo-server <bind-address> <port>",
            "      The same echo handler on Netty's NIO transport (kernel TCP), for comparison.",
            "  The server commands also take --loops N: N event loops, each with its own stack over its",
            "  own queue of a multi-queue TAP device (default: one per core as root, else 1).",
            "  Every usertcp command also takes --pcap FILE: the stack writes every frame it sends and",
            "  receives (its loopback too) into FILE as pcapng, for wireshark, tshark -r or tcpdump -r.",
            "  While a usertcp command runs, a line 'ss' on its standard input prints the stack's",
            "  connection table (as ss -tuai), 'stats' its counters; kill -USR2 <pid> prints both.",
            "  check",
            "      Prints whether usertcp can run here (UserTcp.isAvailable()), the cause and the fix",
            "      when not, whether CAP_NET_ADMIN is held and what /dev/net/tun is. Exit code 0 when",
            "      available, else 1.",
            "  help, --help, -h",
            "      Print this text.");

    private Main() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length == 0) {
            System.err.println(USAGE);
            System.exit(2);
        }
        String[] rest = Arrays.copyOfRange(args, 1, args.length);
        switch (args[0]) {
            case "echo-server":
                System.exit(EchoServer.run(rest));
                break;
            case "udp-echo-server":
                System.exit(UdpEchoServer.run(rest));
                break;
            case "http-server":
                System.exit(HttpServer.run(rest));
                break;
            case "echo-client":
                System.exit(EchoClient.run(rest));
                break;
            case "nio-echo-server":
                System.exit(NioEchoServer.run(rest));
                break;
            case "check":
                System.exit(Check.run(rest, System.out));
                break;
            case "help":
            case "--help":
            case "-h":
                System.out.println(USAGE);
                break;
            default:
                System.err.println("unknown command '" + args[0] + "'");
                System.err.println(USAGE);
                System.exit(2);
        }
    }
}
