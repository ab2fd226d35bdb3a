package io.usertcp.channel;

import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.IoHandle;
import io.netty.channel.IoHandler;
import io.netty.channel.IoHandlerContext;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.IoRegistration;
import io.netty.util.concurrent.ThreadAwareExecutor;
import io.netty.util.internal.logging.InternalLogger;
import io.netty.util.internal.logging.InternalLoggerFactory;
import io.usertcp.link.EventFd;
import io.usertcp.link.Link;
import io.usertcp.link.LinkFailedException;
import io.usertcp.link.Poller;
import io.usertcp.link.TapDevice;
import io.usertcp.link.TapQueueWatch;
import io.usertcp.time.Clock;
import io.usertcp.stack.Stack;
import io.usertcp.stack.StackConfig;
import io.usertcp.time.TimerQueue;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The Netty {@link IoHandler} that owns one user-space stack and its link. Each event loop made with
 * {@link #newFactory(StackConfig)} has its own stack; the loop's thread is the only one that touches it.
 *
 * <p>One turn of {@link #run(IoHandlerContext)}: wait in {@code ppoll(2)} on the link's descriptor and an
 * eventfd (written by {@link #wakeup()} when another thread submits a task) for at most the sooner of
 * Netty's next scheduled task and the stack's next timer; read a batch of frames; fire due timers;
 * deliver socket events to channels; send the ACKs the batch owes.
 *
 * <p>Channels follow Netty's I/O contract: each registers an {@link IoHandle} and gets a
 * {@link IoRegistration}; it submits its interest as {@link UserTcpIoOps} (read, write, connect) and the
 * socket events the stack dispatches reach its {@link IoHandle#handle} as {@link UserTcpIoEvent}s.
 *
 * <pre>{@code
 * EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, UserTcpIoHandler.newFactory(config));
 * }</pre>
 */
public final class UserTcpIoHandler implements IoHandler {
    private static final InternalLogger logger = InternalLoggerFactory.getInstance(UserTcpIoHandler.class);
    /** Frames read per turn before timers, events and other tasks get their turn. */
    private static final int READ_BUDGET = 256;

    private final ThreadAwareExecutor executor;
    private final Stack stack;
    private final EventFd wakeFd;
    private final Poller poller;
    private final AtomicBoolean blocking = new AtomicBoolean();
    /**
     * The registrations, linked through their own fields (no set node per channel: issue #12, at most 2 KiB of
     * heap per idle connection). Touched on the event loop only.
     */
    private UserTcpIoRegistration firstRegistration;
    private int registrationCount;
    /** The read handle of the loop's stream channels that keep Netty's default RecvByteBufAllocator. */
    private final ExactReadHandle exactReads = new ExactReadHandle();
    private final StackStatsMBean mbean;
    /** The link's name (the TAP device's, e.g. tap0), "loopback" without one: for JMX and metrics. */
    private final String linkName;
    /** Whether the poller watches the link's descriptor at index 0 (until the link fails). */
    private final boolean pollsLink;
    /** The handlers of this loop's group when it has several loops (one stack each over one queue), else null. */
    private final HandlerGroup group;
    /** The first loop of a group over a TAP device watches that no other process attaches to it, else null. */
    private TapQueueWatch queueWatch;
    /** The periodic {@link #checkQueues()}, once the loop runs. */
    private java.util.concurrent.Future<?> queueCheck;
    /** Set on the first turn of the loop. */
    private boolean started;
    /** Set once the link failed for good: its descriptor is no longer polled. */
    private boolean linkFailed;
    /** When the last I/O error was logged ({@link System#nanoTime()}), for logging at most once a second. */
    private long lastErrorLog;
    /** I/O errors not logged since the last one that was. */
    private long unloggedErrors;

    /** The handler of each live usertcp event loop (the executor Netty hands the factory), for {@link UserTcp#stats}. */
    private static final java.util.concurrent.ConcurrentMap<ThreadAwareExecutor, UserTcpIoHandler> HANDLERS =
            new java.util.concurrent.ConcurrentHashMap<>();

    private UserTcpIoHandler(StackConfig config, ThreadAwareExecutor executor, HandlerGroup group) {
        this.executor = Objects.requireNonNull(executor, "executor");
        this.group = group;
        Link link = null;
        EventFd wake = null;
        try {
            int queue = group != null ? group.nextQueue() : -1;
            if (config.link() != null) {
                link = group != null ? config.link().openQueue(queue, group.size()) : config.link().open();
                if (queue == 0 && link instanceof TapDevice t) {
                    this.queueWatch = watch(t, group.size());
                }
            }
            wake = new EventFd();
            this.stack = new Stack(config, link, Clock.SYSTEM, ByteBufAllocator.DEFAULT);
            this.pollsLink = link != null && link.fd() >= 0;
            this.poller = pollsLink ? new Poller(link.fd(), wake.fd()) : new Poller(wake.fd());
            this.wakeFd = wake;
            this.linkName = link instanceof io.usertcp.link.TapDevice ? ((io.usertcp.link.TapDevice) link).name()
                    : link != null ? String.valueOf(link) : "loopback";
            this.mbean = StackStatsMBean.register(stack.stats(), linkName, this::connections);
            HANDLERS.put(executor, this);
            if (group != null) {
                group.joined(queue, this);
            }
        } catch (IOException e) {
            closeWatch();
            if (link != null) {
                link.close();
            }
            if (wake != null) {
                wake.close();
            }
            throw new UncheckedIOException(e.getMessage(), e);
        } catch (RuntimeException e) {
            closeWatch();
            if (link != null) {
                link.close();
            }
            if (wake != null) {
                wake.close();
            }
            throw e;
        }
    }

    /** A watch on the queues of {@code tap}, or null (logged) if it cannot be had: it only reports. */
    private static TapQueueWatch watch(TapDevice tap, int ours) {
        try {
            return TapQueueWatch.open(tap, ours);
        } catch (IOException e) {
            logger.warn("cannot watch TAP device {} for queues of other processes: {}", tap.name(), e.getMessage());
            return null;
        }
    }

    /** Once a second on the group's first loop: are queues of another process attached to the device? */
    private void checkQueues() {
        TapQueueWatch w = queueWatch;
        if (w != null) {
            int foreign = w.check();
            if (foreign >= 0) {
                stack.stats().tapForeignQueues = foreign;
            }
        }
    }

    private void closeWatch() {
        if (queueCheck != null) {
            queueCheck.cancel(false);
            queueCheck = null;
        }
        if (queueWatch != null) {
            queueWatch.close();
            queueWatch = null;
        }
    }

    /**
     * A factory of handlers, one per event loop, each with its own stack. With one loop the stack opens
     * {@code config}'s link. With N loops (any number, Netty's default too) loop {@code i} opens queue {@code i}
     * of a multi-queue TAP device and the N stacks form a {@link StackGroup}: listeners bound on any loop take
     * connections on every loop, an accepted connection stays on the loop whose queue received its SYN, and a
     * connection stays on the loop that opened it (issue #12). A link that cannot be shared (an in-memory link,
     * a TAP device made without multi-queue) fails the group with a message that says how to fix it.
     */
    public static IoHandlerFactory newFactory(StackConfig config) {
        Objects.requireNonNull(config, "config");
        java.util.Map<Object, HandlerGroup> groups = new java.util.concurrent.ConcurrentHashMap<>();
        return executor -> {
            int loops = HandlerGroup.loopsOf(executor);
            HandlerGroup g = loops == 1 ? null : groups.computeIfAbsent(HandlerGroup.parentOf(executor),
                    p -> HandlerGroup.of(loops, () -> groups.remove(p)));
            return new UserTcpIoHandler(config, executor, g);
        };
    }

    /** The event loop this handler serves, or null if Netty gave it some other executor. */
    io.netty.channel.EventLoop loop() {
        return executor instanceof io.netty.channel.EventLoop l ? l : null;
    }

    /** The handlers of this loop's group when it has several loops, else null. */
    HandlerGroup group() {
        return group;
    }

    /** The handler of the usertcp event loop {@code loop}, or null if it is not one (or was shut down). */
    static UserTcpIoHandler of(Object loop) {
        return HANDLERS.get(loop);
    }

    /** The JMX name of this stack's counters, or null if they could not be registered. */
    javax.management.ObjectName mbeanName() {
        return mbean != null ? mbean.objectName() : null;
    }

    /**
     * The stack's connection table, taken on the event loop's thread (at once when called there); fails if the
     * loop no longer takes tasks.
     */
    java.util.concurrent.CompletableFuture<java.util.List<io.usertcp.stats.ConnectionInfo>> connections() {
        java.util.concurrent.CompletableFuture<java.util.List<io.usertcp.stats.ConnectionInfo>> f =
                new java.util.concurrent.CompletableFuture<>();
        Runnable take = () -> {
            try {
                f.complete(io.usertcp.stack.ConnectionSnapshot.take(stack));
            } catch (RuntimeException e) {
                f.completeExceptionally(e);
            }
        };
        try {
            if (executor.isExecutorThread(Thread.currentThread())) {
                take.run();
            } else {
                executor.execute(take);
            }
        } catch (RuntimeException e) { // rejected: the loop is shutting down
            f.completeExceptionally(e);
        }
        return f;
    }

    /** The link's name (the TAP device's), or "loopback" for a stack without a link. */
    String linkName() {
        return linkName;
    }

    /** The stack this handler drives. Touch it only from the event loop's thread. */
    public Stack stack() {
        return stack;
    }

    @Override
    public int run(IoHandlerContext context) {
        if (!started) {
            started = true;
            if (group != null) {
                group.startAll(); // every queue needs its loop running
            }
            if (queueWatch != null && loop() != null) {
                queueCheck = loop().scheduleAtFixedRate(this::checkQueues, 1, 1, TimeUnit.SECONDS);
            }
        }
        int work = 0;
        try {
            if (context.canBlock() && !stack.hasPendingInput() && !stack.hasNextTurnEvents()) {
                blocking.set(true);
                try {
                    if (context.canBlock() && !stack.hasPendingInput()) { // again: a peer's wake-up may have missed
                        long now = System.nanoTime();
                        long timeout = context.delayNanos(now);
                        long deadline = stack.nextDeadline();
                        if (deadline != TimerQueue.NONE) {
                            timeout = Math.min(timeout, Math.max(0, deadline - stack.clock().nanoTime()));
                        }
                        poller.poll(timeout);
                    }
                } finally {
                    blocking.set(false);
                }
                if (poller.readable(poller.size() - 1)) {
                    wakeFd.drain();
                }
            }
            work += stack.pollLink(READ_BUDGET);
        } catch (LinkFailedException e) {
            linkFailed(e);
        } catch (IOException e) {
            ioError(e);
        }
        work += stack.runTimers();
        work += stack.dispatchEvents();
        stack.flush();
        return work;
    }

    /**
     * The link is gone for good: stop polling its descriptor (ppoll would report POLLERR at once on every turn),
     * say so once, and end the connections on it so that their channels see the cause and close. The loop goes
     * on running tasks, loopback and timers; nothing re-creates the device.
     */
    private void linkFailed(LinkFailedException e) {
        if (linkFailed) {
            return;
        }
        linkFailed = true;
        if (pollsLink) {
            poller.disable(0);
        }
        logger.warn("{}: closing the connections on it; the event loop keeps running (shut it down to stop)",
                e.getMessage());
        stack.linkFailed(new IOException("connection closed: the link is gone: " + e.getMessage(), e));
    }

    /** Any other I/O error of a turn: logged at most once a second, with how many were not. */
    private void ioError(IOException e) {
        long now = System.nanoTime();
        if (lastErrorLog != 0 && now - lastErrorLog < 1_000_000_000L) {
            unloggedErrors++;
            return;
        }
        lastErrorLog = now;
        long skipped = unloggedErrors;
        unloggedErrors = 0;
        logger.warn("usertcp I/O error on {}{}", stack.link(),
                skipped > 0 ? " (" + skipped + " more in the last second not logged)" : "", e);
    }

    @Override
    public void wakeup() {
        if (!executor.isExecutorThread(Thread.currentThread()) && blocking.compareAndSet(true, false)) {
            wakeFd.signal();
        }
    }

    /**
     * Cancels every registration and closes its channel, as the NIO and epoll handlers do before their loop
     * ends.
     */
    @Override
    public void prepareToDestroy() {
        UserTcpIoRegistration[] all = new UserTcpIoRegistration[registrationCount];
        int n = 0;
        for (UserTcpIoRegistration r = firstRegistration; r != null; r = r.next) {
            all[n++] = r;
        }
        for (UserTcpIoRegistration r : all) {
            r.cancel();
            try {
                r.handle().close();
            } catch (Exception e) {
                logger.debug("closing {} failed", r.handle(), e);
            }
        }
    }

    @Override
    public void destroy() {
        HANDLERS.remove(executor, this);
        if (group != null) {
            group.left(this);
        }
        if (mbean != null) {
            mbean.unregister();
        }
        closeWatch();
        stack.close();
        wakeFd.close();
    }

    /**
     * Registers a usertcp channel's handle: it starts with no interest ({@link UserTcpIoOps#NONE}); the channel
     * submits {@link UserTcpIoOps} and makes the registration the receiver of its socket's events.
     */
    @Override
    public IoRegistration register(IoHandle handle) {
        if (!(handle instanceof UserTcpIoHandle)) {
            throw new IllegalArgumentException("IoHandle of type " + handle.getClass().getName()
                    + " is not a usertcp channel; register usertcp channels only with a usertcp event loop");
        }
        UserTcpIoRegistration r = new UserTcpIoRegistration(this, (UserTcpIoHandle) handle);
        r.next = firstRegistration;
        if (firstRegistration != null) {
            firstRegistration.prev = r;
        }
        firstRegistration = r;
        r.linked = true;
        registrationCount++;
        handle.registered();
        return r;
    }

    @Override
    public boolean isCompatible(Class<? extends IoHandle> handleType) {
        return UserTcpIoHandle.class.isAssignableFrom(handleType);
    }

    /** The loop's {@link ExactReadHandle}. */
    ExactReadHandle exactReads() {
        return exactReads;
    }

    /** Runs {@code task} on the event loop after what is already queued. */
    void execute(Runnable task) {
        executor.execute(task);
    }

    /** Called once by a cancelled registration: forget it and tell its handle, on the event loop. */
    void cancelled(UserTcpIoRegistration r) {
        if (executor.isExecutorThread(Thread.currentThread())) {
            cancelled0(r);
        } else {
            executor.execute(() -> cancelled0(r));
        }
    }

    private void cancelled0(UserTcpIoRegistration r) {
        if (r.linked) {
            r.linked = false;
            if (r.prev != null) {
                r.prev.next = r.next;
            } else {
                firstRegistration = r.next;
            }
            if (r.next != null) {
                r.next.prev = r.prev;
            }
            r.prev = null;
            r.next = null;
            registrationCount--;
            r.handle().unregistered();
        }
    }

    /** The handle a usertcp channel registers; internal to the transport. */
    interface UserTcpIoHandle extends IoHandle {
    }
}
