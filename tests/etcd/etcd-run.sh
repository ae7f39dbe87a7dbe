#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Runs a throwaway single-member etcd on 127.0.0.1 for tests and manual use of the etcd store.
#   etcd-run.sh start DIR   -> starts etcd with free ports, data in DIR, prints the client URL
#   etcd-run.sh stop DIR    -> kill -9 and wait; DIR is kept (restart with start DIR)
#   etcd-run.sh check       -> start, answer one range request, stop (a self-test)
set -eu
ETCD=${ETCD:-/usr/bin/etcd}
free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
start() {
    dir=$1
    mkdir -p "$dir"
    if [ -f "$dir/ports" ]; then . "$dir/ports"; else
        cport=$(free_port); pport=$(free_port)
        while [ "$pport" = "$cport" ]; do pport=$(free_port); done
        printf 'cport=%s\npport=%s\n' "$cport" "$pport" >"$dir/ports"
    fi
    c=http://127.0.0.1:$cport p=http://127.0.0.1:$pport
    "$ETCD" --data-dir "$dir/data" --listen-client-urls "$c" --advertise-client-urls "$c" \
        --listen-peer-urls "$p" --initial-advertise-peer-urls "$p" --initial-cluster "default=$p" \
        --max-txn-ops 4096 --log-level warn >>"$dir/etcd.log" 2>&1 &
    echo $! >"$dir/pid"
    i=0
    until curl -sf -m 1 -X POST -d '{"key":"AA=="}' "$c/v3/kv/range" >/dev/null 2>&1; do
        i=$((i + 1))
        if [ $i -gt 100 ]; then echo "etcd did not start; see $dir/etcd.log" >&2; exit 1; fi
        sleep 0.1
    done
    echo "$c"
}
stop() {
    [ -f "$1/pid" ] || return 0
    pid=$(cat "$1/pid")
    kill -9 "$pid" 2>/dev/null || true
    while kill -0 "$pid" 2>/dev/null; do sleep 0.05; done
    rm -f "$1/pid"
}
case "${1:-}" in
start) start "$2" ;;
stop) stop "$2" ;;
check)
    [ -x "$ETCD" ] || { echo "SKIP: $ETCD is missing (install Debian etcd-server)"; exit 0; }
    d=$(mktemp -d /tmp/ckube-etcd-sh-XXXXXX)
    trap 'stop "$d"; rm -rf "$d"' EXIT
    url=$(start "$d")
    out=$(curl -sf -m 2 -X POST -d '{"key":"AA==","range_end":"AA==","count_only":true}' "$url/v3/kv/range")
    echo "$out" | grep -q '"revision":"1"' || { echo "unexpected answer: $out" >&2; exit 1; }
    echo "ok: etcd answered at $url"
    ;;
*) echo "usage: $0 start DIR | stop DIR | check" >&2; exit 2 ;;
esac
