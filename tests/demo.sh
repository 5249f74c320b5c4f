#!/bin/sh
# make demo: start a small bundled FastCGI app (tests/probe) with spawn on a
# unix socket, send it real requests, probe it, stop it; then run a plain
# shell CGI script behind the CGI bridge (--cgi) the same way. Needs nothing
# but a C compiler; leaves nothing behind.
set -eu
TOP=$(cd "$(dirname "$0")/.." && pwd)
D=$(mktemp -d /tmp/spawn-demo.XXXXXX)
trap 'for p in $(cat "$D/pids" 2>/dev/null); do kill "$p" 2>/dev/null || :; done; rm -rf "$D"' EXIT
cd "$TOP"

say() { printf '\n$ %s\n' "$*"; }

say ./spawn -s "$D/app.sock" -F 2 -P "$D/pids" -- tests/probe --serve
./spawn -s "$D/app.sock" -F 2 -P "$D/pids" -- tests/probe --serve

for q in first second third; do
	say tests/fcgiclient "$D/app.sock" QUERY_STRING=$q
	tests/fcgiclient "$D/app.sock" QUERY_STRING=$q
done

say ./spawn --probe "$D/app.sock"
./spawn --probe "$D/app.sock"

say tests/fcgiclient -n 200 -q "$D/app.sock"
tests/fcgiclient -n 200 -q "$D/app.sock"

say kill '$(cat pids)'
for p in $(cat "$D/pids"); do kill "$p"; done
i=0
while [ $i -lt 100 ] && ./spawn --probe "$D/app.sock" --check-timeout 100 >/dev/null 2>&1; do
	sleep 0.05
	i=$((i + 1))
done
say ./spawn --probe "$D/app.sock"
./spawn --probe "$D/app.sock" || echo "(exit $?: the app is stopped)"

# The CGI bridge: a shell script, no FastCGI in it, served by spawn's own
# workers.
cat >"$D/hello.cgi" <<'CGI'
#!/bin/sh
printf 'Content-Type: text/plain\r\n\r\n'
echo "hello from a CGI script, pid $$, query '$QUERY_STRING'"
CGI
chmod 755 "$D/hello.cgi"
say ./spawn --cgi -s "$D/cgi.sock" -F 2 -P "$D/cgipids" -- "$D/hello.cgi"
./spawn --cgi -s "$D/cgi.sock" -F 2 -P "$D/cgipids" -- "$D/hello.cgi"
cat "$D/cgipids" >>"$D/pids"
for q in one two; do
	say tests/fcgiclient "$D/cgi.sock" QUERY_STRING=$q
	tests/fcgiclient "$D/cgi.sock" QUERY_STRING=$q
done
say tests/fcgiclient -n 200 -q "$D/cgi.sock"
tests/fcgiclient -n 200 -q "$D/cgi.sock"
say kill '$(cat cgipids)'
for p in $(cat "$D/cgipids"); do kill "$p"; done
