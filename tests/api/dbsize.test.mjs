// The database size limit (--max-db-bytes; D1's is 10 GB): a write that
// would grow the database past it fails with D1's message and changes
// nothing; the database stays usable.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { useServer, assertOk, assertErr, createDb } from './harness.mjs';

describe('database size limit', () => {
	const h = useServer({ args: ['--max-db-bytes', '65536'] });
	const q = (db, sql) => h.srv.api('POST', `${h.srv.dbPath()}/${db}/query`, { body: { sql } });

	test('a write past --max-db-bytes → 400 "Exceeded maximum DB size." and nothing applied', async () => {
		const db = (await createDb(h.srv, 'small')).uuid;
		assertOk(await q(db, 'CREATE TABLE t(a); INSERT INTO t VALUES (randomblob(20000))'));
		assertErr(
			await q(db, "INSERT INTO t VALUES (randomblob(100000)); INSERT INTO t VALUES ('x')"),
			400,
			7500,
			/^Exceeded maximum DB size\.$/,
		);
		const r = assertOk(await q(db, 'SELECT count(*) AS n FROM t'));
		assert.equal(r[0].results[0].n, 1);
		assert.ok(r[0].meta.size_after <= 65536);
		assertOk(await q(db, "INSERT INTO t VALUES ('still writable')"));
	});
});
