#!/usr/bin/python3
"""Vault API contract, driven by Debian's python3-hvac (0.11.2).

Run against any Vault-compatible server: strongroom's embedded one or a real vault/bao binary.

    VAULT_ADDR=http://127.0.0.1:8200 /usr/bin/python3 hvac_contract.py --mode fresh
    VAULT_ADDR=... VAULT_TOKEN=<root> /usr/bin/python3 hvac_contract.py --mode dev

--mode fresh  the server is uninitialized and sealed (persistent storage, never used):
              the script initializes it with 5 shares / threshold 3 and unseals it.
--mode dev    the server is initialized and unsealed and VAULT_TOKEN is a root token
              (like `vault server -dev`, which also mounts KV v2 at secret/).

Prints ONE JSON object on stdout: {"checks": {name: "ok" | "<error>"}, "info": {...}}, and
exits 0 only when every check is "ok" (1 when some failed, 2 on a usage error). A check
whose prerequisite failed is reported as "skipped: needs ..." and counts as failed, so the
set of check names does not depend on what passed.
"""

import argparse
import base64
import binascii
import json
import os
import sys
import time
import uuid

from compat_checks import RESULTS, TRACES, CheckFailed, check, expect, expect_eq  # test/compat/compat_checks.py

try:
    import hvac
    from hvac import exceptions as hx
except ImportError as error:  # pragma: no cover - reported to the wrapper
    print(json.dumps({"checks": {"import_hvac": "ImportError: %s" % error}, "info": {}}))
    sys.exit(1)

INFO = {}
try:
    from importlib.metadata import version as _dist_version

    INFO["hvac_version"] = _dist_version("hvac")
except Exception:  # pragma: no cover - informational only
    INFO["hvac_version"] = "?"


def expect_raises(exc_type, fn, *args, **kwargs):
    """Calls fn and returns the exception, which must be exactly of hvac type exc_type."""
    try:
        result = fn(*args, **kwargs)
    except hx.VaultError as error:
        if type(error) is not exc_type:
            raise CheckFailed(
                "expected %s, got %s: %s" % (exc_type.__name__, type(error).__name__, error)
            )
        return error
    raise CheckFailed("expected %s, but the call returned %r" % (exc_type.__name__, _short(result)))


def mentions(error, text):
    """The errors list hvac parsed (present only when Content-Type is exactly application/json)
    has an entry containing text. Real Vault may wrap one ("1 error occurred:\n\t* ...")."""
    return isinstance(error.errors, list) and any(text in str(e) for e in error.errors)


def _short(value):
    text = repr(value)
    return text if len(text) < 300 else text[:300] + "..."


def status_of(response):
    """hvac returns the raw requests.Response for non-200 successes (204)."""
    return getattr(response, "status_code", 200 if isinstance(response, dict) else None)


def expect_204(response, what):
    expect_eq(status_of(response), 204, what + " status")


def health(admin, method, **params):
    """read_health_status never raises; for GET it returns the parsed body on a 200 (hvac's
    JSONAdapter) and the requests.Response otherwise. Returns (status, body or None)."""
    response = admin.sys.read_health_status(method=method, **params)
    if isinstance(response, dict):
        return 200, response
    body = None
    if response.text:
        body = response.json()
    return response.status_code, body


def wait_until(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    attempts = 0
    while True:
        attempts += 1
        try:
            if predicate():
                return attempts
        except Exception:
            pass
        if time.monotonic() > deadline:
            raise CheckFailed("timed out after %ss waiting for %s" % (timeout, what))
        time.sleep(0.1)


def client(token=""):
    # token "" (not None): hvac would otherwise fall back to $VAULT_TOKEN or ~/.vault-token.
    # timeout: a hung server must fail a check, not the whole run.
    return hvac.Client(url=ADDR, token=token, timeout=15)


# --------------------------------------------------------------------------------------
# init / unseal / health


def run_fresh_init(admin, state):
    sys_ = admin.sys

    def not_initialized():
        expect_eq(sys_.is_initialized(), False, "sys.is_initialized() on a fresh server")

    check("init.fresh_not_initialized", not_initialized)

    def health_uninitialized():
        expect_eq(health(admin, "HEAD"), (501, None), "HEAD sys/health while uninitialized")
        status, body = health(admin, "GET")
        expect_eq(status, 501, "GET sys/health status while uninitialized")
        expect_eq(body["initialized"], False, "GET sys/health initialized")
        expect_eq(body["sealed"], True, "GET sys/health sealed")
        status, _ = health(admin, "GET", uninit_code=299)
        expect_eq(status, 299, "GET sys/health?uninitcode=299 status")

    check("health.uninitialized_501", health_uninitialized)

    def invalid_init():
        for shares, threshold in ((3, 5), (2, 1), (0, 0)):
            expect_raises(hx.InvalidRequest, sys_.initialize, shares, threshold)
        expect_eq(sys_.is_initialized(), False, "still uninitialized after rejected inits")

    check("init.invalid_shares_InvalidRequest", invalid_init, needs=["init.fresh_not_initialized"])

    def initialize():
        result = sys_.initialize(5, 3)
        expect(isinstance(result, dict), "sys.initialize returns the JSON body", result)
        keys, keys_b64 = result["keys"], result["keys_base64"]
        expect_eq(len(keys), 5, "number of hex shares")
        expect_eq(len(keys_b64), 5, "number of base64 shares")
        expect(len(set(keys)) == 5, "the 5 shares differ")
        for hex_key, b64_key in zip(keys, keys_b64):
            expect_eq(binascii.unhexlify(hex_key), base64.b64decode(b64_key), "hex and base64 share")
        expect(isinstance(result["root_token"], str) and result["root_token"], "root_token set")
        state["keys"], state["keys_base64"] = keys, keys_b64
        admin.token = result["root_token"]

    check("init.initialize_5_3", initialize, needs=["init.fresh_not_initialized"])

    def initialized_now():
        expect_eq(sys_.is_initialized(), True, "sys.is_initialized() after initialize")
        again = expect_raises(hx.InvalidRequest, sys_.initialize, 5, 3)
        expect("already initialized" in str(again).lower(), "second init says already initialized", str(again))

    check("init.is_initialized_after", initialized_now, needs=["init.initialize_5_3"])

    def sealed_after_init():
        status = sys_.read_seal_status()
        expect_eq(status["sealed"], True, "seal-status sealed after init")
        expect_eq(status["initialized"], True, "seal-status initialized")
        expect_eq(status["t"], 3, "seal-status t")
        expect_eq(status["n"], 5, "seal-status n")
        expect_eq(status["progress"], 0, "seal-status progress")
        expect_eq(status["type"], "shamir", "seal-status type")
        expect_eq(sys_.is_sealed(), True, "sys.is_sealed()")

    check("seal_status.sealed_after_init", sealed_after_init, needs=["init.initialize_5_3"])

    def health_sealed():
        expect_eq(health(admin, "HEAD"), (503, None), "HEAD sys/health while sealed")
        status, body = health(admin, "GET")
        expect_eq(status, 503, "GET sys/health status while sealed")
        expect_eq(body["sealed"], True, "GET sys/health sealed")
        expect_eq(body["initialized"], True, "GET sys/health initialized")
        status, body = health(admin, "GET", sealed_code=200)
        expect_eq(status, 200, "GET sys/health?sealedcode=200 status")
        expect_eq(body["sealed"], True, "GET sys/health?sealedcode=200 still says sealed")

    check("health.sealed_503", health_sealed, needs=["init.initialize_5_3"])

    def sealed_vault_down():
        error = expect_raises(hx.VaultDown, admin.secrets.kv.v2.read_secret_version, "x")
        expect(mentions(error, "Vault is sealed"), "errors say Vault is sealed", error.errors)

    check("sealed.data_request_raises_VaultDown", sealed_vault_down, needs=["init.initialize_5_3"])

    def malformed_share():
        expect_raises(hx.InvalidRequest, sys_.submit_unseal_key, "this is not a key share")
        expect_eq(sys_.read_seal_status()["progress"], 0, "progress after a malformed share")

    check("unseal.malformed_share_InvalidRequest", malformed_share, needs=["init.initialize_5_3"])

    def progress_and_reset():
        first = sys_.submit_unseal_key(state["keys"][0])
        expect_eq(first["sealed"], True, "sealed after 1 of 3 shares")
        expect_eq(first["progress"], 1, "progress after 1 share")
        reset = sys_.submit_unseal_key(reset=True)
        expect_eq(reset["progress"], 0, "progress after reset")
        expect_eq(reset["sealed"], True, "still sealed after reset")

    check("unseal.progress_and_reset", progress_and_reset, needs=["init.initialize_5_3"])

    def unseal():
        result = sys_.submit_unseal_keys(state["keys"][1:])  # stops after the 3rd
        expect_eq(result["sealed"], False, "sealed after 3 shares")
        expect_eq(sys_.is_sealed(), False, "sys.is_sealed() after unseal")
        state["unseal_polls"] = wait_until(
            lambda: health(admin, "GET")[0] == 200, 30, "sys/health 200"
        )

    check("unseal.submit_unseal_keys", unseal, needs=["init.initialize_5_3"])


def run_dev_init(admin):
    def dev_state():
        expect_eq(admin.sys.is_initialized(), True, "sys.is_initialized() in dev mode")
        expect_eq(admin.sys.is_sealed(), False, "sys.is_sealed() in dev mode")
        expect_eq(admin.is_authenticated(), True, "is_authenticated() with the dev root token")

    check("init.dev_initialized_unsealed", dev_state)

    def dev_secret_mount():
        expect_eq(admin.sys.retrieve_mount_option("secret", "version"), "2", "secret/ options.version")

    check("mounts.dev_secret_is_kv2", dev_secret_mount, needs=["init.dev_initialized_unsealed"])


def run_health_active(admin, needs):
    def active():
        expect_eq(health(admin, "HEAD"), (200, None), "HEAD sys/health when active")
        status, body = health(admin, "GET")
        expect_eq(status, 200, "GET sys/health status when active")
        for key, value in (("initialized", True), ("sealed", False), ("standby", False)):
            expect_eq(body[key], value, "GET sys/health " + key)
        for key in ("server_time_utc", "version", "cluster_id"):
            expect(key in body, "GET sys/health has " + key, sorted(body))
        status, _ = health(admin, "GET", active_code=217, standby_ok=True)
        expect_eq(status, 217, "GET sys/health?activecode=217&standbyok=True")
        status = admin.sys.read_seal_status()
        expect_eq(status["sealed"], False, "seal-status sealed")
        expect(status.get("cluster_name"), "seal-status cluster_name once unsealed", status)
        leader = admin.sys.read_leader_status()
        expect("ha_enabled" in leader, "sys/leader has ha_enabled", leader)

    check("health.active_200", active, needs=needs)


# --------------------------------------------------------------------------------------
# mounts


def wait_kv_ready(admin, mount):
    """A real Vault answers 400 "Upgrading from non-versioned to versioned data" for a moment
    after a KV v2 mount is enabled; retry only that error."""

    def ready():
        try:
            admin.secrets.kv.v2.list_secrets("", mount_point=mount)
        except hx.InvalidPath:
            return True
        except hx.InvalidRequest as error:
            if "pgrading" in str(error):
                return False
            raise
        return True

    deadline = time.monotonic() + 30
    polls = 1
    while not ready():
        polls += 1
        if time.monotonic() > deadline:
            raise CheckFailed("KV v2 mount %s still upgrading after 30s" % mount)
        time.sleep(0.2)
    INFO.setdefault("kv_ready_polls", {})[mount] = polls


def run_mounts(admin, mounts, needs):
    sys_ = admin.sys

    def enable(path, options):
        def go():
            result = sys_.enable_secrets_engine("kv", path=path, options=options)
            expect_204(result, "enable_secrets_engine(kv, %s, %r)" % (path, options))
            if options.get("version") in (2, "2"):
                wait_kv_ready(admin, path)

        return go

    check("mounts.enable_kv2_string_version", enable(mounts["kv2s"], {"version": "2"}), needs)
    check("mounts.enable_kv2_integer_version", enable(mounts["kv2i"], {"version": 2}), needs)
    check("mounts.enable_kv1", enable(mounts["kv1"], {"version": "1"}), needs)

    def listed():
        engines = sys_.list_mounted_secrets_engines()
        table = engines["data"]
        for key in ("kv2s", "kv2i", "kv1"):
            entry = table.get(mounts[key] + "/")
            expect(entry is not None, "sys/mounts lists %s/" % mounts[key], sorted(table))
            expect_eq(entry["type"], "kv", "type of " + mounts[key])
            # The legacy top-level copy of the data map (Vault keeps it for old clients).
            expect(mounts[key] + "/" in engines, "sys/mounts top-level copy of " + mounts[key])
        expect_eq(sys_.retrieve_mount_option(mounts["kv2s"], "version"), "2", "options.version (sent \"2\")")
        expect_eq(sys_.retrieve_mount_option(mounts["kv2i"], "version"), "2", "options.version (sent 2)")
        expect_eq(sys_.retrieve_mount_option(mounts["kv1"], "version"), "1", "options.version (sent \"1\")")

    check(
        "mounts.list_and_options",
        listed,
        needs + ["mounts.enable_kv2_string_version", "mounts.enable_kv2_integer_version", "mounts.enable_kv1"],
    )

    def duplicate():
        expect_raises(hx.InvalidRequest, sys_.enable_secrets_engine, "kv", path=mounts["kv1"])

    check("mounts.duplicate_path_InvalidRequest", duplicate, needs + ["mounts.enable_kv1"])

    def tune_read():
        conf = sys_.read_mount_configuration(mounts["kv2s"])
        expect(isinstance(conf["data"]["default_lease_ttl"], int), "tune default_lease_ttl", conf["data"])
        expect(isinstance(conf["data"]["max_lease_ttl"], int), "tune max_lease_ttl", conf["data"])

    check("mounts.read_mount_configuration", tune_read, needs + ["mounts.enable_kv2_string_version"])

    def upgrade():
        # `vault kv enable-versioning`: tune a KV v1 mount to options.version 2 (hvac passes the
        # options through as given: the integer 2 here); Vault turns each entry into version 1.
        up = mounts["kvup"]
        expect_204(sys_.enable_secrets_engine("kv", path=up), "enable kv (no options: version 1)")
        admin.secrets.kv.v1.create_or_update_secret("legacy/one", {"v": "1"}, mount_point=up)
        admin.secrets.kv.v1.create_or_update_secret("config", {"v": "looks like v2 layout"}, mount_point=up)
        tuned = sys_.tune_mount_configuration(up, options={"version": 2})
        expect_eq(status_of(tuned), 200, "tune to version 2 answers with a warning")
        expect(any("Upgrading mount from version 1 to version 2" in w for w in tuned["warnings"] or []),
               "upgrade warning", tuned.get("warnings"))
        wait_kv_ready(admin, up)
        expect_eq(sys_.retrieve_mount_option(up, "version"), "2", "options.version after tune")
        r = admin.secrets.kv.v2.read_secret_version("legacy/one", mount_point=up)
        expect_eq(r["data"]["data"], {"v": "1"}, "v1 entry readable through KV v2")
        expect_eq(r["data"]["metadata"]["version"], 1, "upgraded entry is version 1")
        r = admin.secrets.kv.v2.read_secret_version("config", mount_point=up)
        expect_eq(r["data"]["data"], {"v": "looks like v2 layout"}, "v1 entry named config")
        expect_eq(sorted(admin.secrets.kv.v2.list_secrets("", mount_point=up)["data"]["keys"]),
                  ["config", "legacy/"], "LIST metadata/ after the upgrade")
        w = admin.secrets.kv.v2.create_or_update_secret("legacy/one", {"v": "2"}, cas=1, mount_point=up)
        expect_eq(w["data"]["version"], 2, "write with cas=1 after the upgrade")
        expect_raises(hx.InvalidRequest, sys_.tune_mount_configuration, up, options={"version": "1"})
        expect_eq(sys_.retrieve_mount_option(up, "version"), "2", "options.version after a refused downgrade")

    check("mounts.tune_kv1_to_kv2_upgrades_data", upgrade, needs)


# --------------------------------------------------------------------------------------
# KV v2


TRICKY = {
    "dollar": "pa$$word$1",
    "percent": "100%%-%s-%d-%(x)s",
    "quotes": "it's \"quoted\" `back`",
    "unicode": "gr\u00fc\u00dfe-\u65e5\u672c-\U0001f511",
    "escapes": "tab\tnew\nline\\back\r\u0000nul",
    "json_like": '{"not": "an object"}',
}


def run_kv2(admin, m, needs):
    kv = admin.secrets.kv.v2
    p = "app/db"
    v1 = {"user": "admin", "password": "first"}
    v2 = {"user": "admin", "password": "second"}
    c = lambda n: "kv2[%s].%s" % (m, n)  # noqa: E731

    def write_first():
        r = kv.create_or_update_secret(p, v1, mount_point=m)
        expect_eq(r["data"]["version"], 1, "version of the first write")
        expect_eq(r["data"]["deletion_time"], "", "deletion_time")
        expect_eq(r["data"]["destroyed"], False, "destroyed")
        expect(isinstance(r["data"]["created_time"], str) and r["data"]["created_time"].endswith("Z"),
               "created_time is RFC 3339", r["data"]["created_time"])

    check(c("create"), write_first, needs)

    def write_cas():
        r = kv.create_or_update_secret(p, v2, cas=1, mount_point=m)
        expect_eq(r["data"]["version"], 2, "version after cas=1 write")

    check(c("create_with_cas"), write_cas, [c("create")])

    def cas_mismatch():
        e = expect_raises(hx.InvalidRequest, kv.create_or_update_secret, p, {"x": "y"}, cas=1, mount_point=m)
        expect(mentions(e, "check-and-set"), "CAS error message", e.errors)
        expect_raises(hx.InvalidRequest, kv.create_or_update_secret, p, {"x": "y"}, cas=0, mount_point=m)
        expect_eq(kv.read_secret_version(p, mount_point=m)["data"]["metadata"]["version"], 2,
                  "version unchanged by rejected writes")

    check(c("cas_mismatch_InvalidRequest"), cas_mismatch, [c("create_with_cas")])

    def cas_zero_new():
        r = kv.create_or_update_secret("app/new", {"k": "v"}, cas=0, mount_point=m)
        expect_eq(r["data"]["version"], 1, "cas=0 on a new key")

    check(c("cas_zero_creates"), cas_zero_new, needs)

    def read_latest():
        r = kv.read_secret_version(p, mount_point=m)
        expect_eq(r["data"]["data"], v2, "latest data")
        expect_eq(r["data"]["metadata"]["version"], 2, "latest metadata.version")
        expect_eq(r["data"]["metadata"]["deletion_time"], "", "metadata.deletion_time")
        for key in ("request_id", "lease_id", "renewable", "lease_duration", "wrap_info", "warnings", "auth"):
            expect(key in r, "envelope has " + key, sorted(r))

    check(c("read_latest"), read_latest, [c("create_with_cas")])

    def read_version():
        r = kv.read_secret_version(p, version=1, mount_point=m)
        expect_eq(r["data"]["data"], v1, "version 1 data")
        expect_eq(r["data"]["metadata"]["version"], 1, "version 1 metadata.version")
        expect_raises(hx.InvalidPath, kv.read_secret_version, p, version=99, mount_point=m)

    check(c("read_secret_version_with_version"), read_version, [c("create_with_cas")])

    def read_missing():
        e = expect_raises(hx.InvalidPath, kv.read_secret_version, "app/missing", mount_point=m)
        expect_eq(e.errors, [], "errors of a 404 for a missing key")
        expect_eq(admin.read("%s/data/app/missing" % m), None, "legacy Client.read of a missing key")

    check(c("read_missing_InvalidPath"), read_missing, needs)

    def patch():
        r = kv.patch(p, {"extra": "added"}, mount_point=m)
        expect_eq(r["data"]["version"], 3, "version after hvac patch")
        merged = kv.read_secret_version(p, mount_point=m)["data"]["data"]
        expect_eq(merged, dict(v2, extra="added"), "patched data")

    check(c("patch_get_then_post"), patch, [c("create_with_cas")])

    def patch_missing():
        expect_raises(hx.InvalidPath, kv.patch, "app/missing", {"a": "b"}, mount_point=m)

    check(c("patch_missing_InvalidPath"), patch_missing, needs)

    def tricky_values():
        data = dict(TRICKY, nested={"list": [1, "two", None, True], "num": 12.5, "big": 2**53 - 1})
        kv.create_or_update_secret("app/tricky", data, mount_point=m)
        expect_eq(kv.read_secret_version("app/tricky", mount_point=m)["data"]["data"], data,
                  "values read back")

    check(c("values_byte_exact"), tricky_values, needs)

    def list_verb():
        kv.create_or_update_secret("app/nested/deep", {"d": "1"}, mount_point=m)
        keys = kv.list_secrets("app", mount_point=m)["data"]["keys"]
        expect_eq(sorted(keys), ["db", "nested/", "new", "tricky"], "LIST metadata/app keys")
        keys_slash = kv.list_secrets("app/", mount_point=m)["data"]["keys"]
        expect_eq(sorted(keys_slash), sorted(keys), "LIST metadata/app/ keys")
        root = kv.list_secrets("", mount_point=m)["data"]["keys"]
        expect_eq(root, ["app/"], "LIST metadata/ keys")

    check(c("list_secrets_LIST_verb"), list_verb, [c("create"), c("cas_zero_creates"), c("values_byte_exact")])

    def list_legacy():
        r = admin.list("%s/metadata/app" % m)  # GET ?list=True (capital T)
        expect(r is not None, "Client.list returned None for an existing folder")
        expect_eq(sorted(r["data"]["keys"]), ["db", "nested/", "new", "tricky"], "GET ?list=True keys")

    check(c("legacy_Client_list_GET"), list_legacy, [c("list_secrets_LIST_verb")])

    def list_strict_http():
        strict = hvac.Client(url=ADDR, token=admin.token, timeout=15, strict_http=True)
        keys = strict.secrets.kv.v2.list_secrets("app", mount_point=m)["data"]["keys"]  # GET ?list=true
        expect_eq(sorted(keys), ["db", "nested/", "new", "tricky"], "strict_http GET ?list=true keys")

    check(c("list_secrets_strict_http_GET"), list_strict_http, [c("list_secrets_LIST_verb")])

    def list_missing():
        expect_raises(hx.InvalidPath, kv.list_secrets, "nothing-here", mount_point=m)
        expect_eq(admin.list("%s/metadata/nothing-here" % m), None, "Client.list of a missing folder")

    check(c("list_missing_InvalidPath"), list_missing, needs)

    def delete_latest():
        expect_204(kv.delete_latest_version_of_secret(p, mount_point=m), "delete_latest_version_of_secret")
        e = expect_raises(hx.InvalidPath, kv.read_secret_version, p, mount_point=m)
        meta = kv.read_secret_metadata(p, mount_point=m)["data"]
        expect(meta["versions"]["3"]["deletion_time"] != "", "version 3 deletion_time set", meta["versions"]["3"])
        expect(p.split("/")[1] in kv.list_secrets("app", mount_point=m)["data"]["keys"],
               "a soft-deleted key stays listed")
        INFO.setdefault("deleted_read_errors", e.errors)

    check(c("delete_latest_version"), delete_latest, [c("patch_get_then_post")])

    def undelete():
        expect_204(kv.undelete_secret_versions(p, [3], mount_point=m), "undelete_secret_versions")
        r = kv.read_secret_version(p, mount_point=m)
        expect_eq(r["data"]["metadata"]["version"], 3, "undeleted version readable")
        expect_eq(r["data"]["metadata"]["deletion_time"], "", "deletion_time cleared")

    check(c("undelete_secret_versions"), undelete, [c("delete_latest_version")])

    def delete_versions():
        expect_204(kv.delete_secret_versions(p, [1], mount_point=m), "delete_secret_versions")
        expect_raises(hx.InvalidPath, kv.read_secret_version, p, version=1, mount_point=m)
        expect_eq(kv.read_secret_version(p, version=2, mount_point=m)["data"]["data"], v2, "version 2 intact")

    check(c("delete_secret_versions"), delete_versions, [c("patch_get_then_post")])

    def destroy_versions():
        expect_204(kv.destroy_secret_versions(p, [2], mount_point=m), "destroy_secret_versions")
        expect_raises(hx.InvalidPath, kv.read_secret_version, p, version=2, mount_point=m)
        meta = kv.read_secret_metadata(p, mount_point=m)["data"]
        expect_eq(meta["versions"]["2"]["destroyed"], True, "version 2 destroyed")
        undone = kv.undelete_secret_versions(p, [2], mount_point=m)
        expect_204(undone, "undelete of a destroyed version")
        expect_raises(hx.InvalidPath, kv.read_secret_version, p, version=2, mount_point=m)

    check(c("destroy_secret_versions"), destroy_versions, [c("patch_get_then_post")])

    def read_metadata():
        meta = kv.read_secret_metadata(p, mount_point=m)["data"]
        expect_eq(meta["current_version"], 3, "current_version")
        expect_eq(sorted(meta["versions"]), ["1", "2", "3"], "versions keys")
        expect_eq(meta["max_versions"], 0, "max_versions")
        expect_eq(meta["cas_required"], False, "cas_required")
        expect_eq(meta["delete_version_after"], "0s", "delete_version_after")
        for key in ("created_time", "updated_time", "oldest_version"):
            expect(key in meta, "metadata has " + key, sorted(meta))
        expect(meta["versions"]["1"]["deletion_time"] != "", "version 1 soft-deleted in metadata")

    check(c("read_secret_metadata"), read_metadata, [c("delete_secret_versions"), c("destroy_secret_versions")])

    def update_metadata():
        expect_204(kv.update_metadata(p, max_versions=2, cas_required=True, mount_point=m), "update_metadata")
        meta = kv.read_secret_metadata(p, mount_point=m)["data"]
        expect_eq(meta["max_versions"], 2, "max_versions after update")
        expect_eq(meta["cas_required"], True, "cas_required after update")
        expect_eq(meta["current_version"], 3, "update_metadata adds no version")

    check(c("update_metadata"), update_metadata, [c("read_secret_metadata")])

    def cas_required():
        e = expect_raises(hx.InvalidRequest, kv.create_or_update_secret, p, {"a": "b"}, mount_point=m)
        expect(mentions(e, "check-and-set"), "cas_required message", e.errors)
        r = kv.create_or_update_secret(p, {"a": "b"}, cas=3, mount_point=m)
        expect_eq(r["data"]["version"], 4, "write with cas under cas_required")
        meta = kv.read_secret_metadata(p, mount_point=m)["data"]
        expect_eq(sorted(meta["versions"]), ["3", "4"], "versions kept with max_versions=2")
        expect_eq(meta["oldest_version"], 3, "oldest_version after trimming")

    check(c("cas_required_and_max_versions"), cas_required, [c("update_metadata")])

    def delete_all():
        expect_204(kv.delete_metadata_and_all_versions(p, mount_point=m), "delete_metadata_and_all_versions")
        expect_raises(hx.InvalidPath, kv.read_secret_version, p, mount_point=m)
        expect_raises(hx.InvalidPath, kv.read_secret_metadata, p, mount_point=m)
        keys = kv.list_secrets("app", mount_point=m)["data"]["keys"]
        expect("db" not in keys, "deleted key no longer listed", keys)

    check(c("delete_metadata_and_all_versions"), delete_all, [c("cas_required_and_max_versions")])

    def configure():
        expect_204(kv.configure(max_versions=7, cas_required=False, mount_point=m), "configure")
        conf = kv.read_configuration(mount_point=m)["data"]
        expect_eq(conf["max_versions"], 7, "config max_versions")
        expect_eq(conf["cas_required"], False, "config cas_required")
        expect_eq(conf["delete_version_after"], "0s", "config delete_version_after")

    check(c("configure_and_read_configuration"), configure, needs)


# --------------------------------------------------------------------------------------
# KV v1


def run_kv1(admin, m, needs):
    kv = admin.secrets.kv.v1
    c = lambda n: "kv1[%s].%s" % (m, n)  # noqa: E731

    def create():
        # No method: hvac GETs first (404) and then POSTs.
        expect_204(kv.create_or_update_secret("app/one", {"v": "1"}, mount_point=m), "create (POST)")
        expect_eq(kv.read_secret("app/one", mount_point=m)["data"], {"v": "1"}, "read after create")

    check(c("create_get_then_post"), create, needs)

    def update():
        # The key exists now: hvac GETs (200) and then PUTs.
        data = dict(TRICKY, v="2")
        expect_204(kv.create_or_update_secret("app/one", data, mount_point=m), "update (PUT)")
        r = kv.read_secret("app/one", mount_point=m)
        expect_eq(r["data"], data, "read after update")
        expect_eq(r["lease_duration"], 2764800, "KV v1 lease_duration (768h default TTL)")

    check(c("update_get_then_put"), update, [c("create_get_then_post")])

    def list_keys():
        kv.create_or_update_secret("app/sub/two", {"v": "2"}, mount_point=m)
        expect_eq(sorted(kv.list_secrets("app", mount_point=m)["data"]["keys"]), ["one", "sub/"], "LIST keys")
        expect_eq(sorted(admin.list("%s/app" % m)["data"]["keys"]), ["one", "sub/"], "GET ?list=True keys")
        expect_raises(hx.InvalidPath, kv.list_secrets, "none", mount_point=m)

    check(c("list_secrets"), list_keys, [c("create_get_then_post")])

    def missing():
        expect_raises(hx.InvalidPath, kv.read_secret, "app/none", mount_point=m)

    check(c("read_missing_InvalidPath"), missing, needs)

    def delete():
        expect_204(kv.delete_secret("app/one", mount_point=m), "delete_secret")
        expect_raises(hx.InvalidPath, kv.read_secret, "app/one", mount_point=m)
        expect_eq(kv.list_secrets("app", mount_point=m)["data"]["keys"], ["sub/"], "keys after delete")

    check(c("delete_secret"), delete, [c("list_secrets")])

    def legacy():
        written = admin.write("%s/legacy" % m, answer="42", wrap_ttl=None)
        expect_eq(status_of(written), 204, "legacy Client.write status")
        expect_eq(admin.read("%s/legacy" % m)["data"], {"answer": "42"}, "legacy Client.read")
        admin.delete("%s/legacy" % m)
        expect_eq(admin.read("%s/legacy" % m), None, "legacy Client.read after delete")

    check(c("legacy_read_write_delete"), legacy, needs)


# --------------------------------------------------------------------------------------
# policies, AppRole, tokens


def app_policy(m):
    return (
        '# policy for the AppRole token\n'
        'path "%s/data/app/*" {\n  capabilities = ["create", "read", "update"]\n}\n'
        'path "%s/metadata/app/*" {\n  capabilities = ["list", "read"]\n}\n'
        'path "%s/data/app/private" {\n  capabilities = ["deny"]\n}\n' % (m, m, m)
    )


def run_policies(admin, m, needs):
    sys_ = admin.sys
    hcl = app_policy(m)

    def create_hcl():
        expect_204(sys_.create_or_update_policy("app-read", hcl), "create_or_update_policy (HCL)")

    check("policy.create_or_update_hcl", create_hcl, needs)

    def create_json():
        policy = {"path": {"%s/data/json/*" % m: {"capabilities": ["read"]}}}
        expect_204(sys_.create_or_update_policy("json-pol", policy), "create_or_update_policy (dict -> JSON)")
        rules = sys_.read_policy("json-pol")["data"]["rules"]
        expect_eq(json.loads(rules), policy, "JSON policy text read back")

    check("policy.create_or_update_json", create_json, needs)

    def read():
        r = sys_.read_policy("app-read")
        expect_eq(r["data"]["name"], "app-read", "read_policy name")
        expect_eq(r["data"]["rules"], hcl, "read_policy rules (text as written)")

    check("policy.read_policy", read, ["policy.create_or_update_hcl"])

    def listing():
        r = sys_.list_policies()
        for name in ("app-read", "json-pol", "default", "root"):
            expect(name in r["data"]["policies"], "list_policies has " + name, r["data"]["policies"])
        expect_eq(sorted(r["data"]["keys"]), sorted(r["data"]["policies"]), "keys == policies")

    check("policy.list_policies", listing, ["policy.create_or_update_hcl", "policy.create_or_update_json"])

    def delete():
        expect_204(sys_.delete_policy("json-pol"), "delete_policy")
        expect("json-pol" not in sys_.list_policies()["data"]["policies"], "deleted policy not listed")
        expect_raises(hx.InvalidPath, sys_.read_policy, "json-pol")

    check("policy.delete_policy", delete, ["policy.list_policies"])

    def invalid():
        expect_raises(hx.InvalidRequest, sys_.create_or_update_policy, "bad", 'path "x" { capabilities = ["fly"] }')
        expect_raises(hx.InvalidRequest, sys_.delete_policy, "root")

    check("policy.invalid_InvalidRequest", invalid, needs)


def run_approle(admin, m, state, needs):
    sys_ = admin.sys
    approle = admin.auth.approle

    def enable():
        expect_204(sys_.enable_auth_method("approle"), "enable_auth_method(approle)")
        methods = sys_.list_auth_methods()["data"]
        expect_eq(methods["approle/"]["type"], "approle", "sys/auth approle/ type")
        expect("token/" in methods, "sys/auth lists token/", sorted(methods))

    check("approle.enable_auth_method", enable, needs)

    def role():
        r = approle.create_or_update_approle("app", token_policies=["app-read", "app-extra"], token_ttl="1h")
        expect_204(r, "create_or_update_approle")
        data = approle.read_role("app")["data"]
        expect_eq(sorted(data["token_policies"]), ["app-extra", "app-read"], "role token_policies (comma-joined)")
        expect_eq(data["token_ttl"], 3600, "role token_ttl")
        expect_eq(data["bind_secret_id"], True, "role bind_secret_id")
        expect("app" in approle.list_roles()["data"]["keys"], "list_roles has app")

    check("approle.create_or_update_approle", role, ["approle.enable_auth_method"])

    def role_id():
        state["role_id"] = approle.read_role_id("app")["data"]["role_id"]
        expect(isinstance(state["role_id"], str) and state["role_id"], "role_id", state["role_id"])

    check("approle.read_role_id", role_id, ["approle.create_or_update_approle"])

    def secret_id():
        data = approle.generate_secret_id("app")["data"]  # hvac sends "metadata": null
        expect(data["secret_id"] and data["secret_id_accessor"], "secret_id and accessor", data)
        state["secret_id"] = data["secret_id"]
        # With metadata, hvac sends it as a JSON *string*: {"metadata": "{\"env\": \"ci\"}"}.
        tagged = approle.generate_secret_id("app", metadata={"env": "ci"})["data"]
        looked = approle.read_secret_id("app", tagged["secret_id"])["data"]
        expect_eq(looked["metadata"], {"env": "ci"}, "secret-id metadata read back")
        expect_eq(looked["secret_id_accessor"], tagged["secret_id_accessor"], "secret-id lookup accessor")

    check("approle.generate_secret_id", secret_id, ["approle.create_or_update_approle"])

    def login():
        app = client()
        r = app.auth.approle.login(state["role_id"], state["secret_id"])
        auth = r["auth"]
        expect_eq(app.token, auth["client_token"], "login stores the client token")
        expect_eq(sorted(auth["policies"]), ["app-extra", "app-read", "default"], "login policies")
        expect_eq(auth["lease_duration"], 3600, "login lease_duration (token_ttl)")
        expect_eq(auth["renewable"], True, "login renewable")
        expect_eq(auth["metadata"], {"role_name": "app"}, "login metadata")
        expect_eq(auth["token_type"], "service", "login token_type")
        looked = app.auth.token.lookup_self()["data"]
        expect_eq(looked["path"], "auth/approle/login", "AppRole token path")
        expect_eq(looked["meta"], {"role_name": "app"}, "AppRole token meta")
        expect_eq(app.is_authenticated(), True, "AppRole client is_authenticated()")
        state["app"] = app

    check("approle.login", login, ["approle.read_role_id", "approle.generate_secret_id"])

    def bad_login():
        expect_raises(hx.InvalidRequest, client().auth.approle.login, state["role_id"], "not-the-secret-id")
        # Without a secret_id hvac still sends the field, as null; bind_secret_id is on.
        expect_raises(hx.InvalidRequest, client().auth.approle.login, state["role_id"])
        expect_raises(hx.InvalidRequest, client().auth.approle.login, "no-such-role-id", state["secret_id"])

    check("approle.login_bad_secret_InvalidRequest", bad_login, ["approle.read_role_id"])

    def allowed():
        app = state["app"]
        admin.secrets.kv.v2.create_or_update_secret("app/visible", {"v": "seen"}, mount_point=m)
        r = app.secrets.kv.v2.read_secret_version("app/visible", mount_point=m)
        expect_eq(r["data"]["data"], {"v": "seen"}, "AppRole token reads app/visible")
        w = app.secrets.kv.v2.create_or_update_secret("app/by-app", {"v": "w"}, mount_point=m)
        expect_eq(w["data"]["version"], 1, "AppRole token writes app/by-app")
        keys = app.secrets.kv.v2.list_secrets("app", mount_point=m)["data"]["keys"]
        expect("visible" in keys and "by-app" in keys, "AppRole token lists app/", keys)

    check("approle.token_reads_what_policy_allows", allowed, ["approle.login", "policy.create_or_update_hcl"])

    def denied():
        app = state["app"]
        admin.secrets.kv.v2.create_or_update_secret("other/secret", {"v": "x"}, mount_point=m)
        admin.secrets.kv.v2.create_or_update_secret("app/private", {"v": "x"}, mount_point=m)
        for what, fn in (
            ("read other/secret", lambda: app.secrets.kv.v2.read_secret_version("other/secret", mount_point=m)),
            ("read app/private (deny)", lambda: app.secrets.kv.v2.read_secret_version("app/private", mount_point=m)),
            ("write other/new", lambda: app.secrets.kv.v2.create_or_update_secret("other/new", {"a": "b"}, mount_point=m)),
            ("delete app/visible", lambda: app.secrets.kv.v2.delete_latest_version_of_secret("app/visible", mount_point=m)),
            ("list other", lambda: app.secrets.kv.v2.list_secrets("other", mount_point=m)),
            ("read metadata other/secret", lambda: app.secrets.kv.v2.read_secret_metadata("other/secret", mount_point=m)),
            ("create_or_update_policy", lambda: app.sys.create_or_update_policy("evil", 'path "*" { capabilities = ["sudo"] }')),
            ("enable_secrets_engine", lambda: app.sys.enable_secrets_engine("kv", path="evil")),
        ):
            error = expect_raises(hx.Forbidden, fn)
            expect(mentions(error, "permission denied"), what + ": errors say permission denied", error.errors)

    check("approle.token_Forbidden_outside_policy", denied, ["approle.login", "policy.create_or_update_hcl"])

    def anonymous():
        expect_raises(hx.Forbidden, client().secrets.kv.v2.read_secret_version, "app/visible", mount_point=m)
        expect_raises(hx.Forbidden, client(token="not-a-real-token").secrets.kv.v2.read_secret_version,
                      "app/visible", mount_point=m)

    check("acl.no_or_bad_token_Forbidden", anonymous, needs)


def run_tokens(admin, m, needs):
    tokens = admin.auth.token
    state = {}

    def create():
        r = tokens.create(policies=["app-read"], ttl="1h", meta={"purpose": "compat"})
        auth = r["auth"]
        expect_eq(auth["metadata"], {"purpose": "compat"}, "created token metadata")
        expect_eq(sorted(auth["policies"]), ["app-read", "default"], "created token policies")
        expect_eq(auth["lease_duration"], 3600, "created token lease_duration")
        expect_eq(auth["renewable"], True, "created token renewable")
        expect(auth["accessor"], "created token accessor", auth)
        expect_eq(auth["token_type"], "service", "created token_type")
        expect_eq(auth["orphan"], False, "created token orphan (child of root)")
        state["token"] = auth["client_token"]

    check("token.create", create, needs)

    def lookup_self():
        child = client(state["token"])
        data = child.auth.token.lookup_self()["data"]
        expect_eq(data["id"], state["token"], "lookup_self id")
        expect_eq(sorted(data["policies"]), ["app-read", "default"], "lookup_self policies")
        expect(3500 < data["ttl"] <= 3600, "lookup_self ttl", data["ttl"])
        expect_eq(data["creation_ttl"], 3600, "lookup_self creation_ttl")
        expect_eq(data["num_uses"], 0, "lookup_self num_uses")
        # hvac sends display_name "token"; Vault stores it as "token-" + display_name.
        expect_eq(data["display_name"], "token-token", "lookup_self display_name")
        expect_eq(data["renewable"], True, "lookup_self renewable")

    check("token.lookup_self", lookup_self, ["token.create"])

    def lookup():
        data = tokens.lookup(state["token"])["data"]
        expect_eq(data["id"], state["token"], "lookup id")
        expect_eq(data["meta"], {"purpose": "compat"}, "lookup meta")
        root = tokens.lookup_self()["data"]
        expect_eq(root["policies"], ["root"], "root token policies")
        expect_eq(root["ttl"], 0, "root token ttl")
        expect_eq(root["path"], "auth/token/root", "root token path")
        expect_eq(data["path"], "auth/token/create", "created token path")

    check("token.lookup", lookup, ["token.create"])

    def renew_self():
        child = client(state["token"])
        r = child.auth.token.renew_self()
        expect_eq(r["auth"]["lease_duration"], 3600, "renew_self lease_duration")
        expect_eq(r["auth"]["client_token"], state["token"], "renew_self client_token")
        r = child.auth.token.renew_self(increment=7200)
        expect_eq(r["auth"]["lease_duration"], 7200, "renew_self(increment=7200) lease_duration")

    check("token.renew_self", renew_self, ["token.create"])

    def num_uses():
        r = tokens.create(policies=["app-read"], num_uses=2)
        limited = r["auth"]["client_token"]
        expect_eq(tokens.lookup(limited)["data"]["num_uses"], 2, "num_uses before use")
        c = client(limited)
        expect_eq(c.auth.token.lookup_self()["data"]["num_uses"], 1, "num_uses seen by the 1st use")
        c.secrets.kv.v2.read_secret_version("app/visible", mount_point=m)  # 2nd and last use
        expect_raises(hx.Forbidden, c.secrets.kv.v2.read_secret_version, "app/visible", mount_point=m)

    check("token.num_uses_exhausted_Forbidden", num_uses, needs + ["approle.token_reads_what_policy_allows"])

    def authenticated():
        expect_eq(client(state["token"]).is_authenticated(), True, "is_authenticated() with a valid token")
        expect_eq(client("hvs.not-a-real-token").is_authenticated(), False, "is_authenticated() with a bad token")

    check("token.is_authenticated", authenticated, ["token.create"])

    def revoke_self():
        child = client(state["token"])
        expect_204(child.auth.token.revoke_self(), "revoke_self")
        expect_eq(child.is_authenticated(), False, "is_authenticated() after revoke_self")
        expect_raises(hx.Forbidden, child.auth.token.lookup_self)

    check("token.revoke_self", revoke_self, ["token.create", "token.lookup_self", "token.renew_self",
                                             "token.is_authenticated", "token.lookup"])


# --------------------------------------------------------------------------------------
# seal


def run_seal(admin, m, mode, state, needs):
    def non_root():
        app = state.get("app")
        expect(app is not None, "an AppRole client exists")
        expect_raises(hx.Forbidden, app.sys.seal)
        expect_eq(admin.sys.is_sealed(), False, "still unsealed after a forbidden seal")

    check("seal.non_root_Forbidden", non_root, needs + ["approle.login"])

    def seal():
        expect_204(admin.sys.seal(), "sys.seal()")
        expect_eq(admin.sys.is_sealed(), True, "sys.is_sealed() after seal")
        expect_eq(health(admin, "HEAD"), (503, None), "HEAD sys/health after seal")

    check("seal.seal_then_is_sealed", seal, needs)

    def vault_down():
        error = expect_raises(hx.VaultDown, admin.secrets.kv.v2.read_secret_version, "app/visible", mount_point=m)
        expect(mentions(error, "Vault is sealed"), "errors say Vault is sealed", error.errors)
        expect_raises(hx.VaultDown, admin.auth.token.lookup_self)

    check("seal.sealed_requests_VaultDown", vault_down, ["seal.seal_then_is_sealed"])

    if mode != "fresh":
        return

    def unseal_again():
        result = admin.sys.submit_unseal_keys(state["keys_base64"][2:])
        expect_eq(result["sealed"], False, "unsealed with 3 base64 shares")
        wait_until(lambda: health(admin, "GET")[0] == 200, 30, "sys/health 200")
        r = admin.secrets.kv.v2.read_secret_version("app/visible", mount_point=m)
        expect_eq(r["data"]["data"], {"v": "seen"}, "data intact after seal/unseal")
        expect_eq(admin.is_authenticated(), True, "root token still valid after unseal")
        expect_204(admin.sys.seal(), "seal again")
        expect_eq(admin.sys.is_sealed(), True, "sealed again")

    check("seal.unseal_base64_data_intact", unseal_again, ["seal.sealed_requests_VaultDown", "unseal.submit_unseal_keys"])


# --------------------------------------------------------------------------------------


def main():
    global ADDR
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mode", choices=["fresh", "dev"], required=True)
    parser.add_argument("--traces", action="store_true", help="include tracebacks of failed checks")
    args = parser.parse_args()
    ADDR = os.environ.get("VAULT_ADDR", "")
    if not ADDR:
        print(json.dumps({"checks": {"usage": "VAULT_ADDR is required"}, "info": {}}))
        return 2
    # hvac.Client(token=None) falls back to $VAULT_TOKEN: take it out of the environment so
    # that the clients meant to be anonymous really are.
    token = os.environ.pop("VAULT_TOKEN", None) or None
    if args.mode == "dev" and not token:
        print(json.dumps({"checks": {"usage": "--mode dev needs VAULT_TOKEN (a root token)"}, "info": {}}))
        return 2
    if args.mode == "fresh" and token:
        print(json.dumps({"checks": {"usage": "--mode fresh takes no VAULT_TOKEN: it initializes"}, "info": {}}))
        return 2

    suffix = uuid.uuid4().hex[:6]
    mounts = {"kv2s": "kv2s-" + suffix, "kv2i": "kv2i-" + suffix, "kv1": "kv1-" + suffix, "kvup": "kvup-" + suffix}
    INFO.update(mode=args.mode, mounts=mounts)
    admin = client(token or "")
    state = {}

    if args.mode == "fresh":
        run_fresh_init(admin, state)
        ready = ["unseal.submit_unseal_keys"]
    else:
        run_dev_init(admin)
        ready = ["init.dev_initialized_unsealed"]

    run_health_active(admin, ready)
    run_mounts(admin, mounts, ready)
    for key in ("kv2s", "kv2i"):
        run_kv2(admin, mounts[key], ready + ["mounts.enable_kv2_%s_version" % ("string" if key == "kv2s" else "integer")])
    run_kv1(admin, mounts["kv1"], ready + ["mounts.enable_kv1"])
    m = mounts["kv2s"]
    run_policies(admin, m, ready)
    run_approle(admin, m, state, ready + ["mounts.enable_kv2_string_version"])
    run_tokens(admin, m, ready + ["policy.create_or_update_hcl"])
    run_seal(admin, m, args.mode, state, ready)

    failed = sorted(name for name, result in RESULTS.items() if result != "ok")
    output = {"checks": RESULTS, "failed": failed, "info": INFO}
    if args.traces and TRACES:
        output["traces"] = TRACES
    print(json.dumps(output, indent=1, sort_keys=False))
    for name in failed:
        if name in TRACES:
            sys.stderr.write("--- %s\n%s\n" % (name, TRACES[name]))
    return 1 if failed else 0


ADDR = ""

if __name__ == "__main__":
    sys.exit(main())
