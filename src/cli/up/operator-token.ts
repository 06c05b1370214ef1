import { ERRORS } from "../../lib/errors.js";
import { type VaultClient, vaultStatusOf } from "../../vault/vault-client.js";

/** The operator token still valid (renewing it also proves it). */
export async function checkOperatorToken(operator: VaultClient, file: string): Promise<void> {
  try {
    // `write`, not tokenRenewSelf: node-vault's helper would replace the client's token.
    await operator.write("auth/token/renew-self", {});
  } catch (error) {
    const status = vaultStatusOf(error);
    if (status === 403 || status === 400) {
      throw ERRORS.STRONGROOM_ERR_VAULT_TOKEN(
        `Vault refuses the operator token in ${file} (revoked, or expired after more than 24 h ` +
          "without a running broker to renew it)",
      );
    }
    throw error;
  }
}
