import type {
  LogicalRequest,
  MountEntry,
  Operation,
  StorageView,
} from "../../src/embedded-vault/types.js";
import { memoryStorageView } from "./memory-storage-view.js";

export function testMount(overrides: Partial<MountEntry> = {}): MountEntry {
  return {
    path: "secret/",
    type: "kv",
    description: "",
    accessor: "kv_0000",
    uuid: "00000000-0000-0000-0000-000000000000",
    local: false,
    seal_wrap: false,
    options: null,
    config: {},
    storagePrefix: "logical/00000000-0000-0000-0000-000000000000/",
    ...overrides,
  };
}

export interface RequestInit {
  operation: Operation;
  path: string;
  storage: StorageView;
  mount?: MountEntry;
  data?: Record<string, unknown>;
  query?: Record<string, string>;
  now?: Date;
}

/** A LogicalRequest as the core hands it to a backend (path relative to the mount). */
export function logicalRequest(init: RequestInit): LogicalRequest {
  return {
    id: "req-0",
    operation: init.operation,
    path: init.path,
    mount: init.mount ?? testMount(),
    data: init.data ?? {},
    query: init.query ?? {},
    storage: init.storage,
    tx: memoryStorageView(),
    connection: { remoteAddress: "127.0.0.1" },
    now: init.now ?? new Date(),
  };
}
