/**
 * The TripleO passwords file the OpenStack harness seeds strongroom with (its values also
 * create the MariaDB accounts and Keystone users, and fill Keystone's key repositories), and
 * redaction of those values from anything the harness puts in an error message.
 */
import { readFileSync } from "node:fs";
import { parse as parseYaml } from "yaml";

/** KeystoneFernetKeys as TripleO stores it: key file path -> {content}. */
export type FernetKeyMap = Record<string, { content: string }>;

export interface OpenStackPasswords {
  MysqlRootPassword: string;
  KeystonePassword: string;
  AdminPassword: string;
  PlacementPassword: string;
  KeystoneFernetKeys: FernetKeyMap;
  KeystoneCredential0: string;
  KeystoneCredential1: string;
}

const STRINGS = [
  "MysqlRootPassword",
  "KeystonePassword",
  "AdminPassword",
  "PlacementPassword",
  "KeystoneCredential0",
  "KeystoneCredential1",
] as const;

/** `parameter_defaults` of a TripleO passwords file, checked for what the harness needs. */
export function readPasswordsFile(file: string): OpenStackPasswords {
  const parsed = parseYaml(readFileSync(file, "utf8")) as {
    parameter_defaults?: Record<string, unknown>;
  };
  const values = parsed?.parameter_defaults ?? {};
  for (const name of STRINGS) {
    if (typeof values[name] !== "string" || values[name] === "") {
      throw new Error(`${file}: parameter_defaults.${name} must be a non-empty string`);
    }
  }
  const keys = values["KeystoneFernetKeys"];
  if (
    keys === null ||
    typeof keys !== "object" ||
    Object.values(keys).some((k) => typeof (k as { content?: unknown })?.content !== "string")
  ) {
    throw new Error(`${file}: parameter_defaults.KeystoneFernetKeys must map paths to {content}`);
  }
  return values as unknown as OpenStackPasswords;
}

/** Every secret string in the file (fernet key contents included). */
export function secretStrings(passwords: OpenStackPasswords): string[] {
  return [
    ...STRINGS.map((name) => passwords[name]),
    ...Object.values(passwords.KeystoneFernetKeys).map((k) => k.content),
  ];
}

/** strongroom's `urlencode` filter: RFC 3986, like Python's `quote(s, safe="")`. */
export const urlencode = (s: string): string =>
  encodeURIComponent(s).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );

/**
 * A function that replaces every secret in a text by `<redacted>`, in the forms it may take in
 * a log or a config file: as is, URL-encoded (a database URL), `$`-escaped (oslo.config).
 * Logs of the real services are quoted in errors only through it.
 */
export function redactor(secrets: readonly string[]): (text: string) => string {
  const forms = new Set<string>();
  for (const secret of secrets) {
    forms.add(secret);
    forms.add(urlencode(secret));
    forms.add(secret.replaceAll("$", "$$"));
  }
  const ordered = [...forms].filter((f) => f.length >= 4).sort((a, b) => b.length - a.length);
  return (text) => {
    let out = text;
    for (const form of ordered) out = out.split(form).join("<redacted>");
    return out;
  };
}
