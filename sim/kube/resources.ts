// The kinds eni-ipam stores in the API server, as the rig serves them (the chart's CRD says the same).
import { NODE_CR } from '../../daemon/k8s/nodeCr.js';
import type { StoredResource } from './store.js';

/** nodes.network.alibabacloud.com: a custom resource with a status subresource (updates need a resourceVersion). */
export const NODE_CRS: StoredResource = { ...NODE_CR, statusSubresource: true, unconditionalUpdate: false };
