// The spec's migration state machine rebuilt from its own parts, for tests that change some of them.
import * as spec from '../../spec/vfio/index.js';
import { stateMachine, type StateMachine } from '../../spec/dsl/index.js';

/** spec.migration with every part copied (so a test may change it) and the parts in `over` replaced. */
export function migrationWith(over: Partial<Parameters<typeof stateMachine>[1]> = {}): StateMachine {
  const m = spec.migration;
  return stateMachine('vfio_migration', {
    since: m.since,
    states: spec.vfio_device_mig_state,
    capabilities: spec.vfio_migration_flags,
    mandatory: [...m.mandatory],
    capabilitySets: m.capabilitySets.map((c) => [...c]),
    requires: Object.fromEntries(Object.entries(m.requires).map(([k, v]) => [k, v ? [...v] : null])),
    initial: m.initial,
    error: m.error,
    endpointOnly: [...m.endpointOnly],
    dataFd: spec.MigrationDataFd,
    arcs: [...m.arcs],
    forbidden: [...m.forbidden],
    ...over,
  });
}
