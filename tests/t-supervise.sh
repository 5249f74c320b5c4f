# Supervision (issue 3), part 1: -w, -r, crash loops, stop. Asserts what
# really happened to the processes (/proc, probe reports), not what spawn
# says about them. Reloads are in t-supervise-reload.sh, signal
# forwarding, orphans, PID 1, systemd notify and usage errors in
# t-supervise-signals.sh; the three run side by side.
. "$(dirname "$0")/lib.sh"

umask 022

# bg, up, finish, kids and the other helpers of these files are in lib.sh.

S=$T/s.sock

# --- -w: spawn stays in the foreground as the parent, children inherit
# stdout and stderr, the pid file holds spawn's own pid.
R=$T/w
newdir "$R"
bg w -w -s "$S" -F 2 -P "$T/w.pid" -- "$PROBE" --report "$R" --print hello --exit-after 3000 0
up w 2
# At once, while the children (which live 3 s) surely run, however loaded
# the machine is.
check "-w: socket exists while running" test -S "$S"
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
bg w5 -w -s "$S" -P "$T/w5.pid" --min-uptime 10000 -- "$PROBE" --report "$R" --exit 3
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
bg cl -r --retries 3 --min-uptime 2000 -s "$S" -F 2 -- /bin/sh "$T/crash.sh"
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
bg c0 -r --retries 0 --min-uptime 2000 -s "$S" -F 2 -- /bin/sh "$T/crash.sh"
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
