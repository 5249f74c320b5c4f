# Real peers: php-cgi and fcgiwrap started by spawn the way users start
# them, asked by our fcgiclient, by libfcgi's own cgi-fcgi, and by nginx in
# front. Each peer that is missing is a "skip", never a silent pass.
. "$(dirname "$0")/lib.sh"

umask 022
unset LISTEN_PID LISTEN_FDS LISTEN_FDNAMES NOTIFY_SOCKET PHP_FCGI_CHILDREN
# Ports of this file: loopback only, picked by the kernel for port 0
# (retry_port in lib.sh).
W=$T/www
mkdir -p "$W"
chmod 755 "$W"

# The children run as an unprivileged user when we can make them.
runas=
uargs=
if is_root; then
	if id www-data >/dev/null 2>&1; then runas=www-data; else runas=nobody; fi
	uargs="-u $runas"
	runas_uid=$(id -u "$runas")
else
	runas_uid=$(id -u)
fi

start() {
	run_spawn "$@"
	PIDS=$(printf '%s\n' "$OUT" | sed -n 's/.*PID: //p')
	for _p in $PIDS; do track "$_p"; done
}
count_children() { children_of "$1" | grep -c .; }
children_ge() { [ "$(count_children "$1")" -ge "$2" ]; }
status_of() { sed -n "s/^$2:[[:space:]]*//p" "/proc/$1/status"; }
uid_of() { status_of "$1" Uid | awk '{ print $1 }'; }
env_has() { tr '\0' '\n' <"/proc/$1/environ" | grep -qx -- "$2"; }
fd0_of() { readlink "/proc/$1/fd/0"; }

cat >"$W/t.php" <<'EOF'
<?php
echo "php says ", 6 * 7, "\n";
preg_match('/^Uid:\s+(\d+)/m', file_get_contents('/proc/self/status'), $m);
echo "uid=", $m[1], "\n";
echo "query=", isset($_SERVER['QUERY_STRING']) ? $_SERVER['QUERY_STRING'] : '', "\n";
echo "body=", file_get_contents('php://input'), "\n";
EOF
chmod 644 "$W/t.php"
cat >"$W/t.cgi" <<'EOF'
#!/bin/sh
printf 'Content-Type: text/plain\r\n\r\n'
echo "cgi says hello"
echo "query=$QUERY_STRING"
echo "uid=$(id -u)"
EOF
chmod 755 "$W/t.cgi"
PHPREQ="SCRIPT_FILENAME=$W/t.php SCRIPT_NAME=/t.php DOCUMENT_ROOT=$W"

# ---------------------------------------------------------------------------
# php-cgi: -F 2 -C 0, two single-process php-cgi on one socket.
if have php-cgi; then
	S=$T/php.sock
	start -s "$S" -F 2 -C 0 $uargs -- php-cgi
	expect_eq "php-cgi -F 2 -C 0: exit 0" 0 "$RC"
	expect_eq "php-cgi -F 2 -C 0: two pids printed" 2 "$(printf '%s\n' "$PIDS" | grep -c .)"
	for p in $PIDS; do
		check "php-cgi $p: alive" alive "$p"
		expect_eq "php-cgi $p: runs as $runas_uid" "$runas_uid" "$(uid_of "$p")"
		check "php-cgi $p: PHP_FCGI_CHILDREN=0 in its environment" env_has "$p" PHP_FCGI_CHILDREN=0
		expect_match "php-cgi $p: fd 0 is a socket" '^socket:\[[0-9]+\]$' "$(fd0_of "$p")"
	done
	set -- $PIDS
	expect_eq "php-cgi: both share one listening socket" "$(fd0_of "$1")" "$(fd0_of "$2")"
	body=$("$CLIENT" "$S" $PHPREQ QUERY_STRING=a=1 2>"$T/php.err")
	expect_match "php-cgi: runs the script" '^php says 42$' "$body"
	expect_match "php-cgi: the script runs as $runas_uid" "^uid=$runas_uid\$" "$body"
	expect_match "php-cgi: gets the query string" '^query=a=1$' "$body"
	expect_match "php-cgi: a CGI header comes first" '^Content-type: text/html' "$(printf '%s\n' "$body" | head -n 1)"
	"$CLIENT" -q -n 20 "$S" $PHPREQ >/dev/null 2>"$T/php-load.err"
	expect_eq "php-cgi: 20 requests in a row all answered" "requests=20 ok=20 failed=0" "$(tail -n 1 "$T/php-load.err")"
	body=$("$CLIENT" "$S" SCRIPT_FILENAME="$W/none.php" SCRIPT_NAME=/none.php 2>/dev/null)
	expect_match "php-cgi: a missing script is its own 404" 'No input file specified' "$body"
	for p in $PIDS; do
		expect_eq "php-cgi $p: -C 0 means no workers of its own" 0 "$(count_children "$p")"
	done
	run_spawn --probe "$S"
	expect_eq "php-cgi: --probe answers" 0 "$RC"
	echo "# php-cgi --probe: $(printf '%s' "$OUT$ERR" | tr '\n' ' ')"

	# libfcgi's own client, as a CGI program would call it.
	if have cgi-fcgi; then
		out=$(printf 'posted=1' | timeout 10 env -i $PHPREQ REQUEST_METHOD=POST \
			CONTENT_TYPE=application/x-www-form-urlencoded CONTENT_LENGTH=8 \
			QUERY_STRING=c=3 GATEWAY_INTERFACE=CGI/1.1 SERVER_PROTOCOL=HTTP/1.1 \
			REQUEST_URI=/t.php?c=3 cgi-fcgi -bind -connect "$S" 2>"$T/cgi-fcgi.err")
		expect_eq "cgi-fcgi -bind -connect (unix): exit 0" 0 "$?"
		expect_match "cgi-fcgi (unix): php-cgi ran the script" '^php says 42' "$out"
		expect_match "cgi-fcgi (unix): the query string got through" '^query=c=3' "$out"
		expect_match "cgi-fcgi (unix): the POST body got through (FCGI_STDIN)" '^body=posted=1' "$out"
	else
		skip "cgi-fcgi against php-cgi (libfcgi-bin not installed)"
	fi
	stop $PIDS
	check "php-cgi -F 2: both stopped by SIGTERM" all_dead $PIDS
	rm -f "$S"

	# On TCP, for cgi-fcgi's HOST:PORT form.
	if have cgi-fcgi; then
		retry_port 127.0.0.1 'start -a 127.0.0.1 -p "$PORT" -F 2 -C 0 $uargs -- php-cgi'
		expect_eq "php-cgi on 127.0.0.1:$PORT: exit 0" 0 "$RC"
		out=$(timeout 10 env -i $PHPREQ REQUEST_METHOD=GET QUERY_STRING=tcp=1 \
			GATEWAY_INTERFACE=CGI/1.1 SERVER_PROTOCOL=HTTP/1.1 \
			cgi-fcgi -bind -connect "127.0.0.1:$PORT" 2>/dev/null)
		expect_match "cgi-fcgi -bind -connect 127.0.0.1:PORT: php-cgi answers" '^query=tcp=1' "$out"
		stop $PIDS
	fi

	# -C 2: one php-cgi master, which forks its two workers itself.
	S=$T/php2.sock
	start -s "$S" -C 2 $uargs --check -- php-cgi
	expect_eq "php-cgi -C 2 --check: exit 0" 0 "$RC"
	master=$PIDS
	expect_eq "php-cgi -C 2: one pid printed (the master)" 1 "$(printf '%s\n' "$master" | grep -c .)"
	wait_until 5 children_ge "$master" 2
	workers=$(children_of "$master")
	track $workers
	expect_eq "php-cgi -C 2: the master has two workers" 2 "$(printf '%s\n' "$workers" | grep -c .)"
	check "php-cgi -C 2: PHP_FCGI_CHILDREN=2 in the master's environment" env_has "$master" PHP_FCGI_CHILDREN=2
	for w in $workers; do
		expect_eq "php-cgi -C 2: worker $w runs as $runas_uid" "$runas_uid" "$(uid_of "$w")"
		expect_eq "php-cgi -C 2: worker $w listens on the master's socket" "$(fd0_of "$master")" "$(fd0_of "$w")"
	done
	"$CLIENT" -q -n 10 "$S" $PHPREQ >/dev/null 2>"$T/php2-load.err"
	expect_eq "php-cgi -C 2: 10 requests all answered" "requests=10 ok=10 failed=0" "$(tail -n 1 "$T/php2-load.err")"
	body=$("$CLIENT" "$S" $PHPREQ 2>/dev/null)
	expect_match "php-cgi -C 2: a worker runs the script" '^php says 42$' "$body"

	# nginx in front of it.
	if have nginx && have curl; then
		N=$T/nginx
		mkdir -p "$N"
		# nginx_conf: the configuration, listening on PORT.
		nginx_conf() {
		cat >"$N/nginx.conf" <<EOF
daemon off;
master_process off;
worker_processes 1;
pid $N/nginx.pid;
error_log $N/error.log;
events { worker_connections 32; }
http {
    access_log $N/access.log;
    client_body_temp_path $N/body;
    proxy_temp_path $N/proxy;
    fastcgi_temp_path $N/fastcgi;
    uwsgi_temp_path $N/uwsgi;
    scgi_temp_path $N/scgi;
    server {
        listen 127.0.0.1:$PORT;
        root $W;
        location ~ \.php\$ {
            include /etc/nginx/fastcgi_params;
            fastcgi_param SCRIPT_FILENAME \$document_root\$fastcgi_script_name;
            fastcgi_pass unix:$S;
        }
    }
}
EOF
		}
		PORT=$(free_port)
		nginx_conf
		nginx -t -q -e "$N/error.log" -p "$N/" -c "$N/nginx.conf" >"$N/t.log" 2>&1
		expect_eq "nginx -t accepts the test config" 0 "$?"
		http_up() { curl -s -o /dev/null -m 1 "http://127.0.0.1:$PORT/"; }
		# nginx_run: nginx on PORT, until it answers or ends.
		nginx_run() {
			nginx_conf
			rm -f "$N/error.log"
			nginx -e "$N/error.log" -p "$N/" -c "$N/nginx.conf" >"$N/out.log" 2>&1 &
			ngpid=$!
			track "$ngpid"
			wait_for 5 'http_up || dead "$ngpid"'
		}
		retry_port 127.0.0.1 nginx_run 'dead "$ngpid" && addr_in_use -f "$N/error.log" "$N/out.log"'
		code=$(curl -s -m 5 -o "$N/page" -w '%{http_code}' "http://127.0.0.1:$PORT/t.php?d=4")
		expect_eq "nginx -> php-cgi: HTTP 200" 200 "$code"
		page=$(cat "$N/page")
		expect_match "nginx -> php-cgi: the PHP output" '^php says 42$' "$page"
		expect_match "nginx -> php-cgi: the query string" '^query=d=4$' "$page"
		expect_match "nginx -> php-cgi: runs as $runas_uid" "^uid=$runas_uid\$" "$page"
		page=$(curl -s -m 5 --data-binary 'from=nginx' "http://127.0.0.1:$PORT/t.php")
		expect_match "nginx -> php-cgi: a POST body" '^body=from=nginx$' "$page"
		code=$(curl -s -m 5 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/none.php")
		expect_eq "nginx -> php-cgi: a missing script is 404" 404 "$code"
		ok_n=0
		for i in 1 2 3 4 5 6 7 8; do
			curl -s -m 5 "http://127.0.0.1:$PORT/t.php" | grep -q '^php says 42$' && ok_n=$((ok_n + 1))
		done
		expect_eq "nginx -> php-cgi: 8 requests in a row" 8 "$ok_n"
		stop "$ngpid"
		check "nginx: stopped by pid" dead "$ngpid"
	else
		have nginx || skip "nginx in front of php-cgi (nginx not installed)"
		have curl || skip "nginx in front of php-cgi (curl not installed)"
	fi

	stop "$master"
	wait_until 5 all_dead $workers
	check "php-cgi -C 2: SIGTERM to the master ends the workers too" all_dead $workers
	rm -f "$S"
else
	skip "php-cgi -F 2 -C 0 serving a script (php-cgi not installed)"
	skip "php-cgi -C 2 master and workers (php-cgi not installed)"
	skip "cgi-fcgi against php-cgi (php-cgi not installed)"
	skip "nginx in front of php-cgi (php-cgi not installed)"
fi

# ---------------------------------------------------------------------------
# fcgiwrap: a CGI shell script through FastCGI.
if have fcgiwrap; then
	S=$T/fcgiwrap.sock
	start -s "$S" -F 2 $uargs --check -- fcgiwrap
	expect_eq "fcgiwrap -F 2 --check: exit 0" 0 "$RC"
	expect_eq "fcgiwrap: two pids printed" 2 "$(printf '%s\n' "$PIDS" | grep -c .)"
	for p in $PIDS; do
		expect_eq "fcgiwrap $p: runs as $runas_uid" "$runas_uid" "$(uid_of "$p")"
	done
	body=$("$CLIENT" "$S" SCRIPT_FILENAME="$W/t.cgi" SCRIPT_NAME=/t.cgi QUERY_STRING=b=2 2>"$T/fcgiwrap.err")
	expect_match "fcgiwrap: runs the CGI script" '^cgi says hello$' "$body"
	expect_match "fcgiwrap: the script gets the query string" '^query=b=2$' "$body"
	expect_match "fcgiwrap: the script runs as $runas_uid" "^uid=$runas_uid\$" "$body"
	"$CLIENT" -q -n 10 "$S" SCRIPT_FILENAME="$W/t.cgi" SCRIPT_NAME=/t.cgi >/dev/null 2>"$T/fw-load.err"
	expect_eq "fcgiwrap: 10 requests all answered" "requests=10 ok=10 failed=0" "$(tail -n 1 "$T/fw-load.err")"
	run_spawn --probe "$S"
	expect_eq "fcgiwrap: --probe answers" 0 "$RC"
	echo "# fcgiwrap --probe: $(printf '%s' "$OUT$ERR" | tr '\n' ' ')"
	if have cgi-fcgi; then
		out=$(timeout 10 env -i SCRIPT_FILENAME="$W/t.cgi" SCRIPT_NAME=/t.cgi REQUEST_METHOD=GET \
			QUERY_STRING=e=5 GATEWAY_INTERFACE=CGI/1.1 SERVER_PROTOCOL=HTTP/1.1 \
			cgi-fcgi -bind -connect "$S" 2>/dev/null)
		expect_match "cgi-fcgi -> fcgiwrap: the CGI script answers" '^query=e=5' "$out"
	else
		skip "cgi-fcgi against fcgiwrap (libfcgi-bin not installed)"
	fi
	stop $PIDS
	check "fcgiwrap: stopped by SIGTERM" all_dead $PIDS
	rm -f "$S"
else
	skip "fcgiwrap running a CGI script (fcgiwrap not installed)"
fi

# ---------------------------------------------------------------------------
# php-cgi and fcgiwrap behind the real systemd-socket-activate: it binds the
# socket, starts spawn on the first connection, and spawn hands the socket
# to the peer's children as fd 0.
act_peer() {
	_peer=$1
	shift
	S=$T/act-$_peer.sock
	systemd-socket-activate -l "$S" "$SPAWN" -w -F 2 $uargs --check -- "$_peer" \
		>"$T/act-$_peer.out" 2>"$T/act-$_peer.err" &
	ap=$!
	track "$ap"
	# Not just the socket file (it shows at bind(), and a connect before
	# listen() is refused): systemd-socket-activate logs this after listen().
	wait_until 5 grep -q '^Listening on' "$T/act-$_peer.err"
	# The first request starts spawn and waits in the backlog meanwhile.
	body=$("$CLIENT" -t 10000 "$S" "$@" 2>"$T/act-$_peer.cerr")
	printf '%s\n' "$body"
	if [ -z "$body" ]; then
		diag "no answer: client:" "$(cat "$T/act-$_peer.cerr")"
		diag "activator and spawn:" "$(cat "$T/act-$_peer.err" "$T/act-$_peer.out")"
	fi
	wait_until 5 children_ge "$ap" 2
	# The SIGTERM below is a stop, not an interrupted start, once spawn
	# has verified (--check) both children and said so.
	wait_for 10 'test "$(spawned "$T/act-$_peer.out")" -eq 2'
	kids=$(children_of "$ap")
	expect_eq "activation, $_peer: spawn runs in the activator's pid with 2 children" 2 "$(printf '%s\n' $kids | grep -c .)"
	for _k in $kids; do
		expect_eq "activation, $_peer: child $_k has the activated socket on fd 0" "$(readlink /proc/$ap/fd/3)" "$(fd0_of "$_k")"
		check "activation, $_peer: child $_k has no LISTEN_* variables" test -z "$(tr '\0' '\n' <"/proc/$_k/environ" | grep '^LISTEN_')"
	done
	kill "$ap"
	wait_until 10 dead "$ap"
	wait "$ap"
	expect_eq "activation, $_peer: SIGTERM stops it, exit 0" 0 "$?"
	check "activation, $_peer: the socket systemd made is never removed" test -S "$S"
	rm -f "$S"
}
if ! have systemd-socket-activate; then
	skip "php-cgi and fcgiwrap behind systemd-socket-activate (systemd not installed)"
else
	if have php-cgi; then
		out=$(act_peer php-cgi $PHPREQ QUERY_STRING=act=1)
		printf '%s\n' "$out" | grep -E '^(ok|not ok|skip|#) '
		expect_match "activation, php-cgi: the first request is answered" '^php says 42$' "$out"
	else
		skip "php-cgi behind systemd-socket-activate (php-cgi not installed)"
	fi
	if have fcgiwrap; then
		out=$(act_peer fcgiwrap SCRIPT_FILENAME="$W/t.cgi" SCRIPT_NAME=/t.cgi QUERY_STRING=act=2)
		printf '%s\n' "$out" | grep -E '^(ok|not ok|skip|#) '
		expect_match "activation, fcgiwrap: the first request is answered" '^query=act=2$' "$out"
	else
		skip "fcgiwrap behind systemd-socket-activate (fcgiwrap not installed)"
	fi
fi
