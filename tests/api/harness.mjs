// harness.mjs — helpers for d1d's API tests.
//
// startServer() makes a temp data dir, creates accounts and tokens with the
// admin CLI, spawns `d1d serve` on an ephemeral port and waits for its
// "listening on" line. stop() sends SIGTERM and asserts a clean exit (code 0):
// sanitizer builds exit non-zero on leaks or UB, which must fail the suite.
//
// The binary is $D1D_BIN, default build/d1d relative to the repo root.

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import { before, after, afterEach } from 'node:test';
import Cloudflare from 'cloudflare';

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const ROOT = path.resolve(HERE, '..', '..');
export const D1D_BIN = path.resolve(ROOT, process.env.D1D_BIN || 'build/d1d');
export const WRANGLER_JS = path.join(ROOT, 'node_modules', 'wrangler', 'bin', 'wrangler.js');

export const UUID_V4_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
export const HEX32_RE = /^[0-9a-f]{32}$/;
export const CREATED_AT_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------
// Child processes

/** Run a program; resolves {code, signal, stdout, stderr, timedOut}. */
export function run(cmd, args, { env, cwd, timeout = 15000, input } = {}) {
	return new Promise((resolve, reject) => {
		let child;
		try {
			child = spawn(cmd, args, { env: env ?? process.env, cwd, stdio: ['pipe', 'pipe', 'pipe'] });
		} catch (e) {
			reject(e);
			return;
		}
		let stdout = '';
		let stderr = '';
		let timedOut = false;
		child.stdout.setEncoding('utf8');
		child.stderr.setEncoding('utf8');
		child.stdout.on('data', (d) => (stdout += d));
		child.stderr.on('data', (d) => (stderr += d));
		const timer = setTimeout(() => {
			timedOut = true;
			child.kill('SIGKILL');
		}, timeout);
		child.on('error', (e) => {
			clearTimeout(timer);
			reject(e);
		});
		child.on('close', (code, signal) => {
			clearTimeout(timer);
			resolve({ code, signal, stdout, stderr, timedOut });
		});
		child.stdin.on('error', () => {});
		child.stdin.end(input ?? '');
	});
}

function assertBinary() {
	if (!fs.existsSync(D1D_BIN))
		throw new Error(`d1d binary not found at ${D1D_BIN} (build it, or set D1D_BIN)`);
}

/** Run the d1d admin CLI: `d1d ARGS... --data-dir DIR` (dataDir may be null). */
export async function cli(args, dataDir, opts = {}) {
	assertBinary();
	const full = dataDir ? [...args, '--data-dir', dataDir] : [...args];
	return run(D1D_BIN, full, opts);
}

/** Like cli() but asserts exit code 0 and returns the trimmed stdout. */
export async function cliOk(args, dataDir) {
	const r = await cli(args, dataDir);
	assert.equal(r.code, 0, `d1d ${args.join(' ')} exited ${r.code} (signal ${r.signal})\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
	return r.stdout.trim();
}

// ---------------------------------------------------------------------------
// The server

const DEFAULT_ACCOUNTS = [
	{ name: 'acct-one', email: 'owner@example.com', tokens: [{ name: 'rw' }, { name: 'ro', readOnly: true }] },
];

/**
 * Start a server.
 * opts.accounts: [{name, email, maxDatabases, tokens: [{name, readOnly}]}]
 *   (default: one account with an 'rw' and an 'ro' token; [] for none).
 *   Each account without `tokens` gets an 'rw' and an 'ro' token.
 * opts.args: extra arguments for `serve`.
 * opts.dataDir: use this existing data dir (it is then kept on stop()).
 * Returns {url, baseURL, dataDir, accounts, account, token, roToken,
 *          stdout(), stderr(), api(), stop()}.
 */
export async function startServer(opts = {}) {
	assertBinary();
	const ownDir = !opts.dataDir;
	const dataDir = opts.dataDir ?? (await fsp.mkdtemp(path.join(os.tmpdir(), 'd1d-test-')));
	const accounts = [];
	for (const a of opts.accounts ?? DEFAULT_ACCOUNTS) {
		const args = ['account', 'create'];
		if (a.name != null) args.push('--name', a.name);
		if (a.email != null) args.push('--email', a.email);
		if (a.maxDatabases != null) args.push('--max-databases', String(a.maxDatabases));
		const id = await cliOk(args, dataDir);
		assert.match(id, HEX32_RE, `account create printed ${JSON.stringify(id)}`);
		const acct = { id, name: a.name, email: a.email, tokens: {} };
		const tokens = a.tokens ?? [{ name: 'rw' }, { name: 'ro', readOnly: true }];
		for (const t of tokens) {
			const targs = ['token', 'create', '--account', id];
			if (t.readOnly) targs.push('--read-only');
			if (t.name != null) targs.push('--name', t.name);
			const tok = await cliOk(targs, dataDir);
			assert.ok(tok.length > 0 && !/\s/.test(tok), `token create printed ${JSON.stringify(tok)}`);
			acct.tokens[t.name ?? `t${Object.keys(acct.tokens).length}`] = tok;
		}
		accounts.push(acct);
	}

	const serveArgs = ['serve', '--listen', '127.0.0.1:0', '--data-dir', dataDir, ...(opts.args ?? [])];
	const child = spawn(D1D_BIN, serveArgs, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...(opts.env ?? {}) } });
	let stdout = '';
	let stderr = '';
	let exited = null; // {code, signal}
	const exitPromise = new Promise((resolve) => {
		child.on('exit', (code, signal) => {
			exited = { code, signal };
			resolve(exited);
		});
	});
	child.stdout.setEncoding('utf8');
	child.stderr.setEncoding('utf8');
	child.stderr.on('data', (d) => (stderr += d));
	const url = await new Promise((resolve, reject) => {
		const timer = setTimeout(() => {
			child.kill('SIGKILL');
			reject(new Error(`d1d serve did not print "listening on" within 10s\nstdout: ${stdout}\nstderr: ${stderr}`));
		}, 10000);
		child.stdout.on('data', (d) => {
			stdout += d;
			const m = /listening on (http:\/\/\S+)/.exec(stdout);
			if (m) {
				clearTimeout(timer);
				resolve(m[1].replace(/\/+$/, ''));
			}
		});
		child.on('error', (e) => {
			clearTimeout(timer);
			reject(e);
		});
		exitPromise.then((e) => {
			clearTimeout(timer);
			reject(new Error(`d1d serve exited early (code ${e.code}, signal ${e.signal})\nstdout: ${stdout}\nstderr: ${stderr}`));
		});
	});
	const baseURL = url + '/client/v4';
	let stopped = false;

	const srv = {
		url,
		baseURL,
		dataDir,
		accounts,
		account: accounts[0],
		token: accounts[0]?.tokens.rw,
		roToken: accounts[0]?.tokens.ro,
		child,
		stdout: () => stdout,
		stderr: () => stderr,
		exited: () => exited,
		/** Raw request relative to baseURL (or to url if opts.root). The
		 * token defaults to the first account's rw token; pass token: null
		 * for none. */
		api(method, p, o = {}) {
			const token = 'token' in o ? o.token : srv.token;
			const base = o.root ? url : baseURL;
			return api(method, base + p, { ...o, token });
		},
		/** Path of an account's d1 databases: /accounts/ID/d1/database */
		dbPath(accountId = srv.account.id) {
			return `/accounts/${accountId}/d1/database`;
		},
		sdk(token = srv.token) {
			return sdk(baseURL, token);
		},
		wranglerEnv(acct = srv.account, token = acct.tokens.rw) {
			return {
				CLOUDFLARE_API_BASE_URL: baseURL,
				CLOUDFLARE_ACCOUNT_ID: acct.id,
				CLOUDFLARE_API_TOKEN: token,
			};
		},
		cli(args) {
			return cli(args, dataDir);
		},
		/** Wait until the stderr log satisfies pred (or time out). */
		async waitStderr(pred, ms = 2000) {
			const end = Date.now() + ms;
			while (Date.now() < end) {
				if (pred(stderr)) return true;
				await sleep(20);
			}
			return pred(stderr);
		},
		/** kill -9, as a crash would; resolves once the process is gone.
		 * The data dir stays (start a new server on it); stop() is then a
		 * no-op. */
		async kill9() {
			stopped = true;
			child.kill('SIGKILL');
			await exitPromise;
		},
		async stop({ keepDir = !ownDir } = {}) {
			if (stopped) return;
			stopped = true;
			try {
				assert.equal(exited, null, `d1d exited on its own before stop(): ${JSON.stringify(exited)}`);
				child.kill('SIGTERM');
				let killTimer;
				const res = await Promise.race([exitPromise, new Promise((r) => (killTimer = setTimeout(() => r(null), 10000)))]);
				clearTimeout(killTimer);
				if (!res) {
					child.kill('SIGKILL');
					await exitPromise;
					assert.fail('d1d did not exit within 10s of SIGTERM');
				}
				assert.equal(res.signal, null, `d1d died of signal ${res.signal}`);
				assert.equal(res.code, 0, `d1d exited with code ${res.code} after SIGTERM`);
			} catch (e) {
				process.stderr.write(`\n----- d1d stderr (${dataDir}) -----\n${stderr}\n----- end d1d stderr -----\n`);
				throw e;
			} finally {
				if (!keepDir) await fsp.rm(dataDir, { recursive: true, force: true });
			}
		},
	};
	return srv;
}

/**
 * Register before/after/afterEach hooks (call inside a describe) that run one
 * server for the enclosing suite. Returns a holder whose .srv is the server.
 * On a failed test the server's stderr from that test is printed.
 */
export function useServer(opts = {}) {
	const holder = { srv: null };
	let mark = 0;
	before(async () => {
		holder.srv = await startServer(typeof opts === 'function' ? opts() : opts);
	});
	after(async () => {
		if (holder.srv) await holder.srv.stop();
	});
	afterEach((t) => {
		const srv = holder.srv;
		if (!srv) return;
		const log = srv.stderr();
		if (t.passed === false) {
			process.stderr.write(`\n----- d1d stderr during "${t.name}" -----\n${log.slice(mark)}----- end -----\n`);
		}
		mark = log.length;
	});
	return holder;
}

// ---------------------------------------------------------------------------
// HTTP

/** Raw fetch: resolves {status, headers, json, text}. body: object → JSON;
 * string/Buffer → sent as is. */
export async function api(method, url, { token, body, headers = {}, contentType } = {}) {
	const h = { ...headers };
	if (token) h.Authorization = `Bearer ${token}`;
	let payload;
	if (body !== undefined) {
		if (typeof body === 'string' || Buffer.isBuffer(body) || body instanceof Uint8Array) {
			payload = body;
		} else {
			payload = JSON.stringify(body);
		}
		if (!Object.keys(h).some((k) => k.toLowerCase() === 'content-type'))
			h['Content-Type'] = contentType ?? 'application/json';
	}
	const res = await fetch(url, { method, headers: h, body: payload });
	const text = await res.text();
	let json;
	try {
		json = JSON.parse(text);
	} catch {
		json = undefined;
	}
	return { status: res.status, headers: res.headers, json, text };
}

function describeRes(res) {
	return `HTTP ${res.status} ${res.text.length > 1500 ? res.text.slice(0, 1500) + '…' : res.text}`;
}

/** Assert a well-formed success envelope; returns json.result. */
export function assertOk(res, status = 200) {
	assert.equal(res.status, status, describeRes(res));
	assert.match(res.headers.get('content-type') ?? '', /^application\/json\b/i, 'content-type');
	assert.ok(res.json && typeof res.json === 'object', `not JSON: ${describeRes(res)}`);
	assert.equal(res.json.success, true, describeRes(res));
	assert.deepEqual(res.json.errors, [], describeRes(res));
	assert.ok(Array.isArray(res.json.messages), `messages is not an array: ${describeRes(res)}`);
	assert.ok('result' in res.json, `no result key: ${describeRes(res)}`);
	return res.json.result;
}

/** Assert a well-formed error envelope with the given status and code. */
export function assertErr(res, status, code, messageRe) {
	assert.equal(res.status, status, describeRes(res));
	assert.match(res.headers.get('content-type') ?? '', /^application\/json\b/i, `content-type: ${describeRes(res)}`);
	assert.ok(res.json && typeof res.json === 'object', `not JSON: ${describeRes(res)}`);
	assert.equal(res.json.success, false, describeRes(res));
	assert.ok(Array.isArray(res.json.errors) && res.json.errors.length >= 1, `errors: ${describeRes(res)}`);
	assert.ok(Array.isArray(res.json.messages), `messages: ${describeRes(res)}`);
	assert.ok('result' in res.json, `no result key: ${describeRes(res)}`);
	const e = res.json.errors[0];
	if (code != null) assert.equal(e.code, code, describeRes(res));
	assert.equal(typeof e.message, 'string', describeRes(res));
	assert.ok(e.message.length > 0, `empty message: ${describeRes(res)}`);
	if (messageRe) assert.match(e.message, messageRe, describeRes(res));
	return e;
}

// ---------------------------------------------------------------------------
// Clients

export function sdk(baseURL, token) {
	return new Cloudflare({ apiToken: token, apiKey: null, apiEmail: null, userServiceKey: null, baseURL, maxRetries: 0 });
}

/** Assert that promise rejects with an SDK APIError of the given status and
 * first error code. Returns the error. */
export async function assertSdkErr(promise, status, code) {
	let err;
	try {
		const v = await promise;
		assert.fail(`expected an SDK error ${status}/${code}, got ${JSON.stringify(v)}`);
	} catch (e) {
		err = e;
	}
	if (err instanceof assert.AssertionError) throw err;
	assert.ok(err instanceof Cloudflare.APIError, `not an APIError: ${err?.stack ?? err}`);
	assert.equal(err.status, status, String(err));
	if (code != null) assert.equal(err.errors?.[0]?.code, code, `${err} errors=${JSON.stringify(err.errors)}`);
	return err;
}

/**
 * Run wrangler with the given CLOUDFLARE_* env (and anything else in env).
 * HOME, XDG dirs and cwd point into a fresh temp dir. Resolves
 * {code, stdout, stderr, timedOut}.
 */
export async function wrangler(args, env = {}, { timeout = 60000 } = {}) {
	const tmp = await fsp.mkdtemp(path.join(os.tmpdir(), 'd1d-wrangler-'));
	const home = path.join(tmp, 'home');
	const cwd = path.join(tmp, 'cwd');
	await fsp.mkdir(home, { recursive: true });
	await fsp.mkdir(cwd, { recursive: true });
	const fullEnv = {
		PATH: process.env.PATH ?? '/usr/bin:/bin',
		HOME: home,
		XDG_CONFIG_HOME: path.join(home, '.config'),
		XDG_CACHE_HOME: path.join(home, '.cache'),
		XDG_DATA_HOME: path.join(home, '.local', 'share'),
		XDG_STATE_HOME: path.join(home, '.local', 'state'),
		TMPDIR: tmp,
		WRANGLER_SEND_METRICS: 'false',
		WRANGLER_SEND_ERROR_REPORTS: 'false',
		WRANGLER_HIDE_BANNER: 'true',
		CI: 'true',
		NO_COLOR: '1',
		FORCE_COLOR: '0',
		...env,
	};
	try {
		const r = await run(process.execPath, [WRANGLER_JS, ...args], { env: fullEnv, cwd, timeout });
		return r;
	} finally {
		await fsp.rm(tmp, { recursive: true, force: true });
	}
}

export function wranglerDesc(r) {
	return `exit ${r.code}${r.timedOut ? ' (timed out)' : ''}\n--- stdout ---\n${r.stdout}\n--- stderr ---\n${r.stderr}`;
}

// ---------------------------------------------------------------------------
// Misc

let nameCounter = 0;
/** A unique valid database name with the given prefix. */
/** The JSON document wrangler prints on stdout with --json. */
export function wranglerJson(r) {
	const s = r.stdout.trim();
	try {
		return JSON.parse(s);
	} catch (e) {
		assert.fail(`stdout is not JSON (${e.message}):\n${wranglerDesc(r)}`);
	}
}

export function uniqueName(prefix = 'db') {
	nameCounter += 1;
	return `${prefix}-${process.pid}-${nameCounter}`;
}

/** Create a database through the raw API and return its D1 object. */
export async function createDb(srv, name, { token = srv.token, accountId = srv.account.id, extra = {} } = {}) {
	const res = await srv.api('POST', srv.dbPath(accountId), { token, body: { name, ...extra } });
	return assertOk(res);
}

/** Find the SQLite file of a database under DATA_DIR/databases/<uuid>/. */
export function sqliteFileOf(dataDir, uuid) {
	const dir = path.join(dataDir, 'databases', uuid);
	const found = [];
	const walk = (d) => {
		for (const ent of fs.readdirSync(d, { withFileTypes: true })) {
			const p = path.join(d, ent.name);
			if (ent.isDirectory()) walk(p);
			else if (ent.isFile()) {
				const fd = fs.openSync(p, 'r');
				const buf = Buffer.alloc(16);
				const n = fs.readSync(fd, buf, 0, 16, 0);
				fs.closeSync(fd);
				if (n === 16 && buf.toString('latin1') === 'SQLite format 3\0') found.push(p);
			}
		}
	};
	walk(dir);
	return found;
}

export { sleep };
