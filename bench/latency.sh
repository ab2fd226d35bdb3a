#!/usr/bin/env bash
# Latency under load (issue #12): rr round-trip latency (p50, p99, p99.9) of the usertcp echo example with one
# event loop, alone and while bulk flows stream through the same loop on other connections, next to the kernel's
# (bench/epoll-echo.c, one thread, over a veth pair). The client is the project's bench/echoload.c in both cases,
# mode `mixed`: BENCH_BULK bulk connections (echoed both ways, every byte checked) and BENCH_RR rr connections
# doing round trips of BENCH_SIZE bytes for BENCH_SECONDS; "alone" is the same run with no bulk connection.
#   (a) usertcp: `echo-server --loops 1` on a TAP device moved into namespace A; echoload runs in A.
#   (b) epoll: epoll-echo in namespace B; echoload in namespace C, B and C joined by a veth pair.
# Each figure is the median of BENCH_REPEAT rounds (alone and loaded alternate). Prints a table: p50/p99/p99.9
# alone and under load for each server, loaded/alone, usertcp/epoll, and the bulk throughput during the rr runs.
# Needs root. Addresses come from 198.18.0.0/15 only. Everything it creates is removed on exit.
#
# Environment: BENCH_SECONDS (per run, default 5), BENCH_BULK (bulk connections, default 2), BENCH_RR (rr
# connections, default 1), BENCH_SIZE (rr message bytes, default 1), BENCH_REPEAT (rounds, default 3),
# BENCH_USERTCP_LOOPS (the usertcp server's loops, default 1: bulk and rr share its one loop), BENCH_WARMUP (0 to
# skip the warm-up), JAVA, JAVA_OPTS.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SECS=${BENCH_SECONDS:-5}
BULK=${BENCH_BULK:-2}
RR=${BENCH_RR:-1}
SIZE=${BENCH_SIZE:-1}
REPEAT=${BENCH_REPEAT:-3}
LOOPS=${BENCH_USERTCP_LOOPS:-1}
JAVA=${JAVA:-java}
read -r -a JOPTS <<<"${JAVA_OPTS:-}"
JAR=$repo/examples/target/usertcp-examples.jar
PORT=7

die() { echo "bench: $*" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || die "needs root (TAP device, network namespaces): sudo bash bench/latency.sh"
[ -c /dev/net/tun ] || die "/dev/net/tun is missing"
[[ "$BULK" =~ ^[1-9][0-9]*$ ]] || die "BENCH_BULK must be a positive number: '$BULK'"

id=$(printf '%04x' $((RANDOM % 65536)))
NS_A=utl-a-$id NS_B=utl-b-$id NS_C=utl-c-$id
TAP=utlt$id VETH_B=utlb$id VETH_C=utlc$id
KERNEL=198.18.14.1/24 ADDR=198.18.14.2 EPOLL_SERVER=198.18.24.1 EPOLL_CLIENT=198.18.24.2
work=$(mktemp -d /tmp/usertcp-latency.XXXXXX)
pids=()

stop() { # SIGTERM (the server's shutdown hook closes its event loop), SIGKILL after 10 s
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
[ -f "$JAR" ] || (cd "$repo" && mvn -q -B -DskipTests package)

for ns in "$NS_A" "$NS_B" "$NS_C"; do
    ip netns add "$ns"
    ip -n "$ns" link set lo up
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

USERTCP_NETNS=$NS_A "$JAVA" "${JOPTS[@]}" -jar "$JAR" echo-server --loops "$LOOPS" "$TAP" "$KERNEL" "$ADDR" "$PORT" \
    >"$work/usertcp.log" 2>&1 &
pids+=($!)
await_ready "$!" "$work/usertcp.log"
head -n 1 "$work/usertcp.log"
ip netns exec "$NS_B" "$work/epoll-echo" "$EPOLL_SERVER" "$PORT" >"$work/epoll.log" 2>&1 &
pids+=($!)
await_ready "$!" "$work/epoll.log"
head -n 1 "$work/epoll.log"

if [ "${BENCH_WARMUP:-1}" != 0 ]; then
    echo "bench: warming up (JIT)"
    for _ in 1 2 3; do
        ip netns exec "$NS_A" "$work/echoload" mixed "$ADDR" "$PORT" 3 "$BULK" "$RR" "$SIZE" >/dev/null 2>&1 || true
    done
    ip netns exec "$NS_A" "$work/echoload" mixed "$ADDR" "$PORT" 2 0 "$RR" "$SIZE" >/dev/null 2>&1 || true
fi

FIGS=(round_trips_per_s p50_us p99_us p999_us bulk_mib_per_s_each_way)
declare -A V # V[server.load.figure] = the values of the rounds, one per line
declare -A R # R[server.load.figure] = their median
failed=0
figure() { awk -v k="$1" '$1 == k { print $2; exit }' <<<"$2"; }
run() { # SERVER LOAD(alone|loaded) NS HOST
    local name=$1 load=$2 ns=$3 host=$4 out f k=0
    [ "$load" = loaded ] && k=$BULK
    if out=$(ip netns exec "$ns" "$work/echoload" mixed "$host" "$PORT" "$SECS" "$k" "$RR" "$SIZE" 2>&1) \
            && [ -n "$(figure p50_us "$out")" ]; then
        for f in "${FIGS[@]}"; do V[$name.$load.$f]+="$(figure "$f" "$out")"$'\n'; done
        printf '  %-8s %-7s %s\n' "$name" "$load" \
            "$(awk '$1 ~ /^(round_trips_per_s|p50_us|p99_us|p999_us|max_us|bulk_mib_per_s_each_way)$/ { printf "%s %s  ", $1, $2 }' <<<"$out")"
    else
        failed=1
        printf '  %-8s %-7s FAILED: %s\n' "$name" "$load" "$(tr '\n' ' ' <<<"$out")"
    fi
}

echo "bench: rr ${SIZE} B on $RR connection(s), alone and beside $BULK bulk connection(s), ${SECS}s per run," \
    "$REPEAT rounds, usertcp with $LOOPS loop(s), on $(nproc) cores, $(uname -r); load: $(cut -d' ' -f1-3 /proc/loadavg)"
for i in $(seq "$REPEAT"); do
    run usertcp alone "$NS_A" "$ADDR"
    run epoll alone "$NS_C" "$EPOLL_SERVER"
    run usertcp loaded "$NS_A" "$ADDR"
    run epoll loaded "$NS_C" "$EPOLL_SERVER"
done
for key in "${!V[@]}"; do
    R[$key]=$(grep . <<<"${V[$key]}" | sort -g | awk '{ a[NR] = $1 } END { if (NR) print a[int((NR + 1) / 2)] }')
done

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a ~ /^[0-9.]+$/ && b ~ /^[0-9.]+$/ && b > 0) printf "%.2f", a / b; else print "-" }'; }
row() { # LABEL FIGURE
    local u1=${R[usertcp.alone.$2]:-FAIL} u2=${R[usertcp.loaded.$2]:-FAIL}
    local e1=${R[epoll.alone.$2]:-FAIL} e2=${R[epoll.loaded.$2]:-FAIL}
    printf '%-22s | %9s %9s %7s | %9s %9s %7s | %8s %8s\n' "$1" "$u1" "$u2" "$(ratio "$u2" "$u1")" \
        "$e1" "$e2" "$(ratio "$e2" "$e1")" "$(ratio "$u1" "$e1")" "$(ratio "$u2" "$e2")"
}
echo
printf '%-22s | %29s | %29s | %17s\n' "" "usertcp (1 loop)" "epoll (kernel)" "usertcp/epoll"
printf '%-22s | %9s %9s %7s | %9s %9s %7s | %8s %8s\n' "rr ${SIZE} B latency (us)" alone loaded x \
    alone loaded x alone loaded
row "p50" p50_us
row "p99" p99_us
row "p99.9" p999_us
row "rr round trips/s" round_trips_per_s
printf '%-22s | %9s %9s %7s | %9s %9s %7s | %8s %8s\n' "bulk (MiB/s each way)" - \
    "${R[usertcp.loaded.bulk_mib_per_s_each_way]:-FAIL}" "" - "${R[epoll.loaded.bulk_mib_per_s_each_way]:-FAIL}" "" \
    "" "$(ratio "${R[usertcp.loaded.bulk_mib_per_s_each_way]:-}" "${R[epoll.loaded.bulk_mib_per_s_each_way]:-}")"
echo "(median of $REPEAT; x: loaded/alone; bulk: all $BULK bulk connections together while the rr runs ran;" \
    "load at the end: $(cut -d' ' -f1-3 /proc/loadavg))"
exit "$failed"
