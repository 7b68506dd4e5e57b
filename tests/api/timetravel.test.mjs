// Time travel: every commit has a bookmark, and the database can be restored
// to the state after any of them, by bookmark or by timestamp, through the raw
// API, the SDK and wrangler. Content is compared as a hash of every table's
// rows (sorted) and of the schema.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {
	useServer,
	startServer,
	assertOk,
	assertErr,
	assertSdkErr,
	createDb,
	wrangler,
	wranglerDesc,
	sleep,
} from './harness.mjs';

const BOOKMARK_RE = /^[0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{32}$/;

function client(srv, account, token) {
	const base = `${srv.dbPath(account.id)}`;
	const q = async (db, sql, params) => assertOk(await srv.api('POST', `${base}/${db}/raw`, { token, body: { sql, params } }));
	return {
		q,
		async bookmark(db, ts) {
			const url = `${base}/${db}/time_travel/bookmark${ts === undefined ? '' : `?timestamp=${encodeURIComponent(ts)}`}`;
			return assertOk(await srv.api('GET', url, { token })).bookmark;
		},
		restoreRes(db, qs, tok = token) {
			return srv.api('POST', `${base}/${db}/time_travel/restore?${qs}`, { token: tok, body: '' });
		},
		async restore(db, bookmark) {
			return assertOk(await this.restoreRes(db, `bookmark=${bookmark}`));
		},
		// A hash of the schema and of every table's rows, in rowid order.
		async hash(db) {
			const schema = (await q(db, "SELECT type, name, sql FROM sqlite_schema WHERE name NOT LIKE 'sqlite_%' ORDER BY name"))[0]
				.results.rows;
			const h = crypto.createHash('sha256');
			h.update(JSON.stringify(schema));
			for (const [type, name] of schema) {
				if (type !== 'table') continue;
				const rows = (await q(db, `SELECT * FROM "${name}"`))[0].results.rows.map((r) => JSON.stringify(r)).sort();
				h.update(name + JSON.stringify(rows));
			}
			return h.digest('hex');
		},
	};
}

describe('time travel', () => {
	const h = useServer();
	const c = () => client(h.srv, h.srv.account, h.srv.token);

	test('bookmarks: D1 shape, one per committed write, increasing, stable', async () => {
		const db = (await createDb(h.srv, 'tt-bm')).uuid;
		const k = c();
		const b0 = await k.bookmark(db);
		assert.match(b0, BOOKMARK_RE);
		assert.equal(await k.bookmark(db), b0, 'asking twice gives the same bookmark');
		await k.q(db, 'SELECT 1');
		assert.equal(await k.bookmark(db), b0, 'a read is not a commit');
		await k.q(db, 'CREATE TABLE t(x)');
		const b1 = await k.bookmark(db);
		await k.q(db, 'INSERT INTO t VALUES (1)');
		const b2 = await k.bookmark(db);
		assert.ok(b0 < b1 && b1 < b2, `${b0} < ${b1} < ${b2}`);
		await k.q(db, 'DELETE FROM t WHERE x = 42');
		assert.equal(await k.bookmark(db), b2, 'a write that changes nothing is not a commit');
		// The trailing bare '?' wrangler sends.
		const res = await h.srv.api('GET', `${h.srv.dbPath()}/${db}/time_travel/bookmark?`, { token: h.srv.token });
		assert.equal(assertOk(res).bookmark, b2);
	});

	test('restore to many points of a random history gives exactly that content', { timeout: 120000 }, async () => {
		const db = (await createDb(h.srv, 'tt-rand')).uuid;
		const k = c();
		const points = [{ bm: await k.bookmark(db), hash: await k.hash(db) }];
		let seed = 12345;
		const rnd = (n) => ((seed = (seed * 1103515245 + 12345) % 2147483648), seed % n);
		const steps = [
			() => 'CREATE TABLE IF NOT EXISTS a(id INTEGER PRIMARY KEY, v TEXT, b BLOB)',
			() =>
				`WITH RECURSIVE s(value) AS (SELECT 1 UNION ALL SELECT value + 1 FROM s WHERE value < ${1 + rnd(200)}) ` +
				`INSERT INTO a(v, b) SELECT 'row' || value, randomblob(${1 + rnd(3000)}) FROM s`,
			() => `UPDATE a SET v = v || '!' WHERE id % ${2 + rnd(5)} = 0`,
			() => `DELETE FROM a WHERE id % ${2 + rnd(7)} = 1`,
			() => `CREATE TABLE IF NOT EXISTS b${rnd(3)}(k TEXT PRIMARY KEY, n INTEGER) WITHOUT ROWID`,
			() => 'CREATE INDEX IF NOT EXISTS a_v ON a(v)',
			() => 'DROP INDEX IF EXISTS a_v',
			() => `INSERT OR REPLACE INTO b0 VALUES ('k${rnd(50)}', ${rnd(1e9)})`,
			() => `ALTER TABLE a ADD COLUMN c${rnd(1e6)} INTEGER DEFAULT ${rnd(100)}`,
		];
		const run = async (sql) => {
			try {
				await k.q(db, sql);
			} catch {
				/* e.g. b0 not created yet: a failed request is not a commit */
			}
		};
		await run(steps[0]());
		await run('CREATE TABLE b0(k TEXT PRIMARY KEY, n INTEGER) WITHOUT ROWID');
		for (let i = 0; i < 40; i++) {
			await run(steps[rnd(steps.length)]());
			if (i === 25) {
				await run('DELETE FROM a WHERE id % 3 <> 0');
				await run('VACUUM'); // the database shrinks: a restore must grow it back
			}
			points.push({ bm: await k.bookmark(db), hash: await k.hash(db) });
		}
		const order = [5, 30, 0, 39, 12, 27, 20, 40, 1];
		for (const i of order) {
			const before = await k.bookmark(db);
			const r = await k.restore(db, points[i].bm);
			assert.match(r.bookmark, BOOKMARK_RE);
			assert.equal(r.previous_bookmark, before);
			assert.ok(r.bookmark > before, 'a restore is a new commit');
			assert.equal(typeof r.message, 'string');
			assert.equal(await k.hash(db), points[i].hash, `content after restore to point ${i}`);
			assert.deepEqual((await k.q(db, 'PRAGMA quick_check'))[0].results.rows, [['ok']]);
		}
		// Undo a restore with its previous_bookmark; restore a restore.
		const hashNow = await k.hash(db);
		const r1 = await k.restore(db, points[3].bm);
		assert.equal(await k.hash(db), points[3].hash);
		const r2 = await k.restore(db, r1.previous_bookmark);
		assert.equal(await k.hash(db), hashNow, 'previous_bookmark undoes the restore');
		await k.restore(db, r1.bookmark);
		assert.equal(await k.hash(db), points[3].hash, 'restoring to a restore');
		await k.restore(db, r2.bookmark);
		assert.equal(await k.hash(db), hashNow);
		// Writes go on normally after restores.
		await k.q(db, "INSERT INTO b0 VALUES ('after', 1)");
		assert.deepEqual((await k.q(db, "SELECT n FROM b0 WHERE k = 'after'"))[0].results.rows, [[1]]);
	});

	test('by timestamp: the last commit at or before it; future is now; before creation is a 400', async () => {
		const k = c();
		const db = (await createDb(h.srv, 'tt-ts')).uuid;
		await k.q(db, 'CREATE TABLE t(x)');
		await k.q(db, 'INSERT INTO t VALUES (1)');
		await sleep(30);
		const mid = new Date().toISOString();
		const bmMid = await k.bookmark(db);
		await sleep(30);
		await k.q(db, 'INSERT INTO t VALUES (2)');
		assert.equal(await k.bookmark(db, mid), bmMid);
		assert.equal(await k.bookmark(db, '2999-01-01T00:00:00Z'), await k.bookmark(db));
		assert.equal(await k.bookmark(db, mid.replace('Z', '+00:00')), bmMid, 'offset form');
		const r = await h.srv.api('GET', `${h.srv.dbPath()}/${db}/time_travel/bookmark?timestamp=2001-01-01T00:00:00Z`, {
			token: h.srv.token,
		});
		assertErr(r, 400, undefined, /before/);
		assertErr(
			await h.srv.api('GET', `${h.srv.dbPath()}/${db}/time_travel/bookmark?timestamp=yesterday`, { token: h.srv.token }),
			400,
			undefined,
			/timestamp/,
		);
		assertOk(await k.restoreRes(db, `timestamp=${encodeURIComponent(mid)}`));
		assert.deepEqual((await k.q(db, 'SELECT x FROM t'))[0].results.rows, [[1]]);
	});

	test('bad, foreign and missing bookmarks; read-only tokens', async () => {
		const k = c();
		const a = (await createDb(h.srv, 'tt-a')).uuid;
		const b = (await createDb(h.srv, 'tt-b')).uuid;
		await k.q(a, 'CREATE TABLE t(x)');
		await k.q(b, 'CREATE TABLE t(x)');
		const bmA = await k.bookmark(a);
		const bmB = await k.bookmark(b);
		assert.notEqual(bmA, bmB, 'same commit number, different databases: different bookmarks');
		assertErr(await k.restoreRes(b, `bookmark=${bmA}`), 400, undefined, /bookmark/i);
		assertErr(await k.restoreRes(a, 'bookmark=nonsense'), 400, undefined, /bookmark/i);
		const future = bmA.replace(/^[0-9a-f]{8}-[0-9a-f]{8}/, '00000000-000000ff');
		assertErr(await k.restoreRes(a, `bookmark=${future}`), 400, undefined, /bookmark/i);
		assertErr(await k.restoreRes(a, ''), 400, undefined, /bookmark or a timestamp/);
		assertErr(await k.restoreRes(a, `bookmark=${bmA}&timestamp=2020-01-01T00:00:00Z`), 400, undefined, /not both/);
		assertErr(await k.restoreRes(a, `bookmark=${bmA}`, h.srv.roToken), 403, 10000);
		assert.equal(await k.bookmark(a), bmA, 'refused restores changed nothing');
	});

	test('the SDK: getBookmark and restore', async () => {
		const k = c();
		const cf = h.srv.sdk();
		const db = (await createDb(h.srv, 'tt-sdk')).uuid;
		await k.q(db, 'CREATE TABLE t(x)');
		const { bookmark } = await cf.d1.database.timeTravel.getBookmark(db, { account_id: h.srv.account.id });
		await k.q(db, 'INSERT INTO t VALUES (1), (2)');
		const r = await cf.d1.database.timeTravel.restore(db, { account_id: h.srv.account.id, bookmark });
		assert.match(r.bookmark, BOOKMARK_RE);
		assert.deepEqual((await k.q(db, 'SELECT count(*) FROM t'))[0].results.rows, [[0]]);
		await assertSdkErr(cf.d1.database.timeTravel.restore(db, { account_id: h.srv.account.id, bookmark: 'x' }), 400);
	});

	test('wrangler d1 time-travel info and restore', { timeout: 90000 }, async () => {
		const k = c();
		const name = 'tt-wr';
		const db = (await createDb(h.srv, name)).uuid;
		await k.q(db, 'CREATE TABLE t(x); INSERT INTO t VALUES (1)');
		const bm = await k.bookmark(db);
		await k.q(db, 'INSERT INTO t VALUES (2)');
		const env = h.srv.wranglerEnv();
		const info = await wrangler(['d1', 'time-travel', 'info', name, '--json'], env);
		assert.equal(info.code, 0, wranglerDesc(info));
		assert.ok(info.stdout.includes(await k.bookmark(db)), wranglerDesc(info));
		const res = await wrangler(['d1', 'time-travel', 'restore', name, '--bookmark', bm, '--json'], env);
		assert.equal(res.code, 0, wranglerDesc(res));
		assert.deepEqual((await k.q(db, 'SELECT x FROM t'))[0].results.rows, [[1]]);
	});
});

test('history survives restarts and kill -9 during writes and restores', { timeout: 120000 }, async () => {
	const dataDir = await fsp.mkdtemp(path.join(os.tmpdir(), 'd1d-tt-'));
	let srv = await startServer({ dataDir });
	const account = srv.account;
	const token = srv.token;
	try {
		let k = client(srv, account, token);
		const db = (await createDb(srv, 'tt-crash')).uuid;
		await k.q(db, 'CREATE TABLE t(id INTEGER PRIMARY KEY, v BLOB)');
		const points = [];
		for (let cycle = 0; cycle < 6; cycle++) {
			// Each cycle grows the file, so restores to earlier points cut
			// it: a kill then finds a restore that shrinks it half done.
			await k.q(db, 'INSERT INTO t(v) SELECT randomblob(2000) FROM (WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 40) SELECT x FROM c)');
			// A point whose content we know, taken while nothing runs.
			points.push({ bm: await k.bookmark(db), hash: await k.hash(db) });
			// Writers and, in odd cycles, restores run until the kill.
			let killed = false;
			const acked = [];
			const writer = (async () => {
				while (!killed) {
					try {
						await k.q(db, 'INSERT INTO t(v) VALUES (randomblob(500))');
						acked.push(await k.bookmark(db));
					} catch {
						/* the kill */
					}
				}
			})();
			const restorer = (async () => {
				while (!killed && cycle % 2 === 1 && points.length) {
					try {
						await k.restore(db, points[Math.floor(Math.random() * points.length)].bm);
					} catch {
						/* the kill */
					}
					await sleep(20);
				}
			})();
			await sleep(300 + 200 * cycle);
			killed = true; /* the loops start nothing more */
			await srv.kill9();
			await Promise.all([writer, restorer]);

			srv = await startServer({ dataDir, accounts: [] });
			k = client(srv, account, token);
			const qc = await srv.api('POST', `${srv.dbPath(account.id)}/${db}/raw`, { token, body: { sql: 'PRAGMA quick_check' } });
			assert.deepEqual(qc.json?.result?.[0]?.results?.rows, [["ok"]], `cycle ${cycle}: ${qc.text}\n${srv.stderr().split('\n').filter((l) => !/ (GET|POST) /.test(l)).join('\n')}`);
			// Every bookmark handed out still names a state; the recorded
			// points restore to exactly their content.
			const now = await k.bookmark(db);
			for (const bm of acked.slice(-3)) assert.ok(bm <= now, `${bm} <= ${now}`);
			for (const p of points) {
				await k.restore(db, p.bm);
				assert.equal(await k.hash(db), p.hash, `cycle ${cycle}: restore after kill -9`);
			}
			process.stderr.write(`time travel crash cycle ${cycle}: ${acked.length} commits acknowledged\n`);
		}
	} finally {
		await srv.stop();
		await fsp.rm(dataDir, { recursive: true, force: true });
	}
});

test('retention: history past the window is dropped once a snapshot covers it; the window still restores', { timeout: 60000 }, async () => {
	const dataDir = await fsp.mkdtemp(path.join(os.tmpdir(), 'd1d-tt-ret-'));
	const args = ['--history-retention-s', '5'];
	let srv = await startServer({ dataDir, args });
	const account = srv.account;
	const token = srv.token;
	try {
		let k = client(srv, account, token);
		const db = (await createDb(srv, 'tt-ret')).uuid;
		await k.q(db, 'CREATE TABLE t(id INTEGER PRIMARY KEY, v BLOB)');
		const old = await k.bookmark(db);
		const oldTime = new Date().toISOString();
		for (let i = 0; i < 3; i++) await k.q(db, `INSERT INTO t(v) SELECT randomblob(1000) FROM (WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 1000) SELECT x FROM c)`);
		await sleep(5500);
		await k.q(db, 'DELETE FROM t WHERE id % 2 = 0');
		const recent = { bm: await k.bookmark(db), hash: await k.hash(db) };
		const histDir = path.join(dataDir, 'databases', db, 'history');
		const du = async () => {
			let n = 0;
			for (const f of await fsp.readdir(histDir)) n += (await fsp.stat(path.join(histDir, f))).size;
			return n;
		};
		const before = await du();
		// Opening the database again (at its first use) looks at retention:
		// a snapshot of the newest commit before the window is built by its
		// own thread; a later commit point publishes it and drops the rest.
		await srv.stop();
		srv = await startServer({ dataDir, args, accounts: [] });
		k = client(srv, account, token);
		await k.q(db, 'CREATE TABLE IF NOT EXISTS tick(n)');
		for (let i = 0; i < 100 && !/history before commit \d+ dropped/.test(srv.stderr()); i++) {
			await sleep(100);
			await k.q(db, 'INSERT INTO tick VALUES (1)');
		}
		assert.match(srv.stderr(), /history before commit \d+ dropped/);
		// Out of the window: a clear 400, for bookmarks and timestamps.
		assertErr(await k.restoreRes(db, `bookmark=${old}`), 400, undefined, /bookmark/i);
		// The base image that began the history is gone; what remains is
		// bounded by the history kept plus one new base image.
		assert.ok(!(await fsp.readdir(histDir)).includes('base-0000000000000000.d1h'));
		assert.ok((await du()) < before + 4_000_000, `history ${before} bytes, then ${await du()}`);
		assertErr(
			await srv.api('GET', `${srv.dbPath(account.id)}/${db}/time_travel/bookmark?timestamp=${encodeURIComponent(oldTime)}`, { token }),
			400,
			undefined,
			/before/,
		);
		// The window restores: a commit from before the restart, and one
		// made after the old history went.
		const mid = { bm: await k.bookmark(db), hash: await k.hash(db) };
		await k.q(db, 'DELETE FROM t');
		await k.restore(db, recent.bm);
		assert.equal(await k.hash(db), recent.hash);
		await k.restore(db, mid.bm);
		assert.equal(await k.hash(db), mid.hash);
		assert.deepEqual((await k.q(db, 'PRAGMA quick_check'))[0].results.rows, [['ok']]);
	} finally {
		await srv.stop();
		await fsp.rm(dataDir, { recursive: true, force: true });
	}
});

test('snapshots: base images are made as history grows; restores around them are exact, across a kill -9', { timeout: 120000 }, async () => {
	const dataDir = await fsp.mkdtemp(path.join(os.tmpdir(), 'd1d-tt-snap-'));
	let srv = await startServer({ dataDir });
	const account = srv.account;
	const token = srv.token;
	try {
		let k = client(srv, account, token);
		const db = (await createDb(srv, 'tt-snap')).uuid;
		const histDir = path.join(dataDir, 'databases', db, 'history');
		const files = async (re) => (await fsp.readdir(histDir)).filter((f) => re.test(f));
		await k.q(db, 'CREATE TABLE t(id INTEGER PRIMARY KEY, v BLOB)');
		const points = [];
		const round = async (i) => {
			await k.q(db, 'INSERT INTO t(v) SELECT randomblob(1000) FROM (WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 400) SELECT x FROM c)');
			await k.q(db, `UPDATE t SET v = randomblob(900) WHERE id % 7 = ${i % 7}`);
			points.push({ bm: await k.bookmark(db), hash: await k.hash(db) });
		};
		for (let i = 0; i < 14; i++) await round(i);
		// Snapshots are published at a commit point after their thread ends.
		for (let i = 0; i < 50 && (await files(/^base-/)).length < 2; i++) {
			await sleep(100);
			await k.q(db, 'INSERT INTO t(v) VALUES (1)');
		}
		const bases = await files(/^base-[0-9a-f]{16}\.d1h$/);
		assert.ok(bases.length >= 2, `base images: ${bases}`);
		assert.ok((await files(/^log-[0-9a-f]{16}\.d1h$/)).length >= 2, 'one log segment per snapshot');
		assert.match(srv.stderr(), /history snapshot at commit \d+ written/);
		const check = async (what) => {
			for (const p of [...points].reverse()) {
				await k.restore(db, p.bm);
				assert.equal(await k.hash(db), p.hash, `${what}: restore to ${p.bm}`);
			}
			assert.deepEqual((await k.q(db, 'PRAGMA quick_check'))[0].results.rows, [['ok']]);
		};
		await check('with snapshots');

		// A kill -9 while a snapshot is being built (a big commit starts
		// one): the work files go at the next open, and nothing is lost.
		await round(14);
		await round(15);
		await srv.kill9();
		srv = await startServer({ dataDir, accounts: [] });
		k = client(srv, account, token);
		assert.deepEqual((await k.q(db, 'PRAGMA quick_check'))[0].results.rows, [['ok']]);
		assert.deepEqual(await files(/\.tmp$|^snapshot\.db$/), []);
		await check('after kill -9');
	} finally {
		await srv.stop();
		await fsp.rm(dataDir, { recursive: true, force: true });
	}
});

test('a damaged history costs time travel, not the database', { timeout: 60000 }, async () => {
	const dataDir = await fsp.mkdtemp(path.join(os.tmpdir(), 'd1d-tt-dmg-'));
	let srv = await startServer({ dataDir });
	const account = srv.account;
	const token = srv.token;
	try {
		let k = client(srv, account, token);
		const db = (await createDb(srv, 'tt-dmg')).uuid;
		await k.q(db, 'CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)');
		for (let i = 0; i < 10; i++) await k.q(db, 'INSERT INTO t(v) VALUES (?)', [`row ${i}`]);
		const old = await k.bookmark(db);
		const hash = await k.hash(db);
		await srv.stop(); // a clean stop syncs the log: all of it is durable
		// Break the head of the 5th record of the log, well inside what was
		// fsynced: that is damage, not a torn append.
		const histDir = path.join(dataDir, 'databases', db, 'history');
		const seg = path.join(histDir, (await fsp.readdir(histDir)).find((f) => f.startsWith('log-')));
		const buf = await fsp.readFile(seg);
		const pad8 = (n) => (n + 7) & ~7;
		let off = 0;
		for (let i = 0; i < 4; i++) {
			const n = buf.readUInt32LE(off + 32);
			const zlen = Number(buf.readBigUInt64LE(off + 56));
			off += 64 + pad8(n * 4) + pad8(Math.ceil(n / 16) * 4) + 8 + pad8(zlen);
		}
		assert.equal(buf.toString('latin1', off, off + 4), 'D1HR');
		buf.write('XXXX', off, 'latin1');
		await fsp.writeFile(seg, buf);

		srv = await startServer({ dataDir, accounts: [] });
		k = client(srv, account, token);
		// The database serves, whole and unchanged.
		assert.equal(await k.hash(db), hash);
		assert.deepEqual((await k.q(db, 'PRAGMA quick_check'))[0].results.rows, [['ok']]);
		assert.match(srv.stderr(), /history is damaged; moved to .*history\.damaged-\d+/);
		assert.ok((await fsp.readdir(path.join(dataDir, 'databases', db))).some((f) => f.startsWith('history.damaged-')));
		// Bookmarks of the old history are refused; a new history works.
		assertErr(await k.restoreRes(db, `bookmark=${old}`), 400, undefined, /bookmark/i);
		const b1 = await k.bookmark(db);
		await k.q(db, 'DELETE FROM t');
		await k.restore(db, b1);
		assert.equal(await k.hash(db), hash);
	} finally {
		await srv.stop();
		await fsp.rm(dataDir, { recursive: true, force: true });
	}
});
