#!/bin/sh
# tests/bench/run.sh: the benchmark report behind `make bench`.
#
# Every figure is a ratio against a reference measured in the same run on
# the same machine (a bare fork+exec loop, a bare sigwaitinfo supervisor,
# spawn-fcgi and multiwatch where installed), because absolute times say
# more about the machine than about spawn. Times are medians of several
# runs. Targets that are missed are marked MISSED, but the exit status is
# 0 all the same: machines are noisy and this is a report, not a test. It
# exits non-zero only when a measurement itself could not be made.
#
# Everything runs on unix sockets in one temporary directory, under a
# child subreaper (benchtool reap) so that no orphan outlives the run; only
# processes started here are ever signalled.
#
# Environment: SPAWN, PROBE, CLIENT (default: the ones in the tree),
# BENCH_RUNS (runs per median, 7), BENCH_KILLS (SIGKILLs for the respawn
# latency, 20), BENCH_PARTS (which sections, "1 2 3 4"), CC.

set -u

here=$(cd "$(dirname "$0")" && pwd) || exit 1
top=$(cd "$here/../.." && pwd) || exit 1

if [ "${1:-}" != --inner ]; then
	tmpdir=$(mktemp -d /tmp/spawn-bench.XXXXXX) || exit 1
	trap 'rm -rf "$tmpdir"' EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	for prog in sleeper floor-start floor-super benchtool; do
		${CC:-cc} -O2 -o "$tmpdir/$prog" "$here/$prog.c" || {
			echo "bench: cannot build $prog" >&2
			exit 1
		}
	done
	# In the background, so that a signal reaches the trap at once and is
	# passed on, instead of waiting for the whole run to finish.
	"$tmpdir/benchtool" reap sh "$0" --inner "$tmpdir" &
	reaper=$!
	trap 'kill -TERM "$reaper" 2>/dev/null' INT TERM
	while :; do
		wait "$reaper"
		rc=$?
		kill -0 "$reaper" 2>/dev/null || exit "$rc"
	done
fi

tmpdir=$2
bt=$tmpdir/benchtool
sleeper=$tmpdir/sleeper
sock=$tmpdir/s.sock
SPAWN=${SPAWN:-$top/spawn}
PROBE=${PROBE:-$top/tests/probe}
CLIENT=${CLIENT:-$top/tests/fcgiclient}
RUNS=${BENCH_RUNS:-7}
KILLS=${BENCH_KILLS:-20}
summary=$tmpdir/summary
broke=0
bgpids=
: >"$summary"

# Stops whatever supervisors are still running; benchtool reap catches the
# rest.
cleanup() {
	for p in $bgpids; do
		"$bt" stop "$p" 9 1000 >/dev/null 2>&1
	done
	bgpids=
}
trap cleanup EXIT
trap 'cleanup; exit 130' INT
trap 'cleanup; exit 143' TERM

broken() {
	echo "bench: BROKEN: $*" >&2
	broke=1
}

have() {
	command -v "$1" >/dev/null 2>&1
}

# median FILE: the median of the numbers in FILE, one a line ("-" if none).
median() {
	sort -n "$1" 2>/dev/null | awk '{ a[NR] = $1 }
	    END {
		if (NR == 0) print "-"
		else if (NR % 2) print a[(NR + 1) / 2]
		else printf "%.3f\n", (a[NR / 2] + a[NR / 2 + 1]) / 2
	    }'
}

# ratio A B: A/B with two decimals, "-" when either is missing or B is 0.
ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN {
		if (a == "-" || b == "-" || b + 0 == 0) print "-"
		else printf "%.2f\n", a / b
	}'
}

# target LINE VALUE OP LIMIT [SHOWN]: one summary line, with MISSED when
# VALUE OP LIMIT does not hold; SHOWN replaces "OP LIMIT" in the text.
target() {
	awk -v line="$1" -v v="$2" -v op="$3" -v lim="$4" -v shown="${5:-}" '
	BEGIN {
		if (shown == "") shown = op " " lim
		if (v == "-") { printf "%s (target %s) NOT MEASURED\n",
		    line, shown; exit }
		ok = (op == "<=") ? v + 0 <= lim + 0 : v + 0 == lim + 0
		printf "%s (target %s)%s\n", line, shown, ok ? "" : " MISSED"
	}' >>"$summary"
}

info() {
	echo "$1 (reference only)" >>"$summary"
}

# status_kb PID FIELD: a kB figure from /proc/PID/status ("-" if none).
status_kb() {
	awk -v f="$2:" '$1 == f { v = $2 } END { print v == "" ? "-" : v }' \
	    "/proc/$1/status" 2>/dev/null
}

ctxt() {
	awk '$1 == "voluntary_ctxt_switches:" ||
	    $1 == "nonvoluntary_ctxt_switches:" { s += $2 }
	    END { print s + 0 }' "/proc/$1/status" 2>/dev/null
}

# bg_start NAME CMD ...: starts a supervisor in the background, its stderr
# in a log; sets $pid.
bg_start() {
	bgname=$1
	shift
	"$@" >/dev/null 2>>"$tmpdir/log-$bgname" &
	pid=$!
	bgpids="$bgpids $pid"
}

# bg_stop PID: stops a supervisor with SIGTERM (SIGKILL after 5 s) and
# reaps it.
bg_stop() {
	"$bt" stop "$1" 15 5000 || echo "bench: $1 had to be killed" >&2
	wait "$1" 2>/dev/null
	bgpids=$(echo "$bgpids" | tr ' ' '\n' | grep -vx "$1" | tr '\n' ' ')
}

if [ ! -x "$SPAWN" ]; then
	echo "bench: $SPAWN is not built" >&2
	exit 1
fi
have spawn-fcgi && sfcgi=$(command -v spawn-fcgi) || sfcgi=
have multiwatch && mwatch=$(command -v multiwatch) || mwatch=
[ -n "$sfcgi" ] && [ -n "$mwatch" ] && classic=1 || classic=

echo "spawn benchmark report"
echo "  spawn:      $SPAWN ($("$SPAWN" --version 2>/dev/null | head -n 1))"
echo "  machine:    $(uname -sr), $(getconf _NPROCESSORS_ONLN 2>/dev/null) cpus"
echo "  spawn-fcgi: ${sfcgi:-not installed}"
echo "  multiwatch: ${mwatch:-not installed}"
echo "  runs per median: $RUNS; the program is a C pause() loop"
echo

# 1. Start-up cost. Each run starts N children from scratch and is timed
# from fork to exit of the launcher; the children are then killed and
# reaped outside the timing. Runs of the different launchers are
# interleaved so that drift in the machine's speed hits all of them alike.
part1() {
	echo "1. Start-up: wall time to start N children (ms, median of $RUNS)"
	echo "   floor = bind + N x (pipe2, fork, dup2, exec, read EOF), one child at a time;"
	[ -n "$sfcgi" ] &&
	    echo "   spawn-fcgi forks all N, then sleeps 100 ms and checks none has died"
	printf '   %5s %12s %12s %8s %14s\n' N spawn floor ratio spawn-fcgi
	for n in 1 64 512; do
		for r in $(seq "$RUNS"); do
			rm -f "$sock"
			"$bt" trial "$tmpdir/start-spawn-$n" "$n" "$SPAWN" -s "$sock" \
			    -F "$n" --min-uptime 0 -- "$sleeper" ||
			    broken "spawn -F $n --min-uptime 0"
			rm -f "$sock"
			"$bt" trial "$tmpdir/start-floor-$n" "$n" "$tmpdir/floor-start" \
			    "$sock" "$n" "$sleeper" || broken "floor-start $n"
			if [ -n "$sfcgi" ]; then
				rm -f "$sock"
				"$bt" trial "$tmpdir/start-sfcgi-$n" "$n" "$sfcgi" \
				    -s "$sock" -F "$n" -- "$sleeper" ||
				    broken "spawn-fcgi -F $n"
			fi
		done
		s=$(median "$tmpdir/start-spawn-$n")
		f=$(median "$tmpdir/start-floor-$n")
		c=$(median "$tmpdir/start-sfcgi-$n")
		printf '   %5s %12s %12s %8s %14s\n' "$n" "$s" "$f" "$(ratio "$s" "$f")" "$c"
		target "start N=$n: spawn/floor = $(ratio "$s" "$f")" "$(ratio "$s" "$f")" "<=" 1.5
	done
	for r in $(seq "$RUNS"); do
		rm -f "$sock"
		"$bt" trial "$tmpdir/start-default" 64 "$SPAWN" -s "$sock" -F 64 -- \
		    "$sleeper" || broken "spawn -F 64"
	done
	d=$(median "$tmpdir/start-default")
	f=$(median "$tmpdir/start-floor-64")
	limit=$(awk -v f="$f" 'BEGIN { if (f == "-") print "-"; else printf "%.3f\n", f + 100 }')
	within=$(awk -v d="$d" -v l="$limit" 'BEGIN {
		if (d == "-" || l == "-") print "-"; else print (d + 0 <= l + 0) ? "yes" : "no" }')
	echo "   default --min-uptime 100, N=64: spawn $d ms, floor+100 $limit ms, within: $within"
	[ "$within" = yes ] && m= || m=" MISSED"
	[ "$within" = - ] && m=" NOT MEASURED"
	echo "start N=64 default: spawn = $d ms, floor + 100 = $limit ms (target: spawn <= floor + 100)$m" >>"$summary"
	echo
}

# 2. Footprint and idle wake-ups. The three supervisors run side by side,
# each with 4 children, and are left idle; an idle supervisor should not
# wake up at all.
part2() {
	echo "2. Supervisor with 4 children: resident memory and idle wake-ups"
	rm -f "$tmpdir/f1.sock" "$tmpdir/f2.sock" "$tmpdir/f3.sock"
	bg_start fp-spawn "$SPAWN" -r -F 4 -s "$tmpdir/f1.sock" -- "$sleeper"
	p_spawn=$pid
	bg_start fp-floor "$tmpdir/floor-super" "$tmpdir/f2.sock" 4 "$sleeper"
	p_floor=$pid
	p_mw=
	if [ -n "$classic" ]; then
		bg_start fp-mw "$sfcgi" -s "$tmpdir/f3.sock" -n -- "$mwatch" -f 4 -- \
		    "$sleeper"
		p_mw=$pid
	fi
	for p in $p_spawn $p_floor $p_mw; do
		"$bt" waitn "$p" 4 5000 || broken "supervisor $p never had 4 children"
	done
	# Past spawn's min-uptime wait, so that only idling is left to measure.
	sleep 0.5
	for p in $p_spawn $p_floor $p_mw; do
		eval "rss_$p=\$(status_kb $p VmRSS) anon_$p=\$(status_kb $p RssAnon)" \
		    "c0_$p=\$(ctxt $p)"
	done
	sleep 3
	for p in $p_spawn $p_floor $p_mw; do
		eval "c1_$p=\$(ctxt $p)"
		"$bt" waitn "$p" 4 10 || broken "supervisor $p lost children while idle"
	done
	echo "   (RssAnon: the private part of VmRSS; the rest is mostly shared libc pages)"
	printf '   %-22s %10s %12s %22s\n' supervisor "VmRSS kB" "RssAnon kB" \
	    "ctxt switches in 3 s"
	for p in $p_spawn $p_floor $p_mw; do
		case $p in
		"$p_spawn") name="spawn -r" ;;
		"$p_floor") name=floor-super ;;
		*) name="spawn-fcgi+multiwatch" ;;
		esac
		eval "rss=\$rss_$p anon=\$anon_$p w=\$((c1_$p - c0_$p))"
		printf '   %-22s %10s %12s %22s\n' "$name" "$rss" "$anon" "$w"
	done
	eval "rs=\$rss_$p_spawn rf=\$rss_$p_floor" \
	    "as=\$anon_$p_spawn af=\$anon_$p_floor" \
	    "ws=\$((c1_$p_spawn - c0_$p_spawn)) wf=\$((c1_$p_floor - c0_$p_floor))"
	target "footprint: spawn/floor VmRSS = $(ratio "$rs" "$rf") ($rs kB vs $rf kB)" "$(ratio "$rs" "$rf")" "<=" 1.5
	info "footprint: spawn/floor RssAnon = $(ratio "$as" "$af") ($as kB vs $af kB)"
	if [ -n "$p_mw" ]; then
		eval "rw=\$rss_$p_mw wm=\$((c1_$p_mw - c0_$p_mw))"
		info "footprint: spawn/multiwatch VmRSS = $(ratio "$rs" "$rw") ($rs kB vs $rw kB)"
	fi
	target "idle: spawn wake-ups in 3 s = $ws, floor = $wf${p_mw:+, multiwatch = $wm}" "$ws" "<=" "$wf" "<= floor"
	for p in $p_spawn $p_floor $p_mw; do
		bg_stop "$p"
	done
	echo
}

# latency NAME CMD ...: starts supervisor CMD, whose one child writes the
# ready file, and collects the respawn latencies in lat-NAME.
latency() {
	lname=$1
	shift
	rm -f "$sock" "$tmpdir/ready"
	bg_start "lat-$lname" "$@"
	p=$pid
	if ! "$bt" respawn "$p" "$tmpdir/ready" "$KILLS" 250 >"$tmpdir/lat-$lname"; then
		broken "respawn latency of $lname"
		: >"$tmpdir/lat-$lname"
	fi
	bg_stop "$p"
}

# 3. Respawn latency: from just before kill(SIGKILL) of the only child to
# the first instruction of its replacement, read from the replacement's own
# CLOCK_MONOTONIC. Children live 250 ms between kills, longer than spawn's
# min-uptime (100 ms) and multiwatch's -t 100, so neither backs off.
part3() {
	echo "3. Respawn latency after SIGKILL of the only child (us, median of $KILLS kills)"
	latency spawn "$SPAWN" -r -F 1 -s "$sock" -- "$sleeper" "$tmpdir/ready"
	latency floor "$tmpdir/floor-super" "$sock" 1 "$sleeper" "$tmpdir/ready"
	if [ -n "$classic" ]; then
		latency mw "$sfcgi" -s "$sock" -n -- "$mwatch" -f 1 -r 1000 -t 100 -- \
		    "$sleeper" "$tmpdir/ready"
	fi
	ls_=$(median "$tmpdir/lat-spawn")
	lf=$(median "$tmpdir/lat-floor")
	lm=$(median "$tmpdir/lat-mw")
	printf '   %-22s %10s\n' "spawn -r" "$ls_" floor-super "$lf"
	[ -n "$classic" ] && printf '   %-22s %10s\n' "spawn-fcgi+multiwatch" "$lm"
	target "respawn: spawn/floor latency = $(ratio "$ls_" "$lf") ($ls_ us vs $lf us)" "$(ratio "$ls_" "$lf")" "<=" 1.5
	[ -n "$classic" ] &&
	    info "respawn: spawn/multiwatch latency = $(ratio "$ls_" "$lm") ($ls_ us vs $lm us)"
	echo
}

# load NAME SUPERVISOR-PID [RELOAD-CMD ...]: runs 4 clients side by side,
# so that every child is busy, and reloads 3 times while they run. A
# client's exit status 1 only means some requests failed, which is the
# result; anything else means the measurement broke.
load() {
	lname=$1
	p=$2
	shift 2
	pidfile=
	case $p in @*) pidfile=${p#@}; p=$(cat "$pidfile") ;; esac
	"$bt" waitn "$p" 4 5000 || broken "$lname never had 4 children"
	"$bt" children "$p" | sort >"$tmpdir/before-$lname"
	clients=
	for i in 1 2 3 4; do
		"$CLIENT" -d 6000 -q "$sock" 2>"$tmpdir/client-$lname-$i" \
		    >/dev/null &
		clients="$clients $!"
	done
	sleep 1
	: >"$tmpdir/reload-$lname"
	for i in 1 2 3; do
		if [ $# -gt 0 ]; then
			"$@" >>"$tmpdir/reload-$lname" ||
			    broken "reload $i of $lname did not complete"
		fi
		sleep 1
	done
	for c in $clients; do
		wait "$c"
		rc=$?
		[ "$rc" -le 1 ] || broken "fcgiclient against $lname exited $rc"
	done
	[ -n "$pidfile" ] && p=$(cat "$pidfile")
	"$bt" waitn "$p" 4 5000 ||
	    broken "$lname does not have 4 children after the reloads"
	"$bt" children "$p" | sort >"$tmpdir/after-$lname"
	[ -n "$pidfile" ] && : >"$tmpdir/before-$lname"
	kept=$(comm -12 "$tmpdir/before-$lname" "$tmpdir/after-$lname" | wc -l)
	set -- $(cat "$tmpdir"/client-$lname-* | sed -n \
	    's/^requests=\([0-9]*\) ok=[0-9]* failed=\([0-9]*\)$/\1 \2/p' |
	    awk '{ r += $1; f += $2; n++ } END { if (n == 4) print r, f }')
	if [ $# -ne 2 ]; then
		broken "fcgiclient against $lname printed no requests=/failed=: $(cat "$tmpdir"/client-$lname-*)"
		set -- - -
	fi
	grep -h '^fcgiclient:' "$tmpdir"/client-$lname-* | head -n 3 |
	    sed "s/^/   ($lname) /" >>"$tmpdir/reasons"
	done=$(wc -l <"$tmpdir/reload-$lname")
	took=$(median "$tmpdir/reload-$lname")
	eval "req_$lname=\$1 fail_$lname=\$2 kept_$lname=\$kept" \
	    "done_$lname=\$done took_$lname=\$took"
}

# mw_restart: how spawn-fcgi+multiwatch picks up new code, having no
# reload: the operator stops the pair and starts it again. Prints the ms
# from the stop to 4 children running again.
mw_restart() {
	t0=$(date +%s%N)
	bg_stop "$(cat "$tmpdir/mw.pid")"
	bg_start load-mwr "$sfcgi" -s "$sock" -n -- "$mwatch" -f 4 -r 1000 \
	    -t 100 -s TERM -- "$PROBE" --serve --delay 5
	echo "$pid" >"$tmpdir/mw.pid"
	"$bt" waitn "$pid" 4 5000 || return 1
	echo $(( ($(date +%s%N) - t0) / 1000000 ))
}

# 4. Requests lost across reloads. 4 clients keep 6 s of requests going at
# 4 children that take 5 ms a request, while the pool is replaced 3 times:
# spawn by SIGHUP; multiwatch, which has no reload, by SIGTERM to each child
# in turn (it restarts them, and the probe finishes its request first).
part4() {
	echo "4. Requests lost across 3 reloads under load"
	echo "   4 clients x 6 s against 4 children (probe --serve --delay 5), pool replaced 3 times"
	if [ ! -x "$PROBE" ] || [ ! -x "$CLIENT" ]; then
		echo "   skipped: tests/probe or tests/fcgiclient is not built"
		echo "reload: SKIPPED (tests/probe or tests/fcgiclient missing)" >>"$summary"
	else
		rm -f "$sock"
		bg_start load-base "$SPAWN" -r -F 4 -s "$sock" -- "$PROBE" --serve --delay 5
		load base "$pid"
		bg_stop "$pid"
		rm -f "$sock"
		bg_start load-spawn "$SPAWN" -r -F 4 -s "$sock" -- "$PROBE" --serve --delay 5
		load spawn "$pid" "$bt" reload "$pid" 4 1 5000
		bg_stop "$pid"
		if [ -n "$classic" ]; then
			rm -f "$sock"
			bg_start load-mw "$sfcgi" -s "$sock" -n -- "$mwatch" -f 4 -r 1000 \
			    -t 100 -s TERM -- "$PROBE" --serve --delay 5
			load mw "$pid" "$bt" rolling "$pid" 4 15 5000
			bg_stop "$pid"
			rm -f "$sock"
			bg_start load-mwr "$sfcgi" -s "$sock" -n -- "$mwatch" -f 4 \
			    -r 1000 -t 100 -s TERM -- "$PROBE" --serve --delay 5
			echo "$pid" >"$tmpdir/mw.pid"
			load mwr "@$tmpdir/mw.pid" mw_restart
			bg_stop "$(cat "$tmpdir/mw.pid")"
		else
			req_mw=- fail_mw=- kept_mw=- done_mw=- took_mw=-
			req_mwr=- fail_mwr=-
		fi
		f='   %-32s %9s %7s %9s %11s\n'
		printf "$f" setup requests failed reloads "reload ms"
		printf "$f" "spawn -r, no reload" "$req_base" "$fail_base" - -
		printf "$f" "spawn -r, 3 x SIGHUP" "$req_spawn" "$fail_spawn" \
		    "$done_spawn/3" "$took_spawn"
		if [ -n "$classic" ]; then
			printf "$f" "spawn-fcgi+multiwatch, 3 x TERM" "$req_mw" \
			    "$fail_mw" "$done_mw/3" "$took_mw"
			printf "$f" "spawn-fcgi+multiwatch, 3 x restart" "$req_mwr" \
			    "$fail_mwr" "$done_mwr/3" "$took_mwr"
		else
			echo "   spawn-fcgi+multiwatch: skipped (not installed)"
		fi
		echo "   (a reload is done when all 4 children are new ones;"
		echo "   multiwatch has no reload: either SIGTERM to each child in turn, waiting"
		echo "   for its restart (only the same code comes back), or a restart of the"
		echo "   spawn-fcgi+multiwatch pair, which is how new code gets in; its"
		echo "   failures count every refused attempt, as the clients retry at once)"
		[ -s "$tmpdir/reasons" ] && echo "   first failures:" && cat "$tmpdir/reasons"
		[ "$kept_base" = 4 ] ||
		    echo "   note: only $kept_base of 4 children survived the load without reloads"
		[ "$done_spawn" = 3 ] ||
		    echo "reload: spawn replaced its children in $done_spawn of 3 SIGHUPs MISSED" >>"$summary"
		target "reload: spawn failed requests = $fail_spawn of $req_spawn, multiwatch $fail_mw of $req_mw (rolling TERM), $fail_mwr of $req_mwr (restart)" "$fail_spawn" "==" 0
	fi
	echo
}

for part in ${BENCH_PARTS:-1 2 3 4}; do
	part$part
done

echo "Summary"
sed 's/^/  /' "$summary"
if [ "$broke" -ne 0 ]; then
	echo "bench: some measurements could not be made (see BROKEN above)" >&2
	exit 1
fi
exit 0
