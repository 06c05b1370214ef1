/**
 * Address validation exactly as oslo.config 9.0.0 does it on Debian 12:
 * - IPAddress: netaddr 0.8.0 with INET_PTON, i.e. glibc's inet_pton (ported below);
 * - Hostname: oslo's own regular expressions, which Python runs with IGNORECASE in Unicode
 *   mode (so `[A-Z]` also matches U+0130, U+0131, U+017F and U+212A) and whose `$` also
 *   matches before a final newline;
 * - URI: rfc3986 1.5.0's validator requiring a scheme and a host.
 * test/compat/oslo-types.test.ts checks these against the real libraries.
 */
import { pyLen } from "./python-text.js";

/** Python's `$` (no MULTILINE): the end, or just before a newline that ends the string. */
const PY_END = "(?=\\n?$)";

/** glibc inet_pton(AF_INET): four decimal octets, no leading zeros, nothing else. */
export function isInetPton4(s: string): boolean {
  const parts = s.split(".");
  if (parts.length !== 4) return false;
  return parts.every((p) => /^(?:0|[1-9][0-9]{0,2})$/.test(p) && Number(p) <= 255);
}

const hexValue = (c: string): number => (/^[0-9a-fA-F]$/.test(c) ? Number.parseInt(c, 16) : -1);

/** glibc inet_pton(AF_INET6), step by step (glibc 2.36 resolv/inet_pton.c). */
export function isInetPton6(s: string): boolean {
  const SIZE = 16;
  let tp = 0;
  let colonp = -1;
  let i = 0;
  if (s.length === 0) return false;
  if (s[0] === ":") {
    i++;
    if (i === s.length || s[i] !== ":") return false;
  }
  let curtok = i;
  let digits = 0;
  while (i < s.length) {
    const ch = s[i++]!;
    if (hexValue(ch) >= 0) {
      if (digits === 4) return false;
      digits++;
      continue;
    }
    if (ch === ":") {
      curtok = i;
      if (digits === 0) {
        if (colonp >= 0) return false;
        colonp = tp;
        continue;
      }
      if (i === s.length) return false;
      if (tp + 2 > SIZE) return false;
      tp += 2;
      digits = 0;
      continue;
    }
    if (ch === "." && tp + 4 <= SIZE && isInetPton4(s.slice(curtok))) {
      tp += 4;
      digits = 0;
      break;
    }
    return false;
  }
  if (digits > 0) {
    if (tp + 2 > SIZE) return false;
    tp += 2;
  }
  if (colonp >= 0) {
    if (tp === SIZE) return false;
    tp = SIZE;
  }
  return tp === SIZE;
}

/** oslo.config types.IPAddress(version=None): the reason when invalid, else undefined. */
export function ipAddressProblem(value: string): string | undefined {
  if (value === "") return "an IP address cannot be empty";
  return isInetPton4(value) || isInetPton6(value) ? undefined : "not an IPv4 or IPv6 address";
}

const LABEL = new RegExp(`^(?!-)[A-Z0-9\\u0130\\u0131\\u017f\\u212a-]{1,63}(?<!-)${PY_END}`, "i");

/** oslo.config types.Hostname. */
export function hostnameProblem(input: string): string | undefined {
  if (input.length === 0) return "a hostname cannot be empty";
  if (pyLen(input) > 253) return "a hostname has at most 253 characters";
  const value = input.endsWith(".") ? input.slice(0, -1) : input;
  const labels = value.split(".");
  if (!/[a-zA-Z-]/.test(labels.at(-1)!)) {
    return "the top-level label of a hostname must contain a non-digit";
  }
  if (labels.some((label) => !LABEL.test(label))) return "not a valid hostname";
  return undefined;
}

/** oslo.config types.HostAddress: an IP address or a hostname. */
export function hostAddressProblem(value: string): string | undefined {
  if (ipAddressProblem(value) === undefined || hostnameProblem(value) === undefined) {
    return undefined;
  }
  return "not a valid IP address or hostname";
}

// rfc3986 1.5.0 abnf_regexp.py, transcribed.
const UNRESERVED = "A-Za-z0-9._~\\-";
const SUB_DELIMS = "!$&'()*+,;=";
const PCT = "%[A-Fa-f0-9]{2}";
const SCHEME = "[a-zA-Z][a-zA-Z0-9+.-]*";
const URL_PARSING = new RegExp(
  `^(?:(${SCHEME}):)?(?://([^\\\\/?#]*))?([^?#]*)(?:\\?([^#]*))?(?:#(.*))?`,
);
const REG_NAME = `((?:%[0-9A-Fa-f]{2}|[${SUB_DELIMS}${UNRESERVED}])*)`;
const IPV4 = "([0-9]{1,3}\\.){3}[0-9]{1,3}";
const HEX = "[0-9A-Fa-f]{1,4}";
const LS32 = `(${HEX}:${HEX}|${IPV4})`;
const IPV6 = `((${[
  `(${HEX}:){6}${LS32}`,
  `::(${HEX}:){5}${LS32}`,
  `(${HEX})?::(${HEX}:){4}${LS32}`,
  `((${HEX}:)?${HEX})?::(${HEX}:){3}${LS32}`,
  `((${HEX}:){0,2}${HEX})?::(${HEX}:){2}${LS32}`,
  `((${HEX}:){0,3}${HEX})?::${HEX}:${LS32}`,
  `((${HEX}:){0,4}${HEX})?::${LS32}`,
  `((${HEX}:){0,5}${HEX})?::${HEX}`,
  `((${HEX}:){0,6}${HEX})?::`,
].join(")|(")}))`;
const IPV_FUTURE = `v[0-9A-Fa-f]+\\.[${UNRESERVED}${SUB_DELIMS}:]+`;
const ZONE_ID = `(?:[${UNRESERVED}]|${PCT})+`;
const IPV6_ADDRZ_RFC4007 = `${IPV6}(?:(?:%25|%)${ZONE_ID})?`;
const IPV6_ADDRZ = `${IPV6}(?:%25${ZONE_ID})?`;
const IP_LITERAL = `\\[(${IPV6_ADDRZ_RFC4007}|${IPV_FUTURE})\\]`;
const HOST = `(${REG_NAME}|${IPV4}|${IP_LITERAL})`;
const USERINFO = `^([${UNRESERVED}${SUB_DELIMS}:]|${PCT})+`;
const SUBAUTHORITY = new RegExp(
  `^(?:(?<userinfo>${USERINFO})@)?(?<host>${HOST}):?(?<port>[0-9]{1,5})?${PY_END}`,
);
const HOST_MATCHER = new RegExp(`^${HOST}${PY_END}`);
const IPV4_MATCHER = new RegExp(`^${IPV4}${PY_END}`);
const IPV6_MATCHER = new RegExp(`^\\[${IPV6_ADDRZ_RFC4007}\\]${PY_END}`);
const IPV6_NO_RFC4007_MATCHER = new RegExp(`^\\[${IPV6_ADDRZ}\\]${PY_END}`);

const validIpv4Bytes = (host: string) =>
  host.split(".").every((b) => Number.parseInt(b, 10) <= 255);

/** rfc3986 URIMixin.authority_info()["host"]; undefined for no authority or an invalid one. */
function uriHost(authority: string | undefined): string | undefined {
  if (!authority) return undefined;
  const host = SUBAUTHORITY.exec(authority)?.groups?.["host"];
  if (host === undefined) return undefined;
  if (host && IPV4_MATCHER.test(host) && !validIpv4Bytes(host)) return undefined;
  return host;
}

function hostIsValid(host: string): boolean {
  if (!HOST_MATCHER.test(host)) return false;
  if (IPV4_MATCHER.test(host)) return validIpv4Bytes(host);
  if (IPV6_MATCHER.test(host)) return IPV6_NO_RFC4007_MATCHER.test(host);
  return true;
}

/**
 * oslo.config types.URI (no schemes allow-list, no max_length). rfc3986 percent-encodes the
 * path before validating it, after which only `[` and `]` can make it invalid.
 */
export function uriProblem(value: string): string | undefined {
  const match = URL_PARSING.exec(value)!;
  const scheme = match[1];
  const host = uriHost(match[2]);
  if (scheme === undefined || host === undefined) return "a URI needs a scheme and a host";
  if (!hostIsValid(host)) return "the URI's host is invalid";
  if (/[[\]]/.test(match[3] ?? "")) return "the URI's path is invalid";
  return undefined;
}
