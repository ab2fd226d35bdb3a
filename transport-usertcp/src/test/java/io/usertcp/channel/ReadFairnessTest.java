package io.usertcp.channel;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.usertcp.stack.Stack;
import io.usertcp.stack.StackConfig;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.net.InetSocketAddress;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * One connection's backlog does not hold up the others on its event loop (issue #12, latency under load): a
 * channel's read loop takes at most {@link AbstractUserStreamChannel#READ_LOOP_BYTES} per event, and the rest
 * is read on later turns of the loop, after the connections whose data arrived meanwhile; it is not read in
 * tasks that run one after another before the loop reads its link again.
 */
class ReadFairnessTest {
    private static EventLoopGroup group;

    @BeforeAll
    static void start() {
        group = new MultiThreadIoEventLoopGroup(1,
                UserTcpIoHandler.newFactory(StackConfig.builder().address("198.18.0.2/24").build()));
    }

    @AfterAll
    static void stop() throws Exception {
        group.shutdownGracefully(0, 5, TimeUnit.SECONDS).await(30, TimeUnit.SECONDS);
    }

    /** A child that counts what it reads, and reports how much the bulk child had read when it read. */
    private static ChannelInboundHandlerAdapter counter(AtomicLong read, BlockingQueue<Long> bulkReadWhenRead,
                                                        AtomicLong bulkRead) {
        return new ChannelInboundHandlerAdapter() {
            @Override
            public void channelRead(ChannelHandlerContext ctx, Object msg) {
                ByteBuf b = (ByteBuf) msg;
                read.addAndGet(b.readableBytes());
                b.release();
                if (bulkReadWhenRead != null) {
                    bulkReadWhenRead.add(bulkRead.get());
                }
            }
        };
    }

    /**
     * {@code f} once done, failing the test if it failed or took more than 10 s: a loop that stopped taking
     * tasks fails the test instead of hanging it.
     */
    private static ChannelFuture done(ChannelFuture f, String what) throws Exception {
        assertThat(f.await(10, TimeUnit.SECONDS)).as("%s done within 10 s", what).isTrue();
        return f.sync();
    }

    private static Channel client(int port) throws Exception {
        return done(new Bootstrap().group(group).channel(UserTcpChannel.class)
                .handler(new ChannelInboundHandlerAdapter())
                .connect(new InetSocketAddress("198.18.0.2", port)), "connect").channel();
    }

    @Test
    void aRequestIsReadBeforeAnotherConnectionsBacklogIsDrained() throws Exception {
        int port = 7100;
        AtomicLong bulkRead = new AtomicLong();
        AtomicLong rrRead = new AtomicLong();
        BlockingQueue<Long> bulkReadWhenRrRead = new LinkedBlockingQueue<>();
        CompletableFuture<Channel> bulkChild = new CompletableFuture<>();
        CompletableFuture<Channel> rrChild = new CompletableFuture<>();
        Channel server = done(new ServerBootstrap().group(group).channel(UserTcpServerChannel.class)
                .childOption(ChannelOption.AUTO_READ, false)
                .childHandler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        boolean bulk = !bulkChild.isDone();
                        ch.pipeline().addLast(bulk ? counter(bulkRead, null, null)
                                : counter(rrRead, bulkReadWhenRrRead, bulkRead));
                        (bulk ? bulkChild : rrChild).complete(ch);
                    }
                }).bind(port), "bind").channel();
        Channel bulkClient = client(port);
        Channel bulk = bulkChild.get(10, TimeUnit.SECONDS);
        Channel rrClient = client(port);
        Channel rr = rrChild.get(10, TimeUnit.SECONDS);
        try {
            rr.config().setAutoRead(true);
            int backlog = 768 * 1024; // within the receive buffer (1 MiB): all of it waits in the stack, unread
            done(bulkClient.writeAndFlush(Unpooled.wrappedBuffer(new byte[backlog])), "write");
            UserTcpChannel bulkChannel = (UserTcpChannel) bulk;
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (bulk.eventLoop().submit(() -> bulkChannel.connection.readableBytes()).get(10, TimeUnit.SECONDS) < backlog
                    && System.nanoTime() < deadline) {
                Thread.sleep(10);
            }
            assertThat(bulk.eventLoop().submit(() -> bulkChannel.connection.readableBytes()).get(10, TimeUnit.SECONDS)).isEqualTo(backlog);

            // At once, on the loop: the bulk child starts reading its backlog, and the rr client sends a request.
            bulk.eventLoop().submit(() -> {
                bulk.config().setAutoRead(true);
                rrClient.writeAndFlush(Unpooled.wrappedBuffer(new byte[] {42}));
            }).get(10, TimeUnit.SECONDS);

            Long bulkReadThen = bulkReadWhenRrRead.poll(10, TimeUnit.SECONDS);
            assertThat(bulkReadThen).as("the request was read").isNotNull();
            assertThat(bulkReadThen).as("while the backlog was still being read, a read loop or two in")
                    .isLessThanOrEqualTo(2L * AbstractUserStreamChannel.READ_LOOP_BYTES)
                    .isLessThan(backlog);
            deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (bulkRead.get() < backlog && System.nanoTime() < deadline) {
                Thread.sleep(10);
            }
            assertThat(bulkRead.get()).as("and the whole backlog is read in the end").isEqualTo(backlog);
            assertThat(rrRead.get()).isEqualTo(1);
        } finally {
            bulkClient.close().await(10, TimeUnit.SECONDS);
            rrClient.close().await(10, TimeUnit.SECONDS);
            server.close().await(10, TimeUnit.SECONDS);
        }
    }

    @Test
    void dataBeforeTheFinIsReadToTheEndBeyondTheBudget() throws Exception {
        int port = 7102;
        AtomicLong read = new AtomicLong();
        CompletableFuture<Long> readAtEnd = new CompletableFuture<>();
        CompletableFuture<Channel> childFuture = new CompletableFuture<>();
        Channel server = done(new ServerBootstrap().group(group).channel(UserTcpServerChannel.class)
                .childOption(ChannelOption.AUTO_READ, false)
                .childHandler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        ch.pipeline().addLast(new ChannelInboundHandlerAdapter() {
                            @Override
                            public void channelRead(ChannelHandlerContext ctx, Object msg) {
                                read.addAndGet(((ByteBuf) msg).readableBytes());
                                ((ByteBuf) msg).release();
                            }

                            @Override
                            public void channelInactive(ChannelHandlerContext ctx) {
                                readAtEnd.complete(read.get());
                            }
                        });
                        childFuture.complete(ch);
                    }
                }).bind(port), "bind").channel();
        Channel client = client(port);
        childFuture.get(10, TimeUnit.SECONDS);
        try {
            int backlog = 4 * AbstractUserStreamChannel.READ_LOOP_BYTES; // more than one read loop's budget
            done(client.writeAndFlush(Unpooled.wrappedBuffer(new byte[backlog])), "write");
            // The FIN behind the data: the hang-up is read whether or not a read is pending, to the end of input.
            done(((UserTcpChannel) client).shutdownOutput(), "shutdownOutput");
            // (A read loop that stopped at its budget here, or read nothing more once it was spent, would never
            // come to the end.)
            assertThat(readAtEnd.get(10, TimeUnit.SECONDS)).as("all read, then the end of input").isEqualTo(backlog);
        } finally {
            client.close().await(10, TimeUnit.SECONDS);
            server.close().await(10, TimeUnit.SECONDS);
        }
    }

    @Test
    void aReadLoopTakesAtMostItsBudgetInWholeSegments() throws Exception {
        int port = 7101;
        BlockingQueue<Integer> loops = new LinkedBlockingQueue<>();
        CompletableFuture<Channel> childFuture = new CompletableFuture<>();
        Channel server = done(new ServerBootstrap().group(group).channel(UserTcpServerChannel.class)
                .childOption(ChannelOption.AUTO_READ, false)
                .childHandler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        ch.pipeline().addLast(new ChannelInboundHandlerAdapter() {
                            private int inLoop;

                            @Override
                            public void channelRead(ChannelHandlerContext ctx, Object msg) {
                                inLoop += ((ByteBuf) msg).readableBytes();
                                ((ByteBuf) msg).release();
                            }

                            @Override
                            public void channelReadComplete(ChannelHandlerContext ctx) {
                                loops.add(inLoop);
                                inLoop = 0;
                            }
                        });
                        childFuture.complete(ch);
                    }
                }).bind(port), "bind").channel();
        Channel client = client(port);
        Channel child = childFuture.get(10, TimeUnit.SECONDS);
        try {
            int backlog = 512 * 1024;
            done(client.writeAndFlush(Unpooled.wrappedBuffer(new byte[backlog])), "write");
            UserTcpChannel c = (UserTcpChannel) child;
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (child.eventLoop().submit(() -> c.connection.readableBytes()).get(10, TimeUnit.SECONDS) < backlog
                    && System.nanoTime() < deadline) {
                Thread.sleep(10);
            }
            int mss = child.eventLoop().submit(() -> c.connection.mss()).get(10, TimeUnit.SECONDS);
            int budget = Math.max(mss, AbstractUserStreamChannel.READ_LOOP_BYTES / mss * mss);
            child.config().setAutoRead(true);
            long total = 0;
            int loop = 0;
            while (total < backlog) {
                Integer n = loops.poll(10, TimeUnit.SECONDS);
                assertThat(n).as("a read loop after %d of %d bytes", total, backlog).isNotNull();
                // One budget per read loop; a connection alone on the loop for SOLO_TURNS turns takes more.
                assertThat(n).isBetween(1, loop < Stack.SOLO_TURNS ? budget
                        : AbstractUserStreamChannel.SOLO_READ_LOOPS * budget);
                assertThat(n % mss == 0 || total + n == backlog).as("whole segments: %d", n).isTrue();
                total += n;
                loop++;
            }
            assertThat(total).isEqualTo(backlog);
        } finally {
            client.close().await(10, TimeUnit.SECONDS);
            server.close().await(10, TimeUnit.SECONDS);
        }
    }
}
