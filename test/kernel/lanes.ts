/**
 * Which guest runs in which lane when guests run side by side. Each route has a weight, its warm guest time
 * measured on the 2-core machine with two guests side by side (test:kernel prints it per route); the plan is
 * the assignment with the shortest longest lane (every assignment is tried, the first route fixed to lane 0
 * since lanes are alike: 16 for five routes over two lanes), and each lane runs its routes longest first. A
 * greedy queue (the next route to the first free lane) ends ~2 s later on the five routes: it cannot put the two
 * longest together and the three shortest together.
 */
import type { Route } from './routes.js';

/** Warm guest seconds by route (this machine, two side by side: 7.3.4 28-29, 6.12.117 25-27, ...). */
const MEASURED: Record<string, number> = { '7.3.4': 29, '6.12.117': 26, '6.12.95': 24, cdev: 21, '6.1': 15 };

/** A route's weight: measured, else by its kind (a mtty route on a Debian kernel ~25 s, cdev ~21 s, edu ~15 s). */
export function routeWeight(route: Pick<Route, 'name' | 'suite' | 'access'>): number {
  return MEASURED[route.name] ?? (route.suite === 'mtty' ? (route.access === 'group' ? 25 : 21) : 15);
}

/** Most assignments tried before falling back to longest-first onto the least-loaded lane. */
const EXHAUSTIVE_LIMIT = 1 << 16;

export function planLanes<R extends Pick<Route, 'name' | 'suite' | 'access'>>(
  routes: readonly R[],
  lanes: number,
): R[][] {
  const sorted = [...routes].sort((a, b) => routeWeight(b) - routeWeight(a));
  const count = Math.max(1, Math.min(lanes, sorted.length));
  const weights = sorted.map(routeWeight);
  let best: number[] = greedy(weights, count);
  if (count ** sorted.length <= EXHAUSTIVE_LIMIT) {
    let bestSpan = span(weights, best, count);
    const assign = new Array<number>(sorted.length).fill(0);
    // Enumerate assignments in base `count`; the first route always goes to lane 0 (lanes are interchangeable).
    for (let i = 0; i < count ** (sorted.length - 1); i++) {
      for (let k = 1, v = i; k < sorted.length; k++, v = Math.floor(v / count)) assign[k] = v % count;
      const s = span(weights, assign, count);
      if (s < bestSpan) [bestSpan, best] = [s, [...assign]];
    }
  }
  const plan: R[][] = Array.from({ length: count }, () => []);
  sorted.forEach((route, i) => plan[best[i]!]!.push(route));
  return plan.filter((lane) => lane.length);
}

/** Longest first onto the least-loaded lane. */
function greedy(weights: readonly number[], count: number): number[] {
  const load = new Array<number>(count).fill(0);
  return weights.map((w) => {
    const lane = load.indexOf(Math.min(...load));
    load[lane]! += w;
    return lane;
  });
}

/** The longest lane's total weight. */
function span(weights: readonly number[], assign: readonly number[], count: number): number {
  const load = new Array<number>(count).fill(0);
  weights.forEach((w, i) => (load[assign[i]!]! += w));
  return Math.max(...load);
}
