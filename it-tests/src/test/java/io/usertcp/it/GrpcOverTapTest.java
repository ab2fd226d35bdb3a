package io.usertcp.it;

import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.grpc.testing.protobuf.SimpleRequest;
import io.grpc.testing.protobuf.SimpleResponse;
import io.grpc.testing.protobuf.SimpleServiceGrpc;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
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

import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.zip.CRC32;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * gRPC (grpc-java's Netty transport, unchanged but for its event loop groups and channel class) on usertcp over
 * a TAP device in a namespace, against grpc-java on NIO, the kernel's TCP in that namespace, both ways: a
 * usertcp server called by a NIO client, and a usertcp client calling a NIO server. The NIO sockets are made on
 * a thread that entered the namespace ({@link NsThread}). The service is grpc-java's test
 * {@code SimpleService} (unary, client-streaming, server-streaming, bidirectional), implemented here so that
 * every message's content is checked: unary and bidi echo, server streaming sends generated text the client
 * regenerates, client streaming answers with the count, length and CRC-32 of what arrived.
 */
@ExtendWith(LeakCheck.class)
@Timeout(value = 2, unit = TimeUnit.MINUTES)
class GrpcOverTapTest {

    static final String KERNEL = "198.18.14.1";
    static final String STACK = "198.18.14.2";
    static final int USERTCP_PORT = 50051;
    static final int NIO_PORT = 50052;
    static final int MAX_MESSAGE = 16 << 20;

    /** Which side runs on usertcp. */
    enum Direction {
        /** A usertcp server, called by a NIO client in the namespace. */
        USERTCP_SERVER,
        /** A usertcp client, calling a NIO server in the namespace. */
        USERTCP_CLIENT
    }

    static NetNs ns;
    static NsThread inNs;
    static EventLoopGroup usertcp;
    static EventLoopGroup nio;
    static ScheduledExecutorService timer;
    static Server usertcpServer;
    static Server nioServer;
    static ManagedChannel nioClient;
    static ManagedChannel usertcpClient;
    /** Server-side cancellations, by the token the client put in its request. */
    static final Map<String, CountDownLatch> cancelled = new ConcurrentHashMap<>();
    /** Server-side arrivals of held calls, by token. */
    static final Map<String, CountDownLatch> arrived = new ConcurrentHashMap<>();
    /** Server-side count of messages sent, by token. */
    static final Map<String, AtomicInteger> sent = new ConcurrentHashMap<>();

    @BeforeAll
    static void start() throws Exception {
        ns = NetNs.create();
        inNs = new NsThread(ns);
        StackConfig cfg = StackConfig.builder()
                .link(TapConfig.builder(NetNs.uniqueTapName()).kernelAddress(KERNEL + "/24").namespace(ns.name())
                        .build())
                .address(STACK + "/24").build();
        usertcp = new MultiThreadIoEventLoopGroup(ItLoops.count(), UserTcpIoHandler.newFactory(cfg));
        nio = new MultiThreadIoEventLoopGroup(2, NioIoHandler.newFactory());
        timer = Executors.newSingleThreadScheduledExecutor();

        usertcpServer = NettyServerBuilder.forAddress(new InetSocketAddress(USERTCP_PORT))
                .channelType(UserTcpServerChannel.class)
                .bossEventLoopGroup(usertcp).workerEventLoopGroup(usertcp)
                .maxInboundMessageSize(MAX_MESSAGE)
                .addService(new Service()).build().start();
        nioServer = NettyServerBuilder.forAddress(new InetSocketAddress(KERNEL, NIO_PORT))
                .channelFactory(inNs.nioServerSocketChannels())
                .bossEventLoopGroup(nio).workerEventLoopGroup(nio)
                .maxInboundMessageSize(MAX_MESSAGE)
                .addService(new Service()).build().start();

        nioClient = NettyChannelBuilder.forAddress(new InetSocketAddress(STACK, USERTCP_PORT))
                .channelFactory(inNs.nioSocketChannels())
                .eventLoopGroup(nio)
                .maxInboundMessageSize(MAX_MESSAGE)
                .usePlaintext().build();
        usertcpClient = NettyChannelBuilder.forAddress(new InetSocketAddress(KERNEL, NIO_PORT))
                .channelType(UserTcpChannel.class)
                .eventLoopGroup(usertcp)
                .maxInboundMessageSize(MAX_MESSAGE)
                .usePlaintext().build();
    }

    @AfterAll
    static void stop() throws Exception {
        try {
            for (ManagedChannel c : new ManagedChannel[] {nioClient, usertcpClient}) {
                if (c != null) {
                    c.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
                }
            }
            for (Server s : new Server[] {usertcpServer, nioServer}) {
                if (s != null) {
                    s.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
                }
            }
            if (timer != null) {
                timer.shutdownNow();
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

    static ManagedChannel channel(Direction d) {
        return d == Direction.USERTCP_SERVER ? nioClient : usertcpClient;
    }

    static SimpleServiceGrpc.SimpleServiceBlockingStub blocking(Direction d) {
        return SimpleServiceGrpc.newBlockingStub(channel(d)).withDeadlineAfter(30, TimeUnit.SECONDS);
    }

    static SimpleRequest request(String s) {
        return SimpleRequest.newBuilder().setRequestMessage(s).build();
    }

    @ParameterizedTest
    @EnumSource(Direction.class)
    void unaryCallsAreEchoed(Direction d) {
        for (int i = 0; i < 50; i++) {
            String text = text(1 + i * 97, i);
            SimpleResponse r = blocking(d).unaryRpc(request(text));
            assertEquals(text, r.getResponseMessage(), "unary call " + i);
        }
    }

    @ParameterizedTest
    @EnumSource(Direction.class)
    void sixMebibyteMessageIsEchoedIntact(Direction d) {
        String text = text(6 << 20, 42);
        SimpleResponse r = blocking(d).unaryRpc(request(text));
        assertEquals(text.length(), r.getResponseMessage().length());
        assertTrue(text.equals(r.getResponseMessage()), "the 6 MiB echo differs from what was sent");
    }

    @ParameterizedTest
    @EnumSource(Direction.class)
    void serverStreamingDeliversEveryMessageInOrder(Direction d) {
        int[] sizes = {0, 1, 10, 100, 1_000, 10_000, 100_000, 1_000_000, 3_000_000, 5, 65_536, 200_000};
        StringBuilder req = new StringBuilder("sizes");
        for (int s : sizes) {
            req.append(' ').append(s);
        }
        Iterator<SimpleResponse> it = blocking(d).serverStreamingRpc(request(req.toString()));
        List<SimpleResponse> got = new ArrayList<>();
        it.forEachRemaining(got::add);
        assertEquals(sizes.length, got.size(), "number of streamed messages");
        for (int i = 0; i < sizes.length; i++) {
            assertTrue(text(sizes[i], i).equals(got.get(i).getResponseMessage()),
                    "streamed message " + i + " (" + sizes[i] + " chars) differs");
        }
    }

    @ParameterizedTest
    @EnumSource(Direction.class)
    void clientStreamingServerSeesEveryByte(Direction d) throws Exception {
        CompletableFuture<SimpleResponse> done = new CompletableFuture<>();
        StreamObserver<SimpleRequest> out = SimpleServiceGrpc.newStub(channel(d))
                .withDeadlineAfter(30, TimeUnit.SECONDS)
                .clientStreamingRpc(observer(done));
        CRC32 crc = new CRC32();
        long chars = 0;
        int n = 300;
        SplittableRandom sizes = new SplittableRandom(7);
        for (int i = 0; i < n; i++) {
            String t = text(sizes.nextInt(40_000), 1000 + i);
            crc.update(t.getBytes(java.nio.charset.StandardCharsets.US_ASCII));
            chars += t.length();
            out.onNext(request(t));
        }
        out.onCompleted();
        SimpleResponse r = done.get(30, TimeUnit.SECONDS);
        assertEquals("n=" + n + " chars=" + chars + " crc=" + Long.toHexString(crc.getValue()),
                r.getResponseMessage());
    }

    @ParameterizedTest
    @EnumSource(Direction.class)
    void bidirectionalStreamEchoesEveryMessage(Direction d) throws Exception {
        List<String> received = new ArrayList<>();
        CompletableFuture<Void> done = new CompletableFuture<>();
        StreamObserver<SimpleRequest> out = SimpleServiceGrpc.newStub(channel(d))
                .withDeadlineAfter(30, TimeUnit.SECONDS)
                .bidiStreamingRpc(new StreamObserver<>() {
                    @Override
                    public void onNext(SimpleResponse value) {
                        synchronized (received) {
                            received.add(value.getResponseMessage());
                        }
                    }

                    @Override
                    public void onError(Throwable t) {
                        done.completeExceptionally(t);
                    }

                    @Override
                    public void onCompleted() {
                        done.complete(null);
                    }
                });
        List<String> sentTexts = new ArrayList<>();
        SplittableRandom sizes = new SplittableRandom(11);
        for (int i = 0; i < 400; i++) {
            String t = text(sizes.nextInt(1 << sizes.nextInt(1, 18)), 5000 + i);
            sentTexts.add(t);
            out.onNext(request(t));
        }
        out.onCompleted();
        done.get(30, TimeUnit.SECONDS);
        synchronized (received) {
            assertEquals(sentTexts.size(), received.size(), "echoed messages");
            for (int i = 0; i < sentTexts.size(); i++) {
                assertTrue(sentTexts.get(i).equals(received.get(i)), "echo " + i + " differs");
            }
        }
    }

    @ParameterizedTest
    @EnumSource(Direction.class)
    void deadlineExpiresAndTheServerSeesTheCallEnd(Direction d) throws Exception {
        String token = "deadline-" + d;
        CountDownLatch serverStart = new CountDownLatch(1);
        CountDownLatch serverEnd = new CountDownLatch(1);
        arrived.put(token, serverStart);
        cancelled.put(token, serverEnd);
        // Connected first: the deadline is for the call, not for setting up the connection.
        assertEquals("before", blocking(d).unaryRpc(request("before")).getResponseMessage());
        long t0 = System.nanoTime();
        StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () ->
                SimpleServiceGrpc.newBlockingStub(channel(d)).withDeadlineAfter(500, TimeUnit.MILLISECONDS)
                        .unaryRpc(request("hold " + token)));
        long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
        assertEquals(Status.Code.DEADLINE_EXCEEDED, e.getStatus().getCode(), e.toString());
        assertTrue(ms >= 450 && ms < 5_000, "the deadline of 500 ms expired after " + ms + " ms");
        assertTrue(serverStart.await(0, TimeUnit.SECONDS), "the call never reached the server");
        assertTrue(serverEnd.await(10, TimeUnit.SECONDS), "the server never saw the call end");
        // The connection is still good for the next call.
        assertEquals("after", blocking(d).unaryRpc(request("after")).getResponseMessage());
    }

    @ParameterizedTest
    @EnumSource(Direction.class)
    void cancellingAStreamStopsTheServer(Direction d) throws Exception {
        String token = "cancel-" + d;
        CountDownLatch serverCancelled = new CountDownLatch(1);
        cancelled.put(token, serverCancelled);
        List<String> received = new ArrayList<>();
        CompletableFuture<Status> ended = new CompletableFuture<>();
        AtomicReference<ClientCallStreamObserver<SimpleRequest>> call = new AtomicReference<>();
        SimpleServiceGrpc.newStub(channel(d)).withDeadlineAfter(60, TimeUnit.SECONDS)
                .serverStreamingRpc(request("forever " + token), new ClientResponseObserver<SimpleRequest, SimpleResponse>() {
                    @Override
                    public void beforeStart(ClientCallStreamObserver<SimpleRequest> requestStream) {
                        call.set(requestStream);
                    }

                    @Override
                    public void onNext(SimpleResponse value) {
                        received.add(value.getResponseMessage());
                        if (received.size() == 20) {
                            call.get().cancel("enough", null);
                        }
                    }

                    @Override
                    public void onError(Throwable t) {
                        ended.complete(Status.fromThrowable(t));
                    }

                    @Override
                    public void onCompleted() {
                        ended.complete(Status.OK);
                    }
                });
        Status status = ended.get(30, TimeUnit.SECONDS);
        assertEquals(Status.Code.CANCELLED, status.getCode(), status.toString());
        assertTrue(received.size() >= 20, "received " + received.size());
        for (int i = 0; i < received.size(); i++) {
            assertEquals(text(100 + i, i), received.get(i), "message " + i);
        }
        // RST_STREAM crossed the connection: the server's call was cancelled and it stopped sending.
        assertTrue(serverCancelled.await(10, TimeUnit.SECONDS), "the server never saw the cancellation");
        int atCancel = sent.get(token).get();
        Thread.sleep(200);
        assertEquals(atCancel, sent.get(token).get(), "the server kept sending after the cancellation");
        assertEquals("after", blocking(d).unaryRpc(request("after")).getResponseMessage());
    }

    private static StreamObserver<SimpleResponse> observer(CompletableFuture<SimpleResponse> done) {
        return new StreamObserver<>() {
            private SimpleResponse last;

            @Override
            public void onNext(SimpleResponse value) {
                last = value;
            }

            @Override
            public void onError(Throwable t) {
                done.completeExceptionally(t);
            }

            @Override
            public void onCompleted() {
                done.complete(last);
            }
        };
    }

    /** {@code length} pseudo-random lower-case letters, the same for the same {@code seed}. */
    static String text(int length, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        char[] c = new char[length];
        for (int i = 0; i < length; i++) {
            c[i] = (char) ('a' + r.nextInt(26));
        }
        return new String(c);
    }

    /**
     * The service, on both servers. Unary echoes ("hold TOKEN" never answers and records the call's end);
     * server streaming takes "sizes N..." (message i is {@code text(N_i, i)}) or "forever TOKEN" (message i is
     * {@code text(100 + i, i)} every 5 ms until cancelled); client streaming answers with count, length and
     * CRC-32; bidi echoes each message.
     */
    static final class Service extends SimpleServiceGrpc.SimpleServiceImplBase {
        @Override
        public void unaryRpc(SimpleRequest request, StreamObserver<SimpleResponse> out) {
            String m = request.getRequestMessage();
            if (m.startsWith("hold ")) {
                String token = m.substring(5);
                ((ServerCallStreamObserver<SimpleResponse>) out).setOnCancelHandler(() -> cancelled.get(token).countDown());
                arrived.get(token).countDown();
                return;
            }
            out.onNext(SimpleResponse.newBuilder().setResponseMessage(m).build());
            out.onCompleted();
        }

        @Override
        public void serverStreamingRpc(SimpleRequest request, StreamObserver<SimpleResponse> out) {
            String m = request.getRequestMessage();
            if (m.startsWith("forever ")) {
                String token = m.substring(8);
                ServerCallStreamObserver<SimpleResponse> call = (ServerCallStreamObserver<SimpleResponse>) out;
                AtomicInteger count = sent.computeIfAbsent(token, k -> new AtomicInteger());
                AtomicReference<ScheduledFuture<?>> task = new AtomicReference<>();
                call.setOnCancelHandler(() -> {
                    synchronized (call) { // a send in progress finishes first; later ones see the cancellation
                        ScheduledFuture<?> f = task.get();
                        if (f != null) {
                            f.cancel(false);
                        }
                    }
                    cancelled.get(token).countDown();
                });
                task.set(timer.scheduleAtFixedRate(() -> {
                    synchronized (call) {
                        if (!call.isCancelled()) {
                            int i = count.getAndIncrement();
                            call.onNext(SimpleResponse.newBuilder().setResponseMessage(text(100 + i, i)).build());
                        }
                    }
                }, 0, 5, TimeUnit.MILLISECONDS));
                return;
            }
            String[] f = m.split(" ");
            for (int i = 1; i < f.length; i++) {
                out.onNext(SimpleResponse.newBuilder().setResponseMessage(text(Integer.parseInt(f[i]), i - 1)).build());
            }
            out.onCompleted();
        }

        @Override
        public StreamObserver<SimpleRequest> clientStreamingRpc(StreamObserver<SimpleResponse> out) {
            return new StreamObserver<>() {
                final CRC32 crc = new CRC32();
                long chars;
                int n;

                @Override
                public void onNext(SimpleRequest value) {
                    String t = value.getRequestMessage();
                    crc.update(t.getBytes(java.nio.charset.StandardCharsets.US_ASCII));
                    chars += t.length();
                    n++;
                }

                @Override
                public void onError(Throwable t) {
                    // the client went away: nothing to answer
                }

                @Override
                public void onCompleted() {
                    out.onNext(SimpleResponse.newBuilder().setResponseMessage(
                            "n=" + n + " chars=" + chars + " crc=" + Long.toHexString(crc.getValue())).build());
                    out.onCompleted();
                }
            };
        }

        @Override
        public StreamObserver<SimpleRequest> bidiStreamingRpc(StreamObserver<SimpleResponse> out) {
            return new StreamObserver<>() {
                @Override
                public void onNext(SimpleRequest value) {
                    out.onNext(SimpleResponse.newBuilder().setResponseMessage(value.getRequestMessage()).build());
                }

                @Override
                public void onError(Throwable t) {
                    // the client went away
                }

                @Override
                public void onCompleted() {
                    out.onCompleted();
                }
            };
        }
    }
}
