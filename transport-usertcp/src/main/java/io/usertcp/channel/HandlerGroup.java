package io.usertcp.channel;

import io.netty.util.concurrent.EventExecutor;
import io.netty.util.concurrent.EventExecutorGroup;
import io.netty.util.concurrent.MultithreadEventExecutorGroup;
import io.netty.util.concurrent.ThreadAwareExecutor;
import io.usertcp.stack.Stack;
import io.usertcp.stack.StackGroup;

import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * The handlers of one event loop group of several loops, made by one {@link UserTcpIoHandler#newFactory factory}:
 * handler {@code i} opens queue {@code i} of the link and runs stack {@code i} of a {@link StackGroup} (issue #12).
 * A group of one loop has none of this: its handler opens the link as it always did.
 */
final class HandlerGroup {
    private final int size;
    private final StackGroup stacks;
    private final AtomicReferenceArray<UserTcpIoHandler> handlers;
    private int next;
    private final java.util.concurrent.atomic.AtomicBoolean started = new java.util.concurrent.atomic.AtomicBoolean();
    private static final Runnable NOTHING = () -> { };

    /** Runs once every handler has left (the factory forgets the group). */
    private final Runnable onEmpty;

    private HandlerGroup(int size, Runnable onEmpty) {
        this.size = size;
        this.onEmpty = onEmpty;
        this.stacks = new StackGroup(size);
        this.handlers = new AtomicReferenceArray<>(size);
    }

    /**
     * The number of loops of the group {@code executor} belongs to, known while Netty builds the group (it makes
     * every loop's handler in its constructor); 1 when it cannot be told.
     */
    static int loopsOf(ThreadAwareExecutor executor) {
        if (executor instanceof EventExecutor e) {
            EventExecutorGroup parent = e.parent();
            if (parent instanceof MultithreadEventExecutorGroup g) {
                return g.executorCount();
            }
        }
        return 1;
    }

    /** The Netty group {@code executor} belongs to (the key of its handler group). */
    static Object parentOf(ThreadAwareExecutor executor) {
        return executor instanceof EventExecutor e && e.parent() != null ? e.parent() : executor;
    }

    /** A handler group for {@code size} loops; {@code onEmpty} runs once they have all left. */
    static HandlerGroup of(int size, Runnable onEmpty) {
        return new HandlerGroup(size, onEmpty);
    }

    int size() {
        return size;
    }

    /** The stacks of the group. */
    StackGroup stacks() {
        return stacks;
    }

    /** Reserves the next queue index (handlers are made one after another, in Netty's group constructor). */
    synchronized int nextQueue() {
        if (next == size) {
            throw new IllegalStateException("this factory's event loop group already has its " + size + " loops");
        }
        return next++;
    }

    /** Handler {@code h} runs stack {@code h.stack()} as the {@code queue}th of the group. */
    void joined(int queue, UserTcpIoHandler h) {
        handlers.set(queue, h);
        stacks.join(h.stack(), h::wakeup);
    }

    /**
     * Starts every loop of the group (Netty starts a loop's thread at its first task): a queue whose loop never
     * ran would hold the kernel's frames, ARP requests and SYNs that the tun driver spreads over all queues.
     * Called by each handler on its first turn; the first call does it.
     */
    void startAll() {
        if (started.getAndSet(true)) {
            return;
        }
        for (int i = 0; i < size; i++) {
            UserTcpIoHandler h = handlers.get(i);
            if (h != null && h.loop() != null) {
                h.loop().execute(NOTHING);
            }
        }
    }

    /** Handler {@code h} is gone. */
    void left(UserTcpIoHandler h) {
        boolean empty = true;
        for (int i = 0; i < size; i++) {
            handlers.compareAndSet(i, h, null);
            empty &= handlers.get(i) == null;
        }
        if (empty) {
            onEmpty.run();
        }
    }

    /** The handler that runs {@code stack}, or null. */
    UserTcpIoHandler handlerOf(Stack stack) {
        for (int i = 0; i < size; i++) {
            UserTcpIoHandler h = handlers.get(i);
            if (h != null && h.stack() == stack) {
                return h;
            }
        }
        return null;
    }
}
