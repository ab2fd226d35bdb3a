#!/usr/bin/env bash
# Compares the usertcp echo example with the same Netty echo handler on Netty's NIO transport (the kernel's
# TCP), using the project's load client bench/echoload.c in both cases:
#   (a) usertcp: `echo-server` on a TAP device moved into namespace A; echoload runs in A (kernel TCP <-> TAP
#       <-> usertcp).
#   (b) nio: `nio-echo-server` in namespace B; echoload in namespace C, B and C joined by a veth pair.
#   (c) epoll: bench/epoll-echo.c, a C epoll echo server, in namespace B beside nio (the kernel's baseline).
# Measures rr (1-byte round trips), bulk (MiB streamed through the echo, every byte checked), crr (connect,
# 1-byte echo, close) and burst (1000 connections at once), then prints a table with the ratios usertcp/nio and
# usertcp/epoll.
# Needs root. Addresses come from 198.18.0.0/15 only. Everything it creates is removed on exit.
#
# Environment: BENCH_SECONDS (rr and crr duration, default 5), BENCH_CONNS (rr connections, default 1),
# BENCH_MIB (bulk size, default 256: 64 MiB last ~0.1 s and mostly measure warm-up), JAVA (default java), JAVA_OPTS (for both servers), BENCH_WARMUP (0 to skip
# the warm-up runs), BENCH_REPEAT (runs per measurement, the median is reported; default 3), BENCH_IPV6 (1 to
# run everything over IPv6, fd00::/8).
# BENCH_USERTCP_LOOPS sets the usertcp server's event loops (default: the example's, one per core).
# BENCH_LOOPS=N runs the scaling table instead (bench/scale.sh: 1..N event loops, BENCH_CLIENTS clients at once,
# next to N epoll servers with SO_REUSEPORT).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if [ -n "${BENCH_LOOPS:-}" ]; then
    exec bash "$repo/bench/scale.sh"
fi
SECS=${BENCH_SECONDS:-5}
CONNS=${BENCH_CONNS:-1}
MIB=${BENCH_MIB:-256}
JAVA=${JAVA:-java}
read -r -a JOPTS <<<"${JAVA_OPTS:-}"
JAR=$repo/examples/target/usertcp-examples.jar
PORT=7
EPOLL_PORT=8

die() { echo "bench: $*" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || die "needs root (TAP device, network namespaces): sudo bash bench/run.sh"
[ -c /dev/net/tun ] || die "/dev/net/tun is missing"

id=$(printf '%04x' $((RANDOM % 65536)))
NS_A=utb-a-$id NS_B=utb-b-$id NS_C=utb-c-$id
TAP=utbt$id VETH_B=utbb$id VETH_C=utbc$id
if [ "${BENCH_IPV6:-0}" = 1 ]; then
    USERTCP_KERNEL=fd00:198:10::1/64 USERTCP_ADDR=fd00:198:10::2
    NIO_SERVER=fd00:198:20::1 NIO_CLIENT=fd00:198:20::2 PREFIX=64 NODAD=nodad
else
    USERTCP_KERNEL=198.18.10.1/24 USERTCP_ADDR=198.18.10.2
    NIO_SERVER=198.18.20.1 NIO_CLIENT=198.18.20.2 PREFIX=24 NODAD=
fi
work=$(mktemp -d /tmp/usertcp-bench.XXXXXX)
pids=()

stop() { # SIGTERM (the servers' shutdown hooks close their event loops), SIGKILL after 10 s
    local pid=$1 i
    kill "$pid" 2>/dev/null || return 0
    for i in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}
cleanup() {
    set +e
    for pid in "${pids[@]}"; do stop "$pid"; done
    for ns in "$NS_A" "$NS_B" "$NS_C"; do
        if ip netns list | awk '{print $1}' | grep -qx "$ns"; then
            ip netns pids "$ns" | xargs -r kill -9 2>/dev/null
            ip netns del "$ns"
        fi
    done
    ip link del "$TAP" 2>/dev/null      # only if the server died before moving it
    ip link del "$VETH_B" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

gcc -O2 -pthread -o "$work/echoload" "$repo/bench/echoload.c"
gcc -O2 -o "$work/epoll-echo" "$repo/bench/epoll-echo.c"
if [ ! -f "$JAR" ]; then
    echo "bench: building $JAR"
    (cd "$repo" && mvn -q -B -DskipTests package)
fi

for ns in "$NS_A" "$NS_B" "$NS_C"; do
    ip netns add "$ns"
    ip -n "$ns" link set lo up
done
# Same client-side settings in both client namespaces: crr makes many short connections.
for ns in "$NS_A" "$NS_C"; do
    ip netns exec "$ns" sysctl -qw net.ipv4.ip_local_port_range="1024 65535" net.ipv4.tcp_tw_reuse=1
done
ip link add "$VETH_B" type veth peer name "$VETH_C"
ip link set "$VETH_B" netns "$NS_B"
ip link set "$VETH_C" netns "$NS_C"
# shellcheck disable=SC2086
ip -n "$NS_B" addr add "$NIO_SERVER/$PREFIX" dev "$VETH_B" $NODAD
# shellcheck disable=SC2086
ip -n "$NS_C" addr add "$NIO_CLIENT/$PREFIX" dev "$VETH_C" $NODAD
ip -n "$NS_B" link set "$VETH_B" up
ip -n "$NS_C" link set "$VETH_C" up

await_ready() { # pid log
    local i
    for i in $(seq 300); do
        grep -q "listening on" "$2" && return 0
        kill -0 "$1" 2>/dev/null || { cat "$2" >&2; die "server exited before it was ready"; }
        sleep 0.1
    done
    cat "$2" >&2
    die "server not ready after 30 s"
}

USERTCP_NETNS=$NS_A "$JAVA" "${JOPTS[@]}" -jar "$JAR" echo-server "$TAP" "$USERTCP_KERNEL" "$USERTCP_ADDR" "$PORT" \
    ${BENCH_USERTCP_LOOPS:+--loops "$BENCH_USERTCP_LOOPS"} >"$work/usertcp.log" 2>&1 &
pids+=($!)
await_ready "$!" "$work/usertcp.log"
head -n 1 "$work/usertcp.log"
ip netns exec "$NS_B" "$JAVA" "${JOPTS[@]}" -jar "$JAR" nio-echo-server "$NIO_SERVER" "$PORT" \
    >"$work/nio.log" 2>&1 &
pids+=($!)
await_ready "$!" "$work/nio.log"
head -n 1 "$work/nio.log"
# The kernel baseline of the project's bar: a C epoll echo server, same namespace and veth as NIO.
ip netns exec "$NS_B" "$work/epoll-echo" "$NIO_SERVER" "$EPOLL_PORT" >"$work/epoll.log" 2>&1 &
pids+=($!)
await_ready "$!" "$work/epoll.log"
head -n 1 "$work/epoll.log"

declare -A R
failed=0
# The figure echoload reports for each mode (its "NAME VALUE" output lines) that the runs are ranked by.
declare -A MAIN=([rr]=round_trips_per_s [bulk]=mib_per_s_each_way [crr]=connections_per_s [burst]=total_s)
# figure NAME OUTPUT: the value on echoload's line "NAME VALUE", empty if there is none.
figure() { awk -v k="$1" '$1 == k { print $2; exit }' <<<"$2"; }
# measure NAME NS HOST MODE ARGS...: runs `echoload MODE HOST PORT ARGS...` BENCH_REPEAT times (default 3) and
# stores the main figure of the median run as R[NAME.MODE] (and its p50_us as R[NAME.p50] for rr).
REPEAT=${BENCH_REPEAT:-3}
measure() {
    local name=$1 ns=$2 host=$3 mode=$4 out i
    shift 4
    local port=$PORT
    [ "$name" = epoll ] && port=$EPOLL_PORT
    local outs=() ranks=()
    for i in $(seq "$REPEAT"); do
        if out=$(ip netns exec "$ns" "$work/echoload" "$mode" "$host" "$port" "$@" 2>&1) \
                && [ -n "$(figure "${MAIN[$mode]}" "$out")" ]; then
            outs+=("$out")
            ranks+=("$(figure "${MAIN[$mode]}" "$out") $((i - 1))")
        else
            R[$name.$mode]=FAIL
            [ "$mode" = rr ] && R[$name.p50]=FAIL
            failed=1
            printf '  %-8s %-5s FAILED: %s\n' "$name" "$mode" "$(tr '\n' ' ' <<<"$out")"
            return
        fi
    done
    # the median run by the main figure (a rate, or for burst a time: the middle one either way)
    local median
    median=$(printf '%s\n' "${ranks[@]}" | sort -g -k1,1 | sed -n "$(( (REPEAT + 1) / 2 ))p" | awk '{print $2}')
    out=${outs[$median]}
    R[$name.$mode]=$(figure "${MAIN[$mode]}" "$out")
    [ "$mode" = rr ] && R[$name.p50]=$(figure p50_us "$out")
    printf '  %-8s %-5s %s   (median of %d: %s)\n' "$name" "$mode" \
        "$(awk '$1 !~ /^(mode|family|address|port)$/ { printf "%s %s  ", $1, $2 }' <<<"$out")" "$REPEAT" \
        "$(printf '%s\n' "${ranks[@]}" | awk '{printf "%s ", $1}')"
}

if [ "${BENCH_WARMUP:-1}" != 0 ]; then
    echo "bench: warming up both servers (JIT)"
    for t in "usertcp $NS_A $USERTCP_ADDR" "nio $NS_C $NIO_SERVER"; do
        read -r name ns host <<<"$t"
        ip netns exec "$ns" "$work/echoload" rr "$host" "$PORT" 2 "$CONNS" >/dev/null 2>&1 || true
        # The JIT needs more than a few MiB: after 16 MiB usertcp's bulk was half its steady-state rate.
        # (and after 2 x 256 MiB it was still rising): four full-size runs.
        for _ in 1 2 3 4; do
            ip netns exec "$ns" "$work/echoload" bulk "$host" "$PORT" "$MIB" >/dev/null 2>&1 || true
        done
        ip netns exec "$ns" "$work/echoload" crr "$host" "$PORT" 1 >/dev/null 2>&1 || true
    done
fi

echo "bench: rr ${SECS}s on $CONNS connection(s), bulk ${MIB} MiB, crr ${SECS}s, burst 1000 on $(nproc) cores," \
    "$(uname -r)"
for mode in "rr $SECS $CONNS" "bulk $MIB" "crr $SECS" "burst 1000 64"; do
    # shellcheck disable=SC2086
    measure usertcp "$NS_A" "$USERTCP_ADDR" $mode
    # shellcheck disable=SC2086
    measure nio "$NS_C" "$NIO_SERVER" $mode
    # shellcheck disable=SC2086
    measure epoll "$NS_C" "$NIO_SERVER" $mode
done

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a ~ /^[0-9.]+$/ && b ~ /^[0-9.]+$/ && b > 0) printf "%.2f", a / b; else print "-" }'; }
row() { printf '%-34s %10s %10s %10s %12s %12s\n' "$1" "$2" "$3" "$4" "$(ratio "$2" "$3")" "$(ratio "$2" "$4")"; }
echo
printf '%-34s %10s %10s %10s %12s %12s\n' "" usertcp nio epoll usertcp/nio usertcp/epoll
row "rr 1 B on $CONNS conn (round trips/s)" "${R[usertcp.rr]}" "${R[nio.rr]}" "${R[epoll.rr]}"
row "rr p50 latency (us, lower better)" "${R[usertcp.p50]}" "${R[nio.p50]}" "${R[epoll.p50]}"
row "bulk (MiB/s each way)" "${R[usertcp.bulk]}" "${R[nio.bulk]}" "${R[epoll.bulk]}"
row "crr (connections/s)" "${R[usertcp.crr]}" "${R[nio.crr]}" "${R[epoll.crr]}"
row "burst 1000 (s, lower better)" "${R[usertcp.burst]}" "${R[nio.burst]}" "${R[epoll.burst]}"
exit "$failed"
