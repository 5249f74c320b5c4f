# Hostile environments (issue 9), part 2 (see t-hostile.sh): progress
# lines on a stdout that nobody reads, or that is closed at once, never
# hang a start and never kill it.
. "$(dirname "$0")/lib.sh"

R=$T/r
S=$T/s.sock
mkdir -p "$R"
chmod 777 "$R"
umask 022

# --- Progress lines never hang a start, and never kill it: stdout a pipe
# nobody reads (shrunk to 4 KiB so that 200 lines overflow it), or a
# pipe whose reader is already gone. The pids are all in the pid file;
# one note on stderr says what was dropped; exit 0.
if have python3; then
	# pipe_run MODE ERRFILE CMD...: CMD with stdout a pipe that is either
	# never read (full) or already closed (closed); prints its exit status
	# or "timeout" after 30 s (and kills it).
	pipe_run() {
		python3 -c 'import fcntl, os, subprocess, sys
r, w = os.pipe()
if sys.argv[1] == "full":
    fcntl.fcntl(w, 1031, 4096)  # F_SETPIPE_SZ
else:
    os.close(r)
p = subprocess.Popen(sys.argv[3:], stdin=subprocess.DEVNULL, stdout=w,
                     stderr=open(sys.argv[2], "w"))
os.close(w)
try:
    print(p.wait(timeout=30))
except subprocess.TimeoutExpired:
    p.kill()
    p.wait()
    print("timeout")' "$@"
	}
	RC=$(pipe_run full "$T/.err" "$SPAWN" -s "$S" -F 200 -P "$T/full.pid" -- "$PROBE" --sleep)
	expect_eq "stdout never read, -F 200: spawn exits 0, no hang" 0 "$RC"
	expect_eq "stdout never read: one note on stderr" "spawn: stdout: not read for 1 s: N of 200 progress lines not written" "$(sed 's/: [0-9][0-9]* of/: N of/' "$T/.err")"
	expect_eq "stdout never read: the pid file has all 200 pids" 200 "$(grep -c . "$T/full.pid" 2>/dev/null)"
	alive_pids() { for _p in "$@"; do alive "$_p" && echo "$_p"; done; }
	expect_eq "stdout never read: all 200 children run" 200 "$(alive_pids $(cat "$T/full.pid") | wc -l)"
	stop $(cat "$T/full.pid"); rm -f "$S"
	RC=$(pipe_run closed "$T/.err" "$SPAWN" -s "$S" -F 8 -P "$T/closed.pid" -- "$PROBE" --sleep)
	expect_eq "stdout closed at once (spawn | true), -F 8: exit 0, no SIGPIPE death" 0 "$RC"
	expect_eq "stdout closed at once: one note on stderr" "spawn: stdout: Broken pipe: 8 of 8 progress lines not written" "$(cat "$T/.err")"
	expect_eq "stdout closed at once: all 8 children run" 8 "$(alive_pids $(cat "$T/closed.pid") | wc -l)"
	stop $(cat "$T/closed.pid"); rm -f "$S"
	# The case from the issue: -F 4096, stdout a FIFO whose reader never
	# reads (64 KiB of pipe hold about 1400 of the 4096 lines).
	mkfifo "$T/fifo"
	sleep 120 <"$T/fifo" &
	reader=$!
	track "$reader"
	"$SPAWN" -s "$S" -F 4096 -P "$T/4096.pid" -- "$PROBE" --sleep >"$T/fifo" 2>"$T/.err" </dev/null &
	SP=$!
	track "$SP"
	finish 60
	expect_eq "-F 4096, stdout a FIFO nobody reads: spawn exits 0, no hang" 0 "$RC"
	expect_eq "-F 4096, stdout never read: one note on stderr" "spawn: stdout: not read for 1 s: N of 4096 progress lines not written" "$(sed 's/: [0-9][0-9]* of/: N of/' "$T/.err")"
	expect_eq "-F 4096, stdout never read: 4096 pids in the pid file" 4096 "$(grep -c . "$T/4096.pid" 2>/dev/null)"
	# running FILE: how many of the pids in FILE are alive, in one pass.
	running() { sed 's|.*|/proc/&/stat|' "$1" | xargs cat 2>/dev/null | awk '{ sub(/.*\) /, ""); if ($1 != "Z" && $1 != "X") n++ } END { print n + 0 }'; }
	expect_eq "-F 4096, stdout never read: all 4096 children run" 4096 "$(running "$T/4096.pid")"
	kill -KILL $(cat "$T/4096.pid") 2>/dev/null
	kill "$reader"
	check "-F 4096: the children are gone" wait_for 20 'test "$(running "$T/4096.pid")" -eq 0'
	rm -f "$S"
	# The same with -w: spawn stays and supervises; it still stops cleanly.
	pipe_run closed "$T/w.err" "$SPAWN" -w -s "$S" -F 2 -P "$T/w.pid" -- "$PROBE" --sleep >"$T/w.rc" &
	track $!
	wait_for 10 'test -s "$T/w.pid" && grep -q "progress lines" "$T/w.err"'
	expect_eq "-w, stdout closed at once: the note" "spawn: stdout: Broken pipe: 2 of 2 progress lines not written" "$(cat "$T/w.err")"
	kill "$(cat "$T/w.pid")"
	wait_for 10 'test -s "$T/w.rc"'
	expect_eq "-w, stdout closed at once: SIGTERM stops it, exit 0" 0 "$(cat "$T/w.rc")"
	check "-w, stdout closed at once: socket removed" sock_gone "$S"
else
	skip "progress lines on a pipe nobody reads (python3 not installed)"
fi
