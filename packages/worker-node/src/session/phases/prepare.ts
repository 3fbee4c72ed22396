import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { prepareAgentSession } from "../../agent/prepare-agent-session.js";
import type { PreparedSandbox } from "../../sandbox/driver.js";
import { writeInputs } from "../../files/write-inputs.js";
import { materializeWorkspace } from "../../workspace/materialize-workspace.js";
import { syncLowerTree } from "../../workspace/sync-lower-tree.js";
import type { Job } from "../job.js";

/**
 * PREPARE: the workspace, then the input files, into work/ (a manifest's paths and the files' are
 * disjoint, validation made sure), and the session's configuration as opencode.json (for an agent task, OpenCode's
 * own config and HOME: agent/prepare-agent-session.ts). Where the driver
 * offers an overlay, the workspace is the slot's lower tree synced to the manifest (nothing copied for a
 * repeat) and work/ its overlay, so the input files land in its upper dir as the job's own writes do.
 */
export async function preparePhase(job: Job, sandbox: PreparedSandbox): Promise<void> {
  const { workspace } = job.spec;
  const overlay = sandbox.workspaceOverlay;
  // An empty manifest (an agent task's without a workspace) has nothing to share: the slot's tree is left as it is
  // for the next job with a workspace, and the work dir starts empty.
  if (workspace && workspace.entries.length > 0 && job.workspaceBlobs && overlay && sandbox.owner) {
    const held = overlay.held;
    // Unknown until the sync completes: a failure half-way makes the next sync wipe the tree.
    overlay.held = undefined;
    // The caller's identity names its blob scope (BlobStore.scopeOf): a tree never serves another caller.
    const synced = await syncLowerTree(overlay.lowerDir, held, job.owner, workspace.entries, job.workspaceBlobs, sandbox.owner);
    overlay.held = synced.tree;
    overlay.lastCopied = synced.copied;
    job.workspaceUpperDir = await overlay.mount();
    job.materialized = new Map();
  } else if (workspace && job.workspaceBlobs) {
    job.materialized = await materializeWorkspace(sandbox.workDir, workspace.entries, job.workspaceBlobs, sandbox.owner);
  }
  await writeInputs(sandbox.workDir, job.spec.files, sandbox.owner, job.spec.cwd);
  if (job.spec.agentTask) return prepareAgentSession(job.spec.agentTask, sandbox.sessionDir, sandbox.owner);
  const { mode, provider, model, telemetry } = job.spec.sessionConfig;
  const sessionConfig = { mode, provider, model, network: job.spec.network, telemetry };
  // Beside work/, not in it; "wx" (O_CREAT|O_EXCL) fails rather than follow anything already there.
  // Sync: a few hundred bytes, where an async write is a thread-pool round trip on every job.
  writeFileSync(join(sandbox.sessionDir, "opencode.json"), `${JSON.stringify(sessionConfig, null, 2)}\n`, { mode: 0o644, flag: "wx" });
}
