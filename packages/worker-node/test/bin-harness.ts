import { spawn } from "node:child_process";
import { once } from "node:events";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

/**
 * The built bin of @opencode-worker/cli, as an operator runs it (`pnpm test` builds before jest
 * starts). Found by its path in the workspace: worker-node cannot depend on the package that depends on it.
 */
export const BIN = fileURLToPath(new URL("../../cli/dist/bin/opencode-worker.js", import.meta.url));
export const BIN_ENV = { PATH: process.env.PATH ?? "/usr/bin:/bin" };

export interface BinWorker {
  address: string;
  /** The worker's process, for signals other than stop's SIGTERM (SIGHUP). */
  pid: number;
  /** SIGTERM, then the exit code once it has gone. */
  stop(): Promise<number | null>;
}

/**
 * `opencode-worker serve` in its own process, with settings as flags. Tests that measure the worker
 * itself (its RSS, its exit) use this: an in-process worker shares its heap with jest.
 */
export async function startBinWorker(
  flags: string[],
  options: { inherit?: Record<number, number>; logLines?: string[] } = {},
): Promise<BinWorker> {
  // Descriptors handed down at the given numbers, open across exec, as a careless supervisor would.
  const stdio: ("ignore" | "pipe" | "inherit" | number)[] = ["ignore", "pipe", "inherit"];
  for (const [at, fd] of Object.entries(options.inherit ?? {})) {
    while (stdio.length <= Number(at)) stdio.push("ignore");
    stdio[Number(at)] = fd;
  }
  const child = spawn(process.execPath, [BIN, "serve", "--grpc.port=0", "--metrics.port=0", ...flags], { env: BIN_ENV, stdio });
  let address: string | undefined;
  for await (const line of createInterface({ input: child.stdout! })) {
    options.logLines?.push(line);
    const entry = JSON.parse(line) as { msg?: string; address?: string };
    if (entry.msg === "worker listening") {
      address = entry.address;
      break;
    }
  }
  if (!address) throw new Error(`worker exited (${child.exitCode}) before it listened`);
  // Keep draining its log so a chatty worker never blocks on a full pipe.
  child.stdout!.resume();
  return {
    address,
    pid: child.pid!,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGTERM");
        await once(child, "close");
      }
      return child.exitCode;
    },
  };
}
