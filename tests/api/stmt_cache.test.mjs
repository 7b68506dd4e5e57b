// Prepared statements are cached per connection: a repeated query must
// still see schema changes made since, and a cached PRAGMA toggle must
// still be undone after its request.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { useServer, assertOk, assertErr, createDb } from './harness.mjs';

describe('statement cache', () => {
	const h = useServer({ args: ['--readers', '1'] });
	const q = (db, sql, params) =>
		h.srv.api('POST', `${h.srv.dbPath()}/${db}/raw`, { body: params ? { sql, params } : { sql } });

	test('a cached SELECT follows DROP and re-CREATE of its table', async () => {
		const db = (await createDb(h.srv, 'cache1')).uuid;
		assertOk(await q(db, 'CREATE TABLE t(a); INSERT INTO t VALUES (1)'));
		for (let i = 0; i < 3; i++)
			assert.deepEqual(assertOk(await q(db, 'SELECT * FROM t'))[0].results.columns, ['a']);
		assertOk(await q(db, 'DROP TABLE t; CREATE TABLE t(x, y); INSERT INTO t VALUES (2, 3)'));
		const r = assertOk(await q(db, 'SELECT * FROM t'))[0].results;
		assert.deepEqual(r.columns, ['x', 'y']);
		assert.deepEqual(r.rows, [[2, 3]]);
		assertOk(await q(db, 'DROP TABLE t'));
		assertErr(await q(db, 'SELECT * FROM t'), 400, 7500, /no such table: t: SQLITE_ERROR/);
	});

	test('a cached statement binds fresh parameters every time', async () => {
		const db = (await createDb(h.srv, 'cache2')).uuid;
		for (let i = 0; i < 5; i++)
			assert.deepEqual(assertOk(await q(db, 'SELECT ? AS v', [i]))[0].results.rows, [[i]]);
		assertErr(await q(db, 'SELECT ? AS v', []), 400, 7500, /^Wrong number of parameter bindings/);
	});

	test('a cached PRAGMA toggle is undone after each request', async () => {
		const db = (await createDb(h.srv, 'cache3')).uuid;
		// One reader connection, so every read lands on the same one.
		for (let i = 0; i < 3; i++) {
			const r = assertOk(await q(db, "PRAGMA case_sensitive_like=ON; SELECT 'a' LIKE 'A' AS m"));
			assert.deepEqual(r[1].results.rows, [[0]]);
			const after = assertOk(await q(db, "SELECT 'a' LIKE 'A' AS m"));
			assert.deepEqual(after[0].results.rows, [[1]]);
		}
	});
});
