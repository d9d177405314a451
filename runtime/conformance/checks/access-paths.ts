/**
 * Rules about reaching a device (group/container, cdev/iommufd). The suite starts from a device that is
 * already open, so it does not judge them; the runtime's open path and the emulator tests do.
 */
import type { SpecRule } from '../spec-data.js';
import type { Check } from './check.js';

const ACCESS_FD_KINDS = new Set(['group', 'container', 'device_cdev', 'iommufd']);

export function accessPathCheck(rule: SpecRule): Check | null {
  if (!rule.on || !ACCESS_FD_KINDS.has(rule.on)) return null;
  return {
    rule: rule.id,
    run(ctx) {
      ctx.skip(`a rule of the access path (${rule.on}): the suite judges an already opened device`);
    },
  };
}
