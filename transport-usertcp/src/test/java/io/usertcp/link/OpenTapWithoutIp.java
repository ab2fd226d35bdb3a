package io.usertcp.link;

import java.io.IOException;

/**
 * The child JVM of {@link KernelSideTest#worksWithoutIpOnThePath}: checks that no {@code ip} can be started from
 * its PATH, opens the TAP device {@code args[0]} in namespace {@code args[1]} ({@code -}: none) with MTU
 * {@code args[2]} and the kernel addresses that follow, says {@link #READY}, and closes it when a line (or end of input) arrives on stdin.
 */
public final class OpenTapWithoutIp {
    static final String NO_IP = "no ip on the PATH";
    static final String READY = "configured";

    private OpenTapWithoutIp() {
    }

    /** See the class comment. */
    public static void main(String[] args) throws IOException {
        try {
            new ProcessBuilder("ip", "-V").start().destroyForcibly();
            System.out.println("ip can be started from PATH=" + System.getenv("PATH"));
            System.exit(2);
        } catch (IOException expected) {
            System.out.println(NO_IP + ": " + expected.getMessage());
        }
        TapConfig.Builder b = TapConfig.builder(args[0]).namespace("-".equals(args[1]) ? null : args[1]).mtu(Integer.parseInt(args[2]));
        for (int i = 3; i < args.length; i++) {
            b.kernelAddress(args[i]);
        }
        try (TapDevice dev = TapDevice.open(b.build())) {
            System.out.println(READY);
            System.out.flush();
            System.in.read();
        }
    }
}
