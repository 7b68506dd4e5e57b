'use strict';
// Entry point for `node --test tests/api/`: Node 22's test runner does not
// expand a directory argument, it loads it as a module (this index.js), so
// this file imports every *.test.mjs here, in name order. Each test file wraps
// its tests in a describe() so its hooks (one server per file) stay scoped.
// Running `node --test tests/api/*.test.mjs` works too.
const fs = require('node:fs');
const path = require('node:path');
const { pathToFileURL } = require('node:url');

(async () => {
	const files = fs.readdirSync(__dirname).filter((n) => n.endsWith('.test.mjs')).sort();
	for (const f of files) await import(pathToFileURL(path.join(__dirname, f)).href);
})();
