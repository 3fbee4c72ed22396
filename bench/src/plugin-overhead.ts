/**
 * (h): what the OpenCode plugin adds to a trivial job: its worker_stream_job tool, called as opencode
 * calls it, against the SDK's `client.run()` of the same job on the same worker. Samples alternate in
 * blocks, as in (a).
 */
import type { WorkerClient } from "@opencode-worker/master-client";
import { OpencodeWorkerPlugin } from "@opencode-worker/opencode-plugin";
import { TRIVIAL_JOB } from "./latency.js";
import type { BenchOptions } from "./options.js";
import { type LatencyStats, summarize } from "./stats.js";
import { timeEach } from "./timing.js";

export interface PluginOverhead {
  sdk: LatencyStats;
  plugin: LatencyStats;
  /** Live-progress updates the tool gave opencode, mean per job (for a job this short: its first event and its end). */
  metadataCallsPerJob: number;
}

export async function comparePluginOverhead(
  client: WorkerClient,
  address: string,
  options: Pick<BenchOptions, "warmupJobs" | "latencyJobs" | "rounds">,
): Promise<PluginOverhead> {
  const hooks = await OpencodeWorkerPlugin({} as never, { address });
  const streamJob = hooks.tool?.worker_stream_job;
  if (!streamJob) throw new Error("the plugin has no worker_stream_job tool");
  let metadataCalls = 0;
  const context: Parameters<typeof streamJob.execute>[1] = {
    sessionID: "ses_bench",
    messageID: "msg_bench",
    agent: "build",
    directory: process.cwd(),
    worktree: process.cwd(),
    abort: new AbortController().signal,
    metadata: () => {
      metadataCalls += 1;
    },
    ask: async () => {},
  };

  // The job the tool sends: the plugin adds its default network policy (and no limits) to every spec.
  const job = { ...TRIVIAL_JOB, network: "restricted" } as const;
  // Each side checks its job finished, so a refusal cannot pass for a fast answer.
  const sdk = async (): Promise<void> => {
    const result = await client.run(job);
    if (result.state !== "finished") throw new Error(`client.run: ${result.state}: ${result.message}`);
  };
  const plugin = async (): Promise<void> => {
    const text = await streamJob.execute(job, context);
    if (typeof text !== "string" || !/^job \S+: finished, exit code 0/.test(text)) {
      throw new Error(`worker_stream_job: ${JSON.stringify(text)}`);
    }
  };

  try {
    await timeEach(options.warmupJobs, sdk);
    await timeEach(options.warmupJobs, plugin);
    metadataCalls = 0;
    const sdkSamples: number[] = [];
    const pluginSamples: number[] = [];
    const block = Math.ceil(options.latencyJobs / options.rounds);
    for (let done = 0; done < options.latencyJobs; done += block) {
      const size = Math.min(block, options.latencyJobs - done);
      sdkSamples.push(...(await timeEach(size, sdk)));
      pluginSamples.push(...(await timeEach(size, plugin)));
    }
    return {
      sdk: summarize(sdkSamples),
      plugin: summarize(pluginSamples),
      metadataCallsPerJob: metadataCalls / pluginSamples.length,
    };
  } finally {
    await hooks.dispose?.();
  }
}
