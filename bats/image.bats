#!/usr/bin/env bats
# gdn-rootfs with real images: a local registry (Debian's docker-registry),
# OCI layouts, docker archives and tarballs built from the busybox rootfs.

load helpers

M=4294967294

setup_file() {
	export IMAGES=$BATS_FILE_TMPDIR/images
	"$BATS_TEST_DIRNAME/../scripts/mk-test-images" "$IMAGES" >/dev/null
	skopeo copy -q oci:"$IMAGES/oci:busybox" docker-archive:"$IMAGES/busybox.tar:busybox:latest"
	read -r REG REG_PID < <("$BATS_TEST_DIRNAME/../scripts/test-registry" "$BATS_FILE_TMPDIR/reg")
	read -r AREG AREG_PID < <("$BATS_TEST_DIRNAME/../scripts/test-registry" "$BATS_FILE_TMPDIR/areg" gdn s3cret)
	export REG REG_PID AREG AREG_PID
	for img in busybox two; do
		skopeo copy -q --dest-tls-verify=false oci:"$IMAGES/oci:$img" docker://"$REG/$img:latest"
	done
	skopeo copy -q --all --dest-tls-verify=false oci:"$IMAGES/oci:multi" docker://"$REG/multi:latest"
	skopeo copy -q --dest-tls-verify=false --dest-creds gdn:s3cret oci:"$IMAGES/oci:busybox" docker://"$AREG/private:latest"
}

teardown_file() {
	kill "$REG_PID" "$AREG_PID" 2>/dev/null || true
}

setup() {
	setup_work
	export GDN_STORE=$WORK/store
	gdn-rootfs init-store --store-size-bytes 1000000000 \
		--uid-mapping 0:$M:1 --uid-mapping 1:1:$((M - 1)) \
		--gid-mapping 0:$M:1 --gid-mapping 1:1:$((M - 1)) >/dev/null
}

teardown() {
	local leaks=0
	for h in $( (ls "$GDN_RUNTIME_ROOT" 2>/dev/null; ls "$GDN_DEPOT" 2>/dev/null; ls "$GDN_STORE/volumes" 2>/dev/null) | grep -v '^\.' | sort -u); do
		gdn-run delete "$h" >/dev/null 2>&1 || true
		gdn-depot destroy "$h" >/dev/null 2>&1 || true
		gdn-rootfs delete "$h" >/dev/null 2>&1 || true
	done
	leak_check || leaks=1
	remove_cg_parent
	run ! grep -q " $GDN_STORE/volumes/" /proc/self/mountinfo
	for m in $(awk -v w="$WORK/" 'index($5, w) == 1 {print $5}' /proc/self/mountinfo | sort -r); do
		umount "$m" 2>/dev/null || true
	done
	rm -rf "$WORK"
	return $leaks
}

@test "pull by tag: env, volumes, a whiteout and an opaque directory, in a running container" {
	h=$(handle two)
	run gdn-rootfs create --insecure-registry "$REG" "docker://$REG/two:latest" "$h"
	[ "$status" -eq 0 ]
	[ "$(jq -c .process.env <<<"$output")" = '["GDN_TEST=one"]' ]
	[ "$(jq -r '.mounts[0].destination' <<<"$output")" = /data ]
	gdn-depot create "$h" --init-bin "$INIT" <<<"$output" | gdn-run create >/dev/null
	run gdn-run exec "$h" --attach -- /bin/sh -c 'echo $GDN_TEST; cat /etc/second; ls /home | wc -l; test -e /etc/hostname || echo whited-out; stat -c %u /etc/passwd; touch /data/x && echo volume-writable'
	[ "$output" = "$(printf 'one\nsecond\n0\nwhited-out\n0\nvolume-writable')" ]
}

@test "--without-mount: the same layers, whiteout and opaque directory, mounted only in the container" {
	h=$(handle twonm)
	run gdn-rootfs create --without-mount --insecure-registry "$REG" "docker://$REG/two:latest" "$h"
	[ "$status" -eq 0 ]
	[ "$(jq -r '.mounts[0] | .destination + " " + .type' <<<"$output")" = "/ overlay" ]
	[ "$(jq -r '.mounts[1].destination' <<<"$output")" = /data ]
	gdn-depot create "$h" --init-bin "$INIT" <<<"$output" | gdn-run create >/dev/null
	run ! grep -q " $GDN_STORE/volumes/$h/" /proc/self/mountinfo
	run gdn-run exec "$h" --attach -- /bin/sh -c 'echo $GDN_TEST; cat /etc/second; ls /home | wc -l; test -e /etc/hostname || echo whited-out; stat -c %u /etc/passwd; touch /data/x && echo volume-writable'
	[ "$output" = "$(printf 'one\nsecond\n0\nwhited-out\n0\nvolume-writable')" ]
}

@test "pull by digest, and the Garden form docker:///repo#tag" {
	digest=$(skopeo inspect --tls-verify=false "docker://$REG/busybox:latest" | jq -r .Digest)
	run gdn-rootfs create --insecure-registry "$REG" "docker://$REG/busybox@$digest" "$(handle dig)"
	[ "$status" -eq 0 ]
	run gdn-rootfs create --insecure-registry "$REG" "docker://$REG/busybox#latest" "$(handle frag)"
	[ "$status" -eq 0 ]
}

@test "two containers of one image share its layers, unpacked once per store" {
	gdn-rootfs create --insecure-registry "$REG" "docker://$REG/two:latest" "$(handle s1)" >/dev/null
	gdn-rootfs create --insecure-registry "$REG" "docker://$REG/two:latest" "$(handle s2)" >/dev/null
	gdn-rootfs create --insecure-registry "$REG" "docker://$REG/busybox:latest" "$(handle s3)" >/dev/null
	# two has two layers, busybox is its first: three volumes, two layers
	[ "$(find "$GDN_STORE/layers" -mindepth 1 -maxdepth 1 -type d | wc -l)" -eq 2 ]
}

@test "a registry is reached over HTTP only when named insecure" {
	run --separate-stderr gdn-rootfs create "docker://$REG/busybox:latest" "$(handle sec)"
	[ "$status" -ne 0 ]
	[ -n "$(jq -r .error.message <<<"$stderr")" ]
	[ -z "$(ls "$GDN_STORE/volumes")" ]
}

@test "registry auth: a wrong password is a clear error, the right one works" {
	run --separate-stderr gdn-rootfs create --insecure-registry "$AREG" --username gdn --password wrong "docker://$AREG/private:latest" "$(handle auth1)"
	[ "$status" -ne 0 ]
	[[ "$(jq -r .error.message <<<"$stderr")" == *nauthorized* || "$(jq -r .error.message <<<"$stderr")" == *authentication* ]]
	run gdn-rootfs create --insecure-registry "$AREG" --username gdn --password s3cret "docker://$AREG/private:latest" "$(handle auth2)"
	[ "$status" -eq 0 ]
}

@test "oci://, docker-archive:// and tarball sources" {
	for uri in "oci://$IMAGES/oci:busybox" "docker-archive://$IMAGES/busybox.tar" "$IMAGES/rootfs.tar.gz"; do
		run gdn-rootfs create "$uri" "$(handle src-$RANDOM)"
		[ "$status" -eq 0 ]
		[ -x "$(jq -r .root.path <<<"$output")/bin/busybox" ]
	done
}

@test "a layer that climbs out with ../ or through a symlink is refused; nothing is written outside" {
	mkdir -p "$WORK/evil/up/tmp"
	echo pwned >"$WORK/evil/up/tmp/gdn-pwned-$$"
	printf x >"$WORK/f"
	tar -C "$WORK" -c -P --transform "s,^f,../../../../tmp/gdn-climb-$$," f >"$WORK/climb.tar"
	run --separate-stderr gdn-rootfs create "$WORK/climb.tar" "$(handle climb)"
	[ "$status" -eq 5 ]
	[ ! -e "/tmp/gdn-climb-$$" ]
	ln -s / "$WORK/link"
	tar -C "$WORK" -cf "$WORK/sym.tar" link
	tar -C "$WORK/evil" -rf "$WORK/sym.tar" --transform 's,^up,link,' "up/tmp/gdn-pwned-$$"
	[ "$(tar -tf "$WORK/sym.tar" | tail -1)" = "link/tmp/gdn-pwned-$$" ]
	run --separate-stderr gdn-rootfs create "$WORK/sym.tar" "$(handle sym)"
	[ "$status" -ne 0 ]
	[ ! -e "/tmp/gdn-pwned-$$" ]
	[ -z "$(ls "$GDN_STORE/volumes")" ]
}

@test "pull prefetches; clean keeps layers in use and removes the rest" {
	run gdn-rootfs pull --insecure-registry "$REG" "docker://$REG/two:latest"
	[ "$status" -eq 0 ]
	[ "$(jq '.layers | length' <<<"$output")" -eq 2 ]
	[ "$(jq .size_bytes <<<"$output")" -gt 0 ]
	gdn-rootfs create "$IMAGES/rootfs.tar.gz" "$(handle keep)" >/dev/null
	[ "$(find "$GDN_STORE/layers" -mindepth 1 -maxdepth 1 -type d | wc -l)" -eq 3 ]
	run gdn-rootfs clean
	[ "$status" -eq 0 ]
	[ "$(jq '.removed_layers | length' <<<"$output")" -eq 2 ]
	[ "$(find "$GDN_STORE/layers" -mindepth 1 -maxdepth 1 -type d | wc -l)" -eq 1 ]
	find "$GDN_STORE/layers" -mindepth 1 -maxdepth 1 -type d -name 'tar-*' | grep -q .
	# the layers are fetched again when needed
	run gdn-rootfs create --insecure-registry "$REG" "docker://$REG/two:latest" "$(handle again)"
	[ "$status" -eq 0 ]
	[ -x "$(jq -r .root.path <<<"$output")/bin/sh" ]
}

@test "parallel creates of one new image unpack each layer once; list shows volumes and images" {
	for i in 1 2 3 4; do
		gdn-rootfs create --insecure-registry "$REG" "docker://$REG/two:latest" "$(handle par$i)" >"$WORK/par$i.json" &
	done
	wait
	for i in 1 2 3 4; do [ -x "$(jq -r .root.path "$WORK/par$i.json")/bin/sh" ]; done
	[ "$(find "$GDN_STORE/layers" -mindepth 1 -maxdepth 1 -type d | wc -l)" -eq 2 ]
	[ -z "$(find "$GDN_STORE/layers" -maxdepth 1 -name '.tmp-*')" ]
	run gdn-rootfs list
	[ "$(jq '.volumes | length' <<<"$output")" -eq 4 ]
	[ "$(jq '[.images[]] | length' <<<"$output")" -eq 1 ]
}

@test "what a killed create leaves, delete and clean remove" {
	h=$(handle killed)
	gdn-rootfs create --insecure-registry "$REG" "docker://$REG/two:latest" "$h" >/dev/null
	# as if killed before volume.json, and mid-unpack of a layer
	rm "$GDN_STORE/volumes/$h/volume.json"
	mkdir -p "$GDN_STORE/layers/.tmp-0123456789ab-XYZ/etc"
	run gdn-rootfs delete "$h"
	[ "$(jq .deleted <<<"$output")" = true ]
	run ! grep -q " $GDN_STORE/volumes/" /proc/self/mountinfo
	run gdn-rootfs clean
	[ "$status" -eq 0 ]
	[ -z "$(ls -A "$GDN_STORE/layers" | grep -v '\.lock$' || true)" ]
	[ ! -e "$GDN_STORE/layers/.tmp-0123456789ab-XYZ" ]
}

@test "an image index resolves to linux/amd64" {
	[ "$(skopeo inspect --raw --tls-verify=false "docker://$REG/multi:latest" | jq -r .mediaType)" = application/vnd.oci.image.index.v1+json ]
	run gdn-rootfs create --insecure-registry "$REG" "docker://$REG/multi:latest" "$(handle multi)"
	[ "$status" -eq 0 ]
	root=$(jq -r .root.path <<<"$output")
	# busybox is the amd64 entry; two (with /etc/second) the arm64 one
	[ -x "$root/bin/busybox" ]
	[ ! -e "$root/etc/second" ]
}
