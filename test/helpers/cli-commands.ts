/** Every command of the binary, in the order `strongroom --help` lists them (the CLI's contract). */
export const COMMANDS = [
  "up",
  "seed",
  "get",
  "render",
  "service-kit",
  "kits",
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
  "bootstrap",
  "serve",
] as const;
export type CommandName = (typeof COMMANDS)[number];
