/** The two ways every comparison drives its subjects: one at a time, or a fixed number in flight. */

/** Runs `task` `count` times in sequence; returns each run's duration in ms. */
export async function timeEach(count: number, task: () => Promise<unknown>): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < count; i++) {
    const start = performance.now();
    await task();
    samples.push(performance.now() - start);
  }
  return samples;
}

/** Runs `task` `count` times with at most `concurrency` in flight; returns the wall time in ms. */
export async function timePool(count: number, concurrency: number, task: () => Promise<unknown>): Promise<number> {
  let started = 0;
  const lane = async (): Promise<void> => {
    while (started < count) {
      started += 1;
      await task();
    }
  };
  const start = performance.now();
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, lane));
  return performance.now() - start;
}
