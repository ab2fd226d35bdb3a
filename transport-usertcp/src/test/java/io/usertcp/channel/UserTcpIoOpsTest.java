package io.usertcp.channel;

import io.usertcp.tcp.TcpSocket;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** {@link UserTcpIoOps}: values, set operations, the cached events. */
class UserTcpIoOpsTest {
    @Test
    void operationsAreTheBitsOfTcpSocketEvents() {
        assertThat(UserTcpIoOps.READ.value()).isEqualTo(TcpSocket.EV_READABLE);
        assertThat(UserTcpIoOps.WRITE.value()).isEqualTo(TcpSocket.EV_WRITABLE);
        assertThat(UserTcpIoOps.CONNECT.value()).isEqualTo(TcpSocket.EV_CONNECTED);
        assertThat(UserTcpIoOps.INPUT_CLOSED.value()).isEqualTo(TcpSocket.EV_INPUT_CLOSED);
        assertThat(UserTcpIoOps.CLOSED.value()).isEqualTo(TcpSocket.EV_CLOSED);
        assertThat(UserTcpIoOps.URGENT.value()).isEqualTo(TcpSocket.EV_URGENT);
        assertThat(UserTcpIoOps.ERROR.value() & (UserTcpIoOps.INTEREST | TcpSocket.EV_URGENT
                | TcpSocket.EV_CLOSED | TcpSocket.EV_INPUT_CLOSED)).isZero();
    }

    @Test
    void setOperationsGiveTheCachedValues() {
        UserTcpIoOps rw = UserTcpIoOps.READ.with(UserTcpIoOps.WRITE);
        assertThat(rw).isSameAs(UserTcpIoOps.valueOf(UserTcpIoOps.READ.value() | UserTcpIoOps.WRITE.value()));
        assertThat(rw.contains(UserTcpIoOps.READ)).isTrue();
        assertThat(rw.contains(UserTcpIoOps.CONNECT)).isFalse();
        assertThat(rw.without(UserTcpIoOps.READ)).isSameAs(UserTcpIoOps.WRITE);
        assertThat(UserTcpIoOps.NONE.value()).isZero();
        assertThat(rw.toString()).isEqualTo("UserTcpIoOps(READ|WRITE)");
        assertThat(rw).isEqualTo(UserTcpIoOps.valueOf(3)).hasSameHashCodeAs(UserTcpIoOps.valueOf(3));
    }

    @Test
    void bitsThatAreNoOperationAreRefused() {
        assertThatThrownBy(() -> UserTcpIoOps.valueOf(128)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> UserTcpIoOps.valueOf(-1)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void eventsAreCachedAndCarryTheirOperations() {
        int v = UserTcpIoOps.READ.value() | UserTcpIoOps.CLOSED.value();
        assertThat(UserTcpIoOps.eventOf(v)).isSameAs(UserTcpIoOps.eventOf(v));
        assertThat(UserTcpIoOps.eventOf(v).ops()).isSameAs(UserTcpIoOps.valueOf(v));
    }
}
