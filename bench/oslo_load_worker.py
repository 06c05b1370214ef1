#!/usr/bin/python3
"""One side of the oslo-load bench (bench/oslo-load.mjs): a long-lived oslo.config program.

    /usr/bin/python3 bench/oslo_load_worker.py CONFIG_FILE

CONFIG_FILE is the service kit's oslo-sources.conf (config_source = strongroom: remote_file
over mTLS) or its copy with config_source = strongroom_vault (castellan, straight from Vault).
The interpreter, oslo.config, stevedore and the source drivers are imported once, so the timed
loads do not include interpreter start-up.

stdin, line by line:
  1. JSON {"spec": [{"group", "name", "type", "secret"}], "expected": {group: {name: value}},
     "warmup": N}: the options as the service registers them (test/compat/oslo_opts.py maps the
     types), and the values the broker resolves for them (compared here, never printed).
  2. then "load" (one timed load, answered with one JSON line) or "quit".
Each load builds a new ConfigOpts, registers every option, parses CONFIG_FILE (this opens the
config source: remote_file downloads the whole INI here) and reads every option (castellan asks
Vault here, one secret per option, after one AppRole login). Nothing is reused between loads:
each one is what a service process does when it starts.
stdout: one JSON line per command: {"ms", "open_ms", "read_ms", "cpu_ms", "options",
"matching", "sources", "digest"}. `digest` is a SHA-256 of all the values (for the other side to
compare); no value is ever written.
"""

import gc
import hashlib
import json
import logging
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "test", "compat"))

from oslo_config import cfg  # noqa: E402

from oslo_opts import OPT_CLASSES  # noqa: E402  test/compat/oslo_opts.py


def digest(values):
    canonical = json.dumps(values, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def close_sources(conf):
    """The castellan source's key manager keeps a requests session open: close it (untimed)."""
    for source in getattr(conf, "_sources", []):
        manager = getattr(source, "_mngr", None)
        session = getattr(manager, "_session", None)
        if session is not None:
            session.close()


def load(config_file, spec, expected):
    started = time.perf_counter()
    cpu = time.process_time()
    conf = cfg.ConfigOpts()
    for opt in spec:
        group = None if opt["group"] == "DEFAULT" else opt["group"]
        conf.register_opt(OPT_CLASSES[opt["type"]](opt["name"], secret=opt["secret"]), group=group)
    conf(
        args=["--config-file", config_file],
        project="strongroom-bench",
        default_config_files=[],
        default_config_dirs=[],
        use_env=False,
    )
    opened = time.perf_counter()
    values = {}
    for opt in spec:
        group = conf if opt["group"] == "DEFAULT" else getattr(conf, opt["group"])
        values.setdefault(opt["group"], {})[opt["name"]] = getattr(group, opt["name"])
    done = time.perf_counter()
    cpu_ms = (time.process_time() - cpu) * 1000

    # Untimed checks: every option came from the config source (not a default) and equals what
    # the broker resolves for it.
    matching = 0
    for opt in spec:
        group = None if opt["group"] == "DEFAULT" else opt["group"]
        location = conf.get_location(opt["name"], group)
        value = values[opt["group"]][opt["name"]]
        if (
            value is not None
            and location is not None
            and location.location is cfg.Locations.user
            and value == expected.get(opt["group"], {}).get(opt["name"])
        ):
            matching += 1
    sources = [type(s).__name__ for s in conf._sources]
    close_sources(conf)
    return {
        "ms": (done - started) * 1000,
        "open_ms": (opened - started) * 1000,
        "read_ms": (done - opened) * 1000,
        "cpu_ms": cpu_ms,
        "options": sum(len(group) for group in values.values()),
        "matching": matching,
        "sources": sources,
        "digest": digest(values),
    }


def main():
    # oslo logs a source it could not open at ERROR and carries on with defaults: keep it visible.
    logging.basicConfig(stream=sys.stderr, level=logging.WARNING)
    config_file = sys.argv[1]
    init = json.loads(sys.stdin.readline())
    spec, expected = init["spec"], init["expected"]
    started = time.perf_counter()
    warmups = [load(config_file, spec, expected) for _ in range(init.get("warmup", 3))]
    print(
        json.dumps(
            {
                "ready": True,
                "warmup_ms": [round(w["ms"], 3) for w in warmups],
                "warmup_total_ms": (time.perf_counter() - started) * 1000,
                "expected_digest": digest(expected),
            }
        ),
        flush=True,
    )
    for line in sys.stdin:
        command = line.strip()
        if command == "quit":
            break
        if command != "load":
            print(json.dumps({"error": "unknown command"}), flush=True)
            continue
        gc.collect()  # the previous load's garbage is not this load's cost
        print(json.dumps(load(config_file, spec, expected)), flush=True)


if __name__ == "__main__":
    main()
