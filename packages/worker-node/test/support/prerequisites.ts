import { beforeAll, describe } from "@jest/globals";

/**
 * A suite that needs what this machine may lack (root, bubblewrap, a cgroup2 hierarchy), under the
 * rule every sandbox suite follows: outside CI, a missing prerequisite skips the suite with a note
 * naming it; under CI=true the suite is never skipped, and its beforeAll fails every test naming
 * what is missing, so CI cannot pass green without checking.
 */
export function describeWithPrerequisites(title: string, problems: string[], body: () => void): void {
  if (problems.length > 0 && process.env.CI !== "true") {
    console.warn(`skipping "${title}": ${problems.join("; ")} (CI=true makes this a failure)`);
    describe.skip(title, body);
    return;
  }
  describe(title, () => {
    beforeAll(() => {
      if (problems.length > 0) throw new Error(`"${title}" cannot run: ${problems.join("; ")}`);
    });
    body();
  });
}
