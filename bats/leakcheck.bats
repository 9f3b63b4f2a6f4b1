#!/usr/bin/env bats
# scripts/leak-check (gdn-leakcheck) as an operator runs it: on a test's own
# depot and runtime root (from GDN_DEPOT and GDN_RUNTIME_ROOT), with the
# parts this test has none of switched off.

load helpers

setup() { setup_work; }
teardown() { teardown_work; }

lc() { "$BATS_TEST_DIRNAME/../scripts/leak-check" --store '' --net-state '' --nft-table '' "$@"; }

@test "a live container is all leftovers, nothing with --except, and nothing once destroyed" {
	h=$(handle lc)
	mkc "$h" >/dev/null
	gdn-run exec "$h" --id sleeper -- /bin/sleep 1000 >/dev/null
	run --separate-stderr lc --owned "$h"
	[ "$status" -eq 1 ]
	[ "$(jq -r '[.leaks[].kind] | unique | join(" ")' <<<"$output")" = "cgroup depot process runtime" ]
	[ "$(jq -r '[.leaks[].handle] | unique | join(" ")' <<<"$output")" = "$h" ]
	# the init in its cgroup, and the sleeper's dadoo by its command line
	jq -e '.leaks[] | select(.kind == "process" and (.what | test("dadoo$")))' <<<"$output" >/dev/null
	jq -e --arg cg "in cgroup /$CG/" '.leaks[] | select(.kind == "process" and (.what | contains($cg)))' <<<"$output" >/dev/null
	# one line per leftover for a person
	n=$(jq '.leaks | length' <<<"$output")
	run lc --owned "$h" -o text
	[ "$status" -eq 1 ]
	[ "${#lines[@]}" -eq "$n" ]
	run lc --owned "$h" --except "$h"
	[ "$status" -eq 0 ]
	[ "$output" = '{"leaks":[]}' ]
	gdn-run delete "$h" >/dev/null
	gdn-depot destroy "$h" >/dev/null
	run lc --owned "$h"
	[ "$status" -eq 0 ]
}

@test "a destroy killed halfway shows as a trash entry; bad input is a clear error" {
	mkdir -p "$GDN_DEPOT/.trash/$(handle t)~abc"
	run --separate-stderr lc --owned "$(handle '*')"
	[ "$status" -eq 1 ]
	[ "$(jq -r '.leaks[0].kind + " " + .leaks[0].handle' <<<"$output")" = "trash $(handle t)" ]
	rm -r "$GDN_DEPOT/.trash/$(handle t)~abc"
	run --separate-stderr lc --tag Bad
	[ "$status" -eq 5 ]
	[ "$(error_type "$stderr")" = InvalidSpec ]
	run --separate-stderr lc --depot relative/dir
	[ "$status" -eq 5 ]
	[ "$(error_type "$stderr")" = InvalidSpec ]
}
