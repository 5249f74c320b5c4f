# The CGI script of t-cgi.sh, run as "rep /bin/sh modes.sh": the request's
# T_MODE parameter picks what it does, so one running bridge serves every
# case. T_DIR is where it leaves files for the test, T_TAG names them.
# Files: $T_DIR/$T_TAG.$$.child holds the pid of a background child (it
# shares the script's process group and holds its stdout), and
# $T_DIR/run.$$ exists while a "slow" script runs.
here=${T_DIR:-/tmp}/${T_TAG:-x}.$$

ct() { printf 'Content-Type: text/plain\r\n\r\n'; }

# A child in the background, for the "the whole group ends" tests.
bg_child() {
	sleep 3600 &
	echo $! >"$here.child.tmp"
	mv "$here.child.tmp" "$here.child"
}

case ${T_MODE:-hello} in
hello)
	ct
	printf 'hello %s\n' "$QUERY_STRING" ;;
lf)
	printf 'Content-Type: text/plain\n\nlf body\n' ;;
crlf)
	printf 'Content-Type: text/plain\r\nX-A: 1\r\n\r\ncrlf body\n' ;;
location)
	printf 'Location: /elsewhere\n\n' ;;
status)
	printf 'Status: 404 Not Here\n\n' ;;
nph)
	printf 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nnph body\n' ;;
noheader)
	printf 'no header block here\n' ;;
nocontent)
	# A header block, but neither Content-Type, Location nor Status.
	printf 'X-Only: 1\n\nbody\n' ;;
empty)
	: ;;
bighead)
	# T_PAD lines of 1000 bytes after Content-Type.
	printf 'Content-Type: text/plain\n'
	pad=$(printf '%0990d' 0)
	i=0
	while [ "$i" -lt "${T_PAD:-20}" ]; do
		printf 'X-Pad-%03d: %s\n' "$i" "$pad"
		i=$((i + 1))
	done
	printf '\nbig head body\n' ;;
stderronly)
	echo 'oops on stderr' >&2 ;;
stderr)
	echo 'a warning on stderr' >&2
	ct
	echo 'body after stderr' ;;
exit3)
	ct
	echo 'exiting 3'
	exit 3 ;;
kill9)
	ct
	echo 'killing myself'
	kill -KILL $$ ;;
segv)
	ct
	echo 'segfaulting'
	kill -SEGV $$ ;;
echo)
	printf 'Content-Type: application/octet-stream\r\n\r\n'
	exec cat ;;
noread)
	# Answers at once and never reads its stdin.
	ct
	echo 'early' ;;
file)
	printf 'Content-Type: application/octet-stream\r\n\r\n'
	exec cat "$T_FILE" ;;
slow)
	: >"$T_DIR/run.$$"
	running=$(ls "$T_DIR" | grep -c '^run\.')
	sleep "${T_SLEEP:-1}"
	rm -f "$T_DIR/run.$$"
	ct
	echo "slow done; running=$running" ;;
sleep)
	# Never answers; "wait" keeps the shell as the script's process.
	cat >/dev/null
	bg_child
	wait ;;
ignoreterm)
	trap '' TERM
	cat >/dev/null
	bg_child
	wait ;;
midbody)
	# Still reading the body when the client goes away.
	bg_child
	cat >/dev/null
	ct
	echo 'read it all' ;;
stream)
	# Writes for ever; only the end of the request stops it.
	bg_child
	ct
	cat /dev/zero ;;
*)
	printf 'Status: 400 Bad Request\nContent-Type: text/plain\n\n'
	echo "unknown T_MODE $T_MODE" ;;
esac
