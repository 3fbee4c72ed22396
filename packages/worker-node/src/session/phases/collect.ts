import { join } from "node:path";
import type { WorkerConfig } from "../../config/worker-config.js";
import { collectArtifacts, type CollectedArtifacts } from "../../files/collect-artifacts.js";
import type { PreparedSandbox } from "../../sandbox/driver.js";
import type { Job } from "../job.js";

/**
 * COLLECT: the artifacts out of output/. Runs only after EXECUTE returned, i.e. once the job's whole
 * process tree is dead, so nothing can swap a file for a link between the check and the read.
 * Artifacts outlive DESTROY with the job: small ones in memory, larger ones copied to a worker-owned
 * store outside the session.
 */
export async function collectPhase(
  job: Job,
  sandbox: PreparedSandbox,
  session: WorkerConfig["session"],
  resultsDir: string,
): Promise<CollectedArtifacts> {
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
  return collected;
}
