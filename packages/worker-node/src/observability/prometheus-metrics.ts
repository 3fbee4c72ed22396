import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type { Phase } from "@opencode-worker/shared";
import type { BlobStore } from "../blobs/blob-store.js";
import type { Job } from "../session/job.js";
import type { JobObserver, SessionManager } from "../session/session-manager.js";
import { phaseName, reasonName, stateName } from "./enum-names.js";

/** From a fast phase (5 ms) to the longest job governance allows by default (1 h). */
const SECONDS_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600];

/**
 * The worker's Prometheus metrics, in a registry of its own so that several workers in one process
 * (tests, an embedding supervisor) never share or clash over a metric. Counts and gauges are read
 * from the session manager at scrape time (the same figures GetMetrics answers with, so the two
 * never disagree); durations are histograms, not summaries, so the buckets of many workers add up.
 */
export class WorkerMetrics implements JobObserver {
  readonly registry = new Registry();
  private readonly jobSeconds: Histogram;
  private readonly queueSeconds: Histogram;
  private readonly phaseSeconds: Histogram<"phase">;

  constructor(manager: Pick<SessionManager, "stats">, blobStore: Pick<BlobStore, "stats">, isolationMode: string) {
    const registers = [this.registry];
    this.jobSeconds = new Histogram({
      name: "opencode_worker_job_duration_seconds",
      help: "From Dispatch to the result, queue wait included, of every job that ended.",
      buckets: SECONDS_BUCKETS,
      registers,
    });
    this.queueSeconds = new Histogram({
      name: "opencode_worker_job_queue_wait_seconds",
      help: "From Dispatch until the job's session started (jobs cancelled while queued are not counted).",
      buckets: SECONDS_BUCKETS,
      registers,
    });
    this.phaseSeconds = new Histogram({
      name: "opencode_worker_job_phase_duration_seconds",
      help: "Time spent in each phase of a session: init, prepare, execute, collect, destroy.",
      labelNames: ["phase"],
      buckets: SECONDS_BUCKETS,
      registers,
    });
    new Counter({
      name: "opencode_worker_jobs_ended_total",
      help: "Jobs that ended, by final state and termination reason.",
      labelNames: ["state", "reason"],
      registers,
      collect() {
        this.reset();
        for (const outcome of manager.stats().outcomes) {
          this.inc({ state: stateName(outcome.state), reason: reasonName(outcome.reason) }, outcome.count);
        }
      },
    });
    const gauge = (name: string, help: string, read: (stats: ReturnType<SessionManager["stats"]>) => number): void => {
      new Gauge({
        name,
        help,
        registers,
        collect() {
          this.set(read(manager.stats()));
        },
      });
    };
    gauge("opencode_worker_jobs_active", "Jobs running now (at most worker.concurrency).", (stats) => stats.active);
    gauge("opencode_worker_jobs_queued", "Jobs accepted and waiting for a slot.", (stats) => stats.queued);
    gauge("opencode_worker_retained_results", "Finished results kept for Collect.", (stats) => stats.retainedResults);
    gauge(
      "opencode_worker_retained_result_bytes",
      "Bytes those results hold (within session.result_budget_bytes).",
      (stats) => stats.retainedResultBytes,
    );
    gauge("opencode_worker_blob_store_blobs", "Blobs in the blob store, of every caller.", () => blobStore.stats().blobs);
    gauge(
      "opencode_worker_blob_store_bytes",
      "Bytes those blobs hold (within blobs.max_bytes, the least recently used evicted).",
      () => blobStore.stats().bytes,
    );
    // A total the worker keeps itself, read at each scrape.
    const counter = (name: string, help: string, read: () => number): void => {
      new Counter({
        name,
        help,
        registers,
        collect() {
          this.reset();
          this.inc(read());
        },
      });
    };
    counter(
      "opencode_worker_jobs_accepted_total",
      "Jobs accepted by Dispatch (repeats of the same job_id not counted).",
      () => manager.stats().jobsTotal,
    );
    counter(
      "opencode_worker_blobs_uploaded_total",
      "Blobs UploadBlobs stored (not counting those already present).",
      () => blobStore.stats().uploadedBlobs,
    );
    counter("opencode_worker_blob_bytes_uploaded_total", "Bytes of the blobs UploadBlobs stored.", () => blobStore.stats().uploadedBytes);
    counter(
      "opencode_worker_model_requests_total",
      "Model requests agent tasks' gateways forwarded to a provider (counted as each task ends).",
      () => manager.stats().modelRequestsTotal,
    );
    counter(
      "opencode_worker_model_requests_refused_total",
      "Model requests the gateways refused (a spent budget, a route they do not serve).",
      () => manager.stats().modelRequestsRefusedTotal,
    );
    counter(
      "opencode_worker_model_tokens_total",
      "Tokens (prompt plus answer) the providers reported for agent tasks.",
      () => manager.stats().modelTokensTotal,
    );
    new Gauge({
      name: "opencode_worker_isolation_info",
      help: "The isolation jobs run with (sandbox, reduced, none), as the label of a constant 1.",
      labelNames: ["mode"],
      registers,
    }).set({ mode: isolationMode }, 1);
    collectDefaultMetrics({ register: this.registry });
  }

  phaseDone(phase: Phase, ms: number): void {
    this.phaseSeconds.observe({ phase: phaseName(phase) }, ms / 1000);
  }

  jobEnded(job: Job): void {
    this.jobSeconds.observe(job.ageMs() / 1000);
    if (job.startedAt !== undefined) this.queueSeconds.observe(job.timings.queueMs / 1000);
  }
}
