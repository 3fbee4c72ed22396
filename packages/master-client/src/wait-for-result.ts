import type { JobResult as WireJobResult } from "@opencode-worker/shared";
import { required } from "./convert.js";
import { DeadlineExceededError } from "./errors.js";
import type { JobResult } from "./job-result.js";
import { readFullOutput, resultWithOutput, type ResultOptions } from "./output-reader.js";
import { sleep } from "./retry.js";
import type { RequestOptions, Transport } from "./transport.js";

/**
 * Blocks until the job ends, however long it runs. Each Collect(wait) round is one RPC bounded by
 * `requestTimeoutMs`; a round that expires while the job still runs is asked again, so the RPC
 * deadline never cuts a job short: only the job's own limits (enforced by the worker) or the
 * caller's signal end the wait.
 */
export async function waitForResult(transport: Transport, jobId: string, options: ResultOptions): Promise<JobResult> {
  const fullOutput = readFullOutput(options);
  return resultWithOutput(transport, await collectOnceEnded(transport, jobId, options), fullOutput, options.signal);
}

async function collectOnceEnded(transport: Transport, jobId: string, options: RequestOptions): Promise<WireJobResult> {
  for (;;) {
    try {
      const response = await transport.unary("collect", { jobId, wait: true }, { ...options, jobId });
      return required(response.result, "result");
    } catch (error) {
      if (!(error instanceof DeadlineExceededError) || options.signal?.aborted) throw error;
      // A worker that caps how long it blocks answers DEADLINE_EXCEEDED at once each round;
      // the pause keeps that from turning into a busy loop.
      await sleep(transport.retryPolicy.initialDelayMs, options.signal);
    }
  }
}
