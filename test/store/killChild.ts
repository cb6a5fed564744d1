// Child for the SIGKILL durability test: commits N allocations, reports each on stdout, then dies hard.
import { SqlitePoolStore } from '../../daemon/store/sqliteStore.js';

const [path, nText] = process.argv.slice(2);
const n = Number(nText);
const store = new SqlitePoolStore({ path: path! });
store.apply([
  {
    op: 'putEni',
    eni: {
      eniId: 'eni-1',
      mac: '02:00:00:00:00:01',
      vSwitchId: 'vsw-a',
      vSwitchCidr: '10.0.0.0/24',
      gateway: '10.0.0.253',
      primary: true,
      createdByUs: false,
      state: 'inuse',
      createdAt: 1,
    },
  },
]);
for (let i = 0; i < n; i++) {
  const ip = `10.0.0.${i + 1}`;
  const podKey = `c${i}/eth0/net`;
  store.apply([
    { op: 'putIp', ip: { ip, eniId: 'eni-1', state: 'assigned', podKey, since: i } },
    {
      op: 'putPod',
      pod: {
        podKey,
        namespace: 'ns',
        name: `p${i}`,
        containerId: `c${i}`,
        ifName: 'eth0',
        networkName: 'net',
        netns: '',
        ip,
        eniId: 'eni-1',
        eniMac: '02:00:00:00:00:01',
        primaryEni: true,
        vSwitchId: 'vsw-a',
        vSwitchCidr: '10.0.0.0/24',
        gateway: '10.0.0.253',
        allocatedAt: i,
        mode: 'ENIMultiIP',
        stateful: false,
      },
    },
  ]);
  process.stdout.write(`${podKey}\n`);
}
// No close(), no checkpoint: the WAL is all there is.
process.kill(process.pid, 'SIGKILL');
