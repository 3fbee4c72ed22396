#!/usr/bin/env node
/**
 * opencode-worker serve [--section.key=value ...]              start a worker
 * opencode-worker run [--address host:port] -- <command ...>   run one job on a worker, output live
 * opencode-worker ls | status JOB | logs [-f] JOB | cancel JOB | metrics | health   operate a worker
 *
 * Exit codes: 2 for a usage or configuration error (and for no arguments, after the usage); 125 when
 * the worker cannot be reached or refuses, or the CLI fails; run: the job's code, 124 for a timeout,
 * 130 on Ctrl-C; serve 0 after a graceful stop.
 */
import { WorkerClientError } from "@opencode-worker/master-client";
import { ConfigError } from "@opencode-worker/worker-node";
import { parseCommandLine, type Invocation, USAGE, usageOf, UsageError } from "../command-line.js";
import { cancel } from "../commands/cancel.js";
import { health } from "../commands/health.js";
import { logs } from "../commands/logs.js";
import { ls } from "../commands/ls.js";
import { metrics } from "../commands/metrics.js";
import { run } from "../commands/run.js";
import { serve } from "../commands/serve.js";
import { status } from "../commands/status.js";
import { CliError, EXIT } from "../exit-codes.js";
import { version } from "../version.js";

async function main(invocation: Invocation): Promise<number> {
  switch (invocation.command) {
    case "usage":
      // On stdout, as asked for, but a failure: a bare `opencode-worker` in a script did nothing.
      process.stdout.write(`${USAGE}\n`);
      return EXIT.usage;
    case "help":
      process.stdout.write(`${invocation.topic === undefined ? USAGE : usageOf(invocation.topic)}\n`);
      return 0;
    case "version":
      process.stdout.write(`opencode-worker ${version()}\n`);
      return 0;
    case "serve":
      return serve(invocation.configArgs);
    case "run":
      return run(invocation.flags, invocation.configArgs, invocation.program);
    case "ls":
      return ls(invocation.flags, invocation.configArgs);
    case "status":
      return status(invocation.flags, invocation.configArgs, invocation.jobId);
    case "logs":
      return logs(invocation.flags, invocation.configArgs, invocation.jobId);
    case "cancel":
      return cancel(invocation.flags, invocation.configArgs, invocation.jobId);
    case "metrics":
      return metrics(invocation.flags, invocation.configArgs);
    case "health":
      return health(invocation.flags, invocation.configArgs);
  }
}

/** The exit code for a failure, after its message went to stderr. */
function report(error: unknown): number {
  if (error instanceof UsageError) {
    process.stderr.write(`opencode-worker: ${error.message}\n${error.command === undefined ? USAGE : usageOf(error.command)}\n`);
    return error.exitCode;
  }
  if (error instanceof ConfigError) {
    process.stderr.write(`opencode-worker: ${error.message}\n`);
    return error.exitCode;
  }
  // The worker refused or could not be reached: its message says what to change, no stack needed.
  if (error instanceof WorkerClientError || error instanceof CliError) {
    process.stderr.write(`opencode-worker: ${error.message}\n`);
    return EXIT.cliError;
  }
  process.stderr.write(`opencode-worker: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  return EXIT.cliError;
}

new Promise<Invocation>((resolve) => resolve(parseCommandLine(process.argv.slice(2)))).then(main).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.exitCode = report(error);
  },
);
