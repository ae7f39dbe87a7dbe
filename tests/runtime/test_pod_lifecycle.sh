#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Bar 1: registry -> pull -> pod with two containers sharing the netns (httpd + client on
# 127.0.0.1), CRI logs of both, exec exit codes, hostPort, OOMKilled/137, stop/remove, and
# no mounts/netns/cgroups/veths left.
set -u
. "$(dirname "$0")/lib.sh"
rt_init "$@"
trap rt_cleanup EXIT
registry_start "$T/reg" || exit 1
registry_push_busybox test/busybox:1 || fail "push"
IMG=$REGISTRY_ADDR/test/busybox:1
crt pull --insecure "$IMG" || fail "pull"
crt images | grep -q "test/busybox" || fail "image not listed"

UID_=e2e-$$
HP=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat >"$T/pod.json" <<J
{"metadata":{"name":"web","namespace":"e2e","uid":"$UID_"},"hostname":"webpod",
 "log_directory":"$T/podlogs","port_mappings":[{"container_port":8080,"host_port":$HP}]}
J
cat >"$T/httpd.json" <<J
{"metadata":{"name":"httpd"},"image":{"image":"$IMG"},"log_path":"httpd/0.log",
 "command":["sh","-c","echo httpd-starting; echo to-stderr >&2; exec httpd -f -p 8080 -h /etc"],
 "linux":{"resources":{"memory_limit_in_bytes":67108864,"cpu_shares":256}}}
J
cat >"$T/client.json" <<J
{"metadata":{"name":"client"},"image":{"image":"$IMG"},"log_path":"client/0.log",
 "envs":[{"key":"GREETING","value":"hi"}],
 "command":["sh","-c","for i in \$(seq 50); do wget -q -O- http://127.0.0.1:8080/hello.txt && break; sleep 0.1; done; echo \$GREETING-done; sleep 1000"]}
J
cat >"$T/oom.json" <<J
{"metadata":{"name":"hog"},"image":{"image":"$IMG"},
 "command":["dd","if=/dev/zero","of=/dev/null","bs=100M","count=1"],
 "linux":{"resources":{"memory_limit_in_bytes":33554432}}}
J
POD=$(crt runp "$T/pod.json") || fail "runp"
IP=$(crt inspectp "$POD" | jq -r .network.ip)
[ -n "$IP" ] && [ "$IP" != null ] || fail "no pod IP"
ip netns list | grep -q "ckube-${POD:0:24}" || fail "netns not visible in ip netns"
C1=$(crt run "$POD" "$T/httpd.json") || fail "run httpd"
C2=$(crt run "$POD" "$T/client.json") || fail "run client"
wait_for 10 grep -q "hi-done" "$T/podlogs/client/0.log" || { crt logs "$C2"; fail "client never finished"; }
crt logs "$C2" | grep -qx hello || fail "client did not fetch from httpd over 127.0.0.1"
crt logs "$C1" 2>/dev/null | grep -qx httpd-starting || fail "httpd stdout log"
crt logs "$C1" 2>&1 >/dev/null | grep -qx to-stderr || fail "httpd stderr log"
for f in "$T/podlogs/httpd/0.log" "$T/podlogs/client/0.log"; do
    grep -qvE '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{9}Z (stdout|stderr) [FP] ' "$f" &&
        fail "non-CRI line in $f"
done
grep -q ' stderr F to-stderr$' "$T/podlogs/httpd/0.log" || fail "stderr record"
# pod IP and hostPort reach httpd too
curl -fsS -m 5 "http://$IP:8080/hello.txt" | grep -qx hello || fail "pod IP unreachable"
curl -fsS -m 5 "http://127.0.0.1:$HP/hello.txt" | grep -qx hello || fail "hostPort unreachable"
# exec: output and exit code
out=$(crt exec "$C2" sh -c 'cat /etc/hostname; exit 42'); rc=$?
[ $rc = 42 ] || fail "exec exit code $rc"
[ "$out" = webpod ] || fail "exec output '$out'"
crt exec "${C2:0:12}" true || fail "exec by id prefix"
[ "$(echo piped | crt exec -i "$C2" cat)" = piped ] || fail "exec -i stdin"
# OOM
C3=$(crt run "$POD" "$T/oom.json") || fail "run hog"
is_exited() { [ "$(crt inspect "$1" | jq -r .state)" = CONTAINER_EXITED ]; }
wait_for 10 is_exited "$C3" ||
    fail "hog did not exit"
J3=$(crt inspect "$C3")
[ "$(echo "$J3" | jq .exitCode)" = 137 ] || fail "hog exit code: $J3"
[ "$(echo "$J3" | jq -r .reason)" = OOMKilled ] || fail "hog reason: $J3"
timeout 15 "$CKUBE" crt --root "$ROOT" logs -f "$C3" >/dev/null 2>&1 || fail "logs -f did not end with the container"
crt stats | grep -q "${C1:0:13}" || fail "stats"
# stop (TERM ignored by httpd as PID 1 -> KILL after 1 s), then remove everything
crt stop -t 1 "$C1" >/dev/null || fail "stop"
[ "$(crt inspect "$C1" | jq -r .state)" = CONTAINER_EXITED ] || fail "not exited after stop"
crt ps | grep -q "${C1:0:13}" && fail "stopped container still listed as running"
crt rm "$C1" "$C2" "$C3" >/dev/null || fail "rm"
crt stopp "$POD" >/dev/null || fail "stopp"
ip netns list | grep -q "ckube-${POD:0:24}" && fail "netns survived stopp"
crt rmp "$POD" >/dev/null || fail "rmp"
crt rmp "$POD" >/dev/null || fail "rmp not idempotent"
assert_no_leftovers "$POD" "$UID_"
# portmap's DEL must have removed the hostPort's DNAT (it needs the ADD's port mappings)
if iptables -t nat -S 2>/dev/null | grep -q -- "--dport $HP -j DNAT"; then
    fail "hostPort $HP DNAT rule survived rmp"
fi
echo "PASS: pod lifecycle"
