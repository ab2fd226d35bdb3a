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
import io.netty.util.ReferenceCountUtil;
import io.usertcp.link.PcapngReader;
import io.usertcp.stack.StackConfig;
import io.usertcp.wire.Ethernet;
import io.usertcp.wire.Ipv4;
import io.usertcp.wire.Ipv6;
import io.usertcp.wire.Tcp;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Channel options on real event loops, observed in what the stack sends (its pcapng capture of the loopback) and
 * in its counters (issue #14): IP_TOS on a client and, through {@code childOption}, on accepted children, over
 * IPv4 and IPv6; SO_BACKLOG's overflow. The options that need hours or a vanishing peer are in
 * {@link ChannelOptionsInVirtualTimeTest}.
 */
@Timeout(60)
class ChannelOptionsOnTheWireTest {
    private static final int CLIENT_TOS = 0xb8; // DSCP EF
    private static final int CHILD_TOS = 0x28;  // DSCP AF11

    @TempDir
    Path dir;

    /** Source port, destination port, TOS / traffic class, flags and payload length of one captured segment. */
    private record Seg(int src, int dst, int tos, int flags, int len) {
    }

    private static List<Seg> segments(Path file) throws Exception {
        List<Seg> out = new ArrayList<>();
        for (PcapngReader.Packet p : PcapngReader.read(file).packets) {
            ByteBuf f = Unpooled.wrappedBuffer(p.data());
            int ip = Ethernet.HEADER_LENGTH;
            int type = Ethernet.type(f, 0);
            if (type == Ethernet.TYPE_IPV4 && Ipv4.protocol(f, ip) == Ipv4.PROTO_TCP) {
                int t = ip + Ipv4.headerLength(f, ip);
                out.add(new Seg(Tcp.srcPort(f, t), Tcp.dstPort(f, t), f.getUnsignedByte(ip + 1), Tcp.flags(f, t),
                        Ipv4.totalLength(f, ip) - Ipv4.headerLength(f, ip) - Tcp.headerLength(f, t)));
            } else if (type == Ethernet.TYPE_IPV6 && Ipv6.nextHeader(f, ip) == Ipv6.TCP) {
                int t = ip + Ipv6.HEADER_LENGTH;
                out.add(new Seg(Tcp.srcPort(f, t), Tcp.dstPort(f, t), Ipv6.trafficClass(f, ip), Tcp.flags(f, t),
                        Ipv6.payloadLength(f, ip) - Tcp.headerLength(f, t)));
            }
        }
        return out;
    }

    @ParameterizedTest
    @ValueSource(strings = {"198.18.0.2", "::1"})
    void ipTosOfAClientAndOfAcceptedChildrenIsInTheirSegments(String address) throws Exception {
        Path file = dir.resolve("tos.pcapng");
        StackConfig cfg = StackConfig.builder().address("198.18.0.2/24").capture(file).build();
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, UserTcpIoHandler.newFactory(cfg));
        int port = 7007;
        try {
            Channel server = new ServerBootstrap().group(group).channel(UserTcpServerChannel.class)
                    .childOption(ChannelOption.IP_TOS, CHILD_TOS)
                    .childHandler(new ChannelInboundHandlerAdapter() {
                        @Override
                        public void channelRead(ChannelHandlerContext ctx, Object msg) {
                            ctx.writeAndFlush(msg);
                        }
                    }).bind(new InetSocketAddress(address, port)).sync().channel();
            CompletableFuture<Void> echoed = new CompletableFuture<>();
            Channel c = new Bootstrap().group(group).channel(UserTcpChannel.class)
                    .option(ChannelOption.IP_TOS, CLIENT_TOS)
                    .handler(new ChannelInboundHandlerAdapter() {
                        @Override
                        public void channelRead(ChannelHandlerContext ctx, Object msg) {
                            ReferenceCountUtil.release(msg);
                            echoed.complete(null);
                        }
                    }).connect(new InetSocketAddress(address, port)).sync().channel();
            c.writeAndFlush(Unpooled.copiedBuffer("tos", StandardCharsets.US_ASCII)).sync();
            echoed.get(10, TimeUnit.SECONDS);
            c.close().sync();
            server.close().sync();
        } finally {
            group.shutdownGracefully(0, 5, TimeUnit.SECONDS).sync();
        }
        List<Seg> segs = segments(file);
        List<Seg> fromClient = segs.stream().filter(s -> s.dst == port).toList();
        List<Seg> fromServer = segs.stream().filter(s -> s.src == port).toList();
        assertThat(fromClient).as("SYN, ACK, data, FIN ...").hasSizeGreaterThanOrEqualTo(4);
        assertThat(fromClient.get(0).flags & Tcp.SYN).isNotZero();
        assertThat(fromClient).as("the client's IP_TOS from its SYN on")
                .allSatisfy(s -> assertThat(s.tos).isEqualTo(CLIENT_TOS));
        // The SYN-ACK belongs to the listener (as in Linux, where a child's IP_TOS is set after accept()); from
        // the accepted connection's first segment on, the child's option is on the wire.
        assertThat(fromServer.get(0).flags).isEqualTo(Tcp.SYN | Tcp.ACK);
        assertThat(fromServer.get(0).tos).isZero();
        List<Seg> child = fromServer.subList(1, fromServer.size());
        assertThat(child).as("the echo and the close").anySatisfy(s -> assertThat(s.len).isEqualTo(3));
        assertThat(child).as("childOption(IP_TOS) on every segment of the accepted connection")
                .allSatisfy(s -> assertThat(s.tos).isEqualTo(CHILD_TOS));
    }

    @Test
    void connectionsBeyondTheBacklogAreNotAcceptedAndTheDropIsCounted() throws Exception {
        StackConfig cfg = StackConfig.builder().address("198.18.0.2/24").build();
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, UserTcpIoHandler.newFactory(cfg));
        try {
            List<Channel> accepted = new java.util.concurrent.CopyOnWriteArrayList<>();
            // Not reading: nothing is accepted from the listener's queue until the test calls read().
            Channel server = new ServerBootstrap().group(group).channel(UserTcpServerChannel.class)
                    .option(ChannelOption.SO_BACKLOG, 2)
                    .option(ChannelOption.AUTO_READ, false)
                    .childHandler(new ChannelInitializer<Channel>() {
                        @Override
                        protected void initChannel(Channel ch) {
                            accepted.add(ch);
                        }
                    }).bind(7008).sync().channel();
            long dropsBefore = UserTcp.stats(group.next()).get().get("tcpSynDropsAcceptQueueFull");
            List<ChannelFuture> connects = new ArrayList<>();
            Bootstrap b = new Bootstrap().group(group).channel(UserTcpChannel.class)
                    .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, 20_000)
                    .handler(new ChannelInitializer<Channel>() {
                        @Override
                        protected void initChannel(Channel ch) {
                        }
                    });
            // Two handshakes complete, one after the other, into the accept queue of backlog 2 ...
            for (int i = 0; i < 2; i++) {
                ChannelFuture f = b.connect("198.18.0.2", 7008);
                connects.add(f);
                assertThat(f.await(5, TimeUnit.SECONDS) && f.isSuccess()).as("connect %s", f.cause()).isTrue();
                Thread.sleep(50); // the final ACK reaches the listener
            }
            // ... which is then full: three more SYNs are dropped.
            for (int i = 0; i < 3; i++) {
                connects.add(b.connect("198.18.0.2", 7008));
            }
            Thread.sleep(500); // well within the clients' first SYN retransmission (1 s)
            assertThat(connects.stream().filter(ChannelFuture::isDone).count())
                    .as("the three beyond the backlog wait for their SYN-ACK").isEqualTo(2);
            long drops = UserTcp.stats(group.next()).get().get("tcpSynDropsAcceptQueueFull") - dropsBefore;
            assertThat(drops).as("the other three SYNs dropped and counted").isEqualTo(3);
            assertThat(accepted).isEmpty();
            // Accepting makes room: the dropped clients get in with their SYN retransmissions.
            server.config().setAutoRead(true);
            for (ChannelFuture f : connects) {
                assertThat(f.await(15, TimeUnit.SECONDS)).isTrue();
                assertThat(f.isSuccess()).as("connect %s", f.cause()).isTrue();
            }
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            while (accepted.size() < 5 && System.nanoTime() < deadline) {
                Thread.sleep(10);
            }
            assertThat(accepted).hasSize(5);
            for (ChannelFuture f : connects) {
                f.channel().close().sync();
            }
            server.close().sync();
        } finally {
            group.shutdownGracefully(0, 5, TimeUnit.SECONDS).sync();
        }
    }
}
