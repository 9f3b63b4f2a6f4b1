#!/usr/bin/env bats
# make install and make uninstall, into a DESTDIR of the test's own.

load helpers

REPO=$(cd "$BATS_TEST_DIRNAME/.." && pwd)

setup() { DEST=$(mktemp -d /tmp/gdn-install.XXXXXX); }
teardown() { rm -rf "$DEST"; }

# mk TARGET [VAR=VALUE...]: make in the repo, into $DEST.
mk() { make -s -C "$REPO" "$@" DESTDIR="$DEST" >/dev/null; }

@test "make install ships binaries, man pages, completions, the unit and settings; uninstall removes exactly them" {
	mkdir -p "$DEST/usr/local/bin" "$DEST/etc"
	echo mine >"$DEST/usr/local/bin/other-tool"
	mk install
	p=$DEST/usr/local
	for t in gdn-run gdn-depot gdn-rootfs gdn-rootfs-fetch gdn-net dadoo gdn-server gdn-leakcheck gdn-init dadoo-wait; do
		[ -x "$p/bin/$t" ] || { echo "no $t"; return 1; }
		"$p/bin/$t" --version | grep -q "^$t version "
	done
	[ -x "$p/bin/gdn-mk-rootfs" ]
	for t in gdn-run gdn-depot gdn-rootfs gdn-rootfs-fetch gdn-net gdn-server gdn-leakcheck; do
		grep -q '^\.TH "'"$t"'" "1"' "$p/share/man/man1/$t.1"
		[ -s "$p/share/bash-completion/completions/$t" ]
		[ -s "$p/share/zsh/site-functions/_$t" ]
		[ -s "$p/share/fish/vendor_completions.d/$t.fish" ]
	done
	# a page per command, from the same cobra commands as --help
	grep -q 'attach' "$p/share/man/man1/gdn-run-attach.1"
	[ -s "$p/share/man/man1/gdn-depot-props.1" ]
	unit=$p/lib/systemd/system/gdn-server.service
	grep -qx 'ExecStart=/usr/local/bin/gdn-server --config /etc/gdn/gdn-server.conf' "$unit"
	! grep -q @ "$unit"
	grep -q '/garden-TAG/<handle>' "$unit"
	conf=$DEST/etc/gdn/gdn-server.conf
	grep -qx "init-bin = /usr/local/bin/gdn-init" "$conf"
	# every setting the file names, set or commented out, is a gdn-server flag
	help=$("$p/bin/gdn-server" --help)
	for name in $(sed -n 's/^#\{0,1\} *\([a-z-]*\) = .*/\1/p' "$conf"); do
		grep -q -- "--$name " <<<"$help" || { echo "not a flag: $name"; return 1; }
	done

	mk uninstall
	[ -z "$(find "$DEST" -type f ! -path "$DEST/usr/local/bin/other-tool")" ] || { find "$DEST" -type f; return 1; }
	[ "$(cat "$DEST/usr/local/bin/other-tool")" = mine ]
	[ ! -e "$DEST/etc/gdn" ]
}

@test "PREFIX moves everything; settings an operator changed survive install and uninstall" {
	mk install PREFIX=/opt/gdn
	[ -x "$DEST/opt/gdn/bin/gdn-server" ]
	grep -qx 'ExecStart=/opt/gdn/bin/gdn-server --config /etc/gdn/gdn-server.conf' "$DEST/opt/gdn/lib/systemd/system/gdn-server.service"
	conf=$DEST/etc/gdn/gdn-server.conf
	grep -qx "init-bin = /opt/gdn/bin/gdn-init" "$conf"
	echo "tag = blue" >>"$conf"
	mk install PREFIX=/opt/gdn
	grep -qx "tag = blue" "$conf"
	[ -e "$conf.dist" ]
	mk uninstall PREFIX=/opt/gdn
	[ "$(find "$DEST" -type f)" = "$conf" ]
}
