"""What kolla-ansible's kolla-readpwd does (kolla_ansible/cmd/readpwd.py with
kolla_ansible/hashi_vault.py), with Debian's hvac, against the Vault strongroom keeps.

Reads the kit `strongroom service-kit kolla-readpwd` wrote (kolla-vault.json, role-id,
secret-id, vault-ca.pem), logs in with AppRole exactly as hashi_vault.py does
(`client.auth_approle(role_id, secret_id)`, `is_authenticated()`), lists the keys under the
path, and reads each with `secrets.kv.v2.read_secret_version(mount_point=..., path=<path>/<key>)`,
taking `data.data.password` or, without it, the map as is (readpwd's rule).

Never prints a value: each one as HMAC-SHA-256 under the key in $KOLLA_DIGEST_KEY (hex), a map
field by field. With --login CASTELLAN_CONF it logs in with that service's AppRole instead and
reports whether Vault refused (hvac.exceptions.Forbidden) the list and the read of --key.

Prints one JSON object.
"""
import argparse
import configparser
import hashlib
import hmac
import json
import os
import sys

import hvac


def digest(text):
    key = bytes.fromhex(os.environ["KOLLA_DIGEST_KEY"])
    return hmac.new(key, text.encode("utf-8"), hashlib.sha256).hexdigest()


def client_for(settings, role_id, secret_id):
    # hashi_vault.py: REQUESTS_CA_BUNDLE for the CA, then AppRole login, then is_authenticated.
    if settings.get("cacert"):
        os.environ["REQUESTS_CA_BUNDLE"] = settings["cacert"]
    client = hvac.Client(url=settings["vault_addr"])
    client.auth_approle(role_id, secret_id)
    if not client.is_authenticated():
        print(json.dumps({"error": "Failed to authenticate to vault"}))
        sys.exit(1)
    return client


def read_file(path):
    with open(path) as f:
        return f.read().strip()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("kit")
    parser.add_argument("--login", help="castellan.conf of another service's kit")
    parser.add_argument("--key", default="database_password")
    args = parser.parse_args()
    with open(os.path.join(args.kit, "kolla-vault.json")) as f:
        settings = json.load(f)
    mount, kv_path = settings["mount_point"], settings["kv_path"]

    if args.login:
        conf = configparser.ConfigParser(interpolation=None)
        conf.read(args.login)
        # oslo.config quotes values in castellan.conf; its AppRole ids need no unescaping.
        option = lambda name: conf["vault"][name].strip('"')
        client = client_for(settings, option("approle_role_id"), option("approle_secret_id"))
        refused = {}
        for name, call in (
            ("list", lambda: client.secrets.kv.v2.list_secrets(mount_point=mount, path=kv_path)),
            ("read", lambda: client.secrets.kv.v2.read_secret_version(
                mount_point=mount, path="{}/{}".format(kv_path, args.key))),
        ):
            try:
                call()
                refused[name] = False
            except hvac.exceptions.Forbidden:
                refused[name] = True
        print(json.dumps({"refused": refused}))
        return

    client = client_for(
        settings, read_file(settings["role_id_file"]), read_file(settings["secret_id_file"])
    )
    listed = client.secrets.kv.v2.list_secrets(mount_point=mount, path=kv_path)
    keys = sorted(listed["data"]["keys"])
    values, versions = {}, {}
    for key in keys:
        answer = client.secrets.kv.v2.read_secret_version(
            mount_point=mount, path="{}/{}".format(kv_path, key))
        versions[key] = answer["data"]["metadata"]["version"]
        try:
            values[key] = digest(answer["data"]["data"]["password"])
        except KeyError:
            values[key] = {k: digest(v) for k, v in answer["data"]["data"].items()}
    # A key that is not there: readpwd's InvalidPath.
    try:
        client.secrets.kv.v2.read_secret_version(
            mount_point=mount, path="{}/{}".format(kv_path, "no_such_key"))
        missing = "found"
    except hvac.exceptions.InvalidPath:
        missing = "InvalidPath"
    print(json.dumps({"keys": keys, "values": values, "versions": versions, "missing": missing}))


if __name__ == "__main__":
    main()
