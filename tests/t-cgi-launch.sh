# The CGI bridge with everything the launcher already does: spawn --cgi
# and --cgi-dir under bad input, -F, -P, -u/-g, -d, -c, --umask, --nice,
# --limit, --no-new-privs, -e/-E, -w, -r, --check, --probe, --fd, socket
# activation, -n and TCP. Asserts what the client received, what the CGI
# script reported about itself (tests/cgi-launch/report.sh) and what /proc
# shows of spawn's workers.
#
# CGI_STANDIN=fcgiwrap runs the same requests against
# "spawn -- /usr/sbin/fcgiwrap" instead of the bridge: a way to check the
# harness itself. The checks that only the bridge can pass then fail.
. "$(dirname "$0")/lib.sh"

H=$TOP/tests/cgi-launch
R=$T/r
S=$T/s.sock
D=$T/cgi-bin
mkdir -p "$R" "$D" "$T/work"
chmod 1777 "$R"   # the script runs as nobody in some tests
umask 022
unset LISTEN_PID LISTEN_FDS LISTEN_FDNAMES NOTIFY_SOCKET
cp "$H/report.sh" "$D/report.sh"
chmod 755 "$D/report.sh"
CGI=$D/report.sh
SPAWN_EXE=$(readlink -f "$SPAWN")

if [ "${CGI_STANDIN:-}" = fcgiwrap ]; then
	CGIOPT=
	PROG=/usr/sbin/fcgiwrap
	CGIDIR=
	DIRPROG="-- /usr/sbin/fcgiwrap"
	BRIDGE=0
elif "$SPAWN" --help 2>/dev/null | grep -q -- --cgi; then
	CGIOPT=--cgi
	PROG=$CGI
	CGIDIR="--cgi-dir $D"
	DIRPROG=
	BRIDGE=1
else
	not_ok "spawn --help lists --cgi (the CGI bridge is not built)"
	exit 0
fi

# --- Helpers.

# start NAME ARGS...: spawn ARGS in the default (fork) mode, to
# completion; RC, OUT, ERR as run_spawn sets them, WORKERS the pids it
# printed (tracked).
start() {
	_n=$1
	shift
	run_spawn "$@"
	printf '%s\n' "$OUT" >"$T/$_n.out"
	printf '%s\n' "$ERR" >"$T/$_n.err"
	WORKERS=$(printf '%s\n' "$OUT" | sed -n 's/^spawn: child spawned successfully: PID: //p' | sort -n)
	for _p in $WORKERS; do track "$_p"; done
	[ "$RC" = 0 ] || printf '%s\n' "$ERR" | sed 's/^/#   spawn: /'
}
# bg NAME ARGS...: spawn ARGS in the background; SP is its pid, its output
# in $T/NAME.out and $T/NAME.err. Its workers are tracked as the tests
# learn them: a SIGKILL to spawn at exit would leave them running.
bg() {
	_n=$1
	shift
	"$SPAWN" "$@" >"$T/$_n.out" 2>"$T/$_n.err" </dev/null &
	SP=$!
	BGNAME=$_n
	track "$SP"
}
started() {
	_c=$(grep -c '^spawn: child spawned successfully: PID: [0-9][0-9]*$' "$T/$1.out" 2>/dev/null)
	test "${_c:-0}" -ge "$2"
}
# up NAME N: waits (bounded) until spawn NAME said it started N workers.
up() {
	wait_until 5 started "$1" "$2" && return 0
	sed 's/^/#   spawn: /' "$T/$1.err"
	return 1
}
# finish SECS: waits (bounded) for $SP to exit; RC is its status, or
# "timeout" (it is killed then).
finish() {
	if wait_until "$1" dead "$SP"; then
		wait "$SP"
		RC=$?
	else
		# Its workers too: they would hold the socket for the next test.
		_k=$(kids "$SP")
		kill -KILL "$SP" $_k 2>/dev/null
		wait "$SP"
		RC=timeout
	fi
	[ "$RC" = 0 ] || tail -n 8 "$T/$BGNAME.err" 2>/dev/null | sed 's/^/#   stderr: /'
}
# stopped WHAT: after a SIGTERM to $SP, with nothing left in flight: its
# workers drain and exit by themselves, so spawn exits 0 well before the
# stop timeout (10 s) and never has to SIGKILL one.
stopped() {
	wait_until 3 dead "$SP"
	check "$1: spawn exits within 3 s (not at the stop timeout)" dead "$SP"
	finish 12
	expect_eq "$1: exit 0" 0 "$RC"
	expect_eq "$1: no worker needed a SIGKILL" "" "$(grep 'still running' "$T/$BGNAME.err")"
}
# kids PID: live (non-zombie) children of PID, sorted.
kids() {
	cat /proc/[0-9]*/stat 2>/dev/null | awk -v p="$1" '{
		pid = $1; sub(/.*\) /, "")
		if ($2 == p && $1 != "Z" && $1 != "X") print pid }' | sort -n
}
flat() { echo $*; }
# At exit, spawn's workers must go too: once spawn is killed they are
# orphans that nothing else ends, and one forked after the test last
# looked (a restart, a reload, a start the test was interrupted in) is
# tracked nowhere. Every process this file starts has $T on its command
# line (a forked worker keeps spawn's), so those are found by that and
# ended by pid, stopped first so that a supervisor among them cannot start
# another. The pattern comes from a file, so that grep does not find
# itself.
end_workers() {
	printf '%s/\n' "$T" >"$T/.mine"
	for _i in 1 2 3; do
		_ps=$(grep -lsF -f "$T/.mine" /proc/[0-9]*/cmdline | cut -d/ -f3)
		[ -n "$_ps" ] || break
		kill -STOP $_ps 2>/dev/null
		kill -KILL $_ps 2>/dev/null
	done
}
trap 'end_workers; cleanup_test' EXIT
exe_of() { readlink "/proc/$1/exe" 2>/dev/null; }
argv0_of() { tr '\0' '\n' <"/proc/$1/cmdline" 2>/dev/null | head -n 1; }
status_of() { sed -n "s/^$2:[[:space:]]*//p" "/proc/$1/status" | tr -s ' \t' ' ' | sed 's/ $//'; }
# req NAME ADDR [NAME=VALUE...]: one request for the report script; the
# script reports to $R/NAME. The client's stdout goes to $T/NAME.ans, its
# stderr to $T/NAME.cerr; CRC is its exit status.
req() {
	_n=$1 _a=$2
	shift 2
	"$CLIENT" -t 5000 "$_a" SCRIPT_FILENAME="$CGI" REPORT="$R/$_n" "$@" \
	    >"$T/$_n.ans" 2>"$T/$_n.cerr"
	CRC=$?
	[ "$CRC" = 0 ] || sed 's/^/#   client: /' "$T/$_n.cerr"
}
# req_bg NAME ADDR [NAME=VALUE...]: the same in the background; CP is the
# client's pid, collect NAME waits for it and sets CRC.
req_bg() {
	_n=$1 _a=$2
	shift 2
	"$CLIENT" -t 8000 "$_a" SCRIPT_FILENAME="$CGI" REPORT="$R/$_n" "$@" \
	    >"$T/$_n.ans" 2>"$T/$_n.cerr" &
	CP=$!
	track "$CP"
}
collect() {
	if wait_until 10 dead "$CP"; then
		wait "$CP"
		CRC=$?
	else
		kill -KILL "$CP" 2>/dev/null
		wait "$CP"
		CRC=timeout
	fi
	[ "$CRC" = 0 ] || sed 's/^/#   client: /' "$T/$1.cerr"
}
# body NAME: the response body the client received (after the header
# block), carriage returns dropped.
body() { tr -d '\r' <"$T/$1.ans" | sed '1,/^$/d'; }
head_of() { tr -d '\r' <"$T/$1.ans" | sed '/^$/,$d'; }
# rep NAME KEY: one value from the script's report.
rep() { sed -n "s/^$2=//p" "$R/$1" 2>/dev/null | head -n 1; }
envs() { sed -n 's/^env\.//p' "$R/$1" 2>/dev/null; }
# served WHAT NAME: the request NAME was answered in full by a script
# that reported: exit 0, the header, both body lines from that script.
served() {
	_p=$(rep "$2" pid)
	expect_eq "$1: the client got an answer" 0 "$CRC"
	expect_eq "$1: the header" "Content-Type: text/plain" "$(head_of "$2")"
	expect_eq "$1: the whole body, from the script that reported" \
	    "first line from ${_p:-?}
last line from ${_p:-?}" "$(body "$2")"
}
# quick ADDR: one request without a report; true when it is answered with
# the script's last line.
quick() {
	"$CLIENT" -t 5000 "$1" SCRIPT_FILENAME="$CGI" 2>/dev/null | grep -q '^last line from [0-9]*'
}
bridge_only() {
	[ "$BRIDGE" = 1 ] && return 0
	skip "$1 (bridge only; CGI_STANDIN=fcgiwrap)"
	return 1
}
spawn_worker() { [ "$(exe_of "$1")" = "$SPAWN_EXE" ]; }
reset() {
	[ -z "$WORKERS" ] || stop $WORKERS
	WORKERS=
	rm -f "$S"
}
have_report() { test -s "$R/$1"; }

# --- 1. Bad input: exit 2, one line, nothing started, nothing left.
# bad_cgi MESSAGE ARGS...: lib.sh's bad (with --output $T/never.log, so
# that its "no output file left" means something), plus: no pid file,
# nothing on stdout.
RB=$T/r-bad
mkdir -p "$RB"
# none_running: no live process has $T/bad.pid on its command line. A
# forked worker keeps spawn's command line, so this finds any worker a bad
# start left behind. The pattern comes from a file, so that grep's own
# command line does not match it.
printf '%s\n' "$T/bad.pid" >"$T/bad.pat"
none_running() { [ -z "$(grep -lsF -f "$T/bad.pat" /proc/[0-9]*/cmdline)" ]; }
bad_cgi() {
	_want=$1
	shift
	rm -f "$T/bad.pid"
	_r=$R
	R=$RB
	bad "$_want" -P "$T/bad.pid" --output "$T/never.log" "$@"
	R=$_r
	_l=$(label "$@")
	expect_eq "bad input [$_l]: nothing on stdout" "" "$OUT"
	check "bad input [$_l]: no pid file" test ! -e "$T/bad.pid"
	check "bad input [$_l]: no worker running" none_running
	rm -f "$S"
}
# fs_bad MESSAGE ARGS...: a --cgi-dir that is not a directory: spawn
# finds out before it starts anything, like -c on a missing directory
# (exit 1), and says so on one line.
fs_bad() {
	_want=$1
	shift
	rm -f "$T/bad.pid"
	run_spawn -P "$T/bad.pid" --output "$T/never.log" "$@"
	_l=$(label "$@")
	expect_eq "bad --cgi-dir [$_l]: exit 1" 1 "$RC"
	expect_eq "bad --cgi-dir [$_l]: message" "$_want" "$ERR"
	expect_eq "bad --cgi-dir [$_l]: nothing on stdout" "" "$OUT"
	check "bad --cgi-dir [$_l]: no socket, pid file or output file left" \
	    test ! -e "$S" -a ! -e "$T/bad.pid" -a ! -e "$T/never.log"
	check "bad --cgi-dir [$_l]: no worker running" none_running
	rm -f "$S" "$T/never.log"
}
if bridge_only "bad input"; then
	: >"$T/plain-file"
	bad_cgi 'spawn: --cgi and -C are exclusive: -C is for php-cgi'"'"'s own workers' --cgi -C 2 -s "$S" -- "$CGI"
	bad_cgi 'spawn: --cgi and -f are exclusive' --cgi -s "$S" -f "$CGI"
	bad_cgi 'spawn: --cgi-dir and a program are exclusive: SCRIPT_FILENAME names the script' --cgi-dir "$D" -s "$S" -- "$CGI"
	bad_cgi 'spawn: no program given: --cgi needs one, or use --cgi-dir' --cgi -s "$S"
	bad_cgi 'spawn: cgi-timeout "0": too small (1..86400)' --cgi --cgi-timeout 0 -s "$S" -- "$CGI"
	bad_cgi 'spawn: cgi-timeout "abc": not a number (1..86400)' --cgi --cgi-timeout abc -s "$S" -- "$CGI"
	bad_cgi 'spawn: cgi-timeout "86401": too large (1..86400)' --cgi --cgi-timeout 86401 -s "$S" -- "$CGI"
	bad_cgi 'spawn: cgi-max "0": too small (1..4096)' --cgi --cgi-max 0 -s "$S" -- "$CGI"
	bad_cgi 'spawn: cgi-max "5000": too large (1..4096)' --cgi --cgi-max 5000 -s "$S" -- "$CGI"
	bad_cgi 'spawn: --cgi-timeout and --cgi-max need --cgi or --cgi-dir' --cgi-timeout 5 -s "$S" -- "$CGI"
	bad_cgi 'spawn: --cgi-timeout and --cgi-max need --cgi or --cgi-dir' --cgi-max 5 -s "$S" -- "$CGI"
	fs_bad "spawn: cgi-dir $T/no-such-dir: No such file or directory" --cgi-dir "$T/no-such-dir" -s "$S"
	fs_bad "spawn: cgi-dir $T/plain-file: not a directory" --cgi-dir "$T/plain-file" -s "$S"
fi

# --- 2. The workers: -F 3, -P, a request.
start f3 $CGIOPT -s "$S" -F 3 -P "$T/f3.pid" -- $PROG
expect_eq "-F 3: exit 0" 0 "$RC"
expect_eq "-F 3: three spawned-successfully lines and nothing else" 3 "$(printf '%s\n' "$OUT" | grep -c '^spawn: child spawned successfully: PID: [0-9][0-9]*$')"
expect_eq "-F 3: stdout has only those lines" 3 "$(printf '%s\n' "$OUT" | wc -l)"
expect_eq "-F 3: nothing on stderr" "" "$ERR"
expect_eq "-P: the pid file holds the three workers" "$(flat $WORKERS)" "$(flat $(sort -n "$T/f3.pid" 2>/dev/null))"
for w in $WORKERS; do
	check "-F 3: worker $w serves after spawn exited" alive "$w"
	expect_eq "-F 3: worker $w is spawn itself (no exec): exe" "$SPAWN_EXE" "$(exe_of "$w")"
	expect_eq "-F 3: worker $w: its command line is spawn's" "$SPAWN" "$(argv0_of "$w")"
done
req f3 "$S"
served "-F 3" f3
expect_match "-F 3: the script's parent is one of the workers" "^($(flat $WORKERS | tr ' ' '|'))\$" "$(rep f3 ppid)"
expect_eq "-F 3: the script is the program given" "$CGI" "$(rep f3 argv0)"
expect_eq "-F 3: the script has fds 0 1 2 only" "0,1,2," "$(rep f3 fds)"
expect_eq "-F 3: the script leads its own process group" "$(rep f3 pid)" "$(rep f3 pgid)"
if bridge_only "SCRIPT_FILENAME does not choose what runs"; then
	"$CLIENT" -t 5000 "$S" SCRIPT_FILENAME=/bin/false REPORT="$R/f3b" >"$T/f3b.ans" 2>"$T/f3b.cerr"
	CRC=$?
	served "--cgi, SCRIPT_FILENAME=/bin/false" f3b
	expect_eq "--cgi: the program given ran, not SCRIPT_FILENAME" "$CGI" "$(rep f3b argv0)"
fi
# Without a supervisor, SIGTERM is the only way to stop them: each exits
# by itself, at once, once it has nothing in flight.
kill -TERM $WORKERS
wait_until 3 all_dead $WORKERS
check "-F 3: SIGTERM: the three workers exit within 3 s" all_dead $WORKERS
reset

# Program arguments reach the script.
if bridge_only "--cgi PROGRAM ARG..."; then
	start args --cgi -s "$S" --output "$T/args.log" -- "$CGI" one "two words"
	req args "$S"
	served "--cgi PROGRAM ARG...: answered" args
	expect_eq "--cgi PROGRAM ARG...: the arguments reach the script" "one two words" "$(rep args args)"
	reset
fi

# --cgi-dir: the workers run the script SCRIPT_FILENAME names.
start cd2 $CGIDIR -s "$S" -F 2 -d "$T/work" --output "$T/cd2.log" $DIRPROG
expect_eq "--cgi-dir -F 2: exit 0" 0 "$RC"
expect_eq "--cgi-dir -F 2: two workers" 2 "$(flat $WORKERS | wc -w)"
for w in $WORKERS; do
	expect_eq "--cgi-dir: worker $w is spawn itself" "$SPAWN_EXE" "$(exe_of "$w")"
done
req cd2 "$S"
served "--cgi-dir" cd2
expect_eq "--cgi-dir: the script SCRIPT_FILENAME names ran" "$CGI" "$(rep cd2 argv0)"
expect_eq "--cgi-dir: the script's cwd is its directory (not -d)" "$D" "$(rep cd2 cwd)"
reset

# --- 3. Privileges and environment reach the scripts.
PASSME=passed-through
SPAWN_OWN=must-not-leak
export PASSME SPAWN_OWN
if is_root; then
	priv="-u nobody -g nogroup"
else
	priv=
	skip "-u nobody -g nogroup for the scripts (needs root)"
fi
start p3 $CGIOPT -s "$S" $priv -d "$T/work" --umask 027 --nice 5 \
    --limit nofile=123 --no-new-privs -e FOO=bar -e PASSME \
    --output "$T/p3.log" -- $PROG
expect_eq "options: exit 0" 0 "$RC"
req p3 "$S" QUERY_STRING=a=1
served "options" p3
if is_root; then
	expect_eq "-u nobody: the script's uid" "65534 65534 65534 65534" "$(rep p3 Uid)"
	expect_eq "-g nogroup: the script's gid" "65534 65534 65534 65534" "$(rep p3 Gid)"
	expect_eq "-u nobody: the script's groups" "65534" "$(rep p3 Groups)"
	for w in $WORKERS; do
		expect_eq "-u nobody: worker $w runs as nobody too" "65534 65534 65534 65534" "$(status_of "$w" Uid)"
	done
fi
expect_eq "-d: the script's cwd (--cgi)" "$T/work" "$(rep p3 cwd)"
expect_eq "--umask 027: the script's umask" 0027 "$(rep p3 umask)"
expect_eq "--nice 5: the script's nice value" 5 "$(rep p3 nice)"
expect_eq "--limit nofile=123: the script's limit" "123:123" "$(rep p3 nofile)"
expect_eq "--no-new-privs: NoNewPrivs" 1 "$(rep p3 NoNewPrivs)"
expect_eq "-e FOO=bar reaches the script" "bar" "$(envs p3 | sed -n 's/^FOO=//p')"
expect_eq "-e PASSME passes spawn's value through" "passed-through" "$(envs p3 | sed -n 's/^PASSME=//p')"
expect_eq "the request's params reach the script" "a=1" "$(envs p3 | sed -n 's/^QUERY_STRING=//p')"
if bridge_only "spawn's own environment and PATH"; then
	expect_eq "spawn's own environment does not reach the script" "" "$(envs p3 | grep '^SPAWN_OWN=')"
	expect_eq "PATH is the default one" "/usr/local/bin:/usr/bin:/bin" "$(envs p3 | sed -n 's/^PATH=//p')"
	expect_eq "the script's signal mask is empty" 0000000000000000 "$(rep p3 SigBlk)"
	expect_eq "the script ignores no signal" 0000000000000000 "$(rep p3 SigIgn)"
	expect_match "the script's fds 0 1 2 are pipes" '^pipe:.* pipe:.* pipe:' "$(rep p3 fd0) $(rep p3 fd1) $(rep p3 fd2)"
fi
reset

# -E: the same params, and the same -e, give the script the same env.
start e0 $CGIOPT -s "$S" -e FOO=bar -e PASSME --output "$T/e0.log" -- $PROG
req e0 "$S" QUERY_STRING=q HTTP_ACCEPT=text/plain
reset
start e1 $CGIOPT -s "$S" -E -e FOO=bar -e PASSME --output "$T/e1.log" -- $PROG
expect_eq "-E: exit 0" 0 "$RC"
req e1 "$S" QUERY_STRING=q HTTP_ACCEPT=text/plain
served "-E" e1
env0=$(envs e0 | grep -v '^REPORT=')
env1=$(envs e1 | grep -v '^REPORT=')
expect_eq "-E changes nothing the script sees of params and -e" "$env0" "$env1"
expect_eq "-E: -e FOO=bar still reaches the script" bar "$(envs e1 | sed -n 's/^FOO=//p')"
reset

# --cgi-dir with -u: the script runs as nobody in its directory.
if is_root; then
	start cdu $CGIDIR -s "$S" -u nobody -g nogroup --output "$T/cdu.log" $DIRPROG
	req cdu "$S"
	served "--cgi-dir -u nobody" cdu
	expect_eq "--cgi-dir -u nobody: the script's uid" "65534 65534 65534 65534" "$(rep cdu Uid)"
	expect_eq "--cgi-dir -u nobody: cwd is the script's directory" "$D" "$(rep cdu cwd)"
	reset
else
	skip "--cgi-dir -u nobody (needs root)"
fi

# --- 4. -c: a chroot with nothing in it but a static CGI program.
C=$T/root
static_cc() {
	for _cc in musl-gcc cc; do
		have "$_cc" || continue
		"$_cc" -std=c99 -D_POSIX_C_SOURCE=200809L -O2 -static -o "$1" \
		    "$H/static-cgi.c" 2>/dev/null && return 0
	done
	return 1
}
if ! is_root; then
	skip "-c: chroot (needs root)"
elif ! bridge_only "-c: chroot"; then
	:
elif ! { mkdir -p "$C/r" "$C/cgi-bin" && static_cc "$C/cgi"; }; then
	skip "-c: chroot (no static C compiler: musl-gcc or cc -static)"
else
	chmod 1777 "$C/r"
	echo "inside-the-chroot" >"$C/marker"
	cp "$C/cgi" "$C/cgi-bin/cgi"
	# LeakSanitizer (make SAN=1) reads /proc at exit, which the chroot hides.
	ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
	export ASAN_OPTIONS
	start ch --cgi -c "$C" -s "$S" -S --output "$T/ch.log" -- /cgi
	expect_eq "-c: exit 0" 0 "$RC"
	for w in $WORKERS; do
		expect_eq "-c: worker $w's root is the chroot" "$C" "$(readlink "/proc/$w/root")"
		expect_eq "-c: worker $w is spawn (no binary inside needed)" "$SPAWN_EXE" "$(exe_of "$w")"
	done
	"$CLIENT" -t 8000 "$S" QUERY_STRING=hold >"$T/ch.ans" 2>"$T/ch.cerr" &
	CP=$!
	track "$CP"
	if wait_until 5 test -s "$C/r/pid"; then
		cp_pid=$(cat "$C/r/pid")
		expect_eq "-c: the script's root is the chroot (/proc/PID/root)" "$C" "$(readlink "/proc/$cp_pid/root")"
		expect_match "-c: the script is a child of a worker" "^($(flat $WORKERS | tr ' ' '|'))\$" "$(status_of "$cp_pid" PPid)"
	else
		not_ok "-c: the static CGI started and wrote /r/pid"
	fi
	: >"$C/r/go"
	collect ch
	expect_eq "-c: the client got an answer" 0 "$CRC"
	expect_match "-c: the script saw the marker at / inside the chroot" '^marker=inside-the-chroot$' "$(tr -d '\r' <"$T/ch.ans")"
	expect_match "-c: the script's cwd is / of the chroot" '^cwd=/$' "$(tr -d '\r' <"$T/ch.ans")"
	expect_eq "-c: no spawn binary in the chroot" "/cgi /cgi-bin/cgi /marker /r/go /r/pid" \
	    "$(flat $(cd "$C" && find . -type f | sed 's/^\.//' | sort))"
	reset
	rm -f "$C/r/pid" "$C/r/go"

	# --cgi-dir with -c: DIR and SCRIPT_FILENAME are paths inside it.
	start chd --cgi-dir /cgi-bin -c "$C" -s "$S" -S -u nobody -g nogroup --output "$T/chd.log"
	expect_eq "-c --cgi-dir /cgi-bin: exit 0" 0 "$RC"
	"$CLIENT" -t 5000 "$S" SCRIPT_FILENAME=/cgi-bin/cgi >"$T/chd.ans" 2>"$T/chd.cerr"
	CRC=$?
	expect_eq "-c --cgi-dir: the client got an answer" 0 "$CRC"
	expect_match "-c --cgi-dir: the script ran inside the chroot" '^marker=inside-the-chroot$' "$(tr -d '\r' <"$T/chd.ans")"
	expect_match "-c --cgi-dir: its cwd is its directory" '^cwd=/cgi-bin$' "$(tr -d '\r' <"$T/chd.ans")"
	expect_match "-c --cgi-dir -u nobody: its uid" '^uid=65534$' "$(tr -d '\r' <"$T/chd.ans")"
	[ "$CRC" = 0 ] || sed 's/^/#   /' "$T/chd.cerr" "$T/chd.log"
	reset
fi

# --- 5. -w: SIGTERM drains; -r: SIGHUP reloads, a killed worker is replaced.
S=$T/w.sock
bg w $CGIOPT -w -s "$S" -F 1 -- $PROG
up w 1
W=$(kids "$SP")
track $W
expect_eq "-w: one worker, a child of spawn" 1 "$(flat $W | wc -w)"
check "-w: the worker is spawn itself" spawn_worker "$W"
req_bg wslow "$S" SLEEP=1
wait_until 5 have_report wslow
sp_pid=$(rep wslow pid)
check "-w: the slow script is running when SIGTERM comes" alive "${sp_pid:-0}"
kill -TERM "$SP"
collect wslow
served "-w, SIGTERM during a slow request" wslow
stopped "-w, SIGTERM, the request answered"
check "-w: the worker is gone" dead "$W"
check "-w: the socket is removed" sock_gone "$S"
if bridge_only "worker log lines on spawn's stderr"; then
	expect_eq "-w: spawn's stderr has only spawn: lines" "" "$(grep -v '^spawn: ' "$T/w.err")"
fi

S=$T/r.sock
bg r $CGIOPT -r -s "$S" -F 2 -P "$T/r.pid" -- $PROG
up r 2
old=$(kids "$SP")
track $old
expect_eq "-r: two workers" 2 "$(flat $old | wc -w)"
wait_until 5 test -s "$T/r.pid"
expect_eq "-r: the pid file holds spawn's own pid" "$SP" "$(cat "$T/r.pid" 2>/dev/null)"
req_bg rslow "$S" SLEEP=1
slow_cp=$CP
wait_until 5 have_report rslow
"$CLIENT" -q -t 5000 -d 2500 "$S" SCRIPT_FILENAME="$CGI" 2>"$T/load.err" &
LP=$!
track "$LP"
sleep 0.3   # let the load run before the reload, so it spans it
kill -HUP "$SP"
# new_workers: the children of spawn that were not there before the HUP.
new_workers() { kids "$SP" | grep -vx "$(printf '%s\n' $old)"; }
two_new() { [ "$(new_workers | wc -l)" -eq 2 ]; }
wait_until 8 two_new
new=$(new_workers)
track $new
expect_eq "-r, SIGHUP: two new workers" 2 "$(flat $new | wc -w)"
for w in $new; do
	check "-r, SIGHUP: new worker $w is spawn itself" spawn_worker "$w"
done
CP=$slow_cp
collect rslow
served "-r, a request in flight across the reload" rslow
# Drained, they exit by themselves, well before the stop timeout (10 s).
wait_until 4 all_dead $old
check "-r, SIGHUP: the old workers exit once drained" all_dead $old
if wait_until 10 dead "$LP"; then
	wait "$LP"
	LRC=$?
else
	LRC=timeout
fi
expect_eq "-r, SIGHUP: requests during the reload all succeed" 0 "$LRC"
expect_match "-r, SIGHUP: the load ran, 0 failed" '^requests=[0-9]+ ok=[0-9]+ failed=0$' "$(tail -n 1 "$T/load.err")"
diag 'load across the reload:' "$(cat "$T/load.err")"
check "-r: a request after the reload is answered" quick "$S"

victim=$(printf '%s\n' $new | head -n 1)
kill -KILL "$victim"
wait_until 5 dead "$victim"
replaced() { [ "$(kids "$SP" | grep -vx "$victim" | wc -l)" -eq 2 ] && ! kids "$SP" | grep -qx "$victim"; }
wait_until 8 replaced
check "-r, SIGKILL to a worker: a new one replaces it" replaced
for w in $(kids "$SP"); do
	track "$w"
	check "-r: worker $w is spawn itself" spawn_worker "$w"
done
ok_n=0
for i in 1 2 3 4 5 6; do quick "$S" && ok_n=$((ok_n + 1)); done
expect_eq "-r: six requests after the restart are answered" 6 "$ok_n"
kill -TERM "$SP"
stopped "-r, SIGTERM"
check "-r: the socket is removed" sock_gone "$S"

# --- 6. --check and --probe.
S=$T/ck.sock
if bridge_only "--check and --probe with --cgi-max"; then
	start ck --cgi --check --cgi-max 7 -s "$S" -F 2 --output "$T/ck.log" -- "$CGI"
	expect_eq "--cgi --check: exit 0" 0 "$RC"
	expect_eq "--cgi --check: nothing on stderr" "" "$ERR"
	run_spawn --probe "$S"
	expect_eq "--probe: exit 0" 0 "$RC"
	expect_match "--probe: FCGI_MPXS_CONNS=0" '^FCGI_MPXS_CONNS=0$' "$OUT"
	expect_match "--probe: FCGI_MAX_REQS is --cgi-max" '^FCGI_MAX_REQS=7$' "$OUT"
	expect_match "--probe: FCGI_MAX_CONNS answered" '^FCGI_MAX_CONNS=[0-9]+$' "$OUT"
	printf '#   probe: %s\n' $OUT
	check "--check: a request is answered" quick "$S"
	reset
	start ck2 --cgi-dir "$D" --check -s "$S" --output "$T/ck2.log"
	expect_eq "--cgi-dir --check: exit 0" 0 "$RC"
	run_spawn --probe "$S"
	expect_match "--probe: FCGI_MAX_REQS defaults to 64" '^FCGI_MAX_REQS=64$' "$OUT"
	reset
fi

# --- 7. Inherited sockets and -n.
if have systemd-socket-activate; then
	A=$T/sa.sock
	systemd-socket-activate -l "$A" "$SPAWN" $CGIOPT -w -- $PROG >"$T/sa.out" 2>"$T/sa.err" &
	SP=$!
	BGNAME=sa
	track "$SP"
	sd_listening() { grep -q '^Listening on' "$T/sa.err"; }
	wait_until 5 sd_listening
	req sa "$A"
	served "socket activation" sa
	up sa 1
	for w in $(kids "$SP"); do
		track "$w"
		check "socket activation: worker $w is spawn itself" spawn_worker "$w"
	done
	expect_eq "socket activation: no LISTEN_* reaches the script" "" "$(envs sa | grep '^LISTEN_')"
	kill -TERM "$SP"
	stopped "socket activation, SIGTERM"
	check "socket activation: the socket file is left alone" test -S "$A"
	rm -f "$A"
else
	skip "socket activation (systemd-socket-activate not installed)"
fi

if have python3; then
	F=$T/fd.sock
	python3 "$H/withfd.py" unix "$F" 5 "$SPAWN" $CGIOPT --fd 5 -F 2 --output "$T/fd.log" -- $PROG >"$T/.out" 2>"$T/.err" </dev/null
	RC=$?
	WORKERS=$(sed -n 's/^spawn: child spawned successfully: PID: //p' "$T/.out")
	for w in $WORKERS; do track "$w"; done
	expect_eq "--fd 5: exit 0" 0 "$RC"
	expect_eq "--fd 5: two workers" 2 "$(flat $WORKERS | wc -w)"
	req fd "$F"
	served "--fd 5" fd
	expect_eq "--fd 5: the script has fds 0 1 2 only" "0,1,2," "$(rep fd fds)"
	reset
	check "--fd 5: the caller's socket file is not unlinked" test -S "$F"
	rm -f "$F"
else
	skip "--fd N (python3 not installed)"
fi

S=$T/n.sock
bg n $CGIOPT -n -s "$S" -P "$T/n.pid" -- $PROG
NP=$SP
wait_until 5 test -s "$T/n.pid"
expect_eq "-n: the pid file holds spawn's own pid" "$NP" "$(cat "$T/n.pid" 2>/dev/null)"
req n "$S"
served "-n" n
expect_eq "-n: nothing on stdout (no child to report)" "" "$(cat "$T/n.out")"
expect_eq "-n: the script's parent is spawn itself" "$NP" "$(rep n ppid)"
check "-n: spawn is the worker (no exec)" spawn_worker "$NP"
expect_eq "-n: no other worker" "" "$(kids "$NP" | grep -vx "$(rep n pid)")"
kill -TERM "$NP"
stopped "-n, SIGTERM"
rm -f "$S"

# --- 8. TCP, on ports the kernel picked for port 0 (picked again when
# taken before spawn could bind them: retry_port).
if P4=$(free_port 127.0.0.1); then
	retry_port 127.0.0.1 'start t4 $CGIOPT -a 127.0.0.1 -p "$PORT" --output "$T/t4.log" -- $PROG'
	P4=$PORT
	expect_eq "tcp 127.0.0.1: exit 0" 0 "$RC"
	req t4 "127.0.0.1:$P4"
	served "tcp 127.0.0.1" t4
	reset
else
	skip "tcp: no free port found"
fi
if P6=$(free_port ::1 2>/dev/null); then
	retry_port ::1 'start t6 $CGIOPT -a ::1 -p "$PORT" --output "$T/t6.log" -- $PROG'
	P6=$PORT
	expect_eq "tcp ::1: exit 0" 0 "$RC"
	req t6 "[::1]:$P6"
	served "tcp ::1" t6
	reset
else
	skip "tcp6: no IPv6 on this machine"
fi
