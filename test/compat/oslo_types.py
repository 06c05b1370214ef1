#!/usr/bin/python3
"""Parses strings with oslo.config's real types: the oracle for src/config/oslo-types.ts.

stdin: a JSON list of [type, raw] pairs (type as in the strongroom manifest).
stdout: a JSON list of {"ok": true, "value": ...} or {"ok": false}, in the same order.
Floats are sent as repr() strings (inf and nan have no JSON form).
"""

import json
import sys

from oslo_config import types

TYPES = {
    "string": types.String(),
    "integer": types.Integer(),
    "float": types.Float(),
    "port": types.Port(),
    "boolean": types.Boolean(),
    "list": types.List(),
    "dict": types.Dict(),
    "ip": types.IPAddress(),
    "hostname": types.Hostname(),
    "host_address": types.HostAddress(),
    "uri": types.URI(),
}


def encode(value):
    if isinstance(value, float):
        return {"float": repr(value)}
    if isinstance(value, int) and not isinstance(value, bool):
        return value if abs(value) <= 2**53 - 1 else str(value)
    return value


def main():
    results = []
    for type_name, raw in json.load(sys.stdin):
        try:
            results.append({"ok": True, "value": encode(TYPES[type_name](raw))})
        except ValueError:
            results.append({"ok": False})
    json.dump(results, sys.stdout)


if __name__ == "__main__":
    main()
