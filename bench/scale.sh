#!/usr/bin/env bash
# Scaling over event loops (issue #12): aggregate rr, bulk and crr of the usertcp echo example with 1, 2, ...
# BENCH_LOOPS event loops (one stack per loop, each on its own queue of one multi-queue TAP device), next to the
# kernel with the same number of servers: that many single-threaded epoll echo servers (bench/epoll-echo.c) sharing
# the port with SO_REUSEPORT, over a veth pair. BENCH_CLIENTS load clients (bench/echoload.c) run at once, each on
# its own connection(s); their figures are added up. Each figure is the median of BENCH_REPEAT rounds.
#   (a) usertcp: `echo-server --loops N` on a TAP device moved into namespace A; the clients run in A.
#   (b) epoll: N epoll-echo processes in namespace B; the clients run in namespace C, B and C joined by a veth pair.
# Needs root. Addresses come from 198.18.0.0/15 only. Everything it creates is removed on exit.
#
# Environment: BENCH_LOOPS (largest number of loops, default: cores), BENCH_CLIENTS (parallel clients, default 4),
# BENCH_SECONDS (rr and crr duration, default 5), BENCH_MIB (bulk size per client, default 64), BENCH_REPEAT
# (rounds per figure, default 3), JAVA, JAVA_OPTS. Run through `BENCH_LOOPS=N bash bench/run.sh` or directly.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
LOOPS=${BENCH_LOOPS:-$(nproc)}
CLIENTS=${BENCH_CLIENTS:-4}
SECS=${BENCH_SECONDS:-5}
MIB=${BENCH_MIB:-64}
REPEAT=${BENCH_REPEAT:-3}
JAVA=${JAVA:-java}
read -r -a JOPTS <<<"${JAVA_OPTS:-}"
JAR=$repo/examples/target/usertcp-examples.jar
PORT=7

die() { echo "bench: $*" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || die "needs root (TAP device, network namespaces): sudo BENCH_LOOPS=2 bash bench/run.sh"
[ -c /dev/net/tun ] || die "/dev/net/tun is missing"
[[ "$LOOPS" =~ ^[1-9][0-9]*$ ]] || die "BENCH_LOOPS must be a positive number: '$LOOPS'"
[[ "$CLIENTS" =~ ^[1-9][0-9]*$ ]] || die "BENCH_CLIENTS must be a positive number: '$CLIENTS'"

id=$(printf '%04x' $((RANDOM % 65536)))
NS_A=uts-a-$id NS_B=uts-b-$id NS_C=uts-c-$id
VETH_B=utsb$id VETH_C=utsc$id
KERNEL=198.18.12.1/24 ADDR=198.18.12.2 EPOLL_SERVER=198.18.22.1 EPOLL_CLIENT=198.18.22.2
work=$(mktemp -d /tmp/usertcp-scale.XXXXXX)
pids=()

stop() { # SIGTERM (the server's shutdown hook closes its event loops), SIGKILL after 10 s
    local pid=$1 i
    kill "$pid" 2>/dev/null || return 0
    for i in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}
stop_all() {
    local pid
    for pid in "${pids[@]}"; do stop "$pid"; done
    pids=()
}
cleanup() {
    set +e
    stop_all
    for ns in "$NS_A" "$NS_B" "$NS_C"; do
        if ip netns list | awk '{print $1}' | grep -qx "$ns"; then
            ip netns pids "$ns" | xargs -r kill -9 2>/dev/null
            ip netns del "$ns"
        fi
    done
    ip link del "$VETH_B" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

gcc -O2 -pthread -o "$work/echoload" "$repo/bench/echoload.c"
gcc -O2 -o "$work/epoll-echo" "$repo/bench/epoll-echo.c"
[ -f "$JAR" ] || (cd "$repo" && mvn -q -B -DskipTests package)

for ns in "$NS_A" "$NS_B" "$NS_C"; do
    ip netns add "$ns"
    ip -n "$ns" link set lo up
done
for ns in "$NS_A" "$NS_C"; do
    ip netns exec "$ns" sysctl -qw net.ipv4.ip_local_port_range="1024 65535" net.ipv4.tcp_tw_reuse=1
done
ip link add "$VETH_B" type veth peer name "$VETH_C"
ip link set "$VETH_B" netns "$NS_B"
ip link set "$VETH_C" netns "$NS_C"
ip -n "$NS_B" addr add "$EPOLL_SERVER/24" dev "$VETH_B"
ip -n "$NS_C" addr add "$EPOLL_CLIENT/24" dev "$VETH_C"
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

declare -A MAIN=([rr]=round_trips_per_s [bulk]=mib_per_s_each_way [crr]=connections_per_s)
declare -A R
failed=0
# aggregate NS HOST MODE ARGS...: runs CLIENTS echoload clients at once, prints the sum of their main figures
# (FAIL if any client failed).
aggregate() {
    local ns=$1 host=$2 mode=$3 i sum=0 v
    shift 3
    local outs=()
    for i in $(seq "$CLIENTS"); do
        ip netns exec "$ns" "$work/echoload" "$mode" "$host" "$PORT" "$@" >"$work/client.$i" 2>&1 &
        outs+=($!)
    done
    for i in $(seq "$CLIENTS"); do
        if ! wait "${outs[$((i - 1))]}"; then sum=FAIL; fi
    done
    [ "$sum" = FAIL ] && { echo FAIL; return; }
    for i in $(seq "$CLIENTS"); do
        v=$(awk -v k="${MAIN[$mode]}" '$1 == k { print $2; exit }' "$work/client.$i")
        [ -n "$v" ] || { echo FAIL; return; }
        sum=$(awk -v a="$sum" -v b="$v" 'BEGIN { printf "%.1f", a + b }')
    done
    echo "$sum"
}
# measure KEY NS HOST MODE ARGS...: the median of REPEAT aggregates into R[KEY].
measure() {
    local key=$1 ns=$2 host=$3 mode=$4 i v
    shift 4
    local vals=()
    for i in $(seq "$REPEAT"); do
        v=$(aggregate "$ns" "$host" "$mode" "$@")
        if [ "$v" = FAIL ]; then
            R[$key]=FAIL
            failed=1
            echo "  $key: a client failed: $(cat "$work"/client.* | tr '\n' ' ' | cut -c1-300)"
            return
        fi
        vals+=("$v")
    done
    R[$key]=$(printf '%s\n' "${vals[@]}" | sort -g | sed -n "$(( (REPEAT + 1) / 2 ))p")
    printf '  %-14s %10s   (rounds: %s)\n' "$key" "${R[$key]}" "${vals[*]}"
}

echo "bench: 1..$LOOPS loops, $CLIENTS clients at once (rr 1 connection each, ${SECS}s; bulk ${MIB} MiB each;" \
    "crr ${SECS}s), median of $REPEAT, on $(nproc) cores, $(uname -r)"
for n in $(seq "$LOOPS"); do
    tap=utst$id$n
    USERTCP_NETNS=$NS_A "$JAVA" "${JOPTS[@]}" -jar "$JAR" echo-server --loops "$n" "$tap" "$KERNEL" "$ADDR" "$PORT" \
        >"$work/usertcp.log" 2>&1 &
    pids+=($!)
    await_ready "$!" "$work/usertcp.log"
    head -n 1 "$work/usertcp.log"
    for i in $(seq "$n"); do
        ip netns exec "$NS_B" "$work/epoll-echo" "$EPOLL_SERVER" "$PORT" >"$work/epoll.$i.log" 2>&1 &
        pids+=($!)
        await_ready "$!" "$work/epoll.$i.log"
    done
    # Warm-up (JIT): one round of each mode, not counted.
    aggregate "$NS_A" "$ADDR" rr 2 1 >/dev/null
    aggregate "$NS_A" "$ADDR" bulk "$MIB" >/dev/null
    aggregate "$NS_A" "$ADDR" crr 2 >/dev/null
    measure "usertcp.$n.rr" "$NS_A" "$ADDR" rr "$SECS" 1
    measure "epoll.$n.rr" "$NS_C" "$EPOLL_SERVER" rr "$SECS" 1
    measure "usertcp.$n.bulk" "$NS_A" "$ADDR" bulk "$MIB"
    measure "epoll.$n.bulk" "$NS_C" "$EPOLL_SERVER" bulk "$MIB"
    measure "usertcp.$n.crr" "$NS_A" "$ADDR" crr "$SECS"
    measure "epoll.$n.crr" "$NS_C" "$EPOLL_SERVER" crr "$SECS"
    stop_all
done

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a ~ /^[0-9.]+$/ && b ~ /^[0-9.]+$/ && b > 0) printf "%.2f", a / b; else print "-" }'; }
echo
printf '%-6s | %10s %10s %6s %6s | %9s %9s %6s %6s | %9s %9s %6s %6s\n' loops "rr/s" "epoll" "ratio" "xN" \
    "bulk MiB/s" "epoll" "ratio" "xN" "crr/s" "epoll" "ratio" "xN"
for n in $(seq "$LOOPS"); do
    line=$(printf '%-6s' "$n")
    for m in rr bulk crr; do
        u=${R[usertcp.$n.$m]} e=${R[epoll.$n.$m]}
        line+=$(printf ' | %10s %10s %6s %6s' "$u" "$e" "$(ratio "$u" "$e")" "$(ratio "$u" "${R[usertcp.1.$m]}")")
    done
    echo "$line"
done
echo "(ratio: usertcp/epoll with the same number of servers; xN: usertcp with N loops / usertcp with 1)"
exit "$failed"
