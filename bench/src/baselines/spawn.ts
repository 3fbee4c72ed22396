import { spawn } from "node:child_process";
import type { Writable } from "node:stream";

/**
 * What a caller does without the worker: spawn the program with node's default stdio (pipes, as
 * the worker needs to capture output), drain them, and wait for 'close' (exited and pipes closed).
 * Rejects unless the program exits 0, so a broken baseline cannot pass for a fast one.
 * `fd3`: bytes the program reads from a pipe at fd 3 (bwrap's `--seccomp 3`).
 */
export function spawnToClose(argv: readonly string[], fd3?: Buffer): Promise<void> {
  const [file, ...args] = argv;
  if (file === undefined) return Promise.reject(new Error("spawnToClose: empty argv"));
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, fd3 ? { stdio: ["pipe", "pipe", "pipe", "pipe"] } : {});
    (child.stdio[3] as Writable | undefined)?.on("error", () => {}).end(fd3); // a failed start shows in the exit status
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
