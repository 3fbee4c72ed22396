import { once } from "node:events";
import { AbortError, type JobEvent } from "@opencode-worker/master-client";
import { type LogsFlags, UsageError } from "../command-line.js";
import { EXIT } from "../exit-codes.js";
import { printJson } from "../print-json.js";
import { withWorker } from "../worker-connection.js";

/**
 * `opencode-worker logs [-f] [--after-seq N] JOB`: the job's output, stdout bytes to stdout and
 * stderr bytes to stderr, as the job wrote them (with --json, every event, one a line, with its seq).
 * Without -f it prints what the worker holds now and exits; with -f it follows until the job ends.
 * Ctrl-C stops following (exit 130); the job goes on.
 */
export async function logs(flags: LogsFlags, configArgs: string[], jobId: string): Promise<number> {
  const afterSeq = readAfterSeq(flags["after-seq"]);
  const stop = new AbortController();
  const interrupt = (): void => stop.abort();
  process.once("SIGINT", interrupt);
  try {
    await withWorker(flags, configArgs, async (client) => {
      const job = await client.job(jobId);
      // Without -f, the events up to the latest one now; the job may have more after them.
      const lastSeq = flags.follow ? Infinity : (await job.status()).lastSeq;
      if (afterSeq >= lastSeq) return;
      for await (const event of job.events({ afterSeq, signal: stop.signal })) {
        // A keepalive comes only when nothing else is left to send: the replay is over.
        if (event.type === "keepalive" ? lastSeq !== Infinity : event.seq > lastSeq) break;
        await print(event, flags.json === true);
        if (event.seq === lastSeq) break;
      }
    });
  } catch (error) {
    if (error instanceof AbortError && stop.signal.aborted) return EXIT.interrupted;
    throw error;
  } finally {
    process.off("SIGINT", interrupt);
  }
  return 0;
}

async function print(event: JobEvent, json: boolean): Promise<void> {
  if (json) {
    if (event.type !== "keepalive") printJson(event);
    return;
  }
  if (event.type !== "output") return;
  const out = event.stream === "stdout" ? process.stdout : process.stderr;
  if (!out.write(event.data)) await once(out, "drain");
}

function readAfterSeq(value: string | undefined): number {
  if (value === undefined) return 0;
  if (!/^\d+$/.test(value))
    throw new UsageError(`logs: --after-seq takes a seq (a whole number, 0 or more), got ${JSON.stringify(value)}`, "logs");
  return Number(value);
}
