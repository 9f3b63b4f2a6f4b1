#!/usr/bin/env bats
# stream-in and stream-out: tar into and out of a container, as a user,
# never outside the container's root.

load helpers

setup() {
	setup_work
	h=$(handle stream)
	mkc "$h" >/dev/null
	mkdir -p "$WORK/site/sub"
	echo hello >"$WORK/site/a.txt"
	echo deep >"$WORK/site/sub/b"
	ln -s a.txt "$WORK/site/link"
}
teardown() { teardown_work; }

@test "stream-in unpacks as the user; stream-out gives the entry or, with /, the contents" {
	tar -C "$WORK/site" -c . | gdn-run stream-in "$h" --destination /home/vcap/www --user vcap
	run gdn-run exec "$h" --attach -- /bin/sh -c 'stat -c "%u %n" /home/vcap/www /home/vcap/www/a.txt /home/vcap/www/sub/b; readlink /home/vcap/www/link; cat /home/vcap/www/sub/b'
	[ "${lines[0]}" = "1000 /home/vcap/www" ]
	[ "${lines[1]}" = "1000 /home/vcap/www/a.txt" ]
	[ "${lines[2]}" = "1000 /home/vcap/www/sub/b" ]
	[ "${lines[3]}" = a.txt ]
	[ "${lines[4]}" = deep ]

	run bash -c "gdn-run stream-out $h --source /home/vcap/www | tar -t"
	[ "$output" = "$(printf 'www/\nwww/a.txt\nwww/link\nwww/sub/\nwww/sub/b')" ]
	run bash -c "gdn-run stream-out $h --source /home/vcap/www/ | tar -t"
	[ "$output" = "$(printf './\n./a.txt\n./link\n./sub/\n./sub/b')" ]
	run bash -c "gdn-run stream-out $h --source /home/vcap/www/a.txt | tar -xO"
	[ "$output" = hello ]
	# archives carry container ids, not host ids or host user names
	run bash -c "gdn-run stream-out $h --source /home/vcap/www/a.txt | tar -tv --numeric-owner"
	[[ "$output" == *" 1000/1000 "* ]]
}

@test "the user's permissions apply: vcap cannot write into root's /etc" {
	run --separate-stderr bash -c "tar -C $WORK/site -c a.txt | gdn-run stream-in $h --destination /etc --user vcap"
	[ "$status" -ne 0 ]
	[[ "$stderr" == *"error streaming in: "*"Permission denied"* ]]
	[ ! -e "$WORK/rootfs/etc/a.txt" ]
}

@test "container root writes where it can in the container: into vcap's home" {
	for u in "" root; do
		tar -C "$WORK/site" -c a.txt | gdn-run stream-in "$h" --destination "/home/vcap/r$u" ${u:+--user $u}
		[ "$(gdn-run exec "$h" --attach -- /bin/sh -c "stat -c %u /home/vcap/r$u/a.txt")" = 0 ]
	done
}

@test "in a privileged container root is root, a user only itself" {
	p=$(handle priv)
	mkc "$p" --privileged >/dev/null
	tar -C "$WORK/site" -c a.txt | gdn-run stream-in "$p" --destination /root/in
	[ "$(stat -c %u "$WORK/rootfs/root/in/a.txt")" = 0 ]
	run --separate-stderr bash -c "tar -C $WORK/site -c a.txt | gdn-run stream-in $p --destination /etc --user vcap"
	[ "$status" -ne 0 ]
	[[ "$stderr" == *"Permission denied"* ]]
	[ ! -e "$WORK/rootfs/etc/a.txt" ]
	gdn-run delete "$p" >/dev/null
}

@test "relative paths are relative to the user's home; an unknown user is named" {
	tar -C "$WORK/site" -c a.txt | gdn-run stream-in "$h" --destination www --user vcap
	# the test rootfs is not id-shifted: give /root to container root
	chown 4294967294:4294967294 "$WORK/rootfs/root"
	tar -C "$WORK/site" -c a.txt | gdn-run stream-in "$h" --destination www
	[ "$(gdn-run exec "$h" --attach -- /bin/sh -c 'stat -c %u /home/vcap/www/a.txt /root/www/a.txt')" = "$(printf '1000\n0')" ]
	[ "$(gdn-run stream-out "$h" --source www/a.txt --user vcap | tar -xO)" = hello ]
	run --separate-stderr bash -c "tar -C $WORK/site -c a.txt | gdn-run stream-in $h --destination www --user nosuchuser"
	[ "$status" -eq 5 ]
	[[ "$(jq -r .error.message <<<"$stderr")" == "error streaming in: "*nosuchuser* ]]
}

@test "a symlink in the container cannot lead stream-in or stream-out to the host" {
	mkdir "$WORK/hostdir"
	echo host-secret >"$WORK/host-secret"
	gdn-run exec "$h" --attach -- /bin/sh -c "ln -s $WORK/hostdir /tmp/escape; ln -s $WORK/host-secret /tmp/secret; ln -s / /tmp/slash"
	# the link dangles inside the container: refused, the host untouched
	run bash -c "tar -C $WORK/site -c a.txt | gdn-run stream-in $h --destination /tmp/escape"
	[ "$status" -ne 0 ]
	[ -z "$(ls -A "$WORK/hostdir")" ]
	# once the path exists inside the container, that is where it goes
	gdn-run exec "$h" --attach -- /bin/mkdir -p "$WORK/hostdir"
	tar -C "$WORK/site" -c a.txt | gdn-run stream-in "$h" --destination /tmp/escape
	[ -z "$(ls -A "$WORK/hostdir")" ]
	[ "$(gdn-run exec "$h" --attach -- /bin/cat "$WORK/hostdir/a.txt")" = hello ]

	run --separate-stderr gdn-run stream-out "$h" --source /tmp/secret
	[ "$status" -ne 0 ]
	[[ "$output" != *host-secret* ]]

	# an archive that plants a symlink and then writes through it
	mkdir -p "$WORK/evil" && ln -s / "$WORK/evil/up" && mkdir -p "$WORK/evil2/up/tmp" && echo pwned >"$WORK/evil2/up/tmp/gdn-pwned"
	( tar -C "$WORK/evil" -c up; tar -C "$WORK/evil2" -c up/tmp/gdn-pwned ) >"$WORK/evil.tar"
	run bash -c "cat $WORK/evil.tar | gdn-run stream-in $h --destination /tmp/x"
	[ ! -e /tmp/gdn-pwned ]
}

@test "entries that climb out of the destination are refused" {
	printf 'x' >"$WORK/f"
	tar -C "$WORK" -c -P --transform 's,^f,../../../gdn-escape-test,' f >"$WORK/climb.tar"
	tar -t -P -f "$WORK/climb.tar" | grep -q '^\.\./\.\./\.\./gdn-escape-test$'
	run --separate-stderr bash -c "gdn-run stream-in $h --destination /tmp/deep/er < $WORK/climb.tar"
	[ "$status" -eq 5 ]
	[ "$(error_type "$stderr")" = InvalidSpec ]
	[ ! -e /gdn-escape-test ]
	[ ! -e "$WORK/rootfs/gdn-escape-test" ]
	[ ! -e "$WORK/rootfs/tmp/gdn-escape-test" ]
}

@test "stream-in and stream-out work on a stopped container" {
	gdn-run stop "$h"
	tar -C "$WORK/site" -c a.txt | gdn-run stream-in "$h" --destination /tmp
	[ "$(gdn-run stream-out "$h" --source /tmp/a.txt | tar -xO)" = hello ]
}

@test "stream-out of a missing path is InvalidSpec; of an unknown container ContainerNotFound" {
	run --separate-stderr gdn-run stream-out "$h" --source /no/such
	[ "$status" -eq 5 ]
	[ "$(error_type "$stderr")" = InvalidSpec ]
	run --separate-stderr gdn-run stream-out nosuch --source /
	[ "$status" -eq 3 ]
}
