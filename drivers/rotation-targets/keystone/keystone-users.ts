/**
 * Keystone users through the v3 API with the target's admin credential. The admin password is
 * read from the store at every step (current, then previous, then the staged value when the
 * admin password itself is being rotated), so rotating it never locks strongroom out.
 */
import type { TargetSpec } from "../../../src/config/manifest-types.js";
import type { RotationTargetContext } from "../../types.js";
import { targetError } from "../target-error.js";
import { callFailed, type IdentityConnection, identityCall } from "./identity-api.js";

export interface KeystoneUser {
  id: string;
  name: string;
  enabled: boolean;
}

interface Assignment {
  role?: { id?: string };
  scope?: { project?: { id?: string }; domain?: { id?: string }; system?: unknown };
}

const passwordAuth = (name: string, domain: string, password: string) => ({
  identity: {
    methods: ["password"],
    password: { user: { name, domain: { name: domain }, password } },
  },
});

export class KeystoneUsers {
  constructor(
    readonly connection: IdentityConnection,
    private readonly server: TargetSpec,
    private readonly context: RotationTargetContext,
  ) {}

  /** True when Keystone issues a token to `name` with `password` (disabled users get none). */
  async authenticates(name: string, domain: string, password: string): Promise<boolean> {
    const answer = await identityCall(this.connection, "POST", "/auth/tokens", {
      body: { auth: passwordAuth(name, domain, password) },
    });
    if (answer.status === 201) return true;
    if (answer.status === 401 || answer.status === 404) return false;
    throw callFailed(this.connection, "a token request", answer);
  }

  /** A project-scoped admin token, from the first admin password Keystone accepts. */
  async adminToken(): Promise<string> {
    const domain = this.server.adminDomain ?? "Default";
    const scope = {
      project: { name: this.server.adminProject ?? "admin", domain: { name: domain } },
    };
    for (const password of await this.context.adminPasswords()) {
      const answer = await identityCall(this.connection, "POST", "/auth/tokens", {
        body: { auth: { ...passwordAuth(this.server.adminUser, domain, password), scope } },
      });
      if (answer.status === 201 && answer.subjectToken) return answer.subjectToken;
      if (answer.status !== 401) throw callFailed(this.connection, "the admin login", answer);
    }
    throw targetError(
      `${this.connection.where}: Keystone refuses every stored value of ${this.server.adminSecret} for user ${this.server.adminUser}`,
    );
  }

  async domainId(token: string, name: string): Promise<string> {
    const answer = await this.get(
      token,
      `/domains?name=${encodeURIComponent(name)}`,
      "listing domains",
    );
    const id = (answer["domains"] as Array<{ id?: string }> | undefined)?.[0]?.id;
    if (typeof id !== "string") throw targetError(`${this.connection.where}: no domain "${name}"`);
    return id;
  }

  async find(token: string, name: string, domainId: string): Promise<KeystoneUser | undefined> {
    const query = `name=${encodeURIComponent(name)}&domain_id=${encodeURIComponent(domainId)}`;
    const users = (await this.get(token, `/users?${query}`, "listing users"))["users"];
    const user = (users as Array<Record<string, unknown>> | undefined)?.[0];
    if (!user || typeof user["id"] !== "string") return undefined;
    return { id: user["id"], name, enabled: user["enabled"] !== false };
  }

  async require(token: string, name: string, domainId: string): Promise<KeystoneUser> {
    const user = await this.find(token, name, domainId);
    if (!user)
      throw targetError(`${this.connection.where}: Keystone user "${name}" does not exist`);
    return user;
  }

  /** Sets the password and/or enabled flag of a user. */
  async update(
    token: string,
    user: KeystoneUser,
    change: { password?: string; enabled?: boolean },
  ): Promise<void> {
    const answer = await identityCall(this.connection, "PATCH", `/users/${user.id}`, {
      token,
      body: { user: change },
    });
    if (answer.status !== 200)
      throw callFailed(this.connection, `updating user ${user.name}`, answer);
    this.context.log?.("keystone user updated", {
      user: user.name,
      ...(change.password !== undefined && { password: "changed" }),
      ...(change.enabled !== undefined && { enabled: change.enabled }),
    });
  }

  async create(
    token: string,
    name: string,
    domainId: string,
    password: string,
  ): Promise<KeystoneUser> {
    const answer = await identityCall(this.connection, "POST", "/users", {
      token,
      body: { user: { name, domain_id: domainId, password, enabled: true } },
    });
    const id = (answer.body["user"] as { id?: unknown } | undefined)?.id;
    if (answer.status !== 201 || typeof id !== "string") {
      throw callFailed(this.connection, `creating user ${name}`, answer);
    }
    this.context.log?.("keystone user created", { user: name });
    return { id, name, enabled: true };
  }

  /** Gives `to` every role `from` has (project, domain and system scope). */
  async copyRoles(token: string, from: KeystoneUser, to: KeystoneUser): Promise<void> {
    const listed = await this.get(
      token,
      `/role_assignments?user.id=${from.id}`,
      "listing role assignments",
    );
    for (const assignment of (listed["role_assignments"] as Assignment[] | undefined) ?? []) {
      const role = assignment.role?.id;
      const { project, domain, system } = assignment.scope ?? {};
      const where = project?.id
        ? `/projects/${project.id}`
        : domain?.id
          ? `/domains/${domain.id}`
          : system
            ? "/system"
            : undefined;
      if (!role || !where) continue;
      const answer = await identityCall(
        this.connection,
        "PUT",
        `${where}/users/${to.id}/roles/${role}`,
        {
          token,
        },
      );
      if (answer.status !== 204 && answer.status !== 200) {
        throw callFailed(this.connection, `granting ${to.name} a role of ${from.name}`, answer);
      }
    }
  }

  private async get(token: string, path: string, what: string): Promise<Record<string, unknown>> {
    const answer = await identityCall(this.connection, "GET", path, { token });
    if (answer.status !== 200) throw callFailed(this.connection, what, answer);
    return answer.body;
  }
}
