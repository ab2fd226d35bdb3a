package io.usertcp.channel;

import io.netty.channel.IoEvent;

/**
 * What a {@link UserTcpIoHandler} tells a registered usertcp channel in
 * {@link io.netty.channel.IoHandle#handle(io.netty.channel.IoRegistration, IoEvent)}: the socket's readiness
 * since the last event, as a set of {@link UserTcpIoOps} (as {@code NioIoEvent} and {@code EpollIoEvent} carry
 * the ready operations of a selector or an epoll instance).
 */
public interface UserTcpIoEvent extends IoEvent {
    /** The ready operations: those of the channel's interest set, plus the ones always reported. */
    UserTcpIoOps ops();
}
