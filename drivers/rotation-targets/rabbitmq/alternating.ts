/**
 * Which of an alternating target's two users a secret version belongs to. The convention is the
 * manifest's (templates pair a password with its user name through it): see
 * src/config/accounts.ts.
 */
export { alternatingUser } from "../../../src/config/accounts.js";
