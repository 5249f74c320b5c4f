# Hostile environments (issue 9), part 5 (see t-hostile.sh): fork failing
# part way (RLIMIT_NPROC), too few descriptors, fds 0 1 2 closed, an
# environment too big for exec, the socket's directory removed, and the
# supervisor killed with SIGKILL.
. "$(dirname "$0")/lib.sh"

R=$T/r
S=$T/s.sock
mkdir -p "$R"
chmod 777 "$R"
umask 022

# --- fork failing part way through a batch: RLIMIT_NPROC for a uid of its
# own (nobody else's processes count against it, not even those of a test
# run beside this one: private_uid), 1 + 5 processes. The five that did
# start are stopped; nothing is left.
NB=$T/nb
mkdir -p "$NB" "$NB/r"
chmod 777 "$NB" "$NB/r"
as_u() { setpriv --reuid=$U --regid=$U --clear-groups "$@"; }
if ! is_root || ! have setpriv || ! have prlimit; then
	skip "fork failing part way (needs root, setpriv and prlimit)"
elif ! private_uid; then
	skip "fork failing part way (no unused uid in 54400..54599 to claim)"
else
	U=$PRIV_UID
	as_u prlimit --nproc=6 "$SPAWN" -s "$NB/s.sock" -F 8 -P "$NB/pids" -- "$PROBE" --report "$NB/r" --sleep >"$T/.out" 2>"$T/.err" </dev/null
	RC=$?
	expect_eq "fork fails at the 6th of 8 (nproc): exit 1" 1 "$RC"
	expect_eq "fork fails (nproc): the first line says why" "spawn: fork: Resource temporarily unavailable" "$(head -n 1 "$T/.err")"
	expect_eq "fork fails (nproc): nothing reported as spawned" "" "$(cat "$T/.out")"
	wait_until 5 nothing_running "$NB/r"
	check "fork fails (nproc): those that started were stopped" nothing_running "$NB/r"
	uid_procs() { ps -u "$U" -o pid= 2>/dev/null | grep -c .; }
	check "fork fails (nproc): no process of uid $U is left" wait_for 5 'test "$(uid_procs)" -eq 0'
	check "fork fails (nproc): no pid file, no socket" test ! -e "$NB/pids" -a ! -e "$NB/s.sock"
	expect_eq "fork fails (nproc): no temporary file left" "" "$(ls -A "$NB" | grep -v '^r$')"
	rm -f "$NB/r"/*
fi

# --- Too few descriptors (RLIMIT_NOFILE): every limit gives either a
# complete start or one line naming the cause, exit 1, and nothing left.
if have prlimit; then
	for n in 4 5 6 7 8 9 10 12; do
		rm -f "$R"/*
		prlimit --nofile=$n "$SPAWN" -s "$S" -F 2 -P "$T/nf.pid" -- "$PROBE" --report "$R" --sleep >"$T/.out" 2>"$T/.err" </dev/null
		RC=$?
		if [ "$RC" = 0 ]; then
			expect_eq "nofile $n: a complete start (2 children)" 2 "$(grep -c . "$T/nf.pid")"
			stop $(cat "$T/nf.pid")
		else
			expect_eq "nofile $n: exit 1" 1 "$RC"
			expect_match "nofile $n: one line naming the cause" "^spawn: [^:]+: Too many open files$" "$(cat "$T/.err")"
			wait_until 5 nothing_running "$R"
			check "nofile $n: nothing running, no socket, no pid file" test "$(count_reports "$R")" -eq 0 -a ! -e "$S" -a ! -e "$T/nf.pid"
			expect_eq "nofile $n: no temporary pid file" "" "$(ls -A "$T" | grep '\.tmp$')"
		fi
		rm -f "$S" "$T/nf.pid"
	done
else
	skip "too few descriptors (prlimit not installed)"
fi

# --- Started with fds 0, 1 and 2 closed: /dev/null takes their place, so
# that nothing spawn opens lands there; the children get exactly 0 (the
# socket), 1 and 2.
rm -f "$R"/*
"$SPAWN" -s "$S" -F 2 -P "$T/closed.pid" -- "$PROBE" --report "$R" --sleep <&- >&- 2>&-
RC=$?
expect_eq "fds 0 1 2 closed: exit 0" 0 "$RC"
wait_for 5 'n_reports_is "$R" 2'
for p in $(report_pids "$R"); do
	expect_eq "fds 0 1 2 closed: child $p: fd 0 is the socket" "unix $S" "$(rget "$R" "$p" fd0_family) $(rget "$R" "$p" fd0_addr)"
	expect_eq "fds 0 1 2 closed: child $p: fds 1 and 2 are /dev/null" "/dev/null /dev/null" "$(rget "$R" "$p" fd.1) $(rget "$R" "$p" fd.2)"
	expect_eq "fds 0 1 2 closed: child $p: exactly 0 1 2" 0,1,2 "$(rget "$R" "$p" fds)"
done
stop $(cat "$T/closed.pid"); rm -f "$S" "$R"/*
"$SPAWN" -s "$S" -F 0 -- "$PROBE" <&- >&- 2>&-
expect_eq "fds 0 1 2 closed, bad input: exit 2, no crash" 2 "$?"
"$SPAWN" -w -s "$S" -P "$T/closedw.pid" -- "$PROBE" --report "$R" --sleep <&- >&- 2>&- &
SP=$!
track "$SP"
wait_for 5 'n_reports_is "$R" 1'
p=$(report_pids "$R")
expect_eq "-w, fds 0 1 2 closed: the child's fds 1 and 2 are /dev/null" "/dev/null /dev/null" "$(rget "$R" "$p" fd.1) $(rget "$R" "$p" fd.2)"
kill "$SP"; finish 5
expect_eq "-w, fds 0 1 2 closed: SIGTERM stops, exit 0" 0 "$RC"
check "-w, fds 0 1 2 closed: socket removed" sock_gone "$S"
rm -f "$R"/*

# --- An environment too big for exec (E2BIG): spawn itself runs with a
# large stack limit (which allows 3 MB of environment), its children get
# --limit stack=8 MiB (which allows 2 MB). One line per child, exit 1,
# nothing left; with -n, exit 126.
if have prlimit; then
	big_env() {
		prlimit --stack=33554432 sh -c 'big=$(head -c 100000 /dev/zero | tr "\0" x)
i=0
while [ $i -lt 30 ]; do export B$i=$big; i=$((i+1)); done
exec "$@"' sh "$@" >"$T/.out" 2>"$T/.err" </dev/null
		RC=$?
	}
	big_env "$SPAWN" -s "$S" -F 2 -P "$T/big.pid" --limit stack=8388608 -- "$PROBE" --report "$R" --sleep
	expect_eq "E2BIG: exit 1" 1 "$RC"
	expect_eq "E2BIG: one line per child, naming the cause" 2 "$(grep -c "^spawn: child [0-9]*: exec $PROBE: Argument list too long$" "$T/.err")"
	expect_eq "E2BIG: nothing else on stderr" 2 "$(grep -c . "$T/.err")"
	check "E2BIG: nothing started, no socket, no pid file" test "$(count_reports "$R")" -eq 0 -a ! -e "$S" -a ! -e "$T/big.pid"
	big_env "$SPAWN" -n -s "$S" --limit stack=8388608 -- "$PROBE" --report "$R" --sleep
	expect_eq "E2BIG, -n: exit 126" 126 "$RC"
	expect_eq "E2BIG, -n: one line" "spawn: exec $PROBE: Argument list too long" "$(cat "$T/.err")"
	check "E2BIG, -n: no socket left" sock_gone "$S"
else
	skip "environment too big for exec (prlimit not installed)"
fi

# --- The socket's directory removed while -w runs: the stop still works
# and removes nothing that is not its own (a new socket at the same path
# belongs to someone else).
D=$T/sockdir
mkdir -p "$D"
spawn_bg rmdir -w -s "$D/s.sock" -- "$PROBE" --report "$R" --sleep
wait_for 5 'test "$(spawned "$T/rmdir.out")" -eq 1'
rm -rf "$D"
kill "$SP"; finish 5
expect_eq "socket directory removed, -w: SIGTERM stops, exit 0" 0 "$RC"
expect_eq "socket directory removed, -w: nothing on stderr" "" "$(cat "$T/rmdir.err")"
rm -f "$R"/*
if have python3; then
	mkdir -p "$D"
	spawn_bg rmdir2 -w -s "$D/s.sock" -- "$PROBE" --report "$R" --sleep
	wait_for 5 'test "$(spawned "$T/rmdir2.out")" -eq 1'
	rm -rf "$D"
	mkdir -p "$D"
	python3 -c 'import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' "$D/s.sock"
	kill "$SP"; finish 5
	expect_eq "socket directory replaced, -w: exit 0" 0 "$RC"
	check "socket directory replaced: the new socket at the path is left alone" test -S "$D/s.sock"
	rm -f "$R"/*
fi

# --- The supervisor killed with SIGKILL: its children get the stop signal
# (Linux: PR_SET_PDEATHSIG) instead of serving on unsupervised; the socket
# file stays behind, stale, and the next start on it replaces it.
spawn_bg killed -r -F 2 -s "$S" -P "$T/killed.pid" -- "$PROBE" --report "$R" --serve
wait_for 5 'test "$(spawned "$T/killed.out")" -eq 2'
kids_before=$(kids "$SP")
track $kids_before
kill -KILL "$SP"
finish 5
check "supervisor SIGKILLed: its children end too (within 5 s)" wait_until 5 all_dead $kids_before
check "supervisor SIGKILLed: the socket file is left, stale" test -S "$S"
expect_eq "supervisor SIGKILLed: the pid file is left, stale" "$SP" "$(cat "$T/killed.pid")"
rm -f "$R"/*
spawn_bg again -r -F 2 -s "$S" -P "$T/killed.pid" -- "$PROBE" --report "$R" --serve
check "next start on the same socket: succeeds" wait_for 5 'test "$(spawned "$T/again.out")" -eq 2'
check "next start: the pid file is its own" wait_for 5 'test "$(cat "$T/killed.pid")" = "$SP"'
check "next start: answers" "$CLIENT" -q "$S"
kill "$SP"; finish 10
expect_eq "next start: stops cleanly, exit 0" 0 "$RC"
check "next start: socket removed" sock_gone "$S"
