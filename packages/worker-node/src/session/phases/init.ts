import type { PreparedSandbox, SandboxDriver } from "../../sandbox/driver.js";
import type { Job } from "../job.js";

/** INIT: the driver makes the session's resources (directories, uid, cgroup, disk quota). */
export function initPhase(job: Job, driver: SandboxDriver): Promise<PreparedSandbox> {
  return driver.prepare({
    sessionId: job.sessionId,
    sessionDir: job.sessionDir,
    limits: job.spec.limits,
    network: job.spec.network,
  });
}
