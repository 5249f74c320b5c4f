#!/bin/sh
# tests/bench/run.sh: the benchmark report behind `make bench`.
#
# Every figure is a ratio against a reference measured in the same run on
# the same machine (a bare fork+exec loop, a bare sigwaitinfo supervisor,
# spawn-fcgi and multiwatch where installed, a bare CGI fork+exec+read loop
# and fcgiwrap for the CGI bridge, a fixed pool for the dynamic one),
# because absolute times say more about the machine than about spawn.
# Times are medians of several runs. Targets that are missed are marked
# MISSED, but the exit status is 0 all the same: machines are noisy and
# this is a report, not a test. It exits non-zero only when a measurement
# itself could not be made.
#
# Everything runs on unix sockets in one temporary directory, under a
# child subreaper (benchtool reap) so that no orphan outlives the run; only
# processes started here are ever signalled.
#
# Environment: SPAWN, PROBE, CLIENT (default: the ones in the tree),
# BENCH_RUNS (runs per median, 7), BENCH_KILLS (SIGKILLs for the respawn
# latency, 20), BENCH_CGI_RUNS (runs per median in part 5, 5 or BENCH_RUNS
# if fewer), BENCH_CGI_MS (the length of one load window in part 5, 2000),
# BENCH_PARTS (which sections, "1 2 3 4 5 6"), CC. Part 6 (the dynamic
# pool) uses BENCH_RUNS for its bursts and at most 3 windows under load.

set -u

here=$(cd "$(dirname "$0")" && pwd) || exit 1
top=$(cd "$here/../.." && pwd) || exit 1

if [ "${1:-}" != --inner ]; then
	tmpdir=$(mktemp -d /tmp/spawn-bench.XXXXXX) || exit 1
	trap 'rm -rf "$tmpdir"' EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	for prog in sleeper floor-start floor-super floor-cgi; do
		${CC:-cc} -O2 -o "$tmpdir/$prog" "$here/$prog.c" || {
			echo "bench: cannot build $prog" >&2
			exit 1
		}
	done
	# benchtool speaks FastCGI through the product's own record code.
	${CC:-cc} -O2 -I"$top" -o "$tmpdir/benchtool" "$here/benchtool.c" \
	    "$top/fcgi.c" || {
		echo "bench: cannot build benchtool" >&2
		exit 1
	}
	# The CGI scripts of part 5: one source, one behaviour per build.
	for v in tiny: sleep:-DSLEEP_MS=200 sink:-DSINK source:-DSOURCE; do
		${CC:-cc} -O2 ${v#*:} -o "$tmpdir/cgi-${v%%:*}" \
		    "$here/tinycgi.c" || {
			echo "bench: cannot build tinycgi (${v%%:*})" >&2
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
CRUNS=${BENCH_CGI_RUNS:-$([ "$RUNS" -lt 5 ] && echo "$RUNS" || echo 5)}
CMS=${BENCH_CGI_MS:-2000}
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
		if (op == "<=") ok = v + 0 <= lim + 0
		else if (op == ">=") ok = v + 0 >= lim + 0
		else if (op == "<") ok = v + 0 < lim + 0
		else ok = v + 0 == lim + 0
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

# vctxt PID: voluntary context switches only. Each is a sleep that ended,
# that is a wake-up; the involuntary ones are preemptions, which on a
# saturated machine say more about the load than about spawn.
vctxt() {
	awk '$1 == "voluntary_ctxt_switches:" { s += $2 }
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

# cgi_load NAME CONNS SCRIPT W CMD ...: starts CMD, a spawn with W workers
# serving $csock, keeps CONNS requests for SCRIPT in flight at it for one
# window and appends the requests/s to cgi-NAME, the failures to
# cgifail-NAME. Every window gets a fresh server, so that the requests a
# window leaves behind in the backlog cannot eat into the next one.
cgi_load() {
	cname=$1
	cconns=$2
	cscript=$3
	cw=$4
	shift 4
	rm -f "$csock"
	bg_start "cgi-$cname" "$@"
	cp=$pid
	if ! "$bt" waitn "$cp" "$cw" 5000; then
		broken "$cname never had $cw workers"
		rate=-
	else
		c0=$(cgi_ticks "$cp")
		"$bt" cgiload "$csock" "$cconns" "$CMS" "$cscript" \
		    >"$tmpdir/cgiout" 2>"$tmpdir/cgierr" ||
		    broken "no request through $cname succeeded: $(cat "$tmpdir/cgiout" "$tmpdir/cgierr" | tr '\n' ' ')"
		c1=$(cgi_ticks "$cp")
		# Fewer than 5 ticks is too coarse a reading to divide.
		[ $((c1 - c0)) -ge 5 ] && c1=$(((c1 - c0) * 1000 / tck)) || c1=
		cgi_record "$cname" "$c1"
	fi
	bg_stop "$cp"
}

# cgi_ticks PID: the CPU time (clock ticks, user and system) that PID's
# children, the workers, have used themselves. The scripts' own time is
# left out: fcgiwrap ignores SIGCHLD, so its scripts' times are never
# added to its own, and the scripts are the same for all three anyway.
cgi_ticks() {
	for w in $("$bt" children "$1"); do
		cat "/proc/$w/stat" 2>/dev/null
	done | awk '{ sub(/^.*\) /, ""); t += $12 + $13 } END { print t + 0 }'
}

# cgi_floor NAME CONNS SCRIPT W: the same figures from floor-cgi.
cgi_floor() {
	"$tmpdir/floor-cgi" "$4" "$2" "$CMS" "$3" >"$tmpdir/cgiout" \
	    2>"$tmpdir/cgierr" ||
	    broken "floor-cgi $4 $2 $3: $(cat "$tmpdir/cgiout" "$tmpdir/cgierr" | tr '\n' ' ')"
	cgi_record "$1" "$(sed -n 's/.* cpu_ms=\([0-9]*\).*/\1/p' "$tmpdir/cgiout")"
}

# cgi_record NAME CPU_MS: files the rate, the failures and the CPU time per
# request of one window (cgiout), and the first reasons for failures
# (cgierr), under the setup's name; sets $rate to the rate ("-" if none).
cgi_record() {
	rate=$(sed -n 's/.* rps=\([0-9.]*\).*/\1/p' "$tmpdir/cgiout")
	[ -n "$rate" ] && echo "$rate" >>"$tmpdir/cgi-$1" || rate=-
	sed -n 's/^requests=\([0-9]*\) .*/\1/p' "$tmpdir/cgiout" |
	    awk -v cpu="$2" '$1 > 0 && cpu != "" { printf "%.0f\n", cpu * 1000 / $1 }' \
	    >>"$tmpdir/cgicpu-$1"
	sed -n 's/.* failed=\([0-9]*\) .*/\1/p' "$tmpdir/cgiout" \
	    >>"$tmpdir/cgifail-$1"
	grep -h 'first failure' "$tmpdir/cgierr" 2>/dev/null | head -n 1 |
	    sed "s/^/   ($1) /" >>"$tmpdir/cgireasons"
	: >"$tmpdir/cgierr"
}

# cgi_rss NAME KIND CMD ...: starts CMD (one worker serving $csock), sends
# it one small request and then one 100 MB request of KIND (upload: a body
# that cgi-sink reads; download: cgi-source writes it), and sets $growth to
# the worker's peak RSS during the big one minus its RSS before, in kB
# ("-" when it could not be measured).
cgi_rss() {
	cname=$1
	ckind=$2
	shift 2
	if [ "$ckind" = upload ]; then
		cscript=$tmpdir/cgi-sink cbody=100000000 cquery=
	else
		cscript=$tmpdir/cgi-source cbody=0 cquery=100000000
	fi
	growth=-
	rm -f "$csock"
	bg_start "rss-$cname" "$@"
	cp=$pid
	# The first request proves the worker is up and serving, so that
	# "before" is its steady state, not a half-started process.
	if ! "$bt" waitn "$cp" 1 5000; then
		broken "$cname never had a worker"
	elif ! "$bt" cgiload "$csock" 1 10000 "$cscript" 0 1 0 \
	    >"$tmpdir/cgiout" 2>"$tmpdir/cgierr"; then
		broken "the first request through $cname failed: $(cat "$tmpdir/cgiout" "$tmpdir/cgierr" | tr '\n' ' ')"
	else
		w=$("$bt" children "$cp")
		before=$(status_kb "$w" VmRSS)
		# Resets VmHWM to the current RSS (Linux 4.0 and later), so
		# that a peak from the worker's start-up does not count.
		echo 5 2>/dev/null >"/proc/$w/clear_refs"
		"$bt" cgiload "$csock" 1 60000 "$cscript" "$cbody" 1 "$cquery" \
		    >"$tmpdir/cgiout" 2>"$tmpdir/cgierr"
		peak=$(status_kb "$w" VmHWM)
		# The script saw every byte of the upload (it prints the
		# count), or the client got every byte of the download.
		set -- $(sed -n 's/.* out_bytes=\([0-9]*\) body=\(.*\)/\1 \2/p' \
		    "$tmpdir/cgiout") - -
		if { [ "$ckind" = upload ] && [ "$2" = "$cbody" ]; } ||
		    { [ "$ckind" = download ] &&
		    [ "$1" -gt "$cquery" ] 2>/dev/null; }; then
			growth=$(awk -v a="$peak" -v b="$before" 'BEGIN {
				if (a == "-" || b == "-") print "-"; else print a - b }')
		fi
		[ "$growth" != - ] ||
		    broken "the 100 MB $ckind through $cname failed: $(cat "$tmpdir/cgiout" "$tmpdir/cgierr" | tr '\n' ' ')"
	fi
	bg_stop "$cp"
}

# cgi_row LABEL CONNS SCRIPT: measures one script through the bridge,
# fcgiwrap and the floor, interleaved window by window, and prints its
# table row. The ratios are medians of the ratios of windows run back to
# back, which other work on the machine skews less than a ratio of medians
# taken over the whole row.
cgi_row() {
	clabel=$1
	cconns=$2
	cscript=$3
	ckey=$(basename "$cscript")
	for r in $(seq "$CRUNS"); do
		rb=- rf=-
		if [ -n "$bridge" ]; then
			cgi_load "bridge-$ckey" "$cconns" "$cscript" "$CW" \
			    "$cspawn" --cgi -F "$CW" -w -s "$csock" -- "$cscript"
			rb=$rate
		fi
		if [ -n "$fcgiwrap" ]; then
			cgi_load "fcgiwrap-$ckey" "$cconns" "$cscript" "$CW" \
			    "$cspawn" -F "$CW" -w -s "$csock" -- "$fcgiwrap"
			rf=$rate
		fi
		cgi_floor "floor-$ckey" "$cconns" "$cscript" "$CW"
		x=$(ratio "$rb" "$rf")
		[ "$x" != - ] && echo "$x" >>"$tmpdir/cgiratio-f-$ckey"
		x=$(ratio "$rb" "$rate")
		[ "$x" != - ] && echo "$x" >>"$tmpdir/cgiratio-l-$ckey"
	done
	b=$(median "$tmpdir/cgi-bridge-$ckey")
	f=$(median "$tmpdir/cgi-fcgiwrap-$ckey")
	l=$(median "$tmpdir/cgi-floor-$ckey")
	bf=$(median "$tmpdir/cgiratio-f-$ckey")
	bl=$(median "$tmpdir/cgiratio-l-$ckey")
	for s in bridge fcgiwrap floor; do
		n=$(cat "$tmpdir/cgifail-$s-$ckey" 2>/dev/null |
		    awk '{ n += $1 } END { print n + 0 }')
		[ "$n" -gt 0 ] && echo "$clabel: $s $n" >>"$tmpdir/cgifailed"
	done
	printf '   %-18s %5s %9s %9s %9s %16s %13s\n' "$clabel" "$cconns" "$b" \
	    "$f" "$l" "$bf" "$bl"
	cb=$(median "$tmpdir/cgicpu-bridge-$ckey")
	cf=$(median "$tmpdir/cgicpu-fcgiwrap-$ckey")
	cl=$(median "$tmpdir/cgicpu-floor-$ckey")
	printf '   %-18s %11s %9s %9s %16s %13s\n' "$clabel" "$cb" "$cf" "$cl" \
	    "$(ratio "$cb" "$cf")" "$(ratio "$cb" "$cl")" >>"$tmpdir/cgicpurows"
}

# 5. The CGI bridge (spawn --cgi) against fcgiwrap, the usual FastCGI to
# CGI gateway, run by spawn with as many workers, and against the floor:
# the same number of processes doing nothing but fork, exec and read. The
# load generator runs on the same machine and takes its share of the CPU,
# which the floor does not have to share.
part5() {
	csock=$tmpdir/c.sock
	CW=2
	tck=$(getconf CLK_TCK 2>/dev/null) || tck=100
	# A copy, because this part runs for minutes and the tree's binary
	# may be rebuilt meanwhile; a window must not start half a new one.
	cspawn=$tmpdir/spawn-cgi
	cp "$SPAWN" "$cspawn" || { broken "cannot copy $SPAWN"; return; }
	echo "5. CGI bridge: requests/s, median of $CRUNS windows of $CMS ms, W = $CW workers"
	echo "   bridge   = spawn --cgi -F $CW -w -s SOCK -- SCRIPT"
	echo "   fcgiwrap = spawn -F $CW -w -s SOCK -- fcgiwrap, SCRIPT_FILENAME=SCRIPT"
	echo "              (one request per fcgiwrap process at a time)"
	echo "   floor    = $CW processes, each keeping its share of the requests in flight"
	echo "              as pipe, fork+exec SCRIPT, read to EOF, waitpid (floor-cgi)"
	echo "   load     = benchtool cgiload: a new connection per request, CONNS at once"
	echo "   load average at the start: $(cut -d ' ' -f 1-3 /proc/loadavg)" \
	    "(anything else running skews these figures)"
	fcgiwrap=
	for f in "$(command -v fcgiwrap 2>/dev/null)" /usr/sbin/fcgiwrap \
	    /usr/local/sbin/fcgiwrap; do
		[ -n "$f" ] && [ -x "$f" ] && fcgiwrap=$f && break
	done
	[ -n "$fcgiwrap" ] || echo "   fcgiwrap: not installed, its columns are skipped"
	printf '#!/bin/sh\necho "Content-Type: text/plain"\necho\necho hello\n' \
	    >"$tmpdir/cgi-hello.sh"
	chmod 755 "$tmpdir/cgi-hello.sh"
	# The bridge counts as there once a request through it has worked;
	# a --cgi that is there but fails is a measurement that could not be
	# made.
	bridge=
	if ! "$cspawn" --help 2>&1 | grep -q -- --cgi; then
		echo "   bridge: not measured, $SPAWN --help has no --cgi"
	else
		rm -f "$csock"
		bg_start cgi-try "$cspawn" --cgi -F 1 -w -s "$csock" -- \
		    "$tmpdir/cgi-tiny"
		cp=$pid
		if "$bt" waitn "$cp" 1 5000 &&
		    "$bt" cgiload "$csock" 1 5000 "$tmpdir/cgi-tiny" 0 1 \
		    >"$tmpdir/cgiout" 2>"$tmpdir/cgierr"; then
			bridge=1
		else
			broken "a request through spawn --cgi failed: $(cat "$tmpdir/cgiout" "$tmpdir/cgierr" "$tmpdir/log-cgi-try" 2>/dev/null | head -n 5 | tr '\n' ' ')"
			echo "   bridge: not measured, a first request through it failed"
		fi
		bg_stop "$cp"
	fi
	: >"$tmpdir/cgireasons"
	: >"$tmpdir/cgifailed"
	: >"$tmpdir/cgicpurows"
	echo "   (rates: medians; ratios: medians of the ratios of back-to-back windows)"
	printf '   %-18s %5s %9s %9s %9s %16s %13s\n' script conns bridge \
	    fcgiwrap floor bridge/fcgiwrap bridge/floor
	cgi_row "C, tiny" 16 "$tmpdir/cgi-tiny"
	tb=$b tf=$f tl=$l tbf=$bf tbl=$bl
	cgi_row "sh, tiny" 16 "$tmpdir/cgi-hello.sh"
	sb=$b sf=$f sl=$l sbf=$bf sbl=$bl
	cgi_row "C, sleeps 200 ms" 64 "$tmpdir/cgi-sleep"
	zb=$b zf=$f zl=$l zbf=$bf
	if [ -s "$tmpdir/cgifailed" ]; then
		echo "   failed requests (all windows): $(tr '\n' ';' <"$tmpdir/cgifailed" | sed 's/;$//; s/;/; /g')"
		sort -u "$tmpdir/cgireasons" | head -n 6
	else
		echo "   failed requests: none"
	fi
	# CPU time per request depends far less than requests/s on whatever
	# else the machine is doing.
	echo "   Gateway CPU per request, us (user+sys of the $CW workers themselves, not of"
	echo "   the scripts; median; - where under 5 clock ticks in every window)"
	printf '   %-18s %11s %9s %9s %16s %13s\n' script bridge fcgiwrap floor \
	    bridge/fcgiwrap bridge/floor
	cat "$tmpdir/cgicpurows"
	# What the bridge's workers logged, most frequent first. The end of
	# each window closes the connections still in flight, which the
	# bridge logs too.
	cat "$tmpdir"/log-cgi-bridge-* 2>/dev/null | grep '^spawn: cgi:' |
	    sed "s|$tmpdir/||" | sort | uniq -c | sort -rn | head -n 3 |
	    sed 's/^ *\([0-9]*\) /   bridge log (\1 x): /'
	echo "   Worker's peak RSS growth during one request, kB (VmHWM after - VmRSS before; -F 1)"
	printf '   %-34s %9s %9s\n' request bridge fcgiwrap
	for kind in upload download; do
		gb=- gf=-
		[ "$kind" = upload ] && cprog=$tmpdir/cgi-sink ||
		    cprog=$tmpdir/cgi-source
		if [ -n "$bridge" ]; then
			cgi_rss "bridge-$kind" "$kind" "$cspawn" --cgi -F 1 -w \
			    -s "$csock" -- "$cprog"
			gb=$growth
		fi
		if [ -n "$fcgiwrap" ]; then
			cgi_rss "fcgiwrap-$kind" "$kind" "$cspawn" -F 1 -w \
			    -s "$csock" -- "$fcgiwrap"
			gf=$growth
		fi
		if [ "$kind" = upload ]; then
			ub=$gb uf=$gf
			clabel="upload 100 MB (script reads stdin)"
		else
			db=$gb df=$gf
			clabel="download 100 MB (script writes it)"
		fi
		printf '   %-34s %9s %9s\n' "$clabel" "$gb" "$gf"
	done
	target "cgi C tiny, 16 conns: bridge/fcgiwrap = $tbf ($tb vs $tf req/s)" "$tbf" ">=" 1.3
	target "cgi C tiny, 16 conns: bridge/floor = $tbl ($tb vs $tl req/s)" "$tbl" ">=" 0.85
	info "cgi sh tiny, 16 conns: bridge/fcgiwrap = $sbf, bridge/floor = $sbl ($sb vs $sf vs $sl req/s)"
	target "cgi sleep 200 ms, 64 conns: bridge/fcgiwrap = $zbf ($zb vs $zf req/s; floor $zl)" "$zbf" ">=" 10
	target "cgi upload 100 MB: bridge worker peak RSS growth = $ub kB (fcgiwrap $uf kB)" "$ub" "<" 2048 "< 2048 kB"
	target "cgi download 100 MB: bridge worker peak RSS growth = $db kB (fcgiwrap $df kB)" "$db" "<" 2048 "< 2048 kB"
	echo
}

# pool_up NAME WANT DELAY ARGS ...: starts a pool (a copy of spawn, -r and
# ARGS) of the probe answering each request after DELAY ms, one at a
# time, on $psock, and waits until it has WANT children all blocked in
# accept() and then past the --min-uptime check, so that only what is
# measured is left to happen; sets $pid. Returns 1 (and says so) when the
# pool never got there.
pool_up() {
	pname=$1
	pwant=$2
	pdelay=$3
	shift 3
	rm -f "$psock"
	bg_start "$pname" "$pspawn" -r "$@" -s "$psock" -- "$pprobe" --serve \
	    --delay "$pdelay"
	if ! "$bt" accepting "$pid" "$pwant" 10000 2>>"$tmpdir/log-$pname"; then
		broken "spawn -r $* never had $pwant children in accept(): $(tail -n 3 "$tmpdir/log-$pname" | tr '\n' ' ')"
		return 1
	fi
	sleep 0.3
	# With -F 0 there is no child to wait for, so this is what tells a
	# pool that runs from one that refused its options.
	if ! running "$pid"; then
		broken "spawn -r $* exited: $(tail -n 3 "$tmpdir/log-$pname" | tr '\n' ' ')"
		return 1
	fi
}

# running PID: whether PID is there and not a zombie.
running() {
	awk '$1 == "State:" { s = $2 } END { exit !(s != "" && s != "Z" && s != "X") }' \
	    "/proc/$1/status" 2>/dev/null
}

# nkids PID: how many live children PID has.
nkids() {
	"$bt" children "$1" | wc -l | tr -d ' '
}

# tree_kb PID FIELD: the kB figure summed over PID and its children.
tree_kb() {
	for tp in "$1" $("$bt" children "$1"); do
		status_kb "$tp" "$2"
	done | awk '$1 != "-" { s += $1; n++ } END { print n ? s : "-" }'
}

# whole FILE: the median of FILE rounded to a whole number.
whole() {
	median "$1" | awk '{ print $1 == "-" ? "-" : sprintf("%.0f", $1) }'
}

# pool_burst KEY WANT N DELAY ARGS ...: one run of a burst: a fresh pool
# of the probe answering after DELAY ms, N requests fired at once, and its
# figures filed under KEY: the ms from the first connect to the last
# answer, the children it had when the last answer came, its scale-up log
# lines and the requests that failed or got no answer.
pool_burst() {
	bkey=$1
	bwant=$2
	bcount=$3
	bdelay=$4
	shift 4
	bn=$(($(cat "$tmpdir/p6n-$bkey" 2>/dev/null || echo 0) + 1))
	echo "$bn" >"$tmpdir/p6n-$bkey"
	if pool_up "p6b-$bkey-$bn" "$bwant" "$bdelay" "$@"; then
		bp=$pid
		"$bt" burst "$psock" "$bcount" 30000 >"$tmpdir/p6out" \
		    2>"$tmpdir/p6err" ||
		    broken "no request of the burst against spawn -r $* was answered: $(cat "$tmpdir/p6out" "$tmpdir/p6err" | tr '\n' ' ')"
		nkids "$bp" >>"$tmpdir/p6kids-$bkey"
		set -- $(sed -n 's/^requests=[0-9]* failed=\([0-9]*\) unanswered=\([0-9]*\) ms=\([0-9.]*\) .*/\1 \2 \3/p' \
		    "$tmpdir/p6out")
		if [ $# -eq 3 ]; then
			echo "$3" >>"$tmpdir/p6ms-$bkey"
			echo $(($1 + $2)) >>"$tmpdir/p6fail-$bkey"
			# What spawn said about a run that lost requests.
			[ $(($1 + $2)) -eq 0 ] ||
			    grep -v '^spawn: child .* started$' \
			    "$tmpdir/log-p6b-$bkey-$bn" | tail -n 3 |
			    sed "s/^/   ($bkey run $bn: $(($1 + $2)) lost) /" \
			    >>"$tmpdir/p6reasons"
		else
			broken "benchtool burst printed no figures: $(cat "$tmpdir/p6out" "$tmpdir/p6err" | tr '\n' ' ')"
		fi
		grep -c '^spawn: pool: .* starting' "$tmpdir/log-p6b-$bkey-$bn" \
		    >>"$tmpdir/p6ups-$bkey"
		grep -h 'first failure' "$tmpdir/p6err" | head -n 1 |
		    sed "s/^/   ($bkey) /" >>"$tmpdir/p6reasons"
		bg_stop "$bp"
	else
		bg_stop "$pid"
	fi
}

# pool_load KEY WANT DELAY ARGS ...: one load window: a fresh pool, 8
# connections kept busy for 3 s, and spawn's context switches counted over
# the last 2 s, once the pool has had 1 s to grow to the load. Files the
# wake-ups per second, the children at the end, the requests/s and the
# failures under KEY.
pool_load() {
	lkey=$1
	lwant=$2
	ldelay=$3
	shift 3
	if pool_up "p6l-$lkey" "$lwant" "$ldelay" "$@"; then
		lp=$pid
		"$bt" cgiload "$psock" 8 3000 /bench >"$tmpdir/p6out" \
		    2>"$tmpdir/p6err" &
		lc=$!
		sleep 1
		c0=$(vctxt "$lp")
		t0=$(date +%s%N)
		sleep 2
		c1=$(vctxt "$lp")
		t1=$(date +%s%N)
		nkids "$lp" >>"$tmpdir/p6kids-$lkey"
		wait "$lc" ||
		    broken "no request of the load against spawn -r $* succeeded: $(cat "$tmpdir/p6out" "$tmpdir/p6err" | tr '\n' ' ')"
		if running "$lp"; then
			awk -v c="$((c1 - c0))" -v t="$((t1 - t0))" \
			    'BEGIN { printf "%.1f\n", c * 1e9 / t }' \
			    >>"$tmpdir/p6wake-$lkey"
		else
			broken "spawn -r $* exited under load: $(tail -n 3 "$tmpdir/log-p6l-$lkey" | tr '\n' ' ')"
		fi
		sed -n 's/.* rps=\([0-9.]*\) .*/\1/p' "$tmpdir/p6out" \
		    >>"$tmpdir/p6rps-$lkey"
		sed -n 's/.* failed=\([0-9]*\) .*/\1/p' "$tmpdir/p6out" \
		    >>"$tmpdir/p6fail-$lkey"
		grep -h 'first failure' "$tmpdir/p6err" | head -n 1 |
		    sed "s/^/   ($lkey) /" >>"$tmpdir/p6reasons"
	fi
	bg_stop "$pid"
}

# idle_up KEY WANT ARGS ...: starts a pool for the idle readings, on its
# own socket, and lists it in p6idle; returns 1 if it never came up.
idle_up() {
	ik=$1
	iw=$2
	shift 2
	psock=$tmpdir/i-$ik.sock
	if pool_up "p6i-$ik" "$iw" 200 "$@"; then
		echo "$ik $pid" >>"$tmpdir/p6idle"
		psock=$tmpdir/p.sock
		return 0
	fi
	bg_stop "$pid"
	psock=$tmpdir/p.sock
	return 1
}

idle_label() {
	case $1 in
	pool0) echo "-F 0 --max-children 64" ;;
	pool4) echo "-F 4 --max-children 64" ;;
	*) echo "-F ${1#fixed} (fixed)" ;;
	esac
}

# iget KEY FIELD: one figure of the idle readings ("-" if none).
iget() {
	awk -v k="$1" -v f="$2" '$1 == k { v = $f } END { print v == "" ? "-" : v }' \
	    "$tmpdir/p6idle1"
}

# 6. The dynamic pool (--max-children): how much slower a pool that starts
# from one child answers a burst than a fixed pool sized for it, what an
# idle pool costs, and how often spawn wakes up, idle and under load. The
# app is the probe, which serves one request at a time, so that a burst
# needs as many children as it has requests.
part6() {
	echo "6. Dynamic pool (--max-children): burst, idle memory, wake-ups"
	if [ ! -x "$PROBE" ]; then
		echo "   skipped: tests/probe is not built"
		echo "pool: SKIPPED (tests/probe missing)" >>"$summary"
		echo
		return
	fi
	psock=$tmpdir/p.sock
	# Copies, as in part 5: the tree's binaries may be rebuilt meanwhile,
	# and a child must not exec half a new one.
	pspawn=$tmpdir/spawn-pool
	pprobe=$tmpdir/probe-pool
	cp "$SPAWN" "$pspawn" || { broken "cannot copy $SPAWN"; return; }
	cp "$PROBE" "$pprobe" || { broken "cannot copy $PROBE"; return; }
	if "$pspawn" --help 2>&1 | grep -q -- --max-children; then
		pool=1
	else
		pool=
		echo "   dynamic pool: not measured, $SPAWN --help has no --max-children"
	fi
	: >"$tmpdir/p6reasons"
	app="probe --serve --delay 200, one request at a time"

	# (a) The burst, the runs of the setups interleaved so that drift in
	# the machine's speed hits all of them alike.
	echo "   a. Burst: 64 requests at once, each served in 200 ms ($app);"
	echo "      ms from the first connect to the last answer, median of $RUNS runs, a fresh"
	echo "      spawn each run (the dynamic pool starts from 1 child)"
	for r in $(seq "$RUNS"); do
		pool_burst fixed 64 64 200 -F 64
		pool_burst warm 1 1 0 -F 1
		[ -n "$pool" ] || continue
		pool_burst d20 1 64 200 -F 1 --max-children 64
		for sd in 5 50 100; do
			pool_burst "d$sd" 1 64 200 -F 1 --max-children 64 \
			    --scale-delay "$sd"
		done
		pool_burst cold 0 1 0 -F 0 --max-children 64
	done
	bf=$(median "$tmpdir/p6ms-fixed")
	f='      %-42s %8s %7s %9s %10s %7s\n'
	printf "$f" setup "ms" /fixed children scale-ups failed
	for k in fixed d5 d20 d50 d100; do
		case $k in
		fixed) label="-F 64 (fixed)" ;;
		d20) label="-F 1 --max-children 64 (scale delay 20)" ;;
		*) label="-F 1 --max-children 64 --scale-delay ${k#d}" ;;
		esac
		[ "$k" = fixed ] || [ -n "$pool" ] || continue
		m=$(median "$tmpdir/p6ms-$k")
		eval "ms_$k=\$m"
		fl=$(awk '{ n += $1 } END { print n + 0 }' "$tmpdir/p6fail-$k" 2>/dev/null)
		eval "fail_$k=\$fl"
		ups=-
		[ "$k" = fixed ] || ups=$(median "$tmpdir/p6ups-$k")
		printf "$f" "$label" "$m" "$(ratio "$m" "$bf")" \
		    "$(whole "$tmpdir/p6kids-$k")" "$ups" "$fl"
	done
	echo "      (children: when the last answer came; scale-ups: the pool's scale-up log"
	echo "      lines per run; failed: requests failed or unanswered, all runs)"
	# What the first request costs when the pool has no child yet: the
	# start of one on demand, against a child already waiting.
	mw=$(median "$tmpdir/p6ms-warm")
	mc=-
	[ -n "$pool" ] && mc=$(median "$tmpdir/p6ms-cold")
	echo "      one request, the app answering at once: $mc ms from an empty pool (-F 0"
	echo "      --max-children 64: a child started on demand), $mw ms from -F 1 (fixed)"
	if [ -n "$pool" ]; then
		target "pool burst 64 x 200 ms: dynamic/fixed = $(ratio "$ms_d20" "$bf") ($ms_d20 ms vs $bf ms)" \
		    "$(ratio "$ms_d20" "$bf")" "<=" 1.5
		info "pool burst by --scale-delay: 5 ms: $ms_d5, 20 ms: $ms_d20, 50 ms: $ms_d50, 100 ms: $ms_d100 (ms; fixed $bf)"
		info "pool first request, no child yet: -F 0 $mc ms, fixed -F 1 $mw ms"
		fl=$((fail_d5 + fail_d20 + fail_d50 + fail_d100))
		target "pool burst: failed or unanswered = $fl (dynamic, all scale delays), $fail_fixed (fixed)" \
		    "$((fl + fail_fixed))" "==" 0
	else
		echo "pool burst: dynamic NOT MEASURED (no --max-children); fixed -F 64 = $bf ms" >>"$summary"
	fi

	# (b) and (c): the setups idle side by side, each on its own socket.
	echo "   b, c. Idle after start-up, side by side ($app):"
	echo "      kB (total: spawn and its children added up, so shared pages count once"
	echo "      a process); spawn's wake-ups: its context switches in 3 s of nothing"
	: >"$tmpdir/p6idle"
	if [ -n "$pool" ]; then
		idle_up pool0 0 -F 0 --max-children 64
		idle_up pool4 4 -F 4 --max-children 64
	fi
	for n in 1 4 64; do
		idle_up "fixed$n" "$n" -F "$n"
	done
	# Past the last start-up's --min-uptime, then a reading, 3 s of
	# nothing, another reading.
	sleep 0.5
	while read -r ik ip; do
		echo "$ik $ip $(status_kb "$ip" VmRSS) $(status_kb "$ip" RssAnon)" \
		    "$(tree_kb "$ip" VmRSS) $(tree_kb "$ip" RssAnon) $(ctxt "$ip")"
	done <"$tmpdir/p6idle" >"$tmpdir/p6idle0"
	sleep 3
	while read -r ik ip rss anon trss tanon c0; do
		if running "$ip"; then
			echo "$ik $(nkids "$ip") $rss $anon $trss $tanon" \
			    "$(($(ctxt "$ip") - c0))"
		else
			broken "spawn -r $(idle_label "$ik") exited while idle"
		fi
		bg_stop "$ip"
	done <"$tmpdir/p6idle0" >"$tmpdir/p6idle1"
	f='      %-26s %8s %9s %10s %9s %10s %8s\n'
	printf "$f" setup children "spawn RSS" "spawn anon" "total RSS" \
	    "total anon" wake-ups
	while read -r ik kids rss anon trss tanon w; do
		printf "$f" "$(idle_label "$ik")" "$kids" "$rss" "$anon" "$trss" \
		    "$tanon" "$w"
	done <"$tmpdir/p6idle1"
	if [ -n "$pool" ]; then
		target "pool idle -F 0 --max-children 64: children = $(iget pool0 2)" "$(iget pool0 2)" "==" 0
		info "pool idle memory, total VmRSS: -F 0 pool $(iget pool0 5) kB (RssAnon $(iget pool0 6)), -F 1 $(iget fixed1 5) kB, -F 64 $(iget fixed64 5) kB; spawn's own VmRSS: -F 0 pool $(iget pool0 3) kB, -F 1 $(iget fixed1 3) kB"
		target "pool idle wake-ups in 3 s: -F 0 --max-children 64 = $(iget pool0 7)" "$(iget pool0 7)" "==" 0
		target "pool idle wake-ups in 3 s: -F 4 --max-children 64 (at its minimum) = $(iget pool4 7)" "$(iget pool4 7)" "==" 0
	else
		echo "pool idle: -F 0 --max-children 64 NOT MEASURED (no --max-children)" >>"$summary"
	fi
	target "pool idle wake-ups in 3 s: -F 4 fixed = $(iget fixed4 7)" "$(iget fixed4 7)" "==" 0

	# (c) Under a steady load.
	lruns=$([ "$RUNS" -lt 3 ] && echo "$RUNS" || echo 3)
	echo "   c. Under load: 8 connections kept busy for 3 s, a new connection a request;"
	echo "      spawn's wake-ups (voluntary context switches) per second over the last"
	echo "      2 s, median of $lruns windows;"
	echo "      1000/scale-delay = 50 wake-ups/s (the default scale delay, 20 ms)"
	for r in $(seq "$lruns"); do
		for ld in 200 0; do
			[ -n "$pool" ] &&
			    pool_load "dyn$ld" 1 "$ld" -F 1 --max-children 16
			pool_load "fix$ld" 8 "$ld" -F 8
		done
		# How far past the 8 children that 8 connections need a
		# pool grows when the cap is not what stops it.
		[ -n "$pool" ] && pool_load big0 1 0 -F 1 --max-children 64
	done
	f='      %-26s %7s %9s %8s %7s %11s %9s\n'
	printf "$f" setup "app ms" children "req/s" failed wake-ups/s "/(1000/20)"
	for k in dyn200 fix200 dyn0 fix0 big0; do
		case $k in
		dyn*) [ -n "$pool" ] || continue; label="-F 1 --max-children 16" ;;
		big*) [ -n "$pool" ] || continue; label="-F 1 --max-children 64" ;;
		*) label="-F 8 (fixed)" ;;
		esac
		w=$(median "$tmpdir/p6wake-$k")
		eval "lw_$k=\$w"
		fl=$(awk '{ n += $1 } END { print n + 0 }' "$tmpdir/p6fail-$k" 2>/dev/null)
		printf "$f" "$label" "${k#???}" "$(whole "$tmpdir/p6kids-$k")" \
		    "$(median "$tmpdir/p6rps-$k")" "$fl" "$w" "$(ratio "$w" 50)"
	done
	if [ -n "$pool" ]; then
		target "pool load, 200 ms app: spawn wake-ups/s / (1000/scale-delay) = $(ratio "$lw_dyn200" 50) ($lw_dyn200/s; fixed -F 8 $lw_fix200/s)" \
		    "$(ratio "$lw_dyn200" 50)" "<=" 1
		target "pool load, 0 ms app: spawn wake-ups/s / (1000/scale-delay) = $(ratio "$lw_dyn0" 50) ($lw_dyn0/s; fixed -F 8 $lw_fix0/s)" \
		    "$(ratio "$lw_dyn0" 50)" "<=" 1
		info "pool load, 0 ms app, --max-children 64: $(whole "$tmpdir/p6kids-big0") children for 8 connections, $lw_big0 wake-ups/s (ratio $(ratio "$lw_big0" 50))"
	else
		echo "pool load: wake-ups NOT MEASURED (no --max-children); fixed -F 8: $lw_fix200/s (200 ms app), $lw_fix0/s (0 ms)" >>"$summary"
	fi
	[ -s "$tmpdir/p6reasons" ] && echo "   first failures:" &&
	    sort -u "$tmpdir/p6reasons" | head -n 6
	part6_fpm
	echo
}

# part6_fpm: php-fpm's process manager (pm = ondemand, the pool it grows
# on demand) against spawn's dynamic pool over php-cgi, both as www-data,
# both from no child at all: the same burst of 64 requests to a PHP script
# that sleeps 200 ms, fresh servers each run; then each one's idle memory
# and wake-ups in 3 s after start-up.
part6_fpm() {
	fpm=
	for f in php-fpm php-fpm8.4 php-fpm8.3 php-fpm8.2 php-fpm8.1; do
		have "$f" && fpm=$(command -v "$f") && break
		[ -x "/usr/sbin/$f" ] && fpm=/usr/sbin/$f && break
	done
	echo "   d. php-fpm (pm = ondemand, pm.max_children 64) against spawn -r -F 0"
	echo "      --max-children 64 -- php-cgi, both as www-data, from no child: a burst"
	echo "      of 64 requests to a script that sleeps 200 ms, median of 3 fresh runs"
	if [ -z "$fpm" ] || ! have php-cgi || [ "$(id -u)" != 0 ] ||
	    ! id www-data >/dev/null 2>&1; then
		echo "      skipped: needs root, a www-data user, php-cgi and php-fpm"
		info "pool against php-fpm: skipped (needs root, www-data, php-cgi, php-fpm)"
		return
	fi
	chmod 711 "$tmpdir"
	mkdir -p "$tmpdir/fpm"
	chmod 755 "$tmpdir/fpm"
	printf '<?php usleep(200000); echo "ok\\n";\n' >"$tmpdir/fpm/s.php"
	chmod 644 "$tmpdir/fpm/s.php"
	fsock=$tmpdir/fpm/fpm.sock
	cat >"$tmpdir/fpm/fpm.conf" <<EOF
[global]
error_log = $tmpdir/fpm/error.log
pid = $tmpdir/fpm/fpm.pid
daemonize = no
[www]
user = www-data
group = www-data
listen = $fsock
listen.backlog = 1024
pm = ondemand
pm.max_children = 64
pm.process_idle_timeout = 10s
EOF
	for run in 1 2 3; do
		for who in fpm spawn; do
			rm -f "$fsock"
			if [ $who = fpm ]; then
				bg_start "p6f-$who-$run" "$fpm" -F -y "$tmpdir/fpm/fpm.conf"
			else
				bg_start "p6f-$who-$run" "$pspawn" -r -F 0 \
				    --max-children 64 -u www-data -s "$fsock" \
				    -- php-cgi
			fi
			fp=$pid
			i=0
			while [ ! -S "$fsock" ] && [ $i -lt 100 ]; do
				sleep 0.05
				i=$((i + 1))
			done
			sleep 0.5
			if ! running "$fp" || [ ! -S "$fsock" ]; then
				broken "$who did not start: $(tail -n 3 "$tmpdir/log-p6f-$who-$run" | tr '\n' ' ')"
				bg_stop "$fp"
				continue
			fi
			if [ $run = 1 ]; then
				c0=$(ctxt "$fp")
				sleep 3
				echo "$(($(ctxt "$fp") - c0))" >"$tmpdir/p6f-wake-$who"
				echo "$(nkids "$fp") $(tree_kb "$fp" VmRSS) $(tree_kb "$fp" RssAnon)" \
				    >"$tmpdir/p6f-idle-$who"
			fi
			"$bt" burst "$fsock" 64 30000 "$tmpdir/fpm/s.php" \
			    >"$tmpdir/p6out" 2>"$tmpdir/p6err"
			set -- $(sed -n 's/^requests=[0-9]* failed=\([0-9]*\) unanswered=\([0-9]*\) ms=\([0-9.]*\) .*/\1 \2 \3/p' \
			    "$tmpdir/p6out")
			if [ $# -eq 3 ]; then
				echo "$3" >>"$tmpdir/p6f-ms-$who"
				echo $(($1 + $2)) >>"$tmpdir/p6f-fail-$who"
			else
				broken "burst against $who printed no figures: $(cat "$tmpdir/p6out" "$tmpdir/p6err" | tr '\n' ' ')"
			fi
			nkids "$fp" >>"$tmpdir/p6f-kids-$who"
			bg_stop "$fp"
		done
	done
	f="      %-32s %9s %9s %8s %12s %10s %9s\n"
	printf "$f" setup "burst ms" children failed "idle kB RSS" "idle anon" wake-ups
	for who in fpm spawn; do
		set -- $(cat "$tmpdir/p6f-idle-$who" 2>/dev/null) - - -
		case $who in
		fpm) label="php-fpm pm = ondemand" ;;
		*) label="spawn -F 0 --max-children 64" ;;
		esac
		printf "$f" "$label" "$(median "$tmpdir/p6f-ms-$who")" \
		    "$(whole "$tmpdir/p6f-kids-$who")" \
		    "$(awk '{ n += $1 } END { print n + 0 }' "$tmpdir/p6f-fail-$who" 2>/dev/null)" \
		    "$2" "$3" "$(cat "$tmpdir/p6f-wake-$who" 2>/dev/null || echo -)"
	done
	fms=$(median "$tmpdir/p6f-ms-fpm")
	sms=$(median "$tmpdir/p6f-ms-spawn")
	target "pool against php-fpm ondemand, 64 x 200 ms burst from no child: spawn/php-fpm = $(ratio "$sms" "$fms") ($sms ms vs $fms ms)" \
	    "$(ratio "$sms" "$fms")" "<=" 1
	info "pool against php-fpm ondemand, idle after start: spawn $(sed -n 's/^[0-9]* \([0-9]*\) .*/\1/p' "$tmpdir/p6f-idle-spawn") kB, php-fpm $(sed -n 's/^[0-9]* \([0-9]*\) .*/\1/p' "$tmpdir/p6f-idle-fpm") kB (VmRSS, with children); wake-ups in 3 s: spawn $(cat "$tmpdir/p6f-wake-spawn" 2>/dev/null), php-fpm $(cat "$tmpdir/p6f-wake-fpm" 2>/dev/null)"
}

for part in ${BENCH_PARTS:-1 2 3 4 5 6}; do
	part$part
done

echo "Summary"
sed 's/^/  /' "$summary"
if [ "$broke" -ne 0 ]; then
	echo "bench: some measurements could not be made (see BROKEN above)" >&2
	exit 1
fi
exit 0
