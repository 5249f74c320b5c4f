# Hostile environments (issue 9), part 3 (see t-hostile.sh): children
# stuck before exec (a hung file system) and children that stop
# themselves (SIGSTOP). The 10 s exec deadline makes this and part 4
# (t-hostile-stuck-r.sh) the longest parts; they run beside the others.
. "$(dirname "$0")/lib.sh"

R=$T/r
S=$T/s.sock
mkdir -p "$R"
chmod 777 "$R"
umask 022

# --- A child stuck before exec: here a --chdir into a FUSE file system
# whose server never answers (the lookup waits in the kernel, as on a hung
# network mount). The wait for the exec has a deadline (10 s): the stuck
# child is killed and the start fails; a stop signal meanwhile is acted on
# at once.
# hung_fs and unhang are in lib.sh.
H=$T/hung
mkdir -p "$H/sub"
if is_root && have python3 && [ -c /dev/fuse ] && hung_fs "$H" "$T/hung.ready"; then
	R=$T/r-hung
	mkdir -p "$R"
	t0=$(date +%s)
	spawn_bg hung -s "$S" -F 2 -P "$T/hung.pid" -d "$H/sub" -- "$PROBE" --report "$R" --sleep
	wait_for 5 'test "$(kids "$SP" | wc -l)" -eq 2'
	track $(kids "$SP")
	finish 20
	t1=$(date +%s)
	ERR=$(cat "$T/hung.err")
	expect_eq "chdir into a hung file system: exit 1" 1 "$RC"
	expect_eq "chdir into a hung file system: both children named as stuck, then killed" 2 "$(printf '%s\n' "$ERR" | grep -c '^spawn: child [0-9]*: no exec after 10 s (stuck before exec?), killing it$')"
	check "chdir into a hung file system: gives up after 10 s, not much later ($((t1 - t0)) s)" test $((t1 - t0)) -ge 9 -a $((t1 - t0)) -le 16
	expect_eq "chdir into a hung file system: nothing on stdout" "" "$(cat "$T/hung.out")"
	check "chdir into a hung file system: socket removed" sock_gone "$S"
	check "chdir into a hung file system: no pid file" test ! -e "$T/hung.pid"
	expect_eq "chdir into a hung file system: no child of spawn left" "" "$(for p in $(printf '%s\n' "$ERR" | sed -n 's/^spawn: child \([0-9]*\): no exec.*/\1/p'); do alive "$p" && echo "$p"; done)"

	# SIGTERM while the children are stuck: spawn stops at once (then
	# SIGKILLs them after --stop-timeout, as they never see the SIGTERM).
	spawn_bg stuck -s "$S" -F 2 --stop-timeout 1 -d "$H/sub" -- "$PROBE" --report "$R" --sleep
	wait_for 5 'test "$(kids "$SP" | wc -l)" -eq 2'
	stuck=$(kids "$SP")
	track $stuck
	kill -TERM "$SP"
	finish 4
	expect_eq "stuck children, SIGTERM: spawn stops within 4 s, exit 1 (the start did not complete)" 1 "$RC"
	expect_eq "stuck children, SIGTERM: says so" "spawn: start: stopped by SIGTERM" "$(grep -v 'SIGKILL' "$T/stuck.err")"
	check "stuck children, SIGTERM: they are gone" wait_until 5 all_dead $stuck
	check "stuck children, SIGTERM: socket removed" sock_gone "$S"
	unhang "$H"
	R=$T/r
else
	skip "child stuck before exec (needs root, python3 and a FUSE mount)"
fi

# --- A child that stops itself (SIGSTOP) is still a running child: it
# passes start-up verification, is not restarted under -r while stopped,
# and a stop sends SIGCONT after the stop signal so that it ends.
STOP=$(python3 -c 'import signal; print(int(signal.SIGSTOP))' 2>/dev/null || echo 19)
run_spawn -s "$S" -F 2 --min-uptime 300 -P "$T/stopped.pid" -- "$PROBE" --report "$R" --raise "$STOP"
expect_eq "children stopped (SIGSTOP) during verification: exit 0" 0 "$RC"
expect_eq "children stopped during verification: two lines" 2 "$(printf '%s\n' "$OUT" | grep -c 'spawned successfully')"
for p in $(cat "$T/stopped.pid"); do
	expect_eq "stopped child $p: state T" T "$(proc_state "$p")"
	kill -CONT "$p"
done
check "stopped children: SIGCONT lets them go on (they exit)" wait_until 5 all_dead $(cat "$T/stopped.pid")
rm -f "$S" "$R"/*
spawn_bg rstop -r -F 1 -s "$S" --stop-timeout 5 -- "$PROBE" --report "$R" --raise "$STOP"
wait_for 5 'test "$(spawned "$T/rstop.out")" -eq 1'
p=$(kids "$SP")
wait_for 5 'test "$(proc_state "$p")" = T'
expect_eq "-r, child stopped itself: state T" T "$(proc_state "$p")"
# Nothing is expected to happen: give spawn a second to (wrongly) act.
sleep 1
expect_eq "-r, child stopped itself: not restarted, spawn said nothing" "$p" "$(kids "$SP")"
expect_eq "-r, child stopped itself: nothing on stderr" "" "$(cat "$T/rstop.err")"
kill -TERM "$SP"
finish 5
expect_eq "-r, child stopped itself, SIGTERM: stopped in time (SIGCONT sent), exit 0" 0 "$RC"
check "-r, child stopped itself: gone" dead "$p"
check "-r, child stopped itself: socket removed" sock_gone "$S"
rm -f "$R"/*
