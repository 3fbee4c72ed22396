import { JobResult, type WorkspaceChange, type WorkspaceChanges } from "@opencode-worker/shared";

/**
 * The most a result may take on the wire. Collect and StreamJob's completed event carry one result,
 * and gRPC clients refuse messages over 4 MiB by default (grpc-js, grpc-go, grpcurl, buf curl): the
 * 0.5 MiB left over is headroom for the envelopes around a result, never needed by the accounting
 * below, which over-estimates every part it adds.
 */
export const RESPONSE_BUDGET_BYTES = 3.5 * 1024 * 1024;

/** At most what protobuf adds around a length-delimited field: a 1-byte tag and a length of at most 5 bytes. */
const FIELD_OVERHEAD = 6;
/** At most what one artifact or skipped entry adds besides its strings: its framing, size_bytes, content_inline. */
const ENTRY_OVERHEAD = 32;
/**
 * At most what one workspace change adds besides its path, target and sha256: its framing, kind,
 * type, mode, flags, and its digest's framing with a size of up to 20 digits.
 */
const CHANGE_OVERHEAD = 64;
/** truncated_reason when the result, not a workspace cap, cut the change list. */
export const NO_ROOM_FOR_CHANGES =
  "the result has no room for more changes (a response is at most 3.5 MiB); run the command on fewer files";

const EMPTY = Buffer.alloc(0);

/**
 * The result cut to `budget` bytes on the wire. Room goes, in this order, to:
 * 1. the artifact list, then the skipped list, then the workspace changes without their contents,
 *    each entry in order until one does not fit (the rest are counted in unlisted_artifacts /
 *    unlisted_skipped_artifacts; a cut change list is marked truncated): nothing else tells a caller
 *    which files exist, and a change list, unlike output, cannot be read again later;
 * 2. the head of stdout and of stderr, each up to half of what is left and more when the other
 *    needs less (the rest is read with ReadOutput);
 * 3. changed files' inline contents, then artifact contents, each that still fits (the rest are
 *    read with ReadBlob and ReadArtifact).
 * `full` holds everything: all retained output, every collected artifact's and changed file's inline content.
 */
export function fitResult(full: JobResult, budget = RESPONSE_BUDGET_BYTES): JobResult {
  // The counts are at their largest here, so the fixed part is never under-estimated.
  const bare: JobResult = {
    ...full,
    stdout: EMPTY,
    stderr: EMPTY,
    artifacts: [],
    skippedArtifacts: [],
    unlistedArtifacts: full.artifacts.length,
    unlistedSkippedArtifacts: full.skippedArtifacts.length,
    ...(full.workspaceChanges && { workspaceChanges: bareChanges(full.workspaceChanges) }),
  };
  let room = budget - JobResult.encode(bare).finish().length;
  const take = (bytes: number): boolean => {
    if (bytes > room) return false;
    room -= bytes;
    return true;
  };

  const listed = takeWhile(full.artifacts, (artifact) =>
    take(ENTRY_OVERHEAD + Buffer.byteLength(artifact.path) + Buffer.byteLength(artifact.sha256)),
  );
  const skipped = takeWhile(full.skippedArtifacts, (entry) =>
    take(ENTRY_OVERHEAD + Buffer.byteLength(entry.path) + Buffer.byteLength(entry.reason)),
  );

  const changes = takeWhile(full.workspaceChanges?.changes ?? [], (change) =>
    take(CHANGE_OVERHEAD + Buffer.byteLength(change.path) + Buffer.byteLength(change.symlinkTarget) + (change.digest?.sha256.length ?? 0)),
  );

  const [stdoutBytes, stderrBytes] = share(Math.max(0, room - 2 * FIELD_OVERHEAD), full.stdout.length, full.stderr.length);
  room -= stdoutBytes + stderrBytes + 2 * FIELD_OVERHEAD;

  const withContents = changes.map((change) =>
    change.contentInline && take(FIELD_OVERHEAD + change.content.length) ? change : { ...change, content: EMPTY, contentInline: false },
  );
  const artifacts = listed.map((artifact) =>
    artifact.contentInline && take(FIELD_OVERHEAD + artifact.content.length)
      ? artifact
      : { ...artifact, content: EMPTY, contentInline: false },
  );
  return {
    ...full,
    stdout: full.stdout.subarray(0, stdoutBytes),
    stderr: full.stderr.subarray(0, stderrBytes),
    artifacts,
    skippedArtifacts: skipped,
    unlistedArtifacts: full.artifacts.length - listed.length,
    unlistedSkippedArtifacts: full.skippedArtifacts.length - skipped.length,
    ...(full.workspaceChanges && { workspaceChanges: fittedChanges(full.workspaceChanges, withContents) }),
  };
}

/** The change list at its largest besides the entries: marked truncated, with the longer reason. */
function bareChanges(full: WorkspaceChanges): WorkspaceChanges {
  return { changes: [], truncated: true, truncatedReason: full.truncated ? full.truncatedReason : NO_ROOM_FOR_CHANGES };
}

/** The changes that fitted; a list cut here says so, unless a workspace cap already did. */
function fittedChanges(full: WorkspaceChanges, changes: WorkspaceChange[]): WorkspaceChanges {
  if (changes.length === full.changes.length || full.truncated) return { ...full, changes };
  return { changes, truncated: true, truncatedReason: NO_ROOM_FOR_CHANGES };
}

/** The leading items for which `fits` holds: a list cut short keeps its order, the first N. */
function takeWhile<T>(items: T[], fits: (item: T) => boolean): T[] {
  const end = items.findIndex((item) => !fits(item));
  return end < 0 ? items : items.slice(0, end);
}

/** Splits `room` between two wants: each gets up to half, and what one leaves the other may take. */
function share(room: number, first: number, second: number): [number, number] {
  const a = Math.min(first, Math.max(Math.floor(room / 2), room - second));
  return [a, Math.min(second, room - a)];
}
