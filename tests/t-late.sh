# The supervisor running late (issue 9, found by the soak): a reload's new
# child that lived --min-uptime counts as started even when spawn was not
# scheduled in time to promote it before it exited. Made deterministic by
# stopping spawn (SIGSTOP) across the new child's verification window.
. "$(dirname "$0")/lib.sh"

S=$T/late.sock
cat >"$T/child.sh" <<CHILD
#!/bin/sh
echo \$\$ >>"$T/starts"
# The first child started after the flag exits 0.5 s into its life.
if [ -e "$T/flag" ]; then
	rm -f "$T/flag"
	sleep 0.5
	exit 0
fi
exec sleep 1000
CHILD
chmod 755 "$T/child.sh"
lines() { [ -f "$T/starts" ] && wc -l <"$T/starts" || echo 0; }

"$SPAWN" -r -F 1 --min-uptime 200 -s "$S" -- "$T/child.sh" >"$T/out" 2>"$T/err" &
sp=$!
track "$sp"
wait_for 5 'test "$(lines)" -eq 1'
first=$(sed -n 1p "$T/starts")
: >"$T/flag"
kill -HUP "$sp"
# The new child has started: hold spawn still past its --min-uptime and
# past its exit, so that spawn sees the exit before the promotion is due.
if wait_for 5 'test "$(lines)" -ge 2'; then
	kill -STOP "$sp"
	second=$(sed -n 2p "$T/starts")
	wait_until 3 dead "$second"
	kill -CONT "$sp"
	check "late: the new child exited 0.5 s into its life while spawn was stopped" dead "$second"
else
	not_ok "late: the reload started a new child"
fi
# It lived past --min-uptime: the reload goes through, the old child is
# stopped, and the slot's child, which then exited, is restarted.
check "late: the old child is stopped (the reload went through)" wait_until 5 dead "$first"
check "late: the slot is refilled by a new child" wait_for 5 'test "$(lines)" -ge 3 && alive "$(sed -n 3p "$T/starts")"'
check "late: no failed reload logged" test -z "$(grep 'before 200 ms' "$T/err")"
expect_match "late: the promotion is logged" "reload: slot 1: child [0-9]+ replaces $first" "$(cat "$T/err")"
kill "$sp"
check "late: spawn stops" wait_until 12 dead "$sp"
for p in $(cat "$T/starts"); do kill -KILL "$p" 2>/dev/null || :; done
