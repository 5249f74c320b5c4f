# Supervision (issue 3), part 3 (see t-supervise.sh): signal forwarding,
# orphans (--subreaper, PID 1 of a pid namespace), systemd notify, usage
# errors and SIGTERM during the start-up window.
. "$(dirname "$0")/lib.sh"

umask 022

# bg, up, finish, kids and the other helpers of these files are in lib.sh.
# gone PID: not in /proc at all (not even as a zombie): someone reaped it.
gone() { [ ! -e "/proc/$1" ]; }

S=$T/s.sock
R=$T/w

# --- Forwarding: every child receives the signal.
newdir "$R"
bg fw -w -F 2 -s "$S" -- "$PROBE" --report "$R" --serve
up fw 2
pids=$(sorted_reports "$R")
for sig in HUP QUIT USR1 USR2; do
	kill -"$sig" "$SP"
	wait_until 5 all_have "$R" "$sig" $pids
	check "-w: SIG$sig reaches every child" all_have "$R" "$sig" $pids
done
expect_eq "-w: the children are still the same" "$(flat $pids)" "$(flat $(kids "$SP"))"
kill -TERM "$SP"
finish 10
expect_eq "-w forwarding: stopped afterwards: exit 0" 0 "$RC"

newdir "$R"
bg fr -r -F 2 -s "$S" -- "$PROBE" --report "$R" --serve
up fr 2
pids=$(sorted_reports "$R")
for sig in QUIT USR1 USR2; do
	kill -"$sig" "$SP"
	wait_until 5 all_have "$R" "$sig" $pids
	check "-r: SIG$sig reaches every child" all_have "$R" "$sig" $pids
done
expect_eq "-r: no child was restarted by forwarded signals" "$(flat $pids)" "$(flat $(kids "$SP"))"
kill -TERM "$SP"
finish 10
expect_eq "-r forwarding: stopped afterwards: exit 0" 0 "$RC"

# A signal that arrives while the children are being verified (--min-uptime)
# is forwarded as well: the children exist already.
newdir "$R"
bg fv -w --min-uptime 1500 -F 2 -s "$S" -- "$PROBE" --report "$R" --serve
wait_until 5 n_reports_is "$R" 2
pids=$(sorted_reports "$R")
kill -USR1 "$SP"
if started fv 2; then
	skip "forwarding during start-up: the machine was too slow to hit the window"
	up fv 2
else
	up fv 2
	wait_until 3 all_have "$R" USR1 $pids
	check "-w: SIGUSR1 sent during the --min-uptime window reaches every child" all_have "$R" USR1 $pids
fi
kill -TERM "$SP"
finish 10
expect_eq "forwarding during start-up: stopped afterwards: exit 0" 0 "$RC"

# --- Orphans: --subreaper makes spawn their parent, and it reaps them.
newdir "$R"
newdir "$T/r2"
rm -rf "$T/sr.first"
cat >"$T/sr.sh" <<EOF
if mkdir "$T/sr.first" 2>/dev/null; then
	exec "$PROBE" --report "$R" --orphan 1500 --exit-after 300 0
fi
exec "$PROBE" --report "$T/r2" --sleep
EOF
bg sr -w --subreaper -F 2 -s "$S" -- /bin/sh "$T/sr.sh"
up sr 2
wait_for 5 'test -n "$(ls "$R" | grep "\.orphan\$")"'
# The .orphan file is named after the orphan and holds its pid.
a=$(sorted_reports "$R")
o=$(cat "$R"/*.orphan 2>/dev/null | head -n 1)
track $o
wait_until 5 dead "$a"
check "--subreaper: the orphan's parent has exited" dead "$a"
check "--subreaper: the orphan is still sleeping" alive "$o"
expect_eq "--subreaper: the orphan's PPid is spawn" "$SP" "$(ppid_of "$o")"
wait_until 5 gone "$o"
check "--subreaper: the orphan was reaped after it exited" gone "$o"
expect_eq "--subreaper: no zombie child of spawn" "" "$(flat $(zombies_of "$SP"))"
check "--subreaper: spawn still waits for its other child" alive "$SP"
kill -TERM "$SP"
finish 10
expect_eq "--subreaper: stopped afterwards: exit 0" 0 "$RC"

# Only spawn's own children count: it does not wait for an orphan.
newdir "$R"
bg so -w --subreaper -s "$S" -- "$PROBE" --report "$R" --orphan 2000 --exit-after 300 0
up so 1
wait_for 5 'test -n "$(ls "$R" | grep "\.orphan\$")"'
o=$(cat "$R"/*.orphan 2>/dev/null | head -n 1)
track $o
finish 5
expect_eq "--subreaper: exits 0 when its own child exited" 0 "$RC"
check "--subreaper: ... while the orphan still ran" alive "$o"
kill -KILL "$o" 2>/dev/null

# As PID 1 of a pid namespace: a zombie orphan and a sleeping orphan are
# both reaped. The checks run inside the namespace (its own /proc), as a
# third child of spawn.
if unshare --pid --fork --mount-proc --kill-child true 2>/dev/null; then
	N1=$T/ns1 N2=$T/ns2
	newdir "$N1"
	newdir "$N2"
	rm -rf "$T/ns.a" "$T/ns.b"
	cat >"$T/ns.sh" <<EOF
if mkdir "$T/ns.a" 2>/dev/null; then
	exec "$PROBE" --report "$N1" --orphan 200 --exit-after 500 0
fi
if mkdir "$T/ns.b" 2>/dev/null; then
	exec "$PROBE" --report "$N2" --orphan 900 --exit-after 300 0
fi
# poll CODE: evaluates CODE every 20 ms, for at most 5 s.
poll() { c=\$1 i=0; while [ \$i -lt 250 ]; do eval "\$c" && return 0; sleep 0.02; i=\$((i + 1)); done; return 1; }
poll 'set -- "$N1"/*.orphan "$N2"/*.orphan; [ -e "\$1" ] && [ -e "\$2" ]'
set -- "$N1"/*.orphan "$N2"/*.orphan
a1=\$(ls "$N1" | sed -n 's/\.report\$//p') o1=\$(cat "\$1")
a2=\$(ls "$N2" | sed -n 's/\.report\$//p') o2=\$(cat "\$2")
{
	echo "pid1=\$(cat /proc/1/comm)"
	echo "ppid1=\$(sed -n 's/^ppid=//p' "$N1/\$a1.report")"
	poll '[ ! -e /proc/\$a2 ]'
	echo "sleeper_ppid=\$(sed -n 's/^PPid:[[:space:]]*//p' /proc/\$o2/status 2>/dev/null)"
	poll '[ ! -e /proc/\$a1 ] && [ ! -e /proc/\$o1 ]' && echo zombie_orphan_reaped=1
	poll '[ ! -e /proc/\$o2 ]' && echo sleeping_orphan_reaped=1
	z=
	for s in /proc/[0-9]*/stat; do
		st=\$(sed 's/.*) \(.\).*/\1/' "\$s" 2>/dev/null)
		[ "\$st" = Z ] && z="\$z \${s#/proc/}"
	done
	echo "zombies=\$z"
} >"$T/ns.result"
EOF
	unshare --pid --fork --mount-proc --kill-child "$SPAWN" -w -F 3 -s "$T/ns.sock" -- /bin/sh "$T/ns.sh" >"$T/ns.out" 2>"$T/ns.err" </dev/null &
	SP=$!
	track "$SP"
	finish 15
	res=$(cat "$T/ns.result" 2>/dev/null)
	expect_eq "PID 1: spawn -w exits 0" 0 "$RC"
	expect_eq "PID 1: spawn is PID 1 of the namespace" "pid1=spawn" "$(printf '%s\n' "$res" | grep '^pid1=')"
	expect_eq "PID 1: the probe's parent is PID 1" "ppid1=1" "$(printf '%s\n' "$res" | grep '^ppid1=')"
	expect_eq "PID 1: a sleeping orphan's parent becomes spawn" "sleeper_ppid=1" "$(printf '%s\n' "$res" | grep '^sleeper_ppid=')"
	expect_eq "PID 1: a zombie orphan is reaped" "zombie_orphan_reaped=1" "$(printf '%s\n' "$res" | grep '^zombie_orphan_reaped=')"
	expect_eq "PID 1: a sleeping orphan is reaped after it exits" "sleeping_orphan_reaped=1" "$(printf '%s\n' "$res" | grep '^sleeping_orphan_reaped=')"
	expect_eq "PID 1: no zombie left in the namespace" "zombies=" "$(printf '%s\n' "$res" | grep '^zombies=')"
	check "PID 1: socket removed" sock_gone "$T/ns.sock"

	# As PID 1, signals from outside the namespace (docker stop) still
	# reach spawn: it blocks them instead of installing handlers.
	newdir "$R"
	unshare --pid --fork --mount-proc --kill-child "$SPAWN" -r -F 2 -s "$T/ns.sock" -- "$PROBE" --report "$R" --serve >"$T/ns2.out" 2>"$T/ns2.err" </dev/null &
	SP=$!
	track "$SP"
	up ns2 2
	host=$(kids "$SP")
	wait_for 5 'test -n "$(kids "$host")"'
	hk=$(kids "$host")
	track $host $hk
	expect_eq "PID 1: spawn runs two children" 2 "$(echo $hk | wc -w)"
	kill -USR1 "$host"
	wait_until 5 all_have "$R" USR1 $(report_pids "$R")
	check "PID 1: SIGUSR1 from outside the namespace is forwarded" all_have "$R" USR1 $(report_pids "$R")
	kill -TERM "$host"
	finish 5
	expect_eq "PID 1: SIGTERM from outside the namespace stops it: exit 0" 0 "$RC"
	check "PID 1: its children are gone" all_dead $hk
	check "PID 1: socket removed after SIGTERM" sock_gone "$T/ns.sock"
else
	skip "PID 1: unshare --pid --fork --mount-proc does not work here"
fi

# --- systemd notify: READY=1, RELOADING=1 then READY=1, STOPPING=1.
if have python3; then
	cat >"$T/listen.py" <<'EOF'
import socket, sys, time
addr, out, ready = sys.argv[1], sys.argv[2], sys.argv[3]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind('\0' + addr[1:] if addr.startswith('@') else addr)
open(ready, 'w').close()
deadline = time.monotonic() + 30
with open(out, 'a') as f:
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        s.settimeout(left)
        try:
            d = s.recv(4096)
        except socket.timeout:
            break
        f.write(d.decode('utf-8', 'replace').replace('\n', ' ').strip() + '\n')
        f.flush()
        if b'STOPPING=1' in d:
            break
EOF
	# listen ADDR FILE: a datagram listener; LPID is its pid.
	listen() {
		rm -f "$2" "$2.ready"
		python3 "$T/listen.py" "$1" "$2" "$2.ready" 2>"$2.err" &
		LPID=$!
		track "$LPID"
		wait_until 10 test -e "$2.ready"
	}
	firsts() { cut -d' ' -f1 "$1" 2>/dev/null | tr '\n' ' ' | sed 's/ $//'; }

	NF=$T/notify.log
	listen "$T/notify.sock" "$NF"
	newdir "$R"
	export NOTIFY_SOCKET="$T/notify.sock"
	bg nt -r -F 2 -s "$S" -- "$PROBE" --report "$R" --serve
	unset NOTIFY_SOCKET
	wait_until 5 grep -q '^READY=1' "$NF"
	expect_eq "notify: READY=1 once started" "READY=1" "$(firsts "$NF")"
	check "notify: READY=1 comes after the children were verified" started nt 2
	expect_match "notify: READY carries a STATUS" "^READY=1 STATUS=.+" "$(head -n 1 "$NF")"
	old=$(sorted_reports "$R")
	kill -HUP "$SP"
	wait_for 10 'test "$(grep -c "^READY=1" "$NF")" -eq 2'
	expect_eq "notify: SIGHUP: RELOADING=1 then READY=1" "READY=1 RELOADING=1 READY=1" "$(firsts "$NF")"
	check "notify: the second READY=1 came after the old children were gone" all_dead $old
	kill -TERM "$SP"
	finish 10
	wait_until 5 dead "$LPID"
	expect_eq "notify: SIGTERM: STOPPING=1" "READY=1 RELOADING=1 READY=1 STOPPING=1" "$(firsts "$NF")"
	expect_eq "notify: exit 0" 0 "$RC"

	NF=$T/notify2.log
	listen "@${T##*/}" "$NF"
	newdir "$R"
	export NOTIFY_SOCKET="@${T##*/}"
	bg na -r -s "$S" -- "$PROBE" --report "$R" --serve
	unset NOTIFY_SOCKET
	wait_until 5 grep -q '^READY=1' "$NF"
	expect_eq "notify @abstract: READY=1 once started" "READY=1" "$(firsts "$NF")"
	kill -TERM "$SP"
	finish 10
	wait_until 5 dead "$LPID"
	expect_eq "notify @abstract: STOPPING=1 at stop" "READY=1 STOPPING=1" "$(firsts "$NF")"

	# Without -w spawn does not stay, so it does not speak for the service.
	NF=$T/notify3.log
	listen "$T/notify3.sock" "$NF"
	newdir "$R"
	export NOTIFY_SOCKET="$T/notify3.sock"
	run_spawn -s "$S" -- "$PROBE" --report "$R" --serve
	unset NOTIFY_SOCKET
	for p in $(printf '%s\n' "$OUT" | sed -n 's/.*PID: //p'); do track "$p"; done
	expect_eq "notify without -w: started, exit 0" 0 "$RC"
	# A marker sent after spawn exited arrives after anything spawn sent.
	python3 -c 'import socket, sys; s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); s.sendto(b"MARK=1\nSTOPPING=1\n", sys.argv[1])' "$T/notify3.sock"
	wait_until 5 grep -q '^MARK=1' "$NF"
	expect_eq "notify without -w: nothing sent" "MARK=1" "$(firsts "$NF")"
	wait_until 5 dead "$LPID"
	stop $(report_pids "$R")
	rm -f "$S"
else
	skip "notify: no python3 for a datagram listener"
fi

# --- Usage errors: one line, exit 2, nothing started, nothing left.
newdir "$R"
bad 'spawn: -n and -w/-r are exclusive' -n -w -s "$S" -- "$PROBE" --report "$R"
bad 'spawn: -n and -w/-r are exclusive' -n -r -s "$S" -- "$PROBE" --report "$R"
bad 'spawn: -n and --check are exclusive' -n --check -s "$S" -- "$PROBE" --report "$R"
bad 'spawn: -n and --subreaper are exclusive' -n --subreaper -s "$S" -- "$PROBE" --report "$R"
bad 'spawn: --subreaper needs -w or -r' --subreaper -s "$S" -- "$PROBE" --report "$R"
bad 'spawn: retries "-1": too small (0..1000000)' -r --retries -1 -s "$S" -- "$PROBE" --report "$R"
bad 'spawn: retries "abc": not a number (0..1000000)' -r --retries abc -s "$S" -- "$PROBE" --report "$R"
bad 'spawn: stop-signal "FOO": not a signal' -r --stop-signal FOO -s "$S" -- "$PROBE" --report "$R"
bad 'spawn: stop-signal "0": not a signal' -r --stop-signal 0 -s "$S" -- "$PROBE" --report "$R"
bad 'spawn: stop-timeout "86401": too large (0..86400)' -r --stop-timeout 86401 -s "$S" -- "$PROBE" --report "$R"
bad 'spawn: stop-timeout "-1": too small (0..86400)' -r --stop-timeout -1 -s "$S" -- "$PROBE" --report "$R"
bad 'spawn: stop-timeout "1s": not a number (0..86400)' -r --stop-timeout 1s -s "$S" -- "$PROBE" --report "$R"
bad 'spawn: option --retries needs a value' -r -s "$S" --retries

# --- SIGTERM during the start-up window: without -w the start did not
# complete (exit 1); with -w it is a stop like any other (exit 0). Either
# way the children are stopped and the socket is removed.
for mode in fork wait; do
	R=$T/startstop-$mode
	mkdir -p "$R"
	[ $mode = wait ] && wflag=-w || wflag=
	"$SPAWN" $wflag -s "$S" -F 2 --min-uptime 5000 -- "$PROBE" --report "$R" --sleep >"$T/ss.out" 2>"$T/ss.err" &
	sp=$!
	track "$sp"
	wait_for 5 'test "$(count_reports "$R")" -eq 2'
	kill "$sp"
	wait_until 10 dead "$sp"
	wait "$sp"
	rc=$?
	[ $mode = wait ] && want=0 || want=1
	expect_eq "SIGTERM during start-up ($mode mode): exit $want" "$want" "$rc"
	expect_eq "SIGTERM during start-up ($mode mode): one line" "spawn: start: stopped by SIGTERM" "$(cat "$T/ss.err")"
	expect_eq "SIGTERM during start-up ($mode mode): nothing printed as started" "" "$(cat "$T/ss.out")"
	for p in $(report_pids "$R"); do
		wait_until 5 dead "$p"
		check "SIGTERM during start-up ($mode mode): child $p stopped" dead "$p"
	done
	check "SIGTERM during start-up ($mode mode): socket removed" sock_gone "$S"
done
