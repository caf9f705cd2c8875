import { defineConfig } from 'vitest/config';

/**
 * Test files that boot QEMU VMs or run virtual BMCs with VMs. `npm test` runs them one file at a
 * time after the rest (scripts/test.sh): two TCG VMs fighting over two cores make firmware
 * timeouts flaky, and one at a time is hardly slower.
 */
export const VM_TESTS = [
  'test/**/vm.test.ts',
  'test/e2e/lab.test.ts',
  'test/e2e/proxy.test.ts',
  // Two appliances, PostgreSQL and a perfdhcp avalanche, then a VM boot (issue #20).
  'test/dhcp/active-active-netns.test.ts',
  'test/e2e-rollout/**/*.test.ts',
  'test/bmc/ipmi-sim.test.ts',
  'test/bmc/redfish-vbmc.test.ts',
];

const set = process.env.RB_TEST_SET; // 'unit' | 'vm' | undefined (everything)

export default defineConfig({
  test: {
    include: set === 'vm' ? VM_TESTS : ['test/**/*.test.ts'],
    exclude: set === 'unit' ? ['**/node_modules/**', ...VM_TESTS] : ['**/node_modules/**'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    fileParallelism: set !== 'vm',
    maxWorkers: set === 'vm' ? 1 : 2,
    pool: 'forks',
  },
});
