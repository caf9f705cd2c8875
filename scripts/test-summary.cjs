#!/usr/bin/env node
// The closing "N passed, N failed" line of scripts/test.sh, from vitest JSON reports.
// usage: node scripts/test-summary.cjs EXIT_CODE REPORT.json [EXIT_CODE REPORT.json ...]
//
// A test file that never ran its tests (import error, syntax error, throw at top level) has
// status "failed" and no failed test inside, so numFailedTests alone would report it as
// nothing at all. Each such file counts as one failure; a file with failed tests is already
// counted through them. A run that exited non-zero with no failure in its report (an unhandled
// error outside any test, a crash before the report was complete) also counts as one.
'use strict';

const { readFileSync } = require('node:fs');

/** Failures of one parsed vitest JSON report: { passed, failed, notes }. */
function summariseReport(report) {
  let failed = report.numFailedTests ?? 0;
  const notes = [];
  for (const file of report.testResults ?? []) {
    if (file.status !== 'failed') continue;
    if ((file.assertionResults ?? []).some((a) => a.status === 'failed')) continue;
    failed += 1;
    notes.push(`${file.name}: ${firstLine(file.message) || 'failed outside its tests'}`);
  }
  return { passed: report.numPassedTests ?? 0, failed, notes };
}

/** Totals over runs [{ exitCode, report (parsed JSON) | undefined, name }]. */
function summariseRuns(runs) {
  let passed = 0;
  let failed = 0;
  const notes = [];
  for (const run of runs) {
    if (!run.report) {
      failed += 1;
      notes.push(`${run.name}: no test report (vitest exited ${run.exitCode})`);
      continue;
    }
    const r = summariseReport(run.report);
    passed += r.passed;
    failed += r.failed;
    notes.push(...r.notes);
    if (run.exitCode !== 0 && r.failed === 0) {
      failed += 1;
      notes.push(`${run.name}: vitest exited ${run.exitCode} without a failed test or file (unhandled error?)`);
    }
  }
  return { passed, failed, notes, line: `${passed} passed, ${failed} failed` };
}

function firstLine(message) {
  // Strips ANSI colour codes from vitest messages.
  return String(message ?? '').replace(/\u001b\[[0-9;]*m/g, '').trim().split('\n')[0] ?? '';
}

function readReport(path) {
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch {
    return undefined;
  }
}

function main(args) {
  if (args.length === 0 || args.length % 2 !== 0) {
    process.stderr.write('usage: test-summary.cjs EXIT_CODE REPORT.json [EXIT_CODE REPORT.json ...]\n');
    return 2;
  }
  const runs = [];
  for (let i = 0; i < args.length; i += 2) {
    runs.push({ exitCode: Number(args[i]), name: args[i + 1], report: readReport(args[i + 1]) });
  }
  const s = summariseRuns(runs);
  for (const n of s.notes) process.stderr.write(`counted as failed: ${n}\n`);
  process.stdout.write(`${s.line}\n`);
  return 0;
}

module.exports = { summariseReport, summariseRuns };

if (require.main === module) process.exitCode = main(process.argv.slice(2));
