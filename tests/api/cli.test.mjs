// The admin CLI (account/token), `serve` start-up and shutdown.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import net from 'node:net';
import {
	cli, cliOk, startServer, assertOk, assertErr, wrangler, wranglerDesc, sleep, HEX32_RE, ROOT,
} from './harness.mjs';

describe('cli: help', () => {
	test('d1d --help exits 0 and mentions serve, account, token', async () => {
		const r = await cli(['--help'], null);
		assert.equal(r.code, 0, `exit ${r.code}\n${r.stdout}\n${r.stderr}`);
		for (const w of ['serve', 'account', 'token']) assert.match(r.stdout, new RegExp(`\\b${w}\\b`), `usage lacks ${w}:\n${r.stdout}`);
	});

	// The flags of serve, from config.c's one table of settings: every one
	// but the test-only ones is in --help, with its environment variable,
	// and every flag --help names is accepted by a server that starts.
	test('--help names every flag of serve (and no other), each accepted', async () => {
		const r = await cli(['--help'], null);
		assert.equal(r.code, 0, r.stderr);
		const serveHelp = r.stdout.slice(r.stdout.indexOf('Options of serve'));
		const listed = [...serveHelp.matchAll(/^ {2}(--[a-z-]+)/gm)].map((m) => m[1]);
		assert.ok(listed.length >= 15, serveHelp);
		assert.equal(new Set(listed).size, listed.length, 'a flag listed twice');
		const src = await fsp.readFile(path.join(ROOT, 'src', 'config.c'), 'utf8');
		const table = [...src.matchAll(/\{"(--[a-z-]+)", "(D1D_[A-Z_]+)", K_[A-Z_]+\}/g)].map((m) => ({ flag: m[1], env: m[2] }));
		const hidden = ['--signed-url-ttl-s', '--job-idle-ms'];
		assert.ok(table.length >= listed.length, `settings table not found: ${table.length}`);
		assert.deepEqual(listed, table.map((t) => t.flag).filter((f) => !hidden.includes(f)), 'the usage lists the settings table, in order, without the test-only flags');
		for (const { flag, env } of table.filter((t) => !hidden.includes(t.flag))) {
			const entry = serveHelp.slice(serveHelp.indexOf(`  ${flag}`)).split(/\n {2}--/)[0];
			assert.ok(entry.includes(env), `${flag}: its variable ${env} is not in its entry:\n${entry}`);
		}
		for (const f of hidden) assert.ok(!r.stdout.includes(f), `test-only ${f} is in --help`);

		// A value each flag accepts, from its metavariable. The server
		// prints its public URL, which the harness then uses: a free port.
		const port = await new Promise((resolve) => {
			const s = net.createServer().listen(0, '127.0.0.1', () => {
				const p = s.address().port;
				s.close(() => resolve(p));
			});
		});
		const values = { 'HOST:PORT': `127.0.0.1:${port}`, URL: `http://127.0.0.1:${port}`, R: 'TEST', C: 'XYZ', 'full|normal': 'normal' };
		const special = { '--readers': '2' };
		const args = [];
		for (const flag of listed) {
			if (flag === '--data-dir') continue; // the harness's
			const meta = new RegExp(`^ {2}${flag}(?: (\\S+))?`, 'm').exec(serveHelp)[1];
			args.push(flag);
			if (meta) args.push(special[flag] ?? values[meta] ?? '100000');
		}
		const srv = await startServer({ args });
		try {
			assert.doesNotMatch(srv.stderr(), /unknown argument|wants|needs a value/);
			const db = (await srv.api('POST', srv.dbPath(), { body: { name: 'flags' } })).json.result;
			const meta = assertOk(await srv.api('POST', `${srv.dbPath()}/${db.uuid}/query`, { body: { sql: 'SELECT 1' } }))[0].meta;
			assert.equal(meta.served_by_region, 'TEST');
			assert.equal(meta.served_by_colo, 'XYZ');
		} finally {
			await srv.stop();
		}
	});

	test('an unknown command exits non-zero', async () => {
		const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'd1d-cli-'));
		try {
			const r = await cli(['frobnicate'], dir);
			assert.notEqual(r.code, 0, r.stdout);
			assert.equal(r.signal, null);
		} finally {
			await fsp.rm(dir, { recursive: true, force: true });
		}
	});
});

describe('cli: accounts and tokens', () => {
	let dir;
	before(async () => {
		dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'd1d-cli-'));
	});
	after(async () => {
		await fsp.rm(dir, { recursive: true, force: true });
	});

	let a1, a2;

	test('account create prints the new id alone', async () => {
		const r = await cli(['account', 'create', '--name', 'First', '--email', 'first@example.com'], dir);
		assert.equal(r.code, 0, r.stderr);
		assert.match(r.stdout, /^[0-9a-f]{32}\n?$/, JSON.stringify(r.stdout));
		a1 = r.stdout.trim();
		a2 = await cliOk(['account', 'create', '--name', 'Second', '--email', 'second@example.com', '--max-databases', '5'], dir);
		assert.match(a2, HEX32_RE);
		assert.notEqual(a1, a2);
	});

	test('account list prints ID<TAB>NAME<TAB>EMAIL per account', async () => {
		const out = await cliOk(['account', 'list'], dir);
		const lines = out.split('\n').filter(Boolean);
		assert.equal(lines.length, 2, out);
		const rows = lines.map((l) => l.split('\t'));
		assert.deepEqual(rows.find((r) => r[0] === a1), [a1, 'First', 'first@example.com']);
		assert.deepEqual(rows.find((r) => r[0] === a2), [a2, 'Second', 'second@example.com']);
	});

	let rwTok, roTok;

	test('token create prints the token alone; token list shows it without the secret', async () => {
		const r = await cli(['token', 'create', '--account', a1, '--name', 'writer'], dir);
		assert.equal(r.code, 0, r.stderr);
		assert.equal(r.stdout.trim().split('\n').length, 1, r.stdout);
		rwTok = r.stdout.trim();
		assert.ok(rwTok.length >= 20 && !/\s/.test(rwTok), JSON.stringify(rwTok));
		roTok = await cliOk(['token', 'create', '--account', a1, '--read-only', '--name', 'reader'], dir);
		assert.notEqual(roTok, rwTok);
		const other = await cliOk(['token', 'create', '--account', a2, '--name', 'other'], dir);

		const all = (await cliOk(['token', 'list'], dir)).split('\n').filter(Boolean).map((l) => l.split('\t'));
		assert.equal(all.length, 3, JSON.stringify(all));
		for (const row of all) {
			assert.equal(row.length, 5, JSON.stringify(row));
			assert.match(row[0], HEX32_RE);
			for (const t of [rwTok, roTok, other]) assert.ok(!row.join('\t').includes(t), 'token list leaks a token secret');
		}
		const byName = Object.fromEntries(all.map((r) => [r[3], r]));
		assert.deepEqual(byName.writer.slice(1), [a1, 'rw', 'writer', 'active']);
		assert.deepEqual(byName.reader.slice(1), [a1, 'ro', 'reader', 'active']);
		assert.deepEqual(byName.other.slice(1), [a2, 'rw', 'other', 'active']);

		const only1 = (await cliOk(['token', 'list', '--account', a1], dir)).split('\n').filter(Boolean).map((l) => l.split('\t'));
		assert.deepEqual(only1.map((r) => r[3]).sort(), ['reader', 'writer']);
		const only2 = (await cliOk(['token', 'list', '--account', a2], dir)).split('\n').filter(Boolean).map((l) => l.split('\t'));
		assert.deepEqual(only2.map((r) => r[3]), ['other']);
	});

	test('token create for an unknown account fails', async () => {
		const r = await cli(['token', 'create', '--account', 'f'.repeat(32)], dir);
		assert.notEqual(r.code, 0, r.stdout);
		assert.equal(r.stdout.trim(), '');
	});

	test('token revoke marks the token revoked; unknown id fails', async () => {
		const rows = (await cliOk(['token', 'list', '--account', a1], dir)).split('\n').filter(Boolean).map((l) => l.split('\t'));
		const reader = rows.find((r) => r[3] === 'reader');
		await cliOk(['token', 'revoke', reader[0]], dir);
		const after = (await cliOk(['token', 'list', '--account', a1], dir)).split('\n').filter(Boolean).map((l) => l.split('\t'));
		assert.equal(after.find((r) => r[0] === reader[0])[4], 'revoked');
		assert.equal(after.find((r) => r[3] === 'writer')[4], 'active');
		const bad = await cli(['token', 'revoke', '0'.repeat(32)], dir);
		assert.notEqual(bad.code, 0);
	});

	test('the tokens made by the CLI work (and the revoked one does not) on a server', async () => {
		const srv = await startServer({ dataDir: dir, accounts: [] });
		try {
			const p = `/accounts/${a1}/d1/database`;
			assertOk(await srv.api('GET', p, { token: rwTok }));
			assertErr(await srv.api('GET', p, { token: roTok }), 401, 9109);
			const db = assertOk(await srv.api('POST', p, { token: rwTok, body: { name: 'cli-made' } }));
			assert.equal(db.name, 'cli-made');
			// no default account is created when accounts exist
			assert.doesNotMatch(srv.stdout(), /CLOUDFLARE_API_TOKEN/);
			const accts = (await cliOk(['account', 'list'], dir)).split('\n').filter(Boolean);
			assert.equal(accts.length, 2);
		} finally {
			await srv.stop({ keepDir: true });
		}
	});
});

describe('cli: serve', () => {
	test('first start on an empty data dir creates a default account and prints its env', async () => {
		const srv = await startServer({ accounts: [] });
		try {
			assert.match(srv.stdout(), /^d1d: listening on http:\/\/127\.0\.0\.1:\d+\b/m);
			// the three export lines may come right after the listening line
			let env = {};
			const parse = () => {
				env = {};
				for (const m of srv.stdout().matchAll(/^export (CLOUDFLARE_[A-Z_]+)=(.*)$/gm)) env[m[1]] = m[2].trim().replace(/^(['"])(.*)\1$/, '$2');
				return Object.keys(env).length >= 3;
			};
			for (let i = 0; i < 100 && !parse(); i++) await sleep(20);
			assert.deepEqual(Object.keys(env).sort(), ['CLOUDFLARE_ACCOUNT_ID', 'CLOUDFLARE_API_BASE_URL', 'CLOUDFLARE_API_TOKEN'], srv.stdout());
			assert.equal(env.CLOUDFLARE_API_BASE_URL, srv.baseURL);
			assert.match(env.CLOUDFLARE_ACCOUNT_ID, HEX32_RE);
			const accts = (await cliOk(['account', 'list'], srv.dataDir)).split('\n').filter(Boolean);
			assert.equal(accts.length, 1);
			assert.equal(accts[0].split('\t')[0], env.CLOUDFLARE_ACCOUNT_ID);

			// the printed variables drive the API and wrangler
			const db = assertOk(await srv.api('POST', `/accounts/${env.CLOUDFLARE_ACCOUNT_ID}/d1/database`, { token: env.CLOUDFLARE_API_TOKEN, body: { name: 'default-acct-db' } }));
			const r = await wrangler(['d1', 'list'], env);
			assert.equal(r.code, 0, wranglerDesc(r));
			assert.ok(r.stdout.includes('default-acct-db') && r.stdout.includes(db.uuid), wranglerDesc(r));
		} finally {
			await srv.stop();
		}
	});

	test('SIGTERM with an idle keep-alive connection open still exits 0 promptly', async () => {
		const srv = await startServer();
		const { port } = new URL(srv.url);
		const sock = net.connect(Number(port), '127.0.0.1');
		try {
			await new Promise((resolve, reject) => {
				sock.once('error', reject);
				let buf = '';
				sock.on('data', (d) => {
					buf += d;
					if (/\r\n\r\n/.test(buf) && /"success"/.test(buf)) resolve();
				});
				sock.write(`GET /client/v4/accounts/${srv.account.id}/d1/database HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${srv.token}\r\nConnection: keep-alive\r\n\r\n`);
			});
			sock.on('error', () => {});
			const t0 = Date.now();
			await srv.stop(); // asserts exit code 0 within 10 s
			assert.ok(Date.now() - t0 < 5000, `took ${Date.now() - t0} ms to stop`);
		} finally {
			sock.destroy();
		}
	});

	test('SIGTERM during a burst of creates: exit 0, and every acknowledged create survives a restart', async () => {
		const srv = await startServer();
		let srv2;
		try {
			const p = srv.dbPath();
			const inflight = Array.from({ length: 24 }, (_, i) => srv.api('POST', p, { body: { name: `burst-${i}` } }).catch((e) => e));
			await sleep(5);
			await srv.stop({ keepDir: true }); // asserts exit code 0
			const results = await Promise.all(inflight);
			const acked = results.filter((r) => !(r instanceof Error) && r.status === 200).map((r) => r.json.result);
			srv2 = await startServer({ dataDir: srv.dataDir, accounts: [] });
			const list = assertOk(await srv2.api('GET', `${p}?per_page=100`, { token: srv.token }));
			const have = new Set(list.map((d) => d.uuid));
			for (const d of acked) {
				assert.ok(have.has(d.uuid), `acknowledged database ${d.name} (${d.uuid}) lost after SIGTERM`);
			}
			// whatever is in the catalog is whole: its directory exists and it can be read
			for (const d of list) {
				assert.ok(fs.existsSync(path.join(srv.dataDir, 'databases', d.uuid)), `no directory for listed ${d.name} (${d.uuid})`);
				assertOk(await srv2.api('GET', `${p}/${d.uuid}`, { token: srv.token }));
			}
		} finally {
			if (srv2) await srv2.stop();
			await fsp.rm(srv.dataDir, { recursive: true, force: true });
		}
	});

	test('the server keeps answering while the CLI writes to the catalog', async () => {
		const srv = await startServer();
		try {
			const p = srv.dbPath();
			const hammer = (async () => {
				const rs = [];
				for (let i = 0; i < 40; i++) rs.push(await srv.api('GET', p));
				return rs;
			})();
			for (let i = 0; i < 5; i++) await cliOk(['token', 'create', '--account', srv.account.id, '--name', `busy-${i}`], srv.dataDir);
			for (const r of await hammer) assertOk(r);
			assert.ok(fs.existsSync(srv.dataDir));
		} finally {
			await srv.stop();
		}
	});
});
