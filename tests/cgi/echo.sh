#!/bin/sh
# A CGI script for tests/t-cgi-peers.sh: what it was asked, as response
# headers written before it reads anything, then its request body echoed
# back as the response body. With QUERY_STRING "slurp" it reads the whole
# body first, as a script that answers after its input does.
if [ "$QUERY_STRING" = slurp ]; then
	tmp=$(mktemp) || exit 1
	cat >"$tmp"
	exec <"$tmp"
	rm -f "$tmp"
fi
printf 'Content-Type: application/octet-stream\r\n'
printf 'X-Method: %s\r\n' "$REQUEST_METHOD"
printf 'X-Query: %s\r\n' "$QUERY_STRING"
printf 'X-Length: %s\r\n' "$CONTENT_LENGTH"
printf 'X-Path-Info: %s\r\n' "$PATH_INFO"
printf 'X-Uid: %s\r\n' "$(id -u)"
printf 'X-Cwd: %s\r\n' "$(pwd)"
printf '\r\n'
exec cat
