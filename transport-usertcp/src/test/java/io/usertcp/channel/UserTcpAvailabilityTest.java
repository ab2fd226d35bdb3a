package io.usertcp.channel;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class UserTcpAvailabilityTest {
    @Test
    void availabilityFollowsTheCauseAndEnsureThrowsWithIt() {
        Throwable cause = UserTcp.unavailabilityCause();
        assertThat(UserTcp.isAvailable()).isEqualTo(cause == null);
        assertThat(UserTcp.isAvailable()).isEqualTo(Files.exists(Path.of("/dev/net/tun")));
        if (cause == null) {
            assertThatCode(UserTcp::ensureAvailability).doesNotThrowAnyException();
        } else {
            assertThatThrownBy(UserTcp::ensureAvailability).isInstanceOf(IllegalStateException.class)
                    .hasCause(cause).hasMessageContaining(cause.getMessage());
        }
    }

    @Test
    void rootHasNetAdminOnThisMachine() {
        // The tests run as root (CI runs `.ci/run` as root); a root without the capability would be a container
        // that was not given it, which hasNetAdmin must tell apart.
        boolean root = "root".equals(System.getProperty("user.name"));
        if (root) {
            assertThat(UserTcp.hasNetAdmin()).isTrue();
        } else {
            assertThat(UserTcp.hasNetAdmin()).isFalse();
        }
    }
}
