import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { PreparedSandbox } from "../../sandbox/driver.js";
import { writeInputs } from "../../files/write-inputs.js";
import { materializeWorkspace } from "../../workspace/materialize-workspace.js";
import type { Job } from "../job.js";

/**
 * PREPARE: the workspace, then the input files, into work/ (a manifest's paths and the files' are
 * disjoint, validation made sure), and the session's configuration as opencode.json.
 */
export async function preparePhase(job: Job, sandbox: PreparedSandbox): Promise<void> {
  const { workspace } = job.spec;
  if (workspace && job.workspaceBlobs) {
    job.materialized = await materializeWorkspace(sandbox.workDir, workspace.entries, job.workspaceBlobs, sandbox.owner);
  }
  await writeInputs(sandbox.workDir, job.spec.files, sandbox.owner, job.spec.cwd);
  const { mode, provider, model, telemetry } = job.spec.sessionConfig;
  const sessionConfig = { mode, provider, model, network: job.spec.network, telemetry };
  // Beside work/, not in it; "wx" (O_CREAT|O_EXCL) fails rather than follow anything already there.
  // Sync: a few hundred bytes, where an async write is a thread-pool round trip on every job.
  writeFileSync(join(sandbox.sessionDir, "opencode.json"), `${JSON.stringify(sessionConfig, null, 2)}\n`, { mode: 0o644, flag: "wx" });
}
