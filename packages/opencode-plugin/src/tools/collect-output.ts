import { tool, type ToolDefinition } from "@opencode-ai/plugin";
import { JobNotFinishedError } from "@opencode-worker/master-client";
import { readExcerpts } from "../report/read-excerpts.js";
import { renderResult } from "../report/render-result.js";
import { renderStatus } from "../report/render-status.js";
import { cancelOnAbort } from "./cancel-on-abort.js";
import type { WorkerAccess } from "./worker-access.js";

const z = tool.schema;

export const collectOutput = (worker: WorkerAccess): ToolDefinition =>
  tool({
    description:
      "The result of a job on the worker: state, exit code, the reason and what to change if a limit stopped it, stdout " +
      "and stderr (head and tail of long output) and the files collected. Waits for the job to end unless wait is false; " +
      "stopping the tool call while it waits cancels the job.",
    args: {
      jobId: z.string().describe("The job id from worker_dispatch_job or worker_stream_job."),
      wait: z.boolean().optional().describe("Wait for the job to end (default true); false answers at once with its status if it runs."),
      waitMs: z.number().int().positive().optional().describe("Longest wait in ms (default: the plugin's waitMs, 10 minutes)."),
    },
    async execute(args, context) {
      return worker.use(async (client, settings) => {
        const job = await client.job(args.jobId, { signal: context.abort });
        const waitMs = args.waitMs ?? settings.waitMs;
        const bounded = AbortSignal.any([context.abort, AbortSignal.timeout(waitMs)]);
        return cancelOnAbort(client, job.jobId, context.abort, async () => {
          let result;
          try {
            result =
              args.wait === false ? await job.collect({ fullOutput: false }) : await job.wait({ fullOutput: false, signal: bounded });
          } catch (error) {
            const stillRunning = error instanceof JobNotFinishedError || (bounded.aborted && !context.abort.aborted);
            if (!stillRunning) throw error;
            const waited = args.wait === false ? "" : ` after waiting ${waitMs} ms`;
            return `still running${waited}\n${renderStatus(await job.status())}`;
          }
          return renderResult(result, await readExcerpts(job, result, settings.resultBytes, context.abort), settings.resultBytes);
        });
      });
    },
  });
