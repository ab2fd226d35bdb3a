#!/usr/bin/env bash
# SYN-flood benchmark: the usertcp echo example on a TAP device in a namespace of its own, legitimate clients
# (connrate, the kernel's TCP in that namespace) connecting
#   1. unflooded, for SYNFLOOD_SECONDS;
#   2. while synflood sends spoofed SYNs (random sources in 198.18.0.0/15 outside the client's /24) as fast as
#      a raw socket can, for the same time;
#   3. after the flood stops: the time to the first successful connect.
# Prints each RESULT line and a table. Needs root. Addresses come from 198.18.0.0/15 only; everything it creates
# is removed on exit (also on failure or Ctrl-C). Not run in CI.
#
# SYNFLOOD_SERVER=kernel runs the same phases against bench/epoll-echo.c on the kernel's TCP instead (its own
# namespace, reached over a veth pair, SYN cookies as the kernel's defaults have them): the reference.
#
# Environment: SYNFLOOD_LOOPS (the server's event loops, default one per core), SYNFLOOD_SECONDS (each phase, default 5), SYNFLOOD_RATE (flood packets/s, default 0: as fast as
# it can), SYNFLOOD_TIMEOUT_MS (a legitimate connect not done by then is a failure, default 3000),
# SYNFLOOD_RECOVER (seconds to wait for the first connect after the flood, default 120), SYNFLOOD_RING (slots of
# the TAP receive ring, TapConfig.receiveRing; default: the library's default), JAVA (default java), JAVA_OPTS.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SECS=${SYNFLOOD_SECONDS:-5}
RATE=${SYNFLOOD_RATE:-0}
TIMEOUT_MS=${SYNFLOOD_TIMEOUT_MS:-3000}
RECOVER=${SYNFLOOD_RECOVER:-120}
JAVA=${JAVA:-java}
SERVER=${SYNFLOOD_SERVER:-usertcp}
LOOPS=${SYNFLOOD_LOOPS:-} # the echo example's --loops (default: one per core)
RING=${SYNFLOOD_RING:-}
read -r -a JOPTS <<<"${JAVA_OPTS:-}"
[ -n "$RING" ] && JOPTS+=("-Dio.usertcp.tap.receiveRing=$RING")
JAR=$repo/examples/target/usertcp-examples.jar
PORT=7000
KERNEL=198.18.30.1/24
STACK=198.18.30.2
CLIENT_NET=198.18.30.0/24

die() { echo "synflood: $*" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || die "needs root (TAP device, network namespace, raw socket): sudo bash bench/synflood.sh"
[ -c /dev/net/tun ] || die "/dev/net/tun is missing"

id=$(printf '%04x' $((RANDOM % 65536)))
NS=utsf-$id
TAP=utsf$id
work=$(mktemp -d /tmp/usertcp-synflood.XXXXXX)
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
    if ip netns list | awk '{print $1}' | grep -qx "$NS"; then
        ip netns pids "$NS" | xargs -r kill -9 2>/dev/null
        ip netns del "$NS"
    fi
    if [ -n "${NS_K:-}" ] && ip netns list | awk '{print $1}' | grep -qx "$NS_K"; then
        ip netns pids "$NS_K" | xargs -r kill -9 2>/dev/null
        ip netns del "$NS_K"
    fi
    ip link del "$TAP" 2>/dev/null # only if the server died before moving it
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

gcc -O2 -o "$work/synflood" "$repo/bench/synflood.c"
gcc -O2 -o "$work/connrate" "$repo/bench/connrate.c"
if [ "$SERVER" = usertcp ] && [ ! -f "$JAR" ]; then
    echo "synflood: building $JAR"
    (cd "$repo" && mvn -q -B -DskipTests package)
fi

ip netns add "$NS"
ip -n "$NS" link set lo up
ip netns exec "$NS" sysctl -qw net.ipv4.ip_local_port_range="1024 65535"

if [ "$SERVER" = kernel ]; then
    gcc -O2 -o "$work/epoll-echo" "$repo/bench/epoll-echo.c"
    NS_K=$NS-k
    ip netns add "$NS_K"
    ip -n "$NS_K" link set lo up
    ip link add "$TAP" type veth peer name "${TAP}k"
    ip link set "$TAP" netns "$NS"
    ip link set "${TAP}k" netns "$NS_K"
    ip -n "$NS" addr add "$KERNEL" dev "$TAP"
    ip -n "$NS" link set "$TAP" up
    ip -n "$NS_K" addr add "$STACK/24" dev "${TAP}k"
    ip -n "$NS_K" link set "${TAP}k" up
    ip -n "$NS_K" route add default via "${KERNEL%/*}" # as the usertcp example, which takes the kernel side as its gateway
    ip netns exec "$NS_K" "$work/epoll-echo" "$STACK" "$PORT" >"$work/server.log" 2>&1 &
    pids+=($!)
    sleep 0.5
    echo "kernel epoll echo listening on $STACK:$PORT (netns $NS_K, veth from $NS)"
else
USERTCP_NETNS=$NS "$JAVA" "${JOPTS[@]}" -jar "$JAR" echo-server "$TAP" "$KERNEL" "$STACK" "$PORT" ${LOOPS:+--loops "$LOOPS"} \
    >"$work/server.log" 2>&1 &
pids+=($!)
server=$!
for i in $(seq 300); do
    grep -q "listening on" "$work/server.log" && break
    kill -0 "$server" 2>/dev/null || { cat "$work/server.log" >&2; die "server exited before it was ready"; }
    [ "$i" = 300 ] && { cat "$work/server.log" >&2; die "server not ready after 30 s"; }
    sleep 0.1
done
head -n 1 "$work/server.log"
fi

inns() { ip netns exec "$NS" "$@"; }
field() { # field NAME LINE: the word after NAME in LINE
    awk -v k="$1" '{for (i = 1; i < NF; i++) if ($i == k) {print $(i + 1); exit}}' <<<"$2"
}

echo "synflood: warming up (JIT) for 3 s"
inns "$work/connrate" rate "$STACK" "$PORT" 3 "$TIMEOUT_MS" >/dev/null 2>&1 || true

echo "synflood: phase 1, unflooded, ${SECS} s"
base=$(inns "$work/connrate" rate "$STACK" "$PORT" "$SECS" "$TIMEOUT_MS" 2>"$work/base.err") || true
echo "RESULT unflooded $base"

echo "synflood: phase 2, flooded (rate ${RATE:-0}, 0 = as fast as it can), ${SECS} s"
flood_secs=$(awk -v s="$SECS" 'BEGIN { print s + 2 }')
inns "$work/synflood" "$STACK" "$PORT" "$flood_secs" 0 "$CLIENT_NET" "$RATE" >"$work/flood.out" 2>&1 &
flood=$!
pids+=($flood)
tx_stats() { # packets the kernel handed the TAP (or veth) and packets it dropped because the reader was behind
    ip -n "$NS" -s -j link show "$TAP" | /usr/bin/python3 -c \
        'import json,sys; t=json.load(sys.stdin)[0]["stats64"]["tx"]; print(t["packets"], t["dropped"])'
}
read -r tx0 drop0 <<<"$(tx_stats)"

ring_drops() { # frames the usertcp server's receive ring dropped (its linkReceiveDrops counter), or nothing
    [ "$SERVER" = usertcp ] || return 0
    local n0 n1
    n0=$(grep -c "counters that are not zero" "$work/server.log" || true)
    kill -USR2 "$server" 2>/dev/null || return 0
    for _ in $(seq 50); do
        n1=$(grep -c "counters that are not zero" "$work/server.log" || true)
        [ "$n1" -gt "$n0" ] && break
        sleep 0.1
    done
    sleep 0.2
    # Counters that are zero are not printed.
    { grep -o "linkReceiveDrops=[0-9]*" "$work/server.log" || echo "linkReceiveDrops=0"; } | tail -n 1 | cut -d= -f2
}
rdrop0=$(ring_drops)

sleep 1
during=$(inns "$work/connrate" rate "$STACK" "$PORT" "$SECS" "$TIMEOUT_MS" 2>"$work/during.err") || true
wait "$flood" || true
read -r tx1 drop1 <<<"$(tx_stats)"
sleep 1.2 # the counter is brought up to date once a second
rdrop1=$(ring_drops)
flood_line=$(grep SYNFLOOD "$work/flood.out" || cat "$work/flood.out")
echo "RESULT flood $flood_line"
echo "RESULT flooded $during"
[ -s "$work/during.err" ] && sed 's/^/  /' "$work/during.err" | head -n 5

echo "synflood: phase 3, after the flood: first connect (giving up after ${RECOVER} s)"
after=$(inns "$work/connrate" first "$STACK" "$PORT" "$RECOVER") || true
echo "RESULT after $after"
if [ "$(field ok "$after")" = after ]; then
    recover=$(field after "$after")
else
    recover=">$RECOVER"
fi

rate_of() { awk '{for (i = 1; i < NF; i++) if ($(i + 1) == "connects/s,") {print $i; exit}}' <<<"$1"; }
b_rate=$(rate_of "$base"); d_rate=$(rate_of "$during")
ratio=$(awk -v a="${d_rate:-0}" -v b="${b_rate:-0}" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }')
echo
printf '%-44s %s\n' "legit connects/s unflooded" "${b_rate:--} ($(field failed "$base") failed)"
printf '%-44s %s\n' "legit connects/s during the flood" "${d_rate:--} ($(field failed "$during") failed)"
printf '%-44s %s\n' "flooded / unflooded" "$ratio"
printf '%-44s %s\n' "flood (spoofed SYNs/s sent)" "$(awk '{for (i = 1; i < NF; i++) if ($(i + 1) == "packets/s") {print $i; exit}}' <<<"$flood_line")"
ring_on=yes # the library's default
for o in "${JOPTS[@]}"; do
    case "$o" in -Dio.usertcp.tap.receiveRing=0) ring_on=no ;; -Dio.usertcp.tap.receiveRing=*) ring_on=yes ;; esac
done
if [ "$SERVER" = usertcp ] && [ "$ring_on" = yes ]; then
    # With the ring, tun's own queue drops every frame by design (its TX counters say nothing of the server).
    printf '%-44s %s\n' "frames the receive ring dropped (behind)" "$(( ${rdrop1:-0} - ${rdrop0:-0} ))"
else
    printf '%-44s %s\n' "frames taken by the server during the flood" "$((tx1 - tx0)) (dropped by the kernel, reader behind: $((drop1 - drop0)))"
fi
printf '%-44s %s\n' "first connect after the flood (s)" "$recover"
printf '%-44s %s\n' "connect p99 unflooded / flooded (ms)" "$(field p99 "$base") / $(field p99 "$during")"
if [ "$SERVER" = usertcp ]; then
    # The server's SYN counters at the end of the flood (ring_drops above had it print them; zero ones are not).
    last() { { grep -o "$1=[0-9]*" "$work/server.log" || echo "$1=0"; } | tail -n 1 | cut -d= -f2; }
    printf '%-44s %s\n' "server: cookie SYN-ACKs / SYNs dropped behind" \
        "$(last tcpSynCookiesSent) / $(last tcpSynDropsBehind)"
    printf '%-44s %s\n' "server: SYN filters / kernel drops (estimate)" \
        "$(last tcpSynFilterUpdates) / $(last tcpSynDropsKernelEstimated)"
fi
