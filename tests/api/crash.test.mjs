// Durability: a write that d1d acknowledged survives kill -9 (synchronous=FULL
// and group commit), one that failed left nothing, and the database passes
// quick_check after every restart.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { startServer, assertOk, createDb, sleep } from './harness.mjs';

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
