import { tool, type ToolDefinition } from "@opencode-ai/plugin";
import { renderResult } from "../report/render-result.js";
import { followEvents } from "./follow-events.js";
import { jobArgs, jobSpecOf } from "./job-args.js";
import type { WorkerAccess } from "./worker-access.js";
import { cancelOnAbort } from "./cancel-on-abort.js";

export const streamJob = (worker: WorkerAccess): ToolDefinition =>
  tool({
    description:
      "Run a command on a remote opencode-worker (an isolated, disposable sandbox), show its output live, and return " +
      "its result when it ends: state, exit code, the reason and what to change if a limit stopped it, then stdout and " +
      "stderr (head and tail of long output) and the files collected. Stopping the tool call cancels the job.",
    args: jobArgs,
    async execute(args, context) {
      return worker.use(async (client, settings) => {
        const stream = client.stream(jobSpecOf(args, settings), { signal: context.abort });
        return cancelOnAbort(client, stream.jobId, context.abort, async () => {
          const followed = await followEvents(stream.jobId, stream, context, settings.resultBytes);
          // The stream ends with the result; were it ever cut short, the worker still has it.
          const result = followed.result ?? (await (await client.job(stream.jobId)).wait({ fullOutput: false }));
          const excerpts = { stdout: followed.stdout.excerpt(result.stdoutLines), stderr: followed.stderr.excerpt(result.stderrLines) };
          return renderResult(result, excerpts, settings.resultBytes);
        });
      });
    },
  });
