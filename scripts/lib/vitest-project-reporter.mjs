// A vitest reporter that writes, per project, the passed/failed/skipped counts and the
// names of failed tests to the JSON file named by $MSE_WASM_PROJECT_REPORT. vitest's own
// JSON reporter (which scripts/test.mjs counts from) does not say which project a result
// belongs to, and the same file runs in three projects.
import fs from "node:fs";
import path from "node:path";

export default class ProjectReporter {
  onInit(vitest) {
    this.root = vitest.config.root;
  }

  onTestRunEnd(testModules, unhandledErrors) {
    const file = process.env.MSE_WASM_PROJECT_REPORT;
    if (!file) return;
    const projects = {};
    for (const mod of testModules) {
      const name = mod.project.name || "(default)";
      const p = (projects[name] ??= { files: 0, passed: 0, failed: 0, skipped: 0, failures: [], skippedNames: [] });
      p.files++;
      const rel = path.relative(this.root ?? process.cwd(), mod.moduleId);
      let failedHere = 0;
      for (const test of mod.children.allTests()) {
        const state = test.result().state;
        if (state === "passed") p.passed++;
        else if (state === "failed") {
          p.failed++;
          failedHere++;
          const err = test.result().errors?.[0];
          p.failures.push({ name: `${rel} > ${test.fullName}`, message: err?.message ?? "" });
        } else {
          p.skipped++;
          p.skippedNames.push(`${rel} > ${test.fullName}`);
        }
      }
      const moduleErrors = mod.errors?.() ?? [];
      if (failedHere === 0 && (mod.state() === "failed" || moduleErrors.length > 0)) {
        p.failures.push({ name: `${rel} (the file itself failed)`, message: moduleErrors.map((e) => e.message).join("; ") });
      }
    }
    fs.writeFileSync(
      file,
      JSON.stringify({ projects, unhandledErrors: unhandledErrors.map((e) => String(e?.message ?? e)) }, null, 2),
    );
  }
}
