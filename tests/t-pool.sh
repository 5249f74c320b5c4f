# The dynamic pool (issue 8): --max-children, --scale-delay, --idle-timeout,
# and the pool's figures in --status-file and in sd_notify STATUS= lines.
# What is asserted is what really happened: the children are the direct
# children of spawn in /proc (sampled every 20 ms by tests/pool/sample.py,
# which forks nothing), the answers are what each client received, and the
# figures spawn publishes are compared with both.
. "$(dirname "$0")/lib.sh"

umask 022
unset LISTEN_PID LISTEN_FDS LISTEN_FDNAMES NOTIFY_SOCKET PHP_FCGI_CHILDREN \
    PHP_FCGI_MAX_REQUESTS
H=$TOP/tests/pool
R=$T/r
W=$T/www
mkdir -p "$R" "$W"
chmod 755 "$W"

# Every process this file starts carries SPAWN_POOL_TEST=$T in its
# environment, and spawn hands it on to its children. When spawn is killed
# (a test gone wrong, an interrupted run), children it started after the
# sampler last looked would be orphans that nothing else ends; these are
# found by that variable and ended by pid, stopped first so that a
# supervisor among them cannot start another. grep runs without the
# variable, so that it does not find itself.
SPAWN_POOL_TEST=$T
export SPAWN_POOL_TEST
end_pool() {
	for _i in 1 2 3; do
		_ps=$(env -u SPAWN_POOL_TEST grep -lsF "SPAWN_POOL_TEST=$T" \
		    /proc/[0-9]*/environ 2>/dev/null | cut -d/ -f3)
		[ -n "$_ps" ] || break
		kill -STOP $_ps 2>/dev/null
		kill -KILL $_ps 2>/dev/null
	done
}
trap 'end_pool; cleanup_test' EXIT

# --- Helpers.

# kidpids PID: the live (not zombie) children of PID, from the kernel's
# list of them where there is one (no process forked), else from /proc.
kidpids() {
	if [ -r "/proc/$1/task/$1/children" ]; then
		_cl=
		{ read -r _cl <"/proc/$1/task/$1/children"; } 2>/dev/null
		for _c in $_cl; do alive "$_c" && echo "$_c"; done
	else
		children_of "$1"
	fi
}
# nk PID: NK, how many live children PID has.
nk() { NK=$(kidpids "$1" | grep -c .); }
# nk_is PID N: PID has N live children.
nk_is() { nk "$1"; [ "$NK" -eq "$2" ]; }
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

# sampler PID NAME: tests/pool/sample.py counts PID's children into
# $T/NAME.samples every 20 ms, until PID is gone; every child it sees is
# tracked (ended at exit if still the same process). SAMPLES is the file.
sampler() {
	SAMPLES=$T/$2.samples
	TRACK=$T/.pids python3 "$H/sample.py" "$1" "$SAMPLES" 20 120 &
	SAMPLER=$!
	track "$SAMPLER"
	wait_until 5 test -s "$SAMPLES"
}
nsamples() { wc -l <"$SAMPLES" | tr -d ' '; }
# end_sampler: waits (bounded) for it to see spawn gone.
end_sampler() {
	wait_until 5 dead "$SAMPLER" || kill "$SAMPLER" 2>/dev/null
	wait "$SAMPLER" 2>/dev/null
}

# burst NAME COUNT ADDR [NAME=VALUE...]: COUNT requests at once, each from
# its own client on its own connection (timeout 30 s), the i-th with
# QUERY_STRING=n=i; its answer in $T/NAME/i.out. BURST: the clients' pids.
burst() {
	_bn=$1 _bc=$2 _ba=$3
	shift 3
	newdir "$T/$_bn"
	BURST=
	_i=1
	while [ "$_i" -le "$_bc" ]; do
		"$CLIENT" -t 30000 "$_ba" "$@" QUERY_STRING="n=$_i" \
		    >"$T/$_bn/$_i.out" 2>"$T/$_bn/$_i.err" </dev/null &
		BURST="$BURST $!"
		_i=$((_i + 1))
	done
	track $BURST
}
# burst_end NAME PATTERN: waits (bounded: 45 s) for the clients of the
# last burst; GOOD is how many exited 0 with an answer that has a line
# matching PATTERN (grep -E, @N@ standing for the request's number),
# FAILED the others (the first three are shown); BURST_END is when the
# last client was seen done (ms).
burst_end() {
	wait_until 45 all_dead $BURST || kill -KILL $BURST 2>/dev/null
	BURST_END=$(now_ms)
	GOOD=0
	FAILED=0
	_i=1
	for _p in $BURST; do
		wait "$_p"
		_rc=$?
		_pat=$(printf '%s' "$2" | sed "s/@N@/$_i/g")
		if [ "$_rc" = 0 ] && grep -Eq -- "$_pat" "$T/$1/$_i.out"; then
			GOOD=$((GOOD + 1))
		else
			FAILED=$((FAILED + 1))
			[ "$FAILED" -gt 3 ] ||
			    diag "request $_i (exit $_rc):" "$(cat "$T/$1/$_i.err" "$T/$1/$_i.out" | head -n 5)"
		fi
		_i=$((_i + 1))
	done
}

# ctxt PID: how often PID has been switched to (voluntary and not).
ctxt() {
	awk '/^(voluntary|nonvoluntary)_ctxt_switches:/ { n += $2 } END { print n + 0 }' \
	    "/proc/$1/status" 2>/dev/null
}
# still PID: PID is asleep and stays so for 200 ms (it has finished
# whatever it was doing): two readings of its switches 200 ms apart agree.
still() {
	_s0=$(ctxt "$1")
	sleep 0.2
	[ "$_s0" = "$(ctxt "$1")" ]
}
# quiet WHAT PID [FILE]: with nothing happening, over 2 s, PID is never
# switched to (it does not wake up at all), and FILE (the status file) is
# not written: same inode, same mtime to the nanosecond.
quiet() {
	wait_until 5 still "$2"
	_c0=$(ctxt "$2")
	_f0=
	[ -z "${3:-}" ] || _f0=$(stat -c '%i %.9Y' "$3" 2>&1)
	sleep 2
	_c1=$(ctxt "$2")
	expect_eq "$1: spawn does not wake up in 2 s with nothing to do (context switches)" "$_c0" "$_c1"
	[ -z "${3:-}" ] ||
	    expect_eq "$1: the status file is not rewritten in 2 s (inode, mtime)" "$_f0" "$(stat -c '%i %.9Y' "$3" 2>&1)"
}

# The status file. snap FILE: a copy of it as it is now, in $T/snap (one
# read: spawn replaces it whole); false when there is none. m NAME: a
# value in the copy; cs STATE: spawn_children{state="STATE"}.
snap() { cat "$1" >"$T/snap" 2>/dev/null; }
m() { awk -v k="$1" '$1 == k { print $2 }' "$T/snap"; }
cs() { m "spawn_children{state=\"$1\"}"; }
# settled FILE PID N: spawn PID has N children in /proc, and FILE says N
# running, none starting or stopping.
settled() {
	snap "$1" && [ "$(cs running)" = "$3" ] && [ "$(cs starting)" = 0 ] &&
	    [ "$(cs stopping)" = 0 ] && nk_is "$2" "$3"
}
# The file as the contract gives it, every value an integer.
cat >"$T/status.skel" <<'EOF'
# HELP spawn_children Children of the pool, by state.
# TYPE spawn_children gauge
spawn_children{state="starting"} N
spawn_children{state="running"} N
spawn_children{state="stopping"} N
spawn_children{state="backoff"} N
# HELP spawn_children_min The pool's minimum (-F).
# TYPE spawn_children_min gauge
spawn_children_min N
# HELP spawn_children_max The pool's maximum (--max-children, else -F).
# TYPE spawn_children_max gauge
spawn_children_max N
# HELP spawn_starts_total Children started and verified.
# TYPE spawn_starts_total counter
spawn_starts_total N
# HELP spawn_start_failures_total Children that failed to start.
# TYPE spawn_start_failures_total counter
spawn_start_failures_total N
# HELP spawn_restarts_total Children restarted after they exited.
# TYPE spawn_restarts_total counter
spawn_restarts_total N
# HELP spawn_reloads_total Reloads (SIGHUP) begun.
# TYPE spawn_reloads_total counter
spawn_reloads_total N
# HELP spawn_scale_ups_total Children started because connections waited.
# TYPE spawn_scale_ups_total counter
spawn_scale_ups_total N
# HELP spawn_scale_downs_total Idle children stopped.
# TYPE spawn_scale_downs_total counter
spawn_scale_downs_total N
# HELP spawn_listen_queue Connections waiting to be accepted, when last seen.
# TYPE spawn_listen_queue gauge
spawn_listen_queue N
# HELP spawn_listen_queue_peak The most connections seen waiting.
# TYPE spawn_listen_queue_peak gauge
spawn_listen_queue_peak N
EOF
skeleton() { sed -E '/^#/!s/ [0-9]+$/ N/' "$T/snap"; }

# The log lines of the pool, in spawn NAME's stderr.
UP_RE='^spawn: pool: [0-9]+ waiting, starting [0-9]+ child'
DOWN_RE='^spawn: pool: child [0-9]+ idle for [0-9]+ s, stopping it$'
ups_logged() { grep -Ec "$UP_RE" "$T/$1.err"; }
downs_logged() { grep -Ec "$DOWN_RE" "$T/$1.err"; }
# down_pids NAME: the children the log says were stopped, in that order.
down_pids() { grep -E "$DOWN_RE" "$T/$1.err" | sed -E 's/^spawn: pool: child ([0-9]+) .*/\1/'; }
down_secs() { grep -E "$DOWN_RE" "$T/$1.err" | sed -E 's/.* idle for ([0-9]+) s,.*/\1/'; }

# starts_of PID: "pid starttime" of each of PID's children now.
starts_of() {
	for _k in $(kidpids "$1"); do
		start_time "$_k" && echo "$_k $START_TIME"
	done
}
# order_of NAME: the children spawn NAME stopped, in that order, one line
# each: "pid starttime lastanswer" (a "-" where unknown).
order_of() {
	while read -r _p _ms; do
		_t=$(awk -v p="$_p" '$1 == p { print $2 }' "$T/$1.starts")
		_la=$(last_answer "$1" "$_p")
		echo "$_p ${_t:--} ${_la:--}"
	done <"$T/$1.downs"
}
# not_newest_first NAME: the pairs that break "the newest first": a child
# stopped before a newer one (a later start time in /proc) that had been
# idle longer (its last script ended 250 ms or more before the older
# one's: slack for the time a loaded child takes from the end of its
# script back to accept()), so that any look of spawn that found the older
# one idle found the newer one idle too. Nothing when there is none.
not_newest_first() {
	order_of "$1" | awk '
	{ p[NR] = $1; t[NR] = $2; la[NR] = $3 }
	END {
		for (a = 1; a <= NR; a++)
			for (b = a + 1; b <= NR; b++) {
				if (t[a] == "-" || t[b] == "-" || la[a] == "-" || la[b] == "-")
					continue
				if (t[b] + 0 > t[a] + 0 && la[b] + 250 <= la[a] + 0)
					printf "%s (started %s, idle from %s) before %s (started %s, idle from %s)\n", p[a], t[a], la[a], p[b], t[b], la[b]
			}
	}' | head -n 5
}

# grow WHAT NAME MAX COUNT PATTERN ADDR [NAME=VALUE...]: COUNT requests at
# once to spawn NAME (SP, with its sampler running) all get their own
# answer, and the pool reaches MAX children and is never above.
# $T/NAME.starts then holds the children right after the burst.
grow() {
	_what=$1 _gn=$2 _max=$3 _count=$4 _pattern=$5
	shift 5
	burst "$_gn.b" "$_count" "$@"
	burst_end "$_gn.b" "$_pattern"
	starts_of "$SP" >"$T/$_gn.starts"
	expect_eq "$_what: a burst of $_count requests at once: all answered correctly" \
	    "$_count ok, 0 failed" "$GOOD ok, $FAILED failed"
	_mx=$(max_in "$SAMPLES")
	check "$_what: the burst grows the pool to --max-children $_max (most seen: $_mx)" \
	    test "${_mx:-0}" -ge "$_max"
	check "$_what: never more than $_max children (most seen: $_mx in $(nsamples) samples, every 20 ms)" \
	    test "${_mx:-0}" -le "$_max"
	check "$_what: the log has 'spawn: pool: N waiting, starting K ...' lines ($(ups_logged "$_gn"))" \
	    test "$(ups_logged "$_gn")" -ge 1
	diag "$_what: scale-ups logged:" "$(grep -E "$UP_RE" "$T/$_gn.err")"
}
# watch_downs NAME SECS MIN: polls, SECS at most, until spawn NAME (SP)
# has MIN children; when each of its 'idle ... stopping it' log lines was
# first seen goes to $T/NAME.downs ("pid ms"), a little after spawn wrote
# it (one poll, about 30 ms). OVERLAP: the children still alive when the
# stop of the next one was seen (one at a time: there should be none).
watch_downs() {
	: >"$T/$1.downs"
	_wn=0
	OVERLAP=
	_wend=$(( $(now_ms) + $2 * 1000 ))
	while :; do
		_wc=$(downs_logged "$1")
		_wt=$(now_ms)
		if [ "$_wc" -gt "$_wn" ]; then
			down_pids "$1" | sed -n "$((_wn + 1)),${_wc}p" | sed "s/\$/ $_wt/" >>"$T/$1.downs"
			_wn=$_wc
			for _p in $(down_pids "$1" | sed '$d'); do
				alive "$_p" && OVERLAP="$OVERLAP $_p"
			done
		fi
		nk_is "$SP" "$3" && break
		[ "$_wt" -lt "$_wend" ] || break
		sleep 0.02
	done
	_wc=$(downs_logged "$1")
	[ "$_wc" -le "$_wn" ] ||
	    down_pids "$1" | sed -n "$((_wn + 1)),${_wc}p" | sed "s/\$/ $(now_ms)/" >>"$T/$1.downs"
}
# last_answer NAME PID: when (ms) child PID was done with its last request
# of the burst NAME.b: each script ends its answer with "child=PID t=MS",
# the time it was done (read by the child, not by a client: 64 clients on
# a loaded machine may take long to be scheduled); nothing when it served
# none.
last_answer() {
	cat "$T/$1.b"/*.out 2>/dev/null | sed -n "s/.* child=$2 t=\([0-9][0-9]*\)\$/\1/p" |
	    sort -n | tail -n 1
}
# shrink WHAT NAME MIN MAX IDLE: after the burst, the pool goes back to
# MIN children (bounded: two idle timeouts, then half a second a child,
# and 10 s to spare), one at a time, the newest first; no child is
# stopped before it has been idle for IDLE seconds, from the last answer
# it gave (the answers name the child that gave them: child=PID); the log
# says so.
shrink() {
	_what=$1 _gn=$2 _min=$3 _max=$4 _idle=$5
	_lim=$((2 * _idle + (_max - _min) / 2 + 10))
	watch_downs "$_gn" "$_lim" "$_min"
	_all=$(( $(now_ms) - BURST_END ))
	nk "$SP"
	expect_eq "$_what: back to $_min children after the idle timeout (within $_lim s)" "$_min" "$NK"
	_first=$(awk -v e="$BURST_END" 'NR == 1 { print $2 - e }' "$T/$_gn.downs")
	echo "# $_what: first child stopped ${_first:-?} ms, back to $_min ${_all} ms after the last answer of the burst"
	expect_eq "$_what: one 'spawn: pool: child PID idle for S s, stopping it' line per child stopped" \
	    $((_max - _min)) "$(downs_logged "$_gn")"
	expect_eq "$_what: one at a time: each child stopped had exited when the next stop was logged" "" "$OVERLAP"
	_short=$(down_secs "$_gn" | awk -v i="$_idle" '$1 < i' | head -n 1)
	expect_eq "$_what: every 'idle for S s' says S >= --idle-timeout $_idle" "" "$_short"
	# Each child stopped had really been idle that long: from the end of
	# its last script to the moment its log line was seen (both a little
	# early and late: a stop that came too early still shows, and 100 ms
	# of slack covers the clocks' coarseness).
	_early=
	_idles=
	while read -r _p _ms; do
		_la=$(last_answer "$_gn" "$_p")
		if [ -z "$_la" ]; then
			_idles="$_idles $_p:none"
			continue
		fi
		_idles="$_idles $_p:$((_ms - _la))ms"
		[ $((_ms - _la)) -ge $((_idle * 1000 - 100)) ] || _early="$_early $_p:$((_ms - _la))ms"
	done <"$T/$_gn.downs"
	expect_eq "$_what: no child stopped less than --idle-timeout $_idle s after its last answer" "" "$_early"
	diag "$_what: idle before the stop, child by child (ms):" "$_idles"
	expect_eq "$_what: the newest first: no child stopped before a newer one that was idle as long" \
	    "" "$(not_newest_first "$_gn")"
	_mx=$(max_in "$SAMPLES")
	check "$_what: never more than $_max children, shrink included (most seen: $_mx)" \
	    test "${_mx:-0}" -le "$_max"
}
# stop_spawn WHAT SOCKET: SIGTERM: exit 0 within 15 s, no child left (every
# one the sampler saw is dead), the socket removed.
stop_spawn() {
	_kids=$(kidpids "$SP")
	kill -TERM "$SP"
	finish 15
	end_sampler
	expect_eq "$1: SIGTERM: exit 0" 0 "$RC"
	check "$1: SIGTERM: no child left" all_dead $_kids
	check "$1: SIGTERM: the socket is removed" sock_gone "$2"
}

# ---------------------------------------------------------------------------
# 1. Bad input: exit 2, one line on stderr that names the value, nothing
# started (the probe would report in $R), nothing left in the directory
# B, where the socket, the pid file and the status file would be.
B=$T/bad
mkdir -p "$B"
# refused HOW TEXT ARGS...: spawn ARGS -s B/s.sock -P B/p.pid -- probe is
# refused; its stderr is one line, which is TEXT (HOW "is"), starts with
# it ("starts") or contains it ("has").
refused() {
	_how=$1 _text=$2
	shift 2
	run_spawn "$@" -s "$B/s.sock" -P "$B/p.pid" -- "$PROBE" --report "$R" --serve
	_rl=$(label "$@")
	expect_eq "bad input [$_rl]: exit 2" 2 "$RC"
	case $_how in
	is) expect_eq "bad input [$_rl]: the message" "$_text" "$ERR" ;;
	starts)
		case $ERR in
		"$_text"*) ok "bad input [$_rl]: the message starts with '$_text'" ;;
		*) not_ok "bad input [$_rl]: the message starts with '$_text'"; diag got: "$ERR" ;;
		esac ;;
	has)
		case $ERR in
		spawn:\ *"$_text"*) ok "bad input [$_rl]: the message names '$(label "$_text")'" ;;
		*) not_ok "bad input [$_rl]: the message names '$(label "$_text")'"; diag got: "$ERR" ;;
		esac ;;
	esac
	expect_eq "bad input [$_rl]: one line on stderr" 1 "$(printf '%s\n' "$ERR" | grep -c .)"
	expect_eq "bad input [$_rl]: nothing on stdout" "" "$OUT"
	check "bad input [$_rl]: nothing started" test "$(count_reports "$R")" -eq 0
	expect_eq "bad input [$_rl]: nothing left (socket, pid file, status file)" "" "$(ls -A "$B")"
	rm -rf "${B:?}"/* "${R:?}"/*
}
refused is 'spawn: --max-children 2 is below -F 4' -r -F 4 --max-children 2
refused is 'spawn: max-children "5000": too large (1..4096)' -r --max-children 5000
refused is 'spawn: max-children "4097": too large (1..4096)' -r -F 0 --max-children 4097
refused is 'spawn: max-children "0": too small (1..4096)' -r --max-children 0
refused is 'spawn: max-children "abc": not a number (1..4096)' -r --max-children abc
refused is 'spawn: max-children "": not a number (1..4096)' -r --max-children ''
refused starts 'spawn: --max-children needs -r' --max-children 4
refused starts 'spawn: --max-children needs -r' -w --max-children 4
refused is 'spawn: children "0": too small (1..4096)' -r -F 0
refused is 'spawn: children "0": too small (1..4096)' -F 0
refused is 'spawn: children "0": too small (1..4096)' -w -F 0
refused has '--check' -r -F 0 --max-children 4 --check
refused has '--scale-delay' -r --scale-delay 50
refused has '--idle-timeout' -r --idle-timeout 5
refused has '--scale-delay' -r -F 2 --scale-delay 50 --status-file "$B/st.prom"
refused is 'spawn: scale-delay "0": too small (1..60000)' -r --max-children 4 --scale-delay 0
refused is 'spawn: scale-delay "60001": too large (1..60000)' -r --max-children 4 --scale-delay 60001
refused is 'spawn: scale-delay "20ms": not a number (1..60000)' -r --max-children 4 --scale-delay 20ms
refused is 'spawn: idle-timeout "0": too small (1..86400)' -r --max-children 4 --idle-timeout 0
refused is 'spawn: idle-timeout "86401": too large (1..86400)' -r --max-children 4 --idle-timeout 86401
refused is 'spawn: idle-timeout "1x": not a number (1..86400)' -r --max-children 4 --idle-timeout 1x
refused has '--status-file' --status-file "$B/st.prom"
refused has "$B/none/st.prom" -r --status-file "$B/none/st.prom"
refused has "$B/none/st.prom" -r -F 0 --max-children 2 --status-file "$B/none/st.prom"
# A symbolic link is never followed: its target is neither created nor
# touched, and the link stays as it was.
L=$T/bad-link
mkdir -p "$L/to"
ln -s "$L/to/created.prom" "$L/dangling.prom"
printf 'keep\n' >"$L/to/kept.prom"
touch -d '2020-01-01 00:00:00' "$L/to/kept.prom"
ln -s "$L/to/kept.prom" "$L/existing.prom"
kept0=$(stat -c '%i %.9Y %s' "$L/to/kept.prom")
refused has "$L/dangling.prom" -r --status-file "$L/dangling.prom"
check "bad input: --status-file on a dangling symlink: its target is not created" test ! -e "$L/to/created.prom"
expect_eq "bad input: --status-file on a dangling symlink: the link is unchanged" "$L/to/created.prom" "$(readlink "$L/dangling.prom")"
refused has "$L/existing.prom" -r --max-children 2 --status-file "$L/existing.prom"
expect_eq "bad input: --status-file on a symlink to a file: the target is untouched" "$kept0" "$(stat -c '%i %.9Y %s' "$L/to/kept.prom")"
expect_eq "bad input: --status-file on a symlink to a file: its content is intact" keep "$(cat "$L/to/kept.prom")"
check "bad input: --status-file on a symlink to a file: the link is still a link" test -L "$L/existing.prom"
expect_eq "bad input: --status-file on a symlink: nothing new beside the links" \
    "dangling.prom existing.prom to" "$(ls -A "$L" | tr '\n' ' ' | sed 's/ $//')"
expect_eq "bad input: --status-file on a symlink: nothing new beside the targets" \
    kept.prom "$(ls -A "$L/to")"
mkdir -p "$L/dir.prom"
refused has "$L/dir.prom" -r --status-file "$L/dir.prom"
check "bad input: --status-file on a directory: it is still an empty directory" \
    test -d "$L/dir.prom" -a -z "$(ls -A "$L/dir.prom")"

# The rest counts spawn's children with tests/pool/sample.py and listens
# for sd_notify with tests/pool/notify.py.
if ! have python3; then
	skip "the dynamic pool at work (no python3 for tests/pool/sample.py and notify.py)"
	exit 0
fi

# ---------------------------------------------------------------------------
# 2. php-cgi without -C, from 0 to 16 and back to 0.
cat >"$W/sleep.php" <<'EOF'
<?php
usleep(300000);
echo "done ", $_SERVER['QUERY_STRING'], " child=", getmypid(), " t=", (int)(microtime(true) * 1000), "\n";
EOF
cat >"$W/hold.php" <<EOF
<?php
// Holds its request until the test creates $T/go (20 s at most).
file_put_contents("$T/held.tmp", getmypid());
rename("$T/held.tmp", "$T/held.pid");
\$t = microtime(true) + 20;
while (!file_exists("$T/go") && microtime(true) < \$t)
	usleep(20000);
echo "held ", file_exists("$T/go") ? "released" : "timed out", " child=", getmypid(), "\n";
EOF
chmod 644 "$W/sleep.php" "$W/hold.php"
PHPSLEEP="SCRIPT_FILENAME=$W/sleep.php SCRIPT_NAME=/sleep.php"
PHPHOLD="SCRIPT_FILENAME=$W/hold.php SCRIPT_NAME=/hold.php"

if have php-cgi; then
	S=$T/php.sock
	bg php -r -F 0 --max-children 16 --idle-timeout 2 -s "$S" -- php-cgi
	sampler "$SP" php
	wait_until 5 test -S "$S"
	check "php -F 0: spawn is up (the socket is there)" test -S "$S"
	# 9. At the minimum (0) with nothing happening, spawn sleeps.
	quiet "php -F 0, before any request" "$SP"
	expect_eq "php -F 0: no child before the first request (most seen in $(nsamples) samples)" 0 "$(max_in "$SAMPLES")"
	t0=$(now_ms)
	ans=$("$CLIENT" -t 15000 "$S" $PHPSLEEP QUERY_STRING=n=first 2>"$T/php1.err")
	ms=$(( $(now_ms) - t0 ))
	expect_match "php -F 0: the first request is answered" '^done n=first child=[0-9]+ t=[0-9]+$' "$ans"
	check "php -F 0: ... within 5 s (it took $ms ms, a php-cgi start included)" test "$ms" -le 5000
	nk "$SP"
	expect_eq "php -F 0: one child after the first request" 1 "$NK"
	expect_eq "php -F 0: that child answered it" "child=$(kidpids "$SP")" "$(printf '%s\n' "$ans" | sed -n 's/^done .* \(child=[0-9]*\) .*/\1/p')"
	grow "php 0..16" php 16 64 '^done n=@N@ child=[0-9]+ t=[0-9]+$' "$S" $PHPSLEEP
	shrink "php 0..16" php 0 16 2
	stop_spawn "php 0..16" "$S"
else
	skip "php-cgi dynamic pool 0..16 (php-cgi not installed)"
fi

# ---------------------------------------------------------------------------
# 3. fcgiwrap running a shell CGI, from 1 to 8 and back to 1.
cat >"$W/sleep.cgi" <<'EOF'
#!/bin/sh
sleep "${CGI_SLEEP:-0.3}"
printf 'Content-Type: text/plain\r\n\r\n'
echo "cgi done $QUERY_STRING child=$PPID t=$(($(date +%s%N) / 1000000))"
EOF
chmod 755 "$W/sleep.cgi"
if have fcgiwrap; then
	S=$T/fw.sock
	bg fw -r -F 1 --max-children 8 --idle-timeout 1 -s "$S" -- fcgiwrap
	sampler "$SP" fw
	up fw 1
	first=$(kidpids "$SP")
	nk "$SP"
	expect_eq "fcgiwrap 1..8: one child at first" 1 "$NK"
	grow "fcgiwrap 1..8" fw 8 32 '^cgi done n=@N@ child=[0-9]+ t=[0-9]+$' "$S" \
	    SCRIPT_FILENAME="$W/sleep.cgi" SCRIPT_NAME=/sleep.cgi
	shrink "fcgiwrap 1..8" fw 1 8 1
	expect_eq "fcgiwrap 1..8: the child left is the first one (slot 1, the minimum)" "$first" "$(kidpids "$SP")"
	stop_spawn "fcgiwrap 1..8" "$S"
else
	skip "fcgiwrap dynamic pool 1..8 (fcgiwrap not installed)"
fi

# ---------------------------------------------------------------------------
# 4. A busy child is never stopped: one request is held (hold.php waits for
# $T/go) while short ones grow the pool to 4; the idle ones are stopped,
# the busy one is not, and its request is answered.
if have php-cgi; then
	S=$T/busy.sock
	rm -f "$T/held.pid" "$T/go"
	bg busy -r -F 0 --max-children 4 --idle-timeout 1 -s "$S" -- php-cgi
	sampler "$SP" busy
	wait_until 5 test -S "$S"
	"$CLIENT" -t 30000 "$S" $PHPHOLD QUERY_STRING=held >"$T/held.out" 2>"$T/held.err" &
	HP=$!
	track "$HP"
	wait_until 10 test -s "$T/held.pid"
	A=$(cat "$T/held.pid" 2>/dev/null)
	expect_eq "busy: the held request runs in a child of spawn" "$SP" "$(ppid_of "${A:-0}")"
	grow "busy" busy 4 12 '^done n=@N@ child=[0-9]+ t=[0-9]+$' "$S" $PHPSLEEP
	only_a() { nk_is "$SP" 1 && [ "$(kidpids "$SP")" = "$A" ]; }
	wait_until 15 only_a
	check "busy: the 3 idle children are stopped, the busy one $A is left" only_a
	check "busy: the held request is still in progress meanwhile" alive "$HP"
	expect_eq "busy: 3 children stopped for idleness" 3 "$(downs_logged busy)"
	expect_eq "busy: the busy child is never named as idle" "" "$(down_pids busy | grep -x "$A")"
	: >"$T/go"
	wait_until 10 dead "$HP"
	wait "$HP"
	expect_eq "busy: the held request ends well (client exit status)" 0 "$?"
	expect_match "busy: the held request is answered by its child $A" "^held released child=$A\$" "$(cat "$T/held.out")"
	# Idle at last, it goes too: the minimum is 0.
	wait_until 10 nk_is "$SP" 0
	check "busy: once its request is done, that child is stopped too (the minimum is 0)" nk_is "$SP" 0
	check "busy: never more than 4 children (most seen: $(max_in "$SAMPLES"))" test "$(max_in "$SAMPLES")" -le 4
	stop_spawn "busy" "$S"
else
	skip "a busy child is never stopped (php-cgi not installed)"
fi

# ---------------------------------------------------------------------------
# 5. Reload and stop in the middle of a growth, with the probe (it finishes
# the request in hand on SIGTERM, as php-cgi does).
R5=$T/r5
S=$T/rl.sock
newdir "$R5"
bg rl -r -F 2 --max-children 8 -s "$S" -- "$PROBE" --report "$R5" --serve --delay 300
sampler "$SP" rl
up rl 2
burst rl.b 48 "$S"
wait_for 10 'nk "$SP"; [ "$NK" -gt 2 ]'
check "reload: the pool is growing ($NK children) when SIGHUP comes" test "$NK" -gt 2
before=$(kidpids "$SP")
kill -HUP "$SP"
burst_end rl.b '^QUERY_STRING=n=@N@$'
expect_eq "reload during a burst: all 48 requests answered correctly" "48 ok, 0 failed" "$GOOD ok, $FAILED failed"
wait_until 20 all_dead $before
check "reload: every child from before the reload has exited" all_dead $before
after=$(kidpids "$SP")
expect_eq "reload: no child from before is left" "" "$(printf '%s\n' $after | grep -Fx "$(printf '%s\n' $before)")"
n=$(printf '%s\n' $after | grep -c .)
check "reload: afterwards the pool has between 2 and 8 children ($n)" test "$n" -ge 2 -a "$n" -le 8
for p in $after; do
	expect_eq "reload: child $p is spawn's" "$SP" "$(ppid_of "$p")"
done
check "reload: a request afterwards is answered" "$CLIENT" -q -t 5000 "$S"
stop_spawn "reload" "$S"

newdir "$R5"
S=$T/tm.sock
bg tm -r -F 2 --max-children 8 --stop-timeout 5 -s "$S" -- "$PROBE" --report "$R5" --serve --delay 300
sampler "$SP" tm
up tm 2
burst tm.b 48 "$S"
wait_for 10 'nk "$SP"; [ "$NK" -gt 2 ]'
check "stop: the pool is growing ($NK children) when SIGTERM comes" test "$NK" -gt 2
kill -TERM "$SP"
finish 10
end_sampler
expect_eq "stop during a burst: exit 0 (within the stop timeout, no SIGKILL)" 0 "$RC"
wait_until 5 nothing_running "$R5"
check "stop during a burst: no child left (every probe that started is dead)" nothing_running "$R5"
check "stop during a burst: the socket is removed" sock_gone "$S"
burst_end tm.b '^QUERY_STRING=n=@N@$'
echo "# stop during a burst: $GOOD answered, $FAILED not (the socket closed under them)"

# ---------------------------------------------------------------------------
# 6 and 7. --status-file and sd_notify STATUS=, from 1 to 4 and back.
cat >"$T/status.re" <<'EOF'
^(1 child|(0|[2-9]|[1-9][0-9]+) children) running \(1\.\.4\); [0-9]+ started, [0-9]+ failed, [0-9]+ restarted, [0-9]+ scaled up, [0-9]+ scaled down$
EOF
# listen ADDR FILE: tests/pool/notify.py on ADDR, each datagram a line of
# FILE; LPID is its pid.
listen() {
	rm -f "$1" "$2" "$2.ready"
	python3 "$H/notify.py" "$1" "$2" "$2.ready" 60 2>"$2.err" &
	LPID=$!
	track "$LPID"
	wait_until 10 test -e "$2.ready"
}
# statuses FILE: the STATUS= texts, in order.
statuses() { tr '\t' '\n' <"$1" | sed -n 's/^STATUS=//p'; }
# running_seq FILE: the first number of each, repeats dropped, on one line.
running_seq() { statuses "$1" | sed -n 's/^\([0-9][0-9]*\) child[a-z]* running.*/\1/p' | uniq | tr '\n' ' ' | sed 's/ $//'; }
# expected_status: the STATUS text that the figures in $T/snap give.
expected_status() {
	echo "$(cs running) children running ($(m spawn_children_min)..$(m spawn_children_max)); $(m spawn_starts_total) started, $(m spawn_start_failures_total) failed, $(m spawn_restarts_total) restarted, $(m spawn_scale_ups_total) scaled up, $(m spawn_scale_downs_total) scaled down"
}
last_status() { statuses "$1" | grep -v '^stopping$' | tail -n 1; }
# plural: "1 child running" as "1 children running", for the checks of the
# figures (the check of the format above reports the wording, once).
plural() { sed 's/^1 child running/1 children running/'; }

SD=$T/st
F=$SD/pool.prom
mkdir -p "$SD"
NF=$T/st.notify
listen "$T/notify.sock" "$NF"
S=$T/st.sock
newdir "$R5"
NOTIFY_SOCKET=$T/notify.sock
export NOTIFY_SOCKET
bg st -r -F 1 --max-children 4 --idle-timeout 1 --status-file "$F" -s "$S" -- \
    "$PROBE" --report "$R5" --serve --delay 300
unset NOTIFY_SOCKET
sampler "$SP" st
up st 1
first=$(kidpids "$SP")
wait_until 5 settled "$F" "$SP" 1
check "status file: written at the start" test -f "$F"
snap "$F"
expect_eq "status file: every metric of the contract, with its HELP and TYPE, integers" \
    "$(cat "$T/status.skel")" "$(skeleton)"
check "status file: at the start: 1 running, 0 starting, 0 stopping, 1 child in /proc" settled "$F" "$SP" 1
snap "$F"
expect_eq "status file: at the start: backoff min max" "0 1 4" "$(cs backoff) $(m spawn_children_min) $(m spawn_children_max)"
expect_eq "status file: at the start: starts failures restarts reloads ups downs" "1 0 0 0 0 0" \
    "$(m spawn_starts_total) $(m spawn_start_failures_total) $(m spawn_restarts_total) $(m spawn_reloads_total) $(m spawn_scale_ups_total) $(m spawn_scale_downs_total)"
expect_eq "status file: at the start: listen_queue and its peak" "0 0" "$(m spawn_listen_queue) $(m spawn_listen_queue_peak)"
expect_eq "status file: a regular file, no temp file beside it" "regular file pool.prom" \
    "$(stat -c '%F' "$F") $(ls -A "$SD")"
echo "# status file: mode $(stat -c '%a' "$F") (umask 022)"

# Grown to 4: while they wait to be found idle, the file agrees with
# /proc (looked for from the start of the burst on: the state lasts
# at least the idle timeout, 1 s).
burst st.b 16 "$S"
wait_until 20 settled "$F" "$SP" 4
check "status file: grown: 4 running, 0 starting, 0 stopping, 4 children in /proc" settled "$F" "$SP" 4
burst_end st.b '^QUERY_STRING=n=@N@$'
expect_eq "status: a burst of 16: all answered" "16 ok, 0 failed" "$GOOD ok, $FAILED failed"
wait_until 15 settled "$F" "$SP" 1
check "status file: back to 1: 1 running, 0 starting, 0 stopping, 1 child in /proc" settled "$F" "$SP" 1
expect_eq "status: the child left is the first one" "$first" "$(kidpids "$SP")"
check "status: never more than 4 children (most seen: $(max_in "$SAMPLES"))" test "$(max_in "$SAMPLES")" -le 4
snap "$F"
ups=$(m spawn_scale_ups_total)
downs=$(m spawn_scale_downs_total)
check "status file: scale_ups_total >= max - min = 3 ($ups)" test "${ups:-0}" -ge 3
expect_eq "status file: scale_downs_total == scale_ups_total, back at the minimum" "$ups" "$downs"
expect_eq "status file: scale_downs_total == the 'idle ... stopping it' log lines" "$(downs_logged st)" "$downs"
expect_eq "status file: starts_total == 1 + scale_ups_total" $((1 + ${ups:-0})) "$(m spawn_starts_total)"
expect_eq "status file: failures restarts reloads backoff min max" "0 0 0 0 1 4" \
    "$(m spawn_start_failures_total) $(m spawn_restarts_total) $(m spawn_reloads_total) $(cs backoff) $(m spawn_children_min) $(m spawn_children_max)"
peak=$(m spawn_listen_queue_peak)
check "status file: listen_queue_peak saw connections waiting (1..16: $peak)" test "${peak:-0}" -ge 1 -a "${peak:-0}" -le 16
expect_eq "status file: still the contract's format" "$(cat "$T/status.skel")" "$(skeleton)"
# 9. At the minimum again, nothing happening: no wake-up, no write.
quiet "status, back at the minimum" "$SP" "$F"

# 7. The STATUS= lines: the contract's format; they followed the
# growth and the shrink; the last agrees with the file and /proc.
bad_fmt=$(statuses "$NF" | grep -v '^stopping$' | grep -Evf "$T/status.re")
expect_eq "notify: every STATUS= has the contract's format" "" "$bad_fmt"
seq=$(running_seq "$NF")
diag "notify: running, STATUS after STATUS:" "$seq"
expect_match "notify: STATUS= lines follow the growth to 4" '(^| )1 (2 )?(3 )?4( |$)' "$seq"
expect_match "notify: a STATUS= for each child stopped (4 3 2 1)" '(^| )4 3 2 1$' "$seq"
snap "$F"
expect_eq "notify: the last STATUS= is the status file's figures" "$(expected_status)" "$(last_status "$NF" | plural)"
nk "$SP"
expect_eq "notify: ... and its running count is /proc's" "$NK" "$(last_status "$NF" | sed -n 's/^\([0-9][0-9]*\) .*/\1/p')"
expect_eq "notify: the first READY=1 came with a STATUS=" 1 \
    "$(grep -m 1 -E '(^|	)READY=1(	|$)' "$NF" | tr '\t' '\n' | grep -c '^STATUS=.')"

# A restart: the child of the minimum is killed and replaced. Right after
# the kill the file may still show the killed child as running while the
# new one is already forked: the restart must be in the file too.
kill -KILL "$first"
replaced() {
	settled "$F" "$SP" 1 && [ "$(m spawn_restarts_total)" = 1 ] &&
	    [ "$(kidpids "$SP")" != "$first" ]
}
wait_until 10 replaced
check "status: the killed child is replaced" replaced
replaced ||
    diag "status file, children, log:" "$(grep -v '^#' "$F" | tr '\n' ' '; echo; kidpids "$SP" | tr '\n' ' '; echo; tail -n 3 "$T/st.err")"
snap "$F"
expect_eq "status file: a restart: restarts_total 1" 1 "$(m spawn_restarts_total)"
expect_eq "status file: the restart is no scale-up or -down" "$ups $downs" "$(m spawn_scale_ups_total) $(m spawn_scale_downs_total)"
wait_for 5 'snap "$F"; [ "$(last_status "$NF" | plural)" = "$(expected_status)" ]'
expect_eq "notify: the restart is in the last STATUS=" "$(expected_status)" "$(last_status "$NF" | plural)"

kill -TERM "$SP"
finish 15
end_sampler
expect_eq "status: SIGTERM: exit 0" 0 "$RC"
check "status file: removed when spawn exits" test ! -e "$F"
expect_eq "status file: nothing left in its directory" "" "$(ls -A "$SD")"
wait_until 5 dead "$LPID"
expect_eq "notify: STOPPING=1 at the stop" STOPPING=1 "$(tail -n 1 "$NF" | tr '\t' '\n' | grep -x STOPPING=1)"

# A fixed pool: -r -F 3, no --max-children.
NF=$T/fx.notify
listen "$T/notify.sock" "$NF"
newdir "$R5"
S=$T/fx.sock
NOTIFY_SOCKET=$T/notify.sock
export NOTIFY_SOCKET
bg fx -r -F 3 --status-file "$F" -s "$S" -- "$PROBE" --report "$R5" --serve
unset NOTIFY_SOCKET
sampler "$SP" fx
up fx 3
wait_until 5 settled "$F" "$SP" 3
check "fixed pool status file: 3 running, 0 starting, 0 stopping, 3 children in /proc" settled "$F" "$SP" 3
snap "$F"
expect_eq "fixed pool status file: the contract's format" "$(cat "$T/status.skel")" "$(skeleton)"
expect_eq "fixed pool status file: min max starts ups downs" "3 3 3 0 0" \
    "$(m spawn_children_min) $(m spawn_children_max) $(m spawn_starts_total) $(m spawn_scale_ups_total) $(m spawn_scale_downs_total)"
fixed_status="3 children running; 3 started, 0 failed, 0 restarted"
wait_for 5 '[ "$(last_status "$NF")" = "$fixed_status" ]'
expect_eq "fixed pool notify: STATUS= without the range" "$fixed_status" "$(last_status "$NF")"
victim=$(kidpids "$SP" | head -n 1)
kill -KILL "$victim"
restarted() { settled "$F" "$SP" 3 && ! kidpids "$SP" | grep -qx "$victim" && [ "$(m spawn_restarts_total)" = 1 ]; }
wait_until 10 restarted
check "fixed pool: a killed child is restarted: restarts_total 1, 3 running" restarted
wait_for 5 'last_status "$NF" | grep -Eq "^3 children running; [0-9]+ started, 0 failed, 1 restarted$"'
expect_match "fixed pool notify: the restart is in the last STATUS=" '^3 children running; [0-9]+ started, 0 failed, 1 restarted$' "$(last_status "$NF")"
old=$(kidpids "$SP")
kill -HUP "$SP"
reloaded() { all_dead $old && settled "$F" "$SP" 3; }
wait_until 15 reloaded
check "fixed pool: SIGHUP replaces the 3 children" reloaded
snap "$F"
expect_eq "fixed pool status file: reloads_total 1" 1 "$(m spawn_reloads_total)"
kill -TERM "$SP"
finish 15
end_sampler
expect_eq "fixed pool: SIGTERM: exit 0" 0 "$RC"
check "fixed pool: the status file is removed at exit" test ! -e "$F"
expect_eq "fixed pool: nothing left in its directory" "" "$(ls -A "$SD")"
wait_until 5 dead "$LPID"

# --status-file with -w (no -r): the file is kept as well.
newdir "$R5"
S=$T/sw.sock
bg sw -w -F 2 --status-file "$F" -s "$S" -- "$PROBE" --report "$R5" --serve
up sw 2
wait_for 5 'snap "$F" && [ "$(cs running)" = 2 ]'
snap "$F"
expect_eq "-w --status-file: running min max" "2 2 2" "$(cs running) $(m spawn_children_min) $(m spawn_children_max)"
kill -TERM "$SP"
finish 15
expect_eq "-w --status-file: SIGTERM: exit 0" 0 "$RC"
check "-w --status-file: removed at exit" test ! -e "$F"

# ---------------------------------------------------------------------------
# 8. The CGI bridge's workers as a dynamic pool. A worker accepts until it
# runs --cgi-max scripts, so the pool grows only once every worker is full:
# --cgi-max 2 makes 16 requests of 0.5 s more than one worker takes.
if "$SPAWN" --help 2>/dev/null | grep -q -- --cgi; then
	S=$T/cgi.sock
	bg cgi --cgi -r -F 1 --max-children 4 --idle-timeout 1 --cgi-max 2 -s "$S" -e CGI_SLEEP=0.5 -- "$W/sleep.cgi"
	sampler "$SP" cgi
	up cgi 1
	first=$(kidpids "$SP")
	python3 "$H/conns.py" "$SP" "$T/cgi.conns" 60 &
	CONNS=$!
	track "$CONNS"
	wait_until 5 test -s "$T/cgi.conns"
	grow "--cgi 1..4" cgi 4 16 '^cgi done n=@N@ child=[0-9]+ t=[0-9]+$' "$S"
	: >"$T/cgi.conns.stop"
	wait_until 5 dead "$CONNS"
	wait "$CONNS" 2>/dev/null
	# A worker takes a connection only when it may run a script for it:
	# --cgi-max 2, and one more whose script has ended while its answer
	# is still being sent.
	most=$(max_in "$T/cgi.conns")
	check "--cgi 1..4: no worker holds more than --cgi-max 2 (+1 finishing) connections (most: $most)" \
	    test "${most:-0}" -le 3
	shrink "--cgi 1..4" cgi 1 4 1
	# A worker takes --cgi-max 2 connections at most, so 4 workers hold 8
	# of the 16: the others wait, and every worker gets its share.
	idle_workers=
	for w in $(awk '{ print $1 }' "$T/cgi.downs"); do
		[ -n "$(last_answer cgi "$w")" ] || idle_workers="$idle_workers $w"
	done
	expect_eq "--cgi 1..4: every worker the pool grew by served requests of the burst" "" "$idle_workers"
	expect_eq "--cgi 1..4: the worker left is the first one" "$first" "$(kidpids "$SP")"
	stop_spawn "--cgi 1..4" "$S"
else
	not_ok "spawn --help lists --cgi (the CGI bridge is not built)"
fi
