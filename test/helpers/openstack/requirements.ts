/**
 * What the OpenStack harness needs from Debian (scripts/system-deps.json installs it in CI):
 * Keystone and Placement as Python packages, HAProxy, uwsgi with its python3 plugin, MariaDB.
 * `describeWithOpenStack` skips its suite outside CI when something is missing (printing what)
 * and fails it under CI=true.
 */
import { accessSync, constants } from "node:fs";
import { describeNeeding } from "../describe-needing.js";
import { HAPROXY_PROGRAM } from "../haproxy.js";
import { requirePythonModules } from "../python.js";
import { missingServers } from "../servers.js";
import { KEYSTONE_MANAGE, KEYSTONE_WSGI } from "./keystone.js";
import { PLACEMENT_MANAGE, PLACEMENT_WSGI } from "./placement.js";
import { UWSGI_PROGRAM, UWSGI_PYTHON_PLUGIN } from "./wsgi-process.js";

/** Python modules the services import (keystonemiddleware and PyMySQL come with them). */
export const OPENSTACK_PYTHON_MODULES = ["keystone", "placement", "keystonemiddleware", "pymysql"];

const FILES: Array<[path: string, pkg: string, executable: boolean]> = [
  [KEYSTONE_WSGI, "python3-keystone", true],
  [KEYSTONE_MANAGE, "python3-keystone", true],
  [PLACEMENT_WSGI, "python3-placement", true],
  [PLACEMENT_MANAGE, "python3-placement", true],
  [HAPROXY_PROGRAM, "haproxy", true],
  [UWSGI_PROGRAM, "uwsgi-core", true],
  [UWSGI_PYTHON_PLUGIN, "uwsgi-plugin-python3", false],
];

/** Why the harness cannot run here, or undefined when it can. */
export function missingOpenStack(): string | undefined {
  const why: string[] = [];
  const python = requirePythonModules(OPENSTACK_PYTHON_MODULES);
  if (!python.ok) why.push(python.reason);
  for (const [path, pkg, executable] of FILES) {
    try {
      accessSync(path, executable ? constants.X_OK : constants.R_OK);
    } catch {
      why.push(`missing ${path} (${pkg})`);
    }
  }
  const db = missingServers(["mariadb"]);
  if (db) why.push(db);
  return why.length === 0 ? undefined : why.join("; ");
}

export function describeWithOpenStack(name: string, fn: () => void): void {
  describeNeeding(
    "Keystone, Placement, HAProxy, uwsgi and MariaDB from Debian",
    missingOpenStack(),
    "scripts/system-deps.json",
    name,
    fn,
  );
}
