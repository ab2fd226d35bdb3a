#!/usr/bin/env bash
# Connection-burst benchmark (issue #12): the usertcp echo example on a TAP device in a namespace of its own, and
# echoload (the kernel's TCP in that namespace) opening BURST_N connections at once, each echoing BURST_SIZE bytes.
# Prints echoload's figures (connect_s: until all were established; total_s: until all had echoed) and the SYNs the
# kernel clients had to retransmit (TcpExtTCPSynRetrans: a SYN the server dropped or answered late costs the client
# a 1 s timeout). Everything it creates is removed on exit, also on failure. Needs root;
# addresses from 198.18.0.0/15 only. Not run in CI.
#
# Environment: BURST_LOOPS (the server's event loops, default one per core), BURST_N (default 10000), BURST_SIZE (default 64), BURST_ROUNDS (default 3), BURST_TXQLEN (a TAP queue
# length to try instead of the stack's own), JAVA, JAVA_OPTS.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
N=${BURST_N:-10000}
SIZE=${BURST_SIZE:-64}
ROUNDS=${BURST_ROUNDS:-3}
LOOPS=${BURST_LOOPS:-} # the echo example's --loops (default: one per core)
JAVA=${JAVA:-java}
read -r -a JOPTS <<<"${JAVA_OPTS:-}"
JAR=$repo/examples/target/usertcp-examples.jar
PORT=7000
KERNEL=198.18.31.1/24
STACK=198.18.31.2

die() { echo "burst: $*" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || die "needs root (TAP device, network namespace): sudo bash bench/burst.sh"
[ -c /dev/net/tun ] || die "/dev/net/tun is missing"

id=$(printf '%04x' $((RANDOM % 65536)))
NS=utbu-$id
TAP=utbu$id
work=$(mktemp -d /tmp/usertcp-burst.XXXXXX)
server=
cleanup() {
    set +e
    if [ -n "$server" ]; then
        kill "$server" 2>/dev/null
        for _ in $(seq 100); do kill -0 "$server" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$server" 2>/dev/null
    fi
    if ip netns list | awk '{print $1}' | grep -qx "$NS"; then
        ip netns pids "$NS" | xargs -r kill -9 2>/dev/null
        ip netns del "$NS"
    fi
    ip link del "$TAP" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

gcc -O2 -o "$work/echoload" "$repo/bench/echoload.c"
[ -f "$JAR" ] || (cd "$repo" && mvn -q -B -DskipTests package)

ip netns add "$NS"
ip -n "$NS" link set lo up
ip netns exec "$NS" sysctl -qw net.ipv4.ip_local_port_range="1024 65535"
USERTCP_NETNS=$NS "$JAVA" "${JOPTS[@]}" -jar "$JAR" echo-server "$TAP" "$KERNEL" "$STACK" "$PORT" ${LOOPS:+--loops "$LOOPS"} \
    >"$work/server.log" 2>&1 </dev/null &
server=$!
for i in $(seq 300); do
    grep -q "listening on" "$work/server.log" && break
    kill -0 "$server" 2>/dev/null || { cat "$work/server.log" >&2; die "server exited before it was ready"; }
    [ "$i" = 300 ] && die "server not ready after 30 s"
    sleep 0.1
done
head -n 1 "$work/server.log"
[ -n "${BURST_TXQLEN:-}" ] && ip -n "$NS" link set "$TAP" txqueuelen "$BURST_TXQLEN"

tap_drops() { # frames the kernel dropped at the TAP because the server was behind reading them
    ip -n "$NS" -s -j link show "$TAP" | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["stats64"]["tx"]["dropped"])'
}
syn_retrans() {
    ip netns exec "$NS" nstat -az TcpExtTCPSynRetrans | awk '$1 == "TcpExtTCPSynRetrans" { print $2 }'
}
ip netns exec "$NS" "$work/echoload" burst "$STACK" "$PORT" 1000 "$SIZE" >/dev/null # warm-up (JIT)
for r in $(seq "$ROUNDS"); do
    before=$(syn_retrans)
    d0=$(tap_drops)
    out=$(ip netns exec "$NS" "$work/echoload" burst "$STACK" "$PORT" "$N" "$SIZE")
    after=$(syn_retrans)
    d1=$(tap_drops)
    printf 'round %d: connections %s connect_s %s total_s %s syn_retransmits %d tap_drops %d\n' "$r" \
        "$(awk '$1 == "connections" { print $2 }' <<<"$out")" "$(awk '$1 == "connect_s" { print $2 }' <<<"$out")" \
        "$(awk '$1 == "total_s" { print $2 }' <<<"$out")" $((after - before)) $((d1 - d0))
    sleep 2 # TIME-WAIT on the client side does not matter (ports 1024-65535); let the server settle
done
