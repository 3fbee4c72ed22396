#!/usr/bin/env node
/**
 * opencode-worker serve [--section.key=value ...]              start a worker (the default)
 * opencode-worker run [--address host:port] -- <command ...>   run one job on a worker, output live
 *
 * Exit codes: 2 for a usage or configuration error; serve 0 after a graceful stop; run mirrors the
 * job's exit code (128+n for a signal, 1 for a job that ended without one or a refused dispatch).
 */
import { WorkerClientError } from "@opencode-worker/master-client";
import { ConfigError } from "@opencode-worker/worker-node";
import { parseCommandLine, USAGE, UsageError } from "../command-line.js";
import { run } from "../commands/run.js";
import { serve } from "../commands/serve.js";

async function main(args: string[]): Promise<number> {
  const invocation = parseCommandLine(args);
  switch (invocation.command) {
    case "help":
      process.stdout.write(`${USAGE}\n`);
      return 0;
    case "serve":
      return serve(invocation.configArgs);
    case "run":
      return run(invocation.flags, invocation.configArgs, invocation.program);
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    if (error instanceof UsageError) {
      process.stderr.write(`opencode-worker: ${error.message}\n${USAGE}\n`);
      process.exitCode = error.exitCode;
      return;
    }
    if (error instanceof ConfigError) {
      process.stderr.write(`opencode-worker: ${error.message}\n`);
      process.exitCode = error.exitCode;
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
