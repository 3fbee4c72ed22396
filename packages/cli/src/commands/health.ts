import type { JsonFlags } from "../command-line.js";
import { printJson } from "../print-json.js";
import { withWorker } from "../worker-connection.js";

/**
 * `opencode-worker health`: the worker's standard grpc.health.v1 status, as a load balancer sees it.
 * Exits 0 when SERVING and 1 otherwise (draining, or isolation refusing jobs), for scripts and probes.
 */
export async function health(flags: JsonFlags, configArgs: string[]): Promise<number> {
  const serving = await withWorker(flags, configArgs, (client) => client.health());
  if (flags.json) printJson({ status: serving });
  else process.stdout.write(`${serving}\n`);
  return serving === "SERVING" ? 0 : 1;
}
