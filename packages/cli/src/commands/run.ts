import { once } from "node:events";
import type { JobResult, JobSpec } from "@opencode-worker/master-client";
import { shellStatusOf } from "@opencode-worker/shared";
import type { RunFlags } from "../command-line.js";
import { CliError, EXIT } from "../exit-codes.js";
import { connectToWorker, localConfig } from "../worker-connection.js";

/**
 * `opencode-worker run [flags] -- <command ...>`: dispatches one job and streams its output live to
 * this terminal. One word after `--` is a shell line (`-- "make | tee log"`), several are an argv
 * (`-- ls -la`). Piped stdin (not a terminal) becomes the job's stdin. Ctrl-C cancels the job (its
 * whole tree), waits for its result and exits 130; a timed-out job exits 124; otherwise the exit
 * code mirrors the job's.
 */
export async function run(flags: RunFlags, configArgs: string[], program: string[]): Promise<number> {
  const stdin = process.stdin.isTTY ? undefined : await readStdin(configArgs);
  const spec: JobSpec = {
    ...(program.length === 1 ? { command: program[0]! } : { argv: program }),
    ...(flags.cwd !== undefined && { cwd: flags.cwd }),
    ...(flags.network === "open" && { network: "open" as const }),
    ...(stdin !== undefined && stdin.length > 0 && { stdin }),
    limits: {
      ...(flags["timeout-ms"] !== undefined && { timeoutMs: Number(flags["timeout-ms"]) }),
      ...(flags.memory !== undefined && { memory: flags.memory }),
    },
  };

  const client = await connectToWorker(flags, configArgs, process.env);
  try {
    const job = await client.dispatch(spec);
    let interrupted = false;
    const interrupt = (): void => {
      interrupted = true;
      void job.cancel("interrupted at the terminal (SIGINT)");
    };
    process.once("SIGINT", interrupt);
    let result: JobResult | undefined;
    try {
      for await (const event of job.events()) {
        if (event.type === "output") {
          const out = event.stream === "stdout" ? process.stdout : process.stderr;
          if (!out.write(event.data)) await once(out, "drain");
        } else if (event.type === "completed") {
          result = event.result;
        }
      }
    } finally {
      process.off("SIGINT", interrupt);
    }
    result ??= await job.wait();
    if (result.state !== "finished") process.stderr.write(`opencode-worker: job ${result.jobId} ${result.message}\n`);
    return interrupted ? EXIT.interrupted : exitCodeOf(result);
  } finally {
    client.close();
  }
}

/**
 * All of piped stdin, refused past what the worker accepts in one request: the local
 * configuration's grpc.max_receive_message_bytes (the default, for a worker elsewhere).
 */
async function readStdin(configArgs: string[]): Promise<Buffer> {
  const limit = (await localConfig(configArgs, process.env)).grpc.maxReceiveMessageBytes;
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of process.stdin as AsyncIterable<Buffer>) {
    total += chunk.length;
    if (total > limit) {
      process.stdin.destroy();
      throw new CliError(
        `stdin holds more than ${limit} bytes, what a worker accepts in one request (grpc.max_receive_message_bytes): ` +
          "send less, or have the job fetch large data itself",
      );
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/** The job's exit code; 124 for a timeout; 128+n for a signal, as shells report it; 1 for any other end. */
function exitCodeOf(result: JobResult): number {
  if (result.state === "timed_out") return EXIT.timedOut;
  if (result.exitCode !== undefined) return result.exitCode;
  return (result.signal ? shellStatusOf(result.signal) : undefined) ?? 1;
}
