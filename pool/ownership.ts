// Which ENIs are the pool's: the tags it puts on the ENIs it creates, and how an ENI attached to the
// node is classified from the cloud's facts. Pure.

import type { Eni } from './cloud.js';

/** The creator tag every ENI the pools create carries (plus `node: <instanceId>` and the configured tags). */
export const CREATOR_TAG_KEY = 'creator';
export const CREATOR_TAG_VALUE = 'eni-ipam';
export const NODE_TAG_KEY = 'node';

/** The tags that mark an ENI as created by this node's pool (also the filter for its detached leftovers). */
export function ourTags(instanceId: string): Record<string, string> {
  return { [CREATOR_TAG_KEY]: CREATOR_TAG_VALUE, [NODE_TAG_KEY]: instanceId };
}

/**
 * Tags for a new ENI: the configured ones, the eni_tag_filter's (or the pool would refuse to manage what
 * it created), and ours last so nothing overrides them.
 */
export function newEniTags(
  instanceId: string,
  extra: Record<string, string> = {},
  tagFilter: Record<string, string> = {},
): Record<string, string> {
  return { ...extra, ...tagFilter, ...ourTags(instanceId) };
}

/** eni_tag_filter: every filter tag present with the same value (an empty filter matches all). */
export function matchesTagFilter(tags: Record<string, string>, filter: Record<string, string>): boolean {
  for (const [k, v] of Object.entries(filter)) if (tags[k] !== v) return false;
  return true;
}

/**
 * What an ENI attached to this node is to the pool:
 *   primary  — the instance's eth0: never created or deleted by us; the multi-IP pool uses its secondary IPs
 *   filtered — a secondary ENI failing eni_tag_filter: never adopted, used or deleted, but it holds a quota slot
 *   ours     — carries our creator + node tags (and matches the filter): ours to adopt, use and delete
 *   foreign  — anyone else's (another tool, trunking): left alone, holds a quota slot
 */
export type EniClass = 'primary' | 'filtered' | 'ours' | 'foreign';

export function classifyEni(e: Pick<Eni, 'type' | 'tags'>, instanceId: string, tagFilter: Record<string, string> = {}): EniClass {
  if (e.type === 'Primary') return 'primary';
  if (!matchesTagFilter(e.tags, tagFilter)) return 'filtered';
  return e.tags[CREATOR_TAG_KEY] === CREATOR_TAG_VALUE && e.tags[NODE_TAG_KEY] === instanceId ? 'ours' : 'foreign';
}
