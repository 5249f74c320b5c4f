# The CGI bridge (spawn --cgi): protocol and adversarial tests. Every
# request runs tests/cgi-scripts/rep (compiled here), which writes down
# what the script got (pid, process group, descriptors, signal state, cwd,
# environment) and then execs tests/cgi-scripts/modes.sh, whose T_MODE
# parameter picks the behaviour. Each case is asserted from both sides:
# what fcgiclient -s saw on the wire, and what the script reported or
# /proc shows.
#
# t-cgi-limits.sh (--cgi-timeout, --cgi-max, FCGI_WEB_SERVER_ADDRS) runs
# beside this file, with the helpers below: it sources this file, which
# returns to it after them (CGI_HELPERS_ONLY=1).
. "$(dirname "$0")/lib.sh"

umask 022
unset LISTEN_PID LISTEN_FDS LISTEN_FDNAMES NOTIFY_SOCKET FCGI_WEB_SERVER_ADDRS
CS=$TOP/tests/cgi-scripts
MODES=$CS/modes.sh
REP=$T/rep

if ! "$SPAWN" --help 2>&1 | grep -q -- '--cgi'; then
	skip "CGI bridge tests (spawn has no --cgi)"
	exit 0
fi
if ! have cc; then
	skip "CGI bridge tests (no C compiler for tests/cgi-scripts/rep.c)"
	exit 0
fi
if ! cc -O2 -o "$REP" "$CS/rep.c"; then
	not_ok "tests/cgi-scripts/rep.c compiles"
	exit 0
fi

# Scripts run in their own process groups (if the bridge is right): end
# each group's processes, and the background children they noted, then
# lib.sh's part. Only processes of this file (lib.sh's ours): a script's
# pid, and so its group's id, may belong to another test by now.
cgi_cleanup() {
	_g=$(cat "$T"/*.report 2>/dev/null | sed -n 's/^pid=//p' | tr '\n' ' ')
	for _p in $(cat /proc/[0-9]*/stat 2>/dev/null | awk -v g=" $_g" '{
		pid = $1; sub(/^.*\) /, ""); if (index(g, " " $3 " ")) print pid }'); do
		ours "$_p" && kill -KILL "$_p" 2>/dev/null
	done
	for _f in "$T"/*.child; do
		[ -e "$_f" ] || continue
		_p=$(cat "$_f")
		ours "$_p" && kill -KILL "$_p" 2>/dev/null
	done
	cleanup_test
}
trap cgi_cleanup EXIT

# sget FILE KEY: the first value of KEY in a summary or a report.
sget() { sed -n "s/^$2=//p" "$1" | head -n 1; }
# scount FILE KEY: how many lines have KEY.
scount() { grep -c "^$2=" "$1"; }
# show NAME: a client summary, as diagnostics.
show() { sed 's/^/#   | /' "$T/$1.sum" | head -n 40; }
# The worker's stderr (the bridge logs there with -w), as diagnostics.
show_log() { tail -n "${2:-5}" "$1" | sed 's/^/#   log: /'; }

# ask NAME MODE [OPTION...] [-- PARAM...]: one request, T_MODE=MODE, to
# $SOCK; the summary goes to $T/NAME.sum, the report to $T/NAME.PID.report.
ask() {
	_n=$1 _m=$2
	shift 2
	_cnt=$# _seen=0
	# Rotate the arguments: the address and our params go where "--" was.
	while [ "$_cnt" -gt 0 ]; do
		_a=$1
		shift
		if [ $_seen = 0 ] && [ "$_a" = -- ]; then
			set -- "$@" "$SOCK" T_DIR="$T" T_TAG="$_n" T_MODE="$_m"
			_seen=1
		else
			set -- "$@" "$_a"
		fi
		_cnt=$((_cnt - 1))
	done
	[ $_seen = 1 ] || set -- "$@" "$SOCK" T_DIR="$T" T_TAG="$_n" T_MODE="$_m"
	"$CLIENT" -s "$@" >"$T/$_n.sum" 2>"$T/$_n.cerr"
}

# sexpect TEST NAME KEY EXPECTED: a summary value, with the summary shown
# when it differs.
sexpect() {
	_got=$(sget "$T/$2.sum" "$3")
	if [ "$_got" = "$4" ]; then
		ok "$1"
	else
		not_ok "$1"
		printf '#   %s: expected "%s", got "%s"\n' "$3" "$4" "$_got"
		show "$2"
	fi
}
# shas TEST NAME LINE: the summary has exactly this line.
shas() {
	if grep -Fqx -- "$3" "$T/$2.sum"; then
		ok "$1"
	else
		not_ok "$1"
		printf '#   no line "%s"\n' "$3"
		show "$2"
	fi
}
# slacks TEST NAME PATTERN: no summary line matches this grep -E pattern.
slacks() {
	if grep -Eq -- "$3" "$T/$2.sum"; then
		not_ok "$1"
		printf '#   a line matches "%s"\n' "$3"
		show "$2"
	else
		ok "$1"
	fi
}
# sbetween TEST NAME KEY LO HI: a number in the summary, LO <= it <= HI.
sbetween() {
	_v=$(sget "$T/$2.sum" "$3")
	if [ -n "$_v" ] && [ "$_v" -ge "$4" ] && [ "$_v" -le "$5" ]; then
		ok "$1"
	else
		not_ok "$1"
		printf '#   %s: expected %s..%s, got "%s"\n' "$3" "$4" "$5" "$_v"
		show "$2"
	fi
}

# ended TEST NAME LO HI: the request ended (END_REQUEST, or the server
# closed the connection) between LO and HI ms after it started.
ended() {
	_e=$(sget "$T/$2.sum" answered_ms)
	[ -n "$_e" ] || _e=$(sget "$T/$2.sum" closed_ms)
	if [ -n "$_e" ] && [ "$_e" -ge "$3" ] && [ "$_e" -le "$4" ]; then
		ok "$1"
	else
		not_ok "$1"
		printf '#   ended after "%s" ms, expected %s..%s\n' "$_e" "$3" "$4"
		show "$2"
	fi
	echo "# $2: $(grep -E '^(end|closed|closed_ms|answered_ms)=' "$T/$2.sum" | tr '\n' ' ')"
}

# Reports: the script pid of request NAME, once its report is there.
report_of() { ls "$T/$1".[0-9]*.report 2>/dev/null | head -n 1; }
has_report_of() { [ -n "$(report_of "$1")" ]; }
nreports() { ls "$T/$1".[0-9]*.report 2>/dev/null | grep -c .; }
script_pid() {
	wait_until 5 has_report_of "$1" || return 1
	sget "$(report_of "$1")" pid
}
child_pid() {
	_cf=$T/$1.$2.child
	wait_for 5 '[ -s "$_cf" ]' || return 1
	cat "$_cf"
}
# group_alive PGID: a live (not zombie) process is in this process group.
group_alive() {
	cat /proc/[0-9]*/stat 2>/dev/null | awk -v g="$1" '
		{ sub(/^.*\) /, ""); if ($3 == g && $1 != "Z" && $1 != "X") f = 1 }
		END { exit !f }'
}
# gone PID...: every one dead, and no process left in the first one's group.
gone() { all_dead "$@" && ! group_alive "$1"; }
# kids PID: its children, from /proc/PID/task/PID/children when the
# kernel has it (fast enough to poll), else from a scan of /proc.
kids() {
	if [ -r "/proc/$1/task/$1/children" ]; then
		cat "/proc/$1/task/$1/children"
	else
		children_of "$1"
	fi
}
# live_children PID: how many live children the process has.
live_children() {
	_n=0
	for _c in $(kids "$1"); do
		alive "$_c" && _n=$((_n + 1))
	done
	echo "$_n"
}
status_kb() { sed -n "s/^$2:[[:space:]]*\([0-9]*\) kB/\1/p" "/proc/$1/status"; }
logs() { grep -c '^spawn: cgi:' "$1"; }

# start_bridge NAME [SPAWN OPTION...]: spawn --cgi -w on $T/NAME.sock, in
# the background; sets SOCK, PID (spawn) and WORKER (its only child).
start_bridge() {
	_b=$1
	shift
	SOCK=$T/$_b.sock
	"$SPAWN" --cgi -w -s "$SOCK" "$@" -- "$REP" /bin/sh "$MODES" \
		>"$T/$_b.out" 2>"$T/$_b.err" </dev/null &
	PID=$!
	track "$PID"
	if ! wait_for 5 '[ -S "$SOCK" ] && "$CLIENT" -q -t 1000 "$SOCK" >/dev/null 2>&1'; then
		not_ok "$_b: spawn --cgi $* answers a request"
		show_log "$T/$_b.err" 20
		return 1
	fi
	WORKER=$(kids "$PID" | awk '{ print $1 }')
	# A worker outlives a spawn that is SIGKILLed: end it at exit too.
	track $WORKER
	return 0
}

# stop_bridge NAME: SIGTERM to spawn (PID); it and its worker (WORKER)
# must be gone within 5 s. Anything left is killed.
stop_bridge() {
	kill "$PID" 2>/dev/null
	if wait_until 5 all_dead "$PID" $WORKER; then
		ok "$1: spawn stops on SIGTERM, and its worker with it"
		return
	fi
	not_ok "$1: spawn stops on SIGTERM, and its worker with it"
	echo "#   spawn $PID: $(proc_state "$PID"), worker $WORKER: $(proc_state "$WORKER"), its children: $(kids "$WORKER" 2>/dev/null | tr '\n' ' ')"
	ls -l "/proc/$WORKER/fd" 2>/dev/null | sed -n 's/^.* \([0-9]* -> .*\)/#   fd \1/p'
	show_log "$T/$1.err" 5
	stop "$PID" $WORKER
}

# t-cgi-limits.sh wants only the helpers above.
[ "${CGI_HELPERS_ONLY:-}" = 1 ] && return 0

# ===========================================================================
# Bridge A: the default settings, -d, -e, and spawn's own environment.
mkdir -p "$T/wd"
export PASSME=passed NOTPASSED=leak
if ! start_bridge a -d "$T/wd" -e FOO=bar -e PASSME; then
	exit 0
fi
unset PASSME NOTPASSED
ALOG=$T/a.err
A_PID=$PID
A_WORKER=$WORKER
A_RSS0=$(status_kb "$A_WORKER" VmRSS)
echo "# bridge A: spawn $PID, worker $A_WORKER, VmRSS $A_RSS0 kB at start"

# ---------------------------------------------------------------------------
# Basic GET and POST.
ask get hello -- QUERY_STRING=q=1
shas "GET: END_REQUEST complete, exit 0" get "end=1 0 0"
shas "GET: Content-Type passed on" get "header=Content-Type: text/plain"
sexpect "GET: the body" get body_head 'hello q=1\n'
sexpect "GET: the server closes the connection (KEEP_CONN clear)" get closed 1
r=$(report_of get)
expect_eq "GET: the script saw QUERY_STRING" "q=1" "$(sget "$r" env.QUERY_STRING)"
expect_eq "GET: the script saw REQUEST_METHOD" "GET" "$(sget "$r" env.REQUEST_METHOD)"

ask post echo -B 300000 -- REQUEST_METHOD=POST CONTENT_LENGTH=300000 \
	CONTENT_TYPE=application/octet-stream
shas "POST 300 KB echoed: END_REQUEST complete" post "end=1 0 0"
sexpect "POST 300 KB echoed: the body comes back intact" post body_cksum \
	"$(sget "$T/post.sum" body_sent_cksum)"
r=$(report_of post)
expect_eq "POST: the script saw CONTENT_LENGTH" 300000 "$(sget "$r" env.CONTENT_LENGTH)"

# ---------------------------------------------------------------------------
# The script's header block (RFC 3875 section 6).
ask lf lf
shas "LF header block: passed" lf "header=Content-Type: text/plain"
sexpect "LF header block: the body" lf body_head 'lf body\n'
ask crlf crlf
shas "CRLF header block: every header passed" crlf "header=X-A: 1"
sexpect "CRLF header block: the body" crlf body_head 'crlf body\n'
ask location location
shas "Location only: accepted" location "header=Location: /elsewhere"
slacks "Location only: not turned into a 502" location '^header=Status: 502'
ask status status
shas "Status only: accepted as it is" status "header=Status: 404 Not Here"
ask nph nph
shas "NPH first line becomes Status:" nph "header=Status: 200 OK"
slacks "NPH: no HTTP/1.1 line left" nph '^header=HTTP/'
shas "NPH: the other headers stay" nph "header=Content-Type: text/plain"
sexpect "NPH: the body" nph body_head 'nph body\n'
ask pad14 bighead -- T_PAD=14
shas "header block of 14 KB: accepted" pad14 "header=Content-Type: text/plain"
sexpect "header block of 14 KB: the body" pad14 body_head 'big head body\n'

for m in noheader nocontent empty bighead stderronly; do
	before=$(logs "$ALOG")
	ask "$m" "$m"
	shas "$m: 502 Bad Gateway" "$m" "header=Status: 502 Bad Gateway"
	expect_eq "$m: END_REQUEST, REQUEST_COMPLETE" "1 0" \
		"$(sget "$T/$m.sum" end | awk '{ print $1, $3 }')"
	if wait_for 2 '[ "$(logs "$ALOG")" -gt "$before" ]'; then
		ok "$m: a log line"
	else
		not_ok "$m: a log line"
		show_log "$ALOG"
	fi
done
slacks "no header block: the script's text is not sent as headers" noheader '^header=no header'
sexpect "script writing only stderr: its text arrives as FCGI_STDERR" stderronly stderr 'oops on stderr\n'
ask stderr stderr
sexpect "stderr and a body: stderr as FCGI_STDERR" stderr stderr 'a warning on stderr\n'
sexpect "stderr and a body: the body" stderr body_head 'body after stderr\n'

# appStatus: the exit status, or 128 + the signal.
ask exit3 exit3
shas "exit 3: appStatus 3" exit3 "end=1 3 0"
sexpect "exit 3: the body still arrives" exit3 body_head 'exiting 3\n'
ask kill9 kill9
shas "death by SIGKILL: appStatus 137" kill9 "end=1 137 0"
ask segv segv
shas "death by SIGSEGV: appStatus 139" segv "end=1 139 0"

# ---------------------------------------------------------------------------
# Records.
for p in 1 5 255; do
	ask "pad$p" hello -p "$p" -- QUERY_STRING=padded
	shas "our records padded with $p bytes: answered" "pad$p" "end=1 0 0"
	sexpect "our records padded with $p bytes: the body" "pad$p" body_head 'hello padded\n'
done

# PARAMS cut every 3 bytes: through the 4-byte lengths and the pairs.
longv=$(awk 'BEGIN { for (i = 0; i < 700; i++) printf "%d-", i }')
longn=LONG_NAME_$(awk 'BEGIN { for (i = 0; i < 150; i++) printf "N" }')
ask split hello -S 3 -p 3 -- "$longn=$longv" SHORT=s
shas "PARAMS cut mid-pair: answered" split "end=1 0 0"
r=$(report_of split)
expect_eq "PARAMS cut mid-pair: the script sees the long value intact" \
	"$longv" "$(sget "$r" "env.$longn")"
expect_eq "PARAMS cut mid-pair: and the short one after it" s "$(sget "$r" env.SHORT)"

# A slow good request runs beside the malformed ones: the worker must
# keep serving it while it drops their connections.
ask beside slow -t 15000 -- T_SLEEP=3 &
beside=$!
wait_until 5 has_report_of beside

BEGIN_HEX="01 01 00 01 00 08 00 00  00 01 00 00 00 00 00 00"
# rawcase NAME TEST [CLIENT OPTION...]: raw bytes; the server must close
# the connection without an END_REQUEST, and log one line.
rawcase() {
	_n=$1 _t=$2
	shift 2
	_before=$(logs "$ALOG")
	"$CLIENT" -s -t 3000 "$@" "$SOCK" >"$T/$_n.sum" 2>"$T/$_n.cerr"
	sexpect "$_t: the connection is closed" "$_n" closed 1
	sbetween "$_t: at once" "$_n" closed_ms 0 1500
	slacks "$_t: no END_REQUEST" "$_n" '^end='
	slacks "$_t: no output" "$_n" '^rec=STDOUT'
	wait_for 2 '[ "$(logs "$ALOG")" -gt "$_before" ]'
	expect_eq "$_t: one log line" 1 "$(($(logs "$ALOG") - _before))"
	show_log "$ALOG" 1
}
# 200 000 bytes claimed for a name: past the 128 KiB cap, before it comes.
rawcase claim "PARAMS claiming a 200 KB name" \
	-X "$BEGIN_HEX 01 04 00 01 00 10 00 00  80 03 0d 40 01 41 42 43 44 45 46 47 48 49 4a 4b"
rawcase badver "bad version byte" \
	-X "02 01 00 01 00 08 00 00  00 01 00 00 00 00 00 00"
rawcase trunchdr "truncated record header, then EOF" -H \
	-X "$BEGIN_HEX 01 04 00"
rawcase truncbody "truncated record body, then EOF" -H \
	-X "$BEGIN_HEX 01 04 00 01 00 20 00 00  41 42 43 44 45 46 47 48 49 4a"
rawcase beginlen "BEGIN_REQUEST of length 5" \
	-X "01 01 00 01 00 05 03 00  00 01 00 00 00 00 00 00"

# Real pairs past the 128 KiB cap: refused, and no script runs.
v50=$(awk 'BEGIN { for (i = 0; i < 50000; i++) printf "v" }')
ask toobig hello -t 5000 -- P1="$v50" P2="$v50" P3="$v50"
slacks "150 KB of params: no 200 answer" toobig '^end=1 0 0$'
expect_eq "150 KB of params: no script runs" 0 "$(nreports toobig)"
echo "# 150 KB of params: $(grep -E '^(closed|end|header)=' "$T/toobig.sum" | tr '\n' ' ')"

wait "$beside"
shas "beside the malformed connections: the slow request completes" beside "end=1 0 0"
sexpect "beside the malformed connections: its body" beside body_head 'slow done; running=1\n'
ask after hello
shas "after the malformed connections: the worker serves the next client" after "end=1 0 0"

# Roles other than RESPONDER.
for role in 2 3 99; do
	ask "role$role" hello -r "$role"
	shas "role $role: END_REQUEST with UNKNOWN_ROLE" "role$role" "end=1 0 3"
	expect_eq "role $role: no script runs" 0 "$(nreports "role$role")"
done

# A second request on a busy connection: CANT_MPX_CONN for it, and the
# first one completes. Records of the refused id are ignored.
"$CLIENT" -D -i 1 "$SOCK" T_DIR="$T" T_TAG=mpx1 T_MODE=slow T_SLEEP=1 >"$T/mpx.bin"
"$CLIENT" -D -i 2 -B 100 "$SOCK" T_DIR="$T" T_TAG=mpx2 T_MODE=hello >>"$T/mpx.bin"
"$CLIENT" -s -t 5000 -R "$T/mpx.bin" "$SOCK" >"$T/mpx.sum" 2>/dev/null
shas "second BEGIN_REQUEST while busy: CANT_MPX_CONN for it" mpx "end=2 0 1"
shas "second BEGIN_REQUEST while busy: the first completes" mpx "end=1 0 0"
slacks "second BEGIN_REQUEST while busy: no output for id 2" mpx '^rec=STDOUT id=2 '
expect_eq "second BEGIN_REQUEST while busy: its script never runs" 0 "$(nreports mpx2)"

# KEEP_CONN: three requests on one connection, and it stays open.
ask keep hello -k -m 3 -L 500 -- QUERY_STRING=kept
shas "KEEP_CONN: request 1 answered" keep "end=1 0 0"
shas "KEEP_CONN: request 2 answered on the same connection" keep "end=2 0 0"
shas "KEEP_CONN: request 3 answered on the same connection" keep "end=3 0 0"
sexpect "KEEP_CONN: the connection stays open" keep closed 0
expect_eq "KEEP_CONN: three scripts ran" 3 "$(nreports keep)"
sbetween "KEEP_CONN clear: the server closes right after END_REQUEST" get closed_ms 0 \
	$(($(sget "$T/get.sum" answered_ms) + 500))

"$CLIENT" -s -g "$SOCK" >"$T/values.sum" 2>/dev/null
shas "GET_VALUES: FCGI_MPXS_CONNS=0" values "value=FCGI_MPXS_CONNS=0"
shas "GET_VALUES: FCGI_MAX_REQS is --cgi-max (64)" values "value=FCGI_MAX_REQS=64"
expect_match "GET_VALUES: FCGI_MAX_CONNS is a number" '^[1-9][0-9]*$' \
	"$(sed -n 's/^value=FCGI_MAX_CONNS=//p' "$T/values.sum")"
"$CLIENT" -s -t 3000 -L 300 -X "01 0c 00 00 00 00 00 00" "$SOCK" >"$T/mgmt.sum" 2>/dev/null
sexpect "unknown management type 12: UNKNOWN_TYPE names it" mgmt unknown_type 12

# ---------------------------------------------------------------------------
# The script's environment, descriptors, process group and signals.
ask env hello -- HTTP_PROXY=http://evil:3128 LD_PRELOAD=/nonexistent/evil.so \
	LD_LIBRARY_PATH=/evil BASH_ENV=/evil/bashenv ENV=/evil/env IFS=x \
	PATH=/evil "BASH_FUNC_f%%=() { :; }" HTTP_X_KEPT=yes FOO=fromparam
shas "environment request: answered" env "end=1 0 0"
r=$(report_of env)
for v in HTTP_PROXY LD_PRELOAD LD_LIBRARY_PATH BASH_ENV ENV IFS 'BASH_FUNC_f%%'; do
	check "param $v does not reach the script" test -z "$(grep "^env\.$v=" "$r")"
done
expect_eq "PATH is the default, not the param" /usr/local/bin:/usr/bin:/bin "$(sget "$r" env.PATH)"
expect_eq "-e FOO=bar reaches the script (over a FOO param)" bar "$(sget "$r" env.FOO)"
expect_eq "-e PASSME passes spawn's value on" passed "$(sget "$r" env.PASSME)"
check "spawn's own NOTPASSED does not reach the script" test -z "$(grep '^env\.NOTPASSED=' "$r")"
check "spawn's own TOP does not reach the script" test -z "$(grep '^env\.TOP=' "$r")"
expect_eq "HTTP_X_KEPT (an ordinary param) reaches the script" yes "$(sget "$r" env.HTTP_X_KEPT)"
names=$(sed -n 's/^env\.\([^=]*\)=.*/\1/p' "$r" | sort | tr '\n' ' ')
expect_eq "the script's environment is the params, -e and PATH, nothing else" \
	"FOO GATEWAY_INTERFACE HTTP_X_KEPT PASSME PATH REQUEST_METHOD REQUEST_URI SERVER_PROTOCOL T_DIR T_MODE T_TAG " \
	"$names"
expect_eq "the script has fds 0, 1, 2 only" 0,1,2 "$(sget "$r" fds)"
for fd in 0 1 2; do
	expect_match "the script's fd $fd is a pipe" '^pipe:' "$(sget "$r" "fd.$fd")"
done
expect_eq "the script leads its own process group (pgid == pid)" "$(sget "$r" pid)" "$(sget "$r" pgid)"
expect_eq "the script's signal mask is empty" 0000000000000000 "$(sget "$r" sigblk)"
expect_eq "the script ignores no signal" 0000000000000000 "$(sget "$r" sigign)"
expect_eq "the script runs in the -d directory" "$T/wd" "$(sget "$r" cwd)"

# ---------------------------------------------------------------------------
# Flow: full duplex with 100 MB each way, in bounded memory.
MB100=104857600
if head -c $MB100 /dev/urandom >"$T/big" 2>/dev/null; then
	want=$(cksum <"$T/big")
	ask echo100 echo -t 60000 -b "$T/big" -- REQUEST_METHOD=POST CONTENT_LENGTH=$MB100
	shas "100 MB echo: completes" echo100 "end=1 0 0"
	sexpect "100 MB echo: every byte back, in order" echo100 body_cksum "$want"
	sbetween "100 MB echo: within 30 s" echo100 answered_ms 0 30000
	echo "# 100 MB echo: $(sget "$T/echo100.sum" answered_ms) ms"
	ask down file -t 60000 -- T_FILE="$T/big"
	shas "100 MB download: completes" down "end=1 0 0"
	sexpect "100 MB download: every byte, in order" down body_cksum "$want"
	echo "# 100 MB download: $(sget "$T/down.sum" answered_ms) ms"
else
	not_ok "100 MB test file in $T"
fi
ask noread noread -t 5000 -B 1048576 -- REQUEST_METHOD=POST CONTENT_LENGTH=1048576
shas "1 MB body to a script that never reads it: completes" noread "end=1 0 0"
sexpect "1 MB body to a script that never reads it: its answer" noread body_head 'early\n'
hwm=$(status_kb "$A_WORKER" VmHWM)
echo "# worker VmRSS at start $A_RSS0 kB, VmHWM after 100 MB each way $hwm kB"
# ASan's quarantine keeps freed memory on purpose: no bound to check there.
if grep -q libasan "/proc/$A_WORKER/maps" 2>/dev/null; then
	skip "the worker's VmHWM (spawn built with ASan, make SAN=1)"
else
	check "the worker's VmHWM stays under its start VmRSS + 4 MB" \
		test "$hwm" -lt $((A_RSS0 + 4096))
fi
slacks "no records padded out of line (echo)" echo100 '^unaligned=[1-9]'

# ---------------------------------------------------------------------------
# Ending: the client goes away, or aborts; the whole process group ends.
ask midbody midbody -t 10000 -B 52428800 -C 2097152 -- REQUEST_METHOD=POST CONTENT_LENGTH=52428800
sexpect "client closes mid-body: it did" midbody client_closed sent
sp=$(script_pid midbody)
cp=$(child_pid midbody "$sp")
if [ -n "$sp" ] && [ -n "$cp" ] && wait_until 3 gone "$sp" "$cp"; then
	ok "client closes mid-body: script and its background child gone within 3 s"
else
	not_ok "client closes mid-body: script and its background child gone within 3 s"
	echo "#   script $sp ($(proc_state "$sp")), child $cp ($(proc_state "$cp"))"
fi

ask midresp stream -t 10000 -E 300000
sexpect "client closes mid-response: it did" midresp client_closed received
sp=$(script_pid midresp)
cp=$(child_pid midresp "$sp")
if [ -n "$sp" ] && [ -n "$cp" ] && wait_until 3 gone "$sp" "$cp"; then
	ok "client closes mid-response: script and its child holding stdout gone within 3 s"
else
	not_ok "client closes mid-response: script and its child holding stdout gone within 3 s"
	echo "#   script $sp ($(proc_state "$sp")), child $cp ($(proc_state "$cp"))"
fi

ask abort sleep -t 6000 -A 500
check "ABORT_REQUEST: END_REQUEST comes back" test "$(scount "$T/abort.sum" end)" -eq 1
echo "# ABORT_REQUEST: end=$(sget "$T/abort.sum" end)"
sbetween "ABORT_REQUEST: promptly" abort answered_ms 400 2500
sp=$(script_pid abort)
cp=$(child_pid abort "$sp")
check "ABORT_REQUEST: script and its child gone" wait_until 3 gone "$sp" "$cp"

ask abortkill ignoreterm -t 8000 -A 300
sexpect "ABORT_REQUEST, SIGTERM ignored: SIGKILL 1 s later (appStatus 137)" abortkill end "1 137 0"
sbetween "ABORT_REQUEST, SIGTERM ignored: ends 1..3 s after the abort" abortkill answered_ms 1200 3300
sp=$(script_pid abortkill)
cp=$(child_pid abortkill "$sp")
check "ABORT_REQUEST, SIGTERM ignored: script and its child gone" wait_until 3 gone "$sp" "$cp"

ask last hello
shas "bridge A still serves after all that" last "end=1 0 0"

# ===========================================================================
# Every record the bridge sent, in every case above, was padded to 8.
bad=$(grep -l '^unaligned=[1-9]' "$T"/*.sum 2>/dev/null | sed "s#$T/##" | tr '\n' ' ')
expect_eq "every record the bridge sent is padded to a multiple of 8" "" "$bad"

PID=$A_PID WORKER=$A_WORKER
stop_bridge a
