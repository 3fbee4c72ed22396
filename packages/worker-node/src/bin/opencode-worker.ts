#!/usr/bin/env node
/**
 * opencode-worker serve [--section.key=value ...]          start a worker (the default)
 * opencode-worker run [--address host:port] -- <command>   run one job on a worker, output live
 *
 * Exit codes: serve 0 after a graceful stop, 2 for a configuration error; run mirrors the job's
 * exit code (128+n for a signal, 1 for a job that ended without one or a refused dispatch, 2 for a
 * usage error).
 */
import { WorkerClientError } from "@opencode-worker/master-client";
import { ConfigError } from "../config/index.js";
import { runCommand } from "./run-command.js";
import { serve } from "./serve.js";

const USAGE = `usage:
  opencode-worker serve [--config PATH] [--section.key=value ...]
  opencode-worker run [--address HOST:PORT] [--timeout-ms N] [--memory SIZE] [--network open] -- <command ...>
configuration: see README (every key also reads OPENCODE_WORKER_<SECTION>_<KEY>)`;

async function main(args: string[]): Promise<number> {
  const [first, ...rest] = args;
  if (first === "--help" || first === "-h" || first === "help") {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (first === "run") return runCommand(rest);
  if (first === undefined || first === "serve") return serve(rest);
  if (first.startsWith("--")) return serve(args);
  process.stderr.write(`opencode-worker: unknown command ${JSON.stringify(first)}\n${USAGE}\n`);
  return 2;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    if (error instanceof ConfigError) {
      process.stderr.write(`opencode-worker: ${error.message}\n`);
      process.exitCode = 2;
      return;
    }
    // The worker refused or could not be reached: its message says what to change, no stack needed.
    if (error instanceof WorkerClientError) {
      process.stderr.write(`opencode-worker: ${error.message}\n`);
      process.exitCode = 1;
      return;
    }
    process.stderr.write(`opencode-worker: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 1;
  },
);
