/**
 * Side-by-side micro-benchmark: cases run interleaved in the same process, round-robin with the start
 * order rotated each round, so a noisy machine slows them alike; medians of ns/op are compared as ratios.
 */
export interface Case {
  name: string;
  /** Runs `n` iterations. */
  run(n: number): void;
}

export function compare(
  cases: Case[],
  opts: { iterations: number; rounds?: number; warmup?: number },
): Map<string, number> {
  const rounds = opts.rounds ?? 11;
  const warmup = opts.warmup ?? 2;
  const samples = new Map<string, number[]>(cases.map((c) => [c.name, []]));
  for (let r = 0; r < warmup + rounds; r++) {
    for (let i = 0; i < cases.length; i++) {
      const c = cases[(i + r) % cases.length]!;
      const t0 = process.hrtime.bigint();
      c.run(opts.iterations);
      const ns = Number(process.hrtime.bigint() - t0) / opts.iterations;
      if (r >= warmup) samples.get(c.name)!.push(ns);
    }
  }
  const medians = new Map<string, number>();
  for (const [name, s] of samples) {
    s.sort((a, b) => a - b);
    medians.set(name, s[Math.floor(s.length / 2)]!);
  }
  return medians;
}
