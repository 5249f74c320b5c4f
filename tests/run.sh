#!/bin/sh
# make check: tests/unit and every tests/t-*.sh, TEST_JOBS of them at a
# time (default: 3 per CPU: the files spend most of their time waiting on
# the processes they start; on 2 CPUs 6 was the fastest of 4, 5, 6 and
# 8). Each file's output is printed whole, in a fixed order (unit, then
# the files by name), as soon as it and every file before it are done,
# followed by "# NAME: N s". Counts the "ok", "not ok" and "skip" lines
# and ends with "N passed, N failed, N skipped"; the exit status is
# non-zero on any failure.
#
# TESTS="unit t-core t-hostile*": only these (names without .sh, shell
# patterns allowed). TEST_JOBS=1: one file at a time. TEST_TIMEOUT: seconds
# one file may take before it is stopped and counted as failed (600).
TOP=$(cd "$(dirname "$0")/.." && pwd)
export TOP
only=${TESTS:-}
ncpu=$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 2)
case $ncpu in ''|*[!0-9]*|0) ncpu=2 ;; esac
jobs=${TEST_JOBS:-$((ncpu * 3))}
limit=${TEST_TIMEOUT:-600}
case $jobs in ''|*[!0-9]*|0) echo "run.sh: TEST_JOBS \"$jobs\": not a number (1..)" >&2; exit 2 ;; esac
case $limit in ''|*[!0-9]*|0) echo "run.sh: TEST_TIMEOUT \"$limit\": not a number of seconds" >&2; exit 2 ;; esac

# W holds each file's output (NAME.out), exit status (NAME.rc, written
# last) and the pid of its shell (NAME.pid); W/bin is the one copy of the
# binaries per run, in a directory every user can enter, so that children
# that drop privileges reach them wherever the clone is (lib.sh uses it;
# see stage_binaries there).
W=$(mktemp -d /tmp/spawn-check.XXXXXX) || exit 1
SPAWN_STAGE=$W/bin
cleanup_run() {
	# Files still running (an interrupt, or the loop below giving up):
	# SIGTERM lets lib.sh end what each one started, SIGKILL 10 s later.
	_left=
	for _f in "$W"/*.pid; do
		[ -e "$_f" ] || continue
		_n=$(basename "$_f" .pid)
		[ -e "$W/$_n.rc" ] && continue
		_p=$(cat "$_f")
		kill -TERM "$_p" 2>/dev/null && _left="$_left $_p"
	done
	_i=0
	while [ -n "$_left" ] && [ $_i -lt 100 ]; do
		_still=
		for _p in $_left; do kill -0 "$_p" 2>/dev/null && _still="$_still $_p"; done
		_left=$_still
		[ -z "$_left" ] || sleep 0.1
		_i=$((_i + 1))
	done
	for _p in $_left; do kill -KILL "$_p" 2>/dev/null; done
	rm -rf "$W"
}
trap cleanup_run EXIT
trap 'echo "run.sh: interrupted" >&2; exit 1' INT TERM HUP
chmod 755 "$W"
if mkdir "$SPAWN_STAGE" &&
    cp "$TOP/spawn" "$TOP/tests/probe" "$TOP/tests/fcgiclient" "$SPAWN_STAGE/" &&
    chmod 755 "$SPAWN_STAGE" "$SPAWN_STAGE"/*; then
	export SPAWN_STAGE
else
	echo "run.sh: cannot stage the binaries in $SPAWN_STAGE" >&2
	exit 1
fi

# The tests call python3 often. Where the python3 on PATH is a wrapper
# (pyenv's shims run bash and pyenv on every call: 0.1 s of CPU each,
# several seconds a run), they get the interpreter it runs, from a
# directory put first on PATH.
if py=$(command -v python3) &&
    real=$(python3 -c 'import sys; print(sys.executable)' 2>/dev/null) &&
    [ -x "$real" ] && [ "$(readlink -f "$py")" != "$(readlink -f "$real")" ] &&
    mkdir "$W/python" && ln -s "$real" "$W/python/python3"; then
	PATH=$W/python:$PATH
	export PATH
fi

# selected NAME: TESTS is empty, or one of its words matches NAME.
selected() {
	[ -z "$only" ] && return 0
	set -f
	for _w in $only; do
		# shellcheck disable=SC2254
		case $1 in $_w) set +f; return 0 ;; esac
	done
	set +f
	return 1
}

# The files in print order; then the order they start in: the longest
# first (measured; a file missing here just starts later), so that the
# run is not left waiting on one long file started last.
names=
for t in unit unit-pool "$TOP"/tests/t-*.sh; do
	n=$(basename "$t" .sh)
	selected "$n" && names="$names $n"
done
if [ -z "$names" ]; then
	echo "run.sh: no test matches TESTS=\"$only\"" >&2
	echo "0 passed, 0 failed, 0 skipped"
	exit 1
fi
LONGEST="t-pool t-cgi t-hostile-stuck t-hostile-stuck-r t-integration t-supervise t-supervise-reload t-hostile t-cgi-launch t-cgi-limits"
queue=
for n in $LONGEST; do
	case " $names " in *" $n "*) queue="$queue $n" ;; esac
done
for n in $names; do
	case " $queue " in *" $n "*) ;; *) queue="$queue $n" ;; esac
done

# start NAME: runs the file in the background; its shell's pid goes to
# W/NAME.pid, its exit status to W/NAME.rc once it has ended.
start() {
	if [ "$1" = unit ] || [ "$1" = unit-pool ]; then
		set -- "$1" "$TOP/tests/$1"
	else
		set -- "$1" sh "$TOP/tests/$1.sh"
	fi
	date +%s >"$W/$1.t0"
	(
		_n=$1
		shift
		"$@" >"$W/$_n.out" 2>&1 </dev/null &
		echo $! >"$W/$_n.pid"
		wait $!
		_rc=$?
		date +%s >"$W/$_n.t1"
		echo $_rc >"$W/$_n.rc.tmp"
		mv "$W/$_n.rc.tmp" "$W/$_n.rc"
	) &
	# The pid file is there before anyone may need it (a time-out).
	_i=0
	while [ ! -s "$W/$1.pid" ] && [ $_i -lt 500 ]; do sleep 0.01; _i=$((_i + 1)); done
}

# timed_out NAME: it has run past TEST_TIMEOUT: SIGTERM (its lib.sh trap
# ends what it started), SIGKILL 10 s later; after 30 s more it is given
# up on.
timed_out() {
	_age=$(( $(date +%s) - $(cat "$W/$1.t0") ))
	[ $_age -gt "$limit" ] || return 1
	if [ ! -e "$W/$1.timeout" ]; then
		echo "not ok - tests/$1.sh: still running after $limit s (TEST_TIMEOUT), stopped" >"$W/$1.timeout"
		kill -TERM "$(cat "$W/$1.pid")" 2>/dev/null
	elif [ $_age -gt $((limit + 10)) ]; then
		kill -KILL "$(cat "$W/$1.pid")" 2>/dev/null
	fi
	if [ $_age -gt $((limit + 40)) ] && [ ! -e "$W/$1.rc" ]; then
		echo timeout >"$W/$1.rc"
	fi
	return 0
}

# show NAME: its output, then a "not ok" when its shell failed.
show() {
	case $1 in
	unit|unit-pool) echo "# $1 (tests/$1)" ;;
	*) echo "# $1.sh" ;;
	esac
	cat "$W/$1.out"
	[ -e "$W/$1.timeout" ] && cat "$W/$1.timeout"
	_rc=$(cat "$W/$1.rc")
	[ "$_rc" = 0 ] || echo "not ok - tests/$1 exited with status $_rc"
	_t1=$(cat "$W/$1.t1" 2>/dev/null || date +%s)
	echo "# $1: $((_t1 - $(cat "$W/$1.t0"))) s"
}

# The loop: start files while fewer than TEST_JOBS run, print those done
# in order, poll every 0.1 s. Every file ends or is stopped by its
# time-out, so the loop ends; its count bounds it all the same.
running=
printed=0
total=$(echo $names | wc -w)
max_polls=$(( (limit + 60) * 10 * total ))
polls=0
: >"$W/all.log"
while [ $printed -lt "$total" ] && [ $polls -lt $max_polls ]; do
	still=
	for n in $running; do
		[ -e "$W/$n.rc" ] || { timed_out "$n"; still="$still $n"; }
	done
	running=$still
	set -- $running
	nrun=$#
	while [ -n "$queue" ] && [ $nrun -lt "$jobs" ]; do
		set -- $queue
		n=$1
		shift
		queue=$*
		start "$n"
		running="$running $n"
		nrun=$((nrun + 1))
	done
	i=0
	for n in $names; do
		i=$((i + 1))
		[ $i -le $printed ] && continue
		[ -e "$W/$n.rc" ] || break
		show "$n" | tee -a "$W/all.log"
		printed=$i
	done
	[ $printed -lt "$total" ] && sleep 0.1
	polls=$((polls + 1))
done
if [ $printed -lt "$total" ]; then
	echo "not ok - tests/run.sh: gave up waiting for the test files" | tee -a "$W/all.log"
fi

pass=$(grep -c '^ok ' "$W/all.log")
fail=$(grep -c '^not ok ' "$W/all.log")
skipped=$(grep -c '^skip ' "$W/all.log")
echo "$pass passed, $fail failed, $skipped skipped"
[ "$fail" -eq 0 ] && [ "$pass" -gt 0 ]
