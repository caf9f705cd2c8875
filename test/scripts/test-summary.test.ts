import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '../..');
const SCRIPT = join(ROOT, 'scripts/test-summary.cjs');

interface FileResult {
  name: string;
  status: 'passed' | 'failed';
  message: string;
  assertionResults: { status: 'passed' | 'failed' | 'skipped' }[];
}
interface Report {
  numPassedTests: number;
  numFailedTests: number;
  numFailedTestSuites: number;
  testResults: FileResult[];
}
interface Summary {
  passed: number;
  failed: number;
  notes: string[];
  line: string;
}
const { summariseRuns } = createRequire(import.meta.url)(SCRIPT) as {
  summariseRuns(runs: { exitCode: number; name: string; report: Report | undefined }[]): Summary;
};

const file = (name: string, status: FileResult['status'], tests: FileResult['assertionResults'][number]['status'][], message = ''): FileResult => ({
  name,
  status,
  message,
  assertionResults: tests.map((s) => ({ status: s })),
});

/** A report as vitest 4's JSON reporter writes it (only the fields the summary reads). */
function report(files: FileResult[]): Report {
  const all = files.flatMap((f) => f.assertionResults);
  return {
    numPassedTests: all.filter((a) => a.status === 'passed').length,
    numFailedTests: all.filter((a) => a.status === 'failed').length,
    numFailedTestSuites: files.filter((f) => f.status === 'failed').length,
    testResults: files,
  };
}

describe('test-summary: the closing "N passed, N failed" line', () => {
  it.each([
    ['all green', 0, [file('a', 'passed', ['passed', 'passed'])], '2 passed, 0 failed'],
    ['failed tests count once each, their file not again', 1, [file('a', 'failed', ['failed', 'failed', 'passed'])], '1 passed, 2 failed'],
    ['a file that fails to import counts as one failure', 1, [file('a', 'passed', ['passed']), file('b', 'failed', [], 'Cannot find module')], '1 passed, 1 failed'],
    ['a file whose afterAll fails with all tests green counts as one', 1, [file('a', 'failed', ['passed'], 'hook failed')], '1 passed, 1 failed'],
    ['a skipped test in a load-failed file does not hide it', 1, [file('a', 'failed', ['skipped'], 'boom')], '0 passed, 1 failed'],
    ['mixed: 2 failed tests + 2 broken files', 1, [file('a', 'failed', ['failed', 'failed']), file('b', 'failed', [], 'x'), file('c', 'failed', [], 'y'), file('d', 'passed', ['passed'])], '1 passed, 4 failed'],
  ])('%s', (_name, exitCode, files, line) => {
    expect(summariseRuns([{ exitCode, name: 'unit.json', report: report(files) }]).line).toBe(line);
  });

  it('a missing report counts as one failure, and so does a non-zero exit with a clean report', () => {
    const s = summariseRuns([
      { exitCode: 1, name: 'unit.json', report: undefined },
      { exitCode: 1, name: 'vm.json', report: report([file('a', 'passed', ['passed'])]) },
      { exitCode: 0, name: 'other.json', report: report([file('b', 'passed', ['passed', 'passed'])]) },
    ]);
    expect(s.line).toBe('3 passed, 2 failed');
    expect(s.notes).toEqual([expect.stringContaining('unit.json: no test report'), expect.stringContaining('vm.json: vitest exited 1')]);
  });

  it('names each file that failed outside its tests, first line of the message without colour codes', () => {
    const s = summariseRuns([{ exitCode: 1, name: 'u', report: report([file('/r/test/x.test.ts', 'failed', [], '\u001b[31mSyntaxError\u001b[0m: bad\n  at line 3')]) }]);
    expect(s.notes).toEqual(['/r/test/x.test.ts: SyntaxError: bad']);
  });

  describe('on a real vitest JSON report', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rackboot-summary-'));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it('counts files that fail to load (import error, syntax error, top-level throw) as failed', () => {
      const files: Record<string, string> = {
        'ok.test.ts': "import { it } from 'vitest';\nit('a', () => {});\nit('b', () => {});\n",
        'red.test.ts': "import { expect, it } from 'vitest';\nit('fails', () => expect(1).toBe(2));\nit('passes', () => {});\n",
        'import.test.ts': "import { it } from 'vitest';\nimport './missing-module.js';\nit('never', () => {});\n",
        'syntax.test.ts': "import { it } from 'vitest';\nit('x', () => { let = ; });\n",
        'throws.test.ts': "import { it } from 'vitest';\nthrow new Error('top level');\nit('never', () => {});\n",
      };
      for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
      writeFileSync(join(dir, 'vitest.config.mjs'), 'export default {};\n');
      const out = join(dir, 'report.json');
      const vitest = spawnSync(join(ROOT, 'node_modules/.bin/vitest'), ['run', '--root', dir, '--reporter=json', `--outputFile=${out}`], {
        encoding: 'utf8',
        env: { ...process.env, RB_TEST_SET: '' },
      });
      expect(vitest.status).toBe(1);
      const cli = spawnSync(process.execPath, [SCRIPT, String(vitest.status), out], { encoding: 'utf8' });
      expect(cli.status).toBe(0);
      // 3 passed (ok ×2, red's second), 1 failed test + 3 files that never ran.
      expect(cli.stdout).toBe('3 passed, 4 failed\n');
      expect(cli.stderr).toContain('import.test.ts');
      expect(cli.stderr).toContain('syntax.test.ts');
      expect(cli.stderr).toContain('throws.test.ts: top level');
    });
  });
});
