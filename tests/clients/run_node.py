#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Runs node/client_node.mjs (the real @kubernetes/client-node, installed by scripts/deps.sh
with `npm ci`) against a fresh `ckube server`, passing it the server's kubeconfig.

usage: run_node.py CKUBE_BIN [CASE,...]"""

import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
from ckubetest import Fail, Server  # noqa: E402


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    node_dir = os.path.join(HERE, "node")
    if not os.path.isdir(os.path.join(node_dir, "node_modules", "@kubernetes", "client-node")):
        print("FAIL setup: %s/node_modules missing: run scripts/deps.sh (npm ci)" % node_dir)
        return 1
    work = tempfile.mkdtemp(prefix="ckube-nodeclient-")
    s = Server(sys.argv[1], os.path.join(work, "data"))
    rc = 1
    try:
        s.start()
        env = dict(os.environ, KUBECONFIG=s.kubeconfig, HOME=work)
        rc = subprocess.run(["node", "client_node.mjs"] + sys.argv[2:], cwd=node_dir, env=env,
                            timeout=240).returncode
    finally:
        try:
            s.stop()
        except Fail as e:
            print("FAIL server stop: %s" % e)
            rc = 1
        shutil.rmtree(work, ignore_errors=True)
    return rc


if __name__ == "__main__":
    sys.exit(main())
