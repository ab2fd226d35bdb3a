package io.usertcp.channel;

import io.netty.channel.IoEvent;
import io.netty.channel.IoHandle;
import io.netty.channel.IoHandler;
import io.netty.channel.IoOps;
import io.netty.channel.IoRegistration;
import io.netty.util.concurrent.ThreadAwareExecutor;
import io.usertcp.stack.StackConfig;
import io.usertcp.tcp.TcpSocket;
import io.usertcp.udp.UdpSocket;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Queue;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * {@link UserTcpIoHandler}'s side of Netty's I/O contract, without an event loop: registration, interest
 * submitted as {@link UserTcpIoOps}, the socket events delivered as {@link UserTcpIoEvent}s, cancel and destroy.
 */
class UserTcpIoRegistrationTest {
    /** Runs tasks when told; the test's thread is the executor's. */
    private final Queue<Runnable> tasks = new ArrayDeque<>();
    private final ThreadAwareExecutor executor = new ThreadAwareExecutor() {
        @Override
        public boolean isExecutorThread(Thread thread) {
            return thread == Thread.currentThread();
        }

        @Override
        public void execute(Runnable task) {
            tasks.add(task);
        }
    };
    private IoHandler handler;

    /** Records what it is told. */
    static final class Handle implements UserTcpIoHandler.UserTcpIoHandle {
        final List<UserTcpIoOps> events = new ArrayList<>();
        int unregistered;
        int closed;

        @Override
        public void handle(IoRegistration registration, IoEvent event) {
            events.add(((UserTcpIoEvent) event).ops());
        }

        @Override
        public void unregistered() {
            unregistered++;
        }

        @Override
        public void close() {
            closed++;
        }
    }

    @BeforeEach
    void open() {
        handler = UserTcpIoHandler.newFactory(StackConfig.builder().address("198.18.0.2/24").build())
                .newHandler(executor);
    }

    @AfterEach
    void close() {
        handler.destroy();
    }

    private void runTasks() {
        Runnable r;
        while ((r = tasks.poll()) != null) {
            r.run();
        }
    }

    @Test
    void onlyUsertcpHandlesAreCompatible() throws Exception {
        IoHandle foreign = new IoHandle() {
            @Override
            public void handle(IoRegistration registration, IoEvent ioEvent) {
            }

            @Override
            public void close() {
            }
        };
        assertThat(handler.isCompatible(Handle.class)).isTrue();
        assertThat(handler.isCompatible(foreign.getClass())).isFalse();
        assertThatThrownBy(() -> handler.register(foreign)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void eventsOutsideTheInterestAreNotDeliveredButHangUpsAlwaysAre() throws Exception {
        Handle h = new Handle();
        IoRegistration r = handler.register(h);
        UserTcpIoRegistration ur = r.attachment();
        assertThat(ur.ioHandler()).isSameAs(handler);
        assertThat(ur.interest()).isSameAs(UserTcpIoOps.NONE);

        ur.onTcpEvents(TcpSocket.EV_READABLE | TcpSocket.EV_WRITABLE);
        assertThat(h.events).isEmpty();

        assertThat(r.submit(UserTcpIoOps.READ)).isEqualTo(UserTcpIoOps.READ.value());
        ur.onTcpEvents(TcpSocket.EV_READABLE | TcpSocket.EV_WRITABLE);
        ur.onTcpEvents(TcpSocket.EV_INPUT_CLOSED | TcpSocket.EV_CLOSED | TcpSocket.EV_URGENT);
        assertThat(h.events).containsExactly(UserTcpIoOps.READ,
                UserTcpIoOps.INPUT_CLOSED.with(UserTcpIoOps.CLOSED).with(UserTcpIoOps.URGENT));

        h.events.clear();
        r.submit(UserTcpIoOps.WRITE.with(UserTcpIoOps.CONNECT));
        ur.onTcpEvents(TcpSocket.EV_READABLE | TcpSocket.EV_WRITABLE | TcpSocket.EV_CONNECTED);
        assertThat(h.events).containsExactly(UserTcpIoOps.WRITE.with(UserTcpIoOps.CONNECT));
    }

    @Test
    void datagramEventsBecomeReadAndError() throws Exception {
        Handle h = new Handle();
        IoRegistration r = handler.register(h);
        UserTcpIoRegistration ur = r.attachment();
        ur.onUdpEvents(UdpSocket.EV_READABLE | UdpSocket.EV_ERROR);
        r.submit(UserTcpIoOps.READ);
        ur.onUdpEvents(UdpSocket.EV_READABLE);
        assertThat(h.events).containsExactly(UserTcpIoOps.ERROR, UserTcpIoOps.READ);
    }

    @Test
    void readinessFoundOnRegistrationIsDeliveredAfterQueuedTasks() throws Exception {
        Handle h = new Handle();
        UserTcpIoRegistration ur = handler.register(h).attachment();
        ur.readyLater(UserTcpIoOps.INPUT_CLOSED.value());
        assertThat(h.events).isEmpty();
        runTasks();
        assertThat(h.events).containsExactly(UserTcpIoOps.INPUT_CLOSED);
    }

    @Test
    void aCancelledRegistrationDeliversNothingAndRefusesInterest() throws Exception {
        Handle h = new Handle();
        IoRegistration r = handler.register(h);
        UserTcpIoRegistration ur = r.attachment();
        r.submit(UserTcpIoOps.READ);
        assertThat(r.cancel()).isTrue();
        assertThat(r.cancel()).isFalse();
        assertThat(r.isValid()).isFalse();
        assertThat(h.unregistered).isEqualTo(1);
        assertThat(r.submit(UserTcpIoOps.READ)).isEqualTo(-1);
        ur.onTcpEvents(TcpSocket.EV_READABLE | TcpSocket.EV_CLOSED);
        ur.readyLater(UserTcpIoOps.CLOSED.value());
        runTasks();
        assertThat(h.events).isEmpty();
    }

    @Test
    void submitRefusesForeignOperations() throws Exception {
        IoRegistration r = handler.register(new Handle());
        IoOps foreign = new IoOps() {
        };
        assertThatThrownBy(() -> r.submit(foreign)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void prepareToDestroyCancelsAndClosesEveryHandle() throws Exception {
        Handle a = new Handle();
        Handle b = new Handle();
        IoRegistration ra = handler.register(a);
        IoRegistration rb = handler.register(b);
        rb.cancel();
        handler.prepareToDestroy();
        assertThat(ra.isValid()).isFalse();
        assertThat(a.closed).isEqualTo(1);
        assertThat(a.unregistered).isEqualTo(1);
        assertThat(b.closed).isZero(); // no longer registered
    }
}
