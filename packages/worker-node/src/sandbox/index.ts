/**
 * Sandbox drivers: how one job's process is isolated, limited, killed and cleaned up.
 *
 * ```ts
 * const report = await selectDriver(config, log);
 * if (report.refusal || !report.driver) throw new WorkerError("FAILED_PRECONDITION", report.refusal ?? "no driver");
 * await report.driver.sweep(config.session.baseDir);
 * const box = await report.driver.prepare({ sessionId, sessionDir, limits, network: "restricted" });
 * try {
 *   const job = box.exec({ argv: ["sh", "-c", "echo hi"], env: { PATH: "/usr/bin:/bin" }, cwd: box.jobWorkDir, stdin: Buffer.alloc(0) });
 *   const exit = await job.exited;
 *   const breach = await job.limitBreach();
 * } finally {
 *   await box.destroy();
 * }
 * ```
 */
export { selectDriver, type IsolationReport } from "./select-driver.js";
export { probeIsolation, resolveExecutable, type ProbeOptions, type ProbeResult } from "./probe.js";
export { ProcessDriver, type ProcessDriverOptions } from "./process-driver.js";
export {
  BWRAP_OVERHEAD_TASKS,
  BwrapDriver,
  createBwrapDriver,
  type BwrapDriverOptions,
  type CreateBwrapDriverOptions,
} from "./bwrap-driver.js";
export { openCgroups, type OpenCgroupsOptions } from "./cgroup/index.js";
export type { CgroupLimits, CgroupManager, CgroupStats, KillMethod, SessionCgroup } from "./cgroup/index.js";
export { NoFreeSlotError, UidSlots, type UidSlot, type UidSlotsOptions } from "./uid-slots.js";
export type {
  ExecSpec,
  LimitBreach,
  PreparedSandbox,
  ProcessExit,
  ResolvedLimits,
  SandboxDriver,
  SandboxProcess,
  SandboxSessionSpec,
  SandboxUsage,
} from "./driver.js";
