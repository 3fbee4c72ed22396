import type { Logger } from "../../logging/logger.js";
import type { PreparedSandbox } from "../../sandbox/driver.js";

/**
 * DESTROY: the driver releases everything INIT made. It always runs, even when INIT failed half-way
 * (then there is nothing to release), and a failure here is logged, never thrown: the job's result
 * stands, and the start-up sweep of the next worker removes whatever could not be.
 */
export async function destroyPhase(sandbox: PreparedSandbox | undefined, log: Logger): Promise<void> {
  try {
    await sandbox?.destroy();
  } catch (error) {
    log.error({ err: error }, "destroy failed; the next start-up sweep will remove what is left");
  }
}
