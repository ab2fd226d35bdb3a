package io.usertcp.it;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFactory;
import io.netty.channel.ChannelHandler.Sharable;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.nio.NioIoHandler;
import io.netty.handler.codec.http.EmptyHttpHeaders;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.websocketx.BinaryWebSocketFrame;
import io.netty.handler.codec.http.websocketx.CloseWebSocketFrame;
import io.netty.handler.codec.http.websocketx.ContinuationWebSocketFrame;
import io.netty.handler.codec.http.websocketx.TextWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketClientHandshakerFactory;
import io.netty.handler.codec.http.websocketx.WebSocketClientProtocolHandler;
import io.netty.handler.codec.http.websocketx.WebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketFrameAggregator;
import io.netty.handler.codec.http.websocketx.WebSocketServerProtocolConfig;
import io.netty.handler.codec.http.websocketx.WebSocketServerProtocolHandler;
import io.netty.handler.codec.http.websocketx.WebSocketVersion;
import io.netty.util.concurrent.Promise;
import io.usertcp.channel.UserTcpChannel;
import io.usertcp.channel.UserTcpIoHandler;
import io.usertcp.channel.UserTcpServerChannel;
import io.usertcp.link.TapConfig;
import io.usertcp.stack.StackConfig;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Netty's WebSocket server pipeline ({@code netty-codec-http}, unchanged but for the group and the channel
 * class) on usertcp, as an echo endpoint, with Netty's WebSocket client on NIO (the kernel's TCP, in the stack's
 * namespace: its socket is made by {@link NsThread}); and the reverse, the client on usertcp and the server on
 * NIO. The client sends text and binary messages from 0 bytes to 300 KiB, some fragmented into continuation
 * frames, and checks that every one comes back whole, in order, of the same type and content.
 */
@ExtendWith(LeakCheck.class)
@Timeout(value = 2, unit = TimeUnit.MINUTES)
class WebSocketOverTapTest {

    static final String KERNEL = "198.18.16.1";
    static final String STACK = "198.18.16.2";
    static final int USERTCP_PORT = 8080;
    static final int NIO_PORT = 8081;
    static final int MAX_MESSAGE = 1 << 20;

    /** Which side runs on usertcp. */
    enum Direction {
        /** The echo endpoint on usertcp, the client on NIO. */
        USERTCP_SERVER,
        /** The client on usertcp, the echo endpoint on NIO. */
        USERTCP_CLIENT
    }

    static NetNs ns;
    static NsThread inNs;
    static EventLoopGroup usertcp;
    static EventLoopGroup nio;
    static final List<Channel> servers = new ArrayList<>();

    @BeforeAll
    static void start() throws Exception {
        ns = NetNs.create();
        inNs = new NsThread(ns);
        StackConfig cfg = StackConfig.builder()
                .link(TapConfig.builder(NetNs.uniqueTapName()).kernelAddress(KERNEL + "/24").namespace(ns.name())
                        .build())
                .address(STACK + "/24").build();
        usertcp = new MultiThreadIoEventLoopGroup(ItLoops.count(), UserTcpIoHandler.newFactory(cfg));
        nio = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        servers.add(new ServerBootstrap().group(usertcp).channel(UserTcpServerChannel.class)
                .childHandler(serverInitializer()).bind(USERTCP_PORT).sync().channel());
        servers.add(new ServerBootstrap().group(nio).channelFactory(inNs.nioServerSocketChannels())
                .childHandler(serverInitializer()).bind(KERNEL, NIO_PORT).sync().channel());
    }

    @AfterAll
    static void stop() throws Exception {
        try {
            for (Channel c : servers) {
                c.close().await(5, TimeUnit.SECONDS);
            }
            for (EventLoopGroup g : new EventLoopGroup[] {usertcp, nio}) {
                if (g != null) {
                    g.shutdownGracefully(0, 5, TimeUnit.SECONDS).sync();
                }
            }
        } finally {
            if (inNs != null) {
                inNs.close();
            }
            if (ns != null) {
                ns.close();
            }
        }
    }

    /** The echo endpoint: Netty's WebSocket server handlers, messages aggregated, each echoed as it came. */
    static ChannelInitializer<Channel> serverInitializer() {
        return new ChannelInitializer<>() {
            @Override
            protected void initChannel(Channel ch) {
                ch.pipeline().addLast(new HttpServerCodec(), new HttpObjectAggregator(65536),
                        new WebSocketServerProtocolHandler(WebSocketServerProtocolConfig.newBuilder()
                                .websocketPath("/echo").maxFramePayloadLength(MAX_MESSAGE).build()),
                        new WebSocketFrameAggregator(MAX_MESSAGE), new Echo());
            }
        };
    }

    @Sharable
    static final class Echo extends SimpleChannelInboundHandler<WebSocketFrame> {
        @Override
        protected void channelRead0(ChannelHandlerContext ctx, WebSocketFrame frame) {
            ctx.writeAndFlush(frame.retain());
        }
    }

    /** One message as sent or received: text or binary, and its bytes. */
    record Message(boolean text, byte[] data) {
    }

    @ParameterizedTest
    @EnumSource(Direction.class)
    void everyMessageComesBackWholeInOrder(Direction d) throws Exception {
        BlockingQueue<Object> received = new LinkedBlockingQueue<>();
        EventLoopGroup group = d == Direction.USERTCP_SERVER ? nio : usertcp;
        ChannelFactory<? extends Channel> channels = d == Direction.USERTCP_SERVER
                ? inNs.nioSocketChannels() : UserTcpChannel::new;
        String host = d == Direction.USERTCP_SERVER ? STACK : KERNEL;
        int port = d == Direction.USERTCP_SERVER ? USERTCP_PORT : NIO_PORT;
        URI uri = URI.create("ws://" + host + ":" + port + "/echo");
        Promise<Void> handshake = group.next().newPromise();
        Channel ch = new Bootstrap().group(group).channelFactory(channels)
                .handler(new ChannelInitializer<>() {
                    @Override
                    protected void initChannel(Channel c) {
                        c.pipeline().addLast(new HttpClientCodec(), new HttpObjectAggregator(65536),
                                new WebSocketClientProtocolHandler(WebSocketClientHandshakerFactory.newHandshaker(
                                        uri, WebSocketVersion.V13, null, false, EmptyHttpHeaders.INSTANCE,
                                        MAX_MESSAGE)),
                                new WebSocketFrameAggregator(MAX_MESSAGE),
                                new SimpleChannelInboundHandler<WebSocketFrame>() {
                                    @Override
                                    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
                                        if (evt == WebSocketClientProtocolHandler.ClientHandshakeStateEvent
                                                .HANDSHAKE_COMPLETE) {
                                            handshake.trySuccess(null);
                                        }
                                        ctx.fireUserEventTriggered(evt);
                                    }

                                    @Override
                                    protected void channelRead0(ChannelHandlerContext ctx, WebSocketFrame f) {
                                        received.add(new Message(f instanceof TextWebSocketFrame,
                                                ByteBufUtil.getBytes(f.content())));
                                    }

                                    @Override
                                    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
                                        handshake.tryFailure(cause);
                                        received.add(cause);
                                        ctx.close();
                                    }
                                });
                    }
                })
                .connect(host, port).sync().channel();
        try {
            assertTrue(handshake.await(10, TimeUnit.SECONDS), "no WebSocket handshake within 10 s");
            assertTrue(handshake.isSuccess(), () -> "handshake failed: " + handshake.cause());

            List<Message> sent = new ArrayList<>();
            SplittableRandom random = new SplittableRandom(d.ordinal() + 23);
            int[] sizes = {0, 1, 125, 126, 127, 1000, 65_535, 65_536, 65_537, 100_000, 300_000};
            for (int size : sizes) {
                for (boolean text : new boolean[] {true, false}) {
                    sent.add(send(ch, new Message(text, bytes(random, size, text)), random, false));
                    sent.add(send(ch, new Message(text, bytes(random, size, text)), random, size > 0));
                }
            }
            for (int i = 0; i < 200; i++) { // many small ones, back to back
                boolean text = random.nextBoolean();
                sent.add(send(ch, new Message(text, bytes(random, random.nextInt(4000), text)), random,
                        random.nextInt(4) == 0));
            }
            ch.flush();
            for (int i = 0; i < sent.size(); i++) {
                Object got = received.poll(30, TimeUnit.SECONDS);
                assertNotNull(got, "message " + i + " of " + sent.size() + " never came back");
                if (got instanceof Throwable t) {
                    throw new AssertionError("the client failed at message " + i, t);
                }
                Message m = (Message) got;
                Message want = sent.get(i);
                assertEquals(want.text(), m.text(), "type of message " + i);
                assertEquals(want.data().length, m.data().length, "length of message " + i);
                assertArrayEquals(want.data(), m.data(), "content of message " + i);
            }
            ch.writeAndFlush(new CloseWebSocketFrame(1000, "done")).sync();
            assertTrue(ch.closeFuture().await(10, TimeUnit.SECONDS), "the server did not close after Close");
            assertTrue(received.isEmpty(), "more messages than were sent: " + received.size());
        } finally {
            ch.close().await(5, TimeUnit.SECONDS);
        }
    }

    /** Writes {@code m} as one frame, or fragmented into a first frame and continuation frames. */
    private static Message send(Channel ch, Message m, SplittableRandom random, boolean fragmented) {
        byte[] d = m.data();
        if (!fragmented) {
            ch.write(m.text() ? new TextWebSocketFrame(Unpooled.wrappedBuffer(d))
                    : new BinaryWebSocketFrame(Unpooled.wrappedBuffer(d)));
            return m;
        }
        int at = 0;
        boolean first = true;
        while (first || at < d.length) {
            int n = Math.min(d.length - at, 1 + random.nextInt(Math.max(1, d.length / 3)));
            boolean fin = at + n == d.length;
            var part = Unpooled.wrappedBuffer(d, at, n);
            ch.write(first ? (m.text() ? new TextWebSocketFrame(fin, 0, part) : new BinaryWebSocketFrame(fin, 0, part))
                    : new ContinuationWebSocketFrame(fin, 0, part));
            first = false;
            at += n;
        }
        return m;
    }

    /**
     * {@code size} random bytes; for a text message, ASCII letters (a fragment boundary inside a multi-byte
     * character would be valid WebSocket but not what this test is about).
     */
    private static byte[] bytes(SplittableRandom random, int size, boolean text) {
        byte[] b = new byte[size];
        if (text) {
            for (int i = 0; i < size; i++) {
                b[i] = (byte) ('a' + random.nextInt(26));
            }
        } else {
            random.nextBytes(b);
        }
        return b;
    }
}
