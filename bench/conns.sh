#!/usr/bin/env bash
# Many concurrent connections on one stack (issue #12): the usertcp echo example (one event loop) on a TAP device in a
# namespace of its own, and holdconns (bench/holdconns.c, the kernel's TCP in that namespace) opening CONNS_N
# connections from CONNS_SOURCES source addresses (198.18.1.1 and up, on the kernel's side of the TAP device; the
# kernel side is the example's gateway), echoing CONNS_SIZE bytes on each and keeping them idle. Prints the server
# JVM's heap per idle connection (jcmd GC.run, then GC.heap_info, less the baseline taken before they opened), its
# native "Other" memory (NMT: Netty's direct buffers), the stack's count of established connections (its "ss"),
# two more echo passes over every connection (wall time and the event loop's CPU time per connection) and the
# close. The it-test ConcurrentConnectionsOverTapTest does the same in one JVM and asserts it. Needs root;
# addresses from 198.18.0.0/15 only; everything it creates is removed on exit, also on failure. Not run in CI.
#
# Environment: CONNS_N (default 100000), CONNS_SOURCES (default 4; one source address has at most 64,512 ports
# towards the server), CONNS_WINDOW (connections connecting, echoing or closing at once, default 1000),
# CONNS_SIZE (default 32), CONNS_PROCS (client processes, default as few as RLIMIT_NOFILE's hard limit allows),
# CONNS_CLOSE (close: at most CONNS_WINDOW at a time, each waiting for the server's FIN, the default; closeall:
# every socket at once), JAVA, JAVA_OPTS.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
N=${CONNS_N:-100000}
SOURCES=${CONNS_SOURCES:-4}
WINDOW=${CONNS_WINDOW:-1000}
SIZE=${CONNS_SIZE:-32}
CLOSE=${CONNS_CLOSE:-close}
JAVA=${JAVA:-java}
read -r -a JOPTS <<<"${JAVA_OPTS:-}"
JAR=$repo/examples/target/usertcp-examples.jar
PORT=7000
KERNEL=198.18.32.1/24
STACK=198.18.32.2

die() { echo "conns: $*" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || die "needs root (TAP device, network namespace): sudo bash bench/conns.sh"
[ -c /dev/net/tun ] || die "/dev/net/tun is missing"
[ "$SOURCES" -ge 1 ] && [ "$SOURCES" -le 64 ] && [ "$N" -le $((SOURCES * 60000)) ] \
    || die "$N connections need at least $(((N + 59999) / 60000)) source addresses (CONNS_SOURCES, 1-64)"
case "$CLOSE" in close | closeall) ;; *) die "CONNS_CLOSE is close or closeall" ;; esac
command -v jcmd >/dev/null || die "jcmd (from the JDK) is needed to read the server's heap"

id=$(printf '%04x' $((RANDOM % 65536)))
NS=utcn-$id
TAP=utcn$id
work=$(mktemp -d /tmp/usertcp-conns.XXXXXX)
server=
clients=()
cleanup() {
    set +e
    for p in "${clients[@]}"; do kill -9 "$p" 2>/dev/null; done
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

gcc -O2 -o "$work/holdconns" "$repo/bench/holdconns.c"
# Only the jar is needed here; the tests run in CI (bash .ci/run).
[ -f "$JAR" ] || (cd "$repo" && mvn -q -B -DskipTests package)

kernel=$KERNEL
sources=
for i in $(seq "$SOURCES"); do
    kernel+=",198.18.1.$i/32"
    sources+="${sources:+,}198.18.1.$i"
done
ip netns add "$NS"
ip -n "$NS" link set lo up
ip netns exec "$NS" sysctl -qw net.ipv4.ip_local_port_range="1024 65535"
mkfifo "$work/console"
USERTCP_NETNS=$NS "$JAVA" -XX:NativeMemoryTracking=summary "${JOPTS[@]}" -jar "$JAR" echo-server --loops 1 "$TAP" \
    "$kernel" "$STACK" "$PORT" >"$work/server.log" 2>&1 <"$work/console" &
server=$!
exec {console}>"$work/console" # the example's console: "ss" and "stats"
for i in $(seq 300); do
    grep -q "listening on" "$work/server.log" && break
    kill -0 "$server" 2>/dev/null || { cat "$work/server.log" >&2; die "server exited before it was ready"; }
    [ "$i" = 300 ] && die "server not ready after 30 s"
    sleep 0.1
done
head -n 1 "$work/server.log"

hard=$(ulimit -Hn)
[ "$hard" = unlimited ] && hard=1048576
per=$((hard > 1100 ? hard - 100 : 1000))
PROCS=${CONNS_PROCS:-$(((N + per - 1) / per))}
[ "$PROCS" -ge $(((N + per - 1) / per)) ] || die "CONNS_PROCS=$PROCS: each process may hold at most $per connections"

now() { date +%s.%N; }
# start_clients N: PROCS holdconns processes, their commands through fifos, their output in files
start_clients() {
    local n=$1 first=0 k count
    clients=()
    for k in $(seq 0 $((PROCS - 1))); do
        count=$((n / PROCS + (k < n % PROCS ? 1 : 0)))
        rm -f "$work/in$k" "$work/out$k"
        mkfifo "$work/in$k"
        ip netns exec "$NS" "$work/holdconns" "$STACK" "$PORT" "$first" "$count" "$SIZE" \
            $(((WINDOW + PROCS - 1) / PROCS)) "$sources" <"$work/in$k" >"$work/out$k" 2>&1 &
        clients+=($!)
        eval "exec {in$k}>\"\$work/in$k\""
        first=$((first + count))
    done
}
# await LINE COUNT: until every client's output has COUNT lines equal to LINE (or it exited with 0 after "closed")
await() {
    local k
    for k in $(seq 0 $((PROCS - 1))); do
        while [ "$(grep -c -x "$1" "$work/out$k" || true)" -lt "$2" ]; do
            if ! kill -0 "${clients[$k]}" 2>/dev/null; then
                wait "${clients[$k]}" || { cat "$work/out$k" >&2; die "client $k failed"; }
                [ "$1" = closed ] && break
                cat "$work/out$k" >&2
                die "client $k exited early"
            fi
            sleep 0.05
        done
    done
}
send() { local k fd; for k in $(seq 0 $((PROCS - 1))); do fd=in$k; echo "$1" >&"${!fd}"; done; }
stop_clients() {
    local k fd
    for k in $(seq 0 $((PROCS - 1))); do fd=in$k; eval "exec ${!fd}>&-"; wait "${clients[$k]}" || true; done
    clients=()
}
sum() { cat "$work"/out* | awk -v name="$1" '$1 == name { s += $2 } END { print s + 0 }'; }
heap_kib() { # used heap after full GCs, in KiB
    for _ in 1 2 3; do jcmd "$server" GC.run >/dev/null; done
    sleep 0.5
    jcmd "$server" GC.heap_info \
        | awk 'index($0, "used") { for (i = 1; i <= NF; i++) if ($i == "used") { sub(/K.*/, "", $(i+1)); print $(i+1); exit } }'
}
other_kib() { # NMT's "Other": memory from Unsafe.allocateMemory, where Netty's direct buffers live
    jcmd "$server" VM.native_memory summary \
        | awk '/- +Other \(/ { sub(/.*committed=/, ""); sub(/KB.*/, ""); print; exit }'
}
marks=0
inspect() { # the stack's established connections and its non-zero counters, through the example's console
    local start
    start=$(wc -l <"$work/server.log")
    marks=$((marks + 1))
    echo ss >&"$console"
    echo stats >&"$console"
    while [ "$(grep -c "counters that are not zero" "$work/server.log" || true)" -lt "$marks" ]; do sleep 0.1; done
    sleep 0.2
    tail -n +$((start + 1)) "$work/server.log" >"$work/inspect"
    established=$(grep -c "ESTABLISHED" "$work/inspect" || true)
    connections=$(grep "^tcp " "$work/inspect" | grep -vc " LISTEN " || true)
}
loop_ticks() { # CPU time (clock ticks) of the event loop thread(s) of the server
    local t sum=0 f
    for t in "/proc/$server/task"/*; do
        case "$(cat "$t/comm")" in multiThreadIoEv*) ;; *) continue ;; esac
        read -r -a f <"$t/stat"
        sum=$((sum + f[13] + f[14])) # utime and stime (fields 14 and 15; comm has no spaces here)
    done
    echo "$sum"
}
hz=$(getconf CLK_TCK)

echo "warm-up: 2000 connections"
saved=$PROCS; PROCS=1
start_clients 2000
await ready 1; send echo; await ready 2; send close; await closed 1; stop_clients
PROCS=$saved
sleep 1
inspect
[ "$connections" -eq 0 ] || die "$connections connections left after the warm-up"
heap0=$(heap_kib)
other0=$(other_kib)

echo "opening $N connections from $SOURCES source addresses ($PROCS client processes, window $WINDOW)"
t0=$(now)
start_clients "$N"
await ready 1
t1=$(now)
[ "$(sum established)" -eq "$N" ] || die "the clients established $(sum established) of $N connections"
sleep 1
heap1=$(heap_kib)
other1=$(other_kib)
inspect
est=$established
c0=$(loop_ticks); t2=$(now)
send echo; await ready 2
c1=$(loop_ticks); t3=$(now)
send echo; await ready 3
c2=$(loop_ticks); t4=$(now)
send "$CLOSE"
await closed 1
stop_clients
for _ in $(seq 600); do
    inspect
    [ "$connections" -eq 0 ] && break
    sleep 0.1
done
t5=$(now)
heap2=$(heap_kib)
other2=$(other_kib)
counters=$(sed -n '/counters that are not zero/,$p' "$work/inspect" | tail -n +2)

awk -v n="$N" -v est="$est" -v t0="$t0" -v t1="$t1" -v t2="$t2" -v t3="$t3" -v t4="$t4" -v t5="$t5" \
    -v h0="$heap0" -v h1="$heap1" -v h2="$heap2" -v o0="$other0" -v o1="$other1" -v o2="$other2" \
    -v c0="$c0" -v c1="$c1" -v c2="$c2" -v hz="$hz" -v left="$connections" -v how="$CLOSE" 'BEGIN {
    printf "connections %d\nestablished_in_stack %d\nopen_s %.2f\n", n, est, t1 - t0
    printf "echo1_s %.2f\necho1_us_per_connection %.1f\n", t3 - t2, (t3 - t2) * 1e6 / n
    printf "echo1_loop_cpu_us_per_connection %.1f\n", (c1 - c0) * 1e6 / hz / n
    printf "echo2_s %.2f\necho2_us_per_connection %.1f\n", t4 - t3, (t4 - t3) * 1e6 / n
    printf "echo2_loop_cpu_us_per_connection %.1f\n", (c2 - c1) * 1e6 / hz / n
    printf "close %s\nclose_s %.2f\nconnections_after_close %d\n", how, t5 - t4, left
    printf "heap_kib baseline %d idle %d after_close %d\n", h0, h1, h2
    printf "heap_bytes_per_idle_connection %d\n", (h1 - h0) * 1024 / n
    printf "nmt_other_kib baseline %d idle %d after_close %d\n", o0, o1, o2
}'
echo "stack counters at the end:"
echo "$counters"
[ "$est" -eq "$N" ] || die "the stack had $est established connections, not $N"
[ "$connections" -eq 0 ] || die "$connections connections left after the close"
