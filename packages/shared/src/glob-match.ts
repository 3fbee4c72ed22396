/**
 * Glob patterns (artifact selection, remote-only workspace paths), matched against relative '/'-separated paths.
 *
 * - `*` any run of characters within one segment, `?` one character, `[a-z]` / `[!a-z]` a class;
 * - `**` as a whole segment: zero or more segments (`dist/**` is everything under dist);
 * - `{a,b}` alternatives (nesting allowed, at most 64 alternatives per pattern);
 * - `\x` a literal x.
 * A pattern matches whole paths: `dist` selects a file named dist, not the directory's contents.
 * Wildcards match dotfiles too: outputs are the job's, not a user's home with hidden clutter.
 *
 * Not node:path's `matchesGlob` (experimental in Node 20) and not a RegExp: paths come from the job,
 * and a backtracking regex built from `*a*a*a*b` can take exponential time on a crafted name. This
 * matcher is the classic two-pointer wildcard walk, O(pattern x name) per segment.
 */
export class GlobSyntaxError extends Error {
  override readonly name = "GlobSyntaxError";
}

export type GlobMatcher = (path: string) => boolean;

const MAX_ALTERNATIVES = 64;

/** Thrown as GlobSyntaxError for an unbalanced `{`/`[` or too many alternatives. */
export function compileGlob(pattern: string): GlobMatcher {
  const alternatives = expandBraces(pattern).map((expanded) => expanded.split("/").map(compileSegment));
  return (path) => {
    const names = path.split("/");
    return alternatives.some((segments) => matchSegments(segments, names));
  };
}

type Token =
  { kind: "literal"; char: string } | { kind: "any" } | { kind: "star" } | { kind: "class"; negated: boolean; ranges: [string, string][] };
type Segment = "**" | Token[];

function compileSegment(text: string): Segment {
  if (text === "**") return "**";
  const tokens: Token[] = [];
  // By code point, so `?` is one character even outside the BMP.
  const chars = [...text];
  for (let at = 0; at < chars.length; at++) {
    const char = chars[at] as string;
    if (char === "\\") {
      if (at + 1 >= chars.length) throw new GlobSyntaxError("a pattern cannot end with a backslash");
      tokens.push({ kind: "literal", char: chars[++at] as string });
    } else if (char === "*") {
      if (tokens.at(-1)?.kind !== "star") tokens.push({ kind: "star" });
    } else if (char === "?") {
      tokens.push({ kind: "any" });
    } else if (char === "[") {
      // A `]` right after `[` (or `[!`) is a member, as in POSIX.
      const first = chars[at + 1] === "!" || chars[at + 1] === "^" ? at + 2 : at + 1;
      const close = chars.indexOf("]", first + 1);
      if (close === -1) throw new GlobSyntaxError("unclosed `[`");
      const members = chars.slice(first, close);
      const ranges: [string, string][] = [];
      for (let i = 0; i < members.length; i++) {
        const low = members[i] as string;
        if (members[i + 1] === "-" && i + 2 < members.length) {
          ranges.push([low, members[i + 2] as string]);
          i += 2;
        } else {
          ranges.push([low, low]);
        }
      }
      tokens.push({ kind: "class", negated: first === at + 2, ranges });
      at = close;
    } else {
      tokens.push({ kind: "literal", char });
    }
  }
  return tokens;
}

/** `a{b,c{d,e}}f` -> abf, acdf, acef. A backslash keeps a brace or comma literal. */
function expandBraces(pattern: string): string[] {
  const open = findUnescaped(pattern, "{", 0);
  if (open === -1) {
    if (findUnescaped(pattern, "}", 0) !== -1) throw new GlobSyntaxError("unbalanced `}`");
    return [pattern];
  }
  let depth = 0;
  const commas: number[] = [];
  let close = -1;
  for (let at = open; at < pattern.length && close === -1; at++) {
    const char = pattern[at];
    if (char === "\\") at++;
    else if (char === "{") depth++;
    else if (char === "}" && --depth === 0) close = at;
    else if (char === "," && depth === 1) commas.push(at);
  }
  if (close === -1) throw new GlobSyntaxError("unclosed `{`");
  const bounds = [open, ...commas, close];
  const prefix = pattern.slice(0, open);
  const suffixes = expandBraces(pattern.slice(close + 1));
  const results: string[] = [];
  for (let i = 0; i + 1 < bounds.length; i++) {
    for (const middle of expandBraces(pattern.slice((bounds[i] as number) + 1, bounds[i + 1]))) {
      for (const suffix of suffixes) {
        results.push(prefix + middle + suffix);
        if (results.length > MAX_ALTERNATIVES) throw new GlobSyntaxError(`more than ${MAX_ALTERNATIVES} alternatives`);
      }
    }
  }
  return results;
}

function findUnescaped(text: string, char: string, from: number): number {
  for (let at = from; at < text.length; at++) {
    if (text[at] === "\\") at++;
    else if (text[at] === char) return at;
  }
  return -1;
}

/** `**` against path segments, with the same backtrack-to-the-last-star walk as within a segment. */
function matchSegments(segments: readonly Segment[], names: readonly string[]): boolean {
  return wildcardWalk(
    segments.length,
    names.length,
    (s) => segments[s] === "**",
    (s, n) => {
      const segment = segments[s] as Segment;
      return segment !== "**" && matchTokens(segment, names[n] as string);
    },
  );
}

function matchTokens(tokens: readonly Token[], name: string): boolean {
  const chars = [...name];
  return wildcardWalk(
    tokens.length,
    chars.length,
    (t) => tokens[t]?.kind === "star",
    (t, c) => matchesOne(tokens[t] as Token, chars[c] as string),
  );
}

/**
 * The linear wildcard walk: advance on single matches; on a star remember where it was and let it
 * swallow one more item each time a later mismatch sends us back. Never worse than O(p x n).
 */
function wildcardWalk(
  patternLength: number,
  subjectLength: number,
  isStar: (p: number) => boolean,
  matchesAt: (p: number, s: number) => boolean,
): boolean {
  let p = 0;
  let s = 0;
  let starP = -1;
  let starS = 0;
  while (s < subjectLength) {
    if (p < patternLength && isStar(p)) {
      starP = p++;
      starS = s;
    } else if (p < patternLength && matchesAt(p, s)) {
      p++;
      s++;
    } else if (starP !== -1) {
      p = starP + 1;
      s = ++starS;
    } else {
      return false;
    }
  }
  while (p < patternLength && isStar(p)) p++;
  return p === patternLength;
}

function matchesOne(token: Token, char: string): boolean {
  switch (token.kind) {
    case "literal":
      return token.char === char;
    case "any":
      return true;
    case "star":
      return false;
    case "class":
      return token.ranges.some(([low, high]) => char >= low && char <= high) !== token.negated;
  }
}
