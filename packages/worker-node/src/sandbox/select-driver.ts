import type { Logger } from "../logging/logger.js";
import type { IsolationMode, IsolationReport } from "./driver.js";
import { probeIsolation, type ProbeOptions, type ProbeSettings } from "./bwrap/probe.js";
import { ProcessDriver } from "./process/driver.js";

/** The settings the driver choice reads, each the config key of the same name in `security.*`. */
export interface SandboxSettings extends ProbeSettings {
  driver: "auto" | "bwrap" | "process";
  trustedJobs: boolean;
  minIsolation: IsolationMode;
}

const RANK: Record<IsolationMode, number> = { none: 0, reduced: 1, sandbox: 2 };

/**
 * Probes the machine and picks the driver `security.driver` asks for:
 * - auto: bwrap when the probe gives "sandbox" or "reduced", else the process driver when
 *   `security.trusted_jobs` is true, else nothing;
 * - bwrap: bwrap or nothing;
 * - process: the process driver, only with `security.trusted_jobs`.
 * A mode below `security.min_isolation` is refused, whatever the driver.
 */
export async function selectDriver(settings: SandboxSettings, log: Logger, options: ProbeOptions = {}): Promise<IsolationReport> {
  const { driver: wanted, trustedJobs, minIsolation } = settings;
  let report: IsolationReport;
  let reason: string | undefined;
  let fix: string | undefined;

  if (wanted === "process") {
    report = { mode: "none", details: ["security.driver=process: jobs run unsandboxed, as the worker's own uid"] };
    reason = "security.driver=process";
    fix = "set security.driver=auto (or bwrap) for a sandbox";
    if (trustedJobs) report.driver = new ProcessDriver();
    else {
      report.refusal =
        "security.driver=process runs jobs without any isolation and needs security.trusted_jobs=true; " +
        "set security.driver=auto (or bwrap) to sandbox them";
    }
  } else {
    const probe = await probeIsolation(settings, options);
    report = { mode: probe.mode, details: probe.details };
    reason = probe.weakness?.reason;
    fix = probe.weakness?.fix;
    if (probe.driver) report.driver = probe.driver;
    else if (wanted === "auto" && trustedJobs) {
      report.driver = new ProcessDriver();
      report.details.push("security.trusted_jobs=true: falling back to the unsandboxed process driver");
    } else {
      report.refusal =
        `no sandbox available (${reason ?? "unknown"}): ${fix ?? "see the details"}` +
        (wanted === "auto" ? "; or, for trusted jobs only, set security.trusted_jobs=true and security.min_isolation=none" : "");
    }
  }

  if (!report.refusal && RANK[report.mode] < RANK[minIsolation]) {
    report.refusal =
      `isolation is '${report.mode}' (${reason ?? "weaker than configured"}), below security.min_isolation='${minIsolation}': ` +
      `${fix ?? "see the details"}` +
      (report.mode === "none" ? "; or set security.min_isolation=none to accept unsandboxed trusted jobs" : "");
  }
  if (report.refusal) delete report.driver;

  const fields = { isolation: report.mode, driver: report.driver?.name, details: report.details };
  if (report.refusal) log.error({ ...fields, refusal: report.refusal }, `isolation ${report.mode}: refusing jobs: ${report.refusal}`);
  else log.info(fields, `isolation ${report.mode} (${report.driver?.name} driver): ${report.details.join("; ")}`);
  return report;
}
