// rows_read / rows_written against the examples from workerd's tests that
// COMPAT.md lists. D1 counts with a patched SQLite (one read per cursor step
// or seek, one write per table or index row); d1d uses the stock SQLite's
// counters (full-scan steps, rows returned, the preupdate hook), which match
// D1 for row writes and simple reads. The examples stock SQLite cannot
// reproduce are marked todo: they report the gap without failing the suite.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { useServer, assertOk, createDb } from './harness.mjs';

describe('rows_read and rows_written', () => {
	const h = useServer();
	let db;
	const meta = async (sql) => {
		if (!db) db = (await createDb(h.srv, 'counters')).uuid;
		const r = assertOk(await h.srv.api('POST', `${h.srv.dbPath()}/${db}/query`, { body: { sql } }));
		return r.map((x) => [x.meta.rows_read, x.meta.rows_written]);
	};

	test('INSERT of 2 rows: read 0, written 2 (as D1)', async () => {
		const m = await meta('CREATE TABLE ins(a); INSERT INTO ins VALUES (1), (2)');
		assert.deepEqual(m[1], [0, 2]);
	});

	test('INSERT into a table with one index writes 2 per row (as D1)', async () => {
		const m = await meta('CREATE TABLE ix(a); CREATE INDEX ix_a ON ix(a); INSERT INTO ix VALUES (1), (2)');
		assert.deepEqual(m[2], [0, 4]);
	});

	test('index entries follow CREATE INDEX and DROP INDEX between requests', async () => {
		await meta('CREATE TABLE ic(a, b)');
		assert.deepEqual(await meta('INSERT INTO ic VALUES (1, 1)'), [[0, 1]]);
		await meta('CREATE INDEX ic_a ON ic(a)');
		assert.deepEqual(await meta('INSERT INTO ic VALUES (2, 2)'), [[0, 2]]);
		await meta('CREATE INDEX ic_b ON ic(b)');
		assert.deepEqual(await meta('INSERT INTO ic VALUES (3, 3)'), [[0, 3]]);
		await meta('DROP INDEX ic_a; DROP INDEX ic_b');
		assert.deepEqual(await meta('INSERT INTO ic VALUES (4, 4)'), [[0, 1]]);
	});

	test('UPDATE and DELETE of 3 rows write 3 each', async () => {
		const m = await meta('CREATE TABLE ud(a); INSERT INTO ud VALUES (1), (2), (3); UPDATE ud SET a = 0; DELETE FROM ud');
		assert.equal(m[2][1], 3);
		assert.equal(m[3][1], 3);
	});

	test('point lookup by rowid reads 1, a 3-row scan reads 3', async () => {
		await meta('CREATE TABLE pl(a); INSERT INTO pl VALUES (1), (2), (3)');
		assert.deepEqual(await meta('SELECT * FROM pl WHERE rowid = 2'), [[1, 0]]);
		assert.deepEqual(await meta('SELECT * FROM pl'), [[3, 0]]);
	});

	test('CREATE TABLE: read 1, written 2 (D1)', { todo: 'stock SQLite does not count schema reads and writes' }, async () => {
		assert.deepEqual(await meta('CREATE TABLE ct(a)'), [[1, 2]]);
	});

	test('2x3 cross join: read 8 (D1)', { todo: 'stock SQLite has no per-cursor step counter' }, async () => {
		await meta('CREATE TABLE cj1(a); INSERT INTO cj1 VALUES (1), (2); CREATE TABLE cj2(b); INSERT INTO cj2 VALUES (1), (2), (3)');
		assert.deepEqual(await meta('SELECT * FROM cj1, cj2'), [[8, 0]]);
	});
});
