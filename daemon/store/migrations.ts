// Pod DB schema, versioned with SQLite's user_version. Append migrations; never edit a shipped one.

export interface Migration {
  version: number;
  sql: string;
}

export const migrations: Migration[] = [
  {
    version: 1,
    sql: `
      CREATE TABLE enis (
        eni_id        TEXT PRIMARY KEY,
        mac           TEXT NOT NULL,
        vswitch_id    TEXT NOT NULL,
        vswitch_cidr  TEXT NOT NULL,
        gateway       TEXT NOT NULL,
        is_primary    INTEGER NOT NULL CHECK (is_primary IN (0, 1)),
        created_by_us INTEGER NOT NULL CHECK (created_by_us IN (0, 1)),
        state         TEXT NOT NULL CHECK (state IN ('attaching', 'inuse', 'deleting')),
        created_at    INTEGER NOT NULL
      );
      CREATE TABLE ips (
        ip               TEXT PRIMARY KEY,
        eni_id           TEXT NOT NULL REFERENCES enis(eni_id) ON DELETE CASCADE,
        state            TEXT NOT NULL CHECK (state IN ('free', 'assigned', 'cooling', 'reserved', 'releasing')),
        pod_key          TEXT,
        since            INTEGER NOT NULL,
        reserved_for     TEXT,
        until            INTEGER,
        missing_in_cloud INTEGER NOT NULL DEFAULT 0,
        CHECK ((state = 'assigned') = (pod_key IS NOT NULL)),
        CHECK ((state = 'reserved') = (reserved_for IS NOT NULL))
      );
      CREATE INDEX ips_eni ON ips(eni_id);
      -- One holder per IP is the primary key; one IP per pod key is this index.
      CREATE UNIQUE INDEX ips_pod_key ON ips(pod_key) WHERE pod_key IS NOT NULL;
      CREATE TABLE pods (
        pod_key      TEXT PRIMARY KEY,            -- containerId/ifName/networkName
        container_id TEXT NOT NULL,
        if_name      TEXT NOT NULL,
        network_name TEXT NOT NULL,
        namespace    TEXT NOT NULL,
        name         TEXT NOT NULL,
        netns        TEXT NOT NULL,
        ip           TEXT NOT NULL UNIQUE,         -- no IP held by two pods
        eni_id       TEXT NOT NULL,
        eni_mac      TEXT NOT NULL,
        primary_eni  INTEGER NOT NULL,
        vswitch_id   TEXT NOT NULL,
        vswitch_cidr TEXT NOT NULL,
        gateway      TEXT NOT NULL,
        mode         TEXT NOT NULL CHECK (mode IN ('ENIMultiIP', 'VPCENI', 'VPCIP')),
        stateful     INTEGER NOT NULL DEFAULT 0,
        allocated_at INTEGER NOT NULL,
        updated_at   INTEGER NOT NULL
      );
      CREATE INDEX pods_ns_name ON pods(namespace, name);
    `,
  },
  {
    // The ENI's primary IP, so allocations carry eniPrimaryIp after a restart before any cloud reconcile.
    // Nullable: rows written by v1 learn it at the next reconcile.
    version: 2,
    sql: `ALTER TABLE enis ADD COLUMN primary_ip TEXT;`,
  },
  {
    // Dual stack: an IPv6 address paired with each IPv4 one, the pod's IPv6 address and its vSwitch's IPv6
    // block and gateway. Nullable: rows written by v2 (IPv4 only) stay as they are.
    version: 3,
    sql: `
      ALTER TABLE enis ADD COLUMN vswitch_ipv6_cidr TEXT;
      ALTER TABLE enis ADD COLUMN ipv6_gateway TEXT;
      ALTER TABLE ips ADD COLUMN ipv6 TEXT;
      CREATE UNIQUE INDEX ips_ipv6 ON ips(ipv6) WHERE ipv6 IS NOT NULL;
      ALTER TABLE pods ADD COLUMN ipv6 TEXT;
      ALTER TABLE pods ADD COLUMN vswitch_ipv6_cidr TEXT;
      ALTER TABLE pods ADD COLUMN ipv6_gateway TEXT;
      -- no IPv6 address held by two pods
      CREATE UNIQUE INDEX pods_ipv6 ON pods(ipv6) WHERE ipv6 IS NOT NULL;
    `,
  },
];

export const schemaVersion = migrations[migrations.length - 1]!.version;
