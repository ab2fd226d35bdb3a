package io.usertcp.channel;

import io.netty.channel.ChannelPromise;
import io.netty.channel.EventLoop;
import io.netty.channel.IoEventLoop;
import io.netty.channel.IoRegistration;

import java.util.function.Consumer;
import java.util.function.Predicate;

/**
 * Registration with a {@link UserTcpIoHandler}, shared by the usertcp channels: register the channel's handle
 * with its event loop, refuse a loop whose stack does not own the channel's socket (a socket can only be
 * served by the loop that owns its stack), and hand the registration to the channel.
 */
final class Registrations {
    private Registrations() {
    }

    /**
     * Registers {@code handle} with {@code loop}, then completes {@code promise}: with a failure saying
     * {@code wrongLoop} when {@code owns} rejects the loop's handler, else after {@code registered} ran.
     */
    static void register(EventLoop loop, UserTcpIoHandler.UserTcpIoHandle handle, ChannelPromise promise,
                         Predicate<UserTcpIoHandler> owns, String wrongLoop, Consumer<IoRegistration> registered) {
        ((IoEventLoop) loop).register(handle).addListener(f -> {
            if (!f.isSuccess()) {
                promise.setFailure(f.cause());
                return;
            }
            IoRegistration r = (IoRegistration) f.getNow();
            if (!owns.test(r.attachment())) {
                r.cancel();
                promise.setFailure(new IllegalStateException(wrongLoop));
                return;
            }
            registered.accept(r);
        });
    }

    /** Cancels {@code r} if it is not null; returns null, for {@code registration = cancel(registration)}. */
    static IoRegistration cancel(IoRegistration r) {
        if (r != null) {
            r.cancel();
        }
        return null;
    }
}
