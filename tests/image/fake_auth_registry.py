#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# A minimal registry for the auth tests: serves an OCI layout read-only over the v2 API, but
# only with "Authorization: Bearer <token>"; the token comes from /token, which wants Basic
# credentials user:pass. Blob GETs answer 307 to /redir/<digest> (redirects must be followed).
# Usage: fake_auth_registry.py LAYOUT_DIR PORTFILE   (writes the port it bound, 127.0.0.1 only)
import base64, json, os, sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LAYOUT, PORTFILE = sys.argv[1], sys.argv[2]
TOKEN = "tok-" + os.urandom(8).hex()
CREDS = "Basic " + base64.b64encode(b"user:pass").decode()
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
FLAKY_SEEN = set()


class H(BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def send(self, code, body=b"", ctype="application/json", extra=()):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in extra:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def challenge(self):
        port = self.server.server_address[1]
        hdr = 'Bearer realm="http://127.0.0.1:%d/token",service="fake",scope="repository:probe/busybox:pull"' % port
        err = json.dumps({"errors": [{"code": "UNAUTHORIZED", "message": "authentication required"}]})
        self.send(401, err.encode(), extra=[("WWW-Authenticate", hdr)])

    def blob(self, digest):
        p = os.path.join(LAYOUT, "blobs", "sha256", digest.split(":", 1)[-1])
        if not os.path.isfile(p):
            return None
        with open(p, "rb") as f:
            return f.read()

    def do_GET(self):
        path = self.path.split("?", 1)[0]
        if path == "/token":
            if self.headers.get("Authorization") != CREDS:
                return self.send(401, b'{"details":"bad credentials"}')
            q = self.path.split("?", 1)[1] if "?" in self.path else ""
            if "scope=repository%3Aprobe%2Fbusybox%3Apull" not in q or "service=fake" not in q:
                return self.send(400, b'{"details":"bad scope"}')
            return self.send(200, json.dumps({"token": TOKEN}).encode())
        if path.startswith("/flaky/"):
            # the first GET of each blob promises everything, sends half, and hangs up
            digest = path[len("/flaky/"):]
            data = self.blob(digest)
            if data is None:
                return self.send(404)
            if digest not in FLAKY_SEEN:
                FLAKY_SEEN.add(digest)
                self.send_response(200)
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data[: len(data) // 2])
                self.wfile.flush()
                self.close_connection = True
                return
            return self.send(200, data, "application/octet-stream")
        if path.startswith("/redir/"):
            data = self.blob(path[len("/redir/"):])
            return self.send(200, data, "application/octet-stream") if data is not None else self.send(404)
        if self.headers.get("Authorization") != "Bearer " + TOKEN:
            return self.challenge()
        if path == "/v2/":
            return self.send(200, b"{}")
        parts = path.split("/")
        if len(parts) == 6 and parts[:3] == ["", "v2", "probe"] and parts[3] in ("busybox", "flaky"):
            redir = "/flaky/" if parts[3] == "flaky" else "/redir/"
            kind, ref = parts[4], parts[5]
            if kind == "blobs":
                if self.blob(ref) is None:
                    return self.send(404, b'{"errors":[{"code":"BLOB_UNKNOWN","message":"blob unknown"}]}')
                return self.send(307, b"", extra=[("Location", redir + ref)])
            if kind == "manifests":
                if not ref.startswith("sha256:"):
                    with open(os.path.join(LAYOUT, "index.json")) as f:
                        idx = json.load(f)
                    m = [d for d in idx["manifests"]
                         if d.get("annotations", {}).get("org.opencontainers.image.ref.name") == ref]
                    ref = m[0]["digest"] if m else None
                data = self.blob(ref) if ref else None
                if data is None:
                    return self.send(404, b'{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}')
                return self.send(200, data, OCI_MANIFEST)
        self.send(404, b'{"errors":[{"code":"NAME_UNKNOWN","message":"repository name not known"}]}')


srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
with open(PORTFILE + ".tmp", "w") as f:
    f.write(str(srv.server_address[1]))
os.rename(PORTFILE + ".tmp", PORTFILE)
srv.serve_forever()
