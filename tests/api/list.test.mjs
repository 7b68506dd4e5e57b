// GET /accounts/{a}/d1/database: order, filtering, pagination, result_info.
import { describe, test, before } from 'node:test';
import assert from 'node:assert/strict';
import { useServer, assertOk, assertErr, createDb, UUID_V4_RE, CREATED_AT_RE } from './harness.mjs';

const pad = (i) => String(i).padStart(2, '0');

describe('list', () => {
	const h = useServer({
		accounts: [
			{ name: 'lister', email: 'lister@example.com' },
			{ name: 'empty', email: 'empty@example.com' },
		],
	});
	const created = []; // in creation order

	before(async () => {
		const srv = h.srv;
		// interleave the two name families so that order ≠ alphabetical
		created.push(await createDb(srv, 'other-b'));
		for (let i = 24; i >= 0; i--) {
			created.push(await createDb(srv, `list-${pad(i)}`));
			if (i === 12) created.push(await createDb(srv, 'other-a'));
		}
	});

	const names = (arr) => arr.map((d) => d.name);

	test('default: all databases in creation order, result_info', async () => {
		const r = await h.srv.api('GET', h.srv.dbPath());
		const result = assertOk(r);
		assert.deepEqual(names(result), names(created));
		assert.deepEqual(r.json.result_info, { count: 27, page: 1, per_page: 1000, total_count: 27 });
	});

	test('list items carry uuid, name, created_at, version, jurisdiction', async () => {
		const result = assertOk(await h.srv.api('GET', h.srv.dbPath()));
		for (let i = 0; i < created.length; i++) {
			const it = result[i];
			assert.match(it.uuid, UUID_V4_RE);
			assert.equal(it.uuid, created[i].uuid);
			assert.equal(it.name, created[i].name);
			assert.match(it.created_at, CREATED_AT_RE);
			assert.equal(it.created_at, created[i].created_at);
			assert.equal(it.version, 'production');
			assert.equal(it.jurisdiction, null);
		}
		// creation timestamps are non-decreasing in list order
		for (let i = 1; i < result.length; i++) assert.ok(result[i - 1].created_at <= result[i].created_at);
	});

	test('an account with no databases → [] and zero counts', async () => {
		const srv = h.srv;
		const e = srv.accounts[1];
		const r = await srv.api('GET', srv.dbPath(e.id), { token: e.tokens.rw });
		assert.deepEqual(assertOk(r), []);
		assert.deepEqual(r.json.result_info, { count: 0, page: 1, per_page: 1000, total_count: 0 });
	});

	test('pages of 10', async () => {
		const srv = h.srv;
		const all = names(created);
		for (const [page, from, to] of [[1, 0, 10], [2, 10, 20], [3, 20, 27]]) {
			const r = await srv.api('GET', `${srv.dbPath()}?per_page=10&page=${page}`);
			assert.deepEqual(names(assertOk(r)), all.slice(from, to), `page ${page}`);
			assert.deepEqual(r.json.result_info, { count: to - from, page, per_page: 10, total_count: 27 }, `page ${page}`);
		}
	});

	test('a page past the end → [] (never the last page again)', async () => {
		const srv = h.srv;
		for (const q of ['per_page=10&page=4', 'per_page=10&page=1000', 'page=2', 'per_page=27&page=2', 'per_page=1&page=28']) {
			const r = await srv.api('GET', `${srv.dbPath()}?${q}`);
			assert.deepEqual(assertOk(r), [], q);
			assert.equal(r.json.result_info.count, 0, q);
			assert.equal(r.json.result_info.total_count, 27, q);
		}
		const last = await srv.api('GET', `${srv.dbPath()}?per_page=1&page=27`);
		assert.deepEqual(names(assertOk(last)), [created[26].name]);
	});

	test('name filters by substring; total_count counts matches', async () => {
		const srv = h.srv;
		const p = srv.dbPath();
		let r = await srv.api('GET', `${p}?name=list-`);
		assert.deepEqual(names(assertOk(r)), names(created).filter((n) => n.startsWith('list-')));
		assert.deepEqual(r.json.result_info, { count: 25, page: 1, per_page: 1000, total_count: 25 });

		r = await srv.api('GET', `${p}?name=ist-0`);
		assert.deepEqual(names(assertOk(r)), names(created).filter((n) => n.includes('ist-0')));
		assert.equal(r.json.result_info.total_count, 10);

		r = await srv.api('GET', `${p}?name=other`);
		assert.deepEqual(names(assertOk(r)), ['other-b', 'other-a']);

		r = await srv.api('GET', `${p}?name=list-07`);
		assert.deepEqual(names(assertOk(r)), ['list-07']);

		r = await srv.api('GET', `${p}?name=zzz`);
		assert.deepEqual(assertOk(r), []);
		assert.deepEqual(r.json.result_info, { count: 0, page: 1, per_page: 1000, total_count: 0 });

		// filter + pagination
		r = await srv.api('GET', `${p}?name=list-&per_page=10&page=3`);
		assert.deepEqual(names(assertOk(r)), names(created).filter((n) => n.startsWith('list-')).slice(20));
		assert.deepEqual(r.json.result_info, { count: 5, page: 3, per_page: 10, total_count: 25 });
	});

	test('name filter treats LIKE/GLOB wildcards literally', async () => {
		const srv = h.srv;
		for (const q of ['%25', '_', 'list%25', 'l_st', '*', 'list-*', '[l]']) {
			const r = await srv.api('GET', `${srv.dbPath()}?name=${q}`);
			const want = names(created).filter((n) => n.includes(decodeURIComponent(q)));
			assert.deepEqual(names(assertOk(r)), want, `name=${q}`);
		}
	});

	test('per_page up to 10000 is accepted', async () => {
		const r = await h.srv.api('GET', `${h.srv.dbPath()}?per_page=10000`);
		assert.equal(assertOk(r).length, 27);
		assert.deepEqual(r.json.result_info, { count: 27, page: 1, per_page: 10000, total_count: 27 });
	});

	test('non-numeric or < 1 page/per_page → 400 code 7400', async () => {
		const srv = h.srv;
		for (const q of ['page=0', 'page=-1', 'page=abc', 'page=1x', 'per_page=0', 'per_page=-5', 'per_page=ten', 'per_page=10&page=0']) {
			assertErr(await srv.api('GET', `${srv.dbPath()}?${q}`), 400, 7400);
		}
	});

	test('the read-only token lists too', async () => {
		const r = await h.srv.api('GET', `${h.srv.dbPath()}?per_page=5`, { token: h.srv.roToken });
		assert.deepEqual(names(assertOk(r)), names(created).slice(0, 5));
	});

	test('a deleted database disappears from the list and the counts', async () => {
		const srv = h.srv;
		const victim = created.find((d) => d.name === 'other-a');
		assertOk(await srv.api('DELETE', `${srv.dbPath()}/${victim.uuid}`));
		const r = await srv.api('GET', srv.dbPath());
		assert.deepEqual(names(assertOk(r)), names(created).filter((n) => n !== 'other-a'));
		assert.equal(r.json.result_info.total_count, 26);
		const idx = created.indexOf(victim);
		created.splice(idx, 1);
	});
});
