import { startWorker } from "@opencode-worker/worker-node";
import { closeInheritedDescriptors } from "../close-inherited-descriptors.js";

/**
 * Runs a worker until SIGTERM or SIGINT, then stops it gracefully (running jobs get
 * worker.shutdown_grace_ms). A second signal exits at once; the sandboxes die with the worker
 * (--die-with-parent) and the next start-up sweep removes what they left.
 */
export async function serve(configArgs: string[]): Promise<number> {
  const closed = closeInheritedDescriptors();
  const notes =
    closed.length > 0 ? [`closed descriptors inherited from the worker's parent, so no job gets them: ${closed.join(", ")}`] : [];
  const worker = await startWorker({ argv: configArgs, env: process.env, cwd: process.cwd(), notes });
  return new Promise((resolve) => {
    const onSignal = (signal: NodeJS.Signals): void => {
      process.once(signal, () => process.exit(130));
      void worker.stop().then(() => resolve(0));
    };
    process.once("SIGTERM", onSignal);
    process.once("SIGINT", onSignal);
  });
}
