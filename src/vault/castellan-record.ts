/**
 * The Castellan record: what castellan's Vault key manager (castellan/key_manager/
 * vault_key_manager.py) stores and reads back, so a real castellan client reads strongroom's
 * secrets.
 */
import type { SecretValue } from "../config/secret-value.js";

export interface CastellanRecord {
  type: "passphrase" | "opaque";
  /** Lower-case hex of the UTF-8 bytes (map values: of their JSON). */
  value: string;
  algorithm: null;
  bit_length: null;
  name: string;
  /** Integer POSIX seconds. */
  created: number;
}

export const unixSeconds = (ms = Date.now()): number => Math.floor(ms / 1000);

export function toCastellanRecord(
  name: string,
  value: SecretValue,
  created: number,
): CastellanRecord {
  const opaque = typeof value !== "string";
  const text = opaque ? JSON.stringify(value) : value;
  return {
    type: opaque ? "opaque" : "passphrase",
    value: Buffer.from(text, "utf8").toString("hex"),
    algorithm: null,
    bit_length: null,
    name,
    created,
  };
}

export interface DecodedRecord {
  type: "passphrase" | "opaque";
  value: SecretValue;
  created: number;
}

const HEX = /^(?:[0-9a-fA-F]{2})*$/;

/** Reads a record back; undefined when the data is not a passphrase/opaque Castellan record. */
export function fromCastellanRecord(data: unknown): DecodedRecord | undefined {
  if (typeof data !== "object" || data === null) return undefined;
  const record = data as Record<string, unknown>;
  const { type, value, created } = record;
  if (
    (type !== "passphrase" && type !== "opaque") ||
    typeof value !== "string" ||
    !HEX.test(value)
  ) {
    return undefined;
  }
  const text = Buffer.from(value, "hex").toString("utf8");
  const when = typeof created === "number" ? created : 0;
  if (type === "passphrase") return { type, value: text, created: when };
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed === "object" && parsed !== null && !Array.isArray(parsed)) {
      return { type, value: parsed as Record<string, unknown>, created: when };
    }
  } catch {
    // An opaque record written by someone else: keep it as text.
  }
  return { type, value: text, created: when };
}
