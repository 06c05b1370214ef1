#!/usr/bin/python3
"""An oslo.config program as a service would be: registers options, loads its config, prints them.

stdin: a JSON list of {"group", "name", "type", "secret"} (type as in the strongroom manifest).
argv: passed to ConfigOpts as the command line, e.g. --config-file KIT/oslo-sources.conf.
stdout: JSON {"values": {group: {name: value}}, "locations": {group: {name: location name}},
"sources": [names of the config sources that were opened]}. Exits 3 when an option cannot be read.
"""

import json
import logging
import sys

from oslo_config import cfg

from oslo_opts import OPT_CLASSES  # test/compat/oslo_opts.py


def main():
    # oslo logs a source it could not open at ERROR and goes on: make that visible on stderr.
    logging.basicConfig(stream=sys.stderr, level=logging.WARNING)
    spec = json.load(sys.stdin)
    conf = cfg.ConfigOpts()
    for opt in spec:
        group = None if opt["group"] == "DEFAULT" else opt["group"]
        conf.register_opt(OPT_CLASSES[opt["type"]](opt["name"], secret=opt["secret"]), group=group)
    conf(args=sys.argv[1:], project="strongroom-compat", default_config_files=[], default_config_dirs=[])

    values, locations = {}, {}
    for opt in spec:
        group = conf if opt["group"] == "DEFAULT" else getattr(conf, opt["group"])
        try:
            value = getattr(group, opt["name"])
            location = conf.get_location(opt["name"], None if opt["group"] == "DEFAULT" else opt["group"])
        except Exception as error:  # the option's name only: a message could quote a value
            print("cannot read [%s] %s: %s" % (opt["group"], opt["name"], type(error).__name__), file=sys.stderr)
            sys.exit(3)
        values.setdefault(opt["group"], {})[opt["name"]] = value
        locations.setdefault(opt["group"], {})[opt["name"]] = location.location.name if location else None
    json.dump({"values": values, "locations": locations, "sources": [type(s).__name__ for s in conf._sources]}, sys.stdout)


if __name__ == "__main__":
    main()
