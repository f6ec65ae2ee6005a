// A Node.js MySQL client's session through the proxy, for the e2e tests: mysql2 (tests/node/package.json), found in
// the node_modules directory RDS_IAM_NODE_MODULES names (`cargo xtask ci` installs it with `npm ci`).
//
// Usage: RDS_IAM_NODE_MODULES=DIR node proxy_client.js --host H --port P --user U [--database D]
//
// Logs in as U with no password and no TLS (the proxy takes care of both), then runs what an application would:
// CURRENT_USER(), the Ssl_version status (the proxy's TLS to the database, when there is one), a prepared statement
// (`execute`), 1000 rows from MariaDB's sequence engine, a transaction on a temporary table, CONNECTION_ID(). The
// sequence and the temporary table need a default database: pass --database (one where U may SELECT and CREATE
// TEMPORARY TABLES).
//
// Prints one JSON object on stdout — {user, ssl_version, param, rows, sum, temp_count, connection_id, driver,
// driver_version} — and exits 0; on any failure, prints the error on stderr and exits 1 (2 for a usage error).
'use strict';

const path = require('node:path');
const { parseArgs } = require('node:util');

function usage(message) {
  process.stderr.write(`proxy_client.js: ${message}\n`);
  process.exit(2);
}

function options() {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        host: { type: 'string' },
        port: { type: 'string' },
        user: { type: 'string' },
        database: { type: 'string' },
      },
    }));
  } catch (e) {
    usage(e.message);
  }
  for (const name of ['host', 'port', 'user']) {
    if (values[name] === undefined) usage(`--${name} is required`);
  }
  const port = Number(values.port);
  if (!Number.isInteger(port) || port <= 0 || port > 65535) usage(`--port ${values.port} is not a port`);
  return { ...values, port };
}

async function session(mysql, args) {
  const conn = await mysql.createConnection({
    host: args.host,
    port: args.port,
    user: args.user,
    database: args.database,
    // No password and no TLS: the proxy asks for neither.
    ssl: false,
    connectTimeout: 10000,
  });
  try {
    const [[{ user }]] = await conn.query('SELECT CURRENT_USER() AS user');
    const [ssl] = await conn.query("SHOW STATUS LIKE 'Ssl_version'");
    const [[{ param }]] = await conn.execute('SELECT ? + 1 AS param', [41]);
    const [seq] = await conn.query('SELECT seq FROM seq_1_to_1000');
    await conn.query('CREATE TEMPORARY TABLE proxy_client_tmp (id INT PRIMARY KEY) ENGINE=InnoDB');
    await conn.beginTransaction();
    await conn.query('INSERT INTO proxy_client_tmp (id) VALUES (1), (2), (3)');
    const [[{ temp_count }]] = await conn.query('SELECT COUNT(*) AS temp_count FROM proxy_client_tmp');
    await conn.commit();
    const [[{ connection_id }]] = await conn.query('SELECT CONNECTION_ID() AS connection_id');
    return {
      user,
      ssl_version: ssl.length > 0 ? String(ssl[0].Value) : '',
      param: Number(param),
      rows: seq.length,
      sum: seq.reduce((total, row) => total + Number(row.seq), 0),
      temp_count: Number(temp_count),
      connection_id: Number(connection_id),
    };
  } finally {
    // A broken connection cannot say goodbye: close the socket, and keep the error that broke it.
    await conn.end().catch(() => conn.destroy());
  }
}

async function main() {
  const args = options();
  const modules = process.env.RDS_IAM_NODE_MODULES;
  if (!modules) usage('RDS_IAM_NODE_MODULES is not set (the node_modules directory with mysql2)');
  let mysql;
  let version;
  try {
    mysql = require(path.join(modules, 'mysql2', 'promise'));
    version = require(path.join(modules, 'mysql2', 'package.json')).version;
  } catch (e) {
    usage(`mysql2 is not in RDS_IAM_NODE_MODULES=${modules}: ${e.message}`);
  }
  try {
    const result = await session(mysql, args);
    process.stdout.write(`${JSON.stringify({ ...result, driver: 'mysql2', driver_version: version })}\n`);
  } catch (e) {
    const code = e.code ? ` (${e.code}${e.errno ? ` ${e.errno}` : ''})` : '';
    process.stderr.write(`proxy_client.js: mysql2: ${e.message}${code}\n`);
    process.exit(1);
  }
}

main();
