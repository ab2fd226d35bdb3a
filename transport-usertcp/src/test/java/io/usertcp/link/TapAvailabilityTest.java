package io.usertcp.link;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TapAvailabilityTest {
    @TempDir
    Path dir;

    @Test
    void readsTheEffectiveCapabilitySet() throws IOException {
        Path status = dir.resolve("status");
        Files.writeString(status, "Name:\tjava\nCapInh:\t0000000000000000\nCapPrm:\t000001ffffffffff\n"
                + "CapEff:\t000001ffffffffff\nCapBnd:\t000001ffffffffff\n");
        assertThat(TapAvailability.effectiveCapabilities(status)).isEqualTo(0x1ffffffffffL);
        Files.writeString(status, "CapEff:\t00000000a80425fb\n"); // Docker's default set: no NET_ADMIN (bit 12)
        long eff = TapAvailability.effectiveCapabilities(status);
        assertThat(eff & (1L << TapAvailability.CAP_NET_ADMIN)).isZero();
        Files.writeString(status, "CapEff:\t00000000a80435fb\n"); // the same with --cap-add NET_ADMIN
        assertThat(TapAvailability.effectiveCapabilities(status) & (1L << TapAvailability.CAP_NET_ADMIN)).isNotZero();
        Files.writeString(status, "Name:\tjava\n");
        assertThat(TapAvailability.effectiveCapabilities(status)).isNull();
        assertThat(TapAvailability.effectiveCapabilities(dir.resolve("missing"))).isNull();
    }

    @Test
    void theAdviceFitsWhoIsAsking() {
        String user = System.getProperty("user.name");
        try {
            System.setProperty("user.name", "root");
            assertThat(TapAvailability.netAdminAdvice("tap0")).contains("runs as root but without CAP_NET_ADMIN")
                    .contains("--cap-add NET_ADMIN");
            System.setProperty("user.name", "alice");
            assertThat(TapAvailability.netAdminAdvice("tap0")).contains("run as root")
                    .contains("ip tuntap add dev tap0 mode tap user $USER");
        } finally {
            System.setProperty("user.name", user);
        }
    }

    @Test
    void thisMachineCanUseTapDevicesWhenTheDeviceNodeIsThere() {
        // The unit tests run on Linux; /dev/net/tun decides (the CI machine and containers with --device have it).
        boolean node = Files.exists(Path.of(TapAvailability.TUN_PATH));
        assertThat(TapAvailability.unavailabilityCause() == null).isEqualTo(node);
        if (!node) {
            assertThat(TapAvailability.unavailabilityCause()).hasMessageContaining("modprobe tun");
        }
    }
}
