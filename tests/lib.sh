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
	stage_binaries "$BIN" || { echo "not ok - stage the binaries in $BIN"; exit 1; }
fi
SPAWN=$BIN/spawn
PROBE=$BIN/probe
CLIENT=$BIN/fcgiclient

cleanup_test() {
	for p in $(cat "$T/.pids" 2>/dev/null); do
		kill -KILL "$p" 2>/dev/null
	done
	# Every probe that reported anywhere under $T, however deep (but not
	# inside a file system a test mounted there: it may hang).
	for p in $(find "$T" -xdev -name '*.report' -exec sed -n 's/^pid=//p' {} + 2>/dev/null); do
		kill -KILL "$p" 2>/dev/null
	done
	# A test that mounted something under $T and did not get to unmount it.
	for _m in $(awk -v t="$T/" 'index($2, t) == 1 { print $2 }' /proc/mounts 2>/dev/null); do
		umount "$_m" 2>/dev/null || umount -l "$_m" 2>/dev/null
	done
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

# expect_eq NAME EXPECTED ACTUAL
expect_eq() {
	if [ "$2" = "$3" ]; then
		ok "$1"
	else
		not_ok "$1"
		printf '#   expected: %s\n#   got:      %s\n' "$2" "$3"
	fi
}

# expect_match NAME PATTERN TEXT (grep -E pattern)
expect_match() {
	if printf '%s\n' "$3" | grep -Eq -- "$2"; then
		ok "$1"
	else
		not_ok "$1"
		printf '#   pattern: %s\n#   text:    %s\n' "$2" "$3"
	fi
}

# have CMD: is a peer installed?
have() { command -v "$1" >/dev/null 2>&1; }

# run_spawn ARGS...: runs spawn to completion; sets RC, OUT, ERR.
run_spawn() {
	"$SPAWN" "$@" >"$T/.out" 2>"$T/.err" </dev/null
	RC=$?
	OUT=$(cat "$T/.out")
	ERR=$(cat "$T/.err")
}

# track PID...: end these at exit.
track() { for _p in "$@"; do echo "$_p" >>"$T/.pids"; done; }

# dead PID: gone, or a zombie (this sandbox reaps orphans late).
dead() {
	[ -r "/proc/$1/stat" ] || return 0
	_st=$(sed 's/.*) \(.\).*/\1/' "/proc/$1/stat" 2>/dev/null) || return 0
	[ -z "$_st" ] || [ "$_st" = Z ] || [ "$_st" = X ]
}
alive() { ! dead "$1"; }

# wait_until SECONDS CMD...: polls CMD every 20 ms; false on time-out.
wait_until() {
	_limit=$(( $1 * 50 ))
	shift
	_i=0
	while [ $_i -lt $_limit ]; do
		"$@" && return 0
		sleep 0.02
		_i=$((_i + 1))
	done
	return 1
}

# wait_for SECONDS 'SHELL CODE': like wait_until, but the code is evaluated
# afresh on every poll, so "$(...)" in it is re-run each time.
wait_for() {
	_limit=$(( $1 * 50 ))
	_i=0
	while [ $_i -lt $_limit ]; do
		eval "$2" && return 0
		sleep 0.02
		_i=$((_i + 1))
	done
	return 1
}

all_dead() { for _p in "$@"; do alive "$_p" && return 1; done; return 0; }

# stop PID...: SIGTERM, then SIGKILL after 5 s; waits until all are dead.
stop() {
	for _p in "$@"; do kill "$_p" 2>/dev/null; done
	wait_until 5 all_dead "$@" && return 0
	for _p in "$@"; do kill -KILL "$_p" 2>/dev/null; done
	wait_until 5 all_dead "$@"
}

# pids_of_report_dir DIR: pids of the probes that reported there.
report_pids() { for _f in "$1"/*.report; do [ -e "$_f" ] && basename "$_f" .report; done; }
count_reports() { ls "$1" 2>/dev/null | grep -c '\.report$'; }

# rget DIR PID KEY: one value from a probe report.
rget() { sed -n "s/^$3=//p" "$1/$2.report" | head -n 1; }

# state PID: the State letter from /proc.
proc_state() { sed 's/.*) \(.\).*/\1/' "/proc/$1/stat" 2>/dev/null; }

# no_children_of PID: no live process has PPid PID.
children_of() {
	for _s in /proc/[0-9]*/stat; do
		_pp=$(awk '{ sub(/.*\) /, ""); print $2 " " $1 }' "$_s" 2>/dev/null)
		case $_pp in "$1 "[!Z]*) echo "${_s#/proc/}" | cut -d/ -f1 ;; esac
	done
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
		alive "$(basename "$_f" .report)" && return 1
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
