import { fileURLToPath } from "node:url";
import { signalName } from "@opencode-worker/shared";
import { findNativeBinary } from "../../util/native-binary.js";

/**
 * The sandbox launcher (native/sandbox-launcher.c): the last link of the bwrap chain. It closes every
 * inherited descriptor, drops the job to its slot uid, runs it as a child, and reports on a status
 * descriptor how the job ended and how many of its processes were still alive then. Built by
 * `pnpm build` (scripts/build-native.sh) next to its source, in the package, for src/ and dist/ alike.
 */
export const LAUNCHER_PATH = fileURLToPath(new URL("../../../native/build/sandbox-launcher", import.meta.url));

/** Where the launcher is bound inside the sandbox. */
export const LAUNCHER_IN_SANDBOX = "/run/opencode-worker/sandbox-launcher";

/** The descriptors of the bwrap process: 3 carries the seccomp program to bwrap, 4 the launcher's report. */
export const SECCOMP_FD = 3;
export const STATUS_FD = 4;

/** The launcher's path, or an error that says how to build it. */
export function findLauncher(): string {
  return findNativeBinary(LAUNCHER_PATH, "the sandbox launcher");
}

/** How the job's main process ended, as the launcher saw it from its parent's side. */
export interface LauncherStatus {
  exitCode: number | null;
  signal: string | null;
  /** Processes of the sandbox still alive when the main process ended (daemons, background jobs). */
  alive: number;
}

const STATUS_LINE = /^(?:exit (\d{1,3})|signal (\d{1,2}) core [01]) alive (\d{1,9})\n/;

/** Parses the launcher's one line; undefined when there is none (the launcher itself was killed). */
export function parseLauncherStatus(text: string): LauncherStatus | undefined {
  const match = STATUS_LINE.exec(text);
  if (!match) return undefined;
  const alive = Number(match[3]);
  if (match[1] !== undefined) return { exitCode: Number(match[1]), signal: null, alive };
  return { exitCode: null, signal: signalName(Number(match[2])), alive };
}
