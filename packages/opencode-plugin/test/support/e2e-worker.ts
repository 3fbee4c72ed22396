import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { WorkerClient } from "@opencode-worker/master-client";
// Test-only: the plugin never depends on the worker, but its e2e runs the real worker bin the way an operator does.
import { startBinWorker } from "../../../worker-node/test/bin-harness.js";
import { freeUidBase } from "../../../worker-node/test/isolation/sandbox-harness.js";

/** A real sandboxed worker on port 0 for the e2e, with an SDK client the test asks what the plugin did. */
export interface E2eWorker {
  address: string;
  /** The first of its slot uids: every process of its jobs runs as one of them. */
  uidBase: number;
  client: WorkerClient;
  stop(): Promise<void>;
}

/** `flags`: more settings, as `--section.key=value` (the agent's, for a delegated task). */
export async function startE2eWorker(flags: string[] = []): Promise<E2eWorker> {
  const baseDir = mkdtempSync(join(tmpdir(), "ocw-plugin-e2e-"));
  // Its own uid range, so jobs of workers other suites run at the same time are never counted as ours.
  const uidBase = freeUidBase();
  const worker = await startBinWorker([`--session.base_dir=${baseDir}`, `--security.sandbox_uid_base=${uidBase}`, ...flags]);
  const client = await WorkerClient.connect({ address: worker.address });
  return {
    address: worker.address,
    uidBase,
    client,
    async stop() {
      client.close();
      await worker.stop();
      rmSync(baseDir, { recursive: true, force: true });
    },
  };
}
