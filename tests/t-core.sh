# Core launcher (issue 2): what the children really got, for every option,
# and every error path: message, exit code, nothing started, nothing left.
. "$(dirname "$0")/lib.sh"

R=$T/r
mkdir -p "$R"
umask 022

# start ARGS...: run spawn (fork mode) with the probe; track its children.
start() {
	run_spawn "$@"
	for _p in $(printf '%s\n' "$OUT" | sed -n 's/.*PID: //p'); do track "$_p"; done
}
# one_report DIR: the pid of the single probe that reported in DIR.

# --- The basic unix-socket start: three children, each verified.
S=$T/s.sock
start -s "$S" -F 3 -P "$T/pids" -- "$PROBE" --report "$R"
expect_eq "unix: exit 0" 0 "$RC"
expect_eq "unix: one line per child on stdout" 3 "$(printf '%s\n' "$OUT" | grep -c '^spawn: child spawned successfully: PID: [0-9][0-9]*$')"
expect_eq "unix: pid file holds the printed pids" "$(printf '%s\n' "$OUT" | sed -n 's/.*PID: //p' | sort)" "$(sort "$T/pids")"
wait_for 5 'test "$(count_reports "$R")" -eq 3'
expect_eq "unix: three probes reported" 3 "$(count_reports "$R")"
for p in $(report_pids "$R"); do
	expect_eq "child $p: fd 0 is listening" 1 "$(rget "$R" "$p" fd0_listening)"
	expect_eq "child $p: fd 0 is a stream socket" stream "$(rget "$R" "$p" fd0_type)"
	expect_eq "child $p: fd 0 bound at the path" "unix $S" "$(rget "$R" "$p" fd0_family) $(rget "$R" "$p" fd0_addr)"
	expect_eq "child $p: fd 0 is blocking" 0 "$(rget "$R" "$p" fd0_nonblock)"
	expect_eq "child $p: getpeername(0) says ENOTCONN" 1 "$(rget "$R" "$p" fd0_notconn)"
	expect_eq "child $p: exactly fds 0 1 2" 0,1,2 "$(rget "$R" "$p" fds)"
	expect_eq "child $p: stdout and stderr are /dev/null" "/dev/null /dev/null" "$(rget "$R" "$p" fd.1) $(rget "$R" "$p" fd.2)"
	expect_eq "child $p: own session (setsid)" "$p" "$(rget "$R" "$p" sid)"
	expect_eq "child $p: no signal blocked" 0000000000000000 "$(rget "$R" "$p" sigblk)"
done
mode=$(stat -c %a "$S")
expect_eq "unix: default mode is 0660 masked by umask 022" 640 "$mode"
body=$("$CLIENT" "$S")
expect_match "unix: a real FastCGI request is answered" "hello from pid [0-9]+" "$body"
run_spawn -s "$S" -- "$PROBE" --report "$R"
expect_eq "in use: exit 1" 1 "$RC"
expect_eq "in use: one-line message" "spawn: socket $S: already in use" "$ERR"
check "in use: the running socket still answers" "$CLIENT" -q "$S"
stop $(cat "$T/pids")
rm -f "$S"; rm -f "$R"/*

# --- Descriptors the caller left open never reach the children.
exec 5</etc/passwd 7>"$T/leak" 9<>"$T/leak2"
start -s "$S" -F 2 -- "$PROBE" --report "$R"
exec 5<&- 7>&- 9<&-
expect_eq "leak: exit 0" 0 "$RC"
wait_for 5 'test "$(count_reports "$R")" -eq 2'
for p in $(report_pids "$R"); do
	expect_eq "leak: child $p has exactly 0 1 2 with fds 5 7 9 open in the caller" 0,1,2 "$(rget "$R" "$p" fds)"
	check "leak: /proc/$p/fd agrees" test "$(ls /proc/$p/fd | sort -n | tr '\n' ,)" = 0,1,2,
done
stop $(report_pids "$R"); rm -f "$S" "$R"/*

# --- Every signal at its default and none blocked, whatever the caller
# left ignored: as systemd starts a service, not as a shell passes on.
start -s "$S" -- "$PROBE" --report "$R" --sleep
p=$(first_report "$R")
expect_eq "signals: the child ignores no signal" 0000000000000000 "$(rget "$R" "$p" sigign)"
expect_eq "signals: the child blocks no signal" 0000000000000000 "$(rget "$R" "$p" sigblk)"
stop "$p"; rm -f "$S" "$R"/*
( trap '' USR1; exec "$SPAWN" -s "$S" -- "$PROBE" --report "$R" --sleep ) >/dev/null 2>&1
p=$(first_report "$R")
ign=$(rget "$R" "$p" sigign)
check "signals: a USR1 ignored by the caller is back at its default (SigIgn $ign)" test $(( 0x$ign & 0x200 )) -eq 0
stop "$p"; rm -f "$S" "$R"/*

# --- TCP, IPv4 and IPv6, each on a port the kernel picked for port 0 (a
# port taken by another test between the pick and spawn's bind is picked
# again: retry_port).
retry_port 127.0.0.1 'start -a 127.0.0.1 -p "$PORT" -- "$PROBE" --report "$R"'
p=$(first_report "$R")
expect_eq "tcp: exit 0" 0 "$RC"
expect_eq "tcp: fd 0 bound to 127.0.0.1:$PORT" "inet 127.0.0.1:$PORT" "$(rget "$R" "$p" fd0_family) $(rget "$R" "$p" fd0_addr)"
check "tcp: answers a request" "$CLIENT" -q "127.0.0.1:$PORT"
stop "$p"; rm -f "$R"/*
if [ -e /proc/net/if_inet6 ] && free_port ::1 >/dev/null; then
	retry_port ::1 'start -a ::1 -p "$PORT" -- "$PROBE" --report "$R"'
	p=$(first_report "$R")
	expect_eq "tcp6: fd 0 bound to [::1]:$PORT" "inet6 [::1]:$PORT" "$(rget "$R" "$p" fd0_family) $(rget "$R" "$p" fd0_addr)"
	check "tcp6: answers a request" "$CLIENT" -q "[::1]:$PORT"
	stop "$p"; rm -f "$R"/*
else
	skip "tcp6: no IPv6 on this machine"
fi
retry_port 0.0.0.0 'start -p "$PORT" -b 7 -- "$PROBE" --report "$R"'
p=$(first_report "$R")
expect_eq "tcp: default address 0.0.0.0" "0.0.0.0:$PORT" "$(rget "$R" "$p" fd0_addr)"
if have ss; then
	expect_eq "-b 7 reaches listen() (ss Send-Q)" 7 "$(ss -ltnH "sport = :$PORT" | awk '{ print $3 }' | head -n 1)"
else
	skip "-b reaching listen() (ss not installed)"
fi
stop "$p"; rm -f "$R"/*

# --- Socket mode and owner.
( umask 077; "$SPAWN" -s "$S" -M 0666 -- "$PROBE" --report "$R" >/dev/null 2>&1 )
p=$(first_report "$R")
expect_eq "-M 0666 is exact whatever the umask" 666 "$(stat -c %a "$S")"
stop "$p"; rm -f "$S" "$R"/*
( umask 002; "$SPAWN" -s "$S" -- "$PROBE" --report "$R" >/dev/null 2>&1 )
p=$(first_report "$R")
expect_eq "default mode under umask 002 is 0660" 660 "$(stat -c %a "$S")"
stop "$p"; rm -f "$S" "$R"/*

# --- Environment: -C, and systemd variables never passed on.
start -s "$S" -C 4 -- "$PROBE" --report "$R"
p=$(first_report "$R")
expect_eq "-C 4 sets PHP_FCGI_CHILDREN" 4 "$(rget "$R" "$p" env.PHP_FCGI_CHILDREN)"
stop "$p"; rm -f "$S" "$R"/*
LISTEN_PID=1 LISTEN_FDS=1 LISTEN_FDNAMES=x NOTIFY_SOCKET=/nonexistent PHP_FCGI_CHILDREN=9 \
	"$SPAWN" -s "$S" -- "$PROBE" --report "$R" >/dev/null 2>&1
p=$(first_report "$R")
expect_eq "LISTEN_* and NOTIFY_SOCKET are not passed to children" "" "$(grep -E '^env\.(LISTEN_|NOTIFY_SOCKET)' "$R/$p.report")"
expect_eq "PHP_FCGI_CHILDREN is passed through without -C" 9 "$(rget "$R" "$p" env.PHP_FCGI_CHILDREN)"
stop "$p"; rm -f "$S" "$R"/*

# --- -d: the children's working directory.
mkdir -p "$T/work dir"
start -s "$S" -d "$T/work dir" -- "$PROBE" --report "$R"
p=$(first_report "$R")
expect_eq "-d sets the cwd" "$T/work dir" "$(rget "$R" "$p" cwd)"
expect_eq "-d: /proc agrees" "$T/work dir" "$(readlink /proc/$p/cwd)"
stop "$p"; rm -f "$S" "$R"/*

# --- -P never writes through a symlink; it replaces it atomically.
echo precious >"$T/target"
ln -s "$T/target" "$T/link.pid"
start -s "$S" -P "$T/link.pid" -- "$PROBE" --report "$R"
p=$(first_report "$R")
expect_eq "pid file: the symlink's target is untouched" precious "$(cat "$T/target")"
check "pid file: now a regular file" test -f "$T/link.pid" -a ! -L "$T/link.pid"
expect_eq "pid file: holds the child's pid" "$p" "$(cat "$T/link.pid")"
expect_eq "pid file: no temporary file left" "" "$(ls -a "$T" | grep '\.tmp$')"
stop "$p"; rm -f "$S" "$R"/*

# --- -n: exec in place, same pid, stdout/stderr inherited.
"$SPAWN" -n -s "$S" -P "$T/n.pid" -- "$PROBE" --report "$R" --print nofork >"$T/n.out" 2>"$T/n.err" &
npid=$!
track "$npid"
p=$(first_report "$R")
expect_eq "-n: the program runs with spawn's pid" "$npid" "$p"
expect_eq "-n: the pid file holds that pid" "$npid" "$(cat "$T/n.pid")"
expect_eq "-n: stdout is inherited" "$(readlink -f "$T/n.out")" "$(rget "$R" "$p" fd.1)"
expect_eq "-n: fds are 0 1 2 only" 0,1,2 "$(rget "$R" "$p" fds)"
expect_eq "-n: fd 0 is the socket" "unix $S" "$(rget "$R" "$p" fd0_family) $(rget "$R" "$p" fd0_addr)"
stop "$npid"; rm -f "$S" "$R"/*
run_spawn -n -s "$S" -- /nonexistent/prog
expect_eq "-n: program not found exits 127" 127 "$RC"
expect_eq "-n: message names it" "spawn: exec /nonexistent/prog: No such file or directory" "$ERR"
check "-n: the socket file is removed" sock_gone "$S"
run_spawn -n -s "$S" -- /etc/passwd
expect_eq "-n: not executable exits 126" 126 "$RC"
run_spawn -n -s "$S" -- no-such-program-anywhere
expect_eq "-n: not in PATH exits 127" 127 "$RC"
expect_eq "-n: not in PATH message" "spawn: exec no-such-program-anywhere: not found in PATH" "$ERR"

# --- -f: the deprecated shell command.
start -s "$S" -f "$PROBE --report $R -- from-shell"
p=$(first_report "$R")
expect_eq "-f: runs the command through sh" "from-shell" "$(rget "$R" "$p" arg.4)"
expect_eq "-f: the shell exec'd it: the probe has the child's pid" "spawn: child spawned successfully: PID: $p" "$OUT"
stop "$p"; rm -f "$S" "$R"/*

# --- Start-up verification: every child, all or nothing.
start -s "$S" -F 3 --min-uptime 10000 -P "$T/fail.pid" -- "$PROBE" --report "$R" --exit 3
expect_eq "dying children: exit 1" 1 "$RC"
expect_match "dying children: names pid and status" "^spawn: child [0-9]+ exited with status 3 during start-up" "$ERR"
expect_eq "dying children: nothing on stdout" "" "$OUT"
check "dying children: socket file removed" sock_gone "$S"
check "dying children: no pid file" test ! -e "$T/fail.pid"
expect_eq "dying children: no temporary pid file" "" "$(ls -a "$T" | grep '\.tmp$')"
rm -f "$R"/*
# They ignore TERM from the start, so none is stopped before it fails.
start -s "$S" -F 3 --min-uptime 3000 -f "sh -c 'trap \"\" TERM; sleep 0.3; exit 1'"
expect_eq "three children fail: one line for each" 3 "$(printf '%s\n' "$ERR" | grep -c '^spawn: child [0-9]* exited with status 1 during start-up$')"

# One child of three fails: the two others must be stopped.
mkdir -p "$T/once"
start -s "$S" -F 3 --min-uptime 10000 -f "sh -c 'mkdir $T/once/x 2>/dev/null && exit 4; exec $PROBE --report $R'"
expect_eq "one of three fails: exit 1" 1 "$RC"
expect_match "one of three fails: reports status 4" "exited with status 4" "$ERR"
wait_until 5 nothing_running "$R"
check "one of three fails: the others were stopped" nothing_running "$R"
check "one of three fails: socket removed" sock_gone "$S"
rm -rf "$R"/* "$T/once"/*

start -s "$S" -F 2 --min-uptime 10000 -- "$PROBE" --report "$R" --raise 9
expect_match "killed child: reported with its signal" "killed by signal 9 \(SIGKILL\)" "$ERR"
expect_eq "killed child: exit 1" 1 "$RC"
rm -f "$R"/*

start -s "$S" --min-uptime 100 -- "$PROBE" --report "$R" --exit-after 400 0
expect_eq "outlives --min-uptime: counts as started" 0 "$RC"
rm -f "$S" "$R"/*
start -s "$S" --min-uptime 5000 -- "$PROBE" --report "$R" --exit-after 200 0
expect_eq "dies within --min-uptime 5000: start fails" 1 "$RC"
check "dies within --min-uptime: socket removed" sock_gone "$S"
rm -f "$R"/*

start -s "$S" -F 2 -- /nonexistent/prog
expect_eq "exec failure: exit 1" 1 "$RC"
expect_match "exec failure: one line per child, naming the path" "^spawn: child [0-9]+: exec /nonexistent/prog: No such file or directory$" "$ERR"
expect_eq "exec failure: two lines" 2 "$(printf '%s\n' "$ERR" | grep -c 'exec /nonexistent/prog')"
check "exec failure: socket removed" sock_gone "$S"

start -s "$S" -d /nonexistent-dir -- "$PROBE"
expect_eq "chdir failure: exit 1" 1 "$RC"
expect_match "chdir failure: message" "chdir /nonexistent-dir: No such file or directory" "$ERR"

# --- What is at the socket path.
echo data >"$T/file"
run_spawn -s "$T/file" -- "$PROBE"
expect_eq "regular file at path: exit 1" 1 "$RC"
expect_eq "regular file at path: message" "spawn: socket $T/file: exists and is not a socket" "$ERR"
expect_eq "regular file at path: untouched" data "$(cat "$T/file")"
mkdir "$T/dir"
run_spawn -s "$T/dir" -- "$PROBE"
expect_eq "directory at path: exit 1" 1 "$RC"
check "directory at path: untouched" test -d "$T/dir"
ln -s "$T/file" "$T/symlink.sock"
run_spawn -s "$T/symlink.sock" -- "$PROBE"
expect_eq "symlink at path: exit 1" 1 "$RC"
check "symlink at path: untouched" test -L "$T/symlink.sock"
# A stale socket (nobody listening) is replaced.
start -s "$S" -- "$PROBE" --report "$R"
p=$(first_report "$R")
stop "$p"
check "stale: the socket file outlives its server" test -S "$S"
rm -f "$R"/*
start -s "$S" -- "$PROBE" --report "$R"
expect_eq "stale socket is replaced: exit 0" 0 "$RC"
check "stale socket: new server answers" "$CLIENT" -q "$S"
stop $(report_pids "$R"); rm -f "$S" "$R"/*

# --- Bad input: one line naming the value, exit 2, nothing started or left.
bad 'spawn: children "0": too small (1..4096)' -s "$S" -F 0 -- "$PROBE" --report "$R"
bad 'spawn: children "4097": too large (1..4096)' -s "$S" -F 4097 -- "$PROBE" --report "$R"
bad 'spawn: children "2x": not a number (1..4096)' -s "$S" -F 2x -- "$PROBE" --report "$R"
bad 'spawn: children "-1": too small (1..4096)' -s "$S" -F -1 -- "$PROBE" --report "$R"
bad 'spawn: port "0": too small (1..65535)' -p 0 -- "$PROBE" --report "$R"
bad 'spawn: port "70000": too large (1..65535)' -p 70000 -- "$PROBE" --report "$R"
bad 'spawn: port "http": not a number (1..65535)' -p http -- "$PROBE" --report "$R"
bad 'spawn: socket-mode "0999": not an octal mode (0..0777)' -s "$S" -M 0999 -- "$PROBE" --report "$R"
bad 'spawn: backlog "0": too small (1..65535)' -s "$S" -b 0 -- "$PROBE" --report "$R"
bad 'spawn: php-children "many": not a number (0..4096)' -s "$S" -C many -- "$PROBE" --report "$R"
bad 'spawn: min-uptime "-5": too small (0..3600000)' -s "$S" --min-uptime -5 -- "$PROBE" --report "$R"
bad 'spawn: address "300.1.1.1": not an IPv4 or IPv6 address' -a 300.1.1.1 -p 9000 -- "$PROBE" --report "$R"
bad 'spawn: unknown option -Z' -s "$S" -Z -- "$PROBE" --report "$R"
bad 'spawn: unknown option --sock' --sock "$S" -- "$PROBE" --report "$R"
bad 'spawn: option -s needs a value' -s
bad 'spawn: -s and -p are exclusive' -s "$S" -p 9000 -- "$PROBE" --report "$R"
bad 'spawn: -a needs -p' -a 127.0.0.1 -s "$S" -- "$PROBE" --report "$R"
bad 'spawn: -M needs -s' -p 9000 -M 0600 -- "$PROBE" --report "$R"
bad 'spawn: -S needs -c' -s "$S" -S -- "$PROBE" --report "$R"
bad 'spawn: no program given' -s "$S"
bad 'spawn: no socket given: use -s, -p or --fd' -- "$PROBE" --report "$R"
bad 'spawn: -n starts one process: -F is not allowed' -n -F 2 -s "$S" -- "$PROBE" --report "$R"
bad 'spawn: -f and a program are exclusive' -s "$S" -f "true" -- "$PROBE"
bad 'spawn: user "no-such-user-xyz": no such user' -s "$S" -u no-such-user-xyz -- "$PROBE" --report "$R"
bad 'spawn: group "no-such-group-xyz": no such group' -s "$S" -u nobody -g no-such-group-xyz -- "$PROBE" --report "$R"
bad 'spawn: user "root": will not run children as root' -s "$S" -u root -- "$PROBE" --report "$R"
bad 'spawn: user "0": will not run children as root' -s "$S" -u 0 -- "$PROBE" --report "$R"
bad 'spawn: group "root": will not run children with group root' -s "$S" -u nobody -g root -- "$PROBE" --report "$R"
bad 'spawn: user "54321": no passwd entry, so -g is needed' -s "$S" -u 54321 -- "$PROBE" --report "$R"
bad 'spawn: socket-user "nobody-xyz": no such user' -s "$S" -U nobody-xyz -- "$PROBE" --report "$R"

# --- --help and --version, exactly.
run_spawn --help
expect_eq "--help: exit 0" 0 "$RC"
expect_eq "--help: text" "$(cat "$TOP/tests/help.expected")" "$OUT"
run_spawn -h
expect_eq "-h: same text" "$(cat "$TOP/tests/help.expected")" "$OUT"
run_spawn -'?'
expect_eq "-? (spawn-fcgi's help flag): same text" "$(cat "$TOP/tests/help.expected")" "$OUT"
run_spawn -v
expect_match "-v: version line" "^spawn [0-9]+\.[0-9]+\.[0-9]+$" "$OUT"
expect_eq "-v: exit 0" 0 "$RC"

# --- The in-use check never hangs, even on a socket whose backlog is full.
if have python3; then
	python3 - "$T/full.sock" "$T/full.ready" <<'PY' &
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(sys.argv[1]); s.listen(0)
held = []
for _ in range(8):
    c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM); c.setblocking(False)
    try: c.connect(sys.argv[1])
    except OSError: pass
    held.append(c)
open(sys.argv[2], "w").close()
time.sleep(20)
PY
	fp=$!
	track "$fp"
	wait_until 5 test -e "$T/full.ready"
	run_spawn -s "$T/full.sock" -- "$PROBE" --report "$R"
	expect_eq "full backlog: in use, exit 1" 1 "$RC"
	expect_eq "full backlog: one line" "spawn: socket $T/full.sock: already in use" "$ERR"
	kill "$fp"
else
	skip "in-use check on a full backlog (python3 not installed)"
fi

# --- --min-uptime 0: the exec is the whole check.
start -s "$S" -F 8 --min-uptime 0 -- /bin/true
expect_eq "--min-uptime 0: children that exec'd count as started, exit 0" 0 "$RC"
expect_eq "--min-uptime 0: eight lines" 8 "$(printf '%s\n' "$OUT" | grep -c 'spawned successfully')"
rm -f "$S"

# --- A failed start says where the children's output went.
start -s "$S" --min-uptime 10000 -- "$PROBE" --exit 3
expect_eq "failed start: a hint about /dev/null" "spawn: start failed; the children's output went to /dev/null: rerun with -w or --output FILE to see it" "$(printf '%s\n' "$ERR" | tail -n 1)"

# --- --probe with an address but no port.
run_spawn --probe 127.0.0.1
expect_eq "--probe without a port: exit 2" 2 "$RC"
expect_eq "--probe without a port: message" 'spawn: probe "127.0.0.1": an IP address needs a port: HOST:PORT' "$ERR"

# --- -P that cannot be written: nothing starts, nothing is left.
run_spawn -s "$S" -P "$T/no-such-dir/x.pid" -- "$PROBE" --report "$R"
expect_eq "-P in a missing directory: exit 1" 1 "$RC"
expect_eq "-P in a missing directory: message" "spawn: pid-file $T/no-such-dir/x.pid: No such file or directory" "$ERR"
check "-P in a missing directory: nothing started, no socket" test "$(count_reports "$R")" -eq 0 -a ! -e "$S"
R=$T/r-pidbad
mkdir -p "$R"
bad "spawn: pid-file \"$T/\": not a file name" -s "$S" -P "$T/" -- "$PROBE" --report "$R"
