import { BlockList, isIP } from "node:net";
import { badRequest } from "../../errors.js";

interface Cidr {
  address: string;
  prefix: number;
  family: "ipv4" | "ipv6";
}

function parseCidr(text: string): Cidr {
  const [address = "", prefixText] = text.trim().split("/");
  const version = isIP(address);
  const max = version === 4 ? 32 : 128;
  const prefix = prefixText === undefined ? max : Number(prefixText);
  if (version === 0 || !Number.isInteger(prefix) || prefix < 0 || prefix > max) {
    throw badRequest(`invalid CIDR block ${JSON.stringify(text)}`);
  }
  return { address, prefix, family: version === 4 ? "ipv4" : "ipv6" };
}

export function validCidrs(list: string[]): string[] {
  for (const cidr of list) parseCidr(cidr);
  return list;
}

function cidrContains(outer: Cidr, address: string, family: "ipv4" | "ipv6"): boolean {
  if (outer.family !== family) return false;
  const block = new BlockList();
  block.addSubnet(outer.address, outer.prefix, outer.family);
  return block.check(address, family);
}

/** Node reports IPv4 clients of a dual-stack socket as "::ffff:a.b.c.d". */
function normalizeAddress(remote: string): { address: string; family: "ipv4" | "ipv6" } {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(remote);
  const address = mapped ? mapped[1]! : remote;
  return { address, family: isIP(address) === 4 ? "ipv4" : "ipv6" };
}

export function addressAllowed(remote: string, cidrs: string[]): boolean {
  if (cidrs.length === 0) return true;
  const { address, family } = normalizeAddress(remote);
  if (isIP(address) === 0) return false;
  return cidrs.some((cidr) => cidrContains(parseCidr(cidr), address, family));
}

export function cidrSubset(inner: string[], outer: string[]): boolean {
  if (outer.length === 0) return true;
  return inner.every((text) => {
    const cidr = parseCidr(text);
    return outer.some((o) => {
      const parsed = parseCidr(o);
      return parsed.prefix <= cidr.prefix && cidrContains(parsed, cidr.address, cidr.family);
    });
  });
}
