#!/bin/sh
# tests/valgrind.sh: spawn under valgrind's memcheck, for CI.
#
# Five cases, each spawn's own process under memcheck (--trace-children=no:
# the programs it execs run natively):
#   default   spawn -F 2 -- probe: starts its children, exits
#   wait      spawn -w -F 2 -- probe, stopped by SIGTERM
#   respawn   spawn -r -F 3 -- probe: 3 children killed by pid and
#             replaced, 2 SIGHUP reloads, then SIGTERM
#   bridge    spawn --cgi -n -- hello (spawn itself is the worker): 300
#             GET requests, a 100 kB POST body, a 502 (a script with no
#             header block), a client that hangs up in the middle of its
#             body, FCGI_GET_VALUES; then SIGTERM
#   pool      spawn -r -F 0 --max-children 4 --status-file: 8 slow
#             requests at once grow it to 4, --idle-timeout 1 shrinks it
#             back to 0 (sock_diag, /proc looks, status file rewrites),
#             then SIGTERM
# A case passes when spawn exits 0 having done what was asked, valgrind
# reports 0 errors (with definite and indirect leaks counted as errors),
# and no descriptor that spawn opened itself is still open at exit:
# --track-fds=yes lists every open descriptor above 2 with where it was
# opened, or "<inherited from parent>" for what this script handed down;
# only those may be there. The processes spawn forks run under memcheck
# until their exec, and their logs must hold no error either.
# One "ok - ..." or "not ok - ..." line per case, then "N passed, N failed".

. "$(dirname "$0")/lib.sh"

passed=0 failed=0
ok() { echo "ok - $*"; passed=$((passed + 1)); }
not_ok() { echo "not ok - $*"; failed=$((failed + 1)); }
finish() {
	echo "$passed passed, $failed failed"
	[ "$failed" -eq 0 ]
	exit
}

if ! have valgrind; then
	skip "valgrind is not installed"
	finish
fi
VG="valgrind --tool=memcheck --leak-check=full \
--errors-for-leak-kinds=definite,indirect --track-fds=yes \
--trace-children=no --error-exitcode=99"

HELLO=$T/hello
if ! ${CC:-cc} -O2 -o "$HELLO" "$TOP/tests/soak/hello.c"; then
	not_ok "build tests/soak/hello.c"
	finish
fi

# Why a case failed, collected as "# " lines.
why=
fail_because() { why="$why#   $*
"; }

# kids PID: PID's live children.
kids() {
	if [ -r "/proc/$1/task/$1/children" ]; then
		for _k in $(cat "/proc/$1/task/$1/children" 2>/dev/null); do
			alive "$_k" && echo "$_k"
		done
	else
		children_of "$1"
	fi
}
nkids() { set -- $(kids "$1"); echo $#; }

# vg_check CASE PID: the memcheck log of spawn (CASE.PID) says 0 errors
# and lists no descriptor spawn opened; the logs of what spawn forked
# (the other CASE.* files) report no error.
vg_check() {
	_log=$T/vg/$1.$2
	if [ ! -s "$_log" ]; then
		fail_because "no valgrind log $1.$2"
		return
	fi
	_sum=$(sed -n 's/^==[0-9]*== ERROR SUMMARY: \([0-9]*\) errors.*/\1/p' "$_log")
	[ "$_sum" = 0 ] || fail_because "valgrind: ${_sum:-no} error summary"
	_lost=$(sed -n 's/^==[0-9]*== *\(definitely\|indirectly\) lost: \([0-9,]*\) bytes.*/\1 \2/p' "$_log" |
	    grep -v ' 0$' | tr '\n' ' ')
	if [ -n "$_lost" ]; then
		fail_because "lost: $_lost"
		why="$why$(sed 's/^==[0-9]*== *//' "$_log" | awk '
		    / are (definitely|indirectly) lost / { rec = $0; next }
		    rec != "" && /\((spawn|cgi|fcgi)\.c:[0-9]+\)/ {
			at = $0; sub(/^.*by 0x[0-9A-Fa-f]*: /, "", at)
			sub(/ in loss record.*/, "", rec)
			print "#     " rec " [" at "]"; rec = ""
		    }
		    /^$/ { rec = "" }')
"
	fi
	# Each "Open ..." block names a descriptor and then either
	# "<inherited from parent>" or the stack that opened it.
	# Each is printed with the first frame in spawn's own sources.
	_fds=$(sed 's/^==[0-9]*== *//' "$_log" | awk '
	    function out() {
		if (fd != "" && !inh) print fd (at != "" ? " [" at "]" : "")
		fd = ""; at = ""
	    }
	    /^Open / { out(); fd = $0; inh = 0; next }
	    /<inherited from parent>/ { inh = 1 }
	    fd != "" && at == "" && /\((spawn|cgi|fcgi)\.c:[0-9]+\)/ {
		at = $0; sub(/^.*by 0x[0-9A-Fa-f]*: /, "", at)
	    }
	    /^$/ { out() }
	    END { out() }')
	if [ -n "$_fds" ]; then
		fail_because "descriptors spawn opened and left open at exit:"
		why="$why$(echo "$_fds" | sed 's/^/#     /')
"
	fi
	for _f in "$T/vg/$1".*; do
		[ "$_f" = "$_log" ] && continue
		if grep -Eq '== (Invalid|Conditional jump|Use of uninitialised|Syscall param|Mismatched|Source and destination|Argument .* of function)' "$_f" ||
		    grep -Eq 'ERROR SUMMARY: [1-9]' "$_f"; then
			fail_because "errors in a forked process: ${_f##*/}"
		fi
	done
}

# report CASE-NAME: one line for the case, with the reasons under it.
report() {
	if [ -z "$why" ]; then
		ok "valgrind: $1"
	else
		not_ok "valgrind: $1"
		printf '%s' "$why"
	fi
	why=
}

# untrack PID...: PID has ended and been waited for; lib.sh must not
# signal the number at exit, when it may be someone else's.
untrack() {
	for _p in "$@"; do
		grep -vx "$_p" "$T/.pids" >"$T/.pids.new"
		mv "$T/.pids.new" "$T/.pids"
	done
}

# rc_is_0: RC is 0, or why not.
rc_is_0() {
	case ${RC:-none} in
	0) ;;
	99) fail_because "exit status 99: valgrind found errors" ;;
	*) fail_because "exit status ${RC:-none}: $(tail -n 3 "$1")" ;;
	esac
}

# vg_stop PID SECONDS: SIGTERM, then wait for the exit; sets RC (empty
# when it did not end, after which it is killed).
vg_stop() {
	kill -TERM "$1" 2>/dev/null
	RC=
	if wait_for "$2" "dead $1"; then
		wait "$1"
		RC=$?
		untrack "$1"
	else
		kill -KILL "$1" 2>/dev/null
		fail_because "did not exit within $2 s of SIGTERM"
	fi
}

mkdir -p "$T/vg"
S=$T/s.sock

# --- default: start two children and exit.
$VG --log-file="$T/vg/default.%p" "$SPAWN" -s "$S" -F 2 -P "$T/default.pid" \
    -- "$PROBE" >"$T/default.out" 2>"$T/default.err" </dev/null &
vp=$!
track $vp
if wait_for 60 "dead $vp"; then
	wait $vp
	RC=$?
	untrack $vp
else
	RC=
	fail_because "did not exit within 60 s"
fi
pids=$(cat "$T/default.pid" 2>/dev/null)
track $pids
rc_is_0 "$T/default.err"
set -- $pids
[ $# -eq 2 ] || fail_because "pid file lists $# children, not 2"
for p in $pids; do alive "$p" || fail_because "child $p is not running"; done
"$CLIENT" -q -n 3 "$S" 2>"$T/c.err" || fail_because "requests: $(cat "$T/c.err")"
vg_check default $vp
report "default start (fork mode, exits)"
stop $pids && untrack $pids
rm -f "$S"

# --- wait: -w, stopped by SIGTERM.
$VG --log-file="$T/vg/wait.%p" "$SPAWN" -w -s "$S" -F 2 -- "$PROBE" \
    >"$T/wait.out" 2>"$T/wait.err" </dev/null &
vp=$!
track $vp
if wait_for 60 '[ "$(nkids $vp)" -eq 2 ] && grep -q "spawned successfully" "$T/wait.out"'; then
	kids_before=$(kids $vp)
	"$CLIENT" -q -n 3 "$S" 2>"$T/c.err" || fail_because "requests: $(cat "$T/c.err")"
	vg_stop $vp 60
	rc_is_0 "$T/wait.err"
	for p in $kids_before; do dead "$p" || fail_because "child $p left running"; done
	sock_gone "$S" || fail_because "socket left behind"
else
	fail_because "2 children did not start: $(tail -n 3 "$T/wait.err")"
	vg_stop $vp 60
fi
vg_check wait $vp
report "-w stopped by SIGTERM"
rm -f "$S"

# --- respawn: -r; children killed by pid, two reloads, SIGTERM.
$VG --log-file="$T/vg/respawn.%p" "$SPAWN" -r -s "$S" -F 3 -- "$PROBE" \
    >"$T/respawn.out" 2>"$T/respawn.err" </dev/null &
vp=$!
track $vp
replaced() { grep -c 'reload: slot' "$T/respawn.err"; }
if wait_for 60 '[ "$(nkids $vp)" -eq 3 ] && grep -q "spawned successfully" "$T/respawn.out"'; then
	# Three children killed one at a time, each once it has outlived
	# --min-uptime, so that every death is a plain restart.
	k=0
	while [ $k -lt 3 ]; do
		sleep 0.3
		victim=$(kids $vp | head -n 1)
		kill -KILL "$victim"
		if ! wait_for 30 '[ "$(nkids $vp)" -eq 3 ] && ! kids $vp | grep -qx "$victim"'; then
			fail_because "child $victim (killed) was not replaced"
			break
		fi
		k=$((k + 1))
	done
	# The line comes once the exec is confirmed, after the child shows
	# in /proc: wait for it.
	wait_for 30 '[ "$(grep -c " started\$" "$T/respawn.err")" -ge 3 ]'
	restarts=$(grep -c ' started$' "$T/respawn.err")
	[ "$restarts" -eq 3 ] || fail_because "$restarts restarts logged, not 3"
	r=1
	while [ $r -le 2 ]; do
		sleep 0.3
		old=$(kids $vp)
		kill -HUP $vp
		if ! wait_for 60 '[ "$(replaced)" -ge $((3 * r)) ] && [ "$(nkids $vp)" -eq 3 ]'; then
			fail_because "reload $r did not replace the 3 children"
			break
		fi
		for p in $old; do
			wait_for 30 "dead $p" || fail_because "reload $r: old child $p still running"
		done
		r=$((r + 1))
	done
	"$CLIENT" -q -n 3 "$S" 2>"$T/c.err" || fail_because "requests: $(cat "$T/c.err")"
	kids_before=$(kids $vp)
	vg_stop $vp 60
	rc_is_0 "$T/respawn.err"
	for p in $kids_before; do dead "$p" || fail_because "child $p left running"; done
else
	fail_because "3 children did not start: $(tail -n 3 "$T/respawn.err")"
	vg_stop $vp 60
fi
vg_check respawn $vp
report "-r with 3 respawns and 2 reloads, stopped by SIGTERM"
rm -f "$S"

# --- bridge: spawn --cgi -n is the worker itself.
$VG --log-file="$T/vg/bridge.%p" "$SPAWN" --cgi -n -s "$S" -- "$HELLO" \
    >"$T/bridge.out" 2>"$T/bridge.err" </dev/null &
vp=$!
track $vp
if wait_for 60 '[ -S "$S" ] && "$CLIENT" -q -n 1 -t 10000 "$S" 2>/dev/null'; then
	out=$("$CLIENT" -q -n 300 -t 20000 "$S" 2>&1)
	[ "$out" = "requests=300 ok=300 failed=0" ] ||
	    fail_because "300 GET: $out"
	out=$("$CLIENT" -s -t 20000 -B 100000 "$S" REQUEST_METHOD=POST \
	    CONTENT_LENGTH=100000 2>&1)
	echo "$out" | grep -Eq '^body_head=hello 100000(\\n)?$' ||
	    fail_because "POST: $(echo "$out" | grep '^body_head\|^error' | tr '\n' ' ')"
	out=$("$CLIENT" -s -t 20000 "$S" QUERY_STRING=bad 2>&1)
	echo "$out" | grep -q '^header=Status: 502' ||
	    fail_because "no 502 for a script without a header block: $(echo "$out" | grep '^stdout_head\|^error' | tr '\n' ' ')"
	# A client that hangs up half way through its body: the script is
	# ended and its pipes closed.
	"$CLIENT" -s -t 20000 -B 1000000 -C 100000 "$S" REQUEST_METHOD=POST \
	    CONTENT_LENGTH=1000000 >/dev/null 2>&1
	out=$("$CLIENT" -g -t 20000 "$S" 2>&1)
	echo "$out" | grep -q 'FCGI_MPXS_CONNS=0' ||
	    fail_because "GET_VALUES: $out"
	# The worker is idle again once the hung-up request's script is gone.
	wait_for 30 '[ "$(nkids $vp)" -eq 0 ]' ||
	    fail_because "scripts still running: $(kids $vp | tr '\n' ' ')"
	vg_stop $vp 60
	rc_is_0 "$T/bridge.err"
else
	fail_because "the bridge did not answer: $(tail -n 3 "$T/bridge.err")"
	vg_stop $vp 60
fi
vg_check bridge $vp
report "--cgi -n: GET x300, POST, 502, a client hanging up, GET_VALUES, SIGTERM"
rm -f "$S"

# --- pool: a dynamic pool grows under a burst and shrinks when idle.
ST=$T/pool.prom
$VG --log-file="$T/vg/pool.%p" "$SPAWN" -r -F 0 --max-children 4 \
    --idle-timeout 1 --status-file "$ST" -s "$S" -- "$PROBE" --serve \
    --delay 500 >"$T/pool.out" 2>"$T/pool.err" </dev/null &
vp=$!
track $vp
if wait_for 60 '[ -S "$S" ] && [ -f "$ST" ]'; then
	cpids=
	i=0
	while [ $i -lt 8 ]; do
		"$CLIENT" -q -n 1 -t 30000 "$S" >"$T/pool.c$i" 2>&1 &
		cpids="$cpids $!"
		i=$((i + 1))
	done
	wait_for 60 '[ "$(nkids $vp)" -eq 4 ]' ||
	    fail_because "the pool did not grow to 4: $(nkids $vp)"
	for c in $cpids; do
		wait "$c" || fail_because "a request failed: $(cat "$T"/pool.c* | tr '\n' ' ')"
	done
	wait_for 60 '[ "$(nkids $vp)" -eq 0 ]' ||
	    fail_because "the pool did not shrink to 0: $(nkids $vp)"
	grep -q '^spawn_scale_downs_total 4$' "$ST" 2>/dev/null ||
	    fail_because "status file: $(grep scale_downs "$ST" 2>/dev/null)"
	vg_stop $vp 60
	rc_is_0 "$T/pool.err"
	[ ! -e "$ST" ] || fail_because "status file left behind"
else
	fail_because "the pool did not start: $(tail -n 3 "$T/pool.err")"
	vg_stop $vp 60
fi
vg_check pool $vp
report "-r -F 0 --max-children 4: grown by a burst, shrunk when idle, SIGTERM"

finish
