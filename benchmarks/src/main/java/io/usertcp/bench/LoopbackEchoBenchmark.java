package io.usertcp.bench;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.usertcp.channel.UserTcpChannel;
import io.usertcp.channel.UserTcpIoHandler;
import io.usertcp.channel.UserTcpServerChannel;
import io.usertcp.stack.StackConfig;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * An echo server and a client on one stack, talking through the stack's loopback with Netty channels: no TAP, no
 * root. Both directions run on the one event-loop thread, so what is measured is the stack's and the channels' work
 * per exchange. {@code rr}: one 1-byte round trip per operation; {@code bulk}: one MiB echoed per operation (16 KiB
 * writes, flow-controlled by the channel's writability). Run with {@code -prof gc}: {@code gc.alloc.rate.norm} is
 * the heap allocated per operation by every thread (the goal is 0 in the stack's share; buffers come from Netty's
 * pooled allocator, whose recycled objects are not allocations).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"-Dio.netty.leakDetection.level=disabled"})
public class LoopbackEchoBenchmark {
    static final int ROUND_TRIPS = 1000;
    static final int MIB_PER_INVOCATION = 4;
    static final int CHUNK = 16 * 1024;

    EventLoopGroup group;
    Channel server;
    Channel client;
    Driver driver;

    @Setup(Level.Trial)
    public void start() throws Exception {
        StackConfig cfg = StackConfig.builder().address("198.18.0.2/24").build();
        group = new MultiThreadIoEventLoopGroup(1, UserTcpIoHandler.newFactory(cfg));
        server = new ServerBootstrap().group(group).channel(UserTcpServerChannel.class)
                .childHandler(new Echo()).bind(7).sync().channel();
        driver = new Driver();
        client = new Bootstrap().group(group).channel(UserTcpChannel.class)
                .option(ChannelOption.TCP_NODELAY, true).handler(driver)
                .connect("127.0.0.1", 7).sync().channel();
    }

    @TearDown(Level.Trial)
    public void stop() throws Exception {
        client.close().sync();
        server.close().sync();
        group.shutdownGracefully(0, 5, TimeUnit.SECONDS).sync();
    }

    /** One 1-byte round trip (client write, server echo, client read). */
    @Benchmark
    @OperationsPerInvocation(ROUND_TRIPS)
    public void rr() throws Exception {
        driver.roundTrips(ROUND_TRIPS).get(60, TimeUnit.SECONDS);
    }

    /** One MiB through the echo and back. */
    @Benchmark
    @OperationsPerInvocation(MIB_PER_INVOCATION)
    public void bulk() throws Exception {
        driver.stream(MIB_PER_INVOCATION * 1024L * 1024).get(60, TimeUnit.SECONDS);
    }

    /** Echoes what it reads. */
    @ChannelHandler.Sharable
    static final class Echo extends ChannelInboundHandlerAdapter {
        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ctx.write(msg, ctx.voidPromise()); // no promise object per message: the figure is the stack's alone
        }

        @Override
        public void channelReadComplete(ChannelHandlerContext ctx) {
            ctx.flush();
        }
    }

    /** The client: runs round trips or a stream on the event loop and completes a future when done. */
    static final class Driver extends ChannelInboundHandlerAdapter {
        private ChannelHandlerContext ctx;
        private CompletableFuture<Void> done;
        private int roundTripsLeft;
        private long toSend;
        private long toReceive;

        @Override
        public void handlerAdded(ChannelHandlerContext ctx) {
            this.ctx = ctx;
        }

        CompletableFuture<Void> roundTrips(int n) {
            CompletableFuture<Void> f = new CompletableFuture<>();
            ctx.executor().execute(() -> {
                done = f;
                roundTripsLeft = n;
                sendByte();
            });
            return f;
        }

        CompletableFuture<Void> stream(long bytes) {
            CompletableFuture<Void> f = new CompletableFuture<>();
            ctx.executor().execute(() -> {
                done = f;
                toSend = bytes;
                toReceive = bytes;
                fill();
            });
            return f;
        }

        private void sendByte() {
            ctx.writeAndFlush(ctx.alloc().directBuffer(1).writeByte(1), ctx.voidPromise());
        }

        private void fill() {
            while (toSend > 0 && ctx.channel().isWritable()) {
                int n = (int) Math.min(CHUNK, toSend);
                ByteBuf b = ctx.alloc().directBuffer(n);
                b.writerIndex(n);
                toSend -= n;
                ctx.write(b, ctx.voidPromise());
            }
            ctx.flush();
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ByteBuf b = (ByteBuf) msg;
            int n = b.readableBytes();
            b.release();
            if (roundTripsLeft > 0) {
                if (--roundTripsLeft == 0) {
                    done.complete(null);
                } else {
                    sendByte();
                }
            } else if (toReceive > 0) {
                toReceive -= n;
                if (toReceive <= 0) {
                    done.complete(null);
                }
            }
        }

        @Override
        public void channelWritabilityChanged(ChannelHandlerContext ctx) {
            if (toSend > 0) {
                fill();
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            if (done != null) {
                done.completeExceptionally(cause);
            }
        }
    }
}
