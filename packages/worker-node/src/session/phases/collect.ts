import { createHash } from "node:crypto";
import { join } from "node:path";
import type { WorkspaceChanges } from "@opencode-worker/shared";
import type { WorkerConfig } from "../../config/worker-config.js";
import { collectArtifacts, type CollectedArtifacts } from "../../files/collect-artifacts.js";
import type { PreparedSandbox } from "../../sandbox/driver.js";
import type { ValidatedFile } from "../../files/write-inputs.js";
import { diffWorkspace } from "../../workspace/diff-workspace.js";
import type { ManifestEntry } from "../../workspace/validate-workspace.js";
import type { Job } from "../job.js";

/**
 * What COLLECT found: the artifacts, and what the command changed in the work dir when the job had a workspace
 * (the manifest's entries and the input files being what it started with).
 */
export type Collected = CollectedArtifacts & { readonly workspaceChanges?: WorkspaceChanges };

/**
 * COLLECT: the artifacts out of output/, and the work dir's changes against its workspace manifest
 * (workspace/diff-workspace.ts). Runs only after EXECUTE returned, i.e. once the job's whole
 * process tree is dead, so nothing can swap a file for a link between the check and the read.
 * Artifacts outlive DESTROY with the job: small ones in memory, larger ones copied to a worker-owned
 * store outside the session; changed workspace files go into the caller's blob store.
 */
export async function collectPhase(
  job: Job,
  sandbox: PreparedSandbox,
  config: Pick<WorkerConfig, "session" | "workspace">,
  resultsDir: string,
): Promise<Collected> {
  const { session, workspace } = config;
  job.storeDir = join(resultsDir, job.sessionId);
  const collected = await collectArtifacts(sandbox.outputDir, {
    patterns: job.spec.artifactPatterns,
    maxArtifacts: session.maxArtifacts,
    maxArtifactBytes: session.maxArtifactBytes,
    maxTotalBytes: session.maxArtifactsTotalBytes,
    inlineBytes: session.artifactInlineBytes,
    storeDir: job.storeDir,
  });
  for (const artifact of collected.artifacts) job.artifacts.set(artifact.path, artifact);
  const manifest = job.spec.workspace;
  if (!manifest || !job.workspaceBlobs || !job.materialized) return collected;
  const workspaceChanges = await diffWorkspace(sandbox.workDir, {
    ...(job.workspaceUpperDir !== undefined && { upperDir: job.workspaceUpperDir }),
    manifest: [...manifest.entries, ...job.spec.files.map(asManifestEntry)],
    identities: job.materialized,
    remoteOnly: manifest.remoteOnly,
    blobs: job.workspaceBlobs,
    ...workspace,
  });
  return { ...collected, workspaceChanges };
}

/** An input file is part of what the work dir started with: a change only if the command changed it. */
function asManifestEntry(file: ValidatedFile): ManifestEntry {
  return {
    kind: "file",
    path: file.path,
    digest: { sha256: createHash("sha256").update(file.content).digest("hex"), sizeBytes: file.content.length },
    mode: file.mode,
  };
}
