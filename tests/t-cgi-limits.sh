# The CGI bridge (spawn --cgi), part 2 (see t-cgi.sh, whose helpers this
# file uses): --cgi-timeout with stuck scripts and slow clients, --cgi-max
# with requests that queue, and FCGI_WEB_SERVER_ADDRS. Runs beside
# t-cgi.sh.
CGI_HELPERS_ONLY=1
. "$(dirname "$0")/t-cgi.sh"

# ===========================================================================
# Bridge B: --cgi-timeout 2. Stuck scripts and slow clients, all at once:
# the worker must not block on any of them.
if start_bridge b --cgi-timeout 2; then
	BLOG=$T/b.err
	ask tsleep sleep -t 10000 &
	j1=$!
	ask tign ignoreterm -t 10000 &
	j2=$!
	"$CLIENT" -s -t 10000 -c 30 "$SOCK" T_MODE=hello >"$T/stall.sum" 2>/dev/null &
	j3=$!
	"$CLIENT" -s -t 7000 -y 250 "$SOCK" T_MODE=hello >"$T/trickle.sum" 2>/dev/null &
	j4=$!
	"$CLIENT" -s -t 10000 -c 0 "$SOCK" >"$T/idle.sum" 2>/dev/null &
	j5=$!
	wait_until 5 has_report_of tsleep
	wait_until 5 has_report_of tign
	ask tgood hello -t 3000
	shas "--cgi-timeout 2: a good request is served meanwhile" tgood "end=1 0 0"
	sbetween "--cgi-timeout 2: ... at once" tgood answered_ms 0 1000
	wait $j1 $j2 $j3 $j4 $j5

	# A stalled script, with the client waiting: the client still gets an
	# answer (504) and END_REQUEST with the status of the kill.
	ended "script sleeping for ever: the request ends after 2..4 s" tsleep 1800 4500
	sexpect "script sleeping for ever: END_REQUEST, appStatus 143 (SIGTERM)" tsleep end "1 143 0"
	shas "script sleeping for ever: answered 504" tsleep "header=Status: 504 Gateway Timeout"
	sp=$(script_pid tsleep)
	cp=$(child_pid tsleep "$sp")
	check "script sleeping for ever: it and its child are gone" wait_until 3 gone "$sp" "$cp"

	ended "script ignoring SIGTERM: the request ends after 2..5 s" tign 1800 5500
	sexpect "script ignoring SIGTERM: END_REQUEST, appStatus 137 (SIGKILL 1 s later)" tign end "1 137 0"
	sp=$(script_pid tign)
	cp=$(child_pid tign "$sp")
	# It ignores SIGTERM: only the SIGKILL a second later can end it.
	check "script ignoring SIGTERM: SIGKILLed, it and its child are gone" wait_until 3 gone "$sp" "$cp"

	for c in stall trickle idle; do
		sexpect "$c client: disconnected" "$c" closed 1
		sbetween "$c client: after the 2 s timeout" "$c" closed_ms 1800 5000
		slacks "$c client: no END_REQUEST" "$c" '^end='
	done
	echo "# timeouts: stall $(sget "$T/stall.sum" closed_ms) ms, trickle $(sget "$T/trickle.sum" closed_ms) ms, idle $(sget "$T/idle.sum" closed_ms) ms"
	show_log "$BLOG" 6
	stop_bridge b
fi

# ===========================================================================
# Bridge C: --cgi-max 2 with one worker: four slow requests queue, none fails.
if start_bridge c -F 1 --cgi-max 2; then
	C_WORKER=$WORKER
	"$CLIENT" -s -g "$SOCK" >"$T/cvalues.sum" 2>/dev/null
	shas "--cgi-max 2: GET_VALUES says FCGI_MAX_REQS=2" cvalues "value=FCGI_MAX_REQS=2"
	jobs_=
	for i in 1 2 3 4; do
		ask "max$i" slow -t 15000 -- T_SLEEP=1 &
		jobs_="$jobs_ $!"
	done
	most=0
	end=$(($(date +%s) + 15))
	while [ "$(date +%s)" -le "$end" ]; do
		n=$(live_children "$C_WORKER")
		[ "$n" -gt "$most" ] && most=$n
		running=0
		for j in $jobs_; do kill -0 "$j" 2>/dev/null && running=1; done
		[ $running = 0 ] && break
		sleep 0.02
	done
	wait $jobs_
	for i in 1 2 3 4; do
		shas "--cgi-max 2: request $i of 4 answered" "max$i" "end=1 0 0"
		expect_match "--cgi-max 2: request $i of 4 is no error response" '^slow done' \
			"$(sget "$T/max$i.sum" body_head)"
	done
	check "--cgi-max 2: at most 2 scripts at once (in /proc: $most)" test "$most" -le 2
	check "--cgi-max 2: but 2 do run at once (in /proc: $most)" test "$most" -eq 2
	seen=$(cat "$T"/max?.sum | sed -n 's/^body_head=slow done; running=\([0-9]*\).*/\1/p' | sort -n | tail -n 1)
	check "--cgi-max 2: at most 2 scripts saw each other running ($seen)" test "${seen:-9}" -le 2
	stop_bridge c
fi

# ===========================================================================
# FCGI_WEB_SERVER_ADDRS in spawn's environment filters TCP clients.
# wsa NAME ADDRS: a bridge on 127.0.0.1:PORT with FCGI_WEB_SERVER_ADDRS=ADDRS,
# PORT picked by the kernel for port 0, and again when it was taken
# before spawn could bind it (retry_port).
wsa() {
	_w=$1 _wsa=$2
	retry_port 127.0.0.1 wsa_start 'dead "$PID" && addr_in_use -f "$T/$_w.err"'
	SOCK=127.0.0.1:$PORT
	WORKER=
	grep -q "spawned successfully" "$T/$_w.out" "$T/$_w.err" || return 1
	WORKER=$(kids "$PID" | awk '{ print $1 }')
	track $WORKER
}
wsa_start() {
	FCGI_WEB_SERVER_ADDRS=$_wsa "$SPAWN" --cgi -w -a 127.0.0.1 -p "$PORT" \
		-- "$REP" /bin/sh "$MODES" >"$T/$_w.out" 2>"$T/$_w.err" </dev/null &
	PID=$!
	track "$PID"
	wait_for 5 'grep -q "spawned successfully" "$T/$_w.out" "$T/$_w.err" || dead "$PID"'
}
if have python3; then
	if wsa wsano 127.0.0.2; then
		ask wsano hello -t 3000
		sexpect "FCGI_WEB_SERVER_ADDRS=127.0.0.2: 127.0.0.1 is refused (closed)" wsano closed 1
		slacks "FCGI_WEB_SERVER_ADDRS=127.0.0.2: no answer" wsano '^end='
		expect_eq "FCGI_WEB_SERVER_ADDRS=127.0.0.2: no script runs" 0 "$(nreports wsano)"
	else
		not_ok "FCGI_WEB_SERVER_ADDRS=127.0.0.2: spawn starts"
	fi
	show_log "$T/wsano.err" 2
	stop_bridge wsano
	if wsa wsayes 10.9.9.9,127.0.0.1; then
		ask wsayes hello -t 3000
		shas "FCGI_WEB_SERVER_ADDRS=10.9.9.9,127.0.0.1: 127.0.0.1 is served" wsayes "end=1 0 0"
		expect_eq "FCGI_WEB_SERVER_ADDRS=10.9.9.9,127.0.0.1: the script ran" 1 "$(nreports wsayes)"
	else
		not_ok "FCGI_WEB_SERVER_ADDRS=10.9.9.9,127.0.0.1: spawn starts"
	fi
	stop_bridge wsayes
else
	skip "FCGI_WEB_SERVER_ADDRS (python3 not installed, to find a free port)"
fi

# ===========================================================================
# Every record the bridge sent, in every case above, was padded to 8.
bad=$(grep -l '^unaligned=[1-9]' "$T"/*.sum 2>/dev/null | sed "s#$T/##" | tr '\n' ' ')
expect_eq "every record the bridge sent is padded to a multiple of 8" "" "$bad"
