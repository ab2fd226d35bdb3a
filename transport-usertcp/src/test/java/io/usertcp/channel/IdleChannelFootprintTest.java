package io.usertcp.channel;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.usertcp.sim.HeapHistogram;
import io.usertcp.stack.StackConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A measurement (issue #12: at most 2 KiB of heap per idle established connection, Netty's channel included): the
 * heap held per idle connection when {@code N} client channels and the {@code N} child channels they connected to
 * sit on one stack, over its loopback, each pair having echoed a few bytes, from the JVM's used heap before they
 * open and after. Both ends count: the figure is per channel with its connection. Run on request only:
 * {@code -Dusertcp.measure=true -Dtest=IdleChannelFootprintTest}, {@code -Dusertcp.measure.connections=N} (default
 * 10,000 pairs), {@code -Dusertcp.measure.histogram=true} for the classes it is made of.
 */
@EnabledIfSystemProperty(named = "usertcp.measure", matches = "true", disabledReason = "a measurement: run on request")
class IdleChannelFootprintTest {
    /**
     * The bound asserted: 1,883 bytes per channel with its connection when it was set (one timer object per
     * connection), from 1,978-2,126 before and ~3,150 at first.
     */
    static final long BOUND = 1952;
    private static final int N = Integer.getInteger("usertcp.measure.connections", 10_000);
    private static final int PORT = 7;
    private static final int BATCH = 200;

    /** Echoes what it reads (the child channels' only handler). */
    @ChannelHandler.Sharable
    static final class Echo extends ChannelInboundHandlerAdapter {
        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ctx.writeAndFlush(msg);
        }
    }

    /** Writes four bytes when active and counts the echoes that come back (the clients' only handler). */
    @ChannelHandler.Sharable
    static final class Client extends ChannelInboundHandlerAdapter {
        final AtomicInteger echoed = new AtomicInteger();

        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            ctx.writeAndFlush(ctx.alloc().buffer(4).writeInt(0x01020304));
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ByteBuf b = (ByteBuf) msg;
            echoed.addAndGet(b.readableBytes());
            b.release();
        }
    }

    @Test
    void heapOfAnIdleChannel() throws Exception {
        StackConfig cfg = StackConfig.builder().address("198.18.0.2/24").build();
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, UserTcpIoHandler.newFactory(cfg));
        List<Channel> clients = new ArrayList<>(N);
        try {
            Channel server = new ServerBootstrap().group(group).channel(UserTcpServerChannel.class)
                    .childHandler(new Echo()).bind(PORT).sync().channel();
            Client client = new Client();
            Bootstrap b = new Bootstrap().group(group).channel(UserTcpChannel.class).handler(client);
            InetSocketAddress to = new InetSocketAddress("198.18.0.2", PORT);
            // A warm-up pair (the stack's tables, the allocator's first chunks), closed before the baseline.
            Channel warm = b.connect(to).sync().channel();
            awaitEchoed(client, 4);
            warm.close().sync();
            boolean histogram = Boolean.getBoolean("usertcp.measure.histogram");
            HeapHistogram baseline = histogram ? HeapHistogram.take() : null;
            long before = usedHeap();
            for (int i = 0; i < N; i += BATCH) {
                List<ChannelFuture> batch = new ArrayList<>(BATCH);
                for (int j = i; j < Math.min(N, i + BATCH); j++) {
                    batch.add(b.connect(to));
                }
                for (ChannelFuture f : batch) {
                    clients.add(f.sync().channel());
                }
                // Each batch echoed before the next connects: no retransmission timeout in a burst (a loss would
                // leave its congestion-control state behind, which an idle connection of a quiet network has not).
                awaitEchoed(client, 4L * (clients.size() + 1));
            }
            Thread.sleep(1000); // delayed ACKs go out; nothing in flight
            long after = usedHeap();
            if (histogram) {
                System.out.println("per channel (" + 2 * N + " channels):\n"
                        + HeapHistogram.take().since(baseline, 2L * N, 70));
            }
            java.util.Map<String, Long> stats = new java.util.TreeMap<>(UserTcp.stats(group.next()).get());
            stats.values().removeIf(v -> v == 0);
            System.out.println("stack counters: " + stats);
            long perChannel = (after - before) / (2L * N);
            System.out.printf("ESTABLISHED, idle: %d client and %d child channels over one stack's loopback held %d "
                    + "bytes of heap, %d bytes per channel with its connection%n", N, N, after - before, perChannel);
            assertThat(perChannel).isPositive().isLessThanOrEqualTo(BOUND);
            assertThat(clients).allMatch(Channel::isActive);
            for (Channel c : clients) {
                c.close();
            }
            server.close().sync();
        } finally {
            group.shutdownGracefully(0, 5, TimeUnit.SECONDS).sync();
        }
    }

    private static void awaitEchoed(Client client, long bytes) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (client.echoed.get() < bytes && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        assertThat((long) client.echoed.get()).as("bytes echoed").isEqualTo(bytes);
    }

    private static long usedHeap() throws InterruptedException {
        Runtime rt = Runtime.getRuntime();
        long best = Long.MAX_VALUE;
        for (int i = 0; i < 5; i++) {
            System.gc();
            Thread.sleep(50);
            best = Math.min(best, rt.totalMemory() - rt.freeMemory());
        }
        return best;
    }
}
