# Shared helpers for the integration tests. Each test file sources this,
# prints "ok - ...", "not ok - ..." or "skip - ..." lines, and run.sh counts
# them. Every wait is a bounded poll; every process a test starts is ended
# by pid when the file exits.

TOP=${TOP:-$(cd "$(dirname "$0")/.." && pwd)}
T=$(mktemp -d /tmp/spawn-test.XXXXXX)
chmod 755 "$T"
: >"$T/.pids"

# stage_binaries DIR: copies of spawn and the test tools in DIR, which
# every user can enter. A clone may sit under a directory that only root
# can enter (/root, any mktemp -d), and the tests that drop privileges
# (-u nobody, setpriv, prlimit) must still reach what they run. run.sh
# stages once per run and passes the directory on in SPAWN_STAGE; a test
# file run by itself stages its own copies.
stage_binaries() {
	mkdir -p "$1" &&
	cp "$TOP/spawn" "$TOP/tests/probe" "$TOP/tests/fcgiclient" "$1/" &&
	chmod 755 "$1" "$1/spawn" "$1/probe" "$1/fcgiclient"
}
if [ -n "${SPAWN_STAGE:-}" ] && [ -x "$SPAWN_STAGE/spawn" ]; then
	BIN=$SPAWN_STAGE
else
	BIN=$T/bin
	stage_binaries "$BIN" || { echo "not ok - stage the binaries in $BIN"; rm -rf "$T"; exit 1; }
fi
SPAWN=$BIN/spawn
PROBE=$BIN/probe
CLIENT=$BIN/fcgiclient

# At exit, every process the file tracked or that reported under $T is
# killed, but only when it is still the same process: a run of the suite
# forks tens of thousands of processes, so pids come round again, and a
# pid this file tracked long ago may by now belong to another test file
# or run (they run side by side). A tracked pid carries its start time
# (track); a reported one must name $T (ours).
cleanup_test() {
	while read -r _p _stt; do
		if [ -z "$_stt" ] || [ "$_stt" = - ]; then
			ours "$_p" && kill -KILL "$_p" 2>/dev/null
		elif start_time "$_p" && [ "$START_TIME" = "$_stt" ]; then
			kill -KILL "$_p" 2>/dev/null
		fi
	done <"$T/.pids"
	# Every probe that reported anywhere under $T, however deep (but not
	# inside a file system a test mounted there: it may hang).
	for p in $(find "$T" -xdev -name '*.report' -exec sed -n 's/^pid=//p' {} + 2>/dev/null); do
		ours "$p" && kill -KILL "$p" 2>/dev/null
	done
	# A test that mounted something under $T and did not get to unmount it.
	for _m in $(awk -v t="$T/" 'index($2, t) == 1 { print $2 }' /proc/mounts 2>/dev/null); do
		umount "$_m" 2>/dev/null || umount -l "$_m" 2>/dev/null
	done
	# The uid claimed by private_uid, once its processes are gone.
	[ -z "${PRIV_UID_LOCK:-}" ] || rm -rf "$PRIV_UID_LOCK"
	rm -rf "$T"
}
trap cleanup_test EXIT
trap 'exit 1' INT TERM

ok() { echo "ok - $*"; }
not_ok() { echo "not ok - $*"; }
skip() { echo "skip - $*"; }

# check NAME CMD...: ok when CMD succeeds.
check() {
	_name=$1
	shift
	if "$@"; then ok "$_name"; else not_ok "$_name"; fi
}

# diag LABEL TEXT: TEXT as diagnostics, every line of it behind "#", so
# that no line of it counts as a result.
diag() { printf '%s\n' "$2" | sed "1s/^/#   $1 /; 2,\$s/^/#   | /"; }

# expect_eq NAME EXPECTED ACTUAL
expect_eq() {
	if [ "$2" = "$3" ]; then
		ok "$1"
	else
		not_ok "$1"
		diag 'expected:' "$2"
		diag 'got:     ' "$3"
	fi
}

# expect_match NAME PATTERN TEXT (grep -E pattern)
expect_match() {
	if printf '%s\n' "$3" | grep -Eq -- "$2"; then
		ok "$1"
	else
		not_ok "$1"
		diag 'pattern:' "$2"
		diag 'text:   ' "$3"
	fi
}

# have CMD: is a peer installed?
have() { command -v "$1" >/dev/null 2>&1; }

# free_port [ADDR]: a TCP port that nobody uses on ADDR (127.0.0.1 unless
# given: ::1, 0.0.0.0) right now: the kernel's own pick for port 0, so
# test files and runs side by side never pick the same one. Without
# python3, a random one from the kernel's ephemeral range. Fails when ADDR
# cannot be bound at all (no IPv6). Another process may still take the
# port before the test binds it: retry_port starts again with another.
free_port() {
	if have python3; then
		python3 -c 'import socket, sys
a = sys.argv[1]
s = socket.socket(socket.AF_INET6 if ":" in a else socket.AF_INET)
try:
    s.bind((a, 0))
except OSError:
    sys.exit(1)
print(s.getsockname()[1])' "${1:-127.0.0.1}"
	else
		echo $((32768 + $(od -An -N2 -tu2 /dev/urandom | tr -d ' ') % 28000))
	fi
}

# addr_in_use TEXT...: some TEXT (a message, or with -f the files named)
# says a bind failed because the address is taken.
addr_in_use() {
	if [ "$1" = -f ]; then
		shift
		grep -qs 'Address already in use' "$@"
	else
		case $* in *"Address already in use"*) return 0 ;; esac
		return 1
	fi
}

# retry_port ADDR 'CODE' ['TAKEN']: PORT=$(free_port ADDR), then evaluates
# CODE, which binds PORT (runs spawn -p "$PORT", starts a server). When
# TAKEN then holds (by default: addr_in_use "$ERR") the port was taken
# between the pick and the bind, by a process of another test: CODE runs
# again with a new port, 5 times at most. The status is CODE's.
retry_port() {
	_rp_try=1
	while :; do
		PORT=$(free_port "$1") || return 1
		eval "$2"
		_rp_rc=$?
		[ $_rp_try -lt 5 ] && eval "${3:-addr_in_use \"\$ERR\"}" || return $_rp_rc
		echo "# port $PORT on $1 was taken before the test could bind it: again with another"
		_rp_try=$((_rp_try + 1))
	done
}

# held_port [ADDR]: HELD_PORT, a port the kernel picked on ADDR (127.0.0.1
# unless given), held bound but not listening by a process of its own
# (HELD_PID, ended at exit): nobody else can listen there meanwhile, so a
# connection to it is refused for sure.
held_port() {
	rm -f "$T/.held"
	python3 -c 'import os, socket, sys, time
a, f = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_INET6 if ":" in a else socket.AF_INET)
s.bind((a, 0))
with open(f + ".tmp", "w") as o:
    o.write("%d\n" % s.getsockname()[1])
os.rename(f + ".tmp", f)
time.sleep(300)' "${1:-127.0.0.1}" "$T/.held" 2>/dev/null &
	HELD_PID=$!
	track "$HELD_PID"
	wait_until 5 test -s "$T/.held" || return 1
	HELD_PORT=$(cat "$T/.held")
}

# private_uid: sets PRIV_UID to a uid that no user has and no process
# uses, claimed for this test file alone, for the RLIMIT_NPROC tests (the
# limit counts every process of the real uid on the machine, so another
# test file or run using the same uid at the same time would break the
# count). The uids tried, 54400..54599, are clear of the fixed ones the
# tests run probes as. The claim is a directory /tmp/spawn-test-uid.UID
# holding the pid of this file's shell; cleanup_test removes it; a claim
# whose shell is gone is removed when met, and the next uid tried.
private_uid() {
	_u=54400
	while [ $_u -lt 54600 ]; do
		_lk=/tmp/spawn-test-uid.$_u
		if mkdir "$_lk" 2>/dev/null; then
			echo $$ >"$_lk/owner"
			if ! getent passwd $_u >/dev/null 2>&1 &&
			    ! getent group $_u >/dev/null 2>&1 &&
			    [ -z "$(ps -u $_u -o pid= 2>/dev/null)" ]; then
				PRIV_UID=$_u
				PRIV_UID_LOCK=$_lk
				return 0
			fi
			rm -rf "$_lk"
		elif [ -s "$_lk/owner" ] && dead "$(cat "$_lk/owner")"; then
			rm -rf "$_lk"
		fi
		_u=$((_u + 1))
	done
	return 1
}

# run_spawn ARGS...: runs spawn to completion; sets RC, OUT, ERR.
run_spawn() {
	"$SPAWN" "$@" >"$T/.out" 2>"$T/.err" </dev/null
	RC=$?
	OUT=$(cat "$T/.out")
	ERR=$(cat "$T/.err")
}

# start_time PID: START_TIME, the process's start time (field 22 of
# /proc/PID/stat), which with the pid names one process for good; false
# when there is no such process.
start_time() {
	START_TIME=
	_l=
	{ read -r _l <"/proc/$1/stat"; } 2>/dev/null || return 1
	set -- ${_l##*) }
	[ $# -ge 20 ] || return 1
	shift 19
	START_TIME=$1
}

# track PID...: end these at exit (cleanup_test), each with its start time.
track() {
	for _p in "$@"; do
		_stt=-
		start_time "$_p" && _stt=$START_TIME
		echo "$_p $_stt" >>"$T/.pids"
	done
}

# ours PID: a live process of this test file: its command line,
# environment, working directory or root names $T.
ours() {
	alive "$1" || return 1
	grep -qsF -- "$T" "/proc/$1/cmdline" "/proc/$1/environ" && return 0
	case $(readlink "/proc/$1/cwd" 2>/dev/null) in "$T" | "$T"/*) return 0 ;; esac
	case $(readlink "/proc/$1/root" 2>/dev/null) in "$T"/*) return 0 ;; esac
	return 1
}

# dead PID: gone, or a zombie (this sandbox reaps orphans late). Read
# with the shell's own read, no process forked: the tests call this in
# tight polls, many files at once.
dead() {
	_l=
	{ read -r _l <"/proc/$1/stat"; } 2>/dev/null || return 0
	_st=${_l##*) }
	_st=${_st%% *}
	[ -z "$_st" ] || [ "$_st" = Z ] || [ "$_st" = X ]
}
alive() { ! dead "$1"; }

# poll_pause: the sleep between two polls of wait_until and wait_for, in
# ms (_waited, the time slept so far, decides): 10 ms for the first 0.2 s,
# 20 ms up to 1 s, 50 ms up to 3 s, then 100 ms. What comes quickly is
# seen quickly; a long wait costs few processes, which matters when the
# test files run in parallel.
poll_pause() {
	if [ $_waited -lt 200 ]; then _ms=10 _s=0.01
	elif [ $_waited -lt 1000 ]; then _ms=20 _s=0.02
	elif [ $_waited -lt 3000 ]; then _ms=50 _s=0.05
	else _ms=100 _s=0.1
	fi
	sleep $_s
	_waited=$((_waited + _ms))
}

# wait_until SECONDS CMD...: polls CMD until it succeeds; false when it
# has not after SECONDS of sleeping between polls.
wait_until() {
	_limit=$(( $1 * 1000 ))
	shift
	_waited=0
	while :; do
		"$@" && return 0
		[ $_waited -lt $_limit ] || return 1
		poll_pause
	done
}

# wait_for SECONDS 'SHELL CODE': like wait_until, but the code is evaluated
# afresh on every poll, so "$(...)" in it is re-run each time.
wait_for() {
	_limit=$(( $1 * 1000 ))
	_wf_code=$2
	_waited=0
	while :; do
		eval "$_wf_code" && return 0
		[ $_waited -lt $_limit ] || return 1
		poll_pause
	done
}

all_dead() { for _p in "$@"; do alive "$_p" && return 1; done; return 0; }

# stop PID...: SIGTERM, then SIGKILL after 5 s; waits until all are dead.
stop() {
	for _p in "$@"; do kill "$_p" 2>/dev/null; done
	wait_until 5 all_dead "$@" && return 0
	for _p in "$@"; do kill -KILL "$_p" 2>/dev/null; done
	wait_until 5 all_dead "$@"
}

# report_pids DIR: pids of the probes that reported there.
report_pids() {
	for _f in "$1"/*.report; do
		[ -e "$_f" ] || continue
		_f=${_f##*/}
		echo "${_f%.report}"
	done
}
count_reports() { ls "$1" 2>/dev/null | grep -c '\.report$'; }

# rget DIR PID KEY: one value from a probe report.
rget() { sed -n "s/^$3=//p" "$1/$2.report" | head -n 1; }

# proc_state PID: the State letter from /proc (nothing when it is gone).
proc_state() {
	_l=
	{ read -r _l <"/proc/$1/stat"; } 2>/dev/null || return 0
	_l=${_l##*) }
	echo "${_l%% *}"
}

# children_of PID: the live (not zombie) children of PID, in one pass over
# /proc.
children_of() {
	cat /proc/[0-9]*/stat 2>/dev/null | awk -v p="$1" '{
		pid = $1; sub(/.*\) /, "")
		if ($2 == p && $1 != "Z" && $1 != "X") print pid }'
}

is_root() { [ "$(id -u)" = 0 ]; }

# sock_gone PATH
sock_gone() { [ ! -e "$1" ] && [ ! -L "$1" ]; }

# Probe reports in a directory, for wait_until (which re-runs its command).
has_report() { [ -n "$(report_pids "$1")" ]; }
first_report() { wait_until 5 has_report "$1"; report_pids "$1" | head -n 1; }
# nothing_running DIR: every probe that reported in DIR is dead.
nothing_running() {
	for _f in "$1"/*.report; do
		[ -e "$_f" ] || continue
		_f=${_f##*/}
		alive "${_f%.report}" && return 1
	done
	return 0
}
# label ARGS...: a command line for a test name, without the temp paths.
label() { printf '%s' "$*" | sed "s#$BIN/##g; s#$T#T#g; s#$TOP/tests/##g"; }

# bad MESSAGE ARGS...: spawn ARGS is bad input: exit 2, exactly MESSAGE,
# nothing started (no report in $R), nothing left (no socket $S, no
# $T/never.log, the --output file the tests name for this).
bad() {
	_want=$1
	shift
	run_spawn "$@"
	_l=$(label "$@")
	expect_eq "bad input [$_l]: exit 2" 2 "$RC"
	expect_eq "bad input [$_l]: message" "$_want" "$ERR"
	check "bad input [$_l]: nothing started" test "$(count_reports "$R")" -eq 0
	check "bad input [$_l]: no socket left" sock_gone "$S"
	check "bad input [$_l]: no output file left" test ! -e "$T/never.log"
	rm -f "$T/never.log"
}

# --- spawn in the background (t-supervise*.sh, t-hostile*.sh).
# spawn_bg NAME ARGS...: spawn ARGS in the background, its output in
# $T/NAME.out and $T/NAME.err; SP is its pid, BGNAME the NAME.
spawn_bg() {
	BGNAME=$1
	shift
	"$SPAWN" "$@" >"$T/$BGNAME.out" 2>"$T/$BGNAME.err" </dev/null &
	SP=$!
	track "$SP"
}
# finish SECS: waits (bounded) for $SP to exit; RC is its status, or
# "timeout" (and it is killed). A failing status shows, for the log, the
# end of what spawn BGNAME said.
finish() {
	if wait_until "$1" dead "$SP"; then
		wait "$SP"
		RC=$?
	else
		kill -KILL "$SP" 2>/dev/null
		wait "$SP"
		RC=timeout
	fi
	[ "$RC" = 0 ] || [ -z "${BGNAME:-}" ] ||
	    tail -n 5 "$T/$BGNAME.err" 2>/dev/null | sed 's/^/#   stderr: /'
}
# spawned FILE: how many children spawn reported as started in FILE.
spawned() {
	_c=$(grep -c '^spawn: child spawned successfully: PID: [0-9][0-9]*$' "$1" 2>/dev/null)
	echo "${_c:-0}"
}
# kids PID: live (non-zombie) children of PID, sorted.
kids() { children_of "$1" | sort -n; }
# n_reports_is DIR N: N probes reported in DIR.
n_reports_is() { test "$(count_reports "$1")" -eq "$2"; }

# --- Supervision helpers (t-supervise*.sh; some also in t-hostile*.sh).
# bg NAME ARGS...: spawn_bg.
bg() { spawn_bg "$@"; }
# started NAME N: spawn NAME printed N "spawned successfully" lines.
started() { test "$(spawned "$T/$1.out")" -eq "$2"; }
# up NAME N: waits (bounded) for spawn NAME to have started N children;
# shows its stderr when it did not.
up() {
	wait_until 5 started "$1" "$2" && return 0
	sed 's/^/#   spawn: /' "$T/$1.err"
	return 1
}
# zombies_of PID: children of PID in state Z.
zombies_of() {
	cat /proc/[0-9]*/stat 2>/dev/null | awk -v p="$1" '{
		pid = $1; sub(/.*\) /, "")
		if ($2 == p && $1 == "Z") print pid }' | sort -n
}
flat() { echo $*; }
sorted_reports() { report_pids "$1" | sort -n; }
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
	( while alive "$1"; do children_of "$1" | wc -l; sleep 0.01; done >"$2" ) &
	SAMPLER=$!
	track "$SAMPLER"
}
end_sampler() { wait_until 5 dead "$SAMPLER"; kill "$SAMPLER" 2>/dev/null; wait "$SAMPLER" 2>/dev/null; }
max_in() { sort -n "$1" | tail -n 1; }
newdir() { rm -rf "$1"; mkdir -p "$1"; }

# --- A hung file system (t-hostile-stuck*.sh).
# hung_fs DIR READY: mounts on DIR a FUSE file system whose server never
# answers (a lookup there waits in the kernel, as on a hung network mount)
# and holds it (its pid is HUNG); READY appears once it is mounted.
# unhang DIR: ends it and unmounts DIR.
hung_fs() {
	python3 -c 'import ctypes, os, sys, time
libc = ctypes.CDLL(None, use_errno=True)
fd = os.open("/dev/fuse", os.O_RDWR)
opts = "fd=%d,rootmode=40000,user_id=0,group_id=0,allow_other" % fd
if libc.mount(b"spawn-test-hung", sys.argv[1].encode(), b"fuse", 0, opts.encode()) != 0:
    sys.exit(1)
open(sys.argv[2], "w").close()
time.sleep(120)' "$1" "$2" 2>/dev/null &
	HUNG=$!
	track "$HUNG"
	wait_until 5 test -e "$2"
}
unhang() {
	kill "$HUNG" 2>/dev/null
	wait_until 5 dead "$HUNG"
	umount "$1" 2>/dev/null || umount -l "$1"
}
