/**
 * The operations rules name (`VFIO_MIG_GET_PRECOPY_INFO`, `VFIO_DEVICE_FEATURE_MIG_DATA_SIZE:GET`…), and how
 * to issue each one raw. Generic checks use this to judge any rule about an operation it knows; a rule about
 * an operation missing here is reported as having no check.
 */
import type { CheckContext, Reached } from '../context.js';
import { GET, SET, type CallResult } from '../raw-device.js';

export type OperationCall = (ctx: CheckContext, dataFd: number) => CallResult;

/** An invoker for `op`, and whether it needs a data fd; null when the suite cannot issue it. */
export function operation(ctx: CheckContext, op: string): { needsDataFd: boolean; call: OperationCall } | null {
  if (op === 'VFIO_MIG_GET_PRECOPY_INFO') return { needsDataFd: true, call: (c, fd) => c.raw.precopyInfo(fd).result };
  const m = /^(VFIO_DEVICE_FEATURE_\w+):(GET|SET)$/.exec(op);
  const feature = m && ctx.spec.features[m[1]!];
  // Only GETs: a generic SET with a zero payload could mean anything (state 0 is ERROR).
  if (!feature || m[2] !== 'GET') return null;
  return {
    needsDataFd: false,
    call: (c) =>
      c.raw.feature({
        index: feature.index,
        bits: m[2] === 'GET' ? GET : SET,
        argsz: 8 + feature.minsz,
        label: `GET ${feature.short}`,
      }).result,
  };
}

/**
 * Ways to be in a state with the data fd that belongs there: the spec's path from the initial state, and
 * for STOP_COPY on a PRE_COPY device also the saving session carried over from PRE_COPY.
 */
export function routesTo(ctx: CheckContext, state: string): { label: string; enter(): Reached }[] {
  const routes = [{ label: state, enter: () => ctx.reach(state) }];
  if (state === 'STOP_COPY' && ctx.has('PRE_COPY'))
    routes.push({
      label: 'STOP_COPY (session from PRE_COPY)',
      enter: () => {
        const reached = ctx.reachWithFd('PRE_COPY');
        for (const step of ctx.spec.fsm.paths[ctx.caps]!['PRE_COPY']!['STOP_COPY']!) ctx.raw.setState(step);
        return reached;
      },
    });
  return routes;
}
