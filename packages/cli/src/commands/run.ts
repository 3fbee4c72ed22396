import { once } from "node:events";
import { WorkerClient, type JobResult, type JobSpec } from "@opencode-worker/master-client";
import { loadConfig } from "@opencode-worker/worker-node";
import type { RunFlags } from "../command-line.js";
import { shellStatusOf } from "@opencode-worker/shared";

/**
 * `opencode-worker run [flags] -- <command ...>`: dispatches one job and streams its output live to
 * this terminal. One word after `--` is a shell line (`-- "make | tee log"`), several are an argv
 * (`-- ls -la`). Ctrl-C cancels the job (its whole tree) and waits for its result. The exit code
 * mirrors the job's.
 */
export async function run(flags: RunFlags, configArgs: string[], program: string[]): Promise<number> {
  // By default, the worker that the local configuration describes.
  const address = flags.address ?? (await localAddress(configArgs));
  const spec: JobSpec = {
    ...(program.length === 1 ? { command: program[0]! } : { argv: program }),
    ...(flags.cwd !== undefined && { cwd: flags.cwd }),
    ...(flags.network === "open" && { network: "open" as const }),
    limits: {
      ...(flags["timeout-ms"] !== undefined && { timeoutMs: Number(flags["timeout-ms"]) }),
      ...(flags.memory !== undefined && { memory: flags.memory }),
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

async function localAddress(configArgs: string[]): Promise<string> {
  // Only the address is wanted: no need to probe (and create) the session directory.
  const { config } = await loadConfig({ argv: configArgs, env: process.env, cwd: process.cwd(), probeDir: async () => {} });
  const host = config.grpc.host === "0.0.0.0" || config.grpc.host === "::" ? "127.0.0.1" : config.grpc.host;
  return `${host}:${config.grpc.port}`;
}

/** The job's exit code; 128+n for a signal, as shells report it; 1 for any other end. */
function exitCodeOf(result: JobResult): number {
  if (result.exitCode !== undefined) return result.exitCode;
  return (result.signal ? shellStatusOf(result.signal) : undefined) ?? 1;
}
