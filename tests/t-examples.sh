# Documentation (issues 2 and 4): --help, spawn.1 and README agree, and every
# example under examples/ that the man page and README show is run for real,
# with only its paths moved into a temporary directory.
. "$(dirname "$0")/lib.sh"

# --- Docs agree with the binary.
help=$("$SPAWN" --help)
if have mandoc; then
	expect_eq "man/spawn.1: mandoc -Tlint is clean" "" "$(mandoc -Tlint -Wwarning "$TOP/man/spawn.1" 2>&1)"
	man=$(mandoc -Tutf8 "$TOP/man/spawn.1" | col -b)
	syn_man=$(printf '%s\n' "$man" | sed -n '/^SYNOPSIS/,/^DESCRIPTION/p' | sed '1d;$d' | tr -s ' \t\n' ' ' | sed 's/^ //;s/ $//')
	syn_help=$(printf '%s\n' "$help" | sed -n '1,/^$/p' | sed 's/^usage: //' | tr -s ' \t\n' ' ' | sed 's/^ //;s/ $//')
	expect_eq "--help prints the SYNOPSIS of spawn.1 word for word" "$syn_man" "$syn_help"
else
	skip "spawn.1 lint and SYNOPSIS (mandoc not installed)"
fi
for o in $(printf '%s\n' "$help" | grep -o -- '--[a-z][a-z-]*' | sort -u); do
	check "option $o is in man/spawn.1" grep -q -- "${o#--}" "$TOP/man/spawn.1"
	check "option $o is in README.md" grep -q -- "$o" "$TOP/README.md"
done
for c in 0 1 2 126 127; do
	check "exit status $c is documented in man/spawn.1" grep -q "^\.It $c\$" "$TOP/man/spawn.1"
done
check "README shows the demo command" grep -q '^make demo' "$TOP/README.md"
check "README shows the test command" grep -q '^make check' "$TOP/README.md"

# The README and the man page show each example file as it is.
for f in "$TOP"/examples/*; do
	name=examples/$(basename "$f")
	missing=$(grep -v '^[[:space:]]*$' "$f" | while IFS= read -r line; do
		grep -qxF -- "$line" "$TOP/README.md" || echo "$line"
	done)
	expect_eq "$name: shown in README.md as it is" "" "$missing"
	if have mandoc; then
		norm() { tr -s ' \t' ' ' | sed 's/^ //;s/ $//'; }
		printf '%s\n' "$man" | norm >"$T/man.txt"
		missing=$(grep -v '^[[:space:]]*$' "$f" | norm | while IFS= read -r line; do
			grep -qxF -- "$line" "$T/man.txt" || echo "$line"
		done)
		expect_eq "$name: shown in man/spawn.1 as it is" "" "$missing"
	fi
done

# --- The examples, run. Paths move into $T and ports to one the kernel
# picked for port 0 (free_port; a port taken before the example binds it
# is picked again: retry_port); nothing else changes.
PORT=
WWW=$T/www
mkdir -p "$WWW"
printf '<?php echo "php says ", 6 * 7, "\\n";\n' >"$WWW/t.php"
chmod 755 "$T" "$WWW"
chmod 644 "$WWW/t.php"
SOCK=$T/spawn-php.sock
localize() {
	sed -e "s|/usr/local/bin/spawn|$SPAWN|g" -e "s|/run/spawn-php.sock|$SOCK|g" \
	    -e "s|/run/spawn-php.pid|$T/spawn-php.pid|g" -e "s|/var/www/html|$WWW|g" \
	    -e "s|/var/lib/prometheus/node-exporter|$T|g" \
	    -e "s|8080|$PORT|g" -e "s|9000|$PORT|g" "$TOP/examples/$1" >"$T/$1"
	chmod +x "$T/$1"
}
# php_ok ADDR [TIMEOUT_MS]: php-cgi answers on ADDR (3 s, or longer where
# the request also has to start the service, as with socket activation).
php_ok() { "$CLIENT" -t "${2:-3000}" "$1" SCRIPT_FILENAME="$WWW/t.php" REQUEST_METHOD=GET 2>/dev/null | grep -q 'php says 42'; }
child_pids() { children_of "$1" | sort -n | tr '\n' ' '; }

if ! have php-cgi || [ ! -x /usr/bin/php-cgi ] || ! is_root; then
	skip "examples: running them needs root and /usr/bin/php-cgi"
	exit 0
fi

# runit: runsv would exec ./run; so do we.
localize runit-run
sh "$T/runit-run" >"$T/runit.log" 2>&1 &
rp=$!
track "$rp"
wait_until 10 php_ok "$SOCK"
check "runit-run: php-cgi answers through the socket" php_ok "$SOCK"
before=$(child_pids "$rp")
expect_eq "runit-run: four children" 4 "$(echo $before | wc -w)"
kill -HUP "$rp"   # sv hup spawn-php
reloaded() { _now=$(child_pids "$rp"); [ "$(echo $_now | wc -w)" = 4 ] && for _p in $before; do case " $_now " in *" $_p "*) return 1 ;; esac; done; }
wait_until 15 reloaded
check "runit-run: sv hup replaced all four children" reloaded
check "runit-run: still answers after the reload" php_ok "$SOCK"
kill "$rp"          # sv down
wait_until 15 dead "$rp"
check "runit-run: sv down stops spawn" dead "$rp"
wait "$rp"
expect_eq "runit-run: spawn exits 0 when stopped" 0 "$?"
check "runit-run: socket removed" sock_gone "$SOCK"

# sysvinit: start, serve, stop.
localize sysvinit-spawn-php
sh "$T/sysvinit-spawn-php" start >"$T/sysv.out" 2>&1
expect_eq "sysvinit: start exits 0" 0 "$?"
check "sysvinit: php-cgi answers" php_ok "$SOCK"
master=$(cat "$T/spawn-php.pid")
track "$master"
expect_eq "sysvinit: php-cgi master has 4 workers (-C 4)" 4 "$(child_pids "$master" | wc -w)"
sh "$T/sysvinit-spawn-php" stop
wait_until 10 dead "$master"
check "sysvinit: stop ends php-cgi" dead "$master"
check "sysvinit: stop removes the pid file" test ! -e "$T/spawn-php.pid"
rm -f "$SOCK"

# OpenRC: openrc-run is not here; run what it would run: the command in
# the background with its pid file, and the script's own reload().
localize openrc-spawn-php
(
	ebegin() { :; }
	eend() { return "$1"; }
	RC_SVCNAME=spawn-php
	. "$T/openrc-spawn-php"
	# shellcheck disable=SC2086
	$command $command_args >"$T/openrc.log" 2>&1 &
	echo $! >"$pidfile"
	track $!
	wait_until 10 php_ok "$SOCK" || exit 1
	# OpenRC's start-stop-daemon sends --signal on its own; Debian's
	# needs --stop with it. Play OpenRC's part.
	start_stop_daemon_openrc() {
		while [ $# -gt 0 ]; do
			case $1 in
			--signal) _sig=$2; shift ;;
			--pidfile) _pf=$2; shift ;;
			esac
			shift
		done
		kill -s "$_sig" "$(cat "$_pf")"
	}
	alias start-stop-daemon=start_stop_daemon_openrc 2>/dev/null
	eval "reload() { $(sed -n '/^reload() {/,/^}/p' "$T/openrc-spawn-php" | sed '1d;$d' | sed 's/start-stop-daemon/start_stop_daemon_openrc/')
}"
	before=$(child_pids "$(cat "$pidfile")")
	reload || exit 2
	rp=$(cat "$pidfile")
	wait_until 15 reloaded || exit 2
	kill "$rp"
	wait_until 15 dead "$rp" || exit 4
	exit 0
)
rc=$?
case $rc in
0) ok "openrc: command_args serve php and reload() replaces the children" ;;
*) not_ok "openrc: command_args and reload() (step $rc failed)" ;;
esac
rm -f "$SOCK"

# systemd: units verify, and run the way systemd would run them.
for u in spawn-php.socket spawn-php.service spawn-notify.service spawn-pool.service; do localize "$u"; done
if have systemd-analyze; then
	out=$(cd "$T" && SYSTEMD_LOG_LEVEL=err systemd-analyze verify --man=no spawn-php.socket spawn-php.service spawn-notify.service spawn-pool.service 2>&1)
	expect_eq "systemd-analyze verify: units are clean" "" "$(printf '%s\n' "$out" | grep -v -e 'Failed to create .*control group' -e 'Cannot determine cgroup' -e 'No such file or directory.*cgroup' )"
else
	skip "systemd units: verify (systemd-analyze not installed)"
fi
if have python3; then
	notify_listener() {
		python3 - "$1" "$2" <<'PY' &
import socket, sys, time
path, out = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
s.settimeout(0.2)
end = time.time() + 60
with open(out, "a") as f:
    while time.time() < end:
        try:
            data = s.recv(4096)
        except socket.timeout:
            continue
        f.write(data.decode().replace("\n", " ").strip() + "\n")
        f.flush()
PY
		track $!
		wait_until 5 test -S "$1"
	}
	has_line() { grep -q "$2" "$1" 2>/dev/null; }
	# ExecStart= with its continuation lines (a trailing backslash), as
	# systemd joins them.
	exec_start() { awk '/^ExecStart=/ { f = 1; sub(/^ExecStart=/, "") } f { c = sub(/\\$/, ""); printf "%s ", $0; if (!c) exit }' "$T/$1"; }

	# Type=notify service.
	notify_listener "$T/notify.sock" "$T/notify.log"
	NOTIFY_SOCKET=$T/notify.sock $(exec_start spawn-notify.service) >"$T/svc.log" 2>&1 &
	sp=$!
	track "$sp"
	wait_until 10 has_line "$T/notify.log" READY=1
	check "spawn-notify.service: READY=1 after the children are verified" has_line "$T/notify.log" READY=1
	check "spawn-notify.service: php answers" php_ok "$SOCK"
	kill -HUP "$sp"     # ExecReload
	wait_until 15 has_line "$T/notify.log" RELOADING=1
	check "spawn-notify.service: ExecReload sends RELOADING=1" has_line "$T/notify.log" RELOADING=1
	wait_for 15 'test "$(grep -c READY=1 "$T/notify.log")" -ge 2'
	check "spawn-notify.service: READY=1 again after the reload" test "$(grep -c READY=1 "$T/notify.log")" -ge 2
	kill "$sp"
	wait_until 15 dead "$sp"
	check "spawn-notify.service: STOPPING=1 on stop" has_line "$T/notify.log" STOPPING=1
	rm -f "$SOCK"

	# Type=notify service with a dynamic pool (-F 0): ready with no child,
	# the first request starts one, the figures reach systemd and the
	# status file.
	PROM=$T/spawn-php.prom
	prom_has() { grep -qxF -- "$1" "$PROM" 2>/dev/null; }
	prom_range() { prom_has "spawn_children_min 0" && prom_has "spawn_children_max 16"; }
	notify_listener "$T/notify3.sock" "$T/notify3.log"
	NOTIFY_SOCKET=$T/notify3.sock $(exec_start spawn-pool.service) >"$T/pool.log" 2>&1 &
	pp=$!
	track "$pp"
	wait_until 10 has_line "$T/notify3.log" READY=1
	check "spawn-pool.service: READY=1 with the pool at its minimum" has_line "$T/notify3.log" READY=1
	expect_eq "spawn-pool.service: no child before the first request (-F 0)" "" "$(child_pids "$pp")"
	check "spawn-pool.service: STATUS= gives the pool's range (0..16)" \
		has_line "$T/notify3.log" 'STATUS=0 children running (0\.\.16); '
	check "spawn-pool.service: the status file gives the range (0, 16)" prom_range
	check "spawn-pool.service: the first request starts php-cgi and is answered" php_ok "$SOCK" 10000
	one_child() { [ "$(child_pids "$pp" | wc -w)" = 1 ]; }
	wait_until 5 one_child
	expect_eq "spawn-pool.service: one child after one request" 1 "$(child_pids "$pp" | wc -w)"
	wait_until 5 has_line "$T/notify3.log" 'STATUS=1 child[a-z]* running (0\.\.16); '
	check "spawn-pool.service: STATUS= counts the child (1, 0..16)" \
		has_line "$T/notify3.log" 'STATUS=1 child[a-z]* running (0\.\.16); '
	wait_until 5 prom_has 'spawn_children{state="running"} 1'
	check "spawn-pool.service: the status file counts it running" \
		prom_has 'spawn_children{state="running"} 1'
	check "spawn-pool.service: php answers again" php_ok "$SOCK"
	if ! has_line "$T/notify3.log" 'running (0\.\.16)'; then
		diag "notify messages:" "$(cat "$T/notify3.log" 2>/dev/null)"
		diag "spawn:" "$(cat "$T/pool.log" 2>/dev/null)"
	fi
	kill "$pp"
	wait_until 15 dead "$pp"
	check "spawn-pool.service: stops on TERM" dead "$pp"
	wait "$pp"
	expect_eq "spawn-pool.service: exit status 0 after TERM" 0 "$?"
	check "spawn-pool.service: STOPPING=1 on stop" has_line "$T/notify3.log" STOPPING=1
	check "spawn-pool.service: the status file is removed at exit" test ! -e "$PROM"
	check "spawn-pool.service: socket removed" sock_gone "$SOCK"
	rm -f "$SOCK"

	# Socket unit + service: systemd-socket-activate plays systemd's part.
	if have systemd-socket-activate; then
		listen=$(sed -n 's/^ListenStream=//p' "$T/spawn-php.socket")
		name=$(sed -n 's/^FileDescriptorName=//p' "$T/spawn-php.socket")
		notify_listener "$T/notify2.sock" "$T/notify2.log"
		NOTIFY_SOCKET=$T/notify2.sock systemd-socket-activate -l "$listen" --fdname="$name" \
			-E NOTIFY_SOCKET $(exec_start spawn-php.service) >"$T/act.log" 2>&1 &
		ap=$!
		track "$ap"
		# The socket file shows at bind(); connecting before listen() is
		# refused. systemd-socket-activate says "Listening on" after listen().
		wait_until 5 grep -qs '^Listening on' "$T/act.log"
		check "spawn-php.socket: systemd binds the socket" test -S "$listen"
		# systemd-socket-activate starts the service on the first
		# connection, as systemd does for Accept=no.
		check "spawn-php.service: the first request starts it and is answered" php_ok "$listen" 15000
		wait_until 15 has_line "$T/notify2.log" READY=1
		check "spawn-php.service: READY=1 with the activated socket" has_line "$T/notify2.log" READY=1
		if ! has_line "$T/notify2.log" READY=1; then
			diag "notify messages:" "$(cat "$T/notify2.log" 2>/dev/null)"
			diag "activator and spawn:" "$(cat "$T/act.log" 2>/dev/null)"
		fi
		check "spawn-php.service: php answers on the activated socket" php_ok "$listen"
		kill "$ap"
		wait_until 15 dead "$ap"
		check "spawn-php.service: stops on TERM" dead "$ap"
		check "spawn-php.service: the activated socket is never unlinked" test -S "$listen"
		rm -f "$listen"
	else
		skip "spawn-php.socket: systemd-socket-activate not installed"
	fi
else
	skip "systemd examples: python3 not installed (notify listener)"
fi

# Docker: the ENTRYPOINT as PID 1 of a new PID namespace, and its HEALTHCHECK.
localize Dockerfile
json_cmd() { python3 -c 'import json,sys; print("\n".join(json.loads(sys.argv[1])))' "$1"; }
if have python3 && have unshare && unshare --pid --fork --mount-proc true 2>/dev/null; then
	cat >"$T/pid1.sh" <<EOS
#!/bin/sh
# Inside the namespace: exec the ENTRYPOINT as PID 1, as docker run would.
set -f
IFS='
'
exec \$(cat "$T/entry.args")
EOS
	hc() { IFS='
'; set -f; $(cat "$T/health.args") >/dev/null 2>&1; _rc=$?; set +f; unset IFS; return $_rc; }
	# docker_run: the container on PORT, until it answers or ends.
	docker_run() {
		localize Dockerfile
		entry=$(sed -n 's/^ENTRYPOINT //p' "$T/Dockerfile")
		health=$(sed -n 's/^HEALTHCHECK .* CMD //p' "$T/Dockerfile")
		json_cmd "$entry" >"$T/entry.args"
		json_cmd "$health" >"$T/health.args"
		unshare --pid --fork --mount-proc sh "$T/pid1.sh" >"$T/docker.log" 2>&1 &
		up=$!
		track "$up"
		wait_for 10 'hc || dead "$up"'
	}
	retry_port 0.0.0.0 docker_run 'dead "$up" && addr_in_use -f "$T/docker.log"'
	check "Dockerfile: HEALTHCHECK (spawn --probe) passes" hc
	pid1=$(for p in $(children_of "$up"); do echo "$p"; done | head -n 1)
	expect_eq "Dockerfile: spawn is PID 1 of the namespace" 1 "$(sed -n 's/^NSpid:.*[[:space:]]//p' /proc/$pid1/status)"
	kill "$pid1"        # docker stop
	wait_until 15 dead "$up"
	check "Dockerfile: docker stop ends it" dead "$up"
	wait "$up"
	expect_eq "Dockerfile: exit status 0 after docker stop" 0 "$?"
	check "Dockerfile: HEALTHCHECK fails once it is gone" test "$(hc; echo $?)" = 1
else
	skip "Dockerfile: needs python3 and unshare --pid"
fi

# nginx and lighttpd, with spawn's php-cgi behind them.
"$SPAWN" -s "$SOCK" -F 2 -C 0 -u www-data -P "$T/php.pids" -- /usr/bin/php-cgi >/dev/null 2>&1
track $(cat "$T/php.pids")
http_ok() { curl -s -m 3 "http://127.0.0.1:$PORT/t.php" | grep -q 'php says 42'; }
if have nginx && have curl; then
	PORT=$(free_port 0.0.0.0)
	localize nginx.conf
	nginx -t -c "$T/nginx.conf" -g "pid $T/nginx.pid; error_log $T/nginx.err;" >"$T/nginx-t.log" 2>&1
	expect_eq "nginx.conf: nginx -t accepts it" 0 "$?"
	nginx_run() {
		localize nginx.conf
		rm -f "$T/nginx.err"
		nginx -c "$T/nginx.conf" -g "daemon off; pid $T/nginx.pid; error_log $T/nginx.err;" >"$T/nginx.out" 2>&1 &
		np=$!
		track "$np"
		wait_for 10 'http_ok || dead "$np"'
	}
	retry_port 0.0.0.0 nginx_run 'dead "$np" && addr_in_use -f "$T/nginx.err" "$T/nginx.out"'
	check "nginx.conf: an HTTP request is answered by php-cgi through spawn's socket" http_ok
	stop "$np"
else
	skip "nginx.conf: nginx or curl not installed"
fi
if have lighttpd && have curl; then
	PORT=$(free_port 0.0.0.0)
	localize lighttpd.conf
	lighttpd -tt -f "$T/lighttpd.conf" >"$T/lighttpd-t.log" 2>&1
	expect_eq "lighttpd.conf: lighttpd -tt accepts it" 0 "$?"
	lighttpd_run() {
		localize lighttpd.conf
		lighttpd -D -f "$T/lighttpd.conf" >"$T/lighttpd.out" 2>&1 &
		lp=$!
		track "$lp"
		wait_for 10 'http_ok || dead "$lp"'
	}
	retry_port 0.0.0.0 lighttpd_run 'dead "$lp" && addr_in_use -f "$T/lighttpd.out"'
	check "lighttpd.conf: an HTTP request is answered by php-cgi through spawn's socket" http_ok
	stop "$lp"
else
	skip "lighttpd.conf: lighttpd or curl not installed"
fi
stop $(cat "$T/php.pids")
