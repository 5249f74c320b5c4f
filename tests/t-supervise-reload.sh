# Supervision (issue 3), part 2 (see t-supervise.sh): reloads (SIGHUP
# with -r) while a client keeps asking, failed and interrupted reloads,
# and the log lines of respawns and reloads.
. "$(dirname "$0")/lib.sh"

umask 022

# bg, up, finish, kids and the other helpers of these files are in lib.sh.

S=$T/s.sock
R=$T/w

# --- Reload: SIGHUP with -r replaces every child, one at a time, while a
# client keeps getting answers.
newdir "$R"
bg rl -r -F 3 --min-uptime 200 -s "$S" -- "$PROBE" --report "$R" --serve --delay 5
up rl 3
gen1=$(sorted_reports "$R")
ino=$(stat -c %i "$S")
sockid=$(rget "$R" "$(echo $gen1 | cut -d' ' -f1)" fd.0)
"$CLIENT" -d 4000 -q "$S" 2>"$T/client.err" &
cpid=$!
track "$cpid"
sample_kids "$SP" "$T/rl.samples"
# The load runs before the reload, so that it spans it: the first
# children have answered some of its requests (each probe notes them).
answered() { cat "$R"/*.requests 2>/dev/null | grep -c '^end$'; }
wait_for 5 'test "$(answered)" -ge 3'
kill -HUP "$SP"
wait_until 10 n_reports_is "$R" 6
wait_until 5 all_dead $gen1
gen2=$(sorted_reports "$R" | grep -vxF "$(printf '%s\n' $gen1)")
check "reload 1: the 3 old children are dead" all_dead $gen1
expect_eq "reload 1: 3 new children, spawn's own" "$(flat $gen2)" "$(flat $(kids "$SP"))"
kill -HUP "$SP"
wait_until 10 n_reports_is "$R" 9
wait_until 5 all_dead $gen2
gen3=$(sorted_reports "$R" | grep -vxF "$(printf '%s\n' $gen1 $gen2)")
check "reload 2: the 3 previous children are dead" all_dead $gen2
expect_eq "reload 2: 3 new children, spawn's own" "$(flat $gen3)" "$(flat $(kids "$SP"))"
check "reload: spawn itself is the same process" alive "$SP"
expect_eq "reload: the socket file is the same (inode)" "$ino" "$(stat -c %i "$S" 2>/dev/null)"
for p in $gen2 $gen3; do
	expect_eq "reload: child $p has the same listening socket" "$sockid" "$(rget "$R" "$p" fd.0)"
	expect_eq "reload: child $p has fds 0 1 2 only" 0,1,2 "$(rget "$R" "$p" fds)"
	expect_eq "reload: child $p blocks no signal" 0000000000000000 "$(rget "$R" "$p" sigblk)"
done
check "reload: SIGHUP was not forwarded to the children" none_have "$R" HUP $gen1 $gen2 $gen3
wait_until 10 dead "$cpid"
wait "$cpid"
crc=$?
cres=$(cat "$T/client.err")
expect_eq "reload: the client loop exits 0" 0 "$crc"
expect_match "reload: the client loop made requests" "requests=[1-9][0-9]* " "$cres"
expect_match "reload: no request failed during two reloads" "failed=0$" "$cres"
check "reload: at most F+1 children at once (max $(max_in "$T/rl.samples"))" test "$(max_in "$T/rl.samples")" -le 4
expect_eq "reload: the new child started before the old one stopped (F+1 seen)" 4 "$(max_in "$T/rl.samples")"
kill -TERM "$SP"
finish 10
end_sampler
expect_eq "reload: stopped afterwards: exit 0" 0 "$RC"
check "reload: socket removed" sock_gone "$S"

# A reload whose new child fails keeps the old ones; the next one works.
newdir "$R"
rm -f "$T/badreload"
cat >"$T/reload.sh" <<EOF
if [ -e "$T/badreload" ]; then exit 3; fi
exec "$PROBE" --report "$R" --serve
EOF
bg rf -r -F 2 --min-uptime 200 -s "$S" -- /bin/sh "$T/reload.sh"
up rf 2
old=$(sorted_reports "$R")
: >"$T/badreload"
kill -HUP "$SP"
wait_until 5 grep -q 'reload: new child' "$T/rf.err"
expect_match "failed reload: reported" "^spawn: reload: new child [0-9]+ exited with status 3 before 200 ms; the running children stay$" "$(cat "$T/rf.err")"
sleep 0.3
check "failed reload: the old children still run" test "$(flat $old)" = "$(flat $(kids "$SP"))"
check "failed reload: the old children still serve" "$CLIENT" -q "$S"
rm -f "$T/badreload"
kill -HUP "$SP"
wait_until 10 n_reports_is "$R" 4
wait_until 5 all_dead $old
new=$(sorted_reports "$R" | grep -vxF "$(printf '%s\n' $old)")
check "reload after a failed one: the old children are replaced" all_dead $old
expect_eq "reload after a failed one: two new children" "$(flat $new)" "$(flat $(kids "$SP"))"
kill -TERM "$SP"
finish 10
expect_eq "failed reload: stopped afterwards: exit 0" 0 "$RC"

# SIGTERM in the middle of a reload also stops the new child being verified.
newdir "$R"
bg rt -r -F 2 --min-uptime 1500 -s "$S" -- "$PROBE" --report "$R" --serve
up rt 2
old=$(sorted_reports "$R")
kill -HUP "$SP"
wait_until 5 n_reports_is "$R" 3
kill -TERM "$SP"
finish 5
expect_eq "stop during a reload: exit 0" 0 "$RC"
check "stop during a reload: the old and the new children are gone" all_dead $(report_pids "$R")
check "stop during a reload: socket removed" sock_gone "$S"

# The running child dies while a reload verifies its replacement, and the
# replacement fails too: the slot must still be refilled (-r restarts
# every child that exits).
newdir "$R"
rm -f "$T/badreload"
cat >"$T/slowfail.sh" <<EOF
if [ -e "$T/badreload" ]; then sleep 0.5; exit 3; fi
exec "$PROBE" --report "$R" --serve
EOF
bg rk -r --min-uptime 3000 -s "$S" -- /bin/sh "$T/slowfail.sh"
up rk 1
old=$(sorted_reports "$R")
: >"$T/badreload"
kill -HUP "$SP"
wait_for 5 'test "$(kids "$SP" | wc -l)" -eq 2'
kill -KILL "$old"
rm -f "$T/badreload"
wait_until 5 grep -q 'reload: new child' "$T/rk.err"
expect_match "reload + crash: the failed replacement is reported" "reload: new child [0-9]+ exited with status 3" "$(cat "$T/rk.err")"
wait_until 5 n_reports_is "$R" 2
check "reload + crash: the slot is refilled by a new child" n_reports_is "$R" 2
expect_eq "reload + crash: one child runs again" 1 "$(kids "$SP" | wc -l)"
kill -TERM "$SP"
finish 10
expect_eq "reload + crash: stopped afterwards: exit 0" 0 "$RC"
check "reload + crash: every child is gone" all_dead $(report_pids "$R")

# A reload stops the old child with --stop-signal, and SIGKILLs it after
# --stop-timeout when it does not go.
newdir "$R"
bg rs -r --stop-signal USR2 --stop-timeout 1 -s "$S" -- "$PROBE" --report "$R" --serve
up rs 1
old=$(sorted_reports "$R")
kill -HUP "$SP"
wait_until 5 n_reports_is "$R" 2
wait_until 5 dead "$old"
new=$(sorted_reports "$R" | grep -vxF "$old")
expect_eq "reload --stop-signal USR2: the old child got USR2" USR2 "$(cat "$R/$old.signals" 2>/dev/null)"
check "reload --stop-signal USR2: the old child was killed after --stop-timeout" dead "$old"
expect_eq "reload --stop-signal USR2: the new child runs" "$new" "$(flat $(kids "$SP"))"
expect_match "reload --stop-signal USR2: the kill is reported" "reload: child $old still running after 1 s, sending SIGKILL" "$(cat "$T/rs.err")"
kill -TERM "$SP"
finish 8
expect_eq "reload --stop-signal USR2: the stop needs SIGKILL too: exit 1" 1 "$RC"

# --- Respawns and reloads name the new child in the log.
newdir "$R"
bg lg -r -F 1 --min-uptime 100 -s "$S" -- "$PROBE" --report "$R" --serve
up lg 1
p=$(sorted_reports "$R")
kill -KILL "$p"
wait_for 5 'test "$(count_reports "$R")" -eq 2'
new=$(sorted_reports "$R" | grep -vx "$p")
wait_until 5 grep -q "started" "$T/lg.err"
expect_match "respawn: the log names the new child" "^spawn: child $new \\(slot 1\\) started$" "$(cat "$T/lg.err")"
kill -HUP "$SP"
wait_for 5 'test "$(count_reports "$R")" -eq 3'
wait_until 5 grep -q "replaces" "$T/lg.err"
third=$(sorted_reports "$R" | grep -vx "$p" | grep -vx "$new")
expect_match "reload: the log names old and new child" "^spawn: reload: slot 1: child $third replaces $new$" "$(cat "$T/lg.err")"
kill -TERM "$SP"
finish 10
expect_eq "log test: stopped, exit 0" 0 "$RC"

R=$T/retries
mkdir -p "$R"
bad 'spawn: --retries needs -r' -w --retries 2 -s "$S" -- "$PROBE" --report "$R"
