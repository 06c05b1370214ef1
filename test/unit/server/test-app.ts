import { createPasswordFiles } from "../../../src/broker/password-files.js";
import { type BrokerAppDeps, buildBrokerApp } from "../../../src/server/app.js";
import {
  createFakeAuthenticator,
  createFakeBroker,
  type FakeAuthenticator,
  type FakeBroker,
  NOVA_TOKEN,
  OPERATOR_TOKEN,
  refusingExporter,
} from "../../helpers/fake-broker.js";
import { createMemoryKeyManager } from "../../helpers/memory-key-manager.js";
import { createMemoryRotations } from "../../helpers/memory-rotations.js";

export interface TestApp {
  app: ReturnType<typeof buildBrokerApp>;
  broker: FakeBroker;
  auth: FakeAuthenticator;
}

/**
 * The broker app over fakes (in-memory rotations with no secrets, an exporter that refuses,
 * passwords files of an empty store),
 * logging off; `beforeReady` may add hooks. The caller closes it.
 */
export async function buildTestApp(
  deps: Partial<BrokerAppDeps> = {},
  beforeReady?: (app: ReturnType<typeof buildBrokerApp>) => void,
): Promise<TestApp> {
  const broker = createFakeBroker();
  const auth = createFakeAuthenticator();
  const { rotations } = await createMemoryRotations("deployment: {name: overcloud}\n", {});
  const app = buildBrokerApp({
    broker,
    auth,
    logger: false,
    rotations: { rotations, schedules: () => [] },
    exporter: refusingExporter,
    passwords: createPasswordFiles({
      deployment: "overcloud",
      keyManagerFor: async () => createMemoryKeyManager(),
    }),
    ...deps,
  });
  beforeReady?.(app);
  await app.ready();
  return { app, broker, auth };
}

export const asOperator = { authorization: `Bearer ${OPERATOR_TOKEN}` };
export const asNova = { "x-vault-token": NOVA_TOKEN };

export const errorOf = (body: string): { code: string; message: string } => JSON.parse(body).error;
