#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# `ckube crt import` (issue 12: images for machines without a registry): an OCI layout made by
# skopeo from a local registry, as a directory and as a tar.gz, is imported and tagged, then a
# container runs from it; a path that is no OCI layout is refused and adds nothing.
set -u
. "$(dirname "$0")/lib.sh"
rt_init "$@"
trap rt_cleanup EXIT
command -v skopeo >/dev/null || { echo "SKIP: skopeo not installed"; exit 77; }
registry_start "$T/reg" || exit 1
registry_push_busybox src/busybox:1 || fail "push"
skopeo copy -q --src-tls-verify=false "docker://$REGISTRY_ADDR/src/busybox:1" "oci:$T/layout:v1" ||
    fail "skopeo copy to an OCI layout"
registry_stop # from here on no registry: the images come from the files only

crt import "$T/layout" offline/busybox:v1 || fail "import of the layout directory"
crt images | grep -q "offline/busybox:v1" || fail "offline/busybox:v1 not listed: $(crt images)"
tar -C "$T/layout" -czf "$T/layout.tar.gz" . || fail "tar"
crt import "$T/layout.tar.gz" offline/busybox:v2 || fail "import of the layout tar.gz"
crt images | grep -q "offline/busybox:v2" || fail "offline/busybox:v2 not listed"
echo "ok: imported as a directory and as a tar.gz"

before=$(crt images -q | wc -l)
mkdir -p "$T/notalayout"
echo junk >"$T/notalayout/index.json"
if crt import "$T/notalayout" offline/junk:1 2>"$T/err"; then fail "a junk layout was imported"; fi
[ -s "$T/err" ] || fail "no error message for a junk layout"
[ "$(crt images -q | wc -l)" = "$before" ] || fail "a failed import left an image"
if crt import 2>/dev/null; then fail "import without a path succeeded"; fi
echo "ok: a junk layout is refused with '$(head -1 "$T/err")' and adds nothing"

# a container from the imported image
cat >"$T/pod.json" <<J
{"metadata": {"name": "imp", "namespace": "imp", "uid": "imp-$$"}, "log_directory": "$T/podlogs"}
J
pod=$(crt runp "$T/pod.json") || fail "runp"
cat >"$T/ctr.json" <<J
{"metadata": {"name": "c"}, "image": {"image": "offline/busybox:v2"}, "log_path": "c/0.log",
 "command": ["sh", "-c", "echo from-import"]}
J
ctr=$(crt run "$pod" "$T/ctr.json") || fail "run from the imported image"
wait_for 10 grep -q from-import "$T/podlogs/c/0.log" || fail "no output: $(crt logs "$ctr" 2>&1)"
crt rmp "$pod" >/dev/null || fail "rmp"
echo "ok: a container ran from the imported image"
