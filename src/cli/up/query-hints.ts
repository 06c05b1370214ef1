import { basename, join, relative, resolve } from "node:path";
import type { Manifest } from "../../config/manifest.js";
import { manifestOptions, secretsOfOption } from "../../config/option-templates.js";
import { DEFAULT_STATE_DIR } from "../../state/state-dir.js";
import { countActions, type RunningStrongroom } from "./run-up.js";

/** What `up` prints on stdout once it serves: where things are and how to ask. */
export function queryHints(running: RunningStrongroom): string {
  const { state, manifest, seed } = running;
  const cli = selfCommand();
  const stateArg =
    relative(process.cwd(), running.dir.path) === DEFAULT_STATE_DIR
      ? ""
      : ` --state-dir ${shellWord(running.dir.path)}`;
  const example = exampleOption(manifest);
  const kit = `./${example.service}-kit`;
  const url = `${state.broker.url}/v1/config/${example.service}/${example.group}/${example.option}`;
  const counts = seed
    ? ` (seed: ${Object.entries(countActions(seed))
        .filter(([, n]) => n > 0)
        .map(([k, n]) => `${n} ${k}`)
        .join(", ")})`
    : "";
  return [
    `strongroom is up: deployment ${state.deployment}, ${manifest.services.size} services${counts}`,
    `  broker     ${state.broker.url}  (HTTPS; mTLS client certificate or token)`,
    `  vault      ${state.vault.kind} ${state.vault.addr}  (root token revoked; operator token in the state dir)`,
    `  state dir  ${running.dir.path}`,
    "",
    "Query it from another terminal:",
    `  ${cli} get ${example.service} ${example.group} ${example.option}${stateArg}`,
    `  ${cli} service-kit ${example.service} --out ${kit}${stateArg}`,
    `  curl --cacert ${kit}/ca.pem --cert ${kit}/client.pem --key ${kit}/client.key ${url}`,
    ...(example.secret ? [`  ${cli} rotate ${example.secret} --plan${stateArg}`] : []),
    "",
    "Ctrl-C or SIGTERM closes the broker, seals and stops the Vault.",
    "",
  ].join("\n");
}

/** The first service's first option that uses a secret (or its first option), and a rotatable
 * secret it uses, for the hints. */
function exampleOption(manifest: Manifest): {
  service: string;
  group: string;
  option: string;
  secret?: string;
} {
  const [first] = manifest.services.keys();
  const options = [...manifestOptions(manifest, first)];
  const found = options.find((o) => secretsOfOption(o.spec).length > 0) ?? options[0];
  if (!found) return { service: first ?? "SERVICE", group: "GROUP", option: "OPTION" };
  const secret = secretsOfOption(found.spec).find((s) => manifest.secrets.get(s)?.rotate.allowed);
  return { ...found, ...(secret !== undefined && { secret }) };
}

/** How the user invoked us: `strongroom` from PATH, or `node bin/strongroom.js` in a checkout. */
function selfCommand(): string {
  const script = process.argv[1] ?? "strongroom";
  if (basename(script) === "strongroom") return "strongroom";
  const path = relative(process.cwd(), resolve(script));
  return `node ${shellWord(path.startsWith("..") ? resolve(script) : path || join(".", script))}`;
}

function shellWord(word: string): string {
  return /^[A-Za-z0-9_./:@%+=-]+$/.test(word) ? word : `'${word.replaceAll("'", "'\\''")}'`;
}
