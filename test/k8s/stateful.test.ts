import { describe, expect, it } from 'vitest';
import { isStatefulPod, type PodInfo } from '../../daemon/k8s/index.js';

const pod = (p: Partial<PodInfo>): PodInfo => ({ namespace: 'ns', name: 'p', uid: 'u', annotations: {}, hostNetwork: false, ...p });

describe('isStatefulPod', () => {
  const cases: Array<[string, Partial<PodInfo>, string[] | undefined, boolean]> = [
    ['StatefulSet owner', { ownerKind: 'StatefulSet' }, undefined, true],
    ['StatefulSet owner, odd case', { ownerKind: 'statefulset' }, undefined, true],
    ['ReplicaSet owner', { ownerKind: 'ReplicaSet' }, undefined, false],
    ['no owner', {}, undefined, false],
    ['custom kind listed', { ownerKind: 'CloneSet' }, ['CloneSet'], true],
    ['custom kind listed in other case', { ownerKind: 'AdvancedStatefulSet' }, ['advancedstatefulset'], true],
    ['custom list does not match', { ownerKind: 'CloneSet' }, ['Other'], false],
    [
      'reservation annotation "true"',
      { ownerKind: 'ReplicaSet', annotations: { 'k8s.aliyun.com/pod-ip-reservation': 'true' } },
      undefined,
      true,
    ],
    ['reservation annotation "True" (ParseBool)', { annotations: { 'k8s.aliyun.com/pod-ip-reservation': 'True' } }, undefined, true],
    ['reservation annotation "1"', { annotations: { 'k8s.aliyun.com/pod-ip-reservation': '1' } }, undefined, true],
    ['reservation annotation "false"', { annotations: { 'k8s.aliyun.com/pod-ip-reservation': 'false' } }, undefined, false],
    ['reservation annotation garbage', { annotations: { 'k8s.aliyun.com/pod-ip-reservation': 'yes' } }, undefined, false],
    ['other annotation only', { annotations: { 'k8s.aliyun.com/pod-eni': 'true' } }, undefined, false],
  ];
  it.each(cases)('%s', (_name, p, kinds, want) => {
    expect(isStatefulPod(pod(p), kinds)).toBe(want);
  });
});
