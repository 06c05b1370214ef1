#!/usr/bin/python3
"""castellan 4.0.0's Vault key manager (Debian python3-castellan) against a Vault-compatible server.

The key manager is built the way an OpenStack service builds it: an oslo.config ConfigOpts
reading a config file with

    [key_manager]
    backend = vault
    [vault]
    vault_url = ...
    root_token_id = ...            (or approle_role_id / approle_secret_id)
    kv_mountpoint = ...
    kv_version = 2

and castellan.key_manager.API(conf), which loads the "vault" driver through stevedore.

Environment: VAULT_ADDR (required); VAULT_TOKEN, or VAULT_ROLE_ID and VAULT_SECRET_ID;
VAULT_KV_MOUNT (default secret); VAULT_KV_VERSION (default 2).

stdin: a JSON object saying what to check (every field optional):
    {"passphrases": ["text", ...],        store() each (UTF-8 bytes), get byte-exact, list, delete
     "seeded": [{"id", "value", "name", "created"}],   records written by someone else: get them
     "forbidden": ["id", ...],            get must raise castellan's Forbidden (HTTP 403)
     "missing": ["id", ...],              get must raise ManagedObjectNotFoundError (HTTP 404)
     "create_key": true,                  create_key(AES, 256), get it back
     "expect_login_failure": true,        every call must raise KeyManagerError (AppRole login 400)
     "expect_unavailable": true}          every call must raise KeyManagerError (server sealed: 503)

stdout: ONE JSON object {"checks": {name: "ok" | "<error>"}, "failed": [...], "info": {...}};
exit 0 only when every check is "ok".
"""

import json
import logging
import os
import re
import sys
import tempfile
import uuid

from compat_checks import RESULTS, TRACES, CheckFailed, expect, expect_eq  # test/compat/compat_checks.py
from compat_checks import check as _check

INFO = {}


def emit_and_exit(code):
    failed = sorted(n for n, r in RESULTS.items() if r != "ok")
    print(json.dumps({"checks": RESULTS, "failed": failed, "info": INFO}, indent=1))
    for name in failed:
        if name in TRACES:
            sys.stderr.write("--- %s\n%s\n" % (name, TRACES[name]))
    sys.exit(code if code else (1 if failed else 0))


try:
    from castellan import key_manager
    from castellan.common import exception as cx
    from castellan.common.objects import passphrase, symmetric_key
    from castellan.key_manager import vault_key_manager
    from oslo_config import cfg
except ImportError as error:  # pragma: no cover - reported to the wrapper
    RESULTS["import"] = "ImportError: %s" % error
    emit_and_exit(1)


def expect_raises(exc_type, fn, *args):
    try:
        result = fn(*args)
    except Exception as error:
        if type(error) is not exc_type:
            raise CheckFailed("expected %s, got %s: %s" % (exc_type.__name__, type(error).__name__, error))
        return error
    raise CheckFailed("expected %s, but the call returned %r" % (exc_type.__name__, result))


def check(name, fn, needs=()):
    return _check(name, fn, needs, trace_limit=8)


class Capture(logging.Handler):
    """castellan logs through oslo.log (stdlib logging); keep its records for the report."""

    def __init__(self):
        super().__init__(level=logging.DEBUG)
        self.lines = []

    def emit(self, record):
        if record.name.startswith(("castellan", "oslo", "stevedore")):
            self.lines.append("%s %s: %s" % (record.levelname, record.name, record.getMessage()))


def ini_value(value):
    # oslo.config's INI parser keeps everything after "key =" verbatim, stripped; refuse what
    # it could not carry rather than write a config that means something else.
    text = str(value)
    expect("\n" not in text and text == text.strip(), "config value representable in INI", text)
    return text


def build_manager(workdir):
    addr = os.environ["VAULT_ADDR"]
    lines = ["[key_manager]", "backend = vault", "", "[vault]", "vault_url = " + ini_value(addr)]
    if os.environ.get("VAULT_TOKEN"):
        lines.append("root_token_id = " + ini_value(os.environ["VAULT_TOKEN"]))
        INFO["auth"] = "token"
    else:
        lines.append("approle_role_id = " + ini_value(os.environ["VAULT_ROLE_ID"]))
        if os.environ.get("VAULT_SECRET_ID"):
            lines.append("approle_secret_id = " + ini_value(os.environ["VAULT_SECRET_ID"]))
        INFO["auth"] = "approle"
    lines.append("kv_mountpoint = " + ini_value(os.environ.get("VAULT_KV_MOUNT", "secret")))
    lines.append("kv_version = " + ini_value(os.environ.get("VAULT_KV_VERSION", "2")))
    path = os.path.join(workdir, "castellan.conf")
    with open(path, "w", encoding="utf-8") as handle:
        handle.write("\n".join(lines) + "\n")
    conf = cfg.ConfigOpts()
    conf(args=[], project="strongroom-compat", default_config_files=[path], use_env=False)
    manager = key_manager.API(conf)
    expect(isinstance(manager, vault_key_manager.VaultKeyManager),
           "key_manager.API(conf) is castellan's VaultKeyManager", type(manager))
    expect_eq(conf.key_manager.backend, "vault", "[key_manager] backend")
    return manager


HEX_ID = re.compile(r"^[0-9a-f]{32}$")


def main():
    spec = json.loads(sys.stdin.read() or "{}")
    if not os.environ.get("VAULT_ADDR"):
        RESULTS["usage"] = "VAULT_ADDR is required"
        emit_and_exit(2)
    capture = Capture()
    logging.getLogger().addHandler(capture)
    logging.getLogger().setLevel(logging.DEBUG)
    ctx = None  # the Vault key manager ignores the request context

    with tempfile.TemporaryDirectory(prefix="castellan-compat-") as workdir:
        holder = {}

        def build():
            holder["km"] = build_manager(workdir)

        check("config.vault_key_manager_from_oslo_config", build)
        needs = ["config.vault_key_manager_from_oslo_config"]
        km = holder.get("km")

        if spec.get("expect_login_failure"):

            def login_fails():
                error = expect_raises(cx.KeyManagerError, km.get, ctx, uuid.uuid4().hex)
                INFO["login_failure"] = str(error)
                expect_raises(cx.KeyManagerError, km.store, ctx, passphrase.Passphrase(b"x"))

            check("approle.bad_login_KeyManagerError", login_fails, needs)

        if spec.get("expect_unavailable"):

            def unavailable():
                # castellan maps 500/503/408/504/412 to KeyManagerError(reason phrase).
                error = expect_raises(cx.KeyManagerError, km.get, ctx, uuid.uuid4().hex)
                expect("Service Unavailable" in str(error), "503 reason phrase in the error", str(error))
                expect_raises(cx.KeyManagerError, km.store, ctx, passphrase.Passphrase(b"x"))
                expect_raises(cx.KeyManagerError, km.list, ctx)
                expect_raises(cx.KeyManagerError, km.delete, ctx, uuid.uuid4().hex)

            check("sealed.every_call_KeyManagerError", unavailable, needs)

        stored = {}
        for index, text in enumerate(spec.get("passphrases", [])):
            name = "passphrase[%d]" % index
            raw = text.encode("utf-8")

            def store(raw=raw, index=index):
                key_id = km.store(ctx, passphrase.Passphrase(raw))
                expect(HEX_ID.match(key_id or ""), "store() returns a uuid4 hex id", key_id)
                stored[index] = key_id

            check(name + ".store", store, needs)

            def get(raw=raw, index=index):
                obj = km.get(ctx, stored[index])
                expect(isinstance(obj, passphrase.Passphrase), "get() returns a Passphrase", type(obj))
                expect_eq(obj.get_encoded(), raw, "bytes read back")
                expect_eq(obj.id, stored[index], "object id")
                expect_eq(obj.name, None, "name of a stored passphrase")
                expect_eq(obj.created, None, "created of a stored passphrase")

            check(name + ".get_byte_exact", get, [name + ".store"])
        INFO["stored_ids"] = list(stored.values())

        if stored:

            def listing():
                objects = km.list(ctx)
                ids = {o.id for o in objects}
                for key_id in stored.values():
                    expect(key_id in ids, "list() includes stored id " + key_id, sorted(ids))
                typed = km.list(ctx, object_type=passphrase.Passphrase)
                expect(set(stored.values()) <= {o.id for o in typed}, "list(object_type=Passphrase)")
                index_of = {key_id: index for index, key_id in stored.items()}
                for obj in objects:
                    if obj.id in index_of:
                        raw = spec["passphrases"][index_of[obj.id]].encode("utf-8")
                        expect_eq(obj.get_encoded(), raw, "bytes of listed object " + obj.id)

            check("list.includes_stored", listing, [n + ".store" for n in ("passphrase[%d]" % i for i in stored)])

            def delete():
                for key_id in stored.values():
                    km.delete(ctx, key_id)
                    expect_raises(cx.ManagedObjectNotFoundError, km.get, ctx, key_id)
                remaining = {o.id for o in km.list(ctx)}
                expect(not (remaining & set(stored.values())), "deleted ids are not listed", remaining)
                INFO["list_warnings"] = [line for line in capture.lines if "not adding it to the list" in line]

            check("delete.then_get_not_found", delete, ["list.includes_stored"])

        for record in spec.get("seeded", []):

            def seeded(record=record):
                obj = km.get(ctx, record["id"])
                expect(isinstance(obj, passphrase.Passphrase), "seeded record is a Passphrase", type(obj))
                expect_eq(obj.get_encoded(), record["value"].encode("utf-8"), "seeded bytes")
                expect_eq(obj.name, record["name"], "seeded name")
                expect_eq(obj.created, record["created"], "seeded created")

            check("seeded[%s].get" % record["id"], seeded, needs)

        for key_id in spec.get("forbidden", []):

            def forbidden(key_id=key_id):
                expect_raises(cx.Forbidden, km.get, ctx, key_id)

            check("forbidden[%s].get_raises_Forbidden" % key_id, forbidden, needs)

        for key_id in spec.get("missing", []):

            def missing(key_id=key_id):
                expect_raises(cx.ManagedObjectNotFoundError, km.get, ctx, key_id)

            check("missing[%s].get_raises_NotFound" % key_id, missing, needs)

        if spec.get("create_key"):

            def create_key():
                key_id = km.create_key(ctx, "AES", 256)
                expect(HEX_ID.match(key_id or ""), "create_key returns a uuid4 hex id", key_id)
                key = km.get(ctx, key_id)
                expect(isinstance(key, symmetric_key.SymmetricKey), "a SymmetricKey", type(key))
                expect_eq(key.algorithm, "AES", "algorithm")
                expect_eq(key.bit_length, 256, "bit_length")
                expect_eq(len(key.get_encoded()), 32, "key bytes")
                # castellan 4.0.0 passes (id, time) in the (name, created) slots of SymmetricKey.
                expect_eq(key.name, key_id, "name (castellan 4.0.0 stores the id there)")
                expect(isinstance(key.created, int), "created is an int", key.created)
                km.delete(ctx, key_id)

            check("create_key.aes256_roundtrip", create_key, needs)

        INFO["log"] = capture.lines[-40:]
    emit_and_exit(0)


if __name__ == "__main__":
    main()
