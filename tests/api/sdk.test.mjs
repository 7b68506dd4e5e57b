// The official `cloudflare` SDK (v7.3.0) against d1d, unchanged.
import { describe, test, before } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import Cloudflare from 'cloudflare';
import { useServer, sdk, assertSdkErr, UUID_V4_RE, CREATED_AT_RE } from './harness.mjs';

describe('sdk', () => {
	const h = useServer({
		accounts: [
			{ name: 'sdk-acct', email: 'sdk@example.com' },
			{ name: 'sdk-pager', email: 'pager@example.com' },
		],
	});
	let client, account_id;

	before(() => {
		client = h.srv.sdk();
		account_id = h.srv.account.id;
	});

	test('create, get (uuid and name), fields', async () => {
		const db = await client.d1.database.create({ account_id, name: 'sdk-db' });
		assert.match(db.uuid, UUID_V4_RE);
		assert.equal(db.name, 'sdk-db');
		assert.equal(db.version, 'production');
		assert.equal(db.jurisdiction, null);
		assert.match(db.created_at, CREATED_AT_RE);
		assert.equal(db.num_tables, 0);
		assert.ok(db.file_size > 0);
		assert.deepEqual(db.read_replication, { mode: 'disabled' });

		const byId = await client.d1.database.get(db.uuid, { account_id });
		assert.deepEqual(byId, db);
		const byName = await client.d1.database.get('sdk-db', { account_id });
		assert.equal(byName.uuid, db.uuid);
		// the SDK sends fields=uuid&fields=name
		const slim = await client.d1.database.get(db.uuid, { account_id, fields: ['uuid', 'name'] });
		assert.deepEqual(slim, { uuid: db.uuid, name: 'sdk-db' });
	});

	test('create with jurisdiction and location hint', async () => {
		const db = await client.d1.database.create({ account_id, name: 'sdk-eu', jurisdiction: 'eu', primary_location_hint: 'weur' });
		assert.equal(db.jurisdiction, 'eu');
		assert.equal((await client.d1.database.get('sdk-eu', { account_id })).jurisdiction, 'eu');
		const hinted = await client.d1.database.create({ account_id, name: 'sdk-apac', primary_location_hint: 'apac' });
		assert.equal(hinted.jurisdiction, null);
	});

	test('update (PUT) and edit (PATCH)', async () => {
		const db = await client.d1.database.create({ account_id, name: 'sdk-upd' });
		const u = await client.d1.database.update(db.uuid, { account_id, read_replication: { mode: 'auto' } });
		assert.equal(u.uuid, db.uuid);
		assert.deepEqual(u.read_replication, { mode: 'auto' });
		const e1 = await client.d1.database.edit(db.uuid, { account_id });
		assert.deepEqual(e1.read_replication, { mode: 'auto' });
		const e2 = await client.d1.database.edit(db.uuid, { account_id, read_replication: { mode: 'disabled' } });
		assert.deepEqual(e2.read_replication, { mode: 'disabled' });
		assert.deepEqual((await client.d1.database.get(db.uuid, { account_id })).read_replication, { mode: 'disabled' });
	});

	test('delete answers null and removes the database', async () => {
		const db = await client.d1.database.create({ account_id, name: 'sdk-del' });
		const res = await client.d1.database.delete(db.uuid, { account_id });
		assert.equal(res, null);
		assert.ok(!fs.existsSync(path.join(h.srv.dataDir, 'databases', db.uuid)));
		const e = await assertSdkErr(client.d1.database.get(db.uuid, { account_id }), 404, 7404);
		assert.ok(e instanceof Cloudflare.NotFoundError);
		await assertSdkErr(client.d1.database.delete(db.uuid, { account_id }), 404, 7404);
	});

	test('list auto-paginates 25 databases with per_page 10', async () => {
		const pager = h.srv.accounts[1];
		const c = sdk(h.srv.baseURL, pager.tokens.rw);
		const made = [];
		for (let i = 0; i < 25; i++) made.push((await c.d1.database.create({ account_id: pager.id, name: `page-${String(i).padStart(2, '0')}` })).uuid);
		const seen = [];
		for await (const d of c.d1.database.list({ account_id: pager.id, per_page: 10 })) seen.push(d.uuid);
		assert.deepEqual(seen, made);

		// page by page
		const first = await c.d1.database.list({ account_id: pager.id, per_page: 10 });
		assert.equal(first.result.length, 10);
		assert.deepEqual(first.result_info, { count: 10, page: 1, per_page: 10, total_count: 25 });
		let pages = 1;
		let p = first;
		while (p.hasNextPage()) {
			p = await p.getNextPage();
			pages++;
			assert.ok(pages <= 4, 'the SDK kept paging: a page past the end was not empty');
		}
		assert.equal(pages, 4); // 10, 10, 5, then an empty page
		assert.deepEqual(p.result, []);

		// a page past the end
		const past = await c.d1.database.list({ account_id: pager.id, per_page: 10, page: 9 });
		assert.deepEqual(past.result, []);
		assert.equal(past.hasNextPage(), false);

		// name filter through the SDK
		const filtered = [];
		for await (const d of c.d1.database.list({ account_id: pager.id, name: 'page-1', per_page: 3 })) filtered.push(d.name);
		assert.deepEqual(filtered, ['page-10', 'page-11', 'page-12', 'page-13', 'page-14', 'page-15', 'page-16', 'page-17', 'page-18', 'page-19']);
	});

	test('errors surface as typed SDK errors with status and code', async () => {
		// duplicate
		await client.d1.database.create({ account_id, name: 'sdk-dup' });
		let e = await assertSdkErr(client.d1.database.create({ account_id, name: 'sdk-dup' }), 400, 7502);
		assert.ok(e instanceof Cloudflare.BadRequestError);
		assert.match(e.errors[0].message, /already exists/);
		// validation
		e = await assertSdkErr(client.d1.database.create({ account_id, name: 'bad name!' }), 400, 7400);
		assert.match(e.errors[0].message, /name/);
		e = await assertSdkErr(client.d1.database.create({ account_id, name: 'ok-name', jurisdiction: 'mars' }), 400, 7400);
		assert.match(e.errors[0].message, /jurisdiction/);
		await assertSdkErr(client.d1.database.update('sdk-dup', { account_id, read_replication: { mode: 'never' } }), 400, 7400);
		// not found
		e = await assertSdkErr(client.d1.database.get('missing-db', { account_id }), 404, 7404);
		assert.equal(e.errors[0].message, 'The database missing-db could not be found');
		await assertSdkErr(client.d1.database.edit('missing-db', { account_id }), 404, 7404);
		// bad token
		e = await assertSdkErr(sdk(h.srv.baseURL, 'not-a-token').d1.database.get('sdk-dup', { account_id }), 401, 9109);
		assert.ok(e instanceof Cloudflare.AuthenticationError);
		// another account
		e = await assertSdkErr(client.d1.database.list({ account_id: h.srv.accounts[1].id }), 403, 7403);
		assert.ok(e instanceof Cloudflare.PermissionDeniedError);
		// read-only token
		const ro = sdk(h.srv.baseURL, h.srv.roToken);
		assert.equal((await ro.d1.database.get('sdk-dup', { account_id })).name, 'sdk-dup');
		e = await assertSdkErr(ro.d1.database.create({ account_id, name: 'ro-made' }), 403, 10000);
		assert.ok(e instanceof Cloudflare.PermissionDeniedError);
		await assertSdkErr(ro.d1.database.delete('sdk-dup', { account_id }), 403, 10000);
		await assertSdkErr(ro.d1.database.update('sdk-dup', { account_id, read_replication: { mode: 'auto' } }), 403, 10000);
		await assertSdkErr(ro.d1.database.edit('sdk-dup', { account_id, read_replication: { mode: 'auto' } }), 403, 10000);
		await assertSdkErr(client.d1.database.get('ro-made', { account_id }), 404, 7404);
	});

	test('X-Auth-Email/X-Auth-Key through the SDK', async () => {
		const c = new Cloudflare({ apiToken: null, userServiceKey: null, apiEmail: 'SDK@example.com', apiKey: h.srv.token, baseURL: h.srv.baseURL, maxRetries: 0 });
		const db = await c.d1.database.create({ account_id, name: 'sdk-keyauth' });
		assert.equal((await c.d1.database.get(db.uuid, { account_id })).name, 'sdk-keyauth');
		const bad = new Cloudflare({ apiToken: null, userServiceKey: null, apiEmail: 'other@example.com', apiKey: h.srv.token, baseURL: h.srv.baseURL, maxRetries: 0 });
		await assertSdkErr(bad.d1.database.get(db.uuid, { account_id }), 401, 9109);
	});
});
