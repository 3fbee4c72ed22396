import { tool, type ToolDefinition } from "@opencode-ai/plugin";
import type { WorkerAccess } from "./worker-access.js";

const z = tool.schema;

/** The method path of StreamJob, as gRPC tools address it. */
const STREAM_JOB = "opencode.worker.v1.WorkerService/StreamJob";

export const getStreamUrl = (worker: WorkerAccess): ToolDefinition =>
  tool({
    description:
      "How a person or another program attaches to a job's live output: the worker's address, the job id, the afterSeq " +
      "to resume from, and exact command lines (buf curl, grpcurl) to paste into a terminal. Does not wait.",
    args: {
      jobId: z.string().describe("The job id from worker_dispatch_job or worker_stream_job."),
      afterSeq: z.number().int().nonnegative().optional().describe("Replay only events after this seq (default 0: from the start)."),
    },
    async execute(args, context) {
      return worker.use(async (client) => {
        const status = await (await client.job(args.jobId, { signal: context.abort })).status();
        const afterSeq = args.afterSeq ?? 0;
        const request = JSON.stringify({ job_id: status.jobId, after_seq: String(afterSeq) });
        return [
          `job ${status.jobId} on the worker at ${client.address} (gRPC over plaintext HTTP/2): ${status.state}`,
          `stream: grpc://${client.address}/${STREAM_JOB} with ${request}`,
          `resume from: afterSeq ${afterSeq} (0 replays every event; the latest so far is ${status.lastSeq})`,
          "attach from a terminal (the worker serves reflection, so no .proto files are needed):",
          `  buf curl --protocol grpc --http2-prior-knowledge -d '${request}' http://${client.address}/${STREAM_JOB}`,
          `  grpcurl -plaintext -d '${request}' ${client.address} ${STREAM_JOB}`,
        ].join("\n");
      });
    },
  });
