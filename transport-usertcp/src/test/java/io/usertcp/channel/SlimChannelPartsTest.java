package io.usertcp.channel;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.UnpooledByteBufAllocator;
import io.netty.channel.AdaptiveRecvByteBufAllocator;
import io.netty.channel.ChannelOption;
import io.netty.channel.FixedRecvByteBufAllocator;
import io.netty.channel.MaxMessagesRecvByteBufAllocator;
import io.netty.channel.RecvByteBufAllocator;
import org.junit.jupiter.api.Test;

import java.util.HashSet;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The parts that keep an idle channel small (issue #12) behave as Netty's own: the channel id, the
 * RecvByteBufAllocator a config hands out, and the read handle of channels that keep Netty's default allocator.
 */
class SlimChannelPartsTest {
    @Test
    void channelIdsAreUniqueOrderedAndCarryTheJvmsLongText() {
        UserTcpChannel a = new UserTcpChannel();
        UserTcpChannel b = new UserTcpChannel();
        assertThat(a.id()).isInstanceOf(UserChannelId.class).isNotEqualTo(b.id());
        assertThat(a.id().compareTo(b.id())).isNegative();
        assertThat(b.id().compareTo(a.id())).isPositive();
        assertThat(a.id()).isEqualTo(a.id()).hasSameHashCodeAs(a.id());
        assertThat(a.id().asLongText()).endsWith("-" + a.id().asShortText());
        assertThat(a.id().asLongText().substring(0, a.id().asLongText().lastIndexOf('-')))
                .isEqualTo(b.id().asLongText().substring(0, b.id().asLongText().lastIndexOf('-')));
        Set<Integer> buckets = new HashSet<>();
        for (int i = 0; i < 64; i++) {
            buckets.add(UserChannelId.next().hashCode() & 63);
        }
        assertThat(buckets.size()).as("consecutive ids spread over a 64-bucket table").isGreaterThan(32);
    }

    @Test
    void eachChannelGetsItsOwnDefaultAllocatorWhenItAsks() {
        UserTcpChannelConfig a = new UserTcpChannel().config();
        UserTcpChannelConfig b = new UserTcpChannel().config();
        RecvByteBufAllocator ra = a.getRecvByteBufAllocator();
        assertThat(ra).isInstanceOf(AdaptiveRecvByteBufAllocator.class).isSameAs(a.getRecvByteBufAllocator());
        assertThat(ra).isNotSameAs(b.getRecvByteBufAllocator());
        assertThat(((MaxMessagesRecvByteBufAllocator) ra).maxMessagesPerRead()).isEqualTo(16);
        ((MaxMessagesRecvByteBufAllocator) ra).maxMessagesPerRead(3);
        assertThat(a.getMaxMessagesPerRead()).isEqualTo(3);
        assertThat(b.getMaxMessagesPerRead()).as("another channel's is its own").isEqualTo(16);
        assertThat(a.readMessagesLimit()).isEqualTo(3);
        assertThat(a.exactReads()).as("still Netty's default kind").isTrue();
        UserTcpChannelConfig c = new UserTcpChannel().config();
        c.setMaxMessagesPerRead(5);
        assertThat(c.readMessagesLimit()).isEqualTo(5);
        assertThat(new UserTcpChannel().config().readMessagesLimit()).as("the shared default is untouched")
                .isEqualTo(16);
        assertThat(c.setOption(ChannelOption.RCVBUF_ALLOCATOR, new FixedRecvByteBufAllocator(1024))).isTrue();
        assertThat(c.exactReads()).as("the application chose one").isFalse();
        assertThat(new UserTcpChannel().config().exactReads()).isTrue();
    }

    @Test
    void theExactHandleEndsAReadLoopAsNettysHandleWould() {
        UserTcpChannelConfig config = new UserTcpChannel().config();
        config.setMaxMessagesPerRead(2);
        ExactReadHandle h = new ExactReadHandle().bind(null);
        h.reset(config);
        ByteBuf b = h.allocate(UnpooledByteBufAllocator.DEFAULT);
        assertThat(b.capacity()).as("nothing waiting: the smallest buffer").isEqualTo(1);
        b.release();
        h.attemptedBytesRead(100);
        h.lastBytesRead(100);
        h.incMessagesRead(1);
        assertThat(h.continueReading()).as("a full read, one message of two").isTrue();
        h.attemptedBytesRead(100);
        h.lastBytesRead(40);
        assertThat(h.continueReading()).as("a read that did not fill its buffer").isFalse();
        h.lastBytesRead(100);
        h.incMessagesRead(1);
        assertThat(h.continueReading()).as("MAX_MESSAGES_PER_READ reached").isFalse();
        h.reset(config);
        h.attemptedBytesRead(100);
        h.lastBytesRead(100);
        h.incMessagesRead(1);
        assertThat(h.continueReading()).isTrue();
        config.setAutoRead(false);
        assertThat(h.continueReading()).as("AUTO_READ off: one message per read()").isFalse();
        h.readComplete();
    }
}
