#!/usr/bin/python3
"""castellan's Vault key manager configured by a service kit's castellan.conf (nothing else).

argv[1]: the kit's castellan.conf (AppRole credentials, https vault_url, ssl_ca_crt_file).
stdin: JSON {"expect": {secret id: value}, "forbidden": [secret id, ...]}.
stdout: JSON {"checks": {id: "ok" | "forbidden" | "mismatch" | "<error class>"}}; never a value.
"""

import json
import sys

from castellan import key_manager
from castellan.common import exception
from oslo_config import cfg


def main():
    conf = cfg.ConfigOpts()
    conf(args=[], project="strongroom-compat", default_config_files=[sys.argv[1]], default_config_dirs=[])
    manager = key_manager.API(conf)
    request = json.load(sys.stdin)
    checks = {}
    for secret_id, expected in request.get("expect", {}).items():
        try:
            value = manager.get("ctx", secret_id).get_encoded().decode("utf-8")
            checks[secret_id] = "ok" if value == expected else "mismatch"
        except exception.Forbidden:
            checks[secret_id] = "forbidden"
        except Exception as error:
            checks[secret_id] = type(error).__name__
    for secret_id in request.get("forbidden", []):
        try:
            manager.get("ctx", secret_id)
            checks[secret_id] = "readable"
        except exception.Forbidden:
            checks[secret_id] = "forbidden"
        except Exception as error:
            checks[secret_id] = type(error).__name__
    json.dump({"checks": checks}, sys.stdout)


if __name__ == "__main__":
    main()
