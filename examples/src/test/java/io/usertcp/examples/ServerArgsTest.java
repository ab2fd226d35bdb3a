package io.usertcp.examples;

import io.usertcp.stack.StackConfig;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The server examples' arguments ({@link ServerArgs}), parsed without a TAP device. */
class ServerArgsTest {

    private static ServerArgs parse(String... args) {
        return ServerArgs.parse(args, 7);
    }

    @Test
    void defaults() {
        ServerArgs a = parse();
        assertEquals(EchoServer.DEFAULT_TAP, a.tap());
        assertEquals(List.of(EchoServer.DEFAULT_KERNEL_ADDRESS), a.kernelAddresses());
        assertEquals(List.of(EchoServer.DEFAULT_STACK_ADDRESS + "/24"), a.stackAddresses());
        assertEquals(7, a.port());
        assertEquals(80, ServerArgs.parse(new String[0], 80).port());
    }

    @Test
    void singleIpv4AsBefore() {
        ServerArgs a = parse("tap1", "198.18.7.1/25", "198.18.7.2", "7000");
        assertEquals("tap1", a.tap());
        assertEquals(List.of("198.18.7.1/25"), a.kernelAddresses());
        assertEquals(List.of("198.18.7.2/25"), a.stackAddresses());
        assertEquals(7000, a.port());
        assertEquals("198.18.7.2:7000", a.listening());
    }

    @Test
    void dualStackLists() {
        ServerArgs a = parse("tap0", "198.18.0.1/24,fd00:198::1/64", "198.18.0.2,fd00:198::2", "7000");
        assertEquals(List.of("198.18.0.1/24", "fd00:198::1/64"), a.kernelAddresses());
        assertEquals(List.of("198.18.0.2/24", "fd00:198::2/64"), a.stackAddresses());
        assertEquals("198.18.0.2:7000, [fd00:198::2]:7000", a.listening());
        assertEquals("198.18.0.1/24, fd00:198::1/64", a.kernelSide());
    }

    @Test
    void eachStackAddressTakesThePrefixOfItsFamily() {
        ServerArgs a = parse("tap0", "fd00:198::1/112, 198.18.0.1/16", "fd00:198::2 ,198.18.0.2", "7");
        assertEquals(List.of("fd00:198::1/112", "198.18.0.1/16"), a.kernelAddresses());
        assertEquals(List.of("fd00:198::2/112", "198.18.0.2/16"), a.stackAddresses());
    }

    @Test
    void ipv6Only() {
        ServerArgs a = parse("tap0", "fd00:198::1/64", "fd00:198::2", "7000");
        assertEquals(List.of("fd00:198::1/64"), a.kernelAddresses());
        assertEquals(List.of("fd00:198::2/64"), a.stackAddresses());
        assertEquals("[fd00:198::2]:7000", a.listening());
    }

    @Test
    void explicitStackPrefixIsKept() {
        ServerArgs a = parse("tap0", "198.18.0.1/24", "198.18.0.2/30,fd00:198::2/64", "7");
        assertEquals(List.of("198.18.0.2/30", "fd00:198::2/64"), a.stackAddresses());
    }

    @Test
    void stackAddressOfAFamilyWithoutKernelAddressIsAnError() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> parse("tap0", "198.18.0.1/24", "198.18.0.2,fd00:198::2", "7"));
        assertTrue(e.getMessage().contains("fd00:198::2") && e.getMessage().contains("IPv6")
                && e.getMessage().contains("kernel address"), e.getMessage());
        IllegalArgumentException e4 = assertThrows(IllegalArgumentException.class,
                () -> parse("tap0", "fd00:198::1/64", "198.18.0.2", "7"));
        assertTrue(e4.getMessage().contains("198.18.0.2") && e4.getMessage().contains("IPv4"), e4.getMessage());
    }

    @Test
    void kernelAddressNeedsAPrefix() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> parse("tap0", "198.18.0.1/24,fd00:198::1", "198.18.0.2", "7"));
        assertTrue(e.getMessage().contains("prefix length") && e.getMessage().contains("'fd00:198::1'"),
                e.getMessage());
    }

    @Test
    void badInputIsNamed() {
        assertMessage("bad port 'x'", "tap0", "198.18.0.1/24", "198.18.0.2", "x");
        assertMessage("bad port '70000'", "tap0", "198.18.0.1/24", "198.18.0.2", "70000");
        assertMessage("empty kernel address", "tap0", "198.18.0.1/24,", "198.18.0.2", "7");
        assertMessage("empty stack address", "tap0", "198.18.0.1/24", ",198.18.0.2", "7");
        assertMessage("bad stack address 'example.org'", "tap0", "198.18.0.1/24", "example.org", "7");
        assertMessage("bad kernel address '198.18.0.300/24'", "tap0", "198.18.0.300/24", "198.18.0.2", "7");
        assertMessage("bad kernel address '198.18.0.1/33'", "tap0", "198.18.0.1/33", "198.18.0.2", "7");
        assertMessage("too many arguments", "tap0", "198.18.0.1/24", "198.18.0.2", "7", "extra");
    }

    @Test
    void configGetsEveryAddress() {
        ServerArgs a = parse("tap0", "198.18.0.1/24,fd00:198::1/64", "198.18.0.2,fd00:198::2", "7");
        StackConfig cfg = EchoServer.stackConfig(a, "ns1", true);
        assertEquals(List.of(StackConfig.parseLiteral("198.18.0.2"), StackConfig.parseLiteral("fd00:198::2")),
                cfg.addresses().stream().map(StackConfig.InterfaceAddress::address).toList());
        assertEquals(List.of(24, 64), cfg.addresses().stream().map(StackConfig.InterfaceAddress::prefixLength).toList());
        io.usertcp.link.TapConfig tap = (io.usertcp.link.TapConfig) cfg.link();
        assertEquals(List.of("198.18.0.1/24", "fd00:198::1/64"), tap.kernelAddresses());
        assertEquals("ns1", tap.namespace());
        // The kernel side is the default gateway of each family (replies beyond the prefix go to it).
        assertEquals(StackConfig.parseLiteral("198.18.0.1"), cfg.gateway());
        assertEquals(StackConfig.parseLiteral("fd00:198::1"), cfg.gateway6());
        // Not root: the kernel side is left alone, the stack still gets its addresses.
        StackConfig user = EchoServer.stackConfig(a, null, false);
        assertEquals(2, user.addresses().size());
        assertEquals(List.of(), ((io.usertcp.link.TapConfig) user.link()).kernelAddresses());
    }

    @Test
    void kernelSideOffTheStacksPrefixIsNoGateway() {
        ServerArgs a = parse("tap0", "198.18.1.1/24", "198.18.0.2/24", "7");
        assertNull(EchoServer.stackConfig(a, null, true).gateway());
        assertTrue(EchoServer.onLink(StackConfig.parseLiteral("198.18.0.200"), List.of("198.18.0.2/24")));
        assertFalse(EchoServer.onLink(StackConfig.parseLiteral("198.18.1.1"), List.of("198.18.0.2/24")));
        assertTrue(EchoServer.onLink(StackConfig.parseLiteral("198.18.1.1"), List.of("198.18.0.2/23")));
        assertFalse(EchoServer.onLink(StackConfig.parseLiteral("fd00::1"), List.of("198.18.0.2/24")));
    }

    @Test
    void manualSetupAddsIpv6WithoutDad() {
        ServerArgs a = parse("tap9", "198.18.0.1/24,fd00:198::1/64", "198.18.0.2,fd00:198::2", "7");
        assertEquals(List.of("sudo ip tuntap add dev tap9 mode tap user $USER",
                "sudo ip addr add 198.18.0.1/24 dev tap9",
                "sudo ip addr add fd00:198::1/64 dev tap9 nodad",
                "sudo ip link set tap9 up"), a.manualSetup());
    }

    private static void assertMessage(String expected, String... args) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> parse(args));
        assertTrue(e.getMessage().contains(expected), () -> "expected '" + expected + "' in: " + e.getMessage());
    }
}
