package io.usertcp.it;

import io.netty.channel.Channel;
import io.netty.channel.ChannelFactory;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import jnr.ffi.LastError;
import jnr.ffi.LibraryLoader;
import jnr.ffi.Runtime;
import jnr.ffi.annotations.SaveError;

import java.io.IOException;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * One thread of the test JVM moved into a test's network namespace with {@code setns(2)}, so that the JVM's
 * own kernel sockets (NIO, the JDK's) can be the stack's peer: a socket belongs to the namespace of the thread
 * that created it, for its whole life, whichever thread uses it afterwards. {@link #call} runs code on that
 * thread; {@link #nioSocketChannels()} and {@link #nioServerSocketChannels()} are Netty channel factories that
 * create NIO channels there, for a {@code Bootstrap} or a third-party builder that takes a channel factory
 * (gRPC's {@code NettyChannelBuilder.channelFactory}). Connecting, accepting and all I/O then happen on the
 * ordinary NIO event loops, in the root namespace, on the namespace's sockets.
 *
 * <p>{@code setns} with {@code CLONE_NEWNET} changes only the calling thread (Linux allows it in a
 * multithreaded process) and needs CAP_SYS_ADMIN, which the it-tests have. The thread never returns to the
 * root namespace; {@link #close()} ends it.
 */
final class NsThread implements AutoCloseable {

    /** {@code CLONE_NEWNET}: the kind of namespace {@code setns} must find behind the descriptor. */
    private static final int CLONE_NEWNET = 0x40000000;
    private static final int O_RDONLY_CLOEXEC = 0x80000;

    /** The libc calls needed here, bound with jnr-ffi (which the transport already depends on). */
    public interface Native {
        /** {@code open(2)}. */
        @SaveError
        int open(String path, int flags);

        /** {@code setns(2)}. */
        @SaveError
        int setns(int fd, int nstype);

        /** {@code close(2)}. */
        @SaveError
        int close(int fd);
    }

    private static final Native LIBC = LibraryLoader.create(Native.class).load("c");

    private final ExecutorService thread;
    private final String namespace;

    /** Starts a thread and moves it into {@code ns}; throws when {@code setns} fails. */
    NsThread(NetNs ns) throws IOException {
        this.namespace = ns.name();
        this.thread = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "in-netns-" + namespace);
            t.setDaemon(true);
            return t;
        });
        try {
            call(() -> {
                enter("/run/netns/" + namespace);
                return null;
            });
        } catch (IOException | RuntimeException e) {
            close();
            throw e;
        }
    }

    private static void enter(String path) throws IOException {
        int fd = LIBC.open(path, O_RDONLY_CLOEXEC);
        if (fd < 0) {
            throw new IOException("open " + path + ": errno " + LastError.getLastError(Runtime.getRuntime(LIBC)));
        }
        try {
            if (LIBC.setns(fd, CLONE_NEWNET) != 0) {
                throw new IOException("setns " + path + ": errno " + LastError.getLastError(Runtime.getRuntime(LIBC))
                        + " (needs CAP_SYS_ADMIN)");
            }
        } finally {
            LIBC.close(fd);
        }
    }

    /** Runs {@code task} on the thread inside the namespace and returns its result. */
    <T> T call(Callable<T> task) throws IOException {
        Future<T> f = thread.submit(task);
        try {
            return f.get(30, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            Throwable c = e.getCause();
            if (c instanceof IOException io) {
                throw io;
            }
            if (c instanceof RuntimeException re) {
                throw re;
            }
            throw new IOException("in netns " + namespace + ": " + c, c);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        } catch (java.util.concurrent.TimeoutException e) {
            throw new IOException("task in netns " + namespace + " did not finish within 30 s", e);
        }
    }

    /** A channel factory whose NIO client channels are the namespace's sockets. */
    ChannelFactory<NioSocketChannel> nioSocketChannels() {
        return factory(NioSocketChannel::new);
    }

    /** A channel factory whose NIO server channels listen in the namespace (so do the children they accept). */
    ChannelFactory<NioServerSocketChannel> nioServerSocketChannels() {
        return factory(NioServerSocketChannel::new);
    }

    /** A channel factory whose NIO datagram channels are the namespace's sockets (IPv4 and IPv6). */
    ChannelFactory<io.netty.channel.socket.nio.NioDatagramChannel> nioDatagramChannels() {
        return factory(io.netty.channel.socket.nio.NioDatagramChannel::new);
    }

    private <C extends Channel> ChannelFactory<C> factory(Supplier<C> newChannel) {
        return () -> {
            try {
                return call(newChannel::get);
            } catch (IOException e) {
                throw new IllegalStateException("cannot create a channel in netns " + namespace, e);
            }
        };
    }

    @Override
    public void close() {
        thread.shutdownNow();
    }
}
