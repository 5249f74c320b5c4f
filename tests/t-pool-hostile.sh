# The dynamic pool in hostile conditions (issue 8, found in review): a
# listening socket that a child shut down, names planted where the status
# file's temporary files go, and a --cgi worker whose activity cell a
# draining worker could overwrite. Each case failed before its fix.
. "$(dirname "$0")/lib.sh"

umask 022
unset LISTEN_PID LISTEN_FDS LISTEN_FDNAMES NOTIFY_SOCKET

# cpu_ticks PID: user + system time of PID so far, in clock ticks.
cpu_ticks() {
	sed 's/.*) //' "/proc/$1/stat" 2>/dev/null |
	    awk '{ print $12 + $13 }'
}

# --- A child shuts the shared listener down (as some programs do to wake
# their own threads from accept): it then polls as hung up, for good. The
# pool must stop watching it, not spin, and still stop on SIGTERM.
if have python3; then
	PORT=$(free_port)
	bg shut -r -F 1 --max-children 3 --stop-timeout 2 -a 127.0.0.1 \
	    -p "$PORT" -- python3 -c 'import socket, time
socket.socket(fileno=0).shutdown(socket.SHUT_RDWR)
time.sleep(30)'
	wait_until 10 grep -q 'pool: the listening socket reports' "$T/shut.err"
	check "shut-down listener: spawn says it no longer watches it" \
	    grep -q '^spawn: pool: the listening socket reports a hang-up; the pool no longer grows$' "$T/shut.err"
	c0=$(cpu_ticks "$SP")
	sleep 1
	c1=$(cpu_ticks "$SP")
	check "shut-down listener: spawn does not spin (${c0:-?} -> ${c1:-?} ticks in 1 s)" \
	    test -n "$c1" -a "$((c1 - c0))" -le 10
	kill -TERM "$SP"
	finish 10
	expect_eq "shut-down listener: SIGTERM still stops spawn, exit 0" 0 "$RC"
else
	skip "shut-down listener: python3 not installed"
fi

# --- Names planted where the status file's temporary files go: FIFOs
# (an open would block spawn for good) and someone's regular files (they
# would be truncated and renamed into place). spawn must skip them all,
# say once that it could not write, and stay responsive.
ST=$T/st
mkdir -p "$ST"
chmod 1777 "$ST"
bg plant -r -F 1 --max-children 2 --status-file "$ST/s.prom" -s "$T/p.sock" \
    -- "$PROBE" --serve
wait_until 10 test -f "$ST/s.prom"
wait_for 5 '[ "$(kids "$SP" | wc -l)" -eq 1 ]'
first=$(kids "$SP")
# The name an earlier spawn used (one per process) gets a FIFO as well.
mkfifo "$ST/.s.prom.$SP.tmp"
n=0
while [ $n -lt 64 ]; do
	if [ $n -lt 8 ]; then
		echo mine >"$ST/.s.prom.$SP.$n.tmp"
	else
		mkfifo "$ST/.s.prom.$SP.$n.tmp"
	fi
	n=$((n + 1))
done
before=$(cat "$ST/s.prom")
kill -KILL "$first"
replaced() { test "$(kids "$SP" | wc -l)" -eq 1 && ! kids "$SP" | grep -qx "$first"; }
wait_until 10 replaced
check "planted names: the killed child is still replaced" replaced
wait_until 5 grep -q 'status-file' "$T/plant.err"
check "planted names: one line says the status file could not be written" \
    test "$(grep -c '^spawn: status-file .*: File exists$' "$T/plant.err")" -eq 1
expect_eq "planted names: the status file keeps its last good figures" \
    "$before" "$(cat "$ST/s.prom")"
mine=0
n=0
while [ $n -lt 8 ]; do
	[ "$(cat "$ST/.s.prom.$SP.$n.tmp")" = mine ] && mine=$((mine + 1))
	n=$((n + 1))
done
expect_eq "planted names: none of the 8 planted files was written to" 8 "$mine"
kill -TERM "$SP"
finish 10
expect_eq "planted names: SIGTERM: exit 0 (spawn never blocked on a FIFO)" 0 "$RC"
rm -rf "$ST"

# --- --cgi workers tell spawn what they do through two activity cells per
# slot. A reload whose new worker fails, then a second reload while the
# old worker still serves a request: the new worker must not share a cell
# with the draining one, whose closing connection would otherwise make
# the new worker look idle in the middle of a request, and stopped.
CG=$T/slow.sh
cat >"$CG" <<'EOF'
#!/bin/sh
case $QUERY_STRING in sleep=*) sleep "${QUERY_STRING#sleep=}" ;; esac
[ -n "${MARK:-}" ] && : >"$MARK/$QUERY_STRING.ran"
printf 'Content-Type: text/plain\r\n\r\ndone %s\n' "$QUERY_STRING"
EOF
chmod 755 "$CG"
S=$T/c.sock
bg cell -r --cgi -F 0 --max-children 1 --idle-timeout 2 --min-uptime 1500 \
    --stop-timeout 30 -s "$S" -- "$CG"
wait_until 5 test -S "$S"
# The first worker keeps this connection open (KEEP_CONN, then 40 s of
# quiet), so that it is never idle for 2 s however slow the steps below
# are on a loaded machine.
"$CLIENT" -k -L 40000 -t 60000 "$S" QUERY_STRING=x >"$T/x.out" 2>&1 &
x=$!
track "$x"
wait_for 10 'grep -q "done x" "$T/x.out"'
wait_for 5 '[ "$(kids "$SP" | wc -l)" -eq 1 ]'
w1=$(kids "$SP")
kill -HUP "$SP"
wait_for 5 '[ "$(kids "$SP" | wc -l)" -eq 2 ]'
p1=$(kids "$SP" | grep -vx "$w1")
kill -KILL $p1
wait_until 5 grep -q 'reload: new child .* before 1500 ms' "$T/cell.err"
check "cgi cells: the first reload's new worker failed" \
    grep -q 'reload: new child .* before 1500 ms' "$T/cell.err"
# The reload is over once spawn says READY again (no notify socket here):
# give it the time its walk takes.
sleep 0.5
"$CLIENT" -t 20000 "$S" QUERY_STRING=sleep=5 >"$T/r1.out" 2>&1 &
r1=$!
wait_for 5 '[ "$(children_of "$w1" | wc -l)" -ge 1 ]'
kill -HUP "$SP"
wait_until 10 grep -q "reload: slot 1: child [0-9]* replaces $w1" "$T/cell.err"
w2=$(sed -n "s/.*reload: slot 1: child \([0-9]*\) replaces $w1.*/\1/p" "$T/cell.err")
"$CLIENT" -t 30000 "$S" QUERY_STRING=sleep=9 >"$T/r2.out" 2>&1 &
r2=$!
wait "$r1"
check "cgi cells: the draining worker's request was answered" \
    grep -q "done sleep=5" "$T/r1.out"
wait "$r2"
check "cgi cells: the new worker's 9 s request was answered" \
    grep -q "done sleep=9" "$T/r2.out"
kill "$x" 2>/dev/null
wait "$x" 2>/dev/null
# Right after its answer it has not been idle for 2 s yet: a stop so far
# came during the request (the worker drains, so the answer still comes).
check "cgi cells: the new worker ($w2) was not stopped as idle during it" \
    sh -c "! grep -q 'pool: child .* idle' '$T/cell.err'"
kill -TERM "$SP"
finish 40
expect_eq "cgi cells: SIGTERM: exit 0" 0 "$RC"
grep -q 'done sleep=9' "$T/r2.out" && ! grep -q 'idle' "$T/cell.err" ||
    sed 's/^/#   log: /' "$T/cell.err"

# --- --cgi-max counts connections with a request, so that requests past
# it wait in the listen queue where the pool sees them; but a connection a
# web server keeps open between requests (KEEP_CONN), idle, takes no room:
# two of those on a --cgi-max 2 worker must not hold up a third request
# until --cgi-timeout ends them.
S=$T/k.sock
bg keep -r --cgi -F 1 --cgi-max 2 --cgi-timeout 6 -e MARK="$T" -s "$S" -- "$CG"
wait_until 5 test -S "$S"
"$CLIENT" -s -k -L 8000 -t 20000 "$S" QUERY_STRING=k1 >"$T/k1.out" 2>&1 &
k1=$!
"$CLIENT" -s -k -L 8000 -t 20000 "$S" QUERY_STRING=k2 >"$T/k2.out" 2>&1 &
k2=$!
# Each script leaves a mark; its answer follows at once, and the client
# then holds the connection open (-k -L 8000).
wait_for 5 '[ -e "$T/k1.ran" ] && [ -e "$T/k2.ran" ]'
sleep 0.2
check "kept-alive connections: two requests ran, their clients hold on" \
    sh -c "[ -e '$T/k1.ran' ] && [ -e '$T/k2.ran' ] && kill -0 $k1 $k2"
t0=$(date +%s%N)
"$CLIENT" -s -t 20000 "$S" QUERY_STRING=k3 >"$T/k3.out" 2>&1
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
check "kept-alive connections: a third request is answered at once ($ms ms, --cgi-timeout 6 s)" \
    sh -c "grep -q 'done k3' '$T/k3.out' && [ $ms -lt 3000 ]"
wait "$k1" "$k2"
check "kept-alive connections: the first two were answered" \
    sh -c "grep -q 'done k1' '$T/k1.out' && grep -q 'done k2' '$T/k2.out'"
kill -TERM "$SP"
finish 10
expect_eq "kept-alive connections: SIGTERM: exit 0" 0 "$RC"
