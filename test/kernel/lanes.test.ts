import { describe, expect, it } from 'vitest';
import { planLanes, routeWeight } from './lanes.js';

const route = (name: string, suite: 'mtty' | 'edu' = 'mtty', access: 'group' | 'cdev' = 'group') => ({
  name,
  suite,
  access,
});
const FIVE = [route('6.1', 'edu'), route('6.12.95'), route('6.12.117'), route('7.3.4'), route('cdev', 'mtty', 'cdev')];
const names = (plan: { name: string }[][]) => plan.map((lane) => lane.map((r) => r.name));
const load = (lane: { name: string; suite: 'mtty' | 'edu'; access: 'group' | 'cdev' }[]) =>
  lane.reduce((n, r) => n + routeWeight(r), 0);

describe('planLanes', () => {
  it('two lanes: the two longest routes together, the three shortest together (the shortest longest lane)', () => {
    const plan = planLanes(FIVE, 2);
    expect(names(plan)).toEqual([
      ['7.3.4', '6.12.117'],
      ['6.12.95', 'cdev', '6.1'],
    ]);
    expect(Math.max(...plan.map(load))).toBe(60);
  });

  it('one lane: every route, longest first', () => {
    expect(names(planLanes(FIVE, 1))).toEqual([['7.3.4', '6.12.117', '6.12.95', 'cdev', '6.1']]);
  });

  it('more lanes than routes: one route each; no empty lanes', () => {
    expect(names(planLanes(FIVE.slice(0, 2), 4))).toEqual([['6.12.95'], ['6.1']]);
    expect(planLanes([], 2)).toEqual([]);
  });

  it('an unmeasured route is weighed by its kind', () => {
    expect(routeWeight(route('7.4.1'))).toBe(25);
    expect(routeWeight(route('next', 'mtty', 'cdev'))).toBe(21);
    expect(routeWeight(route('5.15', 'edu'))).toBe(15);
  });
});
