# SPDX-License-Identifier: Apache-2.0
# Test helper: a private Docker registry on 127.0.0.1 with busybox-based test images.
#
#   source tests/lib/registry.sh
#   registry_start DIR [tls]     # starts docker-registry on 127.0.0.1:<free port>, storage in DIR
#                                # sets REGISTRY_ADDR (host:port), REGISTRY_URL (http[s]://...),
#                                # REGISTRY_DIR, REGISTRY_PID; with "tls" also REGISTRY_CA (PEM)
#   registry_push_busybox NAME:TAG [oci|v2s2]   # 1-layer busybox image, Cmd ["/bin/sh"]
#   registry_push_twolayer NAME:TAG [oci|v2s2]  # busybox + a layer that deletes /etc/gone.txt,
#                                # replaces /data (was data/old.txt, now data/new.txt), adds
#                                # /etc/new.txt; Entrypoint ["/bin/echo"] Cmd ["two"]
#   registry_push_index NAME:TAG [oci|v2s2]  # an OCI image index (v2s2: a Docker manifest list)
#                                # linux/amd64 = the busybox image, linux/arm64 = the 2-layer one
#   registry_manifest_digest NAME:TAG  # prints the manifest digest the registry serves
#   registry_blob_path DIGEST    # prints the file holding a blob in the registry's storage
#   registry_stop                # kills the registry (also done by an EXIT trap you set)
#
# Needs: docker-registry, skopeo, umoci, busybox-static (/bin/busybox), curl, openssl (tls).
# registry_require prints "SKIP: ..." and returns 1 when something is missing.
# NAME is a repository path ("probe/busybox"); it is pushed to $REGISTRY_ADDR/NAME.

registry_require() {
    local t
    for t in docker-registry skopeo umoci curl jq; do
        if ! command -v "$t" >/dev/null 2>&1; then
            echo "SKIP: $t not installed (apt-get install docker-registry skopeo umoci curl jq)"
            return 1
        fi
    done
    if [ ! -x /bin/busybox ] || ! /bin/busybox --list >/dev/null 2>&1; then
        echo "SKIP: /bin/busybox (busybox-static) not installed"
        return 1
    fi
    return 0
}

_registry_free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null ||
        echo $((20000 + RANDOM % 20000))
}

registry_start() {
    local dir="$1" tls="${2:-}" scheme=http port
    registry_require || return 1
    mkdir -p "$dir/storage" || return 1
    REGISTRY_DIR=$(cd "$dir" && pwd)
    port=$(_registry_free_port)
    REGISTRY_ADDR="127.0.0.1:$port"
    {
        echo "version: 0.1"
        echo "log: {level: error, accesslog: {disabled: true}}"
        echo "storage:"
        echo "  filesystem: {rootdirectory: $REGISTRY_DIR/storage}"
        echo "  delete: {enabled: true}"
        echo "http:"
        echo "  addr: $REGISTRY_ADDR"
    } >"$REGISTRY_DIR/config.yml"
    if [ "$tls" = tls ]; then
        scheme=https
        openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 \
            -addext subjectAltName=IP:127.0.0.1 -keyout "$REGISTRY_DIR/key.pem" \
            -out "$REGISTRY_DIR/cert.pem" >/dev/null 2>&1 || return 1
        echo "  tls: {certificate: $REGISTRY_DIR/cert.pem, key: $REGISTRY_DIR/key.pem}" \
            >>"$REGISTRY_DIR/config.yml"
        REGISTRY_CA="$REGISTRY_DIR/cert.pem"
    fi
    REGISTRY_URL="$scheme://$REGISTRY_ADDR"
    docker-registry serve "$REGISTRY_DIR/config.yml" >"$REGISTRY_DIR/registry.log" 2>&1 &
    REGISTRY_PID=$!
    local i
    for i in $(seq 1 100); do
        if curl -fsk -o /dev/null "$REGISTRY_URL/v2/"; then
            export REGISTRY_ADDR REGISTRY_URL REGISTRY_DIR REGISTRY_PID REGISTRY_CA
            return 0
        fi
        kill -0 "$REGISTRY_PID" 2>/dev/null || break
        sleep 0.1
    done
    echo "registry did not start; log:" >&2
    cat "$REGISTRY_DIR/registry.log" >&2
    registry_stop
    return 1
}

registry_stop() {
    if [ -n "${REGISTRY_PID:-}" ]; then
        kill "$REGISTRY_PID" 2>/dev/null
        wait "$REGISTRY_PID" 2>/dev/null
        REGISTRY_PID=
    fi
}

# Populates a rootfs with busybox, its applet links, passwd/group and marker files.
_registry_rootfs() {
    local r="$1" a
    mkdir -p "$r/bin" "$r/etc" "$r/data" "$r/tmp" "$r/root"
    cp /bin/busybox "$r/bin/busybox"
    for a in $(/bin/busybox --list); do
        [ "$a" = busybox ] || ln -sf busybox "$r/bin/$a"
    done
    echo 'root:x:0:0:root:/root:/bin/sh' >"$r/etc/passwd"
    echo 'nobody:x:65534:65534:nobody:/:/bin/false' >>"$r/etc/passwd"
    printf 'root:x:0:\nnogroup:x:65534:\n' >"$r/etc/group"
    echo hello >"$r/etc/hello.txt"
    echo gone >"$r/etc/gone.txt"
    echo old >"$r/data/old.txt"
}

# Builds (once) the OCI layout $REGISTRY_DIR/oci with tags "base" and "two".
_registry_build() {
    local L="$REGISTRY_DIR/oci" B="$REGISTRY_DIR/bundle"
    [ -f "$L/index.json" ] && [ -f "$REGISTRY_DIR/.built" ] && return 0
    rm -rf "$L" "$B" "$B.2"
    umoci init --layout "$L" &&
        umoci new --image "$L:base" &&
        umoci unpack --image "$L:base" "$B" >/dev/null || return 1
    _registry_rootfs "$B/rootfs"
    umoci repack --image "$L:base" "$B" &&
        umoci config --image "$L:base" --config.cmd=/bin/sh \
            --config.env=PATH=/usr/sbin:/usr/bin:/sbin:/bin --config.workingdir=/ || return 1
    umoci unpack --image "$L:base" "$B.2" >/dev/null || return 1
    rm -f "$B.2/rootfs/etc/gone.txt"
    rm -rf "$B.2/rootfs/data" && mkdir "$B.2/rootfs/data" && echo new >"$B.2/rootfs/data/new.txt"
    echo new >"$B.2/rootfs/etc/new.txt"
    umoci repack --image "$L:two" "$B.2" &&
        umoci config --image "$L:two" --config.entrypoint=/bin/echo --config.cmd=two \
            --config.env=PATH=/bin --config.env=FOO=bar || return 1
    umoci gc --layout "$L" && rm -rf "$B" "$B.2" && touch "$REGISTRY_DIR/.built"
}

_registry_push() { # layout-tag dest [oci|v2s2]
    local fmt=()
    [ "${3:-oci}" = v2s2 ] && fmt=(--format v2s2)
    _registry_build || return 1
    skopeo copy --quiet --dest-tls-verify=false "${fmt[@]}" "oci:$REGISTRY_DIR/oci:$1" \
        "docker://$REGISTRY_ADDR/$2" >/dev/null
}

registry_push_busybox() { _registry_push base "$1" "${2:-oci}"; }
registry_push_twolayer() { _registry_push two "$1" "${2:-oci}"; }

# Puts an OCI index with linux/amd64 (base) and linux/arm64 (two) entries into the layout as
# tag "multi" and pushes it with all its manifests.
registry_push_index() {
    local fmt=()
    [ "${2:-oci}" = v2s2 ] && fmt=(--format v2s2)
    _registry_build || return 1
    local L="$REGISTRY_DIR/oci" m1 m2 s1 s2 idx dg
    m1=$(jq -r '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"]=="base") | .digest' "$L/index.json")
    m2=$(jq -r '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"]=="two") | .digest' "$L/index.json")
    s1=$(stat -c %s "$L/blobs/sha256/${m1#sha256:}")
    s2=$(stat -c %s "$L/blobs/sha256/${m2#sha256:}")
    idx=$(printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"%s","size":%s,"platform":{"architecture":"arm64","os":"linux"}},{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"%s","size":%s,"platform":{"architecture":"amd64","os":"linux"}}]}' "$m2" "$s2" "$m1" "$s1")
    dg=$(printf '%s' "$idx" | sha256sum | cut -d' ' -f1)
    printf '%s' "$idx" >"$L/blobs/sha256/$dg"
    jq --arg d "sha256:$dg" --argjson s "${#idx}" \
        '.manifests |= (map(select(.annotations["org.opencontainers.image.ref.name"]!="multi")) + [{"mediaType":"application/vnd.oci.image.index.v1+json","digest":$d,"size":$s,"annotations":{"org.opencontainers.image.ref.name":"multi"}}])' \
        "$L/index.json" >"$L/index.json.new" && mv "$L/index.json.new" "$L/index.json"
    skopeo copy --quiet --all --dest-tls-verify=false "${fmt[@]}" "oci:$L:multi" \
        "docker://$REGISTRY_ADDR/$1" >/dev/null
}

registry_manifest_digest() {
    local name="${1%:*}" tag="${1##*:}"
    curl -fsSk -o /dev/null -D - \
        -H 'Accept: application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json' \
        "$REGISTRY_URL/v2/$name/manifests/$tag" | tr -d '\r' | awk -F': ' 'tolower($1)=="docker-content-digest"{print $2}'
}

registry_blob_path() {
    local h="${1#sha256:}"
    echo "$REGISTRY_DIR/storage/docker/registry/v2/blobs/sha256/${h:0:2}/$h/data"
}
