#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The kubelet server's TLS front for the streaming routes: tests/stream/test_agent_spdy.py
(exec, stdin, tty, port-forward, negotiation errors, a vanished client, idle reaping) run
unchanged against kubelet_tls_host, with every connection of that client wrapped in TLS and
presenting a client certificate of the test CA; then a client without a certificate and one
with a certificate of another CA get 401 on an exec upgrade.
usage: test_tls_stream.py TLS_HOST_BIN SRC_DIR"""
import atexit, os, runpy, shutil, socket, ssl, subprocess, sys, tempfile

HOST, SRC = sys.argv[1], sys.argv[2]
d = tempfile.mkdtemp(prefix="ck-tlsstream-")
atexit.register(shutil.rmtree, d, True)


def sh(*args):
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def issue(name, ca, subj):
    sh("openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-subj",
       subj, "-keyout", f"{d}/{name}.key", "-out", f"{d}/{name}.csr")
    sh("openssl", "x509", "-req", "-in", f"{d}/{name}.csr", "-CA", f"{d}/{ca}.crt", "-CAkey",
       f"{d}/{ca}.key", "-days", "1", "-out", f"{d}/{name}.crt")


for ca in ("ca", "other"):
    sh("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
       "-days", "1", "-subj", "/CN=" + ca, "-keyout", f"{d}/{ca}.key", "-out", f"{d}/{ca}.crt")
issue("srv", "ca", "/CN=127.0.0.1")
issue("cli", "ca", "/CN=kube-apiserver-kubelet-client")
issue("bad", "other", "/CN=intruder")
os.environ.update(TLS_CERT=f"{d}/srv.crt", TLS_KEY=f"{d}/srv.key", TLS_CA=f"{d}/ca.crt")


def context(cert):
    c = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    c.load_verify_locations(f"{d}/ca.crt")
    c.check_hostname = False
    if cert:
        c.load_cert_chain(f"{d}/{cert}.crt", f"{d}/{cert}.key")
    return c


plain_connect = socket.create_connection
good = context("cli")


def tls_connect(addr, *a, **k):
    return good.wrap_socket(plain_connect(addr, *a, **k))


# the refusals first, on a host of our own
host = subprocess.Popen([HOST], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
port = int(host.stdout.readline().split()[1])
req = (b"POST /exec/default/p1/c1?command=true&output=1 HTTP/1.1\r\nHost: x\r\n"
       b"Connection: Upgrade\r\nUpgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: v4.channel.k8s.io\r\n\r\n")
for cert in (None, "bad"):
    s = context(cert).wrap_socket(plain_connect(("127.0.0.1", port), timeout=10))
    s.sendall(req)
    head = s.recv(4096)
    if not head.startswith(b"HTTP/1.1 401 "):
        print("FAIL: client certificate %s: %r" % (cert, head[:100]))
        sys.exit(1)
    s.close()
s = good.wrap_socket(plain_connect(("127.0.0.1", port), timeout=10))
s.sendall(req)
head = s.recv(4096)
if not head.startswith(b"HTTP/1.1 101 "):
    print("FAIL: the CA's client certificate: %r" % head[:100])
    sys.exit(1)
s.close()
host.stdin.close()
host.wait(timeout=20)
print("ok   401 without a client certificate and with another CA's; 101 with the CA's")

socket.create_connection = tls_connect
sys.argv = [SRC + "/tests/stream/test_agent_spdy.py", HOST, SRC]
runpy.run_path(sys.argv[0], run_name="__main__")
