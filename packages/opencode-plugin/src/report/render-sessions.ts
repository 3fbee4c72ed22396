import type { SessionInfo } from "@opencode-worker/master-client";
import { renderUsage, seconds } from "./render-status.js";

/** The worker's live sessions, one line each. */
export function renderSessions(sessions: SessionInfo[], address: string): string {
  if (sessions.length === 0) return `no live sessions on the worker at ${address}`;
  const lines = sessions.map(
    (session) =>
      `job ${session.jobId}: ${session.state}, phase ${session.phase}, ${seconds(session.ageMs)} old` +
      (session.usage ? ` · ${renderUsage(session.usage)}` : ""),
  );
  return [`${sessions.length} live session${sessions.length === 1 ? "" : "s"} on the worker at ${address}:`, ...lines].join("\n");
}
