import { JobResult } from "@opencode-worker/shared";

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

const EMPTY = Buffer.alloc(0);

/**
 * The result cut to `budget` bytes on the wire. Room goes, in this order, to:
 * 1. the artifact list, then the skipped list, each entry in order until one does not fit (the rest
 *    are counted in unlisted_artifacts / unlisted_skipped_artifacts): nothing else tells a caller
 *    which files exist;
 * 2. the head of stdout and of stderr, each up to half of what is left and more when the other
 *    needs less (the rest is read with ReadOutput);
 * 3. artifact contents, each that still fits (the rest are read with ReadArtifact).
 * `full` holds everything: all retained output and every collected artifact's inline content.
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

  const [stdoutBytes, stderrBytes] = share(Math.max(0, room - 2 * FIELD_OVERHEAD), full.stdout.length, full.stderr.length);
  room -= stdoutBytes + stderrBytes + 2 * FIELD_OVERHEAD;

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
  };
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
