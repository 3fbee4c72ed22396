/**
 * The measurements of `pnpm bench`, each against a worker of its own (so one cannot leave
 * retained results or heap behind for the next, and each gets its own CPU profile) except (f),
 * which needs none, each turning its figures into table rows with their targets.
 */
import { RawStreamBaseline } from "./baselines/raw-grpc-stream.js";
import { TRUE_ARGV } from "./baselines/spawn.js";
import { DEEP_LEVELS, FLAT_FILES, measureCollect } from "./collect.js";
import { compareLatency, describeBreakdown, type LatencyComparison } from "./latency.js";
import type { BenchOptions, Measurement } from "./options.js";
import { compareOutput } from "./output.js";
import { comparePluginOverhead } from "./plugin-overhead.js";
import { compareRate } from "./rate.js";
import { measureModelGateway } from "./model-gateway.js";
import { measuredRow, round, type Row, type SectionResult, unmeasuredRow } from "./report.js";
import { LARGE_OUTPUT_BYTES, measureResultSizing, SMALL_OUTPUT_BYTES } from "./result-sizing.js";
import { measureRss } from "./rss.js";
import { compareSandboxLatency } from "./sandbox.js";
import { compareSeccompCost } from "./seccomp-cost.js";
import { compareTlsOverhead, STREAM_BYTES } from "./tls-overhead.js";
import { type WorkerFlags, withWorker } from "./worker-process.js";
import { CHANGED_BYTES, CHANGED_FILES, measureWorkspaceSync, PROJECT_BYTES, PROJECT_FILES, UPLOAD_BLOB_BYTES } from "./workspace-sync.js";

export interface Section {
  id: Measurement;
  title: string;
  run(options: BenchOptions): Promise<SectionResult>;
}

/** The unsandboxed driver; min_isolation must come down too, or the worker refuses its own driver. */
const PROCESS_DRIVER: WorkerFlags = {
  "security.trusted_jobs": true,
  "security.driver": "process",
  "security.min_isolation": "none",
};

const MB = 1e6;
const UPLOAD_MIB = UPLOAD_BLOB_BYTES / 1024 ** 2;

const profiled = (options: BenchOptions) => (options.cpuProfileDir ? { cpuProfileDir: options.cpuProfileDir } : {});

function latencyRows(id: string, subject: string, comparison: LatencyComparison, targetRatio: number): Row[] {
  const { worker, baseline } = comparison;
  return [
    {
      ...measuredRow({
        id,
        label: `${subject}, p50`,
        unit: "ms",
        figure: worker.p50Ms,
        baseline: baseline.p50Ms,
        target: { on: "ratio", op: "<=", value: targetRatio },
      }),
      note: describeBreakdown(comparison),
    },
    measuredRow({ id, label: `${subject}, p99`, unit: "ms", figure: worker.p99Ms, baseline: baseline.p99Ms }),
  ];
}

export const SECTIONS: readonly Section[] = [
  {
    id: "a",
    title: "trivial job latency, process driver, vs spawn /bin/true",
    async run(options) {
      const { value, workerExit } = await withWorker("a-latency", PROCESS_DRIVER, profiled(options), (worker) =>
        compareLatency(worker.client, TRUE_ARGV, options),
      );
      return { rows: latencyRows("a", "`true` job vs spawn /bin/true", value, 1.5), raw: { ...value, workerExit } };
    },
  },
  {
    id: "b",
    title: "trivial jobs per second in flight, process driver, vs bare spawns",
    async run(options) {
      const flags = { ...PROCESS_DRIVER, "worker.concurrency": options.rateConcurrency };
      const { value, workerExit } = await withWorker("b-rate", flags, profiled(options), (worker) =>
        compareRate(worker.client, worker.pid, options),
      );
      const row = measuredRow({
        id: "b",
        label: `jobs/s, ${options.rateConcurrency} in flight, vs spawns/s`,
        unit: "jobs/s",
        figure: value.worker.perSecond,
        baseline: value.baseline.perSecond,
        target: { on: "ratio", op: ">=", value: 0.7 },
      });
      const note = `CPU of the spawning process: worker ${value.worker.spawnerCpuPercent}%, bench ${value.baseline.spawnerCpuPercent}% (of one core)`;
      return { rows: [{ ...row, note }], raw: { ...value, concurrency: options.rateConcurrency, workerExit } };
    },
  },
  {
    id: "c",
    title: "stdout throughput through SDK events(), vs a raw grpc-js stream",
    async run(options) {
      const limit = Math.max(4 * 1024 ** 3, options.outputBytes);
      const flags = { ...PROCESS_DRIVER, "governance.max_output_bytes": limit, "governance.default_max_output_bytes": limit };
      const raw = await RawStreamBaseline.start();
      try {
        const { value, workerExit } = await withWorker("c-output", flags, profiled(options), (worker) =>
          compareOutput(worker.client, worker.pid, raw, options),
        );
        const row = measuredRow({
          id: "c",
          label: "stdout via SDK events() vs raw grpc-js stream",
          unit: "MB/s",
          figure: value.worker.mbPerSecond,
          baseline: value.baseline.mbPerSecond,
          target: { on: "ratio", op: ">=", value: 0.7 },
        });
        const { worker, baseline } = value;
        const note =
          `CPU (% of one core): worker ${worker.producerCpuPercent}% / SDK consumer ${worker.consumerCpuPercent}%, ` +
          `raw server ${baseline.producerCpuPercent}% / raw client ${baseline.consumerCpuPercent}%; mean message ` +
          `${(worker.meanMessageBytes / 1024).toFixed(1)} KiB (output events) vs ${(baseline.meanMessageBytes / 1024).toFixed(1)} KiB`;
        return { rows: [{ ...row, note }], raw: { ...value, workerExit } };
      } finally {
        await raw.stop();
      }
    },
  },
  {
    id: "d",
    title: "worker RSS, idle and under many concurrent jobs",
    async run(options) {
      const flags = {
        ...PROCESS_DRIVER,
        "worker.concurrency": options.rssJobs,
        "session.max_concurrent_sessions": 2 * options.rssJobs,
      };
      const { value, workerExit } = await withWorker("d-rss", flags, profiled(options), (worker) =>
        measureRss(worker.client, worker.pid, options),
      );
      const idle = {
        ...measuredRow({
          id: "d",
          label: "worker RSS idle (GetMetrics)",
          unit: "MB",
          figure: value.idleRssBytes / MB,
          target: { on: "figure", op: "<=", value: 80 },
        }),
        note: `${(value.startRssBytes / MB).toFixed(1)} MB right after start, before any job`,
      };
      const loaded = measuredRow({
        id: "d",
        label: `worker RSS peak, ${value.loadedJobs} concurrent sleep jobs`,
        unit: "MB",
        figure: value.loadedPeakRssBytes / MB,
      });
      const note =
        `${value.loadedSamples} samples, up to ${value.maxActiveSeen} jobs active at once, all done in ` +
        `${value.loadedWallMs} ms (each sleeps ${options.rssSleepSeconds * 1000} ms), GetMetrics answered within ` +
        `${value.maxMetricsRoundTripMs} ms; /proc VmHWM ${(value.procPeakRssBytes / MB).toFixed(1)} MB`;
      return { rows: [idle, { ...loaded, note }], raw: { ...value, workerExit } };
    },
  },
  {
    id: "e",
    title: "trivial job latency, default (bwrap) driver, vs bare bwrap",
    async run(options) {
      const { value, workerExit } = await withWorker("e-sandbox", {}, profiled(options), (worker) =>
        compareSandboxLatency(worker, options),
      );
      if (!value.measured) {
        return { rows: [unmeasuredRow("e", "sandboxed `true` job vs bare bwrap", "SKIP", value.why)], raw: { ...value, workerExit } };
      }
      return {
        rows: latencyRows("e", "sandboxed `true` job vs bare bwrap", value.comparison, 1.3),
        raw: { ...value.comparison, isolation: value.isolation, workerExit },
      };
    },
  },
  {
    id: "f",
    title: "seccomp filter cost: bare bwrap /bin/true with the filter vs without",
    async run(options) {
      const value = await compareSeccompCost(options);
      const subject = "bare bwrap /bin/true with the seccomp filter vs without";
      if (!value.measured) return { rows: [unmeasuredRow("f", subject, "SKIP", value.why)], raw: value };
      const { withFilter, without } = value;
      const p50 = measuredRow({
        id: "f",
        label: `${subject}, p50`,
        unit: "ms",
        figure: withFilter.latency.p50Ms,
        baseline: without.latency.p50Ms,
        target: { on: "ratio", op: "<=", value: 1.1 },
      });
      const note = `${value.instructions} BPF instructions; ${value.policy}`;
      return {
        rows: [
          { ...p50, note },
          measuredRow({ id: "f", label: `${subject}, p99`, unit: "ms", figure: withFilter.latency.p99Ms, baseline: without.latency.p99Ms }),
          measuredRow({
            id: "f",
            label: `${subject}, CPU per run`,
            unit: "ms",
            figure: withFilter.cpuMsPerRun,
            baseline: without.cpuMsPerRun,
          }),
        ],
        raw: value,
      };
    },
  },
  {
    id: "g",
    title: `COLLECT of a ${DEEP_LEVELS}-deep tree and of ${FLAT_FILES} flat files, default (bwrap) driver`,
    async run(options) {
      const { value, workerExit } = await withWorker("g-collect", { "governance.command_policy": "off" }, profiled(options), (worker) =>
        measureCollect(worker, options),
      );
      const deepLabel = `COLLECT, one file ${DEEP_LEVELS} directories deep (vs ${FLAT_FILES} flat files)`;
      if (!value.measured) return { rows: [unmeasuredRow("g", deepLabel, "SKIP", value.why)], raw: { ...value, workerExit } };
      const { deep, flat } = value;
      const target = { on: "figure", op: "<=", value: 1000 } as const;
      const deepRow = measuredRow({
        id: "g",
        label: deepLabel,
        unit: "ms",
        figure: deep.medianCollectMs,
        baseline: flat.medianCollectMs,
        target,
      });
      const flatRow = measuredRow({
        id: "g",
        label: `COLLECT, ${FLAT_FILES} files in one directory`,
        unit: "ms",
        figure: flat.medianCollectMs,
        target,
      });
      const note = `medians of ${deep.collectMs.length} jobs each (the worker's phaseMs.collectMs); the deep artifact's path is ${deep.longestPathBytes} bytes; the ratio column is deep / flat`;
      const flatNote =
        "each artifact is small enough to be held in memory (session.artifact_inline_bytes): no file is created in the worker's store";
      return {
        rows: [
          { ...deepRow, note },
          { ...flatRow, note: flatNote },
        ],
        raw: { ...value, workerExit },
      };
    },
  },
  {
    id: "h",
    title: "OpenCode plugin overhead: worker_stream_job vs the SDK's client.run(), trivial job, process driver",
    async run(options) {
      const { value, workerExit } = await withWorker("h-plugin", PROCESS_DRIVER, profiled(options), (worker) =>
        comparePluginOverhead(worker.client, worker.address, options),
      );
      const { plugin, sdk } = value;
      // At most 1.2x or 2 ms more, whichever is larger: a fixed cost matters little on a slow job.
      const bound = Math.round(Math.max(1.2 * sdk.p50Ms, sdk.p50Ms + 2) * 100) / 100;
      const row = measuredRow({
        id: "h",
        label: "`true` job via worker_stream_job vs client.run(), p50",
        unit: "ms",
        figure: plugin.p50Ms,
        baseline: sdk.p50Ms,
        target: { on: "figure", op: "<=", value: bound },
      });
      const note =
        `the target is the larger of 1.2x and +2 ms over client.run(); p99 ${plugin.p99Ms} ms vs ${sdk.p99Ms} ms; ` +
        `${value.metadataCallsPerJob} live-progress updates per job`;
      return { rows: [{ ...row, note }], raw: { ...value, workerExit } };
    },
  },
  {
    id: "i",
    title: "sizing 16 MiB of output for a model (vs 1 MiB), the plugin's report code, no worker",
    async run(options) {
      const value = measureResultSizing(options);
      const mib = (bytes: number): string => `${bytes / 1024 ** 2} MiB`;
      const target = { on: "figure", op: "<=", value: 20 } as const;
      const versus = `${mib(LARGE_OUTPUT_BYTES)} (vs ${mib(SMALL_OUTPUT_BYTES)})`;
      const inMemory = measuredRow({
        id: "i",
        label: `excerptOf + renderResult of a result holding ${versus}, p50`,
        unit: "ms",
        figure: value.large.inMemory.p50Ms,
        baseline: value.small.inMemory.p50Ms,
        target,
      });
      const digest = measuredRow({
        id: "i",
        label: `OutputDigest fed ${versus} in 64 KiB chunks, then rendered, p50`,
        unit: "ms",
        figure: value.large.digest.p50Ms,
        baseline: value.small.digest.p50Ms,
        target,
      });
      const note =
        `medians of ${value.runs} runs each; the model reads ${value.large.textBytes} bytes (${value.small.textBytes} for ` +
        `${mib(SMALL_OUTPUT_BYTES)}); the baseline column is the same work on ${mib(SMALL_OUTPUT_BYTES)}`;
      const digestNote = "the digest keeps a head and a tail ring of chunks as the output streams in; the worker counts the lines";
      return {
        rows: [
          { ...inMemory, note },
          { ...digest, note: digestNote },
        ],
        raw: { ...value },
      };
    },
  },
  {
    id: "j",
    title: "TLS + bearer token vs plaintext without auth, process driver: trivial job latency, stream throughput, the token check",
    async run(options) {
      const limit = 2 * STREAM_BYTES;
      const flags = { ...PROCESS_DRIVER, "governance.max_output_bytes": limit, "governance.default_max_output_bytes": limit };
      const value = await compareTlsOverhead(flags, options);
      const { secured, plaintext, authCheck } = value;
      const latency = measuredRow({
        id: "j",
        label: "`true` job via client.run(), TLS + token vs plaintext, p50",
        unit: "ms",
        figure: secured.latency.p50Ms,
        baseline: plaintext.latency.p50Ms,
        target: { on: "ratio", op: "<=", value: 1.1 },
      });
      // Within 1.1x of plaintext: at least 1/1.1 of its throughput.
      const stream = measuredRow({
        id: "j",
        label: `stdout via events(), ${STREAM_BYTES / 1024 ** 2} MiB jobs, TLS + token vs plaintext`,
        unit: "MiB/s",
        figure: secured.streamMiBPerSecond,
        baseline: plaintext.streamMiBPerSecond,
        target: { on: "ratio", op: ">=", value: 0.91 },
      });
      const auth = measuredRow({
        id: "j",
        label: `token check (Authenticator.caller), ${authCheck.identities} identities in the token file`,
        unit: "µs",
        figure: authCheck.microsecondsPerCheck,
      });
      return {
        rows: [
          { ...latency, note: `p99 ${secured.latency.p99Ms} ms vs ${plaintext.latency.p99Ms} ms` },
          { ...stream, note: "at least 0.91 (1/1.1) of plaintext's throughput" },
          { ...auth, note: `mean of ${authCheck.checks} checks in one process; a call pays it once` },
        ],
        raw: { ...value },
      };
    },
  },
  {
    id: "k",
    title: `workspace sync: remote bash over ${PROJECT_FILES} files / ${PROJECT_BYTES / MB} MB, changes back, blob upload, default (bwrap) driver`,
    async run(options) {
      const raw = await RawStreamBaseline.start();
      try {
        // The command policy off: the writing command's loop is not what is measured.
        const { value, workerExit } = await withWorker("k-workspace", { "governance.command_policy": "off" }, profiled(options), (worker) =>
          measureWorkspaceSync(worker.client, worker.address, raw, options),
        );
        const { project, repeat, trivial, changesBack, upload } = value;
        const repeatRow = measuredRow({
          id: "k",
          label: `remote bash \`true\`, ${PROJECT_FILES} files / ${PROJECT_BYTES / MB} MB, repeat call vs a trivial sandboxed job, p50`,
          unit: "ms",
          figure: repeat.p50Ms,
          baseline: trivial.p50Ms,
          target: { on: "ratio", op: "<=", value: 2 },
        });
        const repeatNote =
          `first call ${value.firstCallMs} ms (uploaded ${(value.firstCallUploadedBytes / MB).toFixed(1)} MB); p99 ${repeat.p99Ms} ms vs ` +
          `${trivial.p99Ms} ms; ${repeat.count} repeat calls uploaded ${value.repeatUploadedBlobs} blobs / ${value.repeatUploadedBytes} bytes, ` +
          `the manifest each sends is ${project.manifestBytes} bytes encoded`;
        const uploadedRow = measuredRow({
          id: "k",
          label: "blob bytes uploaded by the repeat calls (all of them)",
          unit: "bytes",
          figure: value.repeatUploadedBytes,
          target: { on: "figure", op: "<=", value: 0 },
        });
        const changesRow = measuredRow({
          id: "k",
          label: `changes back: ${CHANGED_FILES} files / ${CHANGED_BYTES / MB} MB written, from the command's exit to applied locally, p50`,
          unit: "ms",
          figure: changesBack.exitToAppliedMs.p50Ms,
        });
        const changesNote =
          `${changesBack.runs} runs; the worker's COLLECT (diff and storing) median ${changesBack.medianCollectMs} ms; ` +
          `whole run median ${changesBack.medianRunMs} ms; exit is the command's last output`;
        const uploadRow = measuredRow({
          id: "k",
          label: `blob upload (UploadBlobs, ${upload.blobs} blobs of ${UPLOAD_MIB} MiB) vs raw grpc-js stream`,
          unit: "MB/s",
          figure: upload.mbPerSecond,
          baseline: upload.baselineMbPerSecond,
          target: { on: "ratio", op: ">=", value: 0.7 },
        });
        const uploadNote =
          "the baseline is (c)'s server stream of the same bytes (worker to client): the upload goes the other way, and is hashed and written to disk";
        return {
          rows: [{ ...repeatRow, note: repeatNote }, uploadedRow, { ...changesRow, note: changesNote }, { ...uploadRow, note: uploadNote }],
          raw: { ...value, workerExit },
        };
      } finally {
        await raw.stop();
      }
    },
  },
  {
    id: "l",
    title: "model gateway of delegated agent tasks: per request and streaming through relay + gateway vs direct, task start-up",
    async run(options) {
      const { value, workerExit } = await measureModelGateway(options, profiled(options));
      const { requests, stream, startup } = value;
      const subject = "short streamed chat completion, relay + gateway vs direct to the provider";
      // An absolute bound: the direct call is a fraction of a millisecond, so a ratio would say little of what an agent feels.
      const bound = round(requests.direct.p50Ms + 1, 3);
      const p50 = measuredRow({
        id: "l",
        label: `${subject}, p50`,
        unit: "ms",
        figure: requests.gateway.p50Ms,
        baseline: requests.direct.p50Ms,
        target: { on: "figure", op: "<=", value: bound },
      });
      const p50Note =
        `adds ${requests.addedP50Ms} ms at p50 (target: at most 1 ms more than direct), ${requests.addedP99Ms} ms at p99; ` +
        `${requests.perSide} sequential requests per side on one kept-alive connection, from a client process in its own netns`;
      const p99 = measuredRow({
        id: "l",
        label: `${subject}, p99`,
        unit: "ms",
        figure: requests.gateway.p99Ms,
        baseline: requests.direct.p99Ms,
      });
      const streamRow = measuredRow({
        id: "l",
        label: `SSE stream of ${stream.streamBytes / MB} MB, relay + gateway vs direct`,
        unit: "MB/s",
        figure: stream.gatewayMbPerSecond,
        baseline: stream.directMbPerSecond,
        target: { on: "ratio", op: ">=", value: 0.9 },
      });
      const streamNote =
        `${stream.streamsPerSide} streams per side of 1 KiB content chunks, each side's first unmeasured; the gateway's process used ` +
        `${stream.gatewayCpuPercent}% of a core while its side streamed (it parses and re-sends every byte, a third process on the path)`;
      const startupLabel = "delegated task (sandboxed OpenCode), Dispatch -> its first model request at the provider, median";
      if (!startup.measured) {
        return {
          rows: [{ ...p50, note: p50Note }, p99, { ...streamRow, note: streamNote }, unmeasuredRow("l", startupLabel, "SKIP", startup.why)],
          raw: { ...value, workerExit },
        };
      }
      const first = measuredRow({ id: "l", label: startupLabel, unit: "ms", figure: startup.medianFirstRequestMs });
      const phases = startup.medianPhaseMs;
      const firstNote =
        `${startup.runs} runs after a warm-up (${startup.warmUp.firstRequestMs} ms); OpenCode ${startup.opencodeVersion}, ` +
        `${startup.requestsPerRun} model requests a run (title, answer); no target (the issue's seed has no figure); the task runs at the default 1 CPU core`;
      const result = measuredRow({
        id: "l",
        label: "delegated task, Dispatch -> result, median",
        unit: "ms",
        figure: startup.medianResultMs,
      });
      const resultNote = `the worker's phases (medians): init ${phases.init} ms, prepare ${phases.prepare} ms, execute ${phases.execute} ms, collect ${phases.collect} ms`;
      return {
        rows: [
          { ...p50, note: p50Note },
          p99,
          { ...streamRow, note: streamNote },
          { ...first, note: firstNote },
          { ...result, note: resultNote },
        ],
        raw: { ...value, workerExit },
      };
    },
  },
];
