import { tool, type ToolDefinition } from "@opencode-ai/plugin";
import { readExcerpts } from "../report/read-excerpts.js";
import { renderOutput } from "../report/render-output.js";
import { renderResult } from "../report/render-result.js";
import { renderStatus } from "../report/render-status.js";
import { cancelOnAbort } from "./cancel-on-abort.js";
import { followEvents } from "./follow-events.js";
import type { WorkerAccess } from "./worker-access.js";

const z = tool.schema;

export const subscribeStream = (worker: WorkerAccess): ToolDefinition =>
  tool({
    description:
      "Follow a job already on the worker (from worker_dispatch_job), showing its output live, until it ends or maxWaitMs " +
      "passes. At the end it returns the result; before, the output since afterSeq and the afterSeq to resume from. " +
      "Stopping the tool call cancels the job.",
    args: {
      jobId: z.string().describe("The job id from worker_dispatch_job."),
      afterSeq: z.number().int().nonnegative().optional().describe("Resume after this event seq (0, the default, replays from the start)."),
      maxWaitMs: z.number().int().positive().optional().describe("Stop following after this long, in ms (default: the plugin's waitMs)."),
    },
    async execute(args, context) {
      return worker.use(async (client, settings) => {
        const job = await client.job(args.jobId, { signal: context.abort });
        const afterSeq = args.afterSeq ?? 0;
        const deadline = AbortSignal.timeout(args.maxWaitMs ?? settings.waitMs);
        const signal = AbortSignal.any([context.abort, deadline]);
        return cancelOnAbort(client, job.jobId, context.abort, async () => {
          const events = job.events({ afterSeq, signal });
          const followed = await followEvents(job.jobId, events, context, settings.resultBytes, { afterSeq, deadline });
          if (followed.result) {
            const result = followed.result;
            // Output before afterSeq was not followed: the worker's copy gives the whole picture.
            const excerpts =
              afterSeq === 0
                ? { stdout: followed.stdout.excerpt(result.stdoutLines), stderr: followed.stderr.excerpt(result.stderrLines) }
                : await readExcerpts(job, result, settings.resultBytes, context.abort);
            return renderResult(result, excerpts, settings.resultBytes);
          }
          const status = await job.status();
          const half = Math.floor(settings.resultBytes / 2) - 200;
          return [
            `still running after ${args.maxWaitMs ?? settings.waitMs} ms of following`,
            renderStatus(status),
            renderOutput(`stdout since seq ${afterSeq}`, followed.stdout.excerpt(undefined), half),
            renderOutput(`stderr since seq ${afterSeq}`, followed.stderr.excerpt(undefined), half),
            `resume with worker_subscribe_stream jobId "${job.jobId}" afterSeq ${followed.lastSeq}`,
          ].join("\n");
        });
      });
    },
  });
