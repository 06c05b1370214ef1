/** Every command of the binary, in the order `strongroom --help` lists them (the CLI's contract). */
export const COMMANDS = [
  "up",
  "seed",
  "get",
  "render",
  "service-kit",
  "files",
  "secrets",
  "rotate",
  "rotations",
  "status",
  "audit",
  "keygen",
  "export",
  "passwords",
  "import",
  "vault-server",
] as const;
export type CommandName = (typeof COMMANDS)[number];
