# Hostile environments (issue 9), part 4 (see t-hostile.sh): under -r, a
# child restarted into a directory on a file system that hung after the
# start is stuck before exec: it is killed after the 10 s deadline, the
# supervisor neither freezes nor spins meanwhile, and a SIGTERM is acted
# on at once. (Part 3, t-hostile-stuck.sh, has the stuck start; the two
# run side by side.)
. "$(dirname "$0")/lib.sh"

R=$T/r
S=$T/s.sock
mkdir -p "$R"
chmod 777 "$R"
umask 022

H=$T/hung
mkdir -p "$H/sub"
# Whether such a file system can be mounted here at all: mounted once and
# unmounted again before spawn starts.
if is_root && have python3 && [ -c /dev/fuse ] && hung_fs "$H" "$T/hung.ready" &&
    unhang "$H"; then
	rm -f "$T/hung.ready"
	# Under -r: the running children were started from the directory
	# before it hung; the restart of one that dies gets stuck. The stuck
	# one is killed after 10 s and counts as a failed start; SIGTERM while
	# the next one is stuck is acted on at once.
	spawn_bg rs -r -F 2 -s "$S" --stop-timeout 1 -d "$H/sub" -- "$PROBE" --report "$R" --sleep
	wait_for 5 'test "$(spawned "$T/rs.out")" -eq 2' || sed 's/^/#   spawn: /' "$T/rs.err"
	if hung_fs "$H" "$T/hung.ready"; then
		first=$(report_pids "$R" | head -n 1)
		kill -KILL "$first"
		wait_for 5 'test "$(kids "$SP" | wc -l)" -eq 2'
		track $(kids "$SP")
		# A signal that is not a stop, while spawn waits for the stuck
		# child, waits its turn: spawn does not spin meanwhile.
		cpu() { awk '{ sub(/.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"; }
		c0=$(cpu "$SP")
		kill -HUP "$SP"
		sleep 2
		c1=$(cpu "$SP")
		check "-r, restart stuck, SIGHUP meanwhile: spawn does not spin (used $((c1 - c0)) ticks in 2 s)" test $((c1 - c0)) -lt 20
		check "-r, restart stuck before exec: killed after 10 s" wait_for 15 'grep -q "^spawn: child [0-9]*: no exec after 10 s (stuck before exec?), killing it$" "$T/rs.err"'
		check "-r, restart stuck: the supervisor goes on (a next attempt is forked)" wait_for 5 'test "$(kids "$SP" | wc -l)" -eq 2'
		t0=$(date +%s)
		kill -TERM "$SP"
		finish 5
		t1=$(date +%s)
		check "-r, restart stuck, SIGTERM: spawn stops within 5 s (took $((t1 - t0)) s, RC $RC)" test "$RC" != timeout
		wait_until 5 nothing_running "$R"
		check "-r, restart stuck, SIGTERM: every child is gone" nothing_running "$R"
		expect_eq "-r, restart stuck, SIGTERM: no child of spawn left" "" "$(kids "$SP")"
		check "-r, restart stuck, SIGTERM: socket removed" sock_gone "$S"
		unhang "$H"
	else
		not_ok "-r, restart stuck before exec: the file system could not be mounted again"
		kill "$SP"; finish 5
	fi
else
	skip "child restarted stuck before exec (needs root, python3 and a FUSE mount)"
fi
