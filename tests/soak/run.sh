#!/bin/sh
# make soak: long runs that look for leaks and growth, outside make check.
#
# Part 1, the launcher: spawn -r with SOAK_SLOTS children (soakapp.c) that
# each leave on their own after SOAK_LIFE_MS, so that spawn restarts them
# SOAK_RESPAWNS times, and SOAK_RELOADS SIGHUP reloads spread over the run,
# all under a steady load of SOAK_CLIENTS fcgiclient processes. spawn's
# VmRSS, RssAnon and open descriptors are read after a tenth of the run and
# at the end, each time in a quiet moment (see calm), and must not grow. No
# request may fail: a soakapp only ever leaves between requests, so a
# correct supervisor loses none. Every reload must complete, and at the end
# there must be exactly SOAK_SLOTS children.
#
# Part 2, the CGI bridge: spawn --cgi -F 2 -- hello (hello.c) under
# benchtool cgiload with SOAK_CONNS requests in flight (SOAK_CONNS
# fcgiclient processes when benchtool has no cgiload) for
# SOAK_BRIDGE_REQUESTS requests. The workers' VmRSS, RssAnon and
# descriptors are read after a tenth of them and after each further
# quarter, and must stay flat; no request may fail.
#
# Part 3, the dynamic pool: spawn -r -F 1 --max-children 16
# --idle-timeout 1 --status-file over a one-request-at-a-time app (probe
# --serve --delay 100), grown by a burst of 32 requests and left to shrink
# back to 1, SOAK_POOL_CYCLES times. spawn's VmRSS, RssAnon and
# descriptors after the first cycle and at the end must not grow; no
# request may fail; every cycle must end at 1 child; the status file must
# count as many scale-downs as scale-ups.
#
# SOAK_SHORT=1: the short run for CI. SOAK_PARTS: "launcher bridge pool"
# or any of them. SOAK_KEEP=1 keeps the logs. Prints "ok - ..." / "not ok - ..."
# per criterion, then a summary table; exits 1 when a criterion failed.
# Everything it starts is ended by pid.

TOP=$(cd "$(dirname "$0")/../.." && pwd)
HERE=$TOP/tests/soak

if [ "${SOAK_SHORT:-0}" = 1 ]; then
	def_respawns=1000 def_reloads=10 def_bridge=20000 def_cycles=10
else
	def_respawns=10000 def_reloads=100 def_bridge=1000000 def_cycles=200
fi
POOL_CYCLES=${SOAK_POOL_CYCLES:-$def_cycles}
RESPAWNS=${SOAK_RESPAWNS:-$def_respawns}
RELOADS=${SOAK_RELOADS:-$def_reloads}
BRIDGE_REQUESTS=${SOAK_BRIDGE_REQUESTS:-$def_bridge}
SLOTS=${SOAK_SLOTS:-16}
LIFE_MS=${SOAK_LIFE_MS:-120}
MIN_UPTIME=${SOAK_MIN_UPTIME:-20}
CLIENTS=${SOAK_CLIENTS:-2}
CONNS=${SOAK_CONNS:-8}
PARTS=${SOAK_PARTS:-launcher bridge pool}
# Growth allowed between the warm-up and the end, in kB. 64 kB over the
# 9,000 respawns after the launcher's warm-up is under 8 bytes a respawn;
# 256 kB over the 900,000 requests after the bridge's warm-up is under a
# third of a byte a request. Descriptors: none at all.
LAUNCHER_RSS_TOL=${SOAK_LAUNCHER_RSS_TOL:-64}
BRIDGE_RSS_TOL=${SOAK_BRIDGE_RSS_TOL:-256}
# Bounds on time: the launcher part gives up after this many seconds; the
# bridge part allows each batch of requests this rate at the least.
LAUNCHER_MAX_S=${SOAK_LAUNCHER_MAX_S:-1800}
BRIDGE_MIN_RPS=${SOAK_BRIDGE_MIN_RPS:-50}

for v in POOL_CYCLES RESPAWNS RELOADS BRIDGE_REQUESTS SLOTS LIFE_MS \
    MIN_UPTIME CLIENTS \
    CONNS LAUNCHER_RSS_TOL BRIDGE_RSS_TOL LAUNCHER_MAX_S BRIDGE_MIN_RPS; do
	eval "val=\$$v"
	case $val in
	''|*[!0-9]*) echo "soak: SOAK_$v \"$val\": not a number" >&2; exit 2 ;;
	esac
done
if [ "$RELOADS" -lt 1 ] || [ "$RESPAWNS" -lt 10 ] || [ "$SLOTS" -lt 1 ] ||
    [ "$CLIENTS" -lt 1 ] || [ "$CONNS" -lt 1 ] || [ "$LIFE_MS" -lt 1 ] ||
    [ "$BRIDGE_REQUESTS" -lt 100 ] || [ "$BRIDGE_MIN_RPS" -lt 1 ]; then
	echo "soak: need SOAK_RELOADS >= 1, SOAK_RESPAWNS >= 10," \
	    "SOAK_BRIDGE_REQUESTS >= 100, the other counts >= 1" >&2
	exit 2
fi
if [ ! -x "$TOP/spawn" ] || [ ! -x "$TOP/tests/fcgiclient" ]; then
	echo "soak: build first (make tools)" >&2
	exit 2
fi

D=$(mktemp -d /tmp/spawn-soak.XXXXXX) || exit 2
chmod 755 "$D"
cd "$D" || exit 2
: >"$D/.pids"
: >"$D/summary"
passes=0 fails=0

# Everything started is listed in $D/.pids as "PID STARTTIME"; a load loop
# also leaves the fcgiclient it runs in $D/load.N.pid. A long run goes
# round the pid numbers, so a pid is only ours while its start time
# (/proc/PID/stat field 22) is the one noted. At exit: stop the loads,
# SIGTERM what is left (spawn stops its own children), SIGKILL after 15 s,
# then SIGKILL the children of a spawn that did not get to stop them.
cleanup() {
	: >"$D/stop-load"
	pids=
	while read -r p t; do
		[ -n "$p" ] && [ "$(starttime "$p")" = "$t" ] && pids="$pids $p"
	done <<EOF
$(cat "$D/.pids" "$D"/load.*.pid 2>/dev/null)
EOF
	orphans=
	for p in $pids; do
		orphans="$orphans $(kids "$p")"
	done
	for p in $pids; do alive "$p" && kill -TERM "$p" 2>/dev/null; done
	i=0
	while [ $i -lt 300 ] && ! all_dead $pids; do
		sleep 0.05
		i=$((i + 1))
	done
	for p in $pids $orphans; do
		alive "$p" && kill -KILL "$p" 2>/dev/null
	done
	if [ -n "${SOAK_KEEP:-}" ]; then
		echo "# soak: files kept in $D"
	else
		cd / && rm -rf "$D"
	fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# dead PID: gone, or a zombie (this sandbox reaps orphans late).
proc_state() { sed 's/.*) \(.\).*/\1/' "/proc/$1/stat" 2>/dev/null; }
starttime() { sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f20; }
track() { for p in "$@"; do echo "$p $(starttime "$p")" >>"$D/.pids"; done; }
dead() {
	[ -r "/proc/$1/stat" ] || return 0
	st=$(proc_state "$1")
	[ -z "$st" ] || [ "$st" = Z ] || [ "$st" = X ]
}
alive() { ! dead "$1"; }
all_dead() { for p in "$@"; do alive "$p" && return 1; done; return 0; }

# all_kids PID: PID's children, reaped or not; kids: the live ones;
# zombie_kids: the ones PID has not reaped.
all_kids() {
	if [ -r "/proc/$1/task/$1/children" ]; then
		cat "/proc/$1/task/$1/children" 2>/dev/null
		return
	fi
	for s in /proc/[0-9]*/stat; do
		pp=$(sed 's/.*) . \([0-9]*\) .*/\1/' "$s" 2>/dev/null)
		[ "$pp" = "$1" ] && { s=${s#/proc/}; echo "${s%/stat}"; }
	done
}
kids() { for k in $(all_kids "$1"); do alive "$k" && echo "$k"; done; }
zombie_kids() {
	for k in $(all_kids "$1"); do
		[ "$(proc_state "$k")" = Z ] && echo "$k"
	done
}
count() { set -- $1; echo $#; }

# wait_for SECONDS 'SHELL CODE': polls every 50 ms; false on time-out.
wait_for() {
	n=$(( $1 * 20 ))
	while [ "$n" -gt 0 ]; do
		eval "$2" && return 0
		sleep 0.05
		n=$((n - 1))
	done
	return 1
}

# status_kb PID FIELD: VmRSS or RssAnon from /proc/PID/status, in kB.
status_kb() { sed -n "s/^$2:[[:space:]]*\([0-9]*\) kB/\1/p" "/proc/$1/status"; }
nfds() { ls "/proc/$1/fd" 2>/dev/null | wc -l | tr -d ' '; }
fd_list() {
	for f in /proc/"$1"/fd/*; do
		printf '%s->%s ' "${f##*/}" "$(readlink "$f" 2>/dev/null)"
	done
}
# Centiseconds since boot, for durations.
now_cs() { cut -d' ' -f1 /proc/uptime | tr -d .; }
secs() { echo "$1" | awk '{ printf "%.1f", $1 / 100 }'; }

ok() { echo "ok - $*"; passes=$((passes + 1)); }
not_ok() { echo "not ok - $*"; fails=$((fails + 1)); }
check() {
	name=$1
	shift
	if "$@"; then ok "$name"; else not_ok "$name"; fi
}
# grew NAME BEFORE AFTER TOLERANCE: ok when AFTER <= BEFORE + TOLERANCE.
grew() {
	if [ -n "$2" ] && [ -n "$3" ] && [ "$3" -le $(($2 + $4)) ]; then
		ok "$1: $2 -> $3 (limit +$4)"
	else
		not_ok "$1: ${2:-?} -> ${3:-?} (limit +$4)"
	fi
}
# sum_field FIELD FILE...: the sum of FIELD=N over the lines of the files.
sum_field() {
	_f=$1
	shift
	cat "$@" 2>/dev/null | tr ' ' '\n' | sed -n "s/^$_f=\([0-9]*\)$/\1/p" |
	    awk '{ s += $1 } END { print s + 0 }'
}

# The binaries are copied, so that a rebuild of the tree during the run
# does not change what runs; the helpers are built from tests/soak.
CC=${CC:-cc}
cp "$TOP/spawn" "$TOP/tests/fcgiclient" "$TOP/tests/probe" "$D/" || exit 2
SPAWN=$D/spawn
CLIENT=$D/fcgiclient
for h in soakapp notifyrecv hello; do
	$CC -O2 -I"$TOP" -o "$D/$h" "$HERE/$h.c" "$TOP/fcgi.c" || {
		echo "soak: cannot build $h" >&2
		exit 2
	}
done
# benchtool cgiload checks more than fcgiclient (the header block, the
# appStatus, the body) and keeps several requests in flight; use it when
# it is there and builds.
BENCHTOOL=
if grep -q cmd_cgiload "$TOP/tests/bench/benchtool.c" 2>/dev/null &&
    $CC -O2 -I"$TOP" -o "$D/benchtool" "$TOP/tests/bench/benchtool.c" \
    "$TOP/fcgi.c" 2>/dev/null; then
	BENCHTOOL=$D/benchtool
fi

# ---------------------------------------------------------------------
# Part 1: the launcher.

SOCK=$D/app.sock
NSOCK=$D/notify.sock
LOG=$D/spawn.log
LIFELOG=$D/lives

readies() { grep -c '^READY=1' "$D/notify.log"; }
respawns() { grep -c ' started$' "$LOG"; }

# load_loop N: fcgiclient runs of 2 s each, one request at a time, until
# $D/stop-load appears (3,600 runs at the most).
load_loop() {
	i=0
	while [ ! -e "$D/stop-load" ] && [ $i -lt 3600 ]; do
		"$CLIENT" -q -d 2000 -t 10000 "$SOCK" SCRIPT_NAME=/soak \
		    2>>"$D/load.$1" &
		echo "$! $(starttime $!)" >"$D/load.$1.pid"
		wait $!
		echo "rc=$?" >>"$D/load.$1"
		i=$((i + 1))
	done
	rm -f "$D/load.$1.pid"
}

# calm LABEL [keep]: while $D/calm exists no child leaves on its own; once
# the children are SLOTS steady ones (the same set twice, three lives
# apart), spawn's figures go into LABEL_rss, _anon, _fds, _fdlist, _kids
# (the live children), _nkids, _zombies and _settled. No restart or
# reload is in flight then, so the two readings compare like with like.
# With keep, $D/calm stays, for the children to be counted and stopped
# as they are.
calm() {
	: >"$D/calm"
	settled=0
	pause=$(echo "$LIFE_MS" | awk '{ printf "%.3f", 3 * $1 / 1000 }')
	i=0
	while [ $i -lt 40 ]; do
		a=$(kids $sp | sort | tr '\n' ' ')
		sleep "$pause"
		b=$(kids $sp | sort | tr '\n' ' ')
		if [ "$a" = "$b" ] && [ "$(count "$a")" -eq "$SLOTS" ]; then
			settled=1
			break
		fi
		i=$((i + 1))
	done
	eval "$1_settled=$settled"
	eval "$1_rss=$(status_kb $sp VmRSS)"
	eval "$1_anon=$(status_kb $sp RssAnon)"
	eval "$1_fds=$(nfds $sp)"
	eval "$1_kids=\"$(kids $sp | tr '\n' ' ')\""
	eval "$1_nkids=\$(count \"\$$1_kids\")"
	eval "$1_zombies=$(count "$(zombie_kids $sp)")"
	eval "$1_fdlist=\"\$(fd_list $sp)\""
	[ "${2:-}" = keep ] || rm -f "$D/calm"
}

# explain_aborts: for each reload that spawn broke off because its new
# child "exited before --min-uptime", how long that child really lived
# (from its own clock, in $LIFELOG).
explain_aborts() {
	grep 'reload: new child' "$LOG" | head -n 5 | while read -r line; do
		pid=$(echo "$line" | sed -n 's/.*new child \([0-9]*\) .*/\1/p')
		lived=$(awk -v p="$pid" '$1 == p { print $3 - $2 }' "$LIFELOG")
		echo "# $line"
		echo "#   child $pid lived ${lived:-?} ms by its own clock (--min-uptime $MIN_UPTIME)"
	done
}

launcher_part() {
	echo "# launcher: spawn -r -F $SLOTS, $RESPAWNS respawns, $RELOADS reloads"
	"$D/notifyrecv" "$NSOCK" $((LAUNCHER_MAX_S + 120)) >"$D/notify.log" &
	nrpid=$!
	track $nrpid
	if ! wait_for 5 '[ -S "$NSOCK" ]'; then
		not_ok "launcher: notifyrecv started"
		return
	fi

	NOTIFY_SOCKET=$NSOCK "$SPAWN" -r -s "$SOCK" -F "$SLOTS" \
	    --min-uptime "$MIN_UPTIME" -- \
	    "$D/soakapp" "$LIFE_MS" "$D/calm" "$LIFELOG" \
	    >"$D/spawn.out" 2>"$LOG" </dev/null &
	sp=$!
	track $sp
	t_launch=$(now_cs)
	if ! wait_for 20 '[ "$(readies)" -ge 1 ] &&
	    [ "$(count "$(kids $sp)")" -eq "$SLOTS" ]'; then
		not_ok "launcher: spawn -r -F $SLOTS started"
		sed 's/^/# /' "$LOG" | head -n 20
		return
	fi

	k=1
	while [ $k -le "$CLIENTS" ]; do
		load_loop $k &
		track $!
		eval "loader_$k=\$!"
		k=$((k + 1))
	done

	# A reload each time another RESPAWNS/RELOADS respawns have happened,
	# each waited for to its end (the READY=1 after its RELOADING=1), so
	# that none is folded into the one before. The warm-up figures are
	# taken once a tenth of both is done.
	reloads=0 reload_fail= warm_done=0 lost=
	warm_respawns=$((RESPAWNS / 10))
	warm_reloads=$((RELOADS / 10))
	[ $warm_reloads -lt 1 ] && warm_reloads=1
	deadline=$(( $(now_cs) + LAUNCHER_MAX_S * 100 ))
	while :; do
		if dead $sp; then
			lost="spawn exited during the run"
			break
		fi
		n=$(respawns)
		if [ $warm_done = 0 ] && [ "$n" -ge $warm_respawns ] &&
		    [ $reloads -ge $warm_reloads ]; then
			calm warm
			warm_done=1
			warm_at=$(respawns)
			continue
		fi
		if [ "$n" -ge "$RESPAWNS" ] && [ $reloads -ge "$RELOADS" ]; then
			break
		fi
		if [ "$(now_cs)" -ge $deadline ]; then
			lost="not done after $LAUNCHER_MAX_S s ($n respawns, $reloads reloads)"
			break
		fi
		if [ $reloads -lt "$RELOADS" ] &&
		    [ $((n * RELOADS)) -ge $((reloads * RESPAWNS)) ]; then
			want=$((reloads + 2))
			kill -HUP $sp
			if ! wait_for 60 '[ "$(readies)" -ge $want ]'; then
				reload_fail="reload $((reloads + 1)) did not end within 60 s"
				break
			fi
			reloads=$((reloads + 1))
			continue
		fi
		sleep 0.2
	done
	t_run_end=$(now_cs)

	: >"$D/stop-load"
	k=1
	while [ $k -le "$CLIENTS" ]; do
		eval "lp=\$loader_$k"
		wait_for 20 'dead $lp' || not_ok "launcher: load loop $k ended"
		k=$((k + 1))
	done
	if alive $sp; then
		calm end keep
	fi

	total_respawns=$(respawns)
	aborted=$(grep -c 'reload: new child' "$LOG")
	replaced=$(grep -c 'reload: slot' "$LOG")
	trouble=$(grep -c 'failed to start\|giving up\|SIGKILL' "$LOG")
	requests=$(sum_field requests "$D"/load.[0-9]*)
	failed=$(sum_field failed "$D"/load.[0-9]*)
	runs=$(cat "$D"/load.[0-9]* 2>/dev/null | grep -c '^rc=')
	summaries=$(cat "$D"/load.[0-9]* 2>/dev/null | grep -c '^requests=')
	bad_rc=$(cat "$D"/load.[0-9]* 2>/dev/null | grep '^rc=' |
	    grep -vc '^rc=[01]$')

	# The end, still calm: SIGTERM; spawn must stop its children and
	# exit 0.
	stop_rc=
	if alive $sp; then
		kill -TERM $sp
		if wait_for 20 'dead $sp'; then
			wait $sp
			stop_rc=$?
		fi
	fi
	t_launcher_end=$(now_cs)
	rm -f "$D/calm"
	left=
	for p in ${end_kids:-}; do alive "$p" && left="$left $p"; done
	kill -TERM $nrpid 2>/dev/null

	if [ -n "$lost" ]; then
		not_ok "launcher: run completed: $lost"
		sed 's/^/# /' "$LOG" | tail -n 10
	else
		ok "launcher: run completed"
	fi
	check "launcher: every reload ended" test -z "$reload_fail"
	[ -n "$reload_fail" ] && echo "# $reload_fail"
	check "launcher: $total_respawns respawns (>= $RESPAWNS)" \
	    test "$total_respawns" -ge "$RESPAWNS"
	check "launcher: $reloads reloads (= $RELOADS), $aborted broken off" \
	    test "$reloads" -eq "$RELOADS" -a "$aborted" -eq 0
	[ "$aborted" -gt 0 ] && explain_aborts
	check "launcher: no failed start, give-up or SIGKILL in the log ($trouble)" \
	    test "$trouble" -eq 0
	[ "$trouble" -gt 0 ] && grep 'failed to start\|giving up\|SIGKILL' "$LOG" |
	    head -n 5 | sed 's/^/# /'
	check "launcher: $requests requests, $failed failed" \
	    test "$requests" -gt 0 -a "$failed" -eq 0
	[ "$failed" -gt 0 ] && grep -h '^fcgiclient:' "$D"/load.[0-9]* |
	    head -n 5 | sed 's/^/# /'
	check "launcher: every load run reported ($summaries of $runs, $bad_rc bad exits)" \
	    test "$runs" -gt 0 -a "$summaries" -eq "$runs" -a "$bad_rc" -eq 0
	check "launcher: children steady at the warm-up (${warm_nkids:-?} of $SLOTS)" \
	    test "${warm_settled:-0}" = 1 -a "${warm_nkids:-0}" -eq "$SLOTS"
	check "launcher: children at the end: ${end_nkids:-?} of $SLOTS, ${end_zombies:-?} unreaped" \
	    test "${end_settled:-0}" = 1 -a "${end_nkids:-0}" -eq "$SLOTS" \
	    -a "${end_zombies:-1}" -eq 0
	[ "${end_nkids:-0}" -ne "$SLOTS" ] && echo "# children: ${end_kids:-}"
	grew "launcher: spawn VmRSS kB" "${warm_rss:-}" "${end_rss:-}" \
	    "$LAUNCHER_RSS_TOL"
	grew "launcher: spawn RssAnon kB" "${warm_anon:-}" "${end_anon:-}" \
	    "$LAUNCHER_RSS_TOL"
	grew "launcher: spawn open descriptors" "${warm_fds:-}" "${end_fds:-}" 0
	if [ "${warm_fds:-}" != "${end_fds:-}" ]; then
		echo "${warm_fdlist:-}" | tr ' ' '\n' | sort >"$D/fds.warm"
		echo "${end_fdlist:-}" | tr ' ' '\n' | sort >"$D/fds.end"
		comm -13 "$D/fds.warm" "$D/fds.end" | head -n 10 |
		    sed 's/^/#   new since the warm-up: /'
		comm -23 "$D/fds.warm" "$D/fds.end" | head -n 10 |
		    sed 's/^/#   gone since the warm-up: /'
	fi
	check "launcher: SIGTERM: spawn exited 0 (${stop_rc:-still running})" \
	    test "${stop_rc:-x}" = 0
	check "launcher: SIGTERM: no child left${left:+:$left}" test -z "$left"

	cat >>"$D/summary" <<EOF
  launcher  spawn -r -F $SLOTS --min-uptime $MIN_UPTIME, children live $LIFE_MS ms, $CLIENTS clients
    respawns           $total_respawns (target $RESPAWNS; ${warm_at:-?} at the warm-up reading)
    reloads            $reloads of $RELOADS, $aborted broken off, $replaced slot replacements
    requests           $requests, failed $failed
    children at end    ${end_nkids:-?} of $SLOTS, unreaped ${end_zombies:-?}
    spawn VmRSS kB     warm-up ${warm_rss:-?}  end ${end_rss:-?}  (limit +$LAUNCHER_RSS_TOL)
    spawn RssAnon kB   warm-up ${warm_anon:-?}  end ${end_anon:-?}  (limit +$LAUNCHER_RSS_TOL)
    spawn fds          warm-up ${warm_fds:-?}  end ${end_fds:-?}  (limit +0)
    duration           $(secs $((t_run_end - t_launch))) s under load, $(secs $((t_launcher_end - t_launch))) s in all
EOF
}

# ---------------------------------------------------------------------
# Part 2: the CGI bridge.

BSOCK=$D/cgi.sock
BLOG=$D/bridge.log

# bload N: N more requests; adds to b_ok and b_failed, keeps a reason.
bload() {
	ms=$(( $1 * 1000 / BRIDGE_MIN_RPS + 30000 ))
	if [ -n "$BENCHTOOL" ]; then
		"$BENCHTOOL" cgiload "$BSOCK" "$CONNS" "$ms" /soak 0 "$1" \
		    >"$D/cgiload.out" 2>"$D/cgiload.err"
		got=$(sum_field requests "$D/cgiload.out")
		bad=$(sum_field failed "$D/cgiload.out")
		b_body=$(sed -n 's/.* body=//p' "$D/cgiload.out")
		[ -s "$D/cgiload.err" ] && b_reason=$(tail -n 1 "$D/cgiload.err")
	else
		# One request at a time per fcgiclient: CONNS of them at once.
		rm -f "$D"/fc.*
		per=$(( ($1 + CONNS - 1) / CONNS ))
		j=1 pids=
		while [ $j -le "$CONNS" ]; do
			"$CLIENT" -q -n "$per" -t 10000 "$BSOCK" \
			    SCRIPT_NAME=/soak 2>"$D/fc.$j" &
			pids="$pids $!"
			track $!
			j=$((j + 1))
		done
		wait $pids
		got=$(sum_field ok "$D"/fc.*)
		bad=$(sum_field failed "$D"/fc.*)
		[ "$bad" -gt 0 ] && b_reason=$(grep -h '^fcgiclient:' "$D"/fc.* |
		    head -n 1)
		# The last batch may have gone past N by less than CONNS.
		[ "$got" -gt "$1" ] && got=$1
	fi
	b_ok=$((b_ok + got))
	b_failed=$((b_failed + bad))
	# Requests missing from the count (the time bound was hit) failed too.
	if [ $((got + bad)) -lt "$1" ]; then
		b_failed=$((b_failed + $1 - got - bad))
		b_reason="only $((got + bad)) of $1 requests done in $ms ms"
	fi
}

# bsample LABEL: once no CGI script runs any more, each worker's VmRSS,
# RssAnon and descriptors, as "pid:value" lists in LABEL_rss, _anon, _fds.
no_scripts() { for w in $workers; do [ -z "$(kids "$w")" ] || return 1; done; }
bsample() {
	wait_for 10 no_scripts
	r= a= f=
	for w in $workers; do
		r="$r $w:$(status_kb "$w" VmRSS)"
		a="$a $w:$(status_kb "$w" RssAnon)"
		f="$f $w:$(nfds "$w")"
	done
	eval "$1_rss=\"$r\" $1_anon=\"$a\" $1_fds=\"$f\""
	echo "# bridge: after $b_ok requests: VmRSS$r; RssAnon$a; fds$f"
}
# field LIST PID: the value for PID in a "pid:value" list.
field() { echo "$1" | tr ' ' '\n' | sed -n "s/^$2://p"; }

bridge_part() {
	echo "# bridge: spawn --cgi -F 2, $BRIDGE_REQUESTS requests"
	"$SPAWN" --cgi -w -F 2 -s "$BSOCK" -- "$D/hello" \
	    >"$D/bridge.out" 2>"$BLOG" </dev/null &
	bp=$!
	track $bp
	t_bridge=$(now_cs)
	if ! wait_for 20 '[ -S "$BSOCK" ] && [ "$(count "$(kids $bp)")" -eq 2 ]'; then
		not_ok "bridge: spawn --cgi -F 2 started"
		sed 's/^/# /' "$BLOG" | head -n 20
		return
	fi
	workers=$(kids $bp | sort | tr '\n' ' ')

	b_ok=0 b_failed=0 b_reason= b_body=
	warm=$((BRIDGE_REQUESTS / 10))
	bload $warm
	bsample bwarm
	rest=$((BRIDGE_REQUESTS - warm))
	q=1
	while [ $q -le 4 ] && [ $b_failed -eq 0 ]; do
		chunk=$((rest / 4))
		[ $q -eq 4 ] && chunk=$((rest - 3 * (rest / 4)))
		bload $chunk
		bsample bq$q
		q=$((q + 1))
	done
	t_bridge_load=$(now_cs)
	end_workers=$(kids $bp | sort | tr '\n' ' ')
	cgi_lines=$(grep -c 'spawn: cgi:' "$BLOG")
	kill -TERM $bp
	b_rc=
	if wait_for 20 'dead $bp'; then
		wait $bp
		b_rc=$?
	fi
	b_left=
	for w in $workers; do alive "$w" && b_left="$b_left $w"; done
	t_bridge_end=$(now_cs)

	check "bridge: $b_ok requests answered (= $BRIDGE_REQUESTS), $b_failed failed" \
	    test "$b_ok" -eq "$BRIDGE_REQUESTS" -a "$b_failed" -eq 0
	[ -n "$b_reason" ] && echo "# $b_reason"
	if [ -n "$BENCHTOOL" ]; then
		check "bridge: the body was the script's (\"$b_body\")" \
		    test "$b_body" = "hello 0"
	fi
	check "bridge: the same 2 workers throughout ($workers)" \
	    test "$workers" = "$end_workers"
	check "bridge: no log line from the workers ($cgi_lines)" \
	    test "$cgi_lines" -eq 0
	[ "$cgi_lines" -gt 0 ] && grep 'spawn: cgi:' "$BLOG" | head -n 5 |
	    sed 's/^/# /'
	for w in $workers; do
		grew "bridge: worker $w VmRSS kB" "$(field "$bwarm_rss" $w)" \
		    "$(field "${bq4_rss:-}" $w)" "$BRIDGE_RSS_TOL"
		grew "bridge: worker $w RssAnon kB" "$(field "$bwarm_anon" $w)" \
		    "$(field "${bq4_anon:-}" $w)" "$BRIDGE_RSS_TOL"
		grew "bridge: worker $w open descriptors" \
		    "$(field "$bwarm_fds" $w)" "$(field "${bq4_fds:-}" $w)" 0
	done
	check "bridge: SIGTERM: spawn exited 0 (${b_rc:-still running})" \
	    test "${b_rc:-x}" = 0
	check "bridge: SIGTERM: no worker left${b_left:+:$b_left}" \
	    test -z "$b_left"

	if [ -n "$BENCHTOOL" ]; then
		how="benchtool cgiload, $CONNS in flight"
	else
		how="$CONNS fcgiclient processes"
	fi
	rate=$(echo "$b_ok $t_bridge $t_bridge_load" |
	    awk '{ d = ($3 - $2) / 100; printf "%.0f", (d > 0 ? $1 / d : 0) }')
	cat >>"$D/summary" <<EOF
  bridge    spawn --cgi -F 2 -- hello, $how
    requests           $b_ok of $BRIDGE_REQUESTS, failed $b_failed
    rate               $rate requests/s
    worker VmRSS kB    warm-up$bwarm_rss  end${bq4_rss:- ?}  (limit +$BRIDGE_RSS_TOL)
    worker RssAnon kB  warm-up$bwarm_anon  end${bq4_anon:- ?}  (limit +$BRIDGE_RSS_TOL)
    worker fds         warm-up$bwarm_fds  end${bq4_fds:- ?}  (limit +0)
    duration           $(secs $((t_bridge_end - t_bridge))) s
EOF
}

# ---------------------------------------------------------------------
# Part 3: the dynamic pool.

PSOCK=$D/pool.sock
PLOG=$D/pool.log
PSTATUS=$D/pool.prom

# pburst: 32 requests at once; adds to p_ok and p_failed.
pburst() {
	if [ -n "$BENCHTOOL" ] && grep -q '"burst"' "$TOP/tests/bench/benchtool.c"; then
		_out=$("$BENCHTOOL" burst "$PSOCK" 32 30000 2>&1)
		_r=$(echo "$_out" | tr ' ' '\n' | sed -n 's/^requests=//p')
		_f=$(echo "$_out" | tr ' ' '\n' | sed -n 's/^failed=//p')
		_u=$(echo "$_out" | tr ' ' '\n' | sed -n 's/^unanswered=//p')
		p_ok=$((p_ok + ${_r:-0} - ${_f:-0} - ${_u:-0}))
		p_failed=$((p_failed + ${_f:-0} + ${_u:-0} + 32 - ${_r:-0}))
	else
		_j=0
		while [ $_j -lt 32 ]; do
			"$CLIENT" -q -n 1 -t 30000 "$PSOCK" >"$D/pb.$_j" 2>&1 &
			_j=$((_j + 1))
		done
		wait
		p_ok=$((p_ok + $(cat "$D"/pb.* | grep -c 'failed=0')))
		p_failed=$((p_failed + $(cat "$D"/pb.* | grep -vc 'failed=0')))
	fi
}
psample() {
	eval "${1}_rss=\$(status_kb $pp VmRSS)"
	eval "${1}_anon=\$(status_kb $pp RssAnon)"
	eval "${1}_fds=\$(nfds $pp)"
}
pmetric() { sed -n "s/^$1 //p" "$PSTATUS" 2>/dev/null; }

pool_part() {
	echo "# pool: spawn -r -F 1 --max-children 16, $POOL_CYCLES grow-and-shrink cycles"
	"$SPAWN" -r -F 1 --max-children 16 --idle-timeout 1 \
	    --status-file "$PSTATUS" -s "$PSOCK" -- "$D/probe" --serve \
	    --delay 100 >"$D/pool.out" 2>"$PLOG" </dev/null &
	pp=$!
	track $pp
	t_pool=$(now_cs)
	if ! wait_for 20 '[ -S "$PSOCK" ] && [ "$(count "$(kids $pp)")" -eq 1 ]'; then
		not_ok "pool: spawn -r -F 1 --max-children 16 started"
		sed 's/^/# /' "$PLOG" | head -n 20
		return
	fi
	p_ok=0 p_failed=0 p_cycles=0 p_stuck=0 p_most=0
	while [ $p_cycles -lt "$POOL_CYCLES" ] && [ $p_failed -eq 0 ]; do
		pburst
		_n=$(count "$(kids $pp)")
		[ "$_n" -gt "$p_most" ] && p_most=$_n
		if ! wait_for 60 '[ "$(count "$(kids $pp)")" -eq 1 ] && [ "$(pmetric spawn_scale_ups_total)" = "$(pmetric spawn_scale_downs_total)" ]'; then
			p_stuck=$((p_stuck + 1))
			break
		fi
		p_cycles=$((p_cycles + 1))
		[ $p_cycles -eq 1 ] && psample pwarm
	done
	psample pend
	ups=$(pmetric spawn_scale_ups_total)
	downs=$(pmetric spawn_scale_downs_total)
	kill -TERM $pp
	p_rc=
	if wait_for 20 'dead $pp'; then
		wait $pp
		p_rc=$?
	fi
	t_pool_end=$(now_cs)

	check "pool: $p_cycles cycles of $POOL_CYCLES, each back to 1 child" \
	    test "$p_cycles" -eq "$POOL_CYCLES" -a "$p_stuck" -eq 0
	check "pool: $p_ok requests answered (= $((32 * POOL_CYCLES))), $p_failed failed" \
	    test "$p_ok" -eq $((32 * POOL_CYCLES)) -a "$p_failed" -eq 0
	check "pool: it grew ($p_most children seen after a burst, at most 16)" \
	    test "$p_most" -gt 1 -a "$p_most" -le 16
	check "pool: the status file counts as many scale-downs as scale-ups ($downs, $ups)" \
	    test -n "$ups" -a "$ups" = "$downs" -a "${ups:-0}" -ge "$p_cycles"
	grew "pool: spawn VmRSS kB" "${pwarm_rss:-}" "${pend_rss:-}" "$LAUNCHER_RSS_TOL"
	grew "pool: spawn RssAnon kB" "${pwarm_anon:-}" "${pend_anon:-}" "$LAUNCHER_RSS_TOL"
	grew "pool: spawn open descriptors" "${pwarm_fds:-}" "${pend_fds:-}" 0
	check "pool: SIGTERM: spawn exited 0 (${p_rc:-still running})" \
	    test "${p_rc:-x}" = 0
	check "pool: the status file is removed at exit" test ! -e "$PSTATUS"
	cat >>"$D/summary" <<EOF
  pool      spawn -r -F 1 --max-children 16 --idle-timeout 1, bursts of 32
    cycles             $p_cycles of $POOL_CYCLES (scale-ups $ups, scale-downs $downs)
    requests           $p_ok of $((32 * POOL_CYCLES)), failed $p_failed
    spawn VmRSS kB     warm-up ${pwarm_rss:-?}  end ${pend_rss:-?}  (limit +$LAUNCHER_RSS_TOL)
    spawn RssAnon kB   warm-up ${pwarm_anon:-?}  end ${pend_anon:-?}  (limit +$LAUNCHER_RSS_TOL)
    spawn fds          warm-up ${pwarm_fds:-?}  end ${pend_fds:-?}  (limit +0)
    duration           $(secs $((t_pool_end - t_pool))) s
EOF
}

# ---------------------------------------------------------------------
t_start=$(now_cs)
case " $PARTS " in *" launcher "*) launcher_part ;; esac
case " $PARTS " in *" bridge "*) bridge_part ;; esac
case " $PARTS " in *" pool "*) pool_part ;; esac
echo
echo "soak summary (pid:value for each worker)"
cat "$D/summary"
echo "  total              $(secs $(($(now_cs) - t_start))) s"
echo "$passes passed, $fails failed"
[ "$fails" -eq 0 ] && [ "$passes" -gt 0 ]
