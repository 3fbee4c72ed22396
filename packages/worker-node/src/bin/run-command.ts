import { constants } from "node:os";
import { once } from "node:events";
import { WorkerClient, type JobResult, type JobSpec } from "@opencode-worker/master-client";
import { loadConfig } from "../config/index.js";

/** Options of `opencode-worker run` that shape the job rather than the local configuration. */
const JOB_FLAGS = new Set(["--address", "--timeout-ms", "--memory", "--network", "--cwd"]);

/**
 * `opencode-worker run [--address host:port] [job flags] -- <command ...>`: dispatches one job and
 * streams its output live to this terminal. One word after `--` is a shell line (`-- "make | tee
 * log"`), several are an argv (`-- ls -la`). Ctrl-C cancels the job (its whole tree) and waits for
 * its result. The exit code mirrors the job's.
 */
export async function runCommand(args: string[]): Promise<number> {
  const dash = args.indexOf("--");
  const program = dash < 0 ? [] : args.slice(dash + 1);
  const { job: jobFlags, rest } = splitFlags(dash < 0 ? args : args.slice(0, dash));
  if (program.length === 0) {
    process.stderr.write("opencode-worker run: give the command after `--`, e.g. opencode-worker run -- ls -la\n");
    return 2;
  }
  // By default, the worker that the local configuration describes.
  const address = jobFlags.get("--address") ?? (await localAddress(rest));
  const spec: JobSpec = {
    ...(program.length === 1 ? { command: program[0]! } : { argv: program }),
    ...(jobFlags.has("--cwd") && { cwd: jobFlags.get("--cwd")! }),
    ...(jobFlags.get("--network") === "open" && { network: "open" as const }),
    limits: {
      ...(jobFlags.has("--timeout-ms") && { timeoutMs: Number(jobFlags.get("--timeout-ms")) }),
      ...(jobFlags.has("--memory") && { memory: jobFlags.get("--memory")! }),
    },
  };

  const client = await WorkerClient.connect({ address });
  try {
    const job = await client.dispatch(spec);
    const interrupt = (): void => void job.cancel("interrupted at the terminal (SIGINT)");
    process.once("SIGINT", interrupt);
    let result: JobResult | undefined;
    for await (const event of job.events()) {
      if (event.type === "output") {
        const out = event.stream === "stdout" ? process.stdout : process.stderr;
        if (!out.write(event.data)) await once(out, "drain");
      } else if (event.type === "completed") {
        result = event.result;
      }
    }
    process.off("SIGINT", interrupt);
    result ??= await job.wait();
    if (result.state !== "finished") process.stderr.write(`opencode-worker: job ${result.jobId} ${result.message}\n`);
    return exitCodeOf(result);
  } finally {
    client.close();
  }
}

function splitFlags(args: string[]): { job: Map<string, string>; rest: string[] } {
  const job = new Map<string, string>();
  const rest: string[] = [];
  for (let i = 0; i < args.length; i += 1) {
    const arg = args[i]!;
    const [name, inline] = arg.split(/=(.*)/s, 2) as [string, string | undefined];
    if (!JOB_FLAGS.has(name)) {
      rest.push(arg);
      continue;
    }
    const value = inline ?? args[++i];
    if (value === undefined) throw new Error(`${name} needs a value`);
    job.set(name, value);
  }
  return { job, rest };
}

async function localAddress(configArgs: string[]): Promise<string> {
  // Only the address is wanted: no need to probe (and create) the session directory.
  const { config } = await loadConfig({ argv: configArgs, env: process.env, cwd: process.cwd(), probeDir: async () => {} });
  const host = config.grpc.host === "0.0.0.0" || config.grpc.host === "::" ? "127.0.0.1" : config.grpc.host;
  return `${host}:${config.grpc.port}`;
}

/** The job's exit code; 128+n for a signal, as shells report it; 1 for any other end. */
function exitCodeOf(result: JobResult): number {
  if (result.exitCode !== undefined) return result.exitCode;
  const signal = result.signal as keyof typeof constants.signals | undefined;
  if (signal && constants.signals[signal] !== undefined) return 128 + constants.signals[signal];
  return 1;
}
