import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { once } from "node:events";
import { BIN, BIN_ENV } from "../../../worker-node/test/bin-harness.js";

export interface BinRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The bin in its own process; `stdin` is what it reads (empty by default: a closed pipe, not a terminal). */
export function spawnBin(args: string[], stdin = ""): ChildProcessWithoutNullStreams {
  const child = spawn(process.execPath, [BIN, ...args], { env: BIN_ENV });
  child.stdin.end(stdin);
  return child;
}

/** Everything the child writes, and its exit code once it has gone. */
export function outcomeOf(child: ChildProcessWithoutNullStreams): Promise<BinRun> {
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  return once(child, "close").then(([code]) => ({ code: code as number | null, stdout, stderr }));
}

export function runBin(args: string[], stdin = ""): Promise<BinRun> {
  return outcomeOf(spawnBin(args, stdin));
}
