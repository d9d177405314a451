/**
 * The uAPI as of Linux 7.1: the current spec with everything later than 7.1 left out
 * (`vfio-uapi diff` applies `asOf` as it loads this module).
 */
import { revision } from '../../../spec/dsl/index.js';

export * from '../../../spec/vfio/index.js';

export const uapiRevision = revision({ label: 'Linux 7.1', asOf: '7.1' });
