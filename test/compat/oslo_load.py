#!/usr/bin/python3
"""Loads options with the real oslo.config, as a service would, and prints what it got.

    /usr/bin/python3 oslo_load.py SPEC.json --config-file FILE [--config-file FILE ...]

SPEC.json: a JSON list of {"group": ..., "name": ..., "type": ...} (strongroom's option
types). The options are registered with the matching oslo.config Opt classes, the config
files parsed (no environment: use_env=False), and every option read.

stdout: one JSON object {"<group>/<name>": {"value": ..., "location": [name, detail]} or
{"error": "<exception class>"}}. Floats are sent as {"float": repr}.
"""

import json
import sys

from oslo_config import cfg

from oslo_opts import OPT_CLASSES as OPTS  # test/compat/oslo_opts.py


def encode(value):
    if isinstance(value, float):
        return {"float": repr(value)}
    return value


def main():
    spec_file, config_args = sys.argv[1], sys.argv[2:]
    with open(spec_file, encoding="utf-8") as f:
        spec = json.load(f)
    conf = cfg.ConfigOpts()
    for item in spec:
        opt = OPTS[item["type"]](item["name"])
        group = None if item["group"] == "DEFAULT" else item["group"]
        conf.register_opt(opt, group=group)
    conf(args=config_args, project="strongroom-compat", default_config_files=[], use_env=False)

    out = {}
    for item in spec:
        group = None if item["group"] == "DEFAULT" else item["group"]
        key = "%s/%s" % (item["group"], item["name"])
        try:
            value = conf[item["name"]] if group is None else conf[group][item["name"]]
            loc = conf.get_location(item["name"], group=group)
            out[key] = {
                "value": encode(value),
                "location": [loc.location.name, loc.detail] if loc else None,
            }
        except Exception as e:  # report, keep going: one bad option must not hide the others
            out[key] = {"error": type(e).__name__}
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
