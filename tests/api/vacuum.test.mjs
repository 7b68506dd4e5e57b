// VACUUM cannot run inside a transaction, and every other write in d1d does:
// a request made of one VACUUM runs by itself between write groups.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { useServer, assertOk, assertErr, createDb } from './harness.mjs';

describe('VACUUM', () => {
	const h = useServer();
	const q = (db, sql, token = h.srv.token) =>
		h.srv.api('POST', `${h.srv.dbPath()}/${db}/query`, { token, body: { sql } });
	const size = async (db) => assertOk(await q(db, 'SELECT 1'))[0].meta.size_after;

	test('a lone VACUUM compacts the database and keeps its content', async () => {
		const db = (await createDb(h.srv, 'vac1')).uuid;
		assertOk(
			await q(
				db,
				'CREATE TABLE t(a); WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 4000) ' +
					'INSERT INTO t SELECT randomblob(200) FROM c; DELETE FROM t WHERE rowid % 2 = 0',
			),
		);
		const before = await size(db);
		assertOk(await q(db, 'VACUUM'));
		const after = await size(db);
		assert.ok(after < before * 0.75, `size_after ${before} → ${after}`);
		const r = assertOk(await q(db, 'SELECT count(*) AS n FROM t; PRAGMA quick_check'));
		assert.equal(r[0].results[0].n, 2000);
		assert.deepEqual(r[1].results, [{ quick_check: 'ok' }]);
		assertOk(await q(db, '-- nightly\nVACUUM;'));
	});

	test('VACUUM with other statements, VACUUM INTO, and a read-only token are refused', async () => {
		const db = (await createDb(h.srv, 'vac2')).uuid;
		assertErr(await q(db, 'VACUUM; SELECT 1'), 400, 7500, /^VACUUM must be sent alone/);
		assertErr(await q(db, 'SELECT 1; VACUUM'), 400, 7500, /^VACUUM must be sent alone/);
		assertErr(await q(db, "VACUUM INTO '/tmp/d1d-vacuum-into.db'"), 400, 7500, /not authorized.*SQLITE_AUTH$/);
		assertErr(await q(db, 'VACUUM', h.srv.roToken), 403, 10000);
	});
});
