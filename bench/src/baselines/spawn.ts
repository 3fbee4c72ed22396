import { spawn } from "node:child_process";

/**
 * What a caller does without the worker: spawn the program with node's default stdio (pipes, as
 * the worker needs to capture output), drain them, and wait for 'close' (exited and pipes closed).
 * Rejects unless the program exits 0, so a broken baseline cannot pass for a fast one.
 */
export function spawnToClose(argv: readonly string[]): Promise<void> {
  const [file, ...args] = argv;
  if (file === undefined) return Promise.reject(new Error("spawnToClose: empty argv"));
  return new Promise((resolve, reject) => {
    const child = spawn(file, args);
    let stderr = "";
    child.stdout.resume();
    child.stderr.on("data", (chunk: Buffer) => {
      if (stderr.length < 2000) stderr += chunk.toString();
    });
    child.once("error", reject);
    child.once("close", (code, signal) => {
      if (code === 0) resolve();
      else reject(new Error(`${argv.join(" ")} ended with ${signal ?? `exit code ${code}`}: ${stderr.trim()}`));
    });
  });
}

export const TRUE_ARGV = ["/bin/true"] as const;
