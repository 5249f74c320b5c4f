# Integration (issue 4): inherited sockets (systemd socket activation with
# the real systemd-socket-activate, --fd N, inetd style), --check, --probe
# against the probe and real FastCGI servers, and what the children really
# got from -e/-E, --limit, --umask, --nice, --no-new-privs and --output, as
# their reports and /proc/PID/{environ,limits,status,stat} show it.
. "$(dirname "$0")/lib.sh"

R=$T/r
mkdir -p "$R"
chmod 1777 "$R"   # children run as nobody in some tests
umask 022
S=$T/s.sock
# Ports of this file: loopback only, each picked by the kernel for port 0
# (free_port, retry_port, held_port in lib.sh; withfd.py binds port 0
# itself).
unset LISTEN_PID LISTEN_FDS LISTEN_FDNAMES NOTIFY_SOCKET

# start ARGS...: run spawn (fork mode); track the children it printed.
start() {
	run_spawn "$@"
	for _p in $(printf '%s\n' "$OUT" | sed -n 's/.*PID: //p'); do track "$_p"; done
}
# Predicates for wait_until: it runs its command again on every poll, so
# what changes must be computed inside the command, not in its arguments.
reports_ge() { [ "$(count_reports "$1")" -ge "$2" ]; }
lines_ge() { [ "$(grep -c . "$1" 2>/dev/null)" -ge "$2" ]; }
printed_pids() { printf '%s\n' "$OUT" | sed -n 's/.*PID: //p'; }
# reset: stop whatever reported in $R, remove the reports and the socket.
reset() {
	_ps=$(report_pids "$R")
	[ -z "$_ps" ] || stop $_ps
	rm -rf "$R"/* "$R"/.[!.]*
	rm -f "$S"
}
# env_of PID: the environment of a live process, sorted, one per line.
env_of() { tr '\0' '\n' <"/proc/$1/environ" | sort; }
# env_of_report DIR PID: the env.* lines of a probe report as NAME=VALUE.
env_of_report() { sed -n 's/^env\.//p' "$1/$2.report" | sort; }
# plimit PID NAME: soft:hard of one line of /proc/PID/limits.
plimit() { sed -n "s/^$2  *//p" "/proc/$1/limits" | awk '{ print $1 ":" $2 }'; }
# status_of PID FIELD: one field of /proc/PID/status.
status_of() { sed -n "s/^$2:[[:space:]]*//p" "/proc/$1/status"; }
# stat_nice PID: field 19 of /proc/PID/stat.
stat_nice() { sed 's/.*) //' "/proc/$1/stat" | awk '{ print $17 }'; }
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
# spawn_lines FILE: spawn's own lines in a file shared with another program.
spawn_lines() { grep '^spawn: ' "$1"; }
# wait_rc PID: WRC = the exit status of a background job known to be dead
# (not in a command substitution: a subshell cannot wait for it).
wait_rc() { wait "$1"; WRC=$?; }

# withfd KIND TARGET FD ARGS...: python3 opens a socket (or file) of KIND,
# puts it on FD and execs spawn ARGS with it; runs to completion. For tcp,
# TARGET is a file: the socket is bound to a port the kernel picks
# (127.0.0.1, port 0), whose number goes into that file, so no other
# process can take the port in between.
cat >"$T/withfd.py" <<'EOF'
import os, socket, sys
kind, target, fd = sys.argv[1], sys.argv[2], int(sys.argv[3])
argv = sys.argv[4:]
if kind == "unix":
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(target)
    s.listen(16)
    s.setblocking(False)   # spawn must hand it on blocking
elif kind == "tcp":
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", 0))
    s.listen(16)
    s.setblocking(False)
    with open(target + ".tmp", "w") as f:
        f.write("%d\n" % s.getsockname()[1])
    os.rename(target + ".tmp", target)
elif kind == "bound":      # a stream socket that was never listen()ed
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(target)
elif kind == "dgram":
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(target)
else:
    s = open(target, "rb")
os.dup2(s.fileno(), fd)
os.set_inheritable(fd, True)
os.execv(argv[0], argv)
EOF
run_withfd() {
	_k=$1 _t=$2 _f=$3
	shift 3
	python3 "$T/withfd.py" "$_k" "$_t" "$_f" "$SPAWN" "$@" >"$T/.out" 2>"$T/.err" </dev/null
	RC=$?
	OUT=$(cat "$T/.out")
	ERR=$(cat "$T/.err")
	for _p in $(printed_pids); do track "$_p"; done
}

# ---------------------------------------------------------------------------
# systemd socket activation, with the real systemd-socket-activate. It binds,
# waits for the first connection, then execs spawn (same pid, so LISTEN_PID
# matches). The first request is the trigger, and the child must answer it.
# sd_start NAME ARGS...: systemd-socket-activate ARGS in the background;
# its output in $T/NAME.out and $T/NAME.err; SDPID.
sd_start() {
	_n=$1
	shift
	systemd-socket-activate "$@" >"$T/$_n.out" 2>"$T/$_n.err" &
	SDPID=$!
	track "$SDPID"
}
# sd_ready NAME N: it listens on N sockets (false at once when it has
# ended).
sd_listening() { [ "$(grep -c '^Listening on' "$T/$1.err")" -ge "$2" ]; }
sd_ready() {
	_sdn=$1 _sdc=$2
	wait_for 5 'sd_listening "$_sdn" "$_sdc" || dead "$SDPID"'
	sd_listening "$_sdn" "$_sdc"
}
# sd_started NAME: spawn has verified its child and said so (a SIGTERM
# before that is a stop during start-up, which fails the start).
sd_started() { wait_until 5 grep -q '^spawn: child spawned successfully' "$T/$1.out"; }

if ! have systemd-socket-activate; then
	skip "socket activation (systemd-socket-activate not installed)"
else
	A=$T/act-a.sock
	B=$T/act-b.sock
	R1=$T/r1
	mkdir -p "$R1"
	chmod 1777 "$R1"
	user_args=
	is_root && user_args="-u nobody"
	sd_start sd1 -l "$A" "$SPAWN" -w $user_args -- "$PROBE" --report "$R1"
	sd_ready sd1 1
	mode_before=$(stat -c '%a %U %G' "$A")
	check "activation (unix): the triggering request is answered by the child" "$CLIENT" -q -t 5000 "$A"
	p=$(first_report "$R1")
	sd_started sd1
	expect_eq "activation (unix): fd 0 is the activated socket" "unix $A" "$(rget "$R1" "$p" fd0_family) $(rget "$R1" "$p" fd0_addr)"
	expect_eq "activation (unix): fd 0 is listening" 1 "$(rget "$R1" "$p" fd0_listening)"
	expect_eq "activation (unix): fd 0 is blocking" 0 "$(rget "$R1" "$p" fd0_nonblock)"
	expect_eq "activation (unix): the child has fds 0 1 2 only" 0,1,2 "$(rget "$R1" "$p" fds)"
	expect_eq "activation (unix): the child's parent is spawn (exec'd in place)" "$SDPID" "$(rget "$R1" "$p" ppid)"
	expect_eq "activation (unix): no LISTEN_* in the child's report" "" "$(grep -E '^env\.LISTEN_' "$R1/$p.report")"
	expect_eq "activation (unix): no LISTEN_* in /proc/$p/environ" "" "$(env_of "$p" | grep '^LISTEN_')"
	expect_eq "activation (unix): spawn says so on stdout" "spawn: child spawned successfully: PID: $p" "$(cat "$T/sd1.out")"
	expect_eq "activation (unix): socket mode and owner untouched" "$mode_before" "$(stat -c '%a %U %G' "$A")"
	kill -TERM "$SDPID"
	wait_until 12 dead "$SDPID"
	check "activation (unix): SIGTERM stops spawn" dead "$SDPID"
	check "activation (unix): and its child" dead "$p"
	wait_rc "$SDPID"
	expect_eq "activation (unix): spawn exits 0 after a clean stop" 0 "$WRC"
	check "activation (unix): the inherited socket file is never unlinked" test -S "$A"
	rm -rf "$R1"/* "$A"

	retry_port 127.0.0.1 'sd_start sd2 -l "127.0.0.1:$PORT" "$SPAWN" -w -- "$PROBE" --report "$R1"; sd_ready sd2 1' \
	    'dead "$SDPID" && addr_in_use -f "$T/sd2.err"'
	check "activation (tcp): the triggering request is answered" "$CLIENT" -q -t 5000 "127.0.0.1:$PORT"
	p=$(first_report "$R1")
	sd_started sd2
	expect_eq "activation (tcp): fd 0 is 127.0.0.1:$PORT" "inet 127.0.0.1:$PORT" "$(rget "$R1" "$p" fd0_family) $(rget "$R1" "$p" fd0_addr)"
	expect_eq "activation (tcp): fds 0 1 2 only" 0,1,2 "$(rget "$R1" "$p" fds)"
	expect_eq "activation (tcp): no LISTEN_* in /proc/$p/environ" "" "$(env_of "$p" | grep '^LISTEN_')"
	stop "$SDPID"
	wait_rc "$SDPID"
	expect_eq "activation (tcp): exit 0 after SIGTERM" 0 "$WRC"
	rm -rf "$R1"/*

	# Two sockets, named: --fd-name picks one, the other is closed.
	for pick in b a; do
		[ "$pick" = a ] && want=$A || want=$B
		sd_start sd3$pick -l "$A" -l "$B" --fdname=a:b "$SPAWN" -w --fd-name "$pick" -- "$PROBE" --report "$R1"
		sd_ready sd3$pick 2
		check "--fd-name $pick: a request on its socket is answered" "$CLIENT" -q -t 5000 "$want"
		p=$(first_report "$R1")
		sd_started sd3$pick
		expect_eq "--fd-name $pick: fd 0 is the socket named $pick" "unix $want" "$(rget "$R1" "$p" fd0_family) $(rget "$R1" "$p" fd0_addr)"
		expect_eq "--fd-name $pick: the other socket did not reach the child" 0,1,2 "$(rget "$R1" "$p" fds)"
		expect_eq "--fd-name $pick: no LISTEN_FDNAMES in the child" "" "$(env_of "$p" | grep '^LISTEN_')"
		check "--fd-name $pick: spawn holds only its own socket" test "$(ls -l /proc/$SDPID/fd 2>/dev/null | grep -c 'socket:')" -eq 1
		stop "$SDPID"
		wait_rc "$SDPID"
		expect_eq "--fd-name $pick: exit 0 after SIGTERM" 0 "$WRC"
		check "--fd-name $pick: neither socket file is unlinked" test -S "$A" -a -S "$B"
		rm -rf "$R1"/* "$A" "$B"
	done

	# Errors with an activated socket: exit 2, one line, nothing started.
	# sd_fail NAME MESSAGE SPAWN-ARGS...
	sd_fail() {
		_n=$1 _want=$2
		shift 2
		sd_start "$_n" -l "$A" "$SPAWN" "$@"
		sd_ready "$_n" 1
		"$CLIENT" -q -t 3000 "$A" 2>/dev/null
		wait_until 5 dead "$SDPID"
		wait_rc "$SDPID"
		_l=$(label "$@")
		expect_eq "activation [$_l]: exit 2" 2 "$WRC"
		expect_eq "activation [$_l]: one line" "$_want" "$(spawn_lines "$T/$_n.err")"
		expect_eq "activation [$_l]: nothing on stdout" "" "$(cat "$T/$_n.out")"
		check "activation [$_l]: nothing started" test "$(count_reports "$R1")" -eq 0
		check "activation [$_l]: the socket file is left alone" test -S "$A"
		rm -f "$A"
	}
	sd_fail sd4 'spawn: fd-name "c": no such socket in LISTEN_FDNAMES ""' -w --fd-name c -- "$PROBE" --report "$R1"
	sd_fail sd5 'spawn: -b does not apply to a socket passed by systemd' -w -b 16 -- "$PROBE" --report "$R1"
	sd_fail sd6 'spawn: -M needs -s' -w -M 0600 -- "$PROBE" --report "$R1"
	sd_fail sd7 'spawn: -U needs -s' -w -U nobody -- "$PROBE" --report "$R1"
	sd_fail sd8 'spawn: -G needs -s' -w -G nogroup -- "$PROBE" --report "$R1"
	# With names given, the message lists them.
	sd_start sd9 -l "$A" -l "$B" --fdname=a:b "$SPAWN" -w --fd-name c -- "$PROBE" --report "$R1"
	sd_ready sd9 2
	"$CLIENT" -q -t 3000 "$A" 2>/dev/null
	wait_until 5 dead "$SDPID"
	wait_rc "$SDPID"
	expect_eq "--fd-name c of a:b: exit 2" 2 "$WRC"
	expect_eq "--fd-name c of a:b: one line naming the names" 'spawn: fd-name "c": no such socket in LISTEN_FDNAMES "a:b"' "$(spawn_lines "$T/sd9.err")"
	check "--fd-name c of a:b: both socket files left alone" test -S "$A" -a -S "$B"
	rm -f "$A" "$B"

	# A failed start never unlinks the inherited socket.
	sd_start sd10 -l "$A" "$SPAWN" -w --min-uptime 10000 -- "$PROBE" --report "$R1" --exit 3
	sd_ready sd10 1
	"$CLIENT" -q -t 3000 "$A" 2>/dev/null
	wait_until 5 dead "$SDPID"
	wait_rc "$SDPID"
	expect_eq "activation, child exits 3 at start: exit 1" 1 "$WRC"
	expect_match "activation, child exits 3 at start: says so" "^spawn: child [0-9]+ exited with status 3" "$(spawn_lines "$T/sd10.err")"
	check "activation, failed start: the socket file is still there" test -S "$A"
	rm -rf "$A" "$R1"/*
fi

# ---------------------------------------------------------------------------
# --fd N: a socket the caller opened.
if ! have python3; then
	skip "--fd N with a socket the test opened (python3 not installed)"
else
	F=$T/fd.sock
	run_withfd unix "$F" 5 --fd 5 -F 2 -- "$PROBE" --report "$R"
	expect_eq "--fd 5: exit 0" 0 "$RC"
	expect_eq "--fd 5: two children" 2 "$(printed_pids | wc -l)"
	wait_until 5 reports_ge "$R" 2
	for p in $(report_pids "$R"); do
		expect_eq "--fd 5: child $p: fd 0 is the caller's socket" "unix $F" "$(rget "$R" "$p" fd0_family) $(rget "$R" "$p" fd0_addr)"
		expect_eq "--fd 5: child $p: listening" 1 "$(rget "$R" "$p" fd0_listening)"
		expect_eq "--fd 5: child $p: made blocking (the caller's was not)" 0 "$(rget "$R" "$p" fd0_nonblock)"
		expect_eq "--fd 5: child $p: fd 5 itself did not reach it" 0,1,2 "$(rget "$R" "$p" fds)"
	done
	check "--fd 5: answers a request" "$CLIENT" -q "$F"
	reset
	check "--fd 5: the caller's socket file is never unlinked" test -S "$F"
	rm -f "$F"

	# -w and SIGTERM: still never unlinked.
	python3 "$T/withfd.py" unix "$F" 5 "$SPAWN" --fd 5 -w -- "$PROBE" --report "$R" >"$T/fdw.out" 2>"$T/fdw.err" </dev/null &
	fpid=$!
	track "$fpid"
	p=$(first_report "$R")
	wait_until 5 grep -q '^spawn: child spawned successfully' "$T/fdw.out"
	check "--fd 5 -w: a request is answered" "$CLIENT" -q "$F"
	stop "$fpid"
	wait_rc "$fpid"
	expect_eq "--fd 5 -w: exit 0 after SIGTERM" 0 "$WRC"
	check "--fd 5 -w: the child is stopped" dead "$p"
	check "--fd 5 -w: the socket file is still there after spawn exits" test -S "$F"
	rm -rf "$F" "$R"/*

	# --check works through an inherited socket too.
	run_withfd unix "$F" 5 --fd 5 --check -- "$PROBE" --report "$R"
	expect_eq "--fd 5 --check: exit 0" 0 "$RC"
	expect_eq "--fd 5 --check: nothing on stderr" "" "$ERR"
	reset
	rm -f "$F"

	# A failed start does not unlink it either.
	run_withfd unix "$F" 5 --fd 5 --min-uptime 10000 -- "$PROBE" --report "$R" --exit 4
	expect_eq "--fd 5, child exits 4: exit 1" 1 "$RC"
	check "--fd 5, failed start: socket file still there" test -S "$F"
	rm -rf "$F" "$R"/*

	# inetd style: the socket on fd 0.
	run_withfd tcp "$T/fd0.port" 0 --fd 0 -- "$PROBE" --report "$R"
	PORT=$(cat "$T/fd0.port")
	expect_eq "--fd 0: exit 0" 0 "$RC"
	p=$(first_report "$R")
	expect_eq "--fd 0: the child's fd 0 is the socket" "inet 127.0.0.1:$PORT" "$(rget "$R" "$p" fd0_family) $(rget "$R" "$p" fd0_addr)"
	expect_eq "--fd 0: fds 0 1 2, 1 and 2 /dev/null" "0,1,2 /dev/null /dev/null" "$(rget "$R" "$p" fds) $(rget "$R" "$p" fd.1) $(rget "$R" "$p" fd.2)"
	check "--fd 0: answers a request" "$CLIENT" -q "127.0.0.1:$PORT"
	reset

	# A socket passed on fd 1 must not become the children's stdout.
	python3 "$T/withfd.py" tcp "$T/fd1.port" 1 "$SPAWN" --fd 1 -w -- "$PROBE" --report "$R" --sleep 2>"$T/fd1.err" &
	w=$!
	track "$w"
	p=$(first_report "$R")
	PORT=$(cat "$T/fd1.port")
	expect_eq "--fd 1 -w: the child's fd 0 is the socket" "inet 127.0.0.1:$PORT" "$(rget "$R" "$p" fd0_family) $(rget "$R" "$p" fd0_addr)"
	expect_eq "--fd 1 -w: the child's stdout is not the socket" /dev/null "$(rget "$R" "$p" fd.1)"
	expect_eq "--fd 1 -w: fds 0 1 2 only" 0,1,2 "$(rget "$R" "$p" fds)"
	kill "$w"
	wait_until 5 dead "$w"
	reset
fi

# What is not a listening stream socket: exit 2, one line, nothing started.
fd_bad() {
	_want=$1
	shift
	expect_eq "--fd [$*]: exit 2" 2 "$RC"
	expect_eq "--fd [$*]: message" "$_want" "$ERR"
	expect_eq "--fd [$*]: nothing on stdout" "" "$OUT"
	check "--fd [$*]: nothing started" test "$(count_reports "$R")" -eq 0
}
run_spawn --fd 9 -- "$PROBE" --report "$R" 9>&-
fd_bad "spawn: fd 9: not open" 9 closed
if have python3; then
	echo data >"$T/plain"
	run_withfd file "$T/plain" 5 --fd 5 -- "$PROBE" --report "$R"
	fd_bad "spawn: fd 5: not a socket" 5 a regular file
	run_withfd bound "$T/bound.sock" 5 --fd 5 -- "$PROBE" --report "$R"
	fd_bad "spawn: fd 5: not a listening socket" 5 not listening
	check "--fd not listening: its socket file is left alone" test -S "$T/bound.sock"
	run_withfd dgram "$T/dgram.sock" 5 --fd 5 -- "$PROBE" --report "$R"
	fd_bad "spawn: fd 5: not a stream socket" 5 datagram
	run_withfd unix "$F" 5 --fd 5 -M 0600 -- "$PROBE" --report "$R"
	fd_bad "spawn: -M needs -s" 5 -M; rm -f "$F"
	run_withfd unix "$F" 5 --fd 5 -U nobody -- "$PROBE" --report "$R"
	fd_bad "spawn: -U needs -s" 5 -U; rm -f "$F"
	run_withfd unix "$F" 5 --fd 5 -G nogroup -- "$PROBE" --report "$R"
	fd_bad "spawn: -G needs -s" 5 -G; rm -f "$F"
	run_withfd unix "$F" 5 --fd 5 -b 10 -- "$PROBE" --report "$R"
	fd_bad "spawn: -b does not apply to an inherited socket (--fd)" 5 -b; rm -f "$F"
fi

# ---------------------------------------------------------------------------
# --check: FCGI_GET_VALUES through the socket once the children are up.
start -s "$S" -F 2 --check -- "$PROBE" --report "$R" --serve
expect_eq "--check, probe --serve: exit 0" 0 "$RC"
expect_eq "--check, probe --serve: both children printed" 2 "$(printed_pids | wc -l)"
expect_eq "--check, probe --serve: nothing on stderr" "" "$ERR"
reset

if have php-cgi; then
	start -s "$S" --check -- php-cgi
	expect_eq "--check, php-cgi: exit 0" 0 "$RC"
	expect_eq "--check, php-cgi: nothing on stderr" "" "$ERR"
	[ -z "$(printed_pids)" ] || stop $(printed_pids)
	rm -f "$S"
else
	skip "--check with php-cgi (php-cgi not installed)"
fi
if have fcgiwrap; then
	start -s "$S" --check --check-timeout 2000 -- fcgiwrap
	expect_eq "--check, fcgiwrap: exit 0" 0 "$RC"
	expect_eq "--check, fcgiwrap: nothing on stderr" "" "$ERR"
	[ -z "$(printed_pids)" ] || stop $(printed_pids)
	rm -f "$S"
else
	skip "--check with fcgiwrap (fcgiwrap not installed)"
fi

t0=$(now_ms)
start -s "$S" -F 2 -P "$T/check.pid" --check --check-timeout 500 -- "$PROBE" --report "$R" --silent
t1=$(now_ms)
expect_eq "--check, silent server: exit 1" 1 "$RC"
expect_eq "--check, silent server: one line naming the reason" "spawn: check: no answer within 500 ms" "$ERR"
expect_eq "--check, silent server: nothing on stdout" "" "$OUT"
wait_until 5 reports_ge "$R" 2
wait_until 5 nothing_running "$R"
check "--check, silent server: both children were started" test "$(count_reports "$R")" -eq 2
check "--check, silent server: and both stopped" nothing_running "$R"
check "--check, silent server: socket file removed" sock_gone "$S"
check "--check, silent server: no pid file" test ! -e "$T/check.pid"
check "--check, silent server: gave up within the timeout ($((t1 - t0)) ms)" test $((t1 - t0)) -lt 3000
reset

start -s "$S" --check --check-timeout 2000 -- "$PROBE" --report "$R" --garbage
expect_eq "--check, garbage server: exit 1" 1 "$RC"
expect_match "--check, garbage server: not FastCGI" "^spawn: check: not FastCGI" "$ERR"
expect_eq "--check, garbage server: one line" 1 "$(printf '%s\n' "$ERR" | wc -l)"
wait_until 5 nothing_running "$R"
check "--check, garbage server: child stopped" nothing_running "$R"
check "--check, garbage server: socket file removed" sock_gone "$S"
reset

# ---------------------------------------------------------------------------
# --probe ADDR against running servers.
VALUES='FCGI_MAX_CONNS=1
FCGI_MAX_REQS=1
FCGI_MPXS_CONNS=0'
has_values() { printf '%s\n' "$1" | grep -q '^FCGI_MAX_CONNS=[0-9][0-9]*$'; }

v6=no
grep -q '^00000000000000000000000000000001 ' /proc/net/if_inet6 2>/dev/null && v6=yes

start -s "$S" -- "$PROBE" --report "$R"
run_spawn --probe "$S"
expect_eq "--probe unix (probe): exit 0" 0 "$RC"
expect_eq "--probe unix (probe): the three values" "$VALUES" "$(printf '%s\n' "$OUT" | sort)"
expect_eq "--probe unix (probe): nothing on stderr" "" "$ERR"
reset
retry_port 127.0.0.1 'start -a 127.0.0.1 -p "$PORT" -- "$PROBE" --report "$R"'
P4=$PORT
run_spawn --probe "127.0.0.1:$P4"
expect_eq "--probe 127.0.0.1:PORT (probe): exit 0" 0 "$RC"
expect_eq "--probe 127.0.0.1:PORT (probe): the three values" "$VALUES" "$(printf '%s\n' "$OUT" | sort)"
run_spawn --probe "localhost:$P4"
expect_eq "--probe localhost:PORT (probe): exit 0" 0 "$RC"
reset
if [ "$v6" = yes ]; then
	retry_port ::1 'start -a ::1 -p "$PORT" -- "$PROBE" --report "$R"'
	P6=$PORT
	run_spawn --probe "[::1]:$P6"
	expect_eq "--probe [::1]:PORT (probe): exit 0" 0 "$RC"
	expect_eq "--probe [::1]:PORT (probe): the three values" "$VALUES" "$(printf '%s\n' "$OUT" | sort)"
	reset
else
	skip "--probe [::1]:PORT (no IPv6 loopback on this machine)"
fi

# probe_peer NAME ARGS...: start the peer on a unix path, 127.0.0.1 and
# [::1], and --probe each.
probe_peer() {
	_peer=$1
	shift
	_cmd=$*
	for _where in unix inet inet6; do
		case $_where in
		unix)
			start -s "$S" -- $_cmd
			_addr=$S ;;
		inet)
			retry_port 127.0.0.1 'start -a 127.0.0.1 -p "$PORT" -- $_cmd'
			_addr=127.0.0.1:$PORT ;;
		inet6)
			if [ "$v6" != yes ]; then
				skip "--probe $_peer on [::1] (no IPv6 loopback)"
				continue
			fi
			retry_port ::1 'start -a ::1 -p "$PORT" -- $_cmd'
			_addr="[::1]:$PORT" ;;
		esac
		_l=$(label "$_addr")
		expect_eq "$_peer on $_l: started" 0 "$RC"
		_pids=$(printed_pids)
		_t0=$(now_ms)
		run_spawn --probe "$_addr" --check-timeout 2000
		_t1=$(now_ms)
		expect_eq "--probe $_peer on $_l: exit 0" 0 "$RC"
		check "--probe $_peer on $_l: prints FCGI_MAX_CONNS=N" has_values "$OUT"
		expect_eq "--probe $_peer on $_l: nothing on stderr" "" "$ERR"
		echo "# --probe $_peer on $_l ($((_t1 - _t0)) ms, exit $RC): $(printf '%s' "$OUT$ERR" | tr '\n' ' ')"
		[ -z "$_pids" ] || stop $_pids
		rm -f "$S"
	done
}
if have php-cgi; then probe_peer php-cgi php-cgi; else skip "--probe php-cgi (php-cgi not installed)"; fi
if have fcgiwrap; then probe_peer fcgiwrap fcgiwrap; else skip "--probe fcgiwrap (fcgiwrap not installed)"; fi

# Nothing there: a port held bound (not listening) by a process of the
# test's, so that nobody can listen there meanwhile.
held_port
P_FREE=$HELD_PORT
run_spawn --probe "127.0.0.1:$P_FREE"
expect_eq "--probe, nothing on the port: exit 1" 1 "$RC"
expect_eq "--probe, nothing on the port: one line" "spawn: probe 127.0.0.1:$P_FREE: Connection refused" "$ERR"
expect_eq "--probe, nothing on the port: nothing on stdout" "" "$OUT"
kill "$HELD_PID"
run_spawn --probe "$T/none.sock"
expect_eq "--probe, no such path: exit 1" 1 "$RC"
expect_eq "--probe, no such path: one line" "spawn: probe $T/none.sock: No such file or directory" "$ERR"
start -s "$S" -- "$PROBE" --report "$R"
reset_keep_sock() { _ps=$(report_pids "$R"); [ -z "$_ps" ] || stop $_ps; rm -rf "$R"/*; }
reset_keep_sock
run_spawn --probe "$S"
expect_eq "--probe, stale socket file: exit 1" 1 "$RC"
expect_eq "--probe, stale socket file: one line" "spawn: probe $S: Connection refused" "$ERR"
rm -f "$S"

# A silent server: gives up at the timeout, not later.
start -s "$S" -- "$PROBE" --report "$R" --silent
t0=$(now_ms)
run_spawn --probe "$S" --check-timeout 700
t1=$(now_ms)
expect_eq "--probe, silent server: exit 1" 1 "$RC"
expect_eq "--probe, silent server: one line" "spawn: probe $S: no answer within 700 ms" "$ERR"
check "--probe, silent server: waited the timeout ($((t1 - t0)) ms >= 650)" test $((t1 - t0)) -ge 650
check "--probe, silent server: and no more ($((t1 - t0)) ms < 2000)" test $((t1 - t0)) -lt 2000
reset
start -s "$S" -- "$PROBE" --report "$R" --garbage
run_spawn --probe "$S" --check-timeout 2000
expect_eq "--probe, garbage server: exit 1" 1 "$RC"
expect_match "--probe, garbage server: not FastCGI" "^spawn: probe $S: not FastCGI" "$ERR"
expect_eq "--probe, garbage server: one line" 1 "$(printf '%s\n' "$ERR" | wc -l)"
expect_eq "--probe, garbage server: nothing on stdout" "" "$OUT"
reset

probe_bad() {
	_want=$1
	shift
	run_spawn "$@"
	_l=$(label "$@")
	expect_eq "--probe bad [$_l]: exit 2" 2 "$RC"
	expect_eq "--probe bad [$_l]: message" "$_want" "$ERR"
}
probe_bad 'spawn: probe "127.0.0.1:http": bad port (1..65535)' --probe 127.0.0.1:http
probe_bad 'spawn: probe "127.0.0.1:0": bad port (1..65535)' --probe 127.0.0.1:0
probe_bad 'spawn: probe "::1:9000": an IPv6 address needs brackets: [ADDR]:PORT' --probe ::1:9000
probe_bad 'spawn: probe "300.1.1.1:80": not an IPv4 or IPv6 address' --probe 300.1.1.1:80
probe_bad 'spawn: probe "[1.2.3.4]:80": not an IPv6 address' --probe '[1.2.3.4]:80'
probe_bad 'spawn: probe "": empty address' --probe ''
probe_bad 'spawn: --probe takes only --check-timeout' --probe "$S" -s "$S"
probe_bad 'spawn: --probe takes only --check-timeout' --probe "$S" -- "$PROBE"
probe_bad 'spawn: --probe takes only --check-timeout' --probe "$S" --check
probe_bad 'spawn: check-timeout "0": too small (1..600000)' --probe "$S" --check-timeout 0
probe_bad 'spawn: option --probe needs a value' --probe

# ---------------------------------------------------------------------------
# -e / -E: the children's environment, as they see it and as /proc has it.
export SPAWN_T_KEEP=kept SPAWN_T_OVER=old
unset SPAWN_T_UNSET
start -s "$S" -e SPAWN_T_NEW=new -e SPAWN_T_KEEP -e SPAWN_T_OVER=new2 -e SPAWN_T_UNSET -e 'SPAWN_T_EQ=a=b' -e SPAWN_T_EMPTY= -- "$PROBE" --report "$R"
p=$(first_report "$R")
expect_eq "-e NAME=VALUE: set" new "$(rget "$R" "$p" env.SPAWN_T_NEW)"
expect_eq "-e NAME: passed through" kept "$(rget "$R" "$p" env.SPAWN_T_KEEP)"
expect_eq "-e NAME=VALUE: overrides the inherited value" new2 "$(rget "$R" "$p" env.SPAWN_T_OVER)"
expect_eq "-e NAME=VALUE: only once in /proc/$p/environ" "SPAWN_T_OVER=new2" "$(env_of "$p" | grep '^SPAWN_T_OVER=')"
expect_eq "-e NAME of an unset variable: not set" "" "$(env_of "$p" | grep '^SPAWN_T_UNSET')"
expect_eq "-e NAME=a=b: the value keeps its =" "a=b" "$(rget "$R" "$p" env.SPAWN_T_EQ)"
expect_eq "-e NAME=: set, empty" "SPAWN_T_EMPTY=" "$(env_of "$p" | grep '^SPAWN_T_EMPTY')"
expect_eq "without -E: the rest of the environment is inherited" "$PATH" "$(rget "$R" "$p" env.PATH)"
expect_eq "report and /proc/$p/environ agree" "$(env_of_report "$R" "$p")" "$(env_of "$p")"
reset

start -s "$S" -E -e A=1 -e SPAWN_T_KEEP -e SPAWN_T_UNSET -- "$PROBE" --report "$R"
p=$(first_report "$R")
expect_eq "-E: exactly the -e ones (report)" "A=1
SPAWN_T_KEEP=kept" "$(env_of_report "$R" "$p")"
expect_eq "-E: exactly the -e ones (/proc/$p/environ)" "A=1
SPAWN_T_KEEP=kept" "$(env_of "$p")"
reset
start -s "$S" -E -C 3 -e A=1 -- "$PROBE" --report "$R"
p=$(first_report "$R")
expect_eq "-E -C 3: the -e ones and PHP_FCGI_CHILDREN" "A=1
PHP_FCGI_CHILDREN=3" "$(env_of "$p")"
reset
env LISTEN_PID=1 LISTEN_FDS=1 NOTIFY_SOCKET=/x SPAWN_T_X=1 "$SPAWN" -s "$S" -E -- "$PROBE" --report "$R" >/dev/null 2>&1
p=$(first_report "$R")
expect_eq "-E alone: an empty environment" "" "$(env_of "$p")"
expect_eq "-E alone: the report agrees" "" "$(env_of_report "$R" "$p")"
reset

# ---------------------------------------------------------------------------
# --limit: what /proc/PID/limits shows.
start -s "$S" --limit nofile=123 --limit core=unlimited --limit cpu=100 --limit fsize=1048576 \
	--limit memlock=65536 --limit stack=8388608 --limit data=infinity --limit nproc=4000 \
	--limit as=unlimited -- "$PROBE" --report "$R"
p=$(first_report "$R")
expect_eq "--limit: exit 0" 0 "$RC"
expect_eq "--limit nproc=4000" 4000:4000 "$(plimit "$p" 'Max processes')"
expect_eq "--limit as=unlimited" unlimited:unlimited "$(plimit "$p" 'Max address space')"
expect_eq "--limit nofile=123: /proc limits" 123:123 "$(plimit "$p" 'Max open files')"
expect_eq "--limit nofile=123: the child's getrlimit" 123:123 "$(rget "$R" "$p" limit.nofile)"
expect_eq "--limit core=unlimited" unlimited:unlimited "$(plimit "$p" 'Max core file size')"
expect_eq "--limit cpu=100" 100:100 "$(plimit "$p" 'Max cpu time')"
expect_eq "--limit fsize=1048576" 1048576:1048576 "$(plimit "$p" 'Max file size')"
expect_eq "--limit memlock=65536" 65536:65536 "$(plimit "$p" 'Max locked memory')"
expect_eq "--limit stack=8388608" 8388608:8388608 "$(plimit "$p" 'Max stack size')"
expect_eq "--limit data=infinity" unlimited:unlimited "$(plimit "$p" 'Max data size')"
reset
start -s "$S" -- "$PROBE" --report "$R"
p=$(first_report "$R")
expect_eq "no --limit: nofile as the caller has it" "$(ulimit -Sn):$(ulimit -Hn)" "$(plimit "$p" 'Max open files')"
reset
if is_root; then
	nr_open=$(cat /proc/sys/fs/nr_open 2>/dev/null || echo 1048576)
	big=$((nr_open + 1))
	start -s "$S" -F 2 --limit "nofile=$big" -- "$PROBE" --report "$R"
	expect_eq "--limit nofile above fs.nr_open: exit 1" 1 "$RC"
	expect_match "--limit nofile above fs.nr_open: names the limit" "^spawn: child [0-9]+: limit nofile: Operation not permitted$" "$(printf '%s\n' "$ERR" | head -n 1)"
	expect_eq "--limit refused: one line per child" 2 "$(printf '%s\n' "$ERR" | grep -c 'limit nofile')"
	expect_eq "--limit refused: nothing on stdout" "" "$OUT"
	check "--limit refused: nothing started" test "$(count_reports "$R")" -eq 0
	check "--limit refused: socket file removed" sock_gone "$S"
else
	start -s "$S" --limit "nofile=$(( $(ulimit -Hn) + 1 ))" -- "$PROBE" --report "$R"
	expect_eq "--limit nofile above the hard limit (non-root): exit 1" 1 "$RC"
	expect_match "--limit above the hard limit: names the limit" "limit nofile: Operation not permitted" "$ERR"
fi
reset

# ---------------------------------------------------------------------------
# --umask, --nice, --no-new-privs.
start -s "$S" --umask 027 -- "$PROBE" --report "$R"
p=$(first_report "$R")
expect_eq "--umask 027: the child's umask" 0027 "$(rget "$R" "$p" umask)"
expect_eq "--umask 027: /proc/$p/status" 0027 "$(status_of "$p" Umask)"
reset
start -s "$S" --umask 0 -- "$PROBE" --report "$R"
p=$(first_report "$R")
expect_eq "--umask 0" 0000 "$(rget "$R" "$p" umask)"
reset
start -s "$S" -- "$PROBE" --report "$R"
p=$(first_report "$R")
expect_eq "no --umask: the caller's (022)" 0022 "$(rget "$R" "$p" umask)"
expect_eq "no --nice: the caller's nice value" "$(nice)" "$(rget "$R" "$p" nice)"
own_nnp=$(status_of $$ NoNewPrivs)
if [ "$own_nnp" = 0 ]; then
	expect_eq "no --no-new-privs: NoNewPrivs 0" 0 "$(status_of "$p" NoNewPrivs)"
else
	skip "no --no-new-privs: NoNewPrivs 0 (the test itself runs with no_new_privs)"
fi
reset
start -s "$S" --nice 5 -- "$PROBE" --report "$R"
p=$(first_report "$R")
expect_eq "--nice 5: the child's getpriority" 5 "$(rget "$R" "$p" nice)"
expect_eq "--nice 5: /proc/$p/stat" 5 "$(stat_nice "$p")"
reset
if is_root; then
	start -s "$S" --nice -3 -u nobody -- "$PROBE" --report "$R"
	p=$(first_report "$R")
	expect_eq "--nice -3 (root, then -u nobody): the child's nice" -3 "$(stat_nice "$p")"
	expect_eq "--nice -3 -u nobody: runs as nobody" "$(id -u nobody)" "$(rget "$R" "$p" uid)"
	reset
fi
start -s "$S" --no-new-privs -- "$PROBE" --report "$R"
p=$(first_report "$R")
expect_eq "--no-new-privs: /proc/$p/status NoNewPrivs" 1 "$(status_of "$p" NoNewPrivs)"
expect_eq "--no-new-privs: the child's prctl" 1 "$(rget "$R" "$p" nonewprivs)"
reset

# ---------------------------------------------------------------------------
# --output FILE: the children's stdout and stderr, appended.
O=$T/out.log
if is_root; then ouser="-u nobody"; owant="640 nobody $(id -gn nobody)"; else ouser=; owant="640 $(id -un) $(id -gn)"; fi
start -s "$S" -F 2 $ouser --output "$O" -- "$PROBE" --report "$R" --print first
expect_eq "--output: exit 0" 0 "$RC"
wait_until 5 lines_ge "$O" 4
expect_eq "--output: both children's stdout and stderr" "first err
first err
first out
first out" "$(sort "$O")"
expect_eq "--output: created 0640, owned by the -u user" "$owant" "$(stat -c '%a %U %G' "$O")"
for p in $(report_pids "$R"); do
	expect_eq "--output: child $p: fds 1 and 2 are the file" "$O $O" "$(rget "$R" "$p" fd.1) $(rget "$R" "$p" fd.2)"
done
reset
start -s "$S" $ouser --output "$O" -- "$PROBE" --report "$R" --print second
wait_until 5 lines_ge "$O" 6
expect_eq "--output: a second start appends" "first err
first err
first out
first out
second err
second out" "$(sort "$O")"
expect_eq "--output: the older lines come first" "first" "$(head -n 1 "$O" | cut -d' ' -f1)"
expect_eq "--output: mode and owner unchanged" "$owant" "$(stat -c '%a %U %G' "$O")"
reset
run_spawn -s "$S" --output "$T/nodir/out.log" -- "$PROBE" --report "$R"
expect_eq "--output in a missing directory: exit 1" 1 "$RC"
expect_eq "--output in a missing directory: one line" "spawn: output $T/nodir/out.log: No such file or directory" "$ERR"
check "--output in a missing directory: nothing started" test "$(count_reports "$R")" -eq 0
check "--output in a missing directory: no socket left" sock_gone "$S"
run_spawn -s "$S" --output "$T" -- "$PROBE" --report "$R"
expect_eq "--output naming a directory: exit 1" 1 "$RC"
expect_eq "--output naming a directory: one line" "spawn: output $T: Is a directory" "$ERR"
check "--output naming a directory: no socket left" sock_gone "$S"
mkfifo "$T/out.fifo"
run_spawn -s "$S" --output "$T/out.fifo" -- "$PROBE" --report "$R"
expect_eq "--output on a FIFO: exit 1 at once, never blocks" 1 "$RC"
# Without a reader, open(O_NONBLOCK) itself fails (ENXIO); with one, the
# type check refuses it. Either way: one line, at once.
expect_match "--output on a FIFO: a message naming it" "^spawn: output $T/out.fifo: " "$ERR"
expect_eq "--output on a FIFO: one line" 1 "$(printf '%s\n' "$ERR" | wc -l)"
check "--output on a FIFO: nothing started" test "$(count_reports "$R")" -eq 0
if is_root; then
	: >"$T/theirs.log"
	chown nobody "$T/theirs.log"
	run_spawn -s "$S" -u daemon --output "$T/theirs.log" -- "$PROBE" --report "$R"
	expect_eq "--output owned by another user: refused, exit 1" 1 "$RC"
	expect_eq "--output owned by another user: file left empty" 0 "$(stat -c %s "$T/theirs.log")"
	: >"$T/mine.log"
	ln "$T/mine.log" "$T/hardlink.log"
	run_spawn -s "$S" --output "$T/hardlink.log" -- "$PROBE" --report "$R"
	expect_eq "--output with a second hard link: refused, exit 1" 1 "$RC"
	check "--output refusals: nothing started, no socket" test "$(count_reports "$R")" -eq 0 -a ! -e "$S"
fi

# ---------------------------------------------------------------------------
# Bad input for the new options: exit 2, one exact line, nothing started,
# nothing left (no socket file, no output file).
N="--output $T/never.log"
bad 'spawn: fd "x": not a number (0..65535)' --fd x $N -- "$PROBE" --report "$R"
bad 'spawn: fd "-1": too small (0..65535)' --fd -1 -- "$PROBE" --report "$R"
bad 'spawn: fd "65536": too large (0..65535)' --fd 65536 -- "$PROBE" --report "$R"
bad 'spawn: fd "": not a number (0..65535)' --fd '' -- "$PROBE" --report "$R"
bad 'spawn: --fd is exclusive with -s and -p' --fd 0 -s "$S" -- "$PROBE" --report "$R"
bad 'spawn: --fd is exclusive with -s and -p' --fd 0 -p 9000 -- "$PROBE" --report "$R"
bad 'spawn: fd-name "": not a socket name' --fd-name '' -- "$PROBE" --report "$R"
bad 'spawn: fd-name "a:b": not a socket name' --fd-name a:b -- "$PROBE" --report "$R"
bad 'spawn: --fd-name is for systemd socket activation, not with -s, -p or --fd' --fd-name php -s "$S" -- "$PROBE" --report "$R"
bad 'spawn: fd-name "php": no sockets passed by systemd (LISTEN_PID/LISTEN_FDS)' --fd-name php $N -- "$PROBE" --report "$R"
bad 'spawn: no socket given: use -s, -p or --fd' $N -- "$PROBE" --report "$R"
bad 'spawn: fd 9: not open' --fd 9 $N -- "$PROBE" --report "$R" 9>&-
bad 'spawn: check-timeout "0": too small (1..600000)' -s "$S" --check --check-timeout 0 -- "$PROBE" --report "$R"
bad 'spawn: check-timeout "600001": too large (1..600000)' -s "$S" --check-timeout 600001 -- "$PROBE" --report "$R"
bad 'spawn: check-timeout "1s": not a number (1..600000)' -s "$S" --check-timeout 1s -- "$PROBE" --report "$R"
bad 'spawn: option --check takes no value' -s "$S" --check=1 -- "$PROBE" --report "$R"
bad 'spawn: -n and --check are exclusive' -n -s "$S" --check -- "$PROBE" --report "$R"
bad 'spawn: env "": not NAME or NAME=VALUE' -s "$S" -e '' -- "$PROBE" --report "$R"
bad 'spawn: env "=x": not NAME or NAME=VALUE' -s "$S" -e =x $N -- "$PROBE" --report "$R"
bad 'spawn: option -e needs a value' -s "$S" -e
bad 'spawn: option --clear-env takes no value' -s "$S" --clear-env=1 -- "$PROBE" --report "$R"
bad 'spawn: limit "nofile": not RESOURCE=VALUE' -s "$S" --limit nofile -- "$PROBE" --report "$R"
bad 'spawn: limit "files=10": unknown resource (nofile core nproc as data stack fsize cpu memlock)' -s "$S" --limit files=10 -- "$PROBE" --report "$R"
bad 'spawn: limit "=10": unknown resource (nofile core nproc as data stack fsize cpu memlock)' -s "$S" --limit =10 -- "$PROBE" --report "$R"
bad 'spawn: limit "nofile=-1": not a number or unlimited' -s "$S" --limit nofile=-1 -- "$PROBE" --report "$R"
bad 'spawn: limit "nofile=": not a number or unlimited' -s "$S" --limit nofile= -- "$PROBE" --report "$R"
bad 'spawn: limit "nofile=12k": not a number or unlimited' -s "$S" --limit nofile=12k $N -- "$PROBE" --report "$R"
bad 'spawn: limit "core=Unlimited": not a number or unlimited' -s "$S" --limit core=Unlimited -- "$PROBE" --report "$R"
bad 'spawn: umask "999": not an octal mode (0..0777)' -s "$S" --umask 999 -- "$PROBE" --report "$R"
bad 'spawn: umask "01777": not an octal mode (0..0777)' -s "$S" --umask 01777 -- "$PROBE" --report "$R"
bad 'spawn: umask "": not an octal mode (0..0777)' -s "$S" --umask '' -- "$PROBE" --report "$R"
bad 'spawn: umask "-22": not an octal mode (0..0777)' -s "$S" --umask -22 $N -- "$PROBE" --report "$R"
bad 'spawn: nice "20": too large (-20..19)' -s "$S" --nice 20 -- "$PROBE" --report "$R"
bad 'spawn: nice "-21": too small (-20..19)' -s "$S" --nice -21 -- "$PROBE" --report "$R"
bad 'spawn: nice "x": not a number (-20..19)' -s "$S" --nice x $N -- "$PROBE" --report "$R"
bad 'spawn: nice "": not a number (-20..19)' -s "$S" --nice '' -- "$PROBE" --report "$R"
bad 'spawn: nice "+5": not a number (-20..19)' -s "$S" --nice +5 -- "$PROBE" --report "$R"
bad 'spawn: option --no-new-privs takes no value' -s "$S" --no-new-privs=1 $N -- "$PROBE" --report "$R"
bad 'spawn: option --output needs a value' -s "$S" --output
bad 'spawn: option --limit needs a value' -s "$S" --limit
bad 'spawn: option --fd needs a value' --fd
