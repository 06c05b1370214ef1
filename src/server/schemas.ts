/**
 * The route-side schema pieces: path parameters, body limits, the error response map attached to
 * every route, and text responses. What a request or an answer carries is in wire.ts, shared
 * with the CLI.
 */
import Type from "typebox";
import {
  GROUP_NAME_PATTERN,
  OPTION_NAME_PATTERN,
  SECRET_NAME_PATTERN,
  SERVICE_NAME_PATTERN,
} from "../config/manifest-schema.js";
import { ErrorBody } from "./wire.js";

/** Every route but seed (wire.ts: SEED_BODY_LIMIT). */
export const DEFAULT_BODY_LIMIT = 1024 * 1024;

const name = (pattern: RegExp, description: string) =>
  Type.String({ pattern: pattern.source, minLength: 1, maxLength: 100, description });

export const ServiceName = name(SERVICE_NAME_PATTERN, "Service name from the manifest, e.g. nova");
export const SecretName = name(SECRET_NAME_PATTERN, "Secret name, e.g. NovaPassword");

export const ServiceParams = Type.Object({ service: ServiceName });
export const OptionParams = Type.Object({
  service: ServiceName,
  group: name(GROUP_NAME_PATTERN, "oslo.config group, e.g. database or DEFAULT"),
  option: name(OPTION_NAME_PATTERN, "oslo.config option name, e.g. connection"),
});
export const SecretParams = Type.Object({ name: SecretName });
export const RotationParams = Type.Object({
  id: Type.String({ pattern: "^[A-Za-z0-9_-]+$", maxLength: 128, description: "Rotation id" }),
});

/** Attached to every route's response map so errors serialize (and document) as an allow-list. */
export const ERROR_RESPONSES = { "4xx": ErrorBody, "5xx": ErrorBody } as const;

/** A response documented as text, sent raw (never JSON-serialized) with this exact type. */
export const TEXT_PLAIN = "text/plain; charset=utf-8";
export const textResponse = (description: string) => ({
  description,
  content: { "text/plain": { schema: Type.String() } },
});
