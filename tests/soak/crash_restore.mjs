// crash_restore.mjs — many kill -9 cycles of one d1d while writes and
// time-travel restores (to random earlier points, so some cut the file)
// run on one database; after each restart the database must pass
// quick_check, and at the end every recorded point must restore to exactly
// its content. It found a journal that missed the pages a shrinking restore
// cuts off; tests/api/timetravel.test.mjs runs a short version of it.
//
//   node tests/soak/crash_restore.mjs     (make soak; D1D_BIN, CRASH_CYCLES)
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startServer, createDb, assertOk, sleep } from '../api/harness.mjs';

const CYCLES = Number(process.env.CRASH_CYCLES || 25);
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'd1d-crash-restore-'));
let srv = await startServer({ dataDir });
const account = srv.account;
const token = srv.token;
const db = (await createDb(srv, 'crash-restore')).uuid;
const url = () => `${srv.dbPath(account.id)}/${db}`;
const q = async (sql) => assertOk(await srv.api('POST', `${url()}/raw`, { token, body: { sql } }))[0].results.rows;
const bookmark = async () => assertOk(await srv.api('GET', `${url()}/time_travel/bookmark`, { token })).bookmark;
const restore = (bm) => srv.api('POST', `${url()}/time_travel/restore?bookmark=${bm}`, { token, body: '' });
const hash = async () =>
	crypto
		.createHash('sha256')
		.update(JSON.stringify(await q('SELECT id, hex(v) FROM t ORDER BY id')))
		.digest('hex');

let restores = 0;
let rollbacks = 0;
try {
	await q('CREATE TABLE t(id INTEGER PRIMARY KEY, v BLOB)');
	const points = [];
	for (let cycle = 0; cycle < CYCLES; cycle++) {
		await q('INSERT INTO t(v) SELECT randomblob(2000) FROM (WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 50) SELECT x FROM c)');
		points.push({ bm: await bookmark(), hash: await hash() });
		let killed = false;
		const writer = (async () => {
			while (!killed) await q('INSERT INTO t(v) VALUES (randomblob(3000))').catch(() => {});
		})();
		const restorer = (async () => {
			while (!killed) {
				const p = points[Math.floor(Math.random() * points.length)];
				const r = await restore(p.bm).catch(() => null);
				if (r?.status === 200) restores++;
				await sleep(5);
			}
		})();
		await sleep(200 + Math.floor(Math.random() * 800));
		killed = true; /* the loops start nothing more */
		await srv.kill9();
		await Promise.all([writer, restorer]);
		srv = await startServer({ dataDir, accounts: [] });
		assert.deepEqual(await q('PRAGMA quick_check'), [['ok']], `cycle ${cycle}: ${srv.stderr()}`);
		if (/rolled back an interrupted restore/.test(srv.stderr())) rollbacks++;
	}
	for (const p of points) {
		assertOk(await restore(p.bm));
		assert.equal(await hash(), p.hash, `restore to ${p.bm}`);
	}
	console.log(
		`crash_restore: ${CYCLES} kill -9 cycles, ${restores} restores acknowledged, ` +
			`${rollbacks} interrupted restores rolled back, ${points.length} points restored exactly`,
	);
} finally {
	await srv.stop();
	fs.rmSync(dataDir, { recursive: true, force: true });
}
