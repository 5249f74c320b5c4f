# The CGI bridge (spawn --cgi, --cgi-dir) behind a real nginx, with real
# CGI programs behind it: git-http-backend (asked by a real git clone, push
# and ls-remote), cgit, and the shell and C programs of tests/cgi. nginx
# runs examples/nginx-git.conf and examples/nginx-cgit.conf as they are,
# with only their paths and ports moved into the temporary directory, so
# that the configurations the README shows are the ones tested here.
. "$(dirname "$0")/lib.sh"

umask 022
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY ALL_PROXY all_proxy no_proxy NO_PROXY
unset GIT_DIR GIT_WORK_TREE GIT_PROTOCOL
# git and the commits it makes see only this file's configuration.
mkdir -p "$T/home"
export HOME="$T/home" GIT_CONFIG_NOSYSTEM=1 GIT_TERMINAL_PROMPT=0
export GIT_AUTHOR_NAME=tester GIT_AUTHOR_EMAIL=tester@example.org
export GIT_COMMITTER_NAME=tester GIT_COMMITTER_EMAIL=tester@example.org

N=$T/nginx
G=$T/git
GIT_BACKEND=/usr/lib/git-core/git-http-backend
CGIT=/usr/lib/cgit/cgit.cgi
CC=${CC:-cc}
PART_FAILED=0

# A failure also marks its part, which then shows nginx's and spawn's logs.
not_ok() { echo "not ok - $*"; PART_FAILED=1; }

if ! is_root; then
	skip "the CGI bridge behind nginx: needs root (nginx, -u nobody)"
	exit 0
fi
if ! "$SPAWN" --help 2>&1 | grep -q -- '--cgi'; then
	not_ok "spawn --help lists --cgi (the bridge is not built in)"
	exit 0
fi
if ! have nginx || ! have curl; then
	have nginx || skip "the CGI bridge behind nginx: nginx not installed"
	have curl || skip "the CGI bridge behind nginx: curl not installed"
	exit 0
fi

# The scripts run as nobody; nginx's workers as the web server's user,
# who may use the sockets through their group.
RUNAS=nobody
RUNAS_UID=$(id -u "$RUNAS")
if id www-data >/dev/null 2>&1; then WEBUSER=www-data; else WEBUSER=nobody; fi
WEBGROUP=$(id -gn "$WEBUSER")

# Ports: free_port (lib.sh), the kernel's pick for port 0; start_nginx
# picks again when one was taken before nginx could bind it.

# site EXAMPLE PORT: the example with its paths and port moved into $T;
# nothing else changes.
site() {
	sed -e "s|listen 80;|listen 127.0.0.1:$2;|" \
	    -e "s|/run/spawn-git.sock|$T/git.sock|" \
	    -e "s|/run/spawn-cgi.sock|$T/cgi.sock|" \
	    -e "s|/run/spawn-cgit.sock|$T/cgit.sock|" \
	    -e "s|/etc/nginx/git.htpasswd|$T/git.htpasswd|" \
	    -e "s|/srv/git;|$G;|" \
	    -e "s|root /usr/lib;|root $T;|" \
	    -e "s|/etc/cgitrc;|$T/cgitrc;|" \
	    "$TOP/examples/$1"
}

# The main configuration is the test's own: what Debian's nginx.conf holds
# around conf.d/, with the logs, pid and temporary files in $N. The access
# log shows each request's size, for the push below.
nginx_conf() {
	site nginx-git.conf "$GPORT" >"$N/git.conf"
	site nginx-cgit.conf "$CPORT" >"$N/cgit.conf"
	cat >"$N/conf" <<EOF
user $WEBUSER $WEBGROUP;
worker_processes 1;
pid $N/nginx.pid;
error_log $N/error.log info;
events { worker_connections 64; }
http {
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    log_format sizes '\$request_method \$uri \$status \$request_length \$body_bytes_sent';
    access_log $N/access.log sizes;
    client_body_temp_path $N/body;
    fastcgi_temp_path $N/fastcgi;
    proxy_temp_path $N/proxy;
    uwsgi_temp_path $N/uwsgi;
    scgi_temp_path $N/scgi;
    include $N/git.conf;
    include $N/cgit.conf;
}
EOF
}

http_up() {
	curl -s -o /dev/null -m 1 "http://127.0.0.1:$GPORT/" &&
	    curl -s -o /dev/null -m 1 "http://127.0.0.1:$CPORT/cgit.css"
}

# start_nginx: nginx in the foreground on GPORT and CPORT; a port taken
# between our pick and nginx's bind is retried with new ones.
start_nginx() {
	_try=0
	while [ $_try -lt 5 ]; do
		_try=$((_try + 1))
		if [ $_try -gt 1 ] || [ "$GPORT" = "$CPORT" ]; then
			GPORT=$(free_port)
			CPORT=$(free_port)
			[ "$GPORT" != "$CPORT" ] || continue
			nginx_conf
		fi
		nginx -p "$N/" -c conf -e "$N/error.log" -g 'daemon off;' \
		    >"$N/out.log" 2>&1 </dev/null &
		NGPID=$!
		track "$NGPID"
		wait_for 10 'http_up || dead $NGPID'
		if alive "$NGPID" && http_up; then
			NGWORKERS=$(children_of "$NGPID")
			track $NGWORKERS
			return 0
		fi
		kill "$NGPID" 2>/dev/null
		wait_until 5 dead "$NGPID"
	done
	return 1
}

bridge_up() { test -S "$T/$1.sock" && [ "$(printf '%s\n' $BWORKERS | grep -c .)" -eq 2 ]; }

# start_bridge NAME ARGS...: spawn -w with 2 workers on $T/NAME.sock in
# the background; BPID is spawn, BWORKERS its workers.
start_bridge() {
	_n=$1
	shift
	rm -f "$T/$_n.sock"
	"$SPAWN" -w -s "$T/$_n.sock" -M 0660 -u "$RUNAS" -G "$WEBGROUP" -F 2 \
	    --stop-timeout 5 "$@" \
	    >"$T/$_n.out" 2>"$T/$_n.err" </dev/null &
	BPID=$!
	track "$BPID"
	wait_for 10 '[ "$(children_of $BPID | grep -c .)" -ge 2 ] || dead $BPID'
	BWORKERS=$(children_of "$BPID")
	track $BWORKERS
	check "spawn $(label "$@"): socket and 2 workers" bridge_up "$_n"
}

# stop_bridge NAME: SIGTERM to spawn ends it, its workers and their CGI
# processes. Nothing is in flight, so the workers need no grace period.
stop_bridge() {
	_all="$BPID $BWORKERS"
	for _w in $BWORKERS; do _all="$_all $(children_of "$_w")"; done
	kill "$BPID"
	wait_until 3 all_dead $BWORKERS
	check "spawn --cgi ($1): idle workers exit within 3 s of SIGTERM" all_dead $BWORKERS
	wait_until 10 all_dead $_all
	check "spawn --cgi ($1): SIGTERM ends spawn, workers and scripts" all_dead $_all
	wait "$BPID"
	expect_eq "spawn --cgi ($1): exit 0 after SIGTERM" 0 "$?"
}

# mark_log: the parts below look only at what nginx logs after this.
mark_log() { LOGMARK=$(wc -l <"$N/error.log"); }
new_log() { tail -n +$((LOGMARK + 1)) "$N/error.log"; }
# no_upstream_errors: nginx had no trouble with the bridge since mark_log.
no_upstream_errors() { test -z "$(new_log | grep -E 'upstream|\[(error|crit|alert|emerg)\]')"; }

# show_logs NAME: nginx's error log and spawn's stderr, after a failure.
show_logs() {
	[ "$PART_FAILED" = 1 ] || return 0
	echo "# nginx error.log:"
	new_log | grep -E '\[(warn|error|crit|alert|emerg)\]' | tail -n 20 | sed 's/^/#   /'
	echo "# spawn stderr ($1):"
	tail -n 20 "$T/$1.err" 2>/dev/null | sed 's/^/#   /'
	PART_FAILED=0
}

# ---------------------------------------------------------------------------
# nginx, on the two example sites.
mkdir -p "$N"
GPORT=$(free_port)
CPORT=$(free_port)
nginx_conf
nginx -t -p "$N/" -c conf -e "$N/error.log" >"$N/t.log" 2>&1
expect_eq "nginx -t accepts examples/nginx-git.conf and examples/nginx-cgit.conf" 0 "$?"
grep -q 'test is successful' "$N/t.log" || sed 's/^/#   /' "$N/t.log"
if ! start_nginx; then
	not_ok "nginx starts on the example configurations"
	sed 's/^/#   /' "$N/error.log" "$N/out.log" 2>/dev/null | tail -n 20
	exit 0
fi
ok "nginx starts on the example configurations (ports $GPORT, $CPORT)"
GURL=http://127.0.0.1:$GPORT
CURL_=http://127.0.0.1:$CPORT

# ---------------------------------------------------------------------------
# 1. git clone, git push and git ls-remote through git-http-backend.
HAVE_REPO=0
if ! have git || [ ! -x "$GIT_BACKEND" ]; then
	skip "git over HTTP through spawn --cgi (git or git-http-backend not installed)"
else
	g() { timeout 60 git "$@"; }
	# The served repository: one commit, owned by the scripts' user, so
	# that git-http-backend may write pushes into it and git finds its
	# owner safe.
	mkdir -p "$G" "$T/seed"
	g init -q --bare -b main "$G/repo.git"
	g init -q -b main "$T/seed"
	printf 'hello from the seed\nsecond line\n' >"$T/seed/README"
	g -C "$T/seed" add README
	g -C "$T/seed" commit -q -m 'first commit: hello from spawn'
	SEED=$(g -C "$T/seed" rev-parse HEAD)
	g -C "$T/seed" push -q "$G/repo.git" main
	chown -R "$RUNAS:" "$G"
	HAVE_REPO=1
	# The push user, in a password file nginx reads.
	echo 'alice:{PLAIN}s3cret' >"$T/git.htpasswd"
	chmod 644 "$T/git.htpasswd"

	mark_log
	start_bridge git --cgi -- "$GIT_BACKEND"
	URL=$GURL/git/repo.git
	PUSHURL=http://alice:s3cret@127.0.0.1:$GPORT/git/repo.git

	out=$(g ls-remote "$URL" 2>"$T/ls.err")
	expect_match "git ls-remote: lists main at the seed commit" "^$SEED	refs/heads/main\$" "$out"
	expect_match "git ls-remote: lists HEAD" "^$SEED	HEAD\$" "$out"
	out=$(GIT_TRACE_PACKET="$T/ls2.trace" g -c protocol.version=2 ls-remote "$URL" 2>"$T/ls2.err")
	expect_match "git -c protocol.version=2 ls-remote: lists main" "^$SEED	refs/heads/main\$" "$out"
	check "git -c protocol.version=2 ls-remote: the server speaks version 2" \
	    grep -q 'git< version 2' "$T/ls2.trace"
	out=$(GIT_TRACE_PACKET="$T/ls0.trace" g -c protocol.version=0 ls-remote "$URL" 2>"$T/ls0.err")
	expect_match "git -c protocol.version=0 ls-remote: lists main" "^$SEED	refs/heads/main\$" "$out"
	check "git -c protocol.version=0 ls-remote: the server speaks version 0" \
	    grep -q 'git< .* refs/heads/main' "$T/ls0.trace"
	check "git -c protocol.version=0 ls-remote: not version 2" \
	    test -z "$(grep 'git< version 2' "$T/ls0.trace")"

	g clone -q "$URL" "$T/c1" 2>"$T/c1.err"
	expect_eq "git clone: exit 0" 0 "$?"
	expect_eq "git clone: HEAD is the seed commit" "$SEED" "$(g -C "$T/c1" rev-parse HEAD 2>&1)"
	expect_eq "git clone: README as committed" "$(cat "$T/seed/README")" "$(cat "$T/c1/README" 2>&1)"
	g -c protocol.version=2 clone -q "$URL" "$T/c2" 2>"$T/c2.err"
	expect_eq "git -c protocol.version=2 clone: exit 0" 0 "$?"
	expect_eq "git -c protocol.version=2 clone: HEAD is the seed commit" "$SEED" "$(g -C "$T/c2" rev-parse HEAD 2>&1)"
	g -c protocol.version=0 clone -q "$URL" "$T/c0" 2>"$T/c0.err"
	expect_eq "git -c protocol.version=0 clone: exit 0" 0 "$?"
	expect_eq "git -c protocol.version=0 clone: HEAD is the seed commit" "$SEED" "$(g -C "$T/c0" rev-parse HEAD 2>&1)"

	# A push of a pack of about 3 MB of random data: the request body is
	# far larger than what the bridge holds back of the script's output.
	head -c 3000000 /dev/urandom >"$T/c1/big.bin"
	BIGSUM=$(cksum <"$T/c1/big.bin")
	g -C "$T/c1" add big.bin
	g -C "$T/c1" commit -q -m 'second commit: 3 MB of random data'
	BIG=$(g -C "$T/c1" rev-parse HEAD)

	# Anonymous: the example asks for a user, and nothing changes.
	g -C "$T/c1" push -q "$URL" main >"$T/anon.out" 2>&1
	check "git push without a user: refused" test $? -ne 0
	check "git push without a user: nginx answered 401" \
	    grep -q '^GET /git/repo.git/info/refs 401 ' "$N/access.log"
	expect_eq "git push without a user: the repository's main is unchanged" \
	    "$SEED" "$(g --git-dir="$G/repo.git" rev-parse main 2>&1)"

	g -C "$T/c1" push -q "$PUSHURL" main >"$T/push.out" 2>&1
	rc=$?
	expect_eq "git push of a 3 MB pack: exit 0" 0 "$rc"
	[ "$rc" = 0 ] || sed 's/^/#   /' "$T/push.out"
	expect_eq "git push of a 3 MB pack: the repository's main is the new commit" \
	    "$BIG" "$(g --git-dir="$G/repo.git" rev-parse main 2>&1)"
	size=$(awk '$1 == "POST" && $2 == "/git/repo.git/git-receive-pack" && $3 == 200 { print $4 }' "$N/access.log" | sort -n | tail -n 1)
	check "git push of a 3 MB pack: nginx passed on a request body over 2 MB (${size:-none})" \
	    test "${size:-0}" -gt 2000000
	check "git push of a 3 MB pack: the objects were written by $RUNAS" \
	    test -z "$(find "$G/repo.git/objects" ! -user "$RUNAS")"

	# A second push with protocol version 2 asked for.
	echo third >"$T/c1/third.txt"
	g -C "$T/c1" add third.txt
	g -C "$T/c1" commit -q -m 'third commit'
	THIRD=$(g -C "$T/c1" rev-parse HEAD)
	g -C "$T/c1" -c protocol.version=2 push -q "$PUSHURL" main >"$T/push2.out" 2>&1
	expect_eq "git -c protocol.version=2 push: exit 0" 0 "$?"
	expect_eq "git -c protocol.version=2 push: the repository's main is the new commit" \
	    "$THIRD" "$(g --git-dir="$G/repo.git" rev-parse main 2>&1)"

	for v in default 2; do
		d=$T/fresh-$v
		if [ $v = default ]; then
			g clone -q "$URL" "$d" 2>"$d.err"
		else
			g -c protocol.version=$v clone -q "$URL" "$d" 2>"$d.err"
		fi
		expect_eq "git clone after the pushes ($v protocol): exit 0" 0 "$?"
		expect_eq "git clone after the pushes ($v protocol): HEAD is the pushed commit" \
		    "$THIRD" "$(g -C "$d" rev-parse HEAD 2>&1)"
		expect_eq "git clone after the pushes ($v protocol): big.bin has the pushed checksum" \
		    "$BIGSUM" "$(cksum <"$d/big.bin" 2>&1)"
		expect_eq "git clone after the pushes ($v protocol): the history" \
		    "$THIRD $BIG $SEED" "$(g -C "$d" log --format=%H | tr '\n' ' ' | sed 's/ $//')"
	done
	out=$(g ls-remote "$URL" 2>&1)
	expect_match "git ls-remote after the pushes: main is the pushed commit" "^$THIRD	refs/heads/main\$" "$out"
	check "git: nginx logged no upstream error" no_upstream_errors

	stop_bridge git
	show_logs git
fi

# ---------------------------------------------------------------------------
# 2. cgit, on the same repository.
if [ ! -x "$CGIT" ]; then
	skip "cgit through spawn --cgi (cgit not installed)"
elif [ "$HAVE_REPO" != 1 ]; then
	skip "cgit through spawn --cgi (git not installed: no repository to show)"
else
	cat >"$T/cgitrc" <<EOF
css=/cgit.css
logo=/cgit.png
virtual-root=/
repo.url=repo
repo.path=$G/repo.git
repo.desc=the spawn test repository
EOF
	chmod 644 "$T/cgitrc"
	mark_log
	start_bridge cgit --cgi -- "$CGIT"
	get() { curl -s --max-time 30 -o "$T/page" -w '%{http_code}' "$CURL_$1"; }

	code=$(get /)
	expect_eq "cgit index: HTTP 200" 200 "$code"
	check "cgit index: lists the repository with its description" \
	    grep -q 'the spawn test repository' "$T/page"
	check "cgit index: links to the repository" grep -q "href='/repo/'" "$T/page"
	code=$(get /repo/log/)
	expect_eq "cgit log: HTTP 200" 200 "$code"
	check "cgit log: shows the first commit's subject" grep -q 'first commit: hello from spawn' "$T/page"
	check "cgit log: shows the pushed commit's subject" grep -q 'second commit: 3 MB of random data' "$T/page"
	code=$(get /repo/tree/README)
	expect_eq "cgit tree/README: HTTP 200" 200 "$code"
	check "cgit tree/README: shows the file's content" grep -q 'hello from the seed' "$T/page"
	code=$(get /repo/plain/README)
	expect_eq "cgit plain/README: HTTP 200" 200 "$code"
	check "cgit plain/README: the file byte for byte" cmp -s "$T/seed/README" "$T/page"
	code=$(get /repo/plain/big.bin)
	expect_eq "cgit plain/big.bin: HTTP 200" 200 "$code"
	expect_eq "cgit plain/big.bin: 3 MB streamed whole" "$BIGSUM" "$(cksum <"$T/page")"
	code=$(get /cgit.css)
	expect_eq "cgit.css: HTTP 200" 200 "$code"
	check "cgit.css: nginx serves it from /usr/share/cgit" cmp -s /usr/share/cgit/cgit.css "$T/page"
	code=$(get /nosuchrepo/log/)
	expect_eq "cgit: an unknown repository is cgit's 404" 404 "$code"
	check "cgit: nginx logged no upstream error" no_upstream_errors

	stop_bridge cgit
	show_logs cgit
fi

# ---------------------------------------------------------------------------
# 3. A cgi-bin: a shell script and a C program, through spawn --cgi-dir.
B=$T/cgi-bin
mkdir -p "$B" "$T/outside"
cp "$TOP/tests/cgi/echo.sh" "$B/echo.sh"
chmod 755 "$B/echo.sh"
ln -s echo.sh "$B/alias.cgi"
printf 'Content-Type: text/plain\n\nnot a program\n' >"$B/plain.txt"
chmod 644 "$B/plain.txt"
mkdir "$B/sub"
# A program outside the directory writes a mark when it runs.
printf '#!/bin/sh\n: >%s/ran\nprintf "Content-Type: text/plain\\n\\nran outside\\n"\n' "$T/outside" >"$T/outside/out.cgi"
chmod 755 "$T/outside/out.cgi"
chmod 777 "$T/outside"
ln -s "$T/outside/out.cgi" "$B/out.cgi"
HAVE_CC=0
if have "$CC" && "$CC" -o "$B/sum.cgi" "$TOP/tests/cgi/sum.c" 2>"$T/cc.err"; then
	HAVE_CC=1
fi
head -c 300000 /dev/urandom >"$T/body"
BODYSUM=$(cksum <"$T/body")

mark_log
start_bridge cgi --cgi-dir "$B"
req() { curl -s --max-time 30 -D "$T/head" -o "$T/page" -w '%{http_code}' "$@"; }
hdr() { sed -n "s/^$1: //p" "$T/head" | tr -d '\r'; }

code=$(req "$GURL/cgi-bin/echo.sh?a=1&b=two%20words")
expect_eq "cgi-bin echo.sh GET: HTTP 200" 200 "$code"
expect_eq "cgi-bin echo.sh GET: the method" GET "$(hdr X-Method)"
expect_eq "cgi-bin echo.sh GET: the query string" 'a=1&b=two%20words' "$(hdr X-Query)"
expect_eq "cgi-bin echo.sh GET: runs as $RUNAS" "$RUNAS_UID" "$(hdr X-Uid)"
expect_eq "cgi-bin echo.sh GET: runs in its own directory" "$B" "$(hdr X-Cwd)"
expect_eq "cgi-bin echo.sh GET: an empty body" 0 "$(wc -c <"$T/page")"
code=$(req "$GURL/cgi-bin/echo.sh/extra/path")
expect_eq "cgi-bin echo.sh/extra/path: HTTP 200" 200 "$code"
expect_eq "cgi-bin echo.sh/extra/path: PATH_INFO" /extra/path "$(hdr X-Path-Info)"
# The script writes its header before it reads, and its output keeps
# pace with its input: the bridge holds that output until the body is in,
# up to CGI_HOLD_MAX (64 KiB), so a 48 KB echo works behind nginx. Past
# the hold nginx itself drops the rest of a body once it has the response
# header (it closes the body's temporary file), so a larger body goes
# through a script that reads it before it answers (?slurp), as
# git-http-backend does with a pack.
head -c 48000 "$T/body" >"$T/small"
code=$(req --data-binary "@$T/small" "$GURL/cgi-bin/echo.sh?post=1")
expect_eq "cgi-bin echo.sh POST 48 KB: HTTP 200" 200 "$code"
expect_eq "cgi-bin echo.sh POST 48 KB: the body echoed whole" "$(cksum <"$T/small")" "$(cksum <"$T/page")"
code=$(req --data-binary "@$T/body" -H 'Content-Type: application/octet-stream' "$GURL/cgi-bin/echo.sh?slurp")
expect_eq "cgi-bin echo.sh POST 300 KB: HTTP 200" 200 "$code"
expect_eq "cgi-bin echo.sh POST 300 KB: CONTENT_LENGTH" 300000 "$(hdr X-Length)"
expect_eq "cgi-bin echo.sh POST 300 KB: the body echoed whole" "$BODYSUM" "$(cksum <"$T/page")"
code=$(req "$GURL/cgi-bin/alias.cgi?via=link")
expect_eq "cgi-bin alias.cgi (a link to echo.sh inside the directory): HTTP 200" 200 "$code"
expect_eq "cgi-bin alias.cgi: echo.sh ran" via=link "$(hdr X-Query)"

if [ "$HAVE_CC" = 1 ]; then
	code=$(req "$GURL/cgi-bin/sum.cgi?x=y")
	expect_eq "cgi-bin sum.cgi (C) GET: HTTP 200" 200 "$code"
	check "cgi-bin sum.cgi GET: the query string" grep -qx 'query=x=y' "$T/page"
	check "cgi-bin sum.cgi GET: an empty body" grep -qx 'cksum=4294967295 0' "$T/page"
	check "cgi-bin sum.cgi GET: runs in its own process group" grep -qx 'pgid_is_pid=yes' "$T/page"
	code=$(req --data-binary "@$T/body" "$GURL/cgi-bin/sum.cgi")
	expect_eq "cgi-bin sum.cgi POST 300 KB: HTTP 200" 200 "$code"
	check "cgi-bin sum.cgi POST 300 KB: the method" grep -qx 'method=POST' "$T/page"
	check "cgi-bin sum.cgi POST 300 KB: CONTENT_LENGTH" grep -qx 'content_length=300000' "$T/page"
	expect_eq "cgi-bin sum.cgi POST 300 KB: the program read the body whole" \
	    "cksum=$BODYSUM" "$(grep '^cksum=' "$T/page")"
	# Six at once on two workers.
	cpids=
	for i in 1 2 3 4 5 6; do
		curl -s --max-time 30 --data-binary "@$T/body" -o "$T/par.$i" "$GURL/cgi-bin/sum.cgi" &
		cpids="$cpids $!"
	done
	for p in $cpids; do wait "$p"; done
	n=0
	for i in 1 2 3 4 5 6; do grep -qx "cksum=$BODYSUM" "$T/par.$i" && n=$((n + 1)); done
	expect_eq "cgi-bin sum.cgi: 6 POSTs of 300 KB at once all read whole" 6 "$n"
else
	skip "cgi-bin C program (no C compiler $CC: $(head -n 1 "$T/cc.err" 2>/dev/null))"
fi

code=$(req "$GURL/cgi-bin/none.cgi")
expect_eq "cgi-bin: a missing script is 404" 404 "$code"
code=$(req "$GURL/cgi-bin/out.cgi")
expect_eq "cgi-bin: a link to a program outside the directory is 403" 403 "$code"
check "cgi-bin: the program outside the directory did not run" test ! -e "$T/outside/ran"
code=$(req "$GURL/cgi-bin/plain.txt")
expect_eq "cgi-bin: a file that is not executable is 403" 403 "$code"
check "cgi-bin: the file that is not executable was not sent" test -z "$(grep 'not a program' "$T/page")"
code=$(req "$GURL/cgi-bin/sub")
expect_eq "cgi-bin: a directory is 403" 403 "$code"
for s in none.cgi out.cgi plain.txt sub; do
	check "cgi-bin: spawn logs the refusal of $s" grep -q "^spawn: cgi: .*$s" "$T/cgi.err"
done

stop_bridge cgi
show_logs cgi

# ---------------------------------------------------------------------------
stop "$NGPID" $NGWORKERS
check "nginx: stopped by pid" all_dead "$NGPID" $NGWORKERS
left=
# One grep over every command line (its own, which names $T too, has
# ended before the loop looks at it).
for c in $(grep -lsF -- "$T" /proc/[0-9]*/cmdline); do
	p=${c#/proc/}
	p=${p%/cmdline}
	alive "$p" && left="$left $p"
done
expect_eq "nothing this file started is left running" "" "$left"
