import { join } from "node:path";
import { REPO_ROOT } from "./repo-root.js";

/** kolla-ansible's own etc/kolla/passwords.yml (Apache-2.0), every value empty, as shipped. */
export const KOLLA_TEMPLATE = join(REPO_ROOT, "test", "fixtures", "kolla", "passwords.yml");
