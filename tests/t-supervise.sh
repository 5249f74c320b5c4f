# Supervision (issue 3): -w, -r, stop, reload, signal forwarding, orphans,
# systemd notify. Asserts what really happened to the processes (/proc,
# probe reports), not what spawn says about them.
. "$(dirname "$0")/lib.sh"

umask 022

# bg NAME ARGS...: spawn in the background, output in $T/NAME.out and
# $T/NAME.err; SP is its pid.
bg() {
	_n=$1
	shift
	"$SPAWN" "$@" >"$T/$_n.out" 2>"$T/$_n.err" </dev/null &
	SP=$!
	BGNAME=$_n
	track "$SP"
}
# started NAME N: spawn NAME printed N "spawned successfully" lines.
started() {
	_c=$(grep -c '^spawn: child spawned successfully: PID: [0-9][0-9]*$' "$T/$1.out" 2>/dev/null)
	test "${_c:-0}" -eq "$2"
}
# up NAME N: waits (bounded) for spawn NAME to have started N children;
# shows its stderr when it did not.
up() {
	wait_until 5 started "$1" "$2" && return 0
	sed 's/^/#   spawn: /' "$T/$1.err"
	return 1
}
# finish SECS: waits (bounded) for $SP to exit; RC is its status, or
# "timeout" (and it is killed).
finish() {
	if wait_until "$1" dead "$SP"; then
		wait "$SP"
		RC=$?
	else
		kill -KILL "$SP" 2>/dev/null
		wait "$SP"
		RC=timeout
	fi
	# A failing exit status shows what spawn said, for the log.
	[ "$RC" = 0 ] || tail -n 5 "$T/$BGNAME.err" 2>/dev/null | sed 's/^/#   stderr: /'
}
# kids PID: live (non-zombie) children of PID, sorted; one pass over /proc.
kids() {
	cat /proc/[0-9]*/stat 2>/dev/null | awk -v p="$1" '{
		pid = $1; sub(/.*\) /, "")
		if ($2 == p && $1 != "Z" && $1 != "X") print pid }' | sort -n
}
# zombies_of PID: children of PID in state Z.
zombies_of() {
	cat /proc/[0-9]*/stat 2>/dev/null | awk -v p="$1" '{
		pid = $1; sub(/.*\) /, "")
		if ($2 == p && $1 == "Z") print pid }' | sort -n
}
# gone PID: not in /proc at all (not even as a zombie): someone reaped it.
gone() { [ ! -e "/proc/$1" ]; }
flat() { echo $*; }
sorted_reports() { report_pids "$1" | sort -n; }
n_reports_is() { test "$(count_reports "$1")" -eq "$2"; }
# all_have DIR SIG PID...: every PID logged SIG in DIR/PID.signals.
all_have() {
	_d=$1 _s=$2
	shift 2
	for _p in "$@"; do grep -qx "$_s" "$_d/$_p.signals" 2>/dev/null || return 1; done
}
none_have() {
	_d=$1 _s=$2
	shift 2
	for _p in "$@"; do grep -qx "$_s" "$_d/$_p.signals" 2>/dev/null && return 1; done
	return 0
}
ppid_of() { sed -n 's/^PPid:[[:space:]]*//p' "/proc/$1/status" 2>/dev/null; }
# sig_taken PID SIG: SIG (a number) is no longer pending for PID.
sig_taken() {
	_m=$(awk '/^(ShdPnd|SigPnd):/ { print $2 }' "/proc/$1/status" 2>/dev/null)
	for _h in $_m; do
		[ $(( 0x$_h >> ($2 - 1) & 1 )) -eq 0 ] || return 1
	done
}
# sample_kids PID FILE: writes the number of live children of PID to FILE,
# over and over, until PID is gone. SAMPLER is the sampling shell.
sample_kids() {
	( while alive "$1"; do kids "$1" | wc -l; sleep 0.01; done >"$2" ) &
	SAMPLER=$!
	track "$SAMPLER"
}
end_sampler() { wait_until 5 dead "$SAMPLER"; kill "$SAMPLER" 2>/dev/null; wait "$SAMPLER" 2>/dev/null; }
max_in() { sort -n "$1" | tail -n 1; }
newdir() { rm -rf "$1"; mkdir -p "$1"; }

S=$T/s.sock

# --- -w: spawn stays in the foreground as the parent, children inherit
# stdout and stderr, the pid file holds spawn's own pid.
R=$T/w
newdir "$R"
bg w -w -s "$S" -F 2 -P "$T/w.pid" -- "$PROBE" --report "$R" --print hello --exit-after 1200 0
up w 2
wait_until 5 n_reports_is "$R" 2
wait_until 5 test -s "$T/w.pid"
pids=$(sorted_reports "$R")
expect_eq "-w: two probes reported" 2 "$(count_reports "$R")"
check "-w: spawn stays in the foreground" alive "$SP"
expect_eq "-w: pid file holds spawn's own pid" "$SP" "$(cat "$T/w.pid" 2>/dev/null)"
expect_eq "-w: /proc: the children's parent is spawn" "$(flat $pids)" "$(flat $(kids "$SP"))"
for p in $pids; do
	expect_eq "-w: child $p: reported ppid is spawn" "$SP" "$(rget "$R" "$p" ppid)"
	expect_eq "-w: child $p: stdout is spawn's" "$(readlink -f "$T/w.out")" "$(rget "$R" "$p" fd.1)"
	expect_eq "-w: child $p: stderr is spawn's" "$(readlink -f "$T/w.err")" "$(rget "$R" "$p" fd.2)"
	expect_eq "-w: child $p: fds 0 1 2 only" 0,1,2 "$(rget "$R" "$p" fds)"
done
check "-w: socket exists while running" test -S "$S"
finish 10
expect_eq "-w: all exited 0: exit 0" 0 "$RC"
expect_eq "-w: the children's output reached spawn's stdout" 2 "$(grep -c '^hello out$' "$T/w.out")"
expect_eq "-w: the children's errors reached spawn's stderr" 2 "$(grep -c '^hello err$' "$T/w.err")"
check "-w: the children are gone" all_dead $pids
check "-w: pid file removed on exit" test ! -e "$T/w.pid"
check "-w: socket file removed on exit" sock_gone "$S"
expect_eq "-w: no temporary pid file left" "" "$(ls -a "$T" | grep '\.tmp$')"

# --- -w: the exit status is the first failure's.
newdir "$R"
bg w1 -w -s "$S" -F 2 -- "$PROBE" --report "$R" --exit-after 300 3
up w1 2
finish 10
expect_eq "-w: children exiting 3: exit 3" 3 "$RC"
expect_match "-w: the failure is reported" "^spawn: child [0-9]+ exited with status 3$" "$(cat "$T/w1.err")"
check "-w: socket removed after a failure" sock_gone "$S"

# One exits 5 first, the other 7 later: 5. One exits 0 first, the other 6: 6.
newdir "$R"
cat >"$T/order.sh" <<EOF
if mkdir "$T/order.first" 2>/dev/null; then
	exec "$PROBE" --report "$R" --exit-after 300 \$1
fi
exec "$PROBE" --report "$R" --exit-after 900 \$2
EOF
rm -rf "$T/order.first"
bg w2 -w -s "$S" -F 2 -- /bin/sh "$T/order.sh" 5 7
up w2 2
finish 10
expect_eq "-w: first failure 5, later 7: exit 5" 5 "$RC"
rm -rf "$T/order.first"
bg w3 -w -s "$S" -F 2 -- /bin/sh "$T/order.sh" 0 6
up w3 2
finish 10
expect_eq "-w: one exits 0, the other 6: exit 6" 6 "$RC"

# Killed by a signal: 128+N.
newdir "$R"
bg w4 -w -s "$S" -- "$PROBE" --report "$R" --sleep
up w4 1
p=$(sorted_reports "$R")
kill -KILL "$p"
finish 10
expect_eq "-w: child killed by SIGKILL: exit 137" 137 "$RC"
expect_match "-w: the kill is reported" "^spawn: child $p killed by signal 9 \(SIGKILL\)$" "$(cat "$T/w4.err")"

# Dying within --min-uptime is a failed start, whatever -w says.
newdir "$R"
bg w5 -w -s "$S" -P "$T/w5.pid" -- "$PROBE" --report "$R" --exit 3
finish 10
expect_eq "-w: exit within --min-uptime: failed start, exit 1" 1 "$RC"
expect_match "-w: failed start reported" "exited with status 3 during start-up" "$(cat "$T/w5.err")"
check "-w: failed start: no pid file" test ! -e "$T/w5.pid"
check "-w: failed start: socket removed" sock_gone "$S"

# --- -r: a killed child is replaced in its slot; never more than -F.
newdir "$R"
bg r -r -s "$S" -F 2 -P "$T/r.pid" -- "$PROBE" --report "$R" --serve
up r 2
wait_until 5 test -s "$T/r.pid"
expect_eq "-r: pid file holds spawn's own pid" "$SP" "$(cat "$T/r.pid" 2>/dev/null)"
sockid=$(rget "$R" "$(sorted_reports "$R" | head -n 1)" fd.0)
sample_kids "$SP" "$T/r.samples"
for round in 1 2 3; do
	before=$(kids "$SP")
	victim=$(echo $before | cut -d' ' -f1)
	n=$(count_reports "$R")
	seen=$(sorted_reports "$R")
	kill -KILL "$victim"
	wait_until 5 n_reports_is "$R" $((n + 1))
	new=$(sorted_reports "$R" | grep -vxF "$seen")
	wait_for 5 'test "$(kids "$SP" | wc -l)" -eq 2'
	check "-r round $round: the killed child $victim is dead" dead "$victim"
	check "-r round $round: a new child $new replaced it" alive "$new"
	expect_eq "-r round $round: the new child's parent is spawn" "$SP" "$(ppid_of "$new")"
	expect_eq "-r round $round: still two children" 2 "$(kids "$SP" | wc -l)"
	check "-r round $round: the new child serves" "$CLIENT" -q "$S"
	expect_eq "-r round $round: the new child has the same listening socket" "$sockid" "$(rget "$R" "$new" fd.0)"
	expect_eq "-r round $round: the new child has fds 0 1 2 only" 0,1,2 "$(rget "$R" "$new" fds)"
	expect_eq "-r round $round: the new child blocks no signal" 0000000000000000 "$(rget "$R" "$new" sigblk)"
	expect_eq "-r round $round: the new child has its own session" "$new" "$(rget "$R" "$new" sid)"
done
expect_eq "-r: one report per start (2 + 3 replacements)" 5 "$(count_reports "$R")"
pids=$(sorted_reports "$R")
kill -TERM "$SP"
finish 10
end_sampler
expect_eq "-r: stopped by SIGTERM: exit 0" 0 "$RC"
check "-r: never more than -F 2 children alive (max $(max_in "$T/r.samples"))" test "$(max_in "$T/r.samples")" -le 2
check "-r: every child is gone" all_dead $pids
check "-r: pid file removed" test ! -e "$T/r.pid"
check "-r: socket removed" sock_gone "$S"

# --- -r: a crash loop gives up after --retries failed starts in a row.
newdir "$R"
rm -f "$T/crash"
cat >"$T/crash.sh" <<EOF
if [ -e "$T/crash" ]; then exec "$PROBE" --report "$R" --exit-after 10 1; fi
exec "$PROBE" --report "$R" --serve
EOF
bg cl -r --retries 3 -s "$S" -F 2 -- /bin/sh "$T/crash.sh"
up cl 2
sample_kids "$SP" "$T/cl.samples"
first=$(sorted_reports "$R")
: >"$T/crash"
t0=$(date +%s%N)
kill -KILL $first
finish 20
t1=$(date +%s%N)
end_sampler
expect_eq "crash loop: exit 1" 1 "$RC"
expect_match "crash loop: message names the slot" "^spawn: child slot [12] failed to start 3 times in a row, giving up$" "$(cat "$T/cl.err")"
n=$(count_reports "$R")
check "crash loop: bounded number of starts (2 + 3..6 restarts: $n)" test "$n" -ge 5 -a "$n" -le 8
ms=$(( (t1 - t0) / 1000000 ))
check "crash loop: the backoff (100 + 200 ms) slowed it down ($ms ms)" test "$ms" -ge 300
check "crash loop: never more than -F 2 alive (max $(max_in "$T/cl.samples"))" test "$(max_in "$T/cl.samples")" -le 2
check "crash loop: every child is gone" all_dead $(report_pids "$R")
check "crash loop: socket removed" sock_gone "$S"

# --retries 0 never gives up; the backoff (100, 200, 400, 800 ms...) keeps
# the number of starts small.
newdir "$R"
rm -f "$T/crash"
bg c0 -r --retries 0 -s "$S" -F 2 -- /bin/sh "$T/crash.sh"
up c0 2
first=$(sorted_reports "$R")
: >"$T/crash"
kill -KILL $first
sleep 1.6
n=$(count_reports "$R")
check "--retries 0: still running after a crash loop of 1.6 s" alive "$SP"
check "--retries 0: the backoff bounds the starts (2 + 4..12 restarts: $n)" test "$n" -ge 6 -a "$n" -le 14
check "--retries 0: never more than -F 2 alive" test "$(kids "$SP" | wc -l)" -le 2
kill -TERM "$SP"
finish 10
check "--retries 0: stops on SIGTERM (status $RC)" test "$RC" != timeout
check "--retries 0: every child is gone" all_dead $(report_pids "$R")
check "--retries 0: socket removed" sock_gone "$S"
rm -f "$T/crash"

# A child that lived past --min-uptime is no failed start: with --retries 1
# children that keep exiting (status 0) after 250 ms keep being restarted.
newdir "$R"
bg ex -r --retries 1 -s "$S" -- "$PROBE" --report "$R" --exit-after 250 0
up ex 1
wait_until 5 n_reports_is "$R" 4
check "-r: a child exiting normally is restarted again and again" n_reports_is "$R" 4
check "-r: ... and --retries 1 does not give up on it" alive "$SP"
kill -TERM "$SP"
finish 10
expect_eq "-r: restarted children stopped: exit 0" 0 "$RC"
check "-r: restarted children all gone" all_dead $(report_pids "$R")

# --- Stop: SIGTERM; each child gets the stop signal.
newdir "$R"
bg st -w -F 2 -s "$S" -P "$T/st.pid" -- "$PROBE" --report "$R" --serve
up st 2
pids=$(sorted_reports "$R")
kill -TERM "$SP"
finish 5
expect_eq "stop: SIGTERM: exit 0 (within 5 s, no SIGKILL needed)" 0 "$RC"
check "stop: the children are gone" all_dead $pids
check "stop: socket removed" sock_gone "$S"
check "stop: pid file removed" test ! -e "$T/st.pid"
expect_eq "stop: nothing said about SIGKILL" "" "$(grep SIGKILL "$T/st.err")"

# Children killed by the stop signal itself were stopped as asked.
newdir "$R"
bg sk -w -F 2 -s "$S" -- "$PROBE" --report "$R" --sleep
up sk 2
pids=$(sorted_reports "$R")
kill -TERM "$SP"
finish 5
expect_eq "stop: children killed by SIGTERM itself: exit 0" 0 "$RC"
check "stop: those children are gone" all_dead $pids

# SIGINT stops as well.
newdir "$R"
bg si -r -F 2 -s "$S" -- "$PROBE" --report "$R" --serve
up si 2
pids=$(sorted_reports "$R")
kill -INT "$SP"
finish 5
expect_eq "stop: SIGINT: exit 0" 0 "$RC"
check "stop: SIGINT: the children are gone" all_dead $pids

# --stop-signal USR1: the probe only logs it, so it is killed after 1 s.
newdir "$R"
bg su -r -F 2 -s "$S" --stop-signal USR1 --stop-timeout 1 -- "$PROBE" --report "$R" --serve
up su 2
pids=$(sorted_reports "$R")
kill -TERM "$SP"
finish 8
expect_eq "--stop-signal USR1, child stays: SIGKILL after 1 s, exit 1" 1 "$RC"
check "--stop-signal USR1: every child received USR1" all_have "$R" USR1 $pids
for p in $pids; do
	expect_eq "--stop-signal USR1: child $p got USR1 and nothing else it logs" USR1 "$(cat "$R/$p.signals" 2>/dev/null)"
done
check "--stop-signal USR1: the children are gone" all_dead $pids
expect_match "--stop-signal USR1: the kill is reported" "^spawn: stop: 2 child\(ren\) still running after 1 s, sending SIGKILL$" "$(cat "$T/su.err")"
check "--stop-signal USR1: socket removed" sock_gone "$S"

# A child ignoring SIGTERM is killed after --stop-timeout.
newdir "$R"
bg it -w -s "$S" --stop-timeout 1 -- "$PROBE" --report "$R" --ignore-term --sleep
up it 1
p=$(sorted_reports "$R")
kill -TERM "$SP"
wait_until 5 sig_taken "$SP" 15
sleep 0.3
check "ignore-term: still alive right after SIGTERM" alive "$p"
finish 8
expect_eq "ignore-term: SIGKILL after --stop-timeout 1: exit 1" 1 "$RC"
check "ignore-term: the child is gone" dead "$p"
check "ignore-term: socket removed" sock_gone "$S"

# A second SIGTERM does not wait for --stop-timeout 30.
newdir "$R"
bg t2 -w -s "$S" --stop-timeout 30 -- "$PROBE" --report "$R" --ignore-term --sleep
up t2 1
p=$(sorted_reports "$R")
kill -TERM "$SP"
wait_until 5 sig_taken "$SP" 15
check "second TERM: the first one was taken" sig_taken "$SP" 15
check "second TERM: the child survives the first" alive "$p"
kill -TERM "$SP"
finish 5
expect_eq "second TERM: kills at once, exit 1 (within 5 s)" 1 "$RC"
check "second TERM: the child is gone" dead "$p"
check "second TERM: socket removed" sock_gone "$S"
expect_match "second TERM: says why it kills" "^spawn: stop: asked twice, sending SIGKILL to 1 child\(ren\) now$" "$(cat "$T/t2.err")"
newdir "$R"
bg i2 -w -s "$S" --stop-timeout 30 -- "$PROBE" --report "$R" --ignore-term --sleep
up i2 1
p=$(sorted_reports "$R")
kill -INT "$SP"
wait_until 5 sig_taken "$SP" 2
kill -INT "$SP"
finish 5
expect_eq "second INT: kills at once, exit 1 (within 5 s)" 1 "$RC"
check "second INT: the child is gone" dead "$p"

# A stopped (SIGSTOP) child still gets the stop signal (spawn adds SIGCONT).
newdir "$R"
bg ss -r -F 2 -s "$S" -- "$PROBE" --report "$R" --serve
up ss 2
pids=$(sorted_reports "$R")
p=$(echo $pids | cut -d' ' -f1)
kill -STOP "$p"
wait_for 5 'test "$(proc_state "$p")" = T'
kill -TERM "$SP"
finish 5
expect_eq "stop: a SIGSTOPped child is stopped too: exit 0 (within 5 s)" 0 "$RC"
check "stop: the SIGSTOPped child is gone" all_dead $pids

# --- Reload: SIGHUP with -r replaces every child, one at a time, while a
# client keeps getting answers.
newdir "$R"
bg rl -r -F 3 --min-uptime 200 -s "$S" -- "$PROBE" --report "$R" --serve --delay 5
up rl 3
gen1=$(sorted_reports "$R")
ino=$(stat -c %i "$S")
sockid=$(rget "$R" "$(echo $gen1 | cut -d' ' -f1)" fd.0)
"$CLIENT" -d 4000 -q "$S" 2>"$T/client.err" &
cpid=$!
track "$cpid"
sample_kids "$SP" "$T/rl.samples"
sleep 0.3
kill -HUP "$SP"
wait_until 10 n_reports_is "$R" 6
wait_until 5 all_dead $gen1
gen2=$(sorted_reports "$R" | grep -vxF "$(printf '%s\n' $gen1)")
check "reload 1: the 3 old children are dead" all_dead $gen1
expect_eq "reload 1: 3 new children, spawn's own" "$(flat $gen2)" "$(flat $(kids "$SP"))"
kill -HUP "$SP"
wait_until 10 n_reports_is "$R" 9
wait_until 5 all_dead $gen2
gen3=$(sorted_reports "$R" | grep -vxF "$(printf '%s\n' $gen1 $gen2)")
check "reload 2: the 3 previous children are dead" all_dead $gen2
expect_eq "reload 2: 3 new children, spawn's own" "$(flat $gen3)" "$(flat $(kids "$SP"))"
check "reload: spawn itself is the same process" alive "$SP"
expect_eq "reload: the socket file is the same (inode)" "$ino" "$(stat -c %i "$S" 2>/dev/null)"
for p in $gen2 $gen3; do
	expect_eq "reload: child $p has the same listening socket" "$sockid" "$(rget "$R" "$p" fd.0)"
	expect_eq "reload: child $p has fds 0 1 2 only" 0,1,2 "$(rget "$R" "$p" fds)"
	expect_eq "reload: child $p blocks no signal" 0000000000000000 "$(rget "$R" "$p" sigblk)"
done
check "reload: SIGHUP was not forwarded to the children" none_have "$R" HUP $gen1 $gen2 $gen3
wait_until 10 dead "$cpid"
wait "$cpid"
crc=$?
cres=$(cat "$T/client.err")
expect_eq "reload: the client loop exits 0" 0 "$crc"
expect_match "reload: the client loop made requests" "requests=[1-9][0-9]* " "$cres"
expect_match "reload: no request failed during two reloads" "failed=0$" "$cres"
check "reload: at most F+1 children at once (max $(max_in "$T/rl.samples"))" test "$(max_in "$T/rl.samples")" -le 4
expect_eq "reload: the new child started before the old one stopped (F+1 seen)" 4 "$(max_in "$T/rl.samples")"
kill -TERM "$SP"
finish 10
end_sampler
expect_eq "reload: stopped afterwards: exit 0" 0 "$RC"
check "reload: socket removed" sock_gone "$S"

# A reload whose new child fails keeps the old ones; the next one works.
newdir "$R"
rm -f "$T/badreload"
cat >"$T/reload.sh" <<EOF
if [ -e "$T/badreload" ]; then exit 3; fi
exec "$PROBE" --report "$R" --serve
EOF
bg rf -r -F 2 --min-uptime 200 -s "$S" -- /bin/sh "$T/reload.sh"
up rf 2
old=$(sorted_reports "$R")
: >"$T/badreload"
kill -HUP "$SP"
wait_until 5 grep -q 'reload: new child' "$T/rf.err"
expect_match "failed reload: reported" "^spawn: reload: new child [0-9]+ exited with status 3 before 200 ms; the running children stay$" "$(cat "$T/rf.err")"
sleep 0.3
check "failed reload: the old children still run" test "$(flat $old)" = "$(flat $(kids "$SP"))"
check "failed reload: the old children still serve" "$CLIENT" -q "$S"
rm -f "$T/badreload"
kill -HUP "$SP"
wait_until 10 n_reports_is "$R" 4
wait_until 5 all_dead $old
new=$(sorted_reports "$R" | grep -vxF "$(printf '%s\n' $old)")
check "reload after a failed one: the old children are replaced" all_dead $old
expect_eq "reload after a failed one: two new children" "$(flat $new)" "$(flat $(kids "$SP"))"
kill -TERM "$SP"
finish 10
expect_eq "failed reload: stopped afterwards: exit 0" 0 "$RC"

# SIGTERM in the middle of a reload also stops the new child being verified.
newdir "$R"
bg rt -r -F 2 --min-uptime 1500 -s "$S" -- "$PROBE" --report "$R" --serve
up rt 2
old=$(sorted_reports "$R")
kill -HUP "$SP"
wait_until 5 n_reports_is "$R" 3
kill -TERM "$SP"
finish 5
expect_eq "stop during a reload: exit 0" 0 "$RC"
check "stop during a reload: the old and the new children are gone" all_dead $(report_pids "$R")
check "stop during a reload: socket removed" sock_gone "$S"

# The running child dies while a reload verifies its replacement, and the
# replacement fails too: the slot must still be refilled (-r restarts
# every child that exits).
newdir "$R"
rm -f "$T/badreload"
cat >"$T/slowfail.sh" <<EOF
if [ -e "$T/badreload" ]; then sleep 0.5; exit 3; fi
exec "$PROBE" --report "$R" --serve
EOF
bg rk -r --min-uptime 1000 -s "$S" -- /bin/sh "$T/slowfail.sh"
up rk 1
old=$(sorted_reports "$R")
: >"$T/badreload"
kill -HUP "$SP"
wait_for 5 'test "$(kids "$SP" | wc -l)" -eq 2'
kill -KILL "$old"
rm -f "$T/badreload"
wait_until 5 grep -q 'reload: new child' "$T/rk.err"
expect_match "reload + crash: the failed replacement is reported" "reload: new child [0-9]+ exited with status 3" "$(cat "$T/rk.err")"
wait_until 5 n_reports_is "$R" 2
check "reload + crash: the slot is refilled by a new child" n_reports_is "$R" 2
expect_eq "reload + crash: one child runs again" 1 "$(kids "$SP" | wc -l)"
kill -TERM "$SP"
finish 10
expect_eq "reload + crash: stopped afterwards: exit 0" 0 "$RC"
check "reload + crash: every child is gone" all_dead $(report_pids "$R")

# A reload stops the old child with --stop-signal, and SIGKILLs it after
# --stop-timeout when it does not go.
newdir "$R"
bg rs -r --stop-signal USR2 --stop-timeout 1 -s "$S" -- "$PROBE" --report "$R" --serve
up rs 1
old=$(sorted_reports "$R")
kill -HUP "$SP"
wait_until 5 n_reports_is "$R" 2
wait_until 5 dead "$old"
new=$(sorted_reports "$R" | grep -vxF "$old")
expect_eq "reload --stop-signal USR2: the old child got USR2" USR2 "$(cat "$R/$old.signals" 2>/dev/null)"
check "reload --stop-signal USR2: the old child was killed after --stop-timeout" dead "$old"
expect_eq "reload --stop-signal USR2: the new child runs" "$new" "$(flat $(kids "$SP"))"
expect_match "reload --stop-signal USR2: the kill is reported" "reload: child $old still running after 1 s, sending SIGKILL" "$(cat "$T/rs.err")"
kill -TERM "$SP"
finish 8
expect_eq "reload --stop-signal USR2: the stop needs SIGKILL too: exit 1" 1 "$RC"

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
wait_until 5 test -n "$(ls "$R" | grep '\.orphan$')"
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
wait_until 5 test -n "$(ls "$R" | grep '\.orphan$')"
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
	wait_until 5 test -n "$(kids "$host")"
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
	listen "@spawn-test-$$" "$NF"
	newdir "$R"
	export NOTIFY_SOCKET="@spawn-test-$$"
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

# --- Respawns and reloads name the new child in the log.
newdir "$R"
bg lg -r -F 1 --min-uptime 100 -s "$S" -- "$PROBE" --report "$R" --serve
up lg 1
p=$(sorted_reports "$R")
kill -KILL "$p"
wait_for 5 'test "$(count_reports "$R")" -eq 2'
new=$(sorted_reports "$R" | grep -vx "$p")
wait_until 5 grep -q "started" "$T/lg.err"
expect_match "respawn: the log names the new child" "^spawn: child $new \\(slot 1\\) started$" "$(cat "$T/lg.err")"
kill -HUP "$SP"
wait_for 5 'test "$(count_reports "$R")" -eq 3'
wait_until 5 grep -q "replaces" "$T/lg.err"
third=$(sorted_reports "$R" | grep -vx "$p" | grep -vx "$new")
expect_match "reload: the log names old and new child" "^spawn: reload: slot 1: child $third replaces $new$" "$(cat "$T/lg.err")"
kill -TERM "$SP"
finish 10
expect_eq "log test: stopped, exit 0" 0 "$RC"

R=$T/retries
mkdir -p "$R"
bad 'spawn: --retries needs -r' -w --retries 2 -s "$S" -- "$PROBE" --report "$R"
