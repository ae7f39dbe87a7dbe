#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# `ckube crt import` of docker-archives (what `docker save` writes): archives made by skopeo
# from a local registry, one with two tags and one merged by hand to hold two images; the
# registry is then stopped, the archives imported (all images and tags, or the one REF asks
# for), containers run from the imported images; a broken archive is refused and adds nothing.
set -u
. "$(dirname "$0")/lib.sh"
rt_init "$@"
trap rt_cleanup EXIT
command -v skopeo >/dev/null || { echo "SKIP: skopeo not installed"; exit 77; }
registry_start "$T/reg" || exit 1
registry_push_busybox src/one:1 || fail "push one"
registry_push_twolayer src/two:1 v2s2 || fail "push two"
skopeo copy -q --src-tls-verify=false --additional-tag offline/one:extra \
    "docker://$REGISTRY_ADDR/src/one:1" "docker-archive:$T/one.tar:offline/one:1" ||
    fail "skopeo copy to a docker-archive"
skopeo copy -q --src-tls-verify=false "docker://$REGISTRY_ADDR/src/two:1" \
    "docker-archive:$T/two.tar:offline/two:1" || fail "skopeo copy two"
registry_stop # from here on no registry: the images come from the files only

# a two-image archive, as `docker save a b` writes it: one manifest.json listing both
mkdir -p "$T/multi"
tar -C "$T/multi" -xf "$T/one.tar" && tar -C "$T/multi" -xf "$T/two.tar" || fail "untar"
jq -s add <(tar -xOf "$T/one.tar" manifest.json) <(tar -xOf "$T/two.tar" manifest.json) \
    >"$T/multi/manifest.json" || fail "merge manifest.json"
[ "$(jq length "$T/multi/manifest.json")" = 2 ] || fail "merged manifest.json"
tar -C "$T/multi" -cf "$T/multi.tar" . || fail "tar"

out=$(crt import "$T/multi.tar") || fail "import of a two-image archive"
echo "$out"
for t in docker.io/offline/one:1 docker.io/offline/one:extra docker.io/offline/two:1; do
    echo "$out" | grep -q "^Imported sha256:[0-9a-f]\{64\} as $t$" || fail "no '$t' in: $out"
    crt images | grep -q "^$t " || fail "$t not listed: $(crt images)"
done
[ "$(crt images -q | sort -u | wc -l)" = 2 ] || fail "expected 2 images: $(crt images)"
echo "ok a two-image archive: every image under all its tags"

# REF picks one image of the archive; a gzip'd archive; an archive of one image takes REF
crt rmi offline/two:1 >/dev/null || fail "rmi"
crt import "$T/multi.tar" offline/two:1 | grep -q " as docker.io/offline/two:1$" || fail "import by REF"
crt images | grep -q "^docker.io/offline/two:1 " || fail "two:1 not back"
if crt import "$T/multi.tar" offline/three:1 2>"$T/err"; then fail "a REF not in the archive was imported"; fi
grep -q "not in the archive" "$T/err" || fail "message for a missing REF: $(cat "$T/err")"
gzip -c "$T/one.tar" >"$T/one.tar.gz"
crt import "$T/one.tar.gz" renamed/one:7 | grep -q " as docker.io/renamed/one:7$" || fail "import .tar.gz as REF"
echo "ok REF selects, a gzip'd archive, one image renamed"

# a broken archive: a layer that does not match the config's diff_ids (into an empty store:
# a layer already present is not read again, as with a pull)
crt2() { "$CKUBE" crt --root "$T/root2" "$@"; }
mkdir -p "$T/bad" && tar -C "$T/bad" -xf "$T/one.tar" || fail "untar one"
layer=$(jq -r '.[0].Layers[0]' "$T/bad/manifest.json")
rm -f "$T/bad/$layer" && tar -C "$T/reg" -cf "$T/bad/$layer" config.yml || fail "replace layer"
tar -C "$T/bad" -cf "$T/bad.tar" . || fail "tar bad"
if crt2 import "$T/bad.tar" broken/one:1 2>"$T/err"; then fail "a corrupt archive was imported"; fi
grep -q "diff_id" "$T/err" || fail "message for a corrupt layer: $(cat "$T/err")"
[ -z "$(crt2 images -q)" ] || fail "a failed import left an image: $(crt2 images)"
echo junk >"$T/junk.tar"
if crt2 import "$T/junk.tar" 2>/dev/null; then fail "junk imported"; fi
[ -z "$(crt2 images -q)" ] || fail "junk left an image"
echo "ok a corrupt layer and junk are refused and add nothing"

# containers from the imported images
cat >"$T/pod.json" <<J
{"metadata": {"name": "impd", "namespace": "impd", "uid": "impd-$$"}, "log_directory": "$T/podlogs"}
J
pod=$(crt runp "$T/pod.json") || fail "runp"
cat >"$T/c1.json" <<J
{"metadata": {"name": "one"}, "image": {"image": "renamed/one:7"}, "log_path": "one/0.log",
 "command": ["sh", "-c", "cat /etc/hello.txt"]}
J
cat >"$T/c2.json" <<J
{"metadata": {"name": "two"}, "image": {"image": "offline/two:1"}, "log_path": "two/0.log"}
J
crt run "$pod" "$T/c1.json" >/dev/null || fail "run from renamed/one:7"
crt run "$pod" "$T/c2.json" >/dev/null || fail "run from offline/two:1"
wait_for 10 grep -q ' hello$' "$T/podlogs/one/0.log" || fail "one: no output"
wait_for 10 grep -q ' two$' "$T/podlogs/two/0.log" || fail "two: its entrypoint did not run"
crt rmp "$pod" >/dev/null || fail "rmp"
echo "ok containers ran from the imported images"
