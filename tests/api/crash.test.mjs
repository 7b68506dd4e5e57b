// Durability: a write that d1d acknowledged survives kill -9 (synchronous=FULL
// and group commit), one that failed left nothing, and the database passes
// quick_check after every restart.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { startServer, assertOk, createDb, sleep, run } from './harness.mjs';

const CYCLES = 3;

test(`acknowledged writes survive kill -9 (${CYCLES} cycles under concurrent load)`, { timeout: 120000 }, async () => {
	const dataDir = await fsp.mkdtemp(path.join(os.tmpdir(), 'd1d-crash-'));
	let srv = await startServer({ dataDir });
	const { token, account } = srv;
	const db = (await createDb(srv, 'crash')).uuid;
	const q = (s, sql, params) =>
		s.api('POST', `${s.dbPath(account.id)}/${db}/query`, { token, body: params ? { sql, params } : { sql } });
	assertOk(await q(srv, 'CREATE TABLE t(id INTEGER PRIMARY KEY, w INTEGER)'));

	const acked = new Set();
	let next = 1;
	try {
		for (let cycle = 0; cycle < CYCLES; cycle++) {
			// Eight writers insert as fast as they can until the kill.
			let killed = false;
			const writers = Array.from({ length: 8 }, async (_, w) => {
				while (!killed) {
					const id = next++;
					try {
						const r = await q(srv, 'INSERT INTO t VALUES (?, ?)', [id, w]);
						if (r.status === 200 && r.json?.success) acked.add(id);
					} catch {
						/* the connection died with the server */
					}
				}
			});
			await sleep(300 + Math.floor(Math.random() * 700));
			killed = true; /* the loops start nothing more */
			await srv.kill9();
			await Promise.all(writers);

			srv = await startServer({ dataDir, accounts: [] });
			const rows = assertOk(
				await srv.api('POST', `${srv.dbPath(account.id)}/${db}/raw`, { token, body: { sql: 'SELECT id FROM t' } }),
			)[0].results.rows.map((r) => r[0]);
			const present = new Set(rows);
			const lost = [...acked].filter((id) => !present.has(id));
			assert.deepEqual(lost, [], `cycle ${cycle}: acknowledged rows lost after kill -9`);
			assert.ok(rows.length >= acked.size && rows.length < next, `cycle ${cycle}: ${rows.length} rows`);
			const check = assertOk(
				await srv.api('POST', `${srv.dbPath(account.id)}/${db}/raw`, { token, body: { sql: 'PRAGMA quick_check' } }),
			);
			assert.deepEqual(check[0].results.rows, [['ok']]);
			process.stderr.write(`crash cycle ${cycle}: ${acked.size} acknowledged, ${rows.length} present\n`);
		}
		await srv.stop();
	} finally {
		await fsp.rm(dataDir, { recursive: true, force: true });
	}
});

// d1d owns the databases it has open (SQLite's unix-excl VFS, whose WAL
// index is in d1d's memory, not in a -shm file another process could
// share): a sqlite3 shell is refused while d1d has the database open, on the
// first open (which closes and reopens the writer around the base image)
// and on a later one, and reads it once d1d has stopped.
test('another process cannot open a database d1d has open, and can once d1d stopped', { timeout: 60000 }, async () => {
	const dataDir = await fsp.mkdtemp(path.join(os.tmpdir(), 'd1d-own-'));
	let srv = await startServer({ dataDir });
	try {
		const { token, account } = srv;
		const db = (await createDb(srv, 'owned')).uuid;
		const q = (s, sql) => s.api('POST', `${s.dbPath(account.id)}/${db}/query`, { token, body: { sql } });
		const file = path.join(dataDir, 'databases', db, 'db.sqlite');
		const shell = () => run('sqlite3', [file, 'SELECT count(*) FROM t']);
		assertOk(await q(srv, 'CREATE TABLE t(x); INSERT INTO t VALUES (1)'));
		let r = await shell();
		assert.notEqual(r.code, 0, `the shell read a database d1d has open: ${r.stdout}`);
		assert.match(r.stderr, /locked/);
		await srv.stop();
		r = await shell();
		assert.equal(r.code, 0, r.stderr);
		assert.equal(r.stdout.trim(), '1');

		srv = await startServer({ dataDir });
		assertOk(await q(srv, 'INSERT INTO t VALUES (2)'));
		r = await shell();
		assert.notEqual(r.code, 0, `the shell read a database d1d has open: ${r.stdout}`);
		assert.match(r.stderr, /locked/);
		await srv.stop();
		srv = null;
		r = await shell();
		assert.equal(r.stdout.trim(), '2');
	} finally {
		if (srv) await srv.stop();
		await fsp.rm(dataDir, { recursive: true, force: true });
	}
});
